/**
 * `npm run bench:schedule`: the per-user schedule of the campaign store, on each backend.
 *
 * 1. Throughput: schedule BENCH_ROWS rows (default 100,000) in batches of 1,000, then claim
 *    and complete them all in pages of 1,000, beside a raw insert of the same rows (same
 *    columns, one multi-row INSERT or unnest per 1,000, same durability) measured in the
 *    same run.
 * 2. Scaling: claim 10,000 due rows from a table of BENCH_BIG rows (default 1,000,000; the
 *    others due tomorrow), beside claiming 10,000 due rows from a table of 10,000.
 *
 * Environment: BENCH_ROWS, BENCH_BIG, BENCH_STORES=sqlite,postgres, PGHOST/PGPORT/PGDATABASE/PGUSER.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { Pool } from 'pg';

import {
	openPostgresStore,
	SqliteCampaignStore,
	type CampaignStore,
	type ScheduleStepRequest,
} from '../src';
import { testConnection } from '../test/support/postgres';
import { latencyQuantiles } from './stats';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BIG = Number(process.env.BENCH_BIG ?? 1_000_000);
const DUE = 10_000;
const BATCH = 1000;
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const T0 = Date.parse('2026-03-02T12:00:00Z');
const DAY = 86_400_000;
const LEASE_MS = 5 * 60_000;

/** One user's step with an item of the size a campaign step carries (about 330 bytes of JSON). */
function request(campaignId: string, n: number, dueAt: number): ScheduleStepRequest {
	return {
		campaignId,
		stepId: 'after-delay',
		entryId: `${campaignId}-entry-${n}`,
		userId: `user-${n}`,
		dueAt,
		payload: {
			json: {
				userId: `user-${n}`,
				campaignId,
				entryId: `${campaignId}-entry-${n}`,
				triggeredAt: '2026-03-01T09:30:00.000Z',
				event: {
					name: 'Added to Cart',
					properties: { cart_id: `cart-${n}`, value: 42.5, items: 3 },
				},
				profile: { email: `user-${n}@example.com`, timeZone: 'Europe/Berlin' },
				delay: { resumeAt: new Date(dueAt).toISOString(), zone: 'Europe/Berlin' },
			},
			pairedItem: { item: n % BATCH },
		},
	};
}

/** The columns a raw insert writes: those of `scheduled_steps` but the id and the claim's. */
const rawRow = (r: ScheduleStepRequest, now: number) => [
	r.campaignId,
	r.stepId,
	r.entryId,
	r.userId,
	r.dueAt,
	JSON.stringify(r.payload),
	'scheduled',
	0,
	now,
	now,
];

interface Measure {
	rows: number;
	seconds: number;
	p50: number;
	p99: number;
}

/** Runs `step` until it returns 0 rows (or `times` times), timing each call. */
async function timed(step: (i: number) => Promise<number>, times = Infinity): Promise<Measure> {
	const latencies: number[] = [];
	let rows = 0;
	const started = process.hrtime.bigint();
	for (let i = 0; i < times; i++) {
		const t = process.hrtime.bigint();
		const n = await step(i);
		if (n === 0) break;
		latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
		rows += n;
	}
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	return {
		rows,
		seconds,
		...latencyQuantiles(latencies),
	};
}

/** Schedules `count` rows of `campaignId` in batches; `dueAt(n)` places row n. */
function scheduleAll(
	store: CampaignStore,
	campaignId: string,
	count: number,
	dueAt: (n: number) => number,
	first = 0,
): Promise<Measure> {
	return timed(async (b) => {
		const batch = Array.from({ length: BATCH }, (_, i) => {
			const n = first + b * BATCH + i;
			return request(campaignId, n, dueAt(n));
		});
		const { scheduled } = await store.scheduleSteps(batch, T0);
		if (scheduled.some((ok) => !ok)) throw new Error('a row was not scheduled');
		return batch.length;
	}, count / BATCH);
}

/** Claims (and, when asked, completes) every due row of `campaignId` in pages of 1,000. */
function claimAll(store: CampaignStore, campaignId: string, complete: boolean): Promise<Measure> {
	return timed(async () => {
		const page = await store.claimDueSteps({
			campaignId,
			stepId: 'after-delay',
			now: T0,
			limit: BATCH,
			leaseMs: LEASE_MS,
		});
		if (complete && page.length > 0) {
			const done = await store.completeSteps(page, T0);
			if (done !== page.length) throw new Error(`completed ${done} of ${page.length}`);
		}
		return page.length;
	});
}

