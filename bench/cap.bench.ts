/**
 * `npm run bench:cap`: frequency cap decisions per second for 10,000 users — single
 * decisions (one transaction each, as one n8n item at a time), batches of 1,000 (one
 * execution's items in one transaction) and, on PostgreSQL, 8 concurrent workers — each
 * beside the raw insert rate of the same database measured in the same run. Baseline and
 * decisions take turns for BENCH_ROUNDS rounds, and each ratio is the median of the rounds'
 * ratios, so that load from other processes on the machine moves both sides alike. Beside
 * each path, the floor its writes set, measured in the same rounds: the same rows a
 * reservation writes (every column, the key's conflict clause) into a copy of the store's
 * `sends` table with its indexes, with no lock, no read and no decision; and, on PostgreSQL,
 * the bare insert on 8 connections (what the machine allows the simplest write) and the CPU
 * each concurrent decision costs the bench and the server. Ends with one `targets:` line per
 * goal, which names the floor.
 *
 * Environment: BENCH_SINGLE (default 3000), BENCH_BATCHES (default 10), BENCH_ROUNDS (default 3),
 * BENCH_STORES=sqlite,postgres, PGHOST/PGPORT/PGDATABASE/PGUSER.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
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
import { REUSE_NOT_LIVE_KEY_ROW } from '../src/store/postgres/postgres-sends';
import { REUSE_KEY_ROW } from '../src/store/send-decisions';
import { testConnection } from '../test/support/postgres';
import { latencyQuantiles, median } from './stats';

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
	return {
		perSecond: operations / seconds,
		...latencyQuantiles(latencies),
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

/** A baseline row with what a reservation adds: its entry, its expiry, counting toward caps. */
const reservationRowValues = (n: number) => [...rowValues(n), `entry-${n}`, n + 3_600_000];

/**
 * The write of a reservation with no decision: the row, and the store's own conflict clause
 * (`conflict`: `REUSE_KEY_ROW` on SQLite, `REUSE_NOT_LIVE_KEY_ROW` on PostgreSQL), which makes
 * a retried key reuse a failed or expired row (`$k` placeholders for PostgreSQL, `?` for SQLite).
 */
function reservationWrite(table: string, values: string, conflict: string): string {
	return `INSERT INTO ${table} AS s (idempotency_key, campaign_id, step_id, user_id, channel, tags, reserved_at,
			entry_id, expires_at, state, counts_toward_cap)
		${values}
		${conflict}`;
}

