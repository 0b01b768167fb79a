/** jest globalSetup of the unit suite: a PostgreSQL for the store tests (see ensure-postgres.ts). */
import { ensurePostgres } from './ensure-postgres';

export default async function globalSetup(): Promise<void> {
	await ensurePostgres((message) => process.stderr.write(`[test] ${message}\n`));
}
