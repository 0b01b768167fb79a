/**
 * `npm run bench:ingest`: events recorded per second through the Campaign Event Trigger's
 * recording path (JSON body → validation → trigger rule → one store transaction), in
 * batches of 1,000, beside the raw insert rate of the same database in the same run, and
 * beside the floor the path's writes set: the same events and the entries the path made,
 * written alone (the store's statements' conflict clauses, no check, no lock, no read) into
 * copies of the store's `events` and `campaign_entries` tables with their indexes, one
 * transaction per batch. The three take turns over BENCH_ROUNDS rounds (a share of the
 * batches each) and each ratio is the median of the rounds' ratios. Ends with one `targets:`
 * line per store: the path at 0.6× raw insert or more.
 *
 * Options (environment): BENCH_BATCHES (default 40), BENCH_ROUNDS (default 4), BENCH_STORES=sqlite,postgres,
 * BENCH_CAMPAIGN_ENTRIES (default 0): entries the campaign already holds before the run, bulk
 * loaded and never analysed (as on a PostgreSQL with autovacuum off), so that the checks of
 * each batch against the campaign show whether their cost follows the batch or the campaign;
 * PGHOST/PGPORT/PGDATABASE/PGUSER (default 127.0.0.1:5432/test as postgres).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { Pool } from 'pg';

import {
	handleEventRequest,
	openPostgresStore,
	SqliteCampaignStore,
	type CampaignStore,
	type TriggeredEntry,
	type TriggerRule,
} from '../src';
import { testConnection } from '../test/support/postgres';
import { latencyQuantiles, median } from './stats';

const BATCH_SIZE = 1000;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 40);
const ROUNDS = Math.max(1, Math.min(BATCHES, Number(process.env.BENCH_ROUNDS ?? 4)));
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const USERS = 10_000;
const CAMPAIGN_ENTRIES = Number(process.env.BENCH_CAMPAIGN_ENTRIES ?? 0);
/** Earlier entries lie a day or more before the first event: they never block re-entry. */
const PREFILL_BEFORE = Date.parse('2026-03-01T00:00:00Z') - 86_400_000;
const PREFILL_SQL = (table: string, timeColumn: string) =>
	`INSERT INTO ${table} (entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id, state)
	 SELECT 'prefill-' || i, 'bench', 'user-' || (i % ${USERS}), ${PREFILL_BEFORE}, ${PREFILL_BEFORE} - i * 1000, 'prefill-' || i, 'active'
	 FROM ${timeColumn}`;
/** The recording path's goal, as a share of the raw insert rate of the same database. */
const TARGET_RATIO = 0.6;

const rule: TriggerRule = {
	campaignId: 'bench',
	eventNames: ['Added to Cart'],
	propertyFilters: [{ property: 'cart_value', operator: 'greaterThan', value: '100' }],
	reEntry: { mode: 'oncePerPeriod', periodMs: 3_600_000 },
};

/** Realistic bodies: a quarter are trigger events, about half of those pass the filter. */
function makeBodies(): Buffer[] {
	const start = Date.parse('2026-03-01T00:00:00Z');
	return Array.from({ length: BATCHES }, (_, b) => {
		const batch = Array.from({ length: BATCH_SIZE }, (_, i) => {
			const n = b * BATCH_SIZE + i;
			return {
				userId: `user-${n % USERS}`,
				event: n % 4 === 0 ? 'Added to Cart' : 'Viewed Product',
				messageId: randomUUID(),
				timestamp: new Date(start + n * 1000).toISOString(),
				properties: { cart_id: `cart-${n}`, cart_value: (n * 37) % 200, sku: `sku-${n % 500}` },
				context: { timezone: 'Europe/Berlin' },
			};
		});
		return Buffer.from(JSON.stringify({ batch }));
	});
}

type Row = [string, string, string, number, number, string | null, string];
function rawRows(body: Buffer): Row[] {
	const now = Date.now();
	type BenchEvent = {
		messageId: string;
		userId: string;
		event: string;
		timestamp: string;
		properties: object;
		context: { timezone: string };
	};
	return (JSON.parse(body.toString()) as { batch: BenchEvent[] }).batch.map((e) => [
		e.messageId,
		e.userId,
		e.event,
		Date.parse(e.timestamp),
		now,
		e.context.timezone,
		JSON.stringify(e.properties),
	]);
}

interface Measure {
	eventsPerSecond: number;
	p50: number;
	p99: number;
}

async function measure(bodies: Buffer[], run: (body: Buffer) => Promise<void>): Promise<Measure> {
	const latencies: number[] = [];
	const started = process.hrtime.bigint();
	for (const body of bodies) {
		const t = process.hrtime.bigint();
		await run(body);
		latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
	}
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	return {
		eventsPerSecond: (bodies.length * BATCH_SIZE) / seconds,
		...latencyQuantiles(latencies),
	};
}

/** The entries the recording path made for each body, which the floor then writes alone. */
type EntriesByBody = Map<Buffer, TriggeredEntry[]>;

