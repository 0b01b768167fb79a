import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	resumedItemJson,
	startResumeLoop,
	type ClaimedStep,
	type ResumeLoop,
	type ResumeLoopOptions,
	type ScheduleStepRequest,
} from '../../src';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';

const folder = mkdtempSync(join(tmpdir(), 'tc-resume-loop-'));
const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
afterAll(async () => {
	await store.close();
	rmSync(folder, { recursive: true, force: true });
});

let campaignCounter = 0;
const loops: ResumeLoop[] = [];
afterEach(async () => {
	await Promise.all(loops.splice(0).map(async (loop) => await loop.stop()));
});

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

/** Rows of a fresh campaign, user `u<i>` due at `dueAt(i)`. */
function rows(count: number, dueAt: (i: number) => number) {
	const campaignId = `loop-${++campaignCounter}`;
	const requests: ScheduleStepRequest[] = Array.from({ length: count }, (_, i) => ({
		campaignId,
		stepId: 'after-delay',
		entryId: `${campaignId}-e${i}`,
		userId: `u${i}`,
		dueAt: dueAt(i),
		payload: { userId: `u${i}`, campaignId, entryId: `${campaignId}-e${i}` },
	}));
	return { campaignId, requests };
}

interface Emission {
	at: number;
	steps: ClaimedStep[];
}

function loopFor(
	campaignId: string,
	run: (steps: ClaimedStep[]) => Promise<void>,
	overrides: Partial<ResumeLoopOptions> = {},
): ResumeLoop {
	const loop = startResumeLoop({
		store: async () => store,
		campaignId,
		resumePoint: 'after-delay',
		batchSize: 100,
		pollMs: 200,
		leaseMs: 5_000,
		maxInFlight: 2,
		run,
		...overrides,
	});
	loops.push(loop);
	return loop;
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await sleep(20);
	}
}

/** Waits until no row of the campaign is open: every emitted user was marked done. */
async function untilDone(campaignId: string): Promise<void> {
	const deadline = Date.now() + 10_000;
	while ((await store.nextScheduledDueAt({ campaignId, stepId: 'after-delay' })) !== undefined) {
		if (Date.now() > deadline) throw new Error(`rows of ${campaignId} still open`);
		await sleep(20);
	}
}

