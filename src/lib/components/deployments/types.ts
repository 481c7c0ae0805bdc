// Shapes of the deployments API (`/api/v1/deployments/**`) as the dashboard reads them.

export type DeploymentState = 'pending' | 'building' | 'running' | 'stopped' | 'failed';
export type VersionState = 'created' | 'building' | 'ready' | 'failed' | 'archived';
export type DeployKind = 'static' | 'dynamic';

export interface DeploymentConfig {
	kind: DeployKind | 'auto' | null;
	build_command: string | null;
	install_command: string | null;
	run_command: string | null;
	port: number | null;
	health_check_path: string | null;
	output_path: string | null;
	exclude?: string[] | null;
}

export interface DeploymentEnvironment {
	name: string;
	active_version_id: string | null;
	url: string | null;
	path_url?: string | null;
	previous_version_id?: string | null;
	promoted_at: string | null;
	/** Filled in by the dashboard (or the API) when known. */
	active_version_number?: number | null;
}

export interface Deployment {
	id: string;
	name: string;
	slug: string;
	state: DeploymentState;
	active_version_id: string | null;
	/** Present when the API includes it; the pages fall back to the version list. */
	active_version_number?: number | null;
	public_url: string | null;
	path_url: string | null;
	environments: DeploymentEnvironment[];
	config: DeploymentConfig;
	workspace_id: string | null;
	project_id: string | null;
	created_at: string;
	updated_at: string;
}

export interface Version {
	id: string;
	deployment_id: string;
	version_number: number;
	environment: string;
	kind: DeployKind;
	state: VersionState;
	source_sandbox_id: string | null;
	source_sha256: string | null;
	source_bytes: number | null;
	source_files: number | null;
	artifact_sha256: string | null;
	artifact_manifest: { files: number; total_bytes: number; entrypoint: string | null } | null;
	artifact_available: boolean;
	build_id: string | null;
	build_command: string | null;
	install_command: string | null;
	runtime_command: string | null;
	runtime_port: number | null;
	health_check_path: string | null;
	output_path: string | null;
	build_duration_ms: number | null;
	build_started_at: string | null;
	build_finished_at: string | null;
	error: string | null;
	env_keys: string[];
	active_in: string[];
	created_by: string | null;
	created_by_name: string | null;
	promoted_at: string | null;
	archived_at: string | null;
	created_at: string;
}

export interface EnvVar {
	key: string;
	value_preview: string;
	is_secret: boolean;
	environment: string;
	updated_at: string;
}

export interface ChangeSet {
	added: string[];
	removed: string[];
	changed: string[];
}

export interface VersionDiff {
	from: { id: string; version_number: number };
	to: { id: string; version_number: number };
	same_source?: boolean;
	same_artifact?: boolean;
	/** `available: false` when a source snapshot is gone and files cannot be compared. */
	files: ChangeSet & { available?: boolean };
	env: ChangeSet;
	config: { key: string; from: unknown; to: unknown }[];
}

/** `POST /sandboxes/{id}/deploy` and `POST /deployments/{id}/publish` answer this (202). */
export interface PublishResult {
	deployment: Deployment;
	version: Version;
	promoted?: boolean;
	url?: string | null;
	public_url?: string | null;
}

export interface Page<T> {
	data: T[];
	next_cursor: string | null;
}

/** The build settings a publish may override: absent ones come from the deployment, null clears one. */
export interface BuildSettings {
	kind?: 'auto' | DeployKind;
	build_command?: string | null;
	install_command?: string | null;
	output_path?: string | null;
	run_command?: string | null;
	port?: number | null;
	health_check_path?: string | null;
}

/** A version can be served again (promoted or rolled back to) while its artifact is kept. */
export const isServable = (v: Version) => (v.state === 'ready' || v.state === 'archived') && v.artifact_available !== false;

export const isBuilding = (v: Version) => v.state === 'created' || v.state === 'building';
