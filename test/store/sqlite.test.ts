import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SchemaVersionError, StoreUnavailableError } from '../../src/errors';
import type { CampaignStore } from '../../src/store/campaign-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { describeSegmentConformance } from './segments-conformance';
import { describeCampaignStoreConformance } from './store-conformance';

const folder = mkdtempSync(join(tmpdir(), 'tc-sqlite-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let files = 0;
const openSqlite = async (sharing?: CampaignStore) => {
	const filePath = sharing
		? (sharing as SqliteCampaignStore).options.filePath
		: join(folder, `store-${files++}.sqlite`);
	return new SqliteCampaignStore({ filePath });
};
describeCampaignStoreConformance('SQLite file', openSqlite);
describeSegmentConformance('SQLite file', openSqlite);

describe('SQLite store specifics', () => {
	it('shares one file between two store instances, as n8n processes on one host do', async () => {
		const filePath = join(folder, 'shared.sqlite');
		const a = new SqliteCampaignStore({ filePath });
		const b = new SqliteCampaignStore({ filePath });
		const event = {
			messageId: 'm-shared',
			userId: 'u1',
			name: 'Opened App',
			occurredAt: 1,
			receivedAt: 1,
			properties: {},
		};
		expect((await a.ingest({ events: [event], now: 1 })).recorded).toEqual([true]);
		expect((await b.ingest({ events: [event], now: 1 })).recorded).toEqual([false]);
		expect(await b.findEvents({ userId: 'u1', names: [], after: 0 })).toHaveLength(1);
		await a.close();
		await b.close();
	});

	it('opens in WAL mode and creates missing folders', async () => {
		const filePath = join(folder, 'deep', 'er', 'store.sqlite');
		const store = new SqliteCampaignStore({ filePath });
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(filePath);
		expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
		expect(db.prepare('SELECT max(version) AS v FROM schema_version').get()).toEqual({ v: 5 });
		db.close();
		await store.close();
	});

	it('upgrades a version-4 store to version 5, keeping its profiles', async () => {
		const filePath = join(folder, 'v4.sqlite');
		const before = new SqliteCampaignStore({ filePath });
		await before.upsertProfiles([{ userId: 'u-old', email: 'Old.User@Example.com' }], 1);
		await before.close();
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(filePath);
		// As a store of version 4 left it.
		for (const table of ['state', 'members', 'syncs', 'staging', 'changes']) {
			db.exec(`DROP TABLE segment_${table}`);
		}
		db.exec('DROP INDEX profiles_email_lower');
		db.exec('DELETE FROM schema_version WHERE version = 5');
		db.close();

		const upgraded = new SqliteCampaignStore({ filePath });
		expect(await upgraded.findUserIdsByEmail(['OLD.user@example.com'])).toEqual(
			new Map([['old.user@example.com', 'u-old']]),
		);
		await upgraded.stageSegmentPage({
			segmentId: 'seg',
			syncId: 's1',
			profiles: [],
			matched: [{ recordId: 'r1', userId: 'u-old', modstamp: 1 }],
			touched: [],
			deleted: [],
			now: 1,
		});
		const result = await upgraded.commitSegmentSync({
			segmentId: 'seg',
			syncId: 's1',
			mode: 'full',
			expectedVersion: 0,
			definitionHash: 'h',
			syncedAt: 1,
			recordChanges: true,
			now: 2,
		});
		expect(result).toMatchObject({ outcome: 'committed', entered: 1 });
		await upgraded.close();
		const check = new DatabaseSync(filePath);
		expect(check.prepare('SELECT version FROM schema_version ORDER BY version').all()).toEqual(
			[1, 2, 3, 4, 5].map((version) => ({ version })),
		);
		check.close();
	});

	it('refuses a store written by a newer schema, naming both versions', async () => {
		const filePath = join(folder, 'newer.sqlite');
		await new SqliteCampaignStore({ filePath }).close();
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(filePath);
		db.exec('INSERT INTO schema_version (version) VALUES (99)');
		db.close();
		expect(() => new SqliteCampaignStore({ filePath })).toThrow(SchemaVersionError);
		expect(() => new SqliteCampaignStore({ filePath })).toThrow(
			/schema version 99.*supports up to 5/,
		);
	});

	it('says which path cannot be used and what to do', () => {
		const filePath = join(folder, 'not-a-db.sqlite');
		writeFileSync(filePath, 'this is not a database file '.repeat(200));
		expect(() => new SqliteCampaignStore({ filePath })).toThrow(StoreUnavailableError);
		expect(() => new SqliteCampaignStore({ filePath })).toThrow(
			/Cannot open the SQLite store .*not-a-db\.sqlite.*choose another path/,
		);
	});
});
