import { InvalidInputError, StoreUnavailableError } from '../../errors';
import type { PgModule, PgPool } from './pg-types';

export interface PostgresConnectionOptions {
	host: string;
	/** Default 5432. */
	port?: number;
	database: string;
	user: string;
	password?: string;
	/** `true`, or `{ rejectUnauthorized: false }` to accept a certificate the server signed itself. */
	ssl?: boolean | { rejectUnauthorized: boolean };
}

/** Loads `pg` lazily so that SQLite users never load it. */
function loadPg(): PgModule {
	try {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		return require('pg') as PgModule;
	} catch (cause) {
		throw new StoreUnavailableError(
			`The PostgreSQL store needs the "pg" package, which could not be loaded: ${describeError(cause)}. Reinstall n8n-nodes-triggered-campaigns, or choose SQLite in the Campaign Store credential.`,
			{ cause },
		);
	}
}

/** The message of a `pg` or socket error; a refused dual-stack connect has only inner errors. */
export function describeError(error: unknown): string {
	if (error instanceof AggregateError && error.errors.length > 0) {
		return error.errors.map(describeError).join('; ');
	}
	if (error instanceof Error) {
		return error.message || (error as { code?: string }).code || error.name;
	}
	return String(error);
}

/** A pool of its own for the store, and `host:port/database` for error messages. */
export function createPool(
	connection: PostgresConnectionOptions,
	poolMax = 10,
): { pool: PgPool; location: string } {
	if (!Number.isInteger(poolMax) || poolMax < 1) {
		throw new InvalidInputError(
			'poolMax',
			`must be a whole number of connections of at least 1, not ${poolMax}.`,
		);
	}
	const port = connection.port ?? 5432;
	const { Pool } = loadPg();
	const pool = new Pool({
		host: connection.host,
		port,
		database: connection.database,
		user: connection.user,
		password: connection.password,
		ssl: connection.ssl,
		max: poolMax,
		connectionTimeoutMillis: 10_000,
		application_name: 'n8n-nodes-triggered-campaigns',
		// Short indexed statements: JIT compilation (tens of ms) would cost more than it saves.
		options: '-c jit=off',
	});
	// The pool discards an idle connection the server drops; without a listener, its
	// 'error' event would end the n8n process.
	pool.on('error', () => undefined);
	return { pool, location: `${connection.host}:${port}/${connection.database}` };
}

/** `host:port/database` of a caller's `pg.Pool`, when it says. */
export function describePool(pool: PgPool): string {
	const { host, port, database } = pool.options ?? {};
	return host ? `${host}:${port ?? 5432}/${database ?? ''}` : 'the given connection pool';
}