/** One round's measures; `concurrent` on PostgreSQL only. */
interface Round {
	rawSingle: Measure;
	single: Measure;
	/** A reservation's row written alone, one transaction each (`reservationWrite`). */
	writeSingle: Measure;
	rawBatch: Measure;
	/** A batch's reservation rows written alone in one transaction: the floor a batch's writes set. */
	writeBatch: Measure;
	batch: Measure;
	/** PostgreSQL: the bare single-row insert on 8 connections. */
	rawConcurrent?: Measure;
	concurrent?: Measure;
	/** PostgreSQL: CPU milliseconds per concurrent decision, in the bench process and in the server. */
	concurrentCpu?: { bench: number; server?: number };
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
		const insertReservation = db.prepare(
			reservationWrite(
				'sends',
				`VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'reserved', 1)`,
				REUSE_KEY_ROW,
			),
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
			const writeSingle = await timed(
				singleRuns(),
				1,
				async () => void insertReservation.run(...reservationRowValues(row++)),
			);
			const rawBatch = await timed(batchRuns(), BATCH_SIZE, async () => {
				db.exec('BEGIN');
				for (let i = 0; i < BATCH_SIZE; i++) insert.run(...rowValues(row++));
				db.exec('COMMIT');
			});
			const writeBatch = await timed(batchRuns(), BATCH_SIZE, async () => {
				db.exec('BEGIN');
				for (let i = 0; i < BATCH_SIZE; i++) insertReservation.run(...reservationRowValues(row++));
				db.exec('COMMIT');
			});
			const batch = await batchDecisions(store, batchRuns());
			rounds.push({ rawSingle, single, writeSingle, rawBatch, writeBatch, batch });
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

/**
 * CPU milliseconds used so far by the processes named `postgres` on this machine (the server
 * and its backends), from /proc; undefined where that cannot be read (no /proc, or the
 * server runs elsewhere, PGHOST naming another machine).
 */
function postgresCpuMs(): number | undefined {
	const host = testConnection.host;
	if (!['127.0.0.1', 'localhost', '::1'].includes(host) && !host.startsWith('/')) return undefined;
	let ticks = 0;
	let found = false;
	try {
		for (const pid of readdirSync('/proc')) {
			if (!/^\d+$/.test(pid)) continue;
			let stat: string;
			try {
				stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
			} catch {
				continue; // the process ended meanwhile
			}
			if (!stat.includes('(postgres)')) continue;
			// utime and stime, the 14th and 15th fields; the name (2nd) may hold spaces.
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			ticks += Number(fields[11]) + Number(fields[12]);
			found = true;
		}
	} catch {
		return undefined;
	}
	// Linux counts in USER_HZ, 100 per second on every architecture Node runs on.
	return found ? ticks * 10 : undefined;
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
		const writeOne = reservationWrite(
			`${schema}.indexed_sends`,
			`VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'reserved', true)`,
			REUSE_NOT_LIVE_KEY_ROW,
		);
		const writeMany = reservationWrite(
			`${schema}.indexed_sends`,
			`SELECT k, c, st, u, ch, t, r, e, x, 'reserved', true FROM unnest($1::text[], $2::text[], $3::text[],
				$4::text[], $5::text[], $6::jsonb[], $7::bigint[], $8::text[], $9::bigint[]) AS v(k, c, st, u, ch, t, r, e, x)`,
			REUSE_NOT_LIVE_KEY_ROW,
		);
		const columns = (rows: unknown[][]) =>
			rows[0].map((_, column) => rows.map((values) => values[column]));
		const rounds: Round[] = [];
		let row = 0;
		for (let r = 0; r < ROUNDS; r++) {
			const rawSingle = await timed(
				singleRuns(),
				1,
				async () => void (await pool.query(insertOne, rowValues(row++))),
			);
			const single = await singleDecisions(stores[0], singleRuns());
			const writeSingle = await timed(
				singleRuns(),
				1,
				async () => void (await pool.query(writeOne, reservationRowValues(row++))),
			);
			const rawBatch = await timed(batchRuns(), BATCH_SIZE, async () => {
				const rows = Array.from({ length: BATCH_SIZE }, () => rowValues(row++));
				await pool.query(
					`INSERT INTO ${schema}.raw_sends SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
					 $5::text[], $6::jsonb[], $7::bigint[])`,
					columns(rows),
				);
			});
			const writeBatch = await timed(batchRuns(), BATCH_SIZE, async () => {
				const rows = Array.from({ length: BATCH_SIZE }, () => reservationRowValues(row++));
				await pool.query(writeMany, columns(rows));
			});
			const batch = await batchDecisions(stores[0], batchRuns());

			// The bare insert on 8 connections at once: how far the machine's cores let the
			// simplest write scale, beside the decisions' scaling below.
			const clients = await Promise.all(Array.from({ length: WORKERS }, () => pool.connect()));
			const perWorker = Math.ceil(singleRuns() / WORKERS) * 2;
			const rawLatencies: number[] = [];
			const rawStarted = process.hrtime.bigint();
			try {
				await Promise.all(
					clients.map(async (client) => {
						for (let i = 0; i < perWorker; i++) {
							const t = process.hrtime.bigint();
							await client.query(insertOne, rowValues(row++));
							rawLatencies.push(Number(process.hrtime.bigint() - t) / 1e6);
						}
					}),
				);
			} finally {
				for (const client of clients) client.release();
			}
			const rawConcurrent = summarise(
				rawLatencies,
				perWorker * WORKERS,
				Number(process.hrtime.bigint() - rawStarted) / 1e9,
			);

			// 8 workers (separate connections) deciding one item at a time, as n8n queue-mode workers do.
			const latencies: number[] = [];
			const benchCpuBefore = process.cpuUsage();
			const serverCpuBefore = postgresCpuMs();
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
			const benchCpu = process.cpuUsage(benchCpuBefore);
			const serverCpuAfter = postgresCpuMs();
			const decisions = perWorker * WORKERS;
			const concurrentCpu = {
				bench: (benchCpu.user + benchCpu.system) / 1000 / decisions,
				server:
					serverCpuBefore === undefined || serverCpuAfter === undefined
						? undefined
						: (serverCpuAfter - serverCpuBefore) / decisions,
			};
			rounds.push({
				rawSingle,
				single,
				writeSingle,
				rawBatch,
				writeBatch,
				batch,
				rawConcurrent,
				concurrent,
				concurrentCpu,
			});
		}
		return report('postgres', rounds, await overCap(pool, `${schema}_store`));
	} finally {
		await Promise.all(stores.map((store) => store.close()));
		await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.query(`DROP SCHEMA IF EXISTS ${schema}_store CASCADE`);
		await pool.end();
	}
}

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
	/** What the path's floor, measured in the same run, allows. */
	floor?: string;
}

interface Result {
	targets: Target[];
}