async function recordingPath(
	store: CampaignStore,
	bodies: Buffer[],
	entriesByBody: EntriesByBody,
): Promise<Measure> {
	return measure(bodies, async (rawBody) => {
		const response = await handleEventRequest({
			rawBody,
			headers: {},
			auth: { type: 'none' },
			rule,
			maxBatchSize: BATCH_SIZE,
			store: async () => store,
			now: Date.now(),
		});
		if (response.status !== 202)
			throw new Error(`unexpected ${response.status}: ${JSON.stringify(response.body)}`);
		entriesByBody.set(rawBody, response.triggered);
	});
}

type EntryRow = [string, string, string, number, number, string];
const entryRows = (triggered: TriggeredEntry[]): EntryRow[] =>
	triggered.map(({ entry, event }) => [
		entry.entryId,
		entry.campaignId,
		entry.userId,
		entry.enteredAt,
		entry.triggeredAt,
		event.messageId,
	]);

/** One round's measures: the baseline, the path and the floor of its writes. */
interface Round {
	raw: Measure;
	path: Measure;
	writes: Measure;
}

/** The rounds' shares of the bodies, in order. */
const roundsOf = (bodies: Buffer[]): Buffer[][] =>
	Array.from({ length: ROUNDS }, (_, r) =>
		bodies.slice(
			Math.floor((r * bodies.length) / ROUNDS),
			Math.floor(((r + 1) * bodies.length) / ROUNDS),
		),
	);