describe('resume loop', () => {
	it('releases each user at their own time, never early, and marks them done', async () => {
		const start = Date.now();
		// Due in the reverse of their scheduling order, 150 ms apart.
		const { campaignId, requests } = rows(6, (i) => start + 900 - i * 150);
		await store.scheduleSteps(requests, start);
		const emissions: Emission[] = [];
		loopFor(campaignId, async (steps) => {
			emissions.push({ at: Date.now(), steps });
		});
		await until(() => emissions.flatMap((e) => e.steps).length === 6);
		const released = emissions.flatMap(({ at, steps }) => steps.map((s) => ({ at, s })));
		// Nobody early (how late, under load, is what test:e2e and the benchmarks measure).
		for (const { at, s } of released) expect(at).toBeGreaterThanOrEqual(s.dueAt);
		expect(released.map(({ s }) => s.userId)).toEqual(['u5', 'u4', 'u3', 'u2', 'u1', 'u0']);
		await untilDone(campaignId);
	});

	it('emits due users in pages of the batch size, one execution each', async () => {
		const start = Date.now();
		const { campaignId, requests } = rows(25, () => start - 1000);
		await store.scheduleSteps(requests, start);
		const sizes: number[] = [];
		loopFor(campaignId, async (steps) => void sizes.push(steps.length), {
			batchSize: 10,
			maxInFlight: 1,
		});
		await until(() => sizes.reduce((a, b) => a + b, 0) === 25);
		expect(sizes).toEqual([10, 10, 5]);
	});

	it('gives back the users of an execution that could not start, and emits them again', async () => {
		const start = Date.now();
		const { campaignId, requests } = rows(2, () => start - 1000);
		await store.scheduleSteps(requests, start);
		const attempts: number[][] = [];
		loopFor(campaignId, async (steps) => {
			attempts.push(steps.map((s) => s.attempts));
			if (attempts.length === 1) throw new Error('n8n refused the execution');
		});
		await until(() => attempts.length === 2);
		expect(attempts).toEqual([
			[1, 1],
			[2, 2],
		]);
	});

	it('takes over the users a dead process had claimed once its lease ran out', async () => {
		const start = Date.now();
		const { campaignId, requests } = rows(3, () => start - 60_000);
		await store.scheduleSteps(requests, start - 60_000);
		// A process claimed them 40 s ago with a 30 s lease and died.
		const dead = await store.claimDueSteps({
			campaignId,
			stepId: 'after-delay',
			now: start - 40_000,
			limit: 10,
			leaseMs: 30_000,
		});
		expect(dead).toHaveLength(3);
		const emitted: ClaimedStep[] = [];
		loopFor(campaignId, async (steps) => void emitted.push(...steps));
		await until(() => emitted.length === 3);
		expect(emitted.map((s) => s.attempts)).toEqual([2, 2, 2]);
		// The dead claimer's late completion changes nothing.
		expect(
			await store.completeSteps(
				dead.map(({ id, claimToken }) => ({ id, claimToken })),
				start,
			),
		).toBe(0);
	});

	it('keeps the users of a long execution its own by renewing their lease', async () => {
		const start = Date.now();
		const { campaignId, requests } = rows(1, () => start - 1000);
		await store.scheduleSteps(requests, start);
		let finish: () => void = () => undefined;
		const running = new Promise<void>((resolve) => (finish = resolve));
		let runs = 0;
		loopFor(campaignId, async () => {
			runs++;
			await running;
		});
		await until(() => runs === 1);
		// Past the first lease (5 s), another process finds nothing to take.
		await sleep(5_600);
		expect(
			await store.claimDueSteps({
				campaignId,
				stepId: 'after-delay',
				now: Date.now(),
				limit: 10,
				leaseMs: 5_000,
			}),
		).toEqual([]);
		finish();
		await untilDone(campaignId);
		expect(runs).toBe(1);
	}, 15_000);

	it('refuses settings that cannot work, naming the setting', () => {
		const base = {
			store: async () => store,
			campaignId: 'c',
			resumePoint: 'p',
			batchSize: 10,
			pollMs: 1000,
			leaseMs: 30_000,
			maxInFlight: 1,
			run: async () => undefined,
		};
		expect(() => startResumeLoop({ ...base, resumePoint: ' ' })).toThrow(/^resumePoint: is empty/);
		expect(() => startResumeLoop({ ...base, batchSize: 0 })).toThrow(/^batchSize: must be/);
		expect(() => startResumeLoop({ ...base, pollMs: 10 })).toThrow(/^pollMs: must be at least 100/);
		expect(() => startResumeLoop({ ...base, leaseMs: 10 })).toThrow(/^leaseMs: must be at least/);
	});

	it('hands on the scheduled item with when and how late it resumed', () => {
		const step: ClaimedStep = {
			id: '7',
			campaignId: 'c',
			stepId: 'after-delay',
			entryId: 'e',
			userId: 'u',
			dueAt: Date.parse('2026-03-01T09:00:00Z'),
			payload: { userId: 'u', delay: { resumeAt: '2026-03-01T09:00:00.000Z' } },
			attempts: 1,
			claimToken: 't',
			leaseUntil: 0,
			scheduledAt: 0,
		};
		expect(resumedItemJson(step, Date.parse('2026-03-01T09:00:01.250Z'))).toEqual({
			userId: 'u',
			delay: { resumeAt: '2026-03-01T09:00:00.000Z' },
			resume: {
				point: 'after-delay',
				dueAt: '2026-03-01T09:00:00.000Z',
				resumedAt: '2026-03-01T09:00:01.250Z',
				lateByMs: 1250,
				attempt: 1,
				scheduleId: '7',
			},
		});
	});
});
