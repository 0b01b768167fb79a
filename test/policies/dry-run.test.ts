import { randomUUID } from 'node:crypto';

import {
	dryRunCampaign,
	quietHoursToWindow,
	type DryRunRequest,
	type FrequencyPolicy,
} from '../../src';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// A Sunday, 12:00 UTC = 13:00 in Berlin.
const T0 = Date.parse('2026-03-01T12:00:00Z');

let store: SqliteCampaignStore;
beforeEach(() => {
	store = new SqliteCampaignStore({ filePath: ':memory:' });
});
afterEach(async () => {
	await store.close();
});

const capPolicy = (overrides: Partial<FrequencyPolicy> = {}): FrequencyPolicy => ({
	rules: [
		{
			id: '1',
			limit: 2,
			window: { kind: 'calendar', unit: 'day' },
			scope: { kind: 'all' },
			channel: 'any',
		},
	],
	outsideWindow: 'defer',
	important: false,
	importantCounts: true,
	reservationTtlMs: HOUR,
	...overrides,
});

function request(overrides: Partial<DryRunRequest> = {}): DryRunRequest {
	return {
		userId: 'u-1',
		event: { name: 'Cart Abandoned', properties: { cart_id: 'c-9', value: 120 } },
		trigger: {
			campaignId: 'cart',
			eventNames: ['Cart Abandoned'],
			propertyFilters: [{ property: 'value', operator: 'greaterThan', value: 50 }],
			reEntry: { mode: 'oncePerPeriod', periodMs: DAY },
		},
		now: T0,
		...overrides,
	};
}

async function enter(userId: string, occurredAt: number) {
	const result = await store.ingest({
		events: [
			{
				messageId: randomUUID(),
				userId,
				name: 'Cart Abandoned',
				occurredAt,
				receivedAt: occurredAt,
				properties: {},
			},
		],
		entry: { campaignId: 'cart', reEntry: { mode: 'everyTime' }, candidates: [0] },
		now: occurredAt,
	});
	return result.entries[0].entry;
}

async function sent(userId: string, at: number) {
	const key = `k-${randomUUID()}`;
	await store.reserveSends([
		{
			idempotencyKey: key,
			campaignId: 'other',
			stepId: 's',
			userId,
			channel: 'email',
			tags: [],
			now: at,
			expiresAt: at + HOUR,
			countsTowardCap: true,
			limits: [],
		},
	]);
	await store.completeSend(key, { state: 'sent', at });
}

describe('dry run: trigger', () => {
	it('says which property filter keeps the event out', async () => {
		const result = await dryRunCampaign(
			store,
			request({ event: { name: 'Cart Abandoned', properties: { value: 20 } } }),
		);
		expect(result.outcome).toBe('notEntered');
		expect(result.steps).toEqual([
			{
				step: 'trigger',
				entered: false,
				reason: expect.stringContaining('value'),
				event: { name: 'Cart Abandoned', occurredAt: new Date(T0).toISOString() },
			},
		]);
	});

	it('is outside the campaign window before the start', async () => {
		const result = await dryRunCampaign(
			store,
			request({ trigger: { ...request().trigger, startsAt: T0 + DAY } }),
		);
		expect(result.outcome).toBe('notEntered');
		expect(result.summary).toContain('the campaign starts at 2026-03-02T12:00:00.000Z');
	});

	it('names the entry that the re-entry rule counts against, and when the user is eligible again', async () => {
		const earlier = await enter('u-1', T0 - 2 * HOUR);
		const result = await dryRunCampaign(store, request());
		expect(result.outcome).toBe('notEntered');
		expect(result.steps[0]).toMatchObject({
			entered: false,
			blockingEntry: {
				entryId: earlier.entryId,
				triggeredAt: new Date(T0 - 2 * HOUR).toISOString(),
				state: 'active',
			},
			eligibleAgainAt: new Date(T0 + 22 * HOUR).toISOString(),
		});
		// An entry older than the period does not block.
		const later = await dryRunCampaign(store, request({ now: T0 + 22 * HOUR }));
		expect(later.steps[0]).toMatchObject({ entered: true });
	});

	it('never lets a user in again under "once ever"', async () => {
		await enter('u-1', T0 - 300 * DAY);
		const result = await dryRunCampaign(
			store,
			request({ trigger: { ...request().trigger, reEntry: { mode: 'once' } } }),
		);
		expect(result.steps[0]).toMatchObject({ entered: false, eligibleAgainAt: null });
	});
});