async function benchSqlite(bodies: Buffer[]): Promise<Round[]> {
	const folder = mkdtempSync(join(tmpdir(), 'tc-bench-'));
	try {
		const db = new DatabaseSync(join(folder, 'raw.sqlite'));
		db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
		db.exec(`CREATE TABLE raw_events (message_id TEXT, user_id TEXT, name TEXT, occurred_at INTEGER,
			received_at INTEGER, time_zone TEXT, properties TEXT)`);
		const insert = db.prepare('INSERT INTO raw_events VALUES (?, ?, ?, ?, ?, ?, ?)');
		const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
		await store.getSend('none'); // creates the schema
		if (CAMPAIGN_ENTRIES > 0) {
			const fill = new DatabaseSync(join(folder, 'store.sqlite'));
			fill.exec(
				PREFILL_SQL(
					'campaign_entries',
					`(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${CAMPAIGN_ENTRIES}) SELECT i FROM n)`,
				),
			);
			fill.close();
		}
		// The floor: the store's own tables and indexes in a file of their own (same pragmas).
		const storeDb = new DatabaseSync(join(folder, 'store.sqlite'), { readOnly: true });
		const ddl = storeDb
			.prepare(
				`SELECT sql FROM sqlite_master WHERE tbl_name IN ('events', 'campaign_entries') AND sql IS NOT NULL`,
			)
			.all() as Array<{ sql: string }>;
		storeDb.close();
		for (const { sql } of ddl) db.exec(sql);
		const insertEvent = db.prepare(
			`INSERT INTO events (message_id, user_id, name, occurred_at, received_at, time_zone, properties)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
		);
		const insertEntry = db.prepare(
			`INSERT INTO campaign_entries (entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id, state)
			VALUES (?, ?, ?, ?, ?, ?, 'active')`,
		);
		const entriesByBody: EntriesByBody = new Map();
		const rounds: Round[] = [];
		for (const share of roundsOf(bodies)) {
			const raw = await measure(share, async (body) => {
				const rows = rawRows(body);
				db.exec('BEGIN');
				for (const row of rows) insert.run(...row);
				db.exec('COMMIT');
			});
			const path = await recordingPath(store, share, entriesByBody);
			const writes = await measure(share, async (body) => {
				const rows = rawRows(body);
				db.exec('BEGIN');
				for (const row of rows) insertEvent.run(...row);
				for (const row of entryRows(entriesByBody.get(body)!)) insertEntry.run(...row);
				db.exec('COMMIT');
			});
			rounds.push({ raw, path, writes });
		}
		db.close();
		await store.close();
		reportEntries(entriesByBody);
		return rounds;
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

async function benchPostgres(bodies: Buffer[]): Promise<Round[]> {
	const connection = testConnection;
	const schema = `tc_bench_${randomUUID().slice(0, 8)}`;
	const pool = new Pool({ ...connection, max: 4 });
	try {
		await pool.query(`CREATE SCHEMA ${schema}`);
		await pool.query(`CREATE TABLE ${schema}.raw_events (message_id TEXT, user_id TEXT, name TEXT,
			occurred_at BIGINT, received_at BIGINT, time_zone TEXT, properties JSONB)`);
		const store = await openPostgresStore({ connection, schema: `${schema}_store` });
		await store.getSend('none'); // creates the schema
		if (CAMPAIGN_ENTRIES > 0) {
			await pool.query(
				PREFILL_SQL(
					`${schema}_store.campaign_entries`,
					`generate_series(1::bigint, ${CAMPAIGN_ENTRIES}) AS i`,
				),
			);
		}
		// The floor: copies of the store's tables with their indexes (and the events' id sequence).
		for (const table of ['events', 'campaign_entries']) {
			await pool.query(
				`CREATE TABLE ${schema}.${table} (LIKE ${schema}_store.${table} INCLUDING ALL)`,
			);
		}
		const eventColumns = (body: Buffer) => {
			const rows = rawRows(body);
			return [0, 1, 2, 3, 4, 5, 6].map((i) => rows.map((row) => row[i]));
		};
		const entries = await pool.connect();
		const entriesByBody: EntriesByBody = new Map();
		const rounds: Round[] = [];
		try {
			for (const share of roundsOf(bodies)) {
				const raw = await measure(share, async (body) => {
					await pool.query(
						`INSERT INTO ${schema}.raw_events SELECT * FROM unnest($1::text[], $2::text[], $3::text[],
						 $4::bigint[], $5::bigint[], $6::text[], $7::jsonb[])`,
						eventColumns(body),
					);
				});
				const path = await recordingPath(store, share, entriesByBody);
				const writes = await measure(share, async (body) => {
					const made = entryRows(entriesByBody.get(body)!);
					const insertEvents = {
						name: 'floor_events',
						text: `INSERT INTO ${schema}.events (message_id, user_id, name, occurred_at, received_at, time_zone, properties)
							SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::jsonb[])
							ON CONFLICT (message_id) DO NOTHING RETURNING message_id`,
						values: eventColumns(body),
					};
					if (made.length === 0) {
						await entries.query(insertEvents);
						return;
					}
					await entries.query('BEGIN');
					await entries.query(insertEvents);
					await entries.query({
						name: 'floor_entries',
						text: `INSERT INTO ${schema}.campaign_entries
								(entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id, state)
							SELECT e.*, 'active' FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
								AS e(entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id)`,
						values: [0, 1, 2, 3, 4, 5].map((i) => made.map((row) => row[i])),
					});
					await entries.query('COMMIT');
				});
				rounds.push({ raw, path, writes });
			}
		} finally {
			entries.release();
			await store.close();
		}
		reportEntries(entriesByBody);
		return rounds;
	} finally {
		await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.query(`DROP SCHEMA IF EXISTS ${schema}_store CASCADE`);
		await pool.end();
	}
}

function reportEntries(entriesByBody: EntriesByBody): void {
	let entered = 0;
	for (const triggered of entriesByBody.values()) entered += triggered.length;
	console.log(`    (${entered} users entered the campaign)`);
}

function medianMeasure(measures: Measure[]): Measure {
	return {
		eventsPerSecond: median(measures.map((m) => m.eventsPerSecond)),
		p50: median(measures.map((m) => m.p50)),
		p99: median(measures.map((m) => m.p99)),
	};
}

const format = (m: Measure) =>
	`${Math.round(m.eventsPerSecond).toLocaleString('en-US').padStart(9)} events/s  (batch p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms)`;

async function main(): Promise<void> {
	console.log(
		`bench:ingest — ${BATCHES} batches of ${BATCH_SIZE} events in ${ROUNDS} rounds, ${USERS} users, ${CAMPAIGN_ENTRIES.toLocaleString('en-US')} entries in the campaign before the run, Node ${process.version}\n`,
	);
	const bodies = makeBodies();
	const targets: string[] = [];
	for (const backend of STORES) {
		const run = backend === 'postgres' ? benchPostgres : benchSqlite;
		console.log(`${backend} (medians of ${ROUNDS} rounds):`);
		try {
			const rounds = await run(bodies);
			const ratioOf = (part: 'path' | 'writes') =>
				median(rounds.map((round) => round[part].eventsPerSecond / round.raw.eventsPerSecond));
			const [raw, path, writes] = (['raw', 'path', 'writes'] as const).map((part) =>
				medianMeasure(rounds.map((round) => round[part])),
			);
			const ratio = ratioOf('path');
			const floor = ratioOf('writes');
			console.log(`  raw insert (baseline)      ${format(raw)}`);
			console.log(`  trigger recording path     ${format(path)}  ratio ${ratio.toFixed(2)}`);
			console.log(
				`  the path's writes alone    ${format(writes)}  ratio ${floor.toFixed(2)}: the floor they set\n`,
			);
			targets.push(
				`targets: recording path ${backend} / raw insert: ${ratio.toFixed(2)} (goal >= ${TARGET_RATIO}; the writes alone reach ${floor.toFixed(2)}) ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}`,
			);
			if (ratio < TARGET_RATIO) process.exitCode = 1;
		} catch (error) {
			console.log(`  skipped: ${(error as Error).message}\n`);
			targets.push(`targets: recording path ${backend} / raw insert: not measured MISSED`);
			process.exitCode = 1;
		}
	}
	for (const line of targets) console.log(line);
}

void main();
