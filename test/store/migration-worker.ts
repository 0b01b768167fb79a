/**
 * A process that opens a campaign store, for `upgrade.test.ts`; run with `node --import tsx`.
 *
 *   stall-sqlite <file>    opens the file and stops for good in the middle of the migration
 *                          to version 6, after `CREATE TABLE scheduled_steps`, until killed
 *   stall-postgres <schema> the same on PostgreSQL (the test's server)
 *   open-sqlite <file>     prints `opening`, opens the file, prints `opened <version>`, exits
 *
 * Each line goes to stdout with a synchronous write, so the test sees it even when the
 * process then blocks.
 */
import { writeSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';

import * as pg from 'pg';

import { openPostgresStore } from '../../src/store/postgres/postgres-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { testConnection } from '../support/postgres';

/** The statement after which a stalling process stops: the migration is half done. */
export const STALL_AFTER = 'CREATE TABLE scheduled_steps';

const say = (line: string) => writeSync(1, `${line}\n`);

async function main(): Promise<void> {
	const [mode, target] = process.argv.slice(2);
	if (mode === 'stall-sqlite') {
		const exec = DatabaseSync.prototype.exec;
		DatabaseSync.prototype.exec = function (this: DatabaseSync, sql: string) {
			exec.call(this, sql);
			if (sql.includes(STALL_AFTER)) {
				say('stalled');
				// Blocks the thread with the write transaction open, as a hung or dying process would.
				Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
			}
		};
		new SqliteCampaignStore({ filePath: target });
		say('not stalled');
	} else if (mode === 'stall-postgres') {
		const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
		(pg.Client.prototype as { query: unknown }).query = function (
			this: pg.Client,
			...args: unknown[]
		) {
			const result = query.apply(this, args);
			if (typeof args[0] === 'string' && args[0].includes(STALL_AFTER)) {
				return Promise.resolve(result).then(() => {
					say('stalled');
					return new Promise(() => undefined);
				});
			}
			return result;
		};
		await openPostgresStore({ connection: testConnection, schema: target, poolMax: 1 });
		say('not stalled');
	} else if (mode === 'open-sqlite') {
		say('opening');
		const store = new SqliteCampaignStore({ filePath: target });
		await store.close();
		const db = new DatabaseSync(target);
		const { version } = db.prepare('SELECT max(version) AS version FROM schema_version').get() as {
			version: number;
		};
		db.close();
		say(`opened ${version}`);
	} else {
		throw new Error(`unknown mode ${mode}`);
	}
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		console.error(error);
		process.exit(1);
	},
);
