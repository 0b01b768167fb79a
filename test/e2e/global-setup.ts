/**
 * jest globalSetup for the e2e suite: makes sure n8n 2.41.0 is installed in the cache folder
 * (first run ~3 min, progress printed to stderr) and that PostgreSQL is reachable, so that a
 * missing prerequisite fails once, clearly, before any test starts.
 */
import {
	ensureN8nInstalled,
	n8nCacheDir,
	node24Binary,
	pgSettings,
	recreateDatabase,
	dropDatabase,
} from './n8n-harness';
import { ensurePostgres } from '../support/ensure-postgres';

export default async function globalSetup(): Promise<void> {
	const log = (message: string) => process.stderr.write(`[n8n-e2e] ${message}\n`);
	log(`Node for n8n: ${node24Binary()}; n8n cache: ${n8nCacheDir()}`);
	const started = Date.now();
	const installation = await ensureN8nInstalled({ log });
	log(
		installation.installedNow
			? `n8n ${installation.version} installed in ${((Date.now() - started) / 1000).toFixed(1)} s`
			: `n8n ${installation.version} found in the cache (installed earlier in ${((installation.installMs ?? 0) / 1000).toFixed(1)} s)`,
	);
	if (process.env.N8N_E2E_PG_HOST === undefined) await ensurePostgres(log);
	const pg = pgSettings();
	const probe = `n8n_e2e_probe_${process.pid}`;
	await recreateDatabase(probe);
	await dropDatabase(probe);
	log(`PostgreSQL ${pg.user}@${pg.host}:${pg.port} OK`);
}
