import { randomUUID } from 'node:crypto';

import { Pool, type PoolClient } from 'pg';

import { InvalidInputError, SchemaVersionError, StoreUnavailableError } from '../../src/errors';
import type {
	CampaignEvent,
	CampaignStore,
	IngestRequest,
	IngestResult,
	ProfileUpdate,
	ReEntryRule,
} from '../../src/store/campaign-store';
import { postgresScheduleStatements } from '../../src/store/postgres/postgres-schedule';
import { openPostgresStore, PostgresCampaignStore } from '../../src/store/postgres/postgres-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { postgresTestScope, testConnection } from '../support/postgres';

const connection = testConnection;
/** host:port as the store's messages print it, escaped for a RegExp. */
const serverAddress = `${connection.host}:${connection.port}`.replace(/\./g, '\\.');

const { admin, freshSchema, open, track, dispose } = postgresTestScope();
const roles: string[] = [];

afterAll(async () => {
	// Roles own privileges on the schemas, so they go after the schemas: drop them last.
	await dispose();
	const cleanup = new Pool({ ...connection, max: 1 });
	for (const role of roles) await cleanup.query(`DROP ROLE IF EXISTS "${role}"`);
	await cleanup.end();
});

const T0 = Date.parse('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

function event(userId: string, occurredAt = T0, messageId: string = randomUUID()): CampaignEvent {
	return {
		messageId,
		userId,
		name: 'Added to Cart',
		occurredAt,
		receivedAt: occurredAt,
		properties: {},
	};
}

function enter(events: CampaignEvent[], campaignId: string, reEntry: ReEntryRule): IngestRequest {
	return { events, entry: { campaignId, reEntry, candidates: events.map((_, i) => i) }, now: T0 };
}

async function entriesPerUser(schema: string, campaignId: string): Promise<Map<string, number[]>> {
	const { rows } = await admin.query<{ user_id: string; triggered_at: string }>(
		`SELECT user_id, triggered_at FROM "${schema}".campaign_entries WHERE campaign_id = $1 ORDER BY triggered_at`,
		[campaignId],
	);
	const byUser = new Map<string, number[]>();
	for (const row of rows)
		byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), Number(row.triggered_at)]);
	return byUser;
}

