import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Pool } from 'pg';

import {
	buildTimeline,
	compareDecisions,
	openPostgresStore,
	SqliteCampaignStore,
	type CampaignStore,
	type ConversionRule,
} from '../../src';
import {
	findViolations,
	runSimulation,
	ZONES,
	type LoggedDecision,
	type SimulationReport,
} from './campaign-simulator';
import { testConnection } from '../support/postgres';

/**
 * The campaign steps over a month of random behaviour: 2,000 users in 12 time zones,
 * through three DST changes (New York 8 March, Berlin 29 March, Sydney and Adelaide 5 April).
 */
const OPTIONS = {
	users: 2000,
	days: 32,
	start: Date.parse('2026-03-05T00:00:00Z'),
	tickMs: 30 * 60_000,
	seed: 20261123,
};

function expectSoundReport(report: SimulationReport): void {
	expect(findViolations(report)).toEqual([]);
	// The run must have exercised every path, or the invariants prove little.
	expect(new Set(report.zoneOf.values()).size).toBe(ZONES.length);
	expect(report.events.length).toBeGreaterThan(50_000);
	expect(report.sent.length).toBeGreaterThan(1_000);
	expect(report.exited).toBeGreaterThan(100);
	expect(report.capped).toBeGreaterThan(100);
	expect(report.deferred).toBeGreaterThan(100);
	expect(report.reRunsSkipped).toBeGreaterThan(5);
	expect(report.crashedThenRetried).toBeGreaterThan(5);
	// Everyone went through the store's schedule; crashed executions' users came back by lease.
	expect(report.releases.length).toBeGreaterThan(report.entries);
	expect(report.releases.some((release) => release.attempt > 1)).toBe(true);
	const firstClaims = report.releases.filter((release) => release.attempt === 1);
	const latest = firstClaims.reduce(
		(most, release) => Math.max(most, release.releasedAt - release.dueAt),
		0,
	);
	console.log(
		`${report.releases.length} releases from the schedule; on a first claim at most ${latest / 60_000} min after due (claims every ${report.claimIntervalMs / 60_000} min)`,
	);
	console.log(
		`${report.users} users, ${report.days} days: ${report.events.length} events, ${report.entries} entries, ` +
			`${report.decisions} cap decisions, ${report.sent.length} sent, ${report.exited} exited, ` +
			`${report.capped} capped, ${report.deferred} deferred, ${report.reRunsSkipped} re-runs skipped, ` +
			`${report.crashedThenRetried} crashed and retried`,
	);
}

const WEEK = 7 * 24 * 60 * 60_000;
/** The cart that was abandoned is the one bought, within three days of the message. */
const BOUGHT_THE_CART: ConversionRule = {
	eventNames: ['Order Completed'],
	matchProperty: 'cart_id',
	windowMs: 3 * 24 * 60 * 60_000,
	windowFrom: 'send',
};

type Comparable = Omit<LoggedDecision, 'kind'> & {
	kind: LoggedDecision['kind'] | 'converted' | 'eventRecorded';
};

/**
 * What the simulator recorded for a user, and the conversions its own events give under the
 * rule (computed here, independently of the store's SQL), in the timeline's order.
 */
function expectedFor(report: SimulationReport, userId: string, now: number): Comparable[] {
	const expected: Comparable[] = [...(report.log.get(userId) ?? [])];
	const events = report.events.filter((e) => e.userId === userId);
	for (const e of events)
		expected.push({ kind: 'eventRecorded', campaignId: '', entryId: e.name, at: e.occurredAt });
	for (const sent of report.sent.filter((m) => m.userId === userId)) {
		const end = Math.min(sent.sentAt + BOUGHT_THE_CART.windowMs, now);
		const first = events
			.filter(
				(e) =>
					e.name === 'Order Completed' &&
					e.occurredAt > sent.sentAt &&
					e.occurredAt <= end &&
					(sent.cartId === undefined || e.properties.cart_id === sent.cartId),
			)
			.sort((a, b) => a.occurredAt - b.occurredAt)[0];
		if (first)
			expected.push({
				kind: 'converted',
				campaignId: sent.campaignId,
				entryId: sent.entryId,
				at: first.occurredAt,
			});
	}
	return expected.sort(compareDecisions);
}

