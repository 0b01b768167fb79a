import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { Pool } from 'pg';

import type { SendCountLimit } from '../../src/store/campaign-store';
import { openPostgresStore } from '../../src/store/postgres/postgres-store';
import { RULES, type Decision, type WorkerMessage, type WorkerTask } from './reserve-worker';
import { testConnection } from '../support/postgres';

const connection = testConnection;

const WORKERS = 8;
const DECISIONS = 600;
const T0 = Date.parse('2026-03-01T00:00:00Z');
/** 4,800 decisions over about 8 fake hours: the windows roll several times. */
const TICK_MS = 6_000;

const admin = new Pool({ ...connection, max: 1 });
const schema = `tc_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
afterAll(async () => {
	await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	await admin.end();
});

interface SendRowOut {
	idempotency_key: string;
	user_id: string;
	campaign_id: string;
	channel: string;
	tags: string[];
	state: string;
	reserved_at: string;
	counts_toward_cap: boolean;
}

/** Starts the workers, lets them go at once, and collects their decisions. */
async function runWorkers(task: Omit<WorkerTask, 'worker'>): Promise<Decision[]> {
	const children = Array.from({ length: WORKERS }, () =>
		fork(join(__dirname, 'reserve-worker.ts'), [], {
			execArgv: ['--import', 'tsx'],
			cwd: join(__dirname, '..', '..'),
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		}),
	);
	const exits = children.map(
		(child) =>
			new Promise<void>((resolve, reject) =>
				child.once('exit', (code) =>
					code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`)),
				),
			),
	);
	const message = (child: (typeof children)[number], type: WorkerMessage['type']) =>
		new Promise<WorkerMessage>((resolve) =>
			child.on('message', (m: WorkerMessage) => m.type === type && resolve(m)),
		);
	const ready = children.map((child) => message(child, 'ready'));
	const done = children.map((child) => message(child, 'done'));
	children.forEach((child, worker) => child.send({ ...task, worker } satisfies WorkerTask));
	await Promise.race([Promise.all(ready), Promise.all(exits)]);
	for (const child of children) child.send('go');
	const results = await Promise.race([Promise.all(done), Promise.all(exits).then(() => [])]);
	await Promise.all(exits);
	return results.flatMap((m) => (m.type === 'done' ? m.decisions : []));
}

/** The largest number of `times` (sorted) in any closed interval of length `windowMs`. */
function mostInWindow(times: number[], windowMs: number): number {
	let most = 0;
	let start = 0;
	for (let end = 0; end < times.length; end++) {
		while (times[end] - times[start] > windowMs) start++;
		most = Math.max(most, end - start + 1);
	}
	return most;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
	const groups = new Map<string, T[]>();
	for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
	return groups;
}

