/** Unit, node and store-conformance tests. The real-n8n tests are in jest.e2e.config.js. */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
	transform: {
		'^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
	},
	// A PostgreSQL for the store tests: the running one, else an embedded one (test/support/ensure-postgres.ts).
	globalSetup: '<rootDir>/test/support/global-setup.ts',
	globalTeardown: '<rootDir>/test/support/global-teardown.ts',
	setupFiles: ['<rootDir>/test/support/no-proxy.ts'],
	testTimeout: 30000,
};