describe('dry run: delay and exception check', () => {
	it("resumes after the delay in the user's zone, and checks exceptions at that time", async () => {
		await store.upsertProfiles([{ userId: 'u-1', timeZone: 'Europe/Berlin' }], T0);
		const result = await dryRunCampaign(
			store,
			request({
				delay: { mode: 'afterEvent', amount: 1, unit: 'days' },
				exceptions: { exceptionEvents: ['Order Completed'], exitWhenUnsubscribed: true },
				send: { variants: [{ name: 'A', weight: 1 }], controlShare: 0 },
			}),
		);
		expect(result).toMatchObject({
			outcome: 'sends',
			timeZone: 'Europe/Berlin',
			timeZoneSource: 'profile',
		});
		expect(result.steps.map((step) => step.step)).toEqual([
			'trigger',
			'delay',
			'exceptionCheck',
			'send',
		]);
		expect(result.steps[1]).toEqual({
			step: 'delay',
			resumeAt: '2026-03-02T12:00:00.000Z',
			resumeAtLocal: '2026-03-02T13:00:00+01:00',
			timeZone: 'Europe/Berlin',
			timeZoneSource: 'profile',
		});
		expect(result.steps[2]).toMatchObject({
			exits: false,
			evaluatedAt: '2026-03-02T12:00:00.000Z',
		});
		expect(result.steps[3]).toEqual({
			step: 'send',
			variant: 'A',
			control: false,
			reason: 'the user falls in variant "A"',
		});
	});

	it('exits a user whose goal event for the same cart is already recorded since the trigger', async () => {
		await store.ingest({
			events: [
				{
					messageId: 'order-1',
					userId: 'u-1',
					name: 'Order Completed',
					occurredAt: T0 - 10 * MINUTE,
					receivedAt: T0 - 10 * MINUTE,
					properties: { cart_id: 'c-9' },
				},
			],
			now: T0,
		});
		const exceptions = {
			exceptionEvents: ['Order Completed'],
			matchProperty: 'cart_id',
			exitWhenUnsubscribed: true,
		};
		const event = {
			name: 'Cart Abandoned',
			properties: { cart_id: 'c-9', value: 120 },
			occurredAt: T0 - HOUR,
		};
		const result = await dryRunCampaign(store, request({ event, exceptions }));
		expect(result.outcome).toBe('exits');
		expect(result.steps[1]).toMatchObject({
			step: 'exceptionCheck',
			exits: true,
			reason: 'exceptionEvent',
			event: { name: 'Order Completed', messageId: 'order-1' },
		});
		// Another cart's order does not count.
		const otherCart = await dryRunCampaign(
			store,
			request({ event: { ...event, properties: { cart_id: 'c-10', value: 120 } }, exceptions }),
		);
		expect(otherCart.outcome).toBe('continues');
	});
});

describe('dry run: leaving before the message', () => {
	it('exits an unsubscribed user when the exception check says so', async () => {
		await store.upsertProfiles([{ userId: 'u-1', unsubscribed: true }], T0);
		const exceptions = { exceptionEvents: [], exitWhenUnsubscribed: true };
		const result = await dryRunCampaign(store, request({ exceptions }));
		expect(result.outcome).toBe('exits');
		expect(result.steps[1]).toMatchObject({ reason: 'unsubscribed' });
		const kept = await dryRunCampaign(
			store,
			request({ exceptions: { ...exceptions, exitWhenUnsubscribed: false } }),
		);
		expect(kept.outcome).toBe('continues');
	});

	it('judges the steps after the delay at its end: a campaign ended by then lets the user go', async () => {
		const campaignEndsAt = T0 + HOUR;
		const delay = { mode: 'afterEvent' as const, amount: 2, unit: 'hours' as const };
		const exits = await dryRunCampaign(
			store,
			request({
				delay,
				exceptions: { exceptionEvents: [], campaignEndsAt, exitWhenUnsubscribed: true },
			}),
		);
		expect(exits.outcome).toBe('exits');
		expect(exits.steps[2]).toMatchObject({
			evaluatedAt: new Date(T0 + 2 * HOUR).toISOString(),
			reason: 'campaignEnded',
		});
		const capped = await dryRunCampaign(
			store,
			request({
				delay,
				frequencyCap: { policy: capPolicy({ campaignEndsAt }), channel: 'email', tags: [] },
			}),
		);
		expect(capped.outcome).toBe('capped');
		expect(capped.steps[2]).toMatchObject({ rules: ['campaignEnded'], earliestAllowedAt: null });
	});
});

