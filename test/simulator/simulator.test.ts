import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Pool } from 'pg';

import { openPostgresStore, SqliteCampaignStore, type CampaignStore } from '../../src';
import { findViolations, runSimulation, ZONES, type SimulationReport } from './campaign-simulator';
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

describe('campaign simulator', () => {
	it('keeps every promise on SQLite', async () => {
		const folder = mkdtempSync(join(tmpdir(), 'tc-sim-'));
		const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
		try {
			expectSoundReport(await runSimulation(store, OPTIONS));
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
			expectSoundReport(await runSimulation(store, { ...OPTIONS, everyDay: vacuum }));
		} finally {
			await store.close();
			await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
			await pool.end();
		}
	}, 600_000);
});
