import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { postgresTestScope } from '../support/postgres';

const folder = mkdtempSync(join(tmpdir(), 'tc-report-schema-'));
const postgres = postgresTestScope();
afterAll(async () => {
	rmSync(folder, { recursive: true, force: true });
	await postgres.dispose();
});

const decision = {
	campaignId: 'c',
	stepId: 'cap',
	entryId: 'e1',
	userId: 'u-old',
	decision: 'capped' as const,
	rules: ['1'],
	at: 5,
};

describe('schema version 7: the Campaign Report', () => {
	it('upgrades a version-6 SQLite store, keeping its sends', async () => {
		const filePath = join(folder, 'v6.sqlite');
		const before = new SqliteCampaignStore({ filePath });
		await before.ingest({
			events: [
				{
					messageId: 't',
					userId: 'u-old',
					name: 'Cart Abandoned',
					occurredAt: 1,
					receivedAt: 1,
					properties: {},
				},
			],
			entry: { campaignId: 'c', reEntry: { mode: 'everyTime' }, candidates: [0] },
			now: 1,
		});
		await before.close();
		const { DatabaseSync } = await import('node:sqlite');
		const db = new DatabaseSync(filePath);
		// As a store of version 6 left it.
		db.exec('DROP TABLE cap_decisions');
		db.exec('DROP INDEX sends_campaign_entry');
		db.exec('CREATE INDEX sends_user_channel_time ON sends (user_id, channel, reserved_at)');
		db.exec('DELETE FROM schema_version WHERE version >= 7');
		db.close();

		const upgraded = new SqliteCampaignStore({ filePath });
		await upgraded.recordCapDecisions([decision]);
		const [row] = await upgraded.countCampaignReport({ campaignId: 'c', now: 10 });
		expect(row).toMatchObject({ variant: null, entered: 1, capped: 0 });
		await upgraded.close();
		const check = new DatabaseSync(filePath);
		expect(check.prepare('SELECT max(version) AS v FROM schema_version').get()).toEqual({ v: 8 });
		check.close();
	});

	it('upgrades a version-6 PostgreSQL schema', async () => {
		const schema = postgres.freshSchema();
		const before = await postgres.open({ schema });
		await before.close();
		await postgres.admin.query(`DROP TABLE "${schema}".cap_decisions`);
		await postgres.admin.query(`DROP INDEX "${schema}".sends_campaign_entry`);
		await postgres.admin.query(`DROP FUNCTION "${schema}".reserve_send`);
		await postgres.admin.query(
			`CREATE INDEX sends_user_channel_time ON "${schema}".sends (user_id, channel, reserved_at)`,
		);
		await postgres.admin.query(`DELETE FROM "${schema}".schema_version WHERE version >= 7`);
		const upgraded = await postgres.open({ schema });
		await upgraded.recordCapDecisions([decision]);
		const { rows } = await postgres.admin.query(
			`SELECT decision, rules, decided_at FROM "${schema}".cap_decisions`,
		);
		expect(rows).toEqual([{ decision: 'capped', rules: ['1'], decided_at: '5' }]);
		const versions = await postgres.admin.query(
			`SELECT max(version) AS v FROM "${schema}".schema_version`,
		);
		expect(versions.rows).toEqual([{ v: 8 }]);
	});

	it('refuses a cap decision that is neither capped nor deferred, naming the field', async () => {
		const store = new SqliteCampaignStore({ filePath: ':memory:' });
		await expect(
			store.recordCapDecisions([{ ...decision, decision: 'allowed' as never }]),
		).rejects.toThrow(/decisions\[0\]\.decision/);
		await store.close();
	});
});
