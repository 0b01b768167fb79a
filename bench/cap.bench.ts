/**
 * `npm run bench:cap`: frequency cap decisions per second for 10,000 users — single
 * decisions (one transaction each, as one n8n item at a time), batches of 1,000 (one
 * execution's items in one transaction) and, on PostgreSQL, 8 concurrent workers — each
 * beside the raw insert rate of the same database measured in the same run. Baseline and
 * decisions take turns for BENCH_ROUNDS rounds, and each ratio is the median of the rounds'
 * ratios, so that load from other processes on the machine moves both sides alike. Ends with
 * one `targets:` line per goal.
 *
 * Environment: BENCH_SINGLE (default 3000), BENCH_BATCHES (default 10), BENCH_ROUNDS (default 3),
 * BENCH_STORES=sqlite,postgres, PGHOST/PGPORT/PGDATABASE/PGUSER.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { Pool } from 'pg';

import {
	buildReservation,
	openPostgresStore,
	SqliteCampaignStore,
	type CampaignStore,
	type CapRequest,
	type FrequencyPolicy,
} from '../src';
import { testConnection } from '../test/support/postgres';

const USERS = 10_000;
const SINGLE = Number(process.env.BENCH_SINGLE ?? 3000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH_SIZE = 1000;
const WORKERS = 8;
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const DAY = 86_400_000;

const policy: FrequencyPolicy = {
	rules: [
		{
			id: 'weekly',
			limit: 3,
			window: { kind: 'rolling', ms: 7 * DAY },
			scope: { kind: 'all' },
			channel: 'any',
		},
		{
			id: 'daily-promo',
			limit: 1,
			window: { kind: 'calendar', unit: 'day' },
			scope: { kind: 'tag', tag: 'promo' },
			channel: 'any',
		},
	],
	minGap: { ms: 3_600_000, channel: 'any' },
	outsideWindow: 'defer',
	important: false,
	importantCounts: true,
	reservationTtlMs: 3_600_000,
};
const zones = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney'];

let counter = 0;
function nextRequest(now: number): CapRequest {
	const n = counter++;
	const userId = `user-${(n * 7919) % USERS}`;
	return {
		idempotencyKey: `bench:${n}:cap`,
		campaignId: n % 2 ? 'cart' : 'browse',
		stepId: 'cap',
		entryId: `entry-${n}`,
		userId,
		channel: n % 3 ? 'in_app' : 'email',
		tags: ['promo'],
		timeZone: zones[n % zones.length],
		now,
	};
}

interface Measure {
	perSecond: number;
	p50: number;
	p99: number;
	allowed?: number;
}

function summarise(latencies: number[], operations: number, seconds: number): Measure {
	latencies.sort((a, b) => a - b);
	return {
		perSecond: operations / seconds,
		p50: latencies[Math.floor(latencies.length * 0.5)],
		p99: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))],
	};
}

async function timed(
	runs: number,
	perRun: number,
	run: (i: number) => Promise<number | void>,
): Promise<Measure> {
	const latencies: number[] = [];
	let allowed = 0;
	const started = process.hrtime.bigint();
	for (let i = 0; i < runs; i++) {
		const t = process.hrtime.bigint();
		allowed += (await run(i)) ?? 0;
		latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
	}
	const measure = summarise(
		latencies,
		runs * perRun,
		Number(process.hrtime.bigint() - started) / 1e9,
	);
	return { ...measure, allowed };
}

/** Simulated time moves a minute per decision, so windows fill and empty as in real use. */
let simulatedNow = Date.parse('2026-03-02T12:00:00Z');
const tick = () => (simulatedNow += 60_000);

const singleDecisions = (store: CampaignStore, runs: number) =>
	timed(runs, 1, async () => {
		const [result] = await store.reserveSends([buildReservation(policy, nextRequest(tick()))]);
		return result.outcome === 'reserved' ? 1 : 0;
	});

const batchDecisions = (store: CampaignStore, runs: number) =>
	timed(runs, BATCH_SIZE, async () => {
		const now = tick();
		const results = await store.reserveSends(
			Array.from({ length: BATCH_SIZE }, () => buildReservation(policy, nextRequest(now))),
		);
		return results.filter((result) => result.outcome === 'reserved').length;
	});