describe('dry run: frequency cap and send', () => {
	it('names the cap rule that refuses and the earliest allowed instant, counting the stored sends', async () => {
		await store.upsertProfiles([{ userId: 'u-1', timeZone: 'Europe/Berlin' }], T0);
		await sent('u-1', T0 - 2 * HOUR);
		await sent('u-1', T0 - HOUR);
		const result = await dryRunCampaign(
			store,
			request({ frequencyCap: { policy: capPolicy(), channel: 'email', tags: [] } }),
		);
		expect(result.outcome).toBe('capped');
		expect(result.steps[1]).toMatchObject({
			step: 'frequencyCap',
			decision: 'capped',
			rules: ['1'],
			// The next Berlin midnight.
			earliestAllowedAt: '2026-03-01T23:00:00.000Z',
			earliestAllowedAtLocal: '2026-03-02T00:00:00+01:00',
			usage: [{ ruleId: '1', count: 2, limit: 2 }],
		});
	});

	it("defers inside quiet hours in the user's zone to the window's opening", async () => {
		await store.upsertProfiles([{ userId: 'u-1', timeZone: 'America/New_York' }], T0);
		// 03:00 in New York (UTC-5).
		const now = Date.parse('2026-03-01T08:00:00Z');
		const result = await dryRunCampaign(
			store,
			request({
				now,
				frequencyCap: {
					policy: capPolicy({ deliveryWindow: quietHoursToWindow('21:00', '08:00') }),
					channel: 'email',
					tags: [],
				},
			}),
		);
		expect(result.outcome).toBe('deferred');
		expect(result.steps[1]).toMatchObject({
			decision: 'deferred',
			rules: ['quietHours'],
			earliestAllowedAtLocal: '2026-03-01T08:00:00-05:00',
		});
	});

	it('allows and picks the control group when the user falls in it', async () => {
		const result = await dryRunCampaign(
			store,
			request({
				frequencyCap: { policy: capPolicy(), channel: 'email', tags: [] },
				send: { variants: [{ name: 'A', weight: 1 }], controlShare: 1 },
			}),
		);
		expect(result.outcome).toBe('heldOutAsControl');
		expect(result.steps[1]).toMatchObject({ decision: 'allowed', rules: [] });
		expect(result.steps[2]).toMatchObject({ step: 'send', control: true, variant: null });
	});

	it("previews the chosen variant's subject and body for the user", async () => {
		await store.upsertProfiles([{ userId: 'u-1', attributes: { first_name: 'Ada' } }], T0);
		const result = await dryRunCampaign(
			store,
			request({
				send: {
					variants: [
						{
							name: 'A',
							weight: 1,
							subject: 'Your cart {{ event.properties.cart_id }}',
							body: 'Hi {{ user.first_name | default: "there" }}, variant {{ variant.name }}',
						},
					],
					controlShare: 0,
				},
			}),
		);
		expect(result.steps[1]).toMatchObject({
			variant: 'A',
			preview: { subject: 'Your cart c-9', body: 'Hi Ada, variant A' },
		});
		const plain = await dryRunCampaign(
			store,
			request({ send: { variants: [{ name: 'A', weight: 1 }], controlShare: 0 } }),
		);
		expect(plain.steps[1]).not.toHaveProperty('preview');
	});

	it('rejects an empty user id, naming the field', async () => {
		await expect(dryRunCampaign(store, request({ userId: ' ' }))).rejects.toThrow(/userId/);
	});
});
