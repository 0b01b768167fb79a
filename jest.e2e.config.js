/**
 * End-to-end tests against a REAL n8n 2.41.0 (see test/e2e/n8n-harness.ts).
 * Run: `npm run test:e2e` (builds first) or `npx jest --config jest.e2e.config.js --runInBand`.
 * The first run installs n8n (~3 min, ~3 GB) into ~/.cache/n8n-nodes-triggered-campaigns (override
 * with N8N_E2E_CACHE) in globalSetup; later runs reuse it. Uses the local PostgreSQL
 * (N8N_E2E_PG_HOST/PORT/USER/PASSWORD, default postgres@127.0.0.1:5432), else starts an embedded one.
 */
const fs = require('fs');
const path = require('path');

const tsconfig = fs.existsSync(path.join(__dirname, 'tsconfig.test.json'))
	? '<rootDir>/tsconfig.test.json'
	: {
			strict: true,
			module: 'commonjs',
			moduleResolution: 'node',
			target: 'es2022',
			lib: ['es2022'],
			types: ['node', 'jest'],
			esModuleInterop: true,
			resolveJsonModule: true,
			skipLibCheck: true,
			isolatedModules: true,
		};

module.exports = {
	rootDir: __dirname,
	testEnvironment: 'node',
	roots: ['<rootDir>/test/e2e'],
	testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
	transform: {
		'^.+\\.ts$': ['ts-jest', { tsconfig }],
	},
	globalSetup: '<rootDir>/test/e2e/global-setup.ts',
	globalTeardown: '<rootDir>/test/support/global-teardown.ts',
	// A real n8n per test file: never run files in parallel (2 cores), give them time.
	maxWorkers: 1,
	setupFiles: ['<rootDir>/test/support/no-proxy.ts'],
	testTimeout: 10 * 60 * 1000,
	slowTestThreshold: 60,
	verbose: true,
};