const rowValues = (n: number) => [
	`raw-${n}-${randomUUID()}`,
	'cart',
	'cap',
	`user-${n % USERS}`,
	'in_app',
	'["promo"]',
	n,
];

/** One round's measures; `concurrent` on PostgreSQL only. */
interface Round {
	rawSingle: Measure;
	single: Measure;
	rawBatch: Measure;
	/** The same rows into a table with the store's `sends` columns and indexes: the floor a reservation's write sets. */
	indexedBatch: Measure;
	batch: Measure;
	concurrent?: Measure;
}

const singleRuns = () => Math.max(1, Math.round(SINGLE / ROUNDS));
const batchRuns = () => Math.max(1, Math.round(BATCHES / ROUNDS));

async function benchSqlite(): Promise<Result> {
	const folder = mkdtempSync(join(tmpdir(), 'tc-bench-cap-'));
	try {
		const db = new DatabaseSync(join(folder, 'raw.sqlite'));
		db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
		db.exec(`CREATE TABLE raw_sends (idempotency_key TEXT, campaign_id TEXT, step_id TEXT, user_id TEXT,
			channel TEXT, tags TEXT, reserved_at INTEGER)`);
		const insert = db.prepare('INSERT INTO raw_sends VALUES (?, ?, ?, ?, ?, ?, ?)');
		const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
		await store.getSend('none'); // creates the schema
		const storeDb = new DatabaseSync(join(folder, 'store.sqlite'), { readOnly: true });
		const ddl = storeDb
			.prepare(`SELECT sql FROM sqlite_master WHERE tbl_name = 'sends' AND sql IS NOT NULL`)
			.all() as Array<{ sql: string }>;
		storeDb.close();
		for (const { sql } of ddl) db.exec(sql);
		const insertIndexed = db.prepare(
			`INSERT INTO sends (idempotency_key, campaign_id, step_id, user_id, channel, tags, state, reserved_at,
				expires_at) VALUES (?, ?, ?, ?, ?, ?, 'reserved', ?, 0)`,
		);
		const rounds: Round[] = [];
		let row = 0;
		for (let r = 0; r < ROUNDS; r++) {
			const rawSingle = await timed(
				singleRuns(),
				1,
				async () => void insert.run(...rowValues(row++)),
			);
			const single = await singleDecisions(store, singleRuns());
			const rawBatch = await timed(batchRuns(), BATCH_SIZE, async () => {
				db.exec('BEGIN');
				for (let i = 0; i < BATCH_SIZE; i++) insert.run(...rowValues(row++));
				db.exec('COMMIT');
			});
			const indexedBatch = await timed(batchRuns(), BATCH_SIZE, async () => {
				db.exec('BEGIN');
				for (let i = 0; i < BATCH_SIZE; i++) insertIndexed.run(...rowValues(row++));
				db.exec('COMMIT');
			});
			const batch = await batchDecisions(store, batchRuns());
			rounds.push({ rawSingle, single, rawBatch, indexedBatch, batch });
		}
		db.close();
		await store.close();
		return report('sqlite', rounds);
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

/**
 * Decisions that broke the weekly rule or the minimum gap (the rules that do not depend on
 * the user's zone, which varies here): per user in the order the rows were written (under the
 * user's lock, so in decision order), a counted earlier row inside the window of a later one.
 */
async function overCap(pool: Pool, schema: string): Promise<number> {
	const { rows } = await pool.query<{ n: string }>(
		`SELECT count(*) AS n FROM ${schema}.sends AS r
		WHERE r.counts_toward_cap AND (
			(SELECT count(*) FROM ${schema}.sends AS e
			 WHERE e.user_id = r.user_id AND e.id < r.id AND e.counts_toward_cap AND e.state = 'reserved'
				AND e.expires_at > r.reserved_at AND e.reserved_at >= r.reserved_at - $1::bigint + 1) >= $2
			OR EXISTS (SELECT 1 FROM ${schema}.sends AS e
			 WHERE e.user_id = r.user_id AND e.id < r.id AND e.counts_toward_cap AND e.state = 'reserved'
				AND e.expires_at > r.reserved_at AND e.reserved_at > r.reserved_at - $3::bigint))`,
		[7 * DAY, policy.rules[0].limit, policy.minGap!.ms],
	);
	return Number(rows[0].n);
}

async function benchPostgres(): Promise<Result> {
	const connection = testConnection;
	const schema = `tc_bench_${randomUUID().slice(0, 8)}`;
	const pool = new Pool({ ...connection, max: WORKERS });
	const stores: CampaignStore[] = [];
	try {
		await pool.query(`CREATE SCHEMA ${schema}`);
		await pool.query(`CREATE TABLE ${schema}.raw_sends (idempotency_key TEXT, campaign_id TEXT, step_id TEXT,
			user_id TEXT, channel TEXT, tags JSONB, reserved_at BIGINT)`);
		const insertOne = `INSERT INTO ${schema}.raw_sends VALUES ($1, $2, $3, $4, $5, $6, $7)`;
		for (let i = 0; i < WORKERS; i++) {
			stores.push(await openPostgresStore({ connection, schema: `${schema}_store`, poolMax: 1 }));
		}
		await pool.query(
			`CREATE TABLE ${schema}.indexed_sends (LIKE ${schema}_store.sends INCLUDING ALL)`,
		);
		const rounds: Round[] = [];
		let row = 0;
		for (let r = 0; r < ROUNDS; r++) {
			const rawSingle = await timed(
				singleRuns(),
				1,
				async () => void (await pool.query(insertOne, rowValues(row++))),
			);
			const single = await singleDecisions(stores[0], singleRuns());
			const rawBatch = await timed(batchRuns(), BATCH_SIZE, async () => {
				const rows = Array.from({ length: BATCH_SIZE }, () => rowValues(row++));
				await pool.query(
					`INSERT INTO ${schema}.raw_sends SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
					 $5::text[], $6::jsonb[], $7::bigint[])`,
					[0, 1, 2, 3, 4, 5, 6].map((column) => rows.map((values) => values[column])),
				);
			});
			const indexedBatch = await timed(batchRuns(), BATCH_SIZE, async () => {
				const rows = Array.from({ length: BATCH_SIZE }, () => rowValues(row++));
				await pool.query(
					`INSERT INTO ${schema}.indexed_sends (idempotency_key, campaign_id, step_id, user_id, channel, tags,
						state, reserved_at, expires_at)
					SELECT k, c, s, u, ch, t, 'reserved', r, 0 FROM unnest($1::text[], $2::text[], $3::text[],
						$4::text[], $5::text[], $6::jsonb[], $7::bigint[]) AS x(k, c, s, u, ch, t, r)`,
					[0, 1, 2, 3, 4, 5, 6].map((column) => rows.map((values) => values[column])),
				);
			});
			const batch = await batchDecisions(stores[0], batchRuns());

			// 8 workers (separate connections) deciding one item at a time, as n8n queue-mode workers do.
			const latencies: number[] = [];
			const perWorker = Math.ceil(singleRuns() / WORKERS) * 2;
			const started = process.hrtime.bigint();
			await Promise.all(
				stores.map(async (store) => {
					for (let i = 0; i < perWorker; i++) {
						const t = process.hrtime.bigint();
						await store.reserveSends([buildReservation(policy, nextRequest(tick()))]);
						latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
					}
				}),
			);
			const concurrent = summarise(
				latencies,
				perWorker * WORKERS,
				Number(process.hrtime.bigint() - started) / 1e9,
			);
			rounds.push({ rawSingle, single, rawBatch, indexedBatch, batch, concurrent });
		}
		return report('postgres', rounds, await overCap(pool, `${schema}_store`));
	} finally {
		await Promise.all(stores.map((store) => store.close()));
		await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.query(`DROP SCHEMA IF EXISTS ${schema}_store CASCADE`);
		await pool.end();
	}
}

const median = (values: number[]): number => {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The median of each figure over the rounds. */
function medianMeasure(measures: Measure[]): Measure {
	return {
		perSecond: median(measures.map((m) => m.perSecond)),
		p50: median(measures.map((m) => m.p50)),
		p99: median(measures.map((m) => m.p99)),
		allowed: measures.reduce((sum, m) => sum + (m.allowed ?? 0), 0),
	};
}

interface Target {
	name: string;
	ratio: number;
	goal: number;
	/** Further conditions, e.g. a latency bound; all must hold too. */
	also?: Array<{ text: string; met: boolean }>;
}

interface Result {
	targets: Target[];
}

function report(backend: 'sqlite' | 'postgres', rounds: Round[], overCapCount?: number): Result {
	const ratioOf = (part: keyof Round, base: keyof Round) =>
		median(rounds.map((round) => round[part]!.perSecond / round[base]!.perSecond));
	const m = (part: keyof Round) => medianMeasure(rounds.map((round) => round[part]!));
	const rate = (x: Measure) => `${Math.round(x.perSecond).toLocaleString('en-US').padStart(8)}/s`;
	const lat = (x: Measure, unit = 'decision') =>
		`${unit} p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`;
	const [rawSingle, single, rawBatch, indexedBatch, batch] = (
		['rawSingle', 'single', 'rawBatch', 'indexedBatch', 'batch'] as const
	).map(m);
	const singleRatio = ratioOf('single', 'rawSingle');
	const batchRatio = ratioOf('batch', 'rawBatch');
	const indexedRatio = ratioOf('indexedBatch', 'rawBatch');
	const batchToIndexed = ratioOf('batch', 'indexedBatch');
	console.log(`${backend} (medians of ${rounds.length} rounds):`);
	console.log(
		`  raw single-row insert (baseline)   ${rate(rawSingle)}  (${lat(rawSingle, 'insert')})`,
	);
	console.log(
		`  single cap decisions               ${rate(single)}  (${lat(single)}; ${single.allowed} allowed)  ratio ${singleRatio.toFixed(2)}`,
	);
	console.log(
		`  raw insert, 1,000 per transaction  ${rate(rawBatch)}  (${lat(rawBatch, 'batch')})`,
	);
	console.log(
		`  same rows into a table with the store's sends indexes  ${rate(indexedBatch)}  (${lat(indexedBatch, 'batch')})  ratio ${indexedRatio.toFixed(2)}: the floor a batch's writes set`,
	);
	console.log(
		`  cap decisions, 1,000 per batch     ${rate(batch)}  (${lat(batch, 'batch')}; ${batch.allowed} allowed)  ratio ${batchRatio.toFixed(2)} (${batchToIndexed.toFixed(2)} of the indexed insert)`,
	);
	const targets: Target[] = [];
	if (backend === 'sqlite') {
		targets.push({ name: 'sqlite batch of 1,000 / raw insert', ratio: batchRatio, goal: 0.5 });
		targets.push({ name: 'sqlite single / single-row insert', ratio: singleRatio, goal: 0.9 });
	} else {
		const concurrent = m('concurrent');
		const concurrentRatio = ratioOf('concurrent', 'single');
		console.log(
			`  single decisions, ${WORKERS} workers       ${rate(concurrent)}  (${lat(concurrent)})  ratio ${concurrentRatio.toFixed(2)} of one connection's decisions; ${overCapCount} over cap`,
		);
		targets.push({ name: 'postgres batch of 1,000 / unnest insert', ratio: batchRatio, goal: 0.6 });
		targets.push({
			name: 'postgres single, 1 connection / single-row insert',
			ratio: singleRatio,
			goal: 0.8,
			also: [{ text: `p99 ${single.p99.toFixed(2)} ms <= 2 ms`, met: single.p99 <= 2 }],
		});
		targets.push({
			name: `postgres single, ${WORKERS} workers / 1 connection`,
			ratio: concurrentRatio,
			goal: 3,
			also: [{ text: `${overCapCount} over cap`, met: overCapCount === 0 }],
		});
	}
	console.log('');
	return { targets };
}

async function main(): Promise<void> {
	console.log(
		`bench:cap — ${USERS} users, ${SINGLE} single decisions, ${BATCHES} batches of ${BATCH_SIZE}, ${ROUNDS} rounds, Node ${process.version}\n`,
	);
	const targets: Target[] = [];
	for (const backend of STORES) {
		try {
			targets.push(...(await (backend === 'postgres' ? benchPostgres() : benchSqlite())).targets);
		} catch (error) {
			console.log(`${backend}: failed: ${(error as Error).message}\n`);
			process.exitCode = 1;
		}
	}
	for (const target of targets) {
		const met =
			target.ratio >= target.goal && (target.also ?? []).every((condition) => condition.met);
		const also = (target.also ?? []).map((condition) => `, ${condition.text}`).join('');
		console.log(
			`targets: ${target.name}: ${target.ratio.toFixed(2)}${also} (goal >= ${target.goal}) ${met ? 'met' : 'MISSED'}`,
		);
	}
}

void main();
