import { defineConfig } from 'vitest/config';

// Three suites, run in order by scripts/test.js:
//  unit         pure modules, *.spec.ts beside the code
//  agent        the host agent against real sandboxes (needs root, bwrap)
//  integration  black-box HTTP against a built server with a real agent and database
export default defineConfig({
	test: {
		projects: [
			{
				test: {
					name: 'unit',
					include: ['src/**/*.spec.ts', 'agent/**/*.spec.ts'],
					environment: 'node'
				}
			},
			{
				test: {
					name: 'agent',
					include: ['agent/test/**/*.test.ts'],
					environment: 'node',
					testTimeout: 60_000,
					hookTimeout: 120_000,
					fileParallelism: false
				}
			},
			{
				test: {
					name: 'integration',
					include: ['tests/integration/**/*.test.ts'],
					environment: 'node',
					globalSetup: ['tests/support/global-setup.ts'],
					testTimeout: 60_000,
					hookTimeout: 120_000
				}
			}
		]
	}
});