interface Figures {
	raw: Measure;
	schedule: Measure;
	claimComplete: Measure;
	small: Measure;
	bigFill: Measure;
	/** 10,000 due spread through the big table. */
	big: Measure;
	/** 10,000 due inserted together into the big table. */
	together: Measure;
	bigRows: number;
	note?: string;
}

/** The store's part of the run, the same on both backends; `openStore` gives fresh storage. */
async function storeRun(
	openStore: () => Promise<CampaignStore>,
): Promise<Omit<Figures, 'raw' | 'note'>> {
	const store = await openStore();
	let schedule: Measure;
	let claimComplete: Measure;
	let small: Measure;
	try {
		schedule = await scheduleAll(store, 'throughput', ROWS, (n) => T0 - ROWS + n);
		claimComplete = await claimAll(store, 'throughput', true);
		if (claimComplete.rows !== ROWS) throw new Error(`claimed ${claimComplete.rows} of ${ROWS}`);

		// 10,000 rows, all due, alone in their resume point: the small table's claim.
		await scheduleAll(store, 'small', DUE, (n) => T0 - DUE + n);
		small = await claimAll(store, 'small', false);
		if (small.rows !== DUE) throw new Error(`claimed ${small.rows} of ${DUE}`);
	} finally {
		await store.close();
	}
	// Storage of its own for the big table: one row in BIG / DUE is due, spread through the
	// insertion order; the others are due tomorrow, in the same resume point.
	const big = await openStore();
	try {
		const spacing = BIG / DUE;
		const bigFill = await scheduleAll(big, 'big', BIG, (n) =>
			n % spacing === 0 ? T0 - BIG + n : T0 + DAY + n,
		);
		const claimed = await claimAll(big, 'big', false);
		if (claimed.rows !== DUE) throw new Error(`claimed ${claimed.rows} of ${DUE} due`);
		// Then 10,000 more due rows in the same resume point, inserted together: the rows a
		// claim rewrites now share table pages, as in the small table.
		await scheduleAll(big, 'big', DUE, (n) => T0 - 2 * BIG + n, BIG);
		const together = await claimAll(big, 'big', false);
		if (together.rows !== DUE) throw new Error(`claimed ${together.rows} of ${DUE} due`);
		return { schedule, claimComplete, small, bigFill, big: claimed, together, bigRows: BIG };
	} finally {
		await big.close();
	}
}