describe('PostgreSQL store: opening and migrating', () => {
	it('migrates once when 8 stores open on the same new schema at the same moment', async () => {
		const schema = freshSchema();
		const opened = await Promise.all(Array.from({ length: 8 }, () => open({ schema, poolMax: 1 })));
		expect(opened).toHaveLength(8);
		const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_version`);
		expect(rows).toEqual([
			{ version: 1 },
			{ version: 2 },
			{ version: 3 },
			{ version: 4 },
			{ version: 5 },
			{ version: 6 },
			{ version: 7 },
			{ version: 8 },
		]);
		await opened[7].ingest({ events: [event('u1')], now: T0 });
		expect(await opened[0].findEvents({ userId: 'u1', names: [], after: 0 })).toHaveLength(1);
	});

	it('creates the tables with BIGINT times, JSONB values and the CHECK constraints', async () => {
		const schema = freshSchema();
		await open({ schema });
		const { rows } = await admin.query<{
			table_name: string;
			column_name: string;
			data_type: string;
		}>(
			`SELECT table_name, column_name, data_type FROM information_schema.columns
			 WHERE table_schema = $1 AND column_name IN ('occurred_at', 'properties', 'attributes', 'tags', 'unsubscribed', 'reserved_at')
			 ORDER BY table_name, column_name`,
			[schema],
		);
		expect(rows.map((r) => `${r.table_name}.${r.column_name} ${r.data_type}`)).toEqual([
			'events.occurred_at bigint',
			'events.properties jsonb',
			'profiles.attributes jsonb',
			'profiles.unsubscribed boolean',
			'sends.reserved_at bigint',
			'sends.tags jsonb',
		]);
		await expect(
			admin.query(
				`INSERT INTO "${schema}".campaign_entries (entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id, state)
				 VALUES ('e', 'c', 'u', 0, 0, 'm', 'paused')`,
			),
		).rejects.toThrow(/check constraint/);
	});

	it('keeps times beyond 32 bits exact', async () => {
		const store = await open({ schema: freshSchema() });
		const far = Date.parse('2286-11-20T17:46:40Z') + 123;
		await store.ingest({ events: [event('u1', far)], now: far });
		const [found] = await store.findEvents({ userId: 'u1', names: [], after: far - 1, until: far });
		expect(found.occurredAt).toBe(far);
		expect(typeof found.occurredAt).toBe('number');
	});

	it('refuses a schema written by a newer version, naming both versions', async () => {
		const schema = freshSchema();
		await (await open({ schema })).close();
		await admin.query(`INSERT INTO "${schema}".schema_version (version) VALUES (99)`);
		const opening = openPostgresStore({ connection, schema });
		await expect(opening).rejects.toThrow(SchemaVersionError);
		await expect(openPostgresStore({ connection, schema })).rejects.toThrow(
			/schema version 99.*supports up to 8/,
		);
	});

	it('uses a schema an administrator created for a user who may not create schemas', async () => {
		const role = `tc_test_role_${randomUUID().slice(0, 8)}`;
		roles.push(role);
		await admin.query(`CREATE ROLE "${role}" LOGIN`);
		const limited = { ...connection, user: role, password: undefined };

		const denied = openPostgresStore({ connection: limited, schema: freshSchema() });
		await expect(denied).rejects.toThrow(StoreUnavailableError);
		await expect(openPostgresStore({ connection: limited, schema: freshSchema() })).rejects.toThrow(
			new RegExp(
				`Cannot prepare the schema "tc_test_\\w+" .* at ${serverAddress}/test: permission denied .*create schemas and tables`,
			),
		);

		const schema = freshSchema();
		await admin.query(`CREATE SCHEMA "${schema}" AUTHORIZATION "${role}"`);
		const store = await open({ connection: limited, schema });
		expect((await store.ingest({ events: [event('u1')], now: T0 })).recorded).toEqual([true]);
		await store.close();
		await admin.query(`DROP OWNED BY "${role}" CASCADE`);
	});

	it('names host, port and database when it cannot connect, and what to check', async () => {
		const refused = openPostgresStore({
			connection: { ...connection, port: 1 },
			schema: 'tc_unused',
		});
		await expect(refused).rejects.toThrow(StoreUnavailableError);
		await expect(
			openPostgresStore({ connection: { ...connection, port: 1 }, schema: 'tc_unused' }),
		).rejects.toThrow(
			/^Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/test: .*ECONNREFUSED.*\. Check host, port, database, user and password in the Campaign Store credential\.$/,
		);
		await expect(
			openPostgresStore({
				connection: { ...connection, database: 'tc_no_such_db' },
				schema: 'tc_unused',
			}),
		).rejects.toThrow(
			new RegExp(`at ${serverAddress}/tc_no_such_db: database "tc_no_such_db" does not exist`),
		);
	});

	it.each([
		'',
		'bad-name',
		'x"; DROP SCHEMA public; --',
		'1abc',
		'pg_mine',
		'a'.repeat(64),
		'spaced name',
	])('rejects the schema name %j, naming the field', async (schema) => {
		expect(() => new PostgresCampaignStore({ connection, schema })).toThrow(InvalidInputError);
		await expect(openPostgresStore({ connection, schema })).rejects.toMatchObject({
			code: 'invalid_input',
			field: 'schema',
			message: expect.stringMatching(/^schema: .*not a usable PostgreSQL schema name/),
		});
	});

	it('asks for a pool or connection settings, and a sensible pool size', () => {
		expect(() => new PostgresCampaignStore({})).toThrow(/^connection: /);
		expect(() => new PostgresCampaignStore({ connection, poolMax: 0 })).toThrow(/^poolMax: /);
	});

	it('defaults the schema to triggered_campaigns', async () => {
		const store = new PostgresCampaignStore({ connection });
		expect(store.schema).toBe('triggered_campaigns');
		await store.close();
	});

	it('works on an injected pool and leaves it open on close', async () => {
		const pool = new Pool({ ...connection, max: 2 });
		const store = await openPostgresStore({ pool, schema: freshSchema() });
		expect((await store.ingest({ events: [event('u1')], now: T0 })).recorded).toEqual([true]);
		await store.close();
		await store.close();
		expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
		await expect(store.getEntry('x')).rejects.toThrow(/closed/);
		await pool.end();
	});

	it("names the injected pool's server when it cannot connect", async () => {
		const pool = new Pool({ ...connection, port: 1 });
		await expect(openPostgresStore({ pool, schema: 'tc_unused' })).rejects.toThrow(
			/Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/test/,
		);
		await pool.end();
	});
});

describe('PostgreSQL store: several processes at once', () => {
	let schema: string;
	let a: CampaignStore;
	let b: CampaignStore;
	beforeAll(async () => {
		schema = freshSchema();
		[a, b] = await Promise.all([open({ schema }), open({ schema })]);
	});

	const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);

	it("enters each user exactly once with 'once' when two stores ingest the same users concurrently", async () => {
		const campaign = `c-${randomUUID()}`;
		const batch = (order: string[]) => order.map((userId) => event(userId));
		const rounds: Promise<IngestResult>[] = [];
		for (let round = 0; round < 4; round++) {
			rounds.push(a.ingest(enter(batch(users), campaign, { mode: 'once' })));
			rounds.push(b.ingest(enter(batch([...users].reverse()), campaign, { mode: 'once' })));
		}
		const results = await Promise.all(rounds);
		const entered = results.flatMap((r) => r.entries.map((e) => e.entry.userId));
		expect(entered.sort()).toEqual([...users].sort());
		expect(results.reduce((sum, r) => sum + r.notReEligible.length, 0)).toBe(users.length * 7);
		const stored = await entriesPerUser(schema, campaign);
		expect([...stored.values()].every((times) => times.length === 1)).toBe(true);
		expect(stored.size).toBe(users.length);
	});

	it("keeps entries a period apart with 'once per period' under concurrency", async () => {
		const campaign = `c-${randomUUID()}`;
		const rule: ReEntryRule = { mode: 'oncePerPeriod', periodMs: DAY };
		const offsets = [0, DAY / 2, DAY, 1.5 * DAY, 2 * DAY, 3 * DAY];
		const rounds = offsets.flatMap((offset) => [
			a.ingest(
				enter(
					users.map((u) => event(u, T0 + offset)),
					campaign,
					rule,
				),
			),
			b.ingest(
				enter(
					users.map((u) => event(u, T0 + offset + 1)),
					campaign,
					rule,
				),
			),
		]);
		await Promise.all(rounds);
		const stored = await entriesPerUser(schema, campaign);
		for (const times of stored.values()) {
			for (let i = 1; i < times.length; i++)
				expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(DAY);
		}
	});

	it('records overlapping batches sent in opposite orders once each, without deadlock', async () => {
		const ids = Array.from({ length: 300 }, () => randomUUID());
		const forward = ids.map((id, i) => event(users[i % users.length], T0 + i, id));
		const backward = [...forward].reverse();
		const results = await Promise.all([
			a.ingest({ events: forward, now: T0 }),
			b.ingest({ events: backward, now: T0 }),
			a.ingest({ events: backward, now: T0 }),
			b.ingest({ events: forward, now: T0 }),
		]);
		const recorded = new Map<string, number>();
		results.forEach((result, r) =>
			result.recorded.forEach((yes, i) => {
				const id = (r % 3 === 0 ? forward : backward)[i].messageId;
				if (yes) recorded.set(id, (recorded.get(id) ?? 0) + 1);
			}),
		);
		expect(recorded.size).toBe(ids.length);
		expect([...recorded.values()].every((count) => count === 1)).toBe(true);
	});

	it("enters a batch of 20,000 users with 'once' within the server's lock table", async () => {
		const campaign = `c-${randomUUID()}`;
		const many = Array.from({ length: 20_000 }, (_, i) => `many-${i}`);
		const first = await a.ingest(
			enter(
				many.map((u) => event(u)),
				campaign,
				{ mode: 'once' },
			),
		);
		expect(first.entries).toHaveLength(many.length);
		const again = await b.ingest(
			enter(
				many.map((u) => event(u)),
				campaign,
				{ mode: 'once' },
			),
		);
		expect(again.entries).toEqual([]);
		expect(again.notReEligible).toHaveLength(many.length);
	});

	it('keeps the batch order for events of equal time', async () => {
		const user = `u-${randomUUID()}`;
		const events = ['m-c', 'm-a', 'm-b'].map((prefix) =>
			event(user, T0, `${prefix}-${randomUUID()}`),
		);
		await a.ingest({ events, now: T0 });
		const found = await b.findEvents({ userId: user, names: [], after: 0 });
		expect(found.map((e) => e.messageId)).toEqual(events.map((e) => e.messageId));
	});

	it('merges concurrent profile upserts of the same users without deadlock', async () => {
		const update =
			(key: string) =>
			(userId: string): ProfileUpdate => ({ userId, attributes: { [key]: true } });
		await Promise.all([
			a.upsertProfiles(users.map(update('a1')), T0),
			b.upsertProfiles([...users].reverse().map(update('b1')), T0),
			a.upsertProfiles([...users].reverse().map(update('a2')), T0),
			b.upsertProfiles(users.map(update('b2')), T0),
		]);
		const profiles = await a.getProfiles(users);
		expect(profiles.size).toBe(users.length);
		for (const profile of profiles.values()) {
			expect(profile.attributes).toEqual({ a1: true, a2: true, b1: true, b2: true });
		}
	});
});

describe('PostgreSQL store: same results as the SQLite store', () => {
	/** A small deterministic generator, so that a failure can be replayed. */
	function random(seed: number) {
		let state = seed;
		return (n: number) => {
			state = (state * 1103515245 + 12345) % 2 ** 31;
			return state % n;
		};
	}

	it('gives identical results for a mixed sequence of batches', async () => {
		const pg = await open({ schema: freshSchema() });
		const sqlite = track(new SqliteCampaignStore({ filePath: ':memory:' }));
		const next = random(42);
		const rules: ReEntryRule[] = [
			{ mode: 'everyTime' },
			{ mode: 'once' },
			{ mode: 'oncePerPeriod', periodMs: 10 },
		];
		const seen: string[] = [];
		const strip = (result: IngestResult) => ({
			...result,
			entries: result.entries.map(({ eventIndex, entry }) => ({
				eventIndex,
				entry: { ...entry, entryId: '' },
			})),
		});
		for (let round = 0; round < 40; round++) {
			const events = Array.from({ length: 1 + next(8) }, () => {
				const reuse = seen.length > 0 && next(4) === 0;
				const messageId = reuse ? seen[next(seen.length)] : `m-${round}-${next(1e6)}`;
				seen.push(messageId);
				return { ...event(`u${next(4)}`, T0 + next(40), messageId), name: ['A', 'B'][next(2)] };
			});
			const candidates = Array.from({ length: next(events.length + 2) }, () =>
				next(events.length + 1),
			);
			const request: IngestRequest = {
				events,
				entry: { campaignId: `c${next(2)}`, reEntry: rules[next(3)], candidates },
				now: T0 + round,
			};
			const [fromPg, fromSqlite] = await Promise.all([pg.ingest(request), sqlite.ingest(request)]);
			expect(strip(fromPg)).toEqual(strip(fromSqlite));

			const updates: ProfileUpdate[] = Array.from({ length: next(4) }, () => ({
				userId: `u${next(4)}`,
				email: next(2) ? `e${next(9)}@example.com` : undefined,
				unsubscribed: [undefined, true, false][next(3)],
				attributes: next(2) ? { [`k${next(3)}`]: next(9) } : undefined,
				externalIds: next(2) ? { crm: `id${next(9)}` } : undefined,
			}));
			await Promise.all([
				pg.upsertProfiles(updates, T0 + round),
				sqlite.upsertProfiles(updates, T0 + round),
			]);
		}
		const userIds = ['u0', 'u1', 'u2', 'u3', 'nobody'];
		for (const userId of userIds) {
			for (const query of [
				{ userId, names: [], after: 0 },
				{ userId, names: ['B'], after: T0 + 5, until: T0 + 30, limit: 3 },
				{ userId, names: ['A', 'B'], after: -Infinity, limit: -1 },
				{ userId, names: [], after: T0 + 10.5, until: T0 + 20.5 },
			]) {
				expect(await pg.findEvents(query)).toEqual(await sqlite.findEvents(query));
			}
		}
		const [pgProfiles, sqliteProfiles] = await Promise.all([
			pg.getProfiles(userIds),
			sqlite.getProfiles(userIds),
		]);
		expect([...pgProfiles.entries()]).toEqual([...sqliteProfiles.entries()]);
	});
});

describe('PostgreSQL store: synced segments', () => {
	const staged = (segmentId: string, syncId: string, recordIds: string[], now = T0) => ({
		segmentId,
		syncId,
		profiles: [],
		matched: recordIds.map((recordId) => ({ recordId, userId: `u-${recordId}`, modstamp: now })),
		touched: [],
		deleted: [],
		now,
	});
	const fullCommit = (segmentId: string, syncId: string, expectedVersion: number) => ({
		segmentId,
		syncId,
		mode: 'full' as const,
		expectedVersion,
		definitionHash: 'h',
		syncedAt: T0,
		recordChanges: true,
		now: T0,
	});

	it('commits exactly one of two concurrent syncs from the same version, from two processes', async () => {
		const schema = freshSchema();
		const [a, b] = await Promise.all([open({ schema }), open({ schema })]);
		const segmentId = 'seg-race';
		for (let version = 0; version < 8; version++) {
			const syncA = `a-${version}`;
			const syncB = `b-${version}`;
			await a.stageSegmentPage(staged(segmentId, syncA, ['r1', `a${version}`]));
			await b.stageSegmentPage(staged(segmentId, syncB, ['r1', `b${version}`]));
			const results = await Promise.all([
				a.commitSegmentSync(fullCommit(segmentId, syncA, version)),
				b.commitSegmentSync(fullCommit(segmentId, syncB, version)),
			]);
			expect(results.map((r) => r.outcome).sort()).toEqual(['committed', 'conflict']);
			const winner = results[0].outcome === 'committed' ? 'a' : 'b';
			const state = await a.getSegmentState(segmentId);
			expect(state?.version).toBe(version + 1);
			expect(results.find((r) => r.outcome === 'conflict')?.state).toEqual(state);
			const members = await b.listSegmentMembers({ segmentId });
			expect(members.map((m) => m.recordId)).toEqual([`${winner}${version}`, 'r1']);
			expect(state?.memberCount).toBe(2);
		}
		const { rows } = await admin.query(
			`SELECT count(*)::int AS n FROM "${schema}".segment_staging`,
		);
		expect(rows).toEqual([{ n: 0 }]);
	});

	it('upgrades a version-4 schema to version 5, keeping its profiles', async () => {
		const schema = freshSchema();
		const before = await open({ schema });
		await before.upsertProfiles([{ userId: 'u-old', email: 'Old.User@Example.com' }], T0);
		await before.close();
		// As a store of version 4 left it.
		await admin.query(
			`DROP TABLE "${schema}".segment_state, "${schema}".segment_members, "${schema}".segment_syncs,
				"${schema}".segment_staging, "${schema}".segment_changes`,
		);
		await admin.query(`DROP INDEX "${schema}".profiles_email_lower`);
		await admin.query(`DROP TABLE "${schema}".scheduled_steps`);
		await admin.query(`DROP TABLE "${schema}".cap_decisions`);
		await admin.query(`DROP INDEX "${schema}".sends_campaign_entry`);
		await admin.query(`DROP FUNCTION "${schema}".reserve_send`);
		await admin.query(
			`CREATE INDEX sends_user_channel_time ON "${schema}".sends (user_id, channel, reserved_at)`,
		);
		await admin.query(`DELETE FROM "${schema}".schema_version WHERE version >= 5`);

		const upgraded = await open({ schema });
		const versions = await admin.query(
			`SELECT version FROM "${schema}".schema_version ORDER BY version`,
		);
		expect(versions.rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
		expect(await upgraded.findUserIdsByEmail(['old.user@example.com'])).toEqual(
			new Map([['old.user@example.com', 'u-old']]),
		);
		await upgraded.stageSegmentPage(staged('seg', 's1', ['r1']));
		expect(await upgraded.commitSegmentSync(fullCommit('seg', 's1', 0))).toMatchObject({
			outcome: 'committed',
			entered: 1,
		});
		const { rows } = await admin.query<{ column: string; type: string }>(
			`SELECT table_name || '.' || column_name AS column, data_type AS type
			 FROM information_schema.columns
			 WHERE table_schema = $1 AND table_name LIKE 'segment%'
				AND column_name IN ('modstamp', 'entered_at', 'at', 'seq', 'matched', 'staged_at')
			 ORDER BY 1`,
			[schema],
		);
		expect(rows.map((r) => `${r.column} ${r.type}`)).toEqual([
			'segment_changes.at bigint',
			'segment_changes.seq bigint',
			'segment_members.entered_at bigint',
			'segment_members.modstamp bigint',
			'segment_staging.matched boolean',
			'segment_staging.modstamp bigint',
			'segment_staging.staged_at bigint',
			'segment_syncs.staged_at bigint',
		]);
	});

	it('upgrades a version-5 schema to version 6, keeping its profiles', async () => {
		const schema = freshSchema();
		const before = await open({ schema });
		await before.upsertProfiles([{ userId: 'u-old', email: 'old@example.com' }], T0);
		await before.close();
		// As a store of version 5 left it.
		await admin.query(`DROP TABLE "${schema}".scheduled_steps`);
		await admin.query(`DROP TABLE "${schema}".cap_decisions`);
		await admin.query(`DROP INDEX "${schema}".sends_campaign_entry`);
		await admin.query(`DROP FUNCTION "${schema}".reserve_send`);
		await admin.query(
			`CREATE INDEX sends_user_channel_time ON "${schema}".sends (user_id, channel, reserved_at)`,
		);
		await admin.query(`DELETE FROM "${schema}".schema_version WHERE version >= 6`);

		const upgraded = await open({ schema });
		const versions = await admin.query(
			`SELECT version FROM "${schema}".schema_version ORDER BY version`,
		);
		expect(versions.rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
		expect((await upgraded.getProfiles(['u-old'])).get('u-old')?.email).toBe('old@example.com');
		const step = {
			campaignId: 'c',
			stepId: 'resume',
			entryId: 'e1',
			userId: 'u-old',
			dueAt: T0,
			payload: { json: { ok: true } },
		};
		expect(await upgraded.scheduleSteps([step], T0)).toEqual({ scheduled: [true] });
		const claimed = await upgraded.claimDueSteps({
			campaignId: 'c',
			stepId: 'resume',
			now: T0,
			limit: 10,
			leaseMs: 1000,
		});
		expect(claimed.map((c) => c.payload)).toEqual([{ json: { ok: true } }]);
		const { rows } = await admin.query<{ column: string; type: string }>(
			`SELECT column_name || ' ' || data_type AS column FROM information_schema.columns
			 WHERE table_schema = $1 AND table_name = 'scheduled_steps'
				AND column_name IN ('id', 'due_at', 'payload', 'lease_until', 'attempts')
			 ORDER BY 1`,
			[schema],
		);
		expect(rows.map((r) => r.column)).toEqual([
			'attempts integer',
			'due_at bigint',
			'id bigint',
			'lease_until bigint',
			'payload jsonb',
		]);
		await expect(
			admin.query(`UPDATE "${schema}".scheduled_steps SET state = 'paused'`),
		).rejects.toThrow(/check constraint/);
	});

	it('claims through the partial indexes: the cost follows the due rows, not the table', async () => {
		const schema = freshSchema();
		const store = await open({ schema });
		// 20,000 rows in the future and 50 due, in one resume point; 5,000 finished elsewhere.
		const rows = (n: number, dueAt: (i: number) => number, campaignId = 'c') =>
			Array.from({ length: n }, (_, i) => ({
				campaignId,
				stepId: 'resume',
				entryId: `${campaignId}-e${i}`,
				userId: `u${i}`,
				dueAt: dueAt(i),
				payload: { i },
			}));
		for (let b = 0; b < 20; b++) {
			await store.scheduleSteps(
				rows(1000, (i) => T0 + DAY + b * 1000 + i).map((r) => ({
					...r,
					entryId: `${r.entryId}-${b}`,
				})),
				T0,
			);
		}
		await store.scheduleSteps(
			rows(50, (i) => T0 - i),
			T0,
		);
		await store.scheduleSteps(
			rows(5000, () => T0, 'old'),
			T0,
		);
		for (let page = 0; page < 5; page++) {
			const claimed = await store.claimDueSteps({
				campaignId: 'old',
				stepId: 'resume',
				now: T0,
				limit: 1000,
				leaseMs: 1000,
			});
			await store.completeSteps(claimed, T0);
		}
		await admin.query(`ANALYZE "${schema}".scheduled_steps`);

		const client = await admin.connect();
		try {
			await client.query(`SET search_path TO "${schema}"`);
			const explain = async (sql: string, values: unknown[]) => {
				const { rows: plan } = await client.query<{ 'QUERY PLAN': string }>(
					`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`,
					values,
				);
				return plan.map((row) => row['QUERY PLAN']).join('\n');
			};
			// The store's own statements, in a transaction rolled back afterwards.
			await client.query('BEGIN');
			const sql = postgresScheduleStatements(schema);
			const claimPlan = await explain(sql.claim, [
				'c',
				'resume',
				T0,
				1000,
				T0 + 1000,
				'token',
				T0 - 7 * DAY,
				1000,
			]);
			const nextPlan = await explain(sql.nextDueAt, ['c', 'resume']);
			const cancelPlan = await explain(sql.cancel, ['u1', null, null, T0]);
			await client.query('ROLLBACK');
			expect(claimPlan).toMatch(/Index Scan using scheduled_steps_due on scheduled_steps/);
			expect(claimPlan).toMatch(/Index Scan using scheduled_steps_lease on scheduled_steps/);
			expect(claimPlan).toMatch(/Index Scan using scheduled_steps_finished on scheduled_steps/);
			expect(claimPlan).not.toMatch(/Seq Scan/);
			// The due side reads the 50 due rows, not the 20,000 others (PostgreSQL 18 prints 50.00).
			expect(claimPlan).toMatch(
				/Index Scan using scheduled_steps_due on scheduled_steps[^\n]*\n(?:[^\n]*\n)*?[^\n]*actual rows=50(?:\.00)? loops=1/,
			);
			expect(nextPlan).toMatch(/scheduled_steps_due/);
			expect(nextPlan).toMatch(/scheduled_steps_lease/);
			expect(nextPlan).not.toMatch(/Seq Scan/);
			expect(cancelPlan).toMatch(/scheduled_steps_user/);
		} finally {
			await client.query('ROLLBACK').catch(() => undefined);
			client.release();
		}
	});

	it('checks a batch against the campaign by index on tables never analysed (autovacuum off)', async () => {
		const schema = freshSchema();
		// The store's own statements, captured with their values as it sends them.
		const sent: Array<{ text: string; values: unknown[] }> = [];
		const pool = new Pool({ ...connection, max: 2 });
		const connect = pool.connect.bind(pool) as () => Promise<PoolClient>;
		(pool as unknown as { connect: () => Promise<PoolClient> }).connect = async () => {
			const client = await connect();
			const query = client.query.bind(client) as (...args: unknown[]) => unknown;
			// A statement comes as text and values, or prepared by name as one object.
			type Named = { name: string; text: string; values?: unknown[] };
			(client as unknown as { query: unknown }).query = (
				statement: string | Named,
				values?: unknown[],
			) => {
				if (typeof statement === 'string') sent.push({ text: statement, values: values ?? [] });
				else sent.push({ text: statement.text, values: statement.values ?? [] });
				return values === undefined ? query(statement) : query(statement, values);
			};
			return client;
		};
		const store = track(await openPostgresStore({ pool, schema }));
		// 200,000 entries of one campaign (20 per user), written as a bulk load leaves them.
		await admin.query(
			`INSERT INTO "${schema}".campaign_entries
				(entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id, state)
			 SELECT 'e' || i, 'big', 'user-' || (i % 10000), ${T0}, ${T0} - i::bigint * 60000, 'm' || i, 'active'
			 FROM generate_series(1, 200000) AS i`,
		);
		const { rows: stats } = await admin.query<{ reltuples: number; analysed: string | null }>(
			`SELECT c.reltuples, greatest(s.last_analyze, s.last_autoanalyze) AS analysed
			 FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
			 WHERE c.oid = '"${schema}".campaign_entries'::regclass`,
		);
		expect(stats).toEqual([{ reltuples: -1, analysed: null }]);

		// 250 candidates: some events entered before, some users blocked by the period.
		const events = Array.from({ length: 250 }, (_, i) =>
			i % 10 === 5
				? event(`user-${i}`, T0 - 60000 * i, `m${i}`)
				: event(`user-${i}`, T0 + i * DAY),
		);
		sent.length = 0;
		const result = await store.ingest(
			enter(events, 'big', { mode: 'oncePerPeriod', periodMs: DAY / 2 }),
		);
		expect(result.alreadyEntered).toHaveLength(25);
		await pool.end();

		const checks = sent.filter(
			({ text }) => /^\s*SELECT/i.test(text) && /campaign_entries/.test(text),
		);
		expect(checks.length).toBeGreaterThan(0);
		const client = await admin.connect();
		try {
			for (const { text, values } of checks) {
				const { rows: plan } = await client.query<{ 'QUERY PLAN': string }>(
					`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${text}`,
					values,
				);
				const lines = plan.map((row) => row['QUERY PLAN']).join('\n');
				expect(lines).not.toMatch(/Seq Scan on campaign_entries/);
				// No step reads the campaign's entries: each probe returns a row or two.
				const read = [...lines.matchAll(/actual rows=(\d+)|Rows Removed by \w+: (\d+)/g)].map(
					(match) => Number(match[1] ?? match[2]),
				);
				expect(Math.max(...read)).toBeLessThanOrEqual(250);
			}
		} finally {
			client.release();
		}
	});

	it('gives the same results as the SQLite store for a random sequence of syncs', async () => {
		const pg = await open({ schema: freshSchema() });
		const sqlite = track(new SqliteCampaignStore({ filePath: ':memory:' }));
		let seed = 7;
		const next = (n: number) => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed % n;
		};
		const ids = (n: number) => Array.from({ length: n }, () => `r${next(30)}`);
		const versions = new Map<string, number>();
		for (let round = 0; round < 30; round++) {
			const segmentId = `seg${next(2)}`;
			const syncId = `sync-${round}`;
			for (let p = 0; p <= next(3); p++) {
				const page = {
					segmentId,
					syncId,
					profiles: [],
					matched: ids(next(12)).map((recordId) => ({
						recordId,
						userId: `u${next(3)}`,
						modstamp: T0 + next(5),
					})),
					touched: ids(next(8)),
					deleted: ids(next(3)),
					now: T0 + round,
				};
				await Promise.all([pg.stageSegmentPage(page), sqlite.stageSegmentPage(page)]);
			}
			const current = versions.get(segmentId) ?? 0;
			const request = {
				segmentId,
				syncId,
				mode: next(2) ? ('full' as const) : ('incremental' as const),
				// Now and then a stale version, which must be refused alike.
				expectedVersion: next(6) === 0 ? current + 1 : current,
				definitionHash: `h${next(2)}`,
				mark: next(2) ? T0 + round : undefined,
				syncedAt: T0 + round,
				recordChanges: next(4) !== 0,
				now: T0 + 100 + round,
			};
			const [fromPg, fromSqlite] = await Promise.all([
				pg.commitSegmentSync(request),
				sqlite.commitSegmentSync(request),
			]);
			expect(fromPg).toEqual(fromSqlite);
			if (fromPg.outcome === 'committed') versions.set(segmentId, fromPg.state.version);
		}
		for (const segmentId of ['seg0', 'seg1']) {
			expect(await pg.listSegmentMembers({ segmentId })).toEqual(
				await sqlite.listSegmentMembers({ segmentId }),
			);
			const withoutSeq = (changes: Array<{ seq: number }>) =>
				changes.map((change) => ({ ...change, seq: 0 }));
			expect(withoutSeq(await pg.listSegmentChanges({ segmentId }))).toEqual(
				withoutSeq(await sqlite.listSegmentChanges({ segmentId })),
			);
		}
	});
});
