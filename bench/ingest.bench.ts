/**
 * `npm run bench:ingest`: events recorded per second through the Campaign Event Trigger's
 * recording path (JSON body → validation → trigger rule → one store transaction), in
 * batches of 1,000, beside the raw insert rate of the same database in the same run. Ends
 * with the target: the path at 0.6× raw insert or more on both stores.
 *
 * Options (environment): BENCH_BATCHES (default 40), BENCH_STORES=sqlite,postgres,
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
	type TriggerRule,
} from '../src';
import { testConnection } from '../test/support/postgres';

const BATCH_SIZE = 1000;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 40);
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
	latencies.sort((a, b) => a - b);
	return {
		eventsPerSecond: (bodies.length * BATCH_SIZE) / seconds,
		p50: latencies[Math.floor(latencies.length * 0.5)],
		p99: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))],
	};
}

async function recordingPath(store: CampaignStore, bodies: Buffer[]): Promise<Measure> {
	let triggered = 0;
	const result = await measure(bodies, async (rawBody) => {
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
		triggered += response.triggered.length;
	});
	console.log(`    (${triggered} users entered the campaign)`);
	return result;
}

async function benchSqlite(bodies: Buffer[]): Promise<[Measure, Measure]> {
	const folder = mkdtempSync(join(tmpdir(), 'tc-bench-'));
	try {
		const db = new DatabaseSync(join(folder, 'raw.sqlite'));
		db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
		db.exec(`CREATE TABLE raw_events (message_id TEXT, user_id TEXT, name TEXT, occurred_at INTEGER,
			received_at INTEGER, time_zone TEXT, properties TEXT)`);
		const insert = db.prepare('INSERT INTO raw_events VALUES (?, ?, ?, ?, ?, ?, ?)');
		const raw = await measure(bodies, async (body) => {
			const rows = rawRows(body);
			db.exec('BEGIN');
			for (const row of rows) insert.run(...row);
			db.exec('COMMIT');
		});
		db.close();
		const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
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
		const path = await recordingPath(store, bodies);
		await store.close();
		return [raw, path];
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

async function benchPostgres(bodies: Buffer[]): Promise<[Measure, Measure]> {
	const connection = testConnection;
	const schema = `tc_bench_${randomUUID().slice(0, 8)}`;
	const pool = new Pool({ ...connection, max: 4 });
	try {
		await pool.query(`CREATE SCHEMA ${schema}`);
		await pool.query(`CREATE TABLE ${schema}.raw_events (message_id TEXT, user_id TEXT, name TEXT,
			occurred_at BIGINT, received_at BIGINT, time_zone TEXT, properties JSONB)`);
		const raw = await measure(bodies, async (body) => {
			const rows = rawRows(body);
			const column = (i: number) => rows.map((row) => row[i]);
			await pool.query(
				`INSERT INTO ${schema}.raw_events SELECT * FROM unnest($1::text[], $2::text[], $3::text[],
				 $4::bigint[], $5::bigint[], $6::text[], $7::jsonb[])`,
				[0, 1, 2, 3, 4, 5, 6].map(column),
			);
		});
		const store = await openPostgresStore({ connection, schema: `${schema}_store` });
		if (CAMPAIGN_ENTRIES > 0) {
			await pool.query(
				PREFILL_SQL(
					`${schema}_store.campaign_entries`,
					`generate_series(1::bigint, ${CAMPAIGN_ENTRIES}) AS i`,
				),
			);
		}
		const path = await recordingPath(store, bodies);
		await store.close();
		return [raw, path];
	} finally {
		await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.query(`DROP SCHEMA IF EXISTS ${schema}_store CASCADE`);
		await pool.end();
	}
}

const format = (m: Measure) =>
	`${Math.round(m.eventsPerSecond).toLocaleString('en-US').padStart(9)} events/s  (batch p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms)`;

async function main(): Promise<void> {
	console.log(
		`bench:ingest — ${BATCHES} batches of ${BATCH_SIZE} events, ${USERS} users, ${CAMPAIGN_ENTRIES.toLocaleString('en-US')} entries in the campaign before the run, Node ${process.version}\n`,
	);
	const bodies = makeBodies();
	const ratios: string[] = [];
	let allMet = true;
	for (const backend of STORES) {
		const run = backend === 'postgres' ? benchPostgres : benchSqlite;
		console.log(`${backend}:`);
		try {
			const [raw, path] = await run(bodies);
			const ratio = path.eventsPerSecond / raw.eventsPerSecond;
			console.log(`  raw insert (baseline)      ${format(raw)}`);
			console.log(`  trigger recording path     ${format(path)}`);
			console.log(`  ratio path / raw           ${ratio.toFixed(2)}\n`);
			ratios.push(`${backend} ${ratio.toFixed(2)}×`);
			allMet &&= ratio >= TARGET_RATIO;
		} catch (error) {
			console.log(`  skipped: ${(error as Error).message}\n`);
			ratios.push(`${backend} not measured`);
			allMet = false;
		}
	}
	console.log(
		`targets: recording path / raw insert ${ratios.join(', ')}; goal ≥ ${TARGET_RATIO}× on each: ${allMet ? 'met' : 'MISSED'}`,
	);
	if (!allMet) process.exitCode = 1;
}

void main();
