import { randomUUID } from 'node:crypto';

import { Pool } from 'pg';

import type { SendCompletion, SendReservationRequest } from '../../src/store/campaign-store';
import { postgresSendStatements } from '../../src/store/postgres/postgres-sends';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { postgresTestScope, testConnection } from '../support/postgres';

const connection = testConnection;

const { admin, freshSchema, open, track, dispose } = postgresTestScope();
const pools: Pool[] = [];

afterAll(async () => {
	await dispose(async () => {
		for (const pool of pools) await pool.end();
	});
});

const T0 = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;

function request(
	overrides: Partial<SendReservationRequest> & { userId: string },
): SendReservationRequest {
	return {
		idempotencyKey: `k-${randomUUID()}`,
		campaignId: 'c1',
		stepId: 's1',
		channel: 'email',
		tags: [],
		now: T0,
		expiresAt: T0 + HOUR,
		countsTowardCap: true,
		limits: [],
		...overrides,
	};
}

describe('PostgreSQL store: reserving sends', () => {
	it('creates reserve_send and reserve_sends in its own schema and upgrades a version-1 schema', async () => {
		const schema = freshSchema();
		await (await open({ schema })).close();
		const { rows } = await admin.query(
			`SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
			 WHERE n.nspname = $1`,
			[schema],
		);
		expect(rows.map((row: { proname: string }) => row.proname).sort()).toEqual([
			'reserve_send',
			'reserve_sends',
		]);

		// As a store of version 1 left it.
		await admin.query(`DROP FUNCTION "${schema}".reserve_sends`);
		await admin.query(`DROP FUNCTION "${schema}".reserve_send`);
		await admin.query(
			`CREATE INDEX sends_user_channel_time ON "${schema}".sends (user_id, channel, reserved_at)`,
		);
		await admin.query(`DROP INDEX "${schema}".campaign_entries_trigger`);
		await admin.query(`ALTER TABLE "${schema}".sends DROP COLUMN content_hash`);
		await admin.query(
			`DROP TABLE "${schema}".segment_state, "${schema}".segment_members, "${schema}".segment_syncs,
				"${schema}".segment_staging, "${schema}".segment_changes`,
		);
		await admin.query(`DROP INDEX "${schema}".profiles_email_lower`);
		await admin.query(`DROP TABLE "${schema}".scheduled_steps`);
		await admin.query(`DROP TABLE "${schema}".cap_decisions`);
		await admin.query(`DROP INDEX "${schema}".sends_campaign_entry`);
		await admin.query(`DELETE FROM "${schema}".schema_version WHERE version >= 2`);
		const upgraded = await open({ schema });
		const versions = await admin.query(
			`SELECT version FROM "${schema}".schema_version ORDER BY version`,
		);
		expect(versions.rows).toEqual([
			{ version: 1 },
			{ version: 2 },
			{ version: 3 },
			{ version: 4 },
			{ version: 5 },
			{ version: 6 },
			{ version: 7 },
			{ version: 8 },
		]);
		const [result] = await upgraded.reserveSends([request({ userId: 'u1' })]);
		expect(result.outcome).toBe('reserved');
	});

	it('decides in READ COMMITTED on a pool whose connections default to REPEATABLE READ', async () => {
		const pool = new Pool({
			...connection,
			max: 4,
			options: '-c default_transaction_isolation=repeatable\\ read',
		});
		pools.push(pool);
		const { rows } = await pool.query('SHOW transaction_isolation');
		expect(rows).toEqual([{ transaction_isolation: 'repeatable read' }]);
		const schema = freshSchema();
		const [a, b] = [await open({ schema, pool }), await open({ schema, pool })];
		const users = ['u1', 'u2'];
		const limits = [{ ruleId: 'three', since: T0 - HOUR, limit: 3 }];
		const results = await Promise.all(
			Array.from({ length: 40 }, (_, i) =>
				(i % 2 ? a : b).reserveSends([request({ userId: users[i % 2], now: T0 + i, limits })]),
			),
		);
		expect(results.flat().filter((r) => r.outcome === 'reserved')).toHaveLength(6);
	});

	it("decides a batch of 20,000 users within the server's lock table", async () => {
		const store = await open({ schema: freshSchema() });
		const limits = [{ ruleId: 'one', since: T0 - HOUR, limit: 1 }];
		const batch = () =>
			Array.from({ length: 20_000 }, (_, i) => request({ userId: `many-${i}`, limits }));
		const first = await store.reserveSends(batch());
		expect(first.every((r) => r.outcome === 'reserved')).toBe(true);
		const again = await store.reserveSends(batch());
		expect(again.every((r) => r.outcome === 'capped')).toBe(true);
	});

	it('reads a batch through the indexes on a sends table that was never analysed', async () => {
		const schema = freshSchema();
		await (await open({ schema })).close();
		// No statistics at all: autovacuum (and its analyse) never ran on this table.
		await admin.query(`ALTER TABLE "${schema}".sends SET (autovacuum_enabled = false)`);
		await admin.query(
			`INSERT INTO "${schema}".sends (idempotency_key, campaign_id, step_id, user_id, channel, state,
				reserved_at, expires_at)
			SELECT 'k' || g, 'c1', 's1', 'u' || (g % 5000), 'email', 'sent', ${T0} + g, NULL
			FROM generate_series(1, 50000) AS g`,
		);
		const { rows: analysed } = await admin.query(
			`SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables
			 WHERE schemaname = $1 AND relname = 'sends'`,
			[schema],
		);
		expect(analysed).toEqual([{ last_analyze: null, last_autoanalyze: null }]);
		const sql = postgresSendStatements(schema);
		const explain = async (text: string, values: unknown[]) => {
			const { rows } = await admin.query<{ 'QUERY PLAN': string }>(
				`EXPLAIN (COSTS OFF) ${text}`,
				values,
			);
			return rows.map((row) => row['QUERY PLAN']).join('\n');
		};
		const many = (prefix: string) => Array.from({ length: 1000 }, (_, i) => `${prefix}${i * 7}`);
		const keyPlan = await explain(sql.keyRows, [many('k')]);
		const userPlan = await explain(sql.userRows.text, [many('u'), T0]);
		expect(keyPlan).toMatch(/Index Scan using sends_idempotency_key_key/);
		expect(userPlan).toMatch(
			/Index Scan using sends_user_time|Bitmap Index Scan on sends_user_time/,
		);
		expect(`${keyPlan}\n${userPlan}`).not.toMatch(/Seq Scan|Hash Join/);
	});

	it('answers a duplicate, not an error, when two users race for one key', async () => {
		const schema = freshSchema();
		const [a, b] = [await open({ schema }), await open({ schema })];
		for (let round = 0; round < 20; round++) {
			const key = `k-${randomUUID()}`;
			const results = await Promise.all([
				a.reserveSends([request({ userId: `a-${round}`, idempotencyKey: key })]),
				b.reserveSends([request({ userId: `b-${round}`, idempotencyKey: key })]),
			]);
			expect(
				results
					.flat()
					.map((r) => r.outcome)
					.sort(),
			).toEqual(['duplicate', 'reserved']);
		}
	});
});

