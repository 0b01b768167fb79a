/**
 * `npm run bench:report`: the Campaign Report over a campaign of BENCH_SENDS sends (default
 * 1,000,000), on each backend.
 *
 * The campaign: BENCH_SENDS entries, each with its trigger event (a `cart_id` property) and
 * one send (a third held out as control, A and B the rest; about 1% failed), 2% exited, 5%
 * deferred once by the Frequency Cap, and a purchase of the same cart a day after the send for
 * about 10% of control and A and 15% of B, so about 1.1M events. Rows are written with plain
 * SQL (the seeding is not what is measured). Measured: the report with the conversion rule
 * (names, same `cart_id`, 7 days), the funnel alone, and beside them a baseline measured in
 * the same run: `count(*)` of the campaign's sends, the least any report must read.
 * PostgreSQL is measured fresh (no statistics yet, as right after a bulk load) and after
 * ANALYZE (as autovacuum leaves it).
 *
 * Environment: BENCH_SENDS, BENCH_STORES=sqlite,postgres, BENCH_SCHEMA (PostgreSQL: seed this schema
 * once and keep it, measuring only after ANALYZE), PGHOST/PGPORT/PGDATABASE/PGUSER.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { Pool } from 'pg';

import {
	buildCampaignReport,
	formatReportTable,
	openPostgresStore,
	SqliteCampaignStore,
	type CampaignStore,
	type ConversionRule,
} from '../src';
import { testConnection } from '../test/support/postgres';

const SENDS = Number(process.env.BENCH_SENDS ?? 1_000_000);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const T0 = Date.parse('2026-03-02T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CAMPAIGN = 'bench-cart';

const conversion: ConversionRule = {
	eventNames: ['Order Completed'],
	matchProperty: 'cart_id',
	windowMs: 7 * DAY,
	windowFrom: 'send',
};

/**
 * The rows as SQL over a series `i` (0..SENDS-1), the same on both backends: `%` and `||`
 * and CASE mean the same in SQLite and PostgreSQL for these integers.
 */
const at = `(${T0} + i * 60)`;
const variant = `CASE WHEN i % 3 = 0 THEN 'control' WHEN i % 3 = 1 THEN 'A' ELSE 'B' END`;
const buys = `(((i % 1000) * 7919) % 1000) < CASE WHEN i % 3 = 2 THEN 150 ELSE 100 END`;
const seedStatements = (series: string, json: (cart: string) => string) => [
	`INSERT INTO events (message_id, user_id, name, occurred_at, received_at, properties)
		SELECT 't-' || i, 'user-' || i, 'Cart Abandoned', ${at}, ${at}, ${json(`'cart-' || i`)} FROM ${series}`,
	`INSERT INTO campaign_entries (entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id, state, exited_at, exit_reason)
		SELECT 'e-' || i, '${CAMPAIGN}', 'user-' || i, ${at}, ${at}, 't-' || i,
			CASE WHEN i % 50 = 7 THEN 'exited' ELSE 'active' END,
			CASE WHEN i % 50 = 7 THEN ${at} + 2 * ${HOUR} END,
			CASE WHEN i % 50 = 7 THEN 'unsubscribed: the user unsubscribed' END
		FROM ${series}`,
	`INSERT INTO sends (idempotency_key, campaign_id, step_id, entry_id, user_id, channel, state, reserved_at, expires_at, sent_at, variant)
		SELECT '${CAMPAIGN}:e-' || i || ':send', '${CAMPAIGN}', 'send', 'e-' || i, 'user-' || i, 'email',
			CASE WHEN i % 3 = 0 THEN 'released' WHEN i % 97 = 5 THEN 'failed' ELSE 'sent' END,
			${at} + ${HOUR}, ${at} + 2 * ${HOUR},
			CASE WHEN i % 3 <> 0 AND i % 97 <> 5 THEN ${at} + ${HOUR} END,
			${variant}
		FROM ${series}`,
	`INSERT INTO cap_decisions (campaign_id, step_id, entry_id, user_id, decision, decided_at)
		SELECT '${CAMPAIGN}', 'cap', 'e-' || i, 'user-' || i, 'deferred', ${at} + ${HOUR} / 2
		FROM ${series} WHERE i % 20 = 3`,
	`INSERT INTO events (message_id, user_id, name, occurred_at, received_at, properties)
		SELECT 'buy-' || i, 'user-' || i, 'Order Completed', ${at} + ${HOUR} + ${DAY}, ${at} + ${HOUR} + ${DAY},
			${json(`'cart-' || i`)}
		FROM ${series} WHERE ${buys}`,
];

