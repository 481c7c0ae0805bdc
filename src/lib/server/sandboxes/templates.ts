import type { TemplateSpec } from '$lib/protocol';
import { TEMPLATE_SPECS } from '$lib/templates';
import { env } from '../env';

/** The template catalog the API serves; the agent builds the same specs. */
export function templateCatalog(): TemplateSpec[] {
	return TEMPLATE_SPECS;
}

export function findTemplate(id: string): TemplateSpec | undefined {
	return TEMPLATE_SPECS.find((t) => t.id === id);
}

export const defaultTemplateId = () => env.HANGAR_DEFAULT_TEMPLATE;

export function toTemplateDto(t: TemplateSpec, hostStatus: string | null) {
	const size = { cpu_count: 1, memory_mb: 2048, disk_mb: 10240 };
	return {
		id: t.id,
		slug: t.id,
		name: t.name,
		description: t.description,
		image_id: t.id,
		category: t.base === 'host' ? 'system' : 'official',
		is_official: true,
		...size,
		workdir: t.workdir,
		preview_port: t.preview_port ?? null,
		install_command: t.install_command ?? null,
		start_command: t.start_command ?? null,
		readiness_probe: t.readiness_probe ?? null,
		packages: t.packages,
		base: t.base === 'host' ? 'host' : `debian-${t.base.debootstrap.suite}`,
		build_status: hostStatus ?? 'absent',
		artifact_paths: ['/workspace']
	};
}