describe('PostgreSQL store: a key reserved meanwhile under another lock', () => {
	/**
	 * Runs `work` in a transaction of its own that commits once `reserve` waits for it, in
	 * `reserve_send` (a single decision) or in the INSERT of a batch.
	 */
	async function whileHeld(
		schema: string,
		work: string,
		reserve: () => Promise<unknown>,
		waiting = `%"${schema}".reserve_send(%`,
	) {
		const client = await admin.connect();
		try {
			await client.query('BEGIN');
			await client.query(work);
			const pending = reserve();
			for (let tries = 0; ; tries++) {
				const { rows } = await admin.query(
					`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
					[waiting],
				);
				if (rows.length > 0) break;
				if (tries > 500) throw new Error('the reservation never waited for the other transaction');
				await new Promise((resolve) => setTimeout(resolve, 10));
			}
			await client.query('COMMIT');
			return await pending;
		} finally {
			client.release();
		}
	}

	it('answers a duplicate when another user inserts the key while it waits', async () => {
		const schema = freshSchema();
		const store = await open({ schema });
		const key = `k-${randomUUID()}`;
		const results = await whileHeld(
			schema,
			`INSERT INTO "${schema}".sends (idempotency_key, campaign_id, step_id, user_id, channel, state, reserved_at, expires_at)
			 VALUES ('${key}', 'c1', 's1', 'someone-else', 'email', 'reserved', ${T0}, ${T0 + HOUR})`,
			() => store.reserveSends([request({ userId: 'u1', idempotencyKey: key })]),
		);
		expect(results).toEqual([
			{ outcome: 'duplicate', send: expect.objectContaining({ userId: 'someone-else' }) },
		]);
	});

	it('answers a duplicate in a batch when another user inserts one of its keys while it waits', async () => {
		const schema = freshSchema();
		const store = await open({ schema });
		const key = `k-${randomUUID()}`;
		const results = await whileHeld(
			schema,
			`INSERT INTO "${schema}".sends (idempotency_key, campaign_id, step_id, user_id, channel, state, reserved_at, expires_at)
			 VALUES ('${key}', 'c1', 's1', 'someone-else', 'email', 'reserved', ${T0}, ${T0 + HOUR})`,
			() =>
				store.reserveSends([
					request({ userId: 'u1', idempotencyKey: key }),
					request({ userId: 'u2' }),
				]),
			`INSERT INTO "${schema}".sends AS s%`,
		);
		expect(results).toEqual([
			{ outcome: 'duplicate', send: expect.objectContaining({ userId: 'someone-else' }) },
			expect.objectContaining({ outcome: 'reserved' }),
		]);
	});

	it('answers a duplicate when another user reserves a released key again while it waits', async () => {
		const schema = freshSchema();
		const store = await open({ schema });
		const req = request({ userId: 'u1' });
		await store.reserveSends([req]);
		await store.completeSend(req.idempotencyKey, { state: 'released', at: T0 });
		const results = await whileHeld(
			schema,
			`UPDATE "${schema}".sends SET state = 'reserved', user_id = 'someone-else'
			 WHERE idempotency_key = '${req.idempotencyKey}'`,
			() => store.reserveSends([{ ...req, now: T0 + 1 }]),
		);
		expect(results).toEqual([
			{ outcome: 'duplicate', send: expect.objectContaining({ userId: 'someone-else' }) },
		]);
	});
});

describe('PostgreSQL store: same send decisions as the SQLite store', () => {
	/** A small deterministic generator, so that a failure can be replayed. */
	function random(seed: number) {
		let state = seed;
		return (n: number) => {
			state = (state * 1103515245 + 12345) % 2 ** 31;
			return Math.floor((state / 2 ** 31) * n);
		};
	}

	it('gives identical results for a random sequence of batches and completions', async () => {
		const pg = await open({ schema: freshSchema() });
		const sqlite = track(new SqliteCampaignStore({ filePath: ':memory:' }));
		const next = random(7);
		const keys: string[] = [];
		const pick = <T>(items: T[]): T => items[next(items.length)];
		const seen = new Set<string>();
		for (let round = 0; round < 60; round++) {
			const now = T0 + round * 10 * 60_000 + next(1000);
			const batch = Array.from({ length: 1 + next(6) }, (): SendReservationRequest => {
				const reuse = keys.length > 0 && next(4) === 0;
				const key = reuse ? pick(keys) : `k-${round}-${next(1e6)}`;
				keys.push(key);
				const limits = Array.from({ length: next(4) }, (_, l) => ({
					ruleId: `r${l}`,
					since: now - pick([HOUR, 3 * HOUR, 24 * HOUR, 0]),
					limit: next(5),
					campaignId: next(3) === 0 ? pick(['c1', 'c2']) : undefined,
					tag: next(3) === 0 ? pick(['promo', 'news']) : undefined,
					channel: next(3) === 0 ? pick(['email', 'sms']) : undefined,
				}));
				return {
					idempotencyKey: key,
					campaignId: pick(['c1', 'c2']),
					stepId: `s${next(3)}`,
					entryId: next(2) ? `e${next(5)}` : undefined,
					userId: `u${next(3)}`,
					channel: pick(['email', 'sms', 'push']),
					tags: pick([[], ['promo'], ['news'], ['promo', 'news']]),
					now,
					expiresAt: now + pick([60_000, HOUR, 24 * HOUR]),
					countsTowardCap: next(6) > 0,
					limits,
					minGap:
						next(3) === 0
							? { ruleId: 'gap', gapMs: pick([60_000, HOUR]), channel: pick(['sms', undefined]) }
							: undefined,
					checkOnly: next(8) === 0 ? true : undefined,
				};
			});
			const [fromPg, fromSqlite] = await Promise.all([
				pg.reserveSends(batch),
				sqlite.reserveSends(batch),
			]);
			expect(fromPg).toEqual(fromSqlite);
			for (const result of fromPg) seen.add(result.outcome);

			for (let c = 0; c < next(3); c++) {
				const key = pick(keys);
				const completion: SendCompletion = pick<SendCompletion>([
					{ state: 'sent', at: now + 1, providerMessageId: `pm-${next(99)}`, variant: 'A' },
					{ state: 'sent', at: now + 2 },
					{ state: 'failed', at: now + 3, error: 'bounced' },
					{ state: 'released', at: now + 4 },
				]);
				const [a, b] = await Promise.all([
					pg.completeSend(key, completion),
					sqlite.completeSend(key, completion),
				]);
				expect(a).toEqual(b);
			}
		}
		for (const key of new Set(keys)) {
			expect(await pg.getSend(key)).toEqual(await sqlite.getSend(key));
		}
		expect([...seen].sort()).toEqual(['available', 'capped', 'duplicate', 'reserved']);
	});
});