/**
 * The timelines of a sample of users match, decision by decision, what the simulator recorded.
 * The schedule prunes rows finished a week before: older delays and deferrals may be gone, so
 * those must only be true ones.
 */
async function expectTimelinesMatch(store: CampaignStore, report: SimulationReport, end: number) {
	const sample = Array.from({ length: 20 }, (_, i) => `user-${i * 100 + 7}`);
	let compared = 0;
	const started = Date.now();
	for (const userId of sample) {
		const records = await store.readUserRecords({ userId, conversion: BOUGHT_THE_CART, now: end });
		const timeline = buildTimeline(records, BOUGHT_THE_CART);
		const actual: Comparable[] = timeline.decisions
			.filter((d) => d.kind !== 'reserved')
			.map((d) => {
				const base = {
					kind: d.kind as Comparable['kind'],
					campaignId: d.kind === 'eventRecorded' ? '' : d.campaignId,
					entryId: d.kind === 'eventRecorded' ? d.event : (d.entryId ?? ''),
					at: d.at,
				};
				if (d.kind === 'delayed' || d.kind === 'deferred') return { ...base, until: d.until };
				if (d.kind === 'capped') return { ...base, decision: d.decision, rules: d.rules };
				return base;
			});
		const scheduled = (d: Comparable) => d.kind === 'delayed' || d.kind === 'deferred';
		const expected = expectedFor(report, userId, end);
		// Delays and deferrals older than a week may have been pruned; every one shown is true.
		expect(actual.filter(scheduled)).toEqual(expect.arrayContaining(actual.filter(scheduled)));
		for (const shown of actual.filter(scheduled)) expect(expected).toContainEqual(shown);
		const kept = (d: Comparable) => !scheduled(d) || d.at >= end - WEEK;
		expect({ userId, decisions: actual.filter(kept) }).toEqual({
			userId,
			decisions: expected.filter(kept),
		});
		compared += expected.filter((d) => kept(d) && d.kind !== 'eventRecorded').length;
	}
	console.log(
		`timelines of ${sample.length} users match the simulator's log: ${compared} decisions, read in ${Date.now() - started} ms`,
	);
	expect(compared).toBeGreaterThan(100);
}

describe('campaign simulator', () => {
	it('keeps every promise on SQLite', async () => {
		const folder = mkdtempSync(join(tmpdir(), 'tc-sim-'));
		const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
		try {
			const report = await runSimulation(store, OPTIONS);
			expectSoundReport(report);
			await expectTimelinesMatch(store, report, OPTIONS.start + OPTIONS.days * 24 * 60 * 60_000);
		} finally {
			await store.close();
			rmSync(folder, { recursive: true, force: true });
		}
	}, 300_000);

	it('keeps every promise on PostgreSQL', async () => {
		const connection = testConnection;
		const schema = `tc_sim_${randomUUID().slice(0, 8)}`;
		const store: CampaignStore = await openPostgresStore({ connection, schema });
		const pool = new Pool(connection);
		// The test server runs with autovacuum off; a production PostgreSQL vacuums the
		// update-heavy schedule by itself. Without it, a month of claims leaves ten dead rows
		// per live one and every claim slows down: do once a simulated day what autovacuum does.
		const vacuum = async () => void (await pool.query(`VACUUM ${schema}.scheduled_steps`));
		try {
			const report = await runSimulation(store, { ...OPTIONS, everyDay: vacuum });
			expectSoundReport(report);
			await expectTimelinesMatch(store, report, OPTIONS.start + OPTIONS.days * 24 * 60 * 60_000);
		} finally {
			await store.close();
			await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
			await pool.end();
		}
	}, 600_000);
});