function report(backend: 'sqlite' | 'postgres', rounds: Round[], overCapCount?: number): Result {
	const ratioOf = (part: keyof Round, base: keyof Round) =>
		median(
			rounds.map(
				(round) => (round[part] as Measure).perSecond / (round[base] as Measure).perSecond,
			),
		);
	const m = (part: keyof Round) => medianMeasure(rounds.map((round) => round[part] as Measure));
	const rate = (x: Measure) => `${Math.round(x.perSecond).toLocaleString('en-US').padStart(8)}/s`;
	const lat = (x: Measure, unit = 'decision') =>
		`${unit} p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`;
	const [rawSingle, single, writeSingle, rawBatch, writeBatch, batch] = (
		['rawSingle', 'single', 'writeSingle', 'rawBatch', 'writeBatch', 'batch'] as const
	).map(m);
	const singleRatio = ratioOf('single', 'rawSingle');
	const writeSingleRatio = ratioOf('writeSingle', 'rawSingle');
	const batchRatio = ratioOf('batch', 'rawBatch');
	const writeBatchRatio = ratioOf('writeBatch', 'rawBatch');
	const floor = (ratio: number) => `the write alone reaches ${ratio.toFixed(2)}`;
	console.log(`${backend} (medians of ${rounds.length} rounds):`);
	console.log(
		`  raw single-row insert (baseline)   ${rate(rawSingle)}  (${lat(rawSingle, 'insert')})`,
	);
	console.log(
		`  single cap decisions               ${rate(single)}  (${lat(single)}; ${single.allowed} allowed)  ratio ${singleRatio.toFixed(2)}`,
	);
	console.log(
		`  a reservation's write alone        ${rate(writeSingle)}  (${lat(writeSingle, 'write')})  ratio ${writeSingleRatio.toFixed(2)}: the floor a single decision's write sets`,
	);
	console.log(
		`  raw insert, 1,000 per transaction  ${rate(rawBatch)}  (${lat(rawBatch, 'batch')})`,
	);
	console.log(
		`  cap decisions, 1,000 per batch     ${rate(batch)}  (${lat(batch, 'batch')}; ${batch.allowed} allowed)  ratio ${batchRatio.toFixed(2)}`,
	);
	console.log(
		`  1,000 reservations' writes alone   ${rate(writeBatch)}  (${lat(writeBatch, 'batch')})  ratio ${writeBatchRatio.toFixed(2)}: the floor a batch's writes set`,
	);
	const targets: Target[] = [];
	if (backend === 'sqlite') {
		targets.push({
			name: 'sqlite batch of 1,000 / raw insert',
			ratio: batchRatio,
			goal: 0.5,
			floor: floor(writeBatchRatio),
		});
		targets.push({
			name: 'sqlite single / single-row insert',
			ratio: singleRatio,
			goal: 0.9,
			floor: floor(writeSingleRatio),
		});
	} else {
		const [rawConcurrent, concurrent] = (['rawConcurrent', 'concurrent'] as const).map(m);
		const concurrentRatio = ratioOf('concurrent', 'single');
		const rawConcurrentRatio = ratioOf('rawConcurrent', 'rawSingle');
		const benchCpu = median(rounds.map((round) => round.concurrentCpu!.bench));
		const serverCpus = rounds.flatMap((round) => round.concurrentCpu?.server ?? []);
		const serverCpu = serverCpus.length === rounds.length ? median(serverCpus) : undefined;
		console.log(
			`  raw single-row insert, ${WORKERS} connections  ${rate(rawConcurrent)}  (${lat(rawConcurrent, 'insert')})  ratio ${rawConcurrentRatio.toFixed(2)} of one connection's inserts`,
		);
		console.log(
			`  single decisions, ${WORKERS} workers       ${rate(concurrent)}  (${lat(concurrent)})  ratio ${concurrentRatio.toFixed(2)} of one connection's decisions; ${overCapCount} over cap`,
		);
		const cores = os.availableParallelism();
		const cpuLine =
			serverCpu === undefined
				? `CPU per decision: ${(benchCpu * 1000).toFixed(0)} µs in the bench process (the server's is not readable here)`
				: `CPU per decision: ${(benchCpu * 1000).toFixed(0)} µs in the bench process + ${(serverCpu * 1000).toFixed(0)} µs in PostgreSQL = ${((benchCpu + serverCpu) * 1000).toFixed(0)} µs; ${cores} cores allow at most ${Math.round((cores * 1000) / (benchCpu + serverCpu)).toLocaleString('en-US')}/s, ${((cores * 1000) / (benchCpu + serverCpu) / single.perSecond).toFixed(2)} × one connection's decisions`;
		console.log(`    ${cpuLine}`);
		targets.push({
			name: 'postgres batch of 1,000 / unnest insert',
			ratio: batchRatio,
			goal: 0.6,
			floor: floor(writeBatchRatio),
		});
		targets.push({
			name: 'postgres single, 1 connection / single-row insert',
			ratio: singleRatio,
			goal: 0.8,
			also: [{ text: `p99 ${single.p99.toFixed(2)} ms <= 2 ms`, met: single.p99 <= 2 }],
			floor: floor(writeSingleRatio),
		});
		targets.push({
			name: `postgres single, ${WORKERS} workers / 1 connection`,
			ratio: concurrentRatio,
			goal: 3,
			also: [{ text: `${overCapCount} over cap`, met: overCapCount === 0 }],
			floor:
				serverCpu === undefined
					? `the bare insert scales ${rawConcurrentRatio.toFixed(2)}`
					: `the bare insert scales ${rawConcurrentRatio.toFixed(2)}; the cores allow ${((cores * 1000) / (benchCpu + serverCpu) / single.perSecond).toFixed(2)}`,
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
			`targets: ${target.name}: ${target.ratio.toFixed(2)}${also} (goal >= ${target.goal}${target.floor ? `; ${target.floor}` : ''}) ${met ? 'met' : 'MISSED'}`,
		);
	}
}

void main();