async function benchSqlite(): Promise<Figures> {
	const folder = mkdtempSync(join(tmpdir(), 'tc-bench-schedule-'));
	try {
		// The baseline: the same columns in a plain table, WAL and synchronous=FULL as the store.
		const db = new DatabaseSync(join(folder, 'raw.sqlite'));
		db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
		db.exec(`CREATE TABLE raw_steps (campaign_id TEXT, step_id TEXT, entry_id TEXT, user_id TEXT,
			due_at INTEGER, payload TEXT, state TEXT, attempts INTEGER, created_at INTEGER, updated_at INTEGER)`);
		const insert = db.prepare(
			`INSERT INTO raw_steps VALUES ${Array.from({ length: BATCH }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
		);
		const raw = await timed(async (b) => {
			const values = Array.from({ length: BATCH }, (_, i) =>
				rawRow(request('raw', b * BATCH + i, T0 - ROWS + b * BATCH + i), T0),
			).flat();
			db.exec('BEGIN');
			insert.run(...(values as Array<string | number>));
			db.exec('COMMIT');
			return BATCH;
		}, ROWS / BATCH);
		db.close();

		let files = 0;
		const figures = await storeRun(async () => {
			const store = new SqliteCampaignStore({ filePath: join(folder, `store-${files++}.sqlite`) });
			return store;
		});
		const size = statSync(join(folder, 'store-1.sqlite')).size;
		return { raw, ...figures, note: `big store file ${(size / 1e6).toFixed(0)} MB` };
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

async function benchPostgres(): Promise<Figures> {
	const connection = testConnection;
	const base = `tc_bench_${randomUUID().slice(0, 8)}`;
	const pool = new Pool({ ...connection, max: 2 });
	const schemas = [base];
	try {
		await pool.query(`CREATE SCHEMA ${base}`);
		await pool.query(`CREATE TABLE ${base}.raw_steps (campaign_id TEXT, step_id TEXT, entry_id TEXT,
			user_id TEXT, due_at BIGINT, payload JSONB, state TEXT, attempts INTEGER, created_at BIGINT, updated_at BIGINT)`);
		const raw = await timed(async (b) => {
			const rows = Array.from({ length: BATCH }, (_, i) =>
				rawRow(request('raw', b * BATCH + i, T0 - ROWS + b * BATCH + i), T0),
			);
			await pool.query(
				`INSERT INTO ${base}.raw_steps SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
				 $5::bigint[], $6::jsonb[], $7::text[], $8::int[], $9::bigint[], $10::bigint[])`,
				[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((column) => rows.map((row) => row[column])),
			);
			return BATCH;
		}, ROWS / BATCH);

		const figures = await storeRun(async () => {
			const schema = `${base}_${schemas.length}`;
			schemas.push(schema);
			return openPostgresStore({ connection, schema, poolMax: 2 });
		});
		const bigSchema = schemas[schemas.length - 1];
		const { rows } = await pool.query<{ size: string }>(
			`SELECT pg_size_pretty(pg_total_relation_size('${bigSchema}.scheduled_steps')) AS size`,
		);
		return { raw, ...figures, note: `big table with indexes ${rows[0].size}` };
	} finally {
		for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.end();
	}
}

function report(backend: string, f: Figures): void {
	const rate = (m: Measure) => `${Math.round(m.rows / m.seconds).toLocaleString('en-US')}/s`;
	const ms = (m: Measure) => `${m.p50.toFixed(1)} / ${m.p99.toFixed(1)} ms`;
	const ratio = (m: Measure) => (m.rows / m.seconds / (f.raw.rows / f.raw.seconds)).toFixed(2);
	const table = (head: string[], rows: string[][]) => {
		const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
		const line = (cells: string[]) =>
			`  ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   ')}`;
		console.log(line(head));
		console.log(`  ${widths.map((w) => '-'.repeat(w)).join('   ')}`);
		for (const row of rows) console.log(line(row));
	};
	console.log(`${backend}:`);
	table(
		['1,000 rows per call', 'rows', 'seconds', 'rows/s', 'p50 / p99 per call', 'ratio to raw'],
		[
			['raw insert (baseline)', f.raw, '1.00'],
			['scheduleSteps', f.schedule, ratio(f.schedule)],
			['claimDueSteps + completeSteps', f.claimComplete, ratio(f.claimComplete)],
		].map(([name, m, r]) => [
			name as string,
			(m as Measure).rows.toLocaleString('en-US'),
			(m as Measure).seconds.toFixed(2),
			rate(m as Measure),
			ms(m as Measure),
			r as string,
		]),
	);
	console.log('');
	table(
		[
			'claim 10,000 due rows, pages of 1,000',
			'table rows',
			'seconds',
			'rows/s',
			'p50 / p99 per page',
			'ratio',
		],
		[
			['from a table of 10,000', f.small, DUE, '1.00'],
			[
				`from ${f.bigRows.toLocaleString('en-US')}, due rows spread 1 in ${f.bigRows / DUE}`,
				f.big,
				f.bigRows,
				(f.big.seconds / f.small.seconds).toFixed(2),
			],
			[
				`from ${(f.bigRows + DUE).toLocaleString('en-US')}, due rows inserted together`,
				f.together,
				f.bigRows + DUE,
				(f.together.seconds / f.small.seconds).toFixed(2),
			],
		].map(([name, m, rows, r]) => [
			name as string,
			(rows as number).toLocaleString('en-US'),
			(m as Measure).seconds.toFixed(3),
			rate(m as Measure),
			ms(m as Measure),
			r as string,
		]),
	);
	console.log(
		`  (ratio: time / time from 10,000. The big table: ${f.bigRows.toLocaleString('en-US')} rows scheduled in ${f.bigFill.seconds.toFixed(1)} s, ${rate(f.bigFill)}; ${f.note ?? ''}.`,
	);
	console.log(
		'   A claim reads only due rows from its index but rewrites each claimed row: spread rows cost a table page each, rows inserted together share pages.)',
	);
	console.log('');
}

async function main(): Promise<void> {
	console.log(
		`bench:schedule — ${ROWS.toLocaleString('en-US')} rows in batches of ${BATCH}, then claim and complete in pages of ${BATCH}; claiming ${DUE.toLocaleString('en-US')} due of ${BIG.toLocaleString('en-US')}; Node ${process.version}\n`,
	);
	for (const backend of STORES) {
		try {
			const figures = await (backend === 'postgres' ? benchPostgres() : benchSqlite());
			report(backend, figures);
		} catch (error) {
			console.log(`${backend}: failed: ${(error as Error).stack}\n`);
			process.exitCode = 1;
		}
	}
}

void main();
