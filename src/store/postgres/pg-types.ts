/**
 * The few `pg` calls the PostgreSQL store makes, as structural types: a `pg.Pool` fits
 * them, and nothing outside this folder needs `pg` or its type declarations.
 */
export interface PgQueryResult<Row> {
	rows: Row[];
	rowCount: number | null;
}

/** A statement the connection prepares once under `name` and then only binds and runs. */
export interface PgNamedQuery {
	name: string;
	text: string;
	values?: unknown[];
}

export interface PgQueryable {
	query<Row = Record<string, unknown>>(
		text: string,
		values?: unknown[],
	): Promise<PgQueryResult<Row>>;
	query<Row = Record<string, unknown>>(query: PgNamedQuery): Promise<PgQueryResult<Row>>;
}

/** A client checked out of a pool. `release(error)` destroys it instead of pooling it again. */
export interface PgClient extends PgQueryable {
	release(error?: Error | boolean): void;
}

export interface PgPool extends PgQueryable {
	connect(): Promise<PgClient>;
	end(): Promise<void>;
	on(event: 'error', listener: (error: Error) => void): unknown;
	/** Set on a `pg.Pool`; used only to name the server in error messages. */
	readonly options?: { host?: string; port?: number; database?: string };
}

export interface PgPoolConfig {
	host: string;
	port: number;
	database: string;
	user: string;
	password?: string;
	ssl?: boolean | { rejectUnauthorized: boolean };
	max: number;
	connectionTimeoutMillis: number;
	application_name: string;
	options: string;
}

/** The part of the `pg` module the store uses. */
export interface PgModule {
	Pool: new (config: PgPoolConfig) => PgPool;
}