describe('PostgreSQL store: frequency caps across processes', () => {
	it(`keeps every cap with ${WORKERS} worker processes making ${DECISIONS} decisions each for the same 50 users`, async () => {
		const store = await openPostgresStore({ connection, schema, poolMax: 1 });
		await store.close();
		await admin.query(`CREATE SEQUENCE "${schema}".fake_clock`);
		const users = Array.from({ length: 50 }, (_, i) => `user-${i}`);

		const started = Date.now();
		const decisions = await runWorkers({
			connection,
			schema,
			decisions: DECISIONS,
			users,
			campaigns: ['welcome', 'cart', 'winback'],
			t0: T0,
			tickMs: TICK_MS,
		});
		const seconds = (Date.now() - started) / 1000;
		expect(decisions).toHaveLength(WORKERS * DECISIONS);

		const { rows } = await admin.query<SendRowOut>(
			`SELECT idempotency_key, user_id, campaign_id, channel, tags, state, reserved_at, counts_toward_cap
			 FROM "${schema}".sends`,
		);
		const count = (outcome: Decision['outcome']) =>
			decisions.filter((d) => d.outcome === outcome).length;
		console.log(
			`${decisions.length} decisions by ${WORKERS} processes in ${seconds.toFixed(1)} s ` +
				`(with start-up): ${count('reserved')} reserved, ${count('capped')} capped, ` +
				`${count('available')} available, ${count('duplicate')} duplicates; ${rows.length} rows`,
		);

		// No cap exceeded in any window, by the sends as the database holds them.
		const counted = rows
			.filter((row) => row.state === 'sent' && row.counts_toward_cap)
			.map((row) => ({ ...row, at: Number(row.reserved_at) }))
			.sort((a, b) => a.at - b.at);
		const worst = (groups: Map<string, Array<{ at: number }>>, windowMs: number) =>
			Math.max(
				0,
				...[...groups.values()].map((g) =>
					mostInWindow(
						g.map((s) => s.at),
						windowMs,
					),
				),
			);
		const { perHour, perCampaign, promo, smsGap } = RULES;
		expect(
			worst(
				groupBy(counted, (s) => s.user_id),
				perHour.windowMs,
			),
		).toBe(perHour.limit);
		expect(
			worst(
				groupBy(counted, (s) => `${s.user_id} ${s.campaign_id}`),
				perCampaign.windowMs,
			),
		).toBe(perCampaign.limit);
		const promoSends = counted.filter((s) => s.tags.includes(promo.tag));
		expect(
			worst(
				groupBy(promoSends, (s) => s.user_id),
				promo.windowMs,
			),
		).toBe(promo.limit);
		for (const sms of groupBy(
			counted.filter((s) => s.channel === smsGap.channel),
			(s) => s.user_id,
		).values()) {
			for (let i = 1; i < sms.length; i++) {
				expect(sms[i].at - sms[i - 1].at).toBeGreaterThanOrEqual(smsGap.gapMs);
			}
		}

		// Every reported reservation is a row, as its worker last left it; no row was invented.
		const reserved = decisions.filter((d) => d.outcome === 'reserved');
		const lastByKey = new Map(reserved.map((d) => [d.request.idempotencyKey, d]));
		expect(new Set(rows.map((row) => row.idempotency_key))).toEqual(new Set(lastByKey.keys()));
		const finalState = { sent: 'sent', released: 'released', abandoned: 'reserved' };
		for (const row of rows) {
			const last = lastByKey.get(row.idempotency_key)!;
			expect([row.user_id, Number(row.reserved_at), row.state]).toEqual([
				last.request.userId,
				last.request.now,
				finalState[last.action!],
			]);
		}
		// A shared key was reserved by one worker at most.
		const sharedReservations = groupBy(
			reserved.filter((d) => d.request.idempotencyKey.startsWith('shared-')),
			(d) => d.request.idempotencyKey,
		);
		expect(sharedReservations.size).toBeGreaterThan(0);
		for (const group of sharedReservations.values()) expect(group).toHaveLength(1);
		expect(count('duplicate')).toBeGreaterThan(0);

		// A check alone wrote nothing and found room under every limit.
		const available = decisions.filter((d) => d.outcome === 'available');
		expect(available.length).toBeGreaterThan(0);
		const keys = new Set(rows.map((row) => row.idempotency_key));
		for (const { request, usage = [] } of available) {
			expect(keys.has(request.idempotencyKey)).toBe(false);
			for (const used of usage) expect(used.count).toBeLessThan(used.limit);
		}

		// Every refusal is explained by reservations that were really made, in the rule's scope.
		const reservationsOf = groupBy(reserved, (d) => d.request.userId);
		const capped = decisions.filter((d) => d.outcome === 'capped');
		expect(capped.length).toBeGreaterThan(0);
		for (const decision of capped) {
			const { request, usage = [], violated = [] } = decision;
			const mine = reservationsOf.get(request.userId) ?? [];
			for (const ruleId of violated) {
				if (ruleId === smsGap.ruleId) {
					const last = decision.lastCountedAt!;
					expect(last).toBeGreaterThan(request.now - smsGap.gapMs);
					expect(mine.some((d) => d.request.now === last && d.request.channel === 'sms')).toBe(
						true,
					);
					continue;
				}
				const limit = request.limits.find((l) => l.ruleId === ruleId) as SendCountLimit;
				const used = usage.find((u) => u.ruleId === ruleId)!;
				expect(used.count).toBeGreaterThanOrEqual(limit.limit);
				expect(used.countedAt).toHaveLength(used.count);
				for (const at of used.countedAt) {
					expect(at).toBeGreaterThanOrEqual(limit.since);
					const match = mine.some(
						(d) =>
							d.request.now === at &&
							d.request.countsTowardCap &&
							(!limit.campaignId || d.request.campaignId === limit.campaignId) &&
							(!limit.tag || d.request.tags.includes(limit.tag)),
					);
					expect(match).toBe(true);
				}
			}
		}
	}, 90_000);
});
