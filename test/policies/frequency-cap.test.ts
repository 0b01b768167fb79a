import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	applyFrequencyCap,
	buildReservation,
	decide,
	earliestAllowedAt,
	MIN_GAP_RULE,
	QUIET_HOURS_RULE,
	quietHoursToWindow,
	validateFrequencyPolicy,
	type CapRequest,
	type FrequencyPolicy,
	type LimitUsage,
	type SendRecord,
	type SendReservationRequest,
} from '../../src';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);

const policy = (overrides: Partial<FrequencyPolicy> = {}): FrequencyPolicy => ({
	rules: [
		{
			id: 'week',
			limit: 3,
			window: { kind: 'rolling', ms: 7 * DAY },
			scope: { kind: 'all' },
			channel: 'any',
		},
		{
			id: 'day',
			limit: 1,
			window: { kind: 'calendar', unit: 'day' },
			scope: { kind: 'tag', tag: 'promo' },
			channel: 'this',
		},
	],
	outsideWindow: 'defer',
	important: false,
	importantCounts: true,
	reservationTtlMs: HOUR,
	...overrides,
});

const request = (overrides: Partial<CapRequest> = {}): CapRequest => ({
	idempotencyKey: 'cart:entry-1:step-1',
	campaignId: 'cart',
	stepId: 'step-1',
	entryId: 'entry-1',
	userId: 'ana',
	channel: 'in_app',
	tags: ['promo'],
	timeZone: 'Asia/Kolkata',
	now: at('2026-03-10T10:00:00Z'), // 15:30 in Kolkata
	...overrides,
});

const usage = (ruleId: string, countedAt: number[], limit: number): LimitUsage => ({
	ruleId,
	count: countedAt.length,
	limit,
	countedAt,
});

describe('buildReservation', () => {
	it('turns every rule into a store limit with its window start in the user zone', () => {
		const reservation = buildReservation(
			policy({ minGap: { ms: 30 * MINUTE, channel: 'this' } }),
			request(),
		);
		expect(reservation.limits).toEqual([
			{
				ruleId: 'week',
				// (now − 7 days, now]: a send exactly a week ago no longer counts.
				since: at('2026-03-03T10:00:00Z') + 1,
				limit: 3,
				campaignId: undefined,
				tag: undefined,
				channel: undefined,
			},
			// Calendar day in Kolkata (+05:30) starts 2026-03-10T00:00+05:30.
			{
				ruleId: 'day',
				since: at('2026-03-09T18:30:00Z'),
				limit: 1,
				campaignId: undefined,
				tag: 'promo',
				channel: 'in_app',
			},
		]);
		expect(reservation.minGap).toEqual({
			ruleId: MIN_GAP_RULE,
			gapMs: 30 * MINUTE,
			channel: 'in_app',
		});
		expect(reservation.expiresAt).toBe(request().now + HOUR);
		expect(reservation.countsTowardCap).toBe(true);
	});

	it('lets an important message skip rules and gap, and says whether it counts', () => {
		const reservation = buildReservation(
			policy({ important: true, importantCounts: false, minGap: { ms: MINUTE, channel: 'any' } }),
			request(),
		);
		expect(reservation.limits).toEqual([]);
		expect(reservation.minGap).toBeUndefined();
		expect(reservation.countsTowardCap).toBe(false);
	});
});

describe('earliestAllowedAt', () => {
	it('frees a rolling slot at exactly the oldest needed send + the window', () => {
		const sends = [
			at('2026-03-04T08:00:00Z'),
			at('2026-03-06T08:00:00Z'),
			at('2026-03-09T08:00:00Z'),
		];
		const earliest = earliestAllowedAt(policy(), request(), ['week'], [usage('week', sends, 3)]);
		expect(earliest).toBe(at('2026-03-11T08:00:00Z'));
	});

	it('waits for the next local calendar day, then for the delivery window', () => {
		const quiet = policy({ deliveryWindow: quietHoursToWindow('21:00', '09:00', []) });
		// Next Kolkata day starts 18:30Z, inside quiet hours until 09:00 local = 03:30Z.
		expect(
			earliestAllowedAt(quiet, request(), ['day'], [usage('day', [request().now - HOUR], 1)]),
		).toBe(at('2026-03-11T03:30:00Z'));
	});

	it('takes the latest of several refusals and the minimum gap', () => {
		const gap = policy({ minGap: { ms: 2 * HOUR, channel: 'any' } });
		const last = request().now - 30 * MINUTE;
		expect(earliestAllowedAt(gap, request(), [MIN_GAP_RULE], [], last)).toBe(last + 2 * HOUR);
	});

	it('is null when the next allowed time is after the campaign ends', () => {
		const ending = policy({ campaignEndsAt: at('2026-03-10T12:00:00Z') });
		expect(
			earliestAllowedAt(ending, request(), ['day'], [usage('day', [request().now], 1)]),
		).toBeNull();
	});
});

