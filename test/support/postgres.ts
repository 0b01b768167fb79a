import { randomUUID } from 'node:crypto';

import { Pool } from 'pg';

import {
	openPostgresStore,
	type PostgresStoreOptions,
} from '../../src/store/postgres/postgres-store';

/**
 * The PostgreSQL that tests and benchmarks use: the local server (trust authentication,
 * database `test`) unless PGHOST, PGPORT, PGDATABASE, PGUSER or PGPASSWORD say otherwise.
 */
export const testConnection = {
	host: process.env.PGHOST ?? '127.0.0.1',
	port: Number(process.env.PGPORT ?? 5432),
	database: process.env.PGDATABASE ?? 'test',
	user: process.env.PGUSER ?? 'postgres',
	password: process.env.PGPASSWORD,
};

/** A Campaign Store credential's data for the test PostgreSQL, in `schema`. */
export function postgresStoreCredentialData(schema: string): Record<string, unknown> {
	return {
		backend: 'postgres',
		host: testConnection.host,
		port: testConnection.port,
		database: testConnection.database,
		user: testConnection.user,
		password: testConnection.password ?? '',
		ssl: 'disable',
		schema,
	};
}

/**
 * Fresh schemas and stores for one PostgreSQL test file: `open` tracks each store, and
 * `dispose` (from afterAll) closes them and drops every schema handed out.
 */
export function postgresTestScope() {
	const admin = new Pool({ ...testConnection, max: 2 });
	const schemas: string[] = [];
	const stores: Array<{ close(): Promise<void> }> = [];
	return {
		admin,
		freshSchema(): string {
			const schema = `tc_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
			schemas.push(schema);
			return schema;
		},
		async open(options: Partial<PostgresStoreOptions> & { schema: string }) {
			const store = await openPostgresStore({ connection: testConnection, poolMax: 4, ...options });
			stores.push(store);
			return store;
		},
		/** Closes `store` with the others at the end. */
		track<T extends { close(): Promise<void> }>(store: T): T {
			stores.push(store);
			return store;
		},
		/** Closes the stores, runs `before` (e.g. ends other pools), then drops the schemas. */
		async dispose(before?: () => Promise<void>): Promise<void> {
			for (const store of stores) await store.close();
			await before?.();
			for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
			await admin.end();
		},
	};
}
