import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	buildReservation,
	decide,
	SqliteCampaignStore,
	type CapRequest,
	type FrequencyPolicy,
} from '../../src';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.parse('2026-03-10T10:00:00Z');

const folder = mkdtempSync(join(tmpdir(), 'tc-rolling-'));
const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
afterAll(async () => {
	await store.close();
	rmSync(folder, { recursive: true, force: true });
});

/** "At most 1 message per 24 hours", rolling. */
const oneADay: FrequencyPolicy = {
	rules: [
		{
			id: '1-per-24h',
			limit: 1,
			window: { kind: 'rolling', ms: DAY },
			scope: { kind: 'all' },
			channel: 'any',
		},
	],
	outsideWindow: 'defer',
	important: false,
	importantCounts: true,
	reservationTtlMs: HOUR,
};

const request = (userId: string, key: string, now: number): CapRequest => ({
	idempotencyKey: key,
	campaignId: 'c',
	stepId: 's',
	entryId: key,
	userId,
	channel: 'in_app',
	tags: [],
	timeZone: 'UTC',
	now,
});

async function capDecision(userId: string, key: string, now: number) {
	const cap = request(userId, key, now);
	const [result] = await store.reserveSends([buildReservation(oneADay, cap)]);
	return decide(oneADay, cap, result, false);
}

describe('a rolling window of length w at instant t is (t − w, t]', () => {
	it('no longer counts a send exactly w ago, and frees the slot at exactly the oldest send + w', async () => {
		const first = await capDecision('ana', 'k1', T);
		expect(first.decision).toBe('allowed');
		if (first.decision === 'allowed') await store.completeSend('k1', { state: 'sent', at: T });

		const justBefore = await capDecision('ana', 'k2', T + DAY - 1);
		expect(justBefore).toMatchObject({ decision: 'capped', earliestAllowedAt: T + DAY });

		const exactlyADayLater = await capDecision('ana', 'k3', T + DAY);
		expect(exactlyADayLater.decision).toBe('allowed');
	});
});