describe('decide', () => {
	const send: SendRecord = {
		idempotencyKey: 'cart:entry-1:step-1',
		campaignId: 'cart',
		stepId: 'step-1',
		userId: 'ana',
		channel: 'in_app',
		tags: ['promo'],
		state: 'reserved',
		reservedAt: request().now,
		countsTowardCap: true,
	};

	it('allows a reserved slot and a re-run of the same step', () => {
		expect(
			decide(policy(), request(), { outcome: 'reserved', send, usage: [] }, false),
		).toMatchObject({
			decision: 'allowed',
			alreadyReserved: false,
		});
		expect(decide(policy(), request(), { outcome: 'duplicate', send }, false)).toMatchObject({
			decision: 'allowed',
			alreadyReserved: true,
		});
	});

	it('caps with the rule, the counts and the next allowed time', () => {
		const sends = [request().now - 5 * DAY, request().now - 2 * DAY, request().now - DAY];
		const result = decide(
			policy(),
			request(),
			{ outcome: 'capped', violated: ['week'], usage: [usage('week', sends, 3)] },
			false,
		);
		expect(result).toEqual({
			decision: 'capped',
			rules: ['week'],
			reason: `rule week: 3 of 3 messages already (next allowed at ${new Date(sends[0] + 7 * DAY).toISOString()})`,
			earliestAllowedAt: sends[0] + 7 * DAY,
			usage: [usage('week', sends, 3)],
		});
	});

	it('defers inside quiet hours to the window opening, or drops when told to', () => {
		const night = request({ now: at('2026-03-10T17:00:00Z') }); // 22:30 in Kolkata
		const quiet = policy({ deliveryWindow: quietHoursToWindow('21:00', '09:00', []) });
		const available = { outcome: 'available' as const, usage: [] };
		expect(decide(quiet, night, available, true)).toMatchObject({
			decision: 'deferred',
			rules: [QUIET_HOURS_RULE],
			earliestAllowedAt: at('2026-03-11T03:30:00Z'),
		});
		expect(decide({ ...quiet, outsideWindow: 'drop' }, night, available, true)).toMatchObject({
			decision: 'capped',
			rules: [QUIET_HOURS_RULE],
		});
	});
});

describe('validateFrequencyPolicy', () => {
	it('names the field that cannot work', () => {
		const bad = policy();
		bad.rules[0].limit = 0;
		expect(() => validateFrequencyPolicy(bad)).toThrow(
			'rules[0].limit: must be a whole number of at least 1 (got 0).',
		);
		const noTag = policy();
		noTag.rules[1].scope = { kind: 'tag', tag: ' ' };
		expect(() => validateFrequencyPolicy(noTag)).toThrow(/rules\[1\]\.tag: is empty/);
	});
});

describe('applyFrequencyCap', () => {
	const folder = mkdtempSync(join(tmpdir(), 'tc-apply-cap-'));
	const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
	afterAll(async () => {
		await store.close();
		rmSync(folder, { recursive: true, force: true });
	});

	it('refuses after the campaign end, only checks inside quiet hours, reserves the rest: one store call, in order', async () => {
		const calls: SendReservationRequest[][] = [];
		const counting = {
			reserveSends: async (requests: SendReservationRequest[]) => {
				calls.push(requests);
				return await store.reserveSends(requests);
			},
		};
		const capPolicy = policy({
			deliveryWindow: quietHoursToWindow('21:00', '08:00'),
			campaignEndsAt: at('2026-03-11T00:00:00Z'),
		});
		const ended = request({
			idempotencyKey: 'cart:e-ended:cap',
			entryId: 'e-ended',
			userId: 'late',
			now: at('2026-03-11T00:00:00Z'),
		});
		// 10:00Z is 03:00 in Los Angeles: inside quiet hours.
		const asleep = request({
			idempotencyKey: 'cart:e-asleep:cap',
			entryId: 'e-asleep',
			userId: 'asleep',
			timeZone: 'America/Los_Angeles',
		});
		const awake = request({
			idempotencyKey: 'cart:e-awake:cap',
			entryId: 'e-awake',
			userId: 'awake',
		});

		const [first, second, third] = await applyFrequencyCap(counting, capPolicy, [
			ended,
			asleep,
			awake,
		]);
		expect(first).toMatchObject({
			decision: 'capped',
			rules: ['campaignEnded'],
			earliestAllowedAt: null,
		});
		expect(second).toMatchObject({
			decision: 'deferred',
			rules: [QUIET_HOURS_RULE],
			earliestAllowedAt: at('2026-03-10T15:00:00Z'), // 08:00 in Los Angeles (PDT)
		});
		expect(third).toMatchObject({ decision: 'allowed', alreadyReserved: false });
		expect(calls.map((batch) => batch.map((r) => [r.userId, r.checkOnly ?? false]))).toEqual([
			[
				['asleep', true],
				['awake', false],
			],
		]);
		expect(await store.getSend('cart:e-ended:cap')).toBeUndefined();
		expect(await store.getSend('cart:e-asleep:cap')).toBeUndefined();
		expect(await store.getSend('cart:e-awake:cap')).toMatchObject({ state: 'reserved' });
	});

	it('does not call the store when the campaign end refuses everyone', async () => {
		const noStore = {
			reserveSends: async (): Promise<never> => {
				throw new Error('the store was called');
			},
		};
		const decisions = await applyFrequencyCap(
			noStore,
			policy({ campaignEndsAt: at('2026-03-10T00:00:00Z') }),
			[request()],
		);
		expect(decisions).toMatchObject([{ decision: 'capped', rules: ['campaignEnded'] }]);
	});
});
