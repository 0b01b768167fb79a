import { InvalidInputError, StoreConfigurationError } from '../../errors';
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
		throw new StoreConfigurationError(
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

/**
 * SQLSTATE classes and socket codes that no retry fixes: the credential's settings are wrong
 * (password, role, database, rights, TLS). Anything else (refused, timed out, too many
 * connections, the server shutting down) may pass, so it stays a StoreUnavailableError.
 */
const SETTINGS_SQLSTATES = new Set([
	'28000', // invalid_authorization_specification: no such role, or pg_hba refuses it
	'28P01', // invalid_password
	'3D000', // invalid_catalog_name: the database does not exist
	'3F000', // invalid_schema_name
	'42501', // insufficient_privilege
	'42P06', // duplicate_schema raised as a permissions problem by some managed servers
]);
const SETTINGS_SOCKET_CODES = new Set([
	'ENOTFOUND', // the host name does not resolve (EAI_AGAIN, a DNS hiccup, is transient)
	'DEPTH_ZERO_SELF_SIGNED_CERT',
	'SELF_SIGNED_CERT_IN_CHAIN',
	'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
	'ERR_TLS_CERT_ALTNAME_INVALID',
	'CERT_HAS_EXPIRED',
]);

/** Whether a `pg` or socket error is one that only a change of settings fixes. */
export function isSettingsFault(error: unknown): boolean {
	if (error instanceof AggregateError) return error.errors.some(isSettingsFault);
	const code = (error as { code?: unknown } | undefined)?.code;
	if (typeof code === 'string' && (SETTINGS_SQLSTATES.has(code) || SETTINGS_SOCKET_CODES.has(code)))
		return true;
	// pg says so in words when TLS is asked of a server without it.
	return error instanceof Error && /does not support SSL connections/i.test(error.message);
}
