import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { openPostgresStore } from './postgres/postgres-store';
import type { CampaignStoreWithSegments } from './segment-store';
import { SqliteCampaignStore } from './sqlite/sqlite-store';

/** What the Campaign Store credential configures; no credential means the default SQLite file. */
export type StoreConfig =
	| { backend: 'sqlite'; filePath?: string }
	| {
			backend: 'postgres';
			host: string;
			port: number;
			database: string;
			user: string;
			password?: string;
			ssl?: boolean | { rejectUnauthorized: boolean };
			schema?: string;
			poolMax?: number;
	  };

export const DEFAULT_SQLITE_FILE_NAME = 'triggered-campaigns.sqlite';

/** `$N8N_USER_FOLDER/.n8n/`, else `~/.n8n/`: beside n8n's own data, as n8n resolves it. */
export function defaultSqlitePath(env: NodeJS.ProcessEnv = process.env): string {
	const userFolder = env.N8N_USER_FOLDER || homedir();
	return join(userFolder, '.n8n', DEFAULT_SQLITE_FILE_NAME);
}

export async function openCampaignStore(config: StoreConfig): Promise<CampaignStoreWithSegments> {
	if (config.backend === 'sqlite') {
		return new SqliteCampaignStore({ filePath: config.filePath || defaultSqlitePath() });
	}
	return await openPostgresStore({
		connection: {
			host: config.host,
			port: config.port,
			database: config.database,
			user: config.user,
			password: config.password,
			ssl: config.ssl,
		},
		schema: config.schema,
		poolMax: config.poolMax,
	});
}

/**
 * One store per configuration per process, shared by every execution and node:
 * a pool or file handle per execution would exhaust connections under load.
 */
const openStores = new Map<string, Promise<CampaignStoreWithSegments>>();
/** The same stores once open, so that the process 'exit' handler can close them synchronously. */
const readyStores = new Set<CampaignStoreWithSegments>();

function configKey(config: StoreConfig): string {
	const normalised =
		config.backend === 'sqlite'
			? { ...config, filePath: config.filePath || defaultSqlitePath() }
			: config;
	return createHash('sha256').update(JSON.stringify(normalised)).digest('hex');
}

export function getSharedCampaignStore(config: StoreConfig): Promise<CampaignStoreWithSegments> {
	const key = configKey(config);
	let store = openStores.get(key);
	if (!store) {
		store = openCampaignStore(config);
		openStores.set(key, store);
		// A failed open is not cached: the next execution tries again (e.g. after the database is back).
		store.then(
			(ready) => readyStores.add(ready),
			() => openStores.delete(key),
		);
		registerShutdown();
	}
	return store;
}

export async function closeSharedCampaignStores(): Promise<void> {
	const stores = [...openStores.values()];
	openStores.clear();
	readyStores.clear();
	await Promise.all(stores.map(async (store) => (await store.catch(() => undefined))?.close()));
}

let shutdownRegistered = false;
function registerShutdown(): void {
	if (shutdownRegistered) return;
	shutdownRegistered = true;
	process.once('beforeExit', () => void closeSharedCampaignStores());
	// n8n ends with process.exit() after its own shutdown: only synchronous work runs here,
	// which is enough for SQLite (its close() is synchronous); PostgreSQL sockets close with the process.
	process.once('exit', () => {
		for (const store of readyStores) void store.close();
	});
}