async function time<T>(work: () => Promise<T>): Promise<{ seconds: number; result: T }> {
	const started = process.hrtime.bigint();
	const result = await work();
	return { seconds: Number(process.hrtime.bigint() - started) / 1e9, result };
}

async function measure(label: string, store: CampaignStore, baseline: () => Promise<number>) {
	const now = T0 + SENDS * 60 + 30 * DAY;
	const count = await time(baseline);
	const funnel = await time(() => buildCampaignReport(store, { campaignId: CAMPAIGN, now }));
	const full = await time(() =>
		buildCampaignReport(store, { campaignId: CAMPAIGN, conversion, now }),
	);
	console.log(
		`${label}: report with conversions ${full.seconds.toFixed(2)} s, funnel only ${funnel.seconds.toFixed(2)} s; baseline count(*) of the campaign's ${count.result.toLocaleString('en-US')} sends ${count.seconds.toFixed(2)} s`,
	);
	return full.result;
}

async function sqlite(): Promise<void> {
	const folder = mkdtempSync(join(tmpdir(), 'tc-bench-report-'));
	try {
		const filePath = join(folder, 'store.sqlite');
		const store = new SqliteCampaignStore({ filePath });
		const db = new DatabaseSync(filePath);
		const seeding = await time(async () => {
			db.exec('BEGIN');
			for (const statement of seedStatements(
				`(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${SENDS - 1}) SELECT i FROM n)`,
				(cart) => `json_object('cart_id', ${cart})`,
			))
				db.exec(statement);
			db.exec('COMMIT');
		});
		console.log(
			`SQLite: seeded ${SENDS.toLocaleString('en-US')} sends in ${seeding.seconds.toFixed(1)} s`,
		);
		const report = await measure('SQLite', store, async () => {
			const row = db
				.prepare('SELECT count(*) AS n FROM sends WHERE campaign_id = ?')
				.get(CAMPAIGN) as { n: number };
			return row.n;
		});
		console.log(formatReportTable(report));
		db.close();
		await store.close();
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

async function postgres(): Promise<void> {
	const schema =
		process.env.BENCH_SCHEMA ?? `tc_bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
	const admin = new Pool({ ...testConnection, max: 1 });
	const store = await openPostgresStore({ connection: testConnection, schema, poolMax: 2 });
	const s = `"${schema}"`;
	try {
		const seeded = await admin.query(`SELECT count(*) AS n FROM ${s}.sends`);
		if (Number(seeded.rows[0].n) === 0) {
			const seeding = await time(async () => {
				const client = await admin.connect();
				try {
					await client.query(`SET search_path TO ${s}`);
					for (const statement of seedStatements(
						`generate_series(0, ${SENDS - 1}) AS g(i)`,
						(cart) => `jsonb_build_object('cart_id', ${cart})`,
					))
						await client.query(statement);
				} finally {
					client.release();
				}
			});
			console.log(
				`PostgreSQL: seeded ${SENDS.toLocaleString('en-US')} sends in ${seeding.seconds.toFixed(1)} s`,
			);
		}
		const baseline = async () => {
			const { rows } = await admin.query<{ n: string }>(
				`SELECT count(*) AS n FROM ${s}.sends WHERE campaign_id = $1`,
				[CAMPAIGN],
			);
			return Number(rows[0].n);
		};
		if (!process.env.BENCH_SCHEMA)
			await measure('PostgreSQL, fresh (no statistics)', store, baseline);
		for (const table of ['events', 'campaign_entries', 'sends', 'cap_decisions'])
			await admin.query(`ANALYZE ${s}.${table}`);
		const report = await measure('PostgreSQL, after ANALYZE', store, baseline);
		console.log(formatReportTable(report));
	} finally {
		await store.close();
		// BENCH_SCHEMA keeps the seeded schema for another run.
		if (!process.env.BENCH_SCHEMA) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
		await admin.end();
	}
}

async function main(): Promise<void> {
	if (STORES.includes('sqlite')) await sqlite();
	if (STORES.includes('postgres')) await postgres();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
