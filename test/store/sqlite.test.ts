import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SchemaVersionError, StoreUnavailableError } from '../../src/errors';
import type { CampaignStore } from '../../src/store/campaign-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { describeScheduleConformance } from './schedule-conformance';
import { describeSegmentConformance } from './segments-conformance';
import { describeDryRunConformance } from './dry-run-conformance';
import { describeCampaignStoreConformance } from './store-conformance';
import { describeUserRecordsConformance } from './user-records-conformance';

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
describeScheduleConformance('SQLite file', openSqlite);
describeDryRunConformance('SQLite file', openSqlite, async (store) => {
	const { DatabaseSync } = await import('node:sqlite');
	const db = new DatabaseSync((store as SqliteCampaignStore).options.filePath, { readOnly: true });
	try {
		const tables = db
			.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
			.all() as Array<{ name: string }>;
		return Object.fromEntries(
			tables.map(({ name }) => [
				name,
				db
					.prepare(`SELECT * FROM "${name}"`)
					.all()
					.map((row) => JSON.stringify(row))
					.sort(),
			]),
		);
	} finally {
		db.close();
	}
});
describeUserRecordsConformance('SQLite file', () => openSqlite());

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
		expect(db.prepare('SELECT max(version) AS v FROM schema_version').get()).toEqual({ v: 8 });
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
		db.exec('DROP TABLE scheduled_steps');
		db.exec('DROP TABLE cap_decisions');
		db.exec('DROP INDEX sends_campaign_entry');
		db.exec('CREATE INDEX sends_user_channel_time ON sends (user_id, channel, reserved_at)');
		db.exec('DELETE FROM schema_version WHERE version >= 5');
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
			[1, 2, 3, 4, 5, 6, 7, 8].map((version) => ({ version })),
		);
		check.close();
	});

	it('upgrades a version-5 store to version 6, keeping its profiles', async () => {
		const filePath = join(folder, 'v5.sqlite');
		const before = new SqliteCampaignStore({ filePath });
		await before.upsertProfiles([{ userId: 'u-old', email: 'old@example.com' }], 1);
		await before.close();
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(filePath);
		// As a store of version 5 left it.
		db.exec('DROP TABLE scheduled_steps');
		db.exec('DROP TABLE cap_decisions');
		db.exec('DROP INDEX sends_campaign_entry');
		db.exec('CREATE INDEX sends_user_channel_time ON sends (user_id, channel, reserved_at)');
		db.exec('DELETE FROM schema_version WHERE version >= 6');
		db.close();

		const upgraded = new SqliteCampaignStore({ filePath });
		expect((await upgraded.getProfiles(['u-old'])).get('u-old')?.email).toBe('old@example.com');
		const step = {
			campaignId: 'c',
			stepId: 'resume',
			entryId: 'e1',
			userId: 'u-old',
			dueAt: 5,
			payload: { json: { ok: true } },
		};
		expect(await upgraded.scheduleSteps([step], 1)).toEqual({ scheduled: [true] });
		const claimed = await upgraded.claimDueSteps({
			campaignId: 'c',
			stepId: 'resume',
			now: 5,
			limit: 10,
			leaseMs: 1000,
		});
		expect(claimed.map((c) => c.payload)).toEqual([{ json: { ok: true } }]);
		await upgraded.close();
		const check = new DatabaseSync(filePath);
		expect(check.prepare('SELECT version FROM schema_version ORDER BY version').all()).toEqual(
			[1, 2, 3, 4, 5, 6, 7, 8].map((version) => ({ version })),
		);
		check.close();
	});

	it("checkpoints a sync's staged pages every 80 MB of WAL, and events every 4 MB as before", async () => {
		const filePath = join(folder, 'checkpoints.sqlite');
		const store = new SqliteCampaignStore({ filePath });
		const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);
		// About 12 MB of profiles, staged in pages as a segment sync does.
		for (let page = 0; page < 12; page++) {
			await store.stageSegmentPage({
				segmentId: 'seg',
				syncId: 's1',
				profiles: Array.from({ length: 1000 }, (_, i) => ({
					userId: `u-${page}-${i}`,
					email: `u-${page}-${i}@example.com`,
					attributes: { note: 'x'.repeat(800) },
				})),
				matched: [],
				touched: [],
				deleted: [],
				now: 1,
			});
		}
		// SQLite's default would have copied them into the file every 1,000 pages (4 MB).
		expect(size(`${filePath}-wal`)).toBeGreaterThan(8 * 1024 * 1024);
		expect(size(filePath)).toBeLessThan(1024 * 1024);

		// The next event commit checkpoints with the default again: the pages reach the file.
		const event = {
			messageId: 'm-after-sync',
			userId: 'u1',
			name: 'Opened App',
			occurredAt: 1,
			receivedAt: 1,
			properties: {},
		};
		expect((await store.ingest({ events: [event], now: 1 })).recorded).toEqual([true]);
		expect(size(filePath)).toBeGreaterThan(8 * 1024 * 1024);
		expect((await store.getProfiles(['u-11-999'])).get('u-11-999')?.attributes).toEqual({
			note: 'x'.repeat(800),
		});
		await store.close();
	});

	it('claims through the partial indexes, never by scanning the table', async () => {
		const filePath = join(folder, 'plans.sqlite');
		await new SqliteCampaignStore({ filePath }).close();
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(filePath);
		const plan = (sql: string) =>
			(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>)
				.map((row) => row.detail)
				.join('\n');
		const claimPlan = plan(`SELECT id FROM (
				SELECT id, due_at FROM (SELECT id, due_at FROM scheduled_steps
					WHERE campaign_id = 'c' AND step_id = 's' AND state = 'scheduled' AND due_at <= 5
					ORDER BY due_at, id LIMIT 10)
				UNION ALL
				SELECT id, due_at FROM (SELECT id, due_at FROM scheduled_steps
					WHERE campaign_id = 'c' AND step_id = 's' AND state = 'claimed' AND lease_until <= 5 AND due_at <= 5
					ORDER BY due_at, id LIMIT 10))
			ORDER BY due_at, id LIMIT 10`);
		expect(claimPlan).toMatch(
			/USING (?:COVERING )?INDEX scheduled_steps_due \(campaign_id=\? AND step_id=\? AND due_at<\?\)/,
		);
		expect(claimPlan).toMatch(
			/USING INDEX scheduled_steps_lease \(campaign_id=\? AND step_id=\? AND lease_until<\?\)/,
		);
		expect(claimPlan).not.toMatch(/SCAN scheduled_steps(?! USING)/);
		expect(
			plan(
				`SELECT id FROM scheduled_steps WHERE user_id = 'u' AND state IN ('scheduled', 'claimed')`,
			),
		).toMatch(/USING INDEX scheduled_steps_user/);
		expect(
			plan(
				`SELECT id FROM scheduled_steps WHERE state IN ('done', 'cancelled') AND updated_at < 5 LIMIT 10`,
			),
		).toMatch(/USING INDEX scheduled_steps_finished/);
		db.close();
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
			/schema version 99.*supports up to 8/,
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
