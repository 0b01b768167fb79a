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
