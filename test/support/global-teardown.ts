/** jest globalTeardown of both suites: stops the embedded PostgreSQL if globalSetup started one. */
import { stopEmbeddedPostgres } from './ensure-postgres';

export default async function globalTeardown(): Promise<void> {
	await stopEmbeddedPostgres();
}
