/**
 * `npm run bench:cap`: frequency cap decisions per second for 10,000 users — single
 * decisions (one transaction each, as one n8n item at a time), batches of 1,000 (one
 * execution's items in one transaction) and, on PostgreSQL, 8 concurrent workers — each
 * beside the raw insert rate of the same database measured in the same run.
 *
 * Environment: BENCH_SINGLE (default 3000), BENCH_BATCHES (default 10), BENCH_STORES=sqlite,postgres,
 * PGHOST/PGPORT/PGDATABASE/PGUSER.
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

async function decisions(store: CampaignStore): Promise<{ single: Measure; batch: Measure }> {
	const single = await timed(SINGLE, 1, async () => {
		const [result] = await store.reserveSends([buildReservation(policy, nextRequest(tick()))]);
		return result.outcome === 'reserved' ? 1 : 0;
	});
	const batch = await timed(BATCHES, BATCH_SIZE, async () => {
		const now = tick();
		const results = await store.reserveSends(
			Array.from({ length: BATCH_SIZE }, () => buildReservation(policy, nextRequest(now))),
		);
		return results.filter((result) => result.outcome === 'reserved').length;
	});
	return { single, batch };
}

const rowValues = (n: number) => [
	`raw-${n}-${randomUUID()}`,
	'cart',
	'cap',
	`user-${n % USERS}`,
	'in_app',
	'["promo"]',
	n,
];

async function benchSqlite(): Promise<void> {
	const folder = mkdtempSync(join(tmpdir(), 'tc-bench-cap-'));
	try {
		const db = new DatabaseSync(join(folder, 'raw.sqlite'));
		db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
		db.exec(`CREATE TABLE raw_sends (idempotency_key TEXT, campaign_id TEXT, step_id TEXT, user_id TEXT,
			channel TEXT, tags TEXT, reserved_at INTEGER)`);
		const insert = db.prepare('INSERT INTO raw_sends VALUES (?, ?, ?, ?, ?, ?, ?)');
		const rawSingle = await timed(SINGLE, 1, async (i) => void insert.run(...rowValues(i)));
		const rawBatch = await timed(BATCHES, BATCH_SIZE, async (b) => {
			db.exec('BEGIN');
			for (let i = 0; i < BATCH_SIZE; i++) insert.run(...rowValues(b * BATCH_SIZE + i));
			db.exec('COMMIT');
		});
		db.close();
		const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
		const { single, batch } = await decisions(store);
		await store.close();
		report('sqlite', { rawSingle, rawBatch, single, batch });
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

async function benchPostgres(): Promise<void> {
	const connection = testConnection;
	const schema = `tc_bench_${randomUUID().slice(0, 8)}`;
	const pool = new Pool({ ...connection, max: WORKERS });
	const stores: CampaignStore[] = [];
	try {
		await pool.query(`CREATE SCHEMA ${schema}`);
		await pool.query(`CREATE TABLE ${schema}.raw_sends (idempotency_key TEXT, campaign_id TEXT, step_id TEXT,
			user_id TEXT, channel TEXT, tags JSONB, reserved_at BIGINT)`);
		const insertOne = `INSERT INTO ${schema}.raw_sends VALUES ($1, $2, $3, $4, $5, $6, $7)`;
		const rawSingle = await timed(
			SINGLE,
			1,
			async (i) => void (await pool.query(insertOne, rowValues(i))),
		);
		const rawBatch = await timed(BATCHES, BATCH_SIZE, async (b) => {
			const rows = Array.from({ length: BATCH_SIZE }, (_, i) => rowValues(b * BATCH_SIZE + i));
			await pool.query(
				`INSERT INTO ${schema}.raw_sends SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
				 $5::text[], $6::jsonb[], $7::bigint[])`,
				[0, 1, 2, 3, 4, 5, 6].map((column) => rows.map((row) => row[column])),
			);
		});
		for (let i = 0; i < WORKERS; i++) {
			stores.push(await openPostgresStore({ connection, schema: `${schema}_store`, poolMax: 1 }));
		}
		const { single, batch } = await decisions(stores[0]);

		// 8 workers (separate connections) deciding one item at a time, as n8n queue-mode workers do.
		const latencies: number[] = [];
		const perWorker = Math.ceil(SINGLE / WORKERS);
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
		report('postgres', { rawSingle, rawBatch, single, batch, concurrent });
	} finally {
		await Promise.all(stores.map((store) => store.close()));
		await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.query(`DROP SCHEMA IF EXISTS ${schema}_store CASCADE`);
		await pool.end();
	}
}

function report(
	backend: string,
	m: {
		rawSingle: Measure;
		rawBatch: Measure;
		single: Measure;
		batch: Measure;
		concurrent?: Measure;
	},
): void {
	const rate = (x: Measure) => `${Math.round(x.perSecond).toLocaleString('en-US').padStart(8)}/s`;
	const lat = (x: Measure, unit = 'decision') =>
		`${unit} p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`;
	console.log(`${backend}:`);
	console.log(
		`  raw single-row insert (baseline)   ${rate(m.rawSingle)}  (${lat(m.rawSingle, 'insert')})`,
	);
	console.log(
		`  single cap decisions               ${rate(m.single)}  (${lat(m.single)}; ${m.single.allowed} allowed)  ratio ${(m.single.perSecond / m.rawSingle.perSecond).toFixed(2)}`,
	);
	console.log(
		`  raw insert, 1,000 per transaction  ${rate(m.rawBatch)}  (${lat(m.rawBatch, 'batch')})`,
	);
	console.log(
		`  cap decisions, 1,000 per batch     ${rate(m.batch)}  (${lat(m.batch, 'batch')}; ${m.batch.allowed} allowed)  ratio ${(m.batch.perSecond / m.rawBatch.perSecond).toFixed(2)}`,
	);
	if (m.concurrent) {
		console.log(
			`  single decisions, ${WORKERS} workers       ${rate(m.concurrent)}  (${lat(m.concurrent)})  ratio ${(m.concurrent.perSecond / m.rawSingle.perSecond).toFixed(2)} of one-connection raw insert`,
		);
	}
	console.log('');
}

async function main(): Promise<void> {
	console.log(
		`bench:cap — ${USERS} users, ${SINGLE} single decisions, ${BATCHES} batches of ${BATCH_SIZE}, Node ${process.version}\n`,
	);
	for (const backend of STORES) {
		try {
			await (backend === 'postgres' ? benchPostgres() : benchSqlite());
		} catch (error) {
			console.log(`${backend}: failed: ${(error as Error).message}\n`);
			process.exitCode = 1;
		}
	}
}

void main();
