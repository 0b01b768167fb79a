import { randomUUID } from 'node:crypto';

import { buildTimeline, exportUserData } from '../../src/report/timeline';
import type { CampaignEvent, CampaignStore, ConversionRule } from '../../src/store/campaign-store';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const unique = () => randomUUID().slice(0, 8);

function event(overrides: Partial<CampaignEvent> & { userId: string }): CampaignEvent {
	return {
		messageId: randomUUID(),
		name: 'Added to Cart',
		occurredAt: T0,
		receivedAt: T0,
		properties: {},
		...overrides,
	};
}

const BOUGHT_SAME_CART: ConversionRule = {
	eventNames: ['Order Completed'],
	matchProperty: 'cart_id',
	windowMs: 7 * DAY,
	windowFrom: 'send',
};
const BOUGHT: ConversionRule = { ...BOUGHT_SAME_CART, matchProperty: undefined };

/**
 * One user through a campaign: entered on a cart, delayed, deferred by quiet hours, sent, and
 * converted by buying the same cart; a second entry capped by the weekly rule and exited.
 */
async function oneUserThroughACampaign(store: CampaignStore, campaignId: string, userId: string) {
	const cart = event({
		userId,
		properties: { cart_id: `cart-${userId}`, value: 42 },
		occurredAt: T0,
	});
	const first = await store.ingest({
		events: [cart],
		entry: { campaignId, reEntry: { mode: 'everyTime' }, candidates: [0] },
		now: T0 + 1000,
	});
	const entry = first.entries[0].entry;
	await store.upsertProfiles(
		[{ userId, email: `${userId}@example.com`, timeZone: 'Europe/Berlin' }],
		T0,
	);
	const step = (dueAt: number) => ({
		campaignId,
		stepId: 'after-delay',
		entryId: entry.entryId,
		userId,
		dueAt,
		payload: { userId, campaignId, entryId: entry.entryId },
	});
	await store.scheduleSteps([step(T0 + HOUR)], T0 + 1000);
	await store.recordCapDecisions([
		{
			campaignId,
			stepId: 'cap',
			entryId: entry.entryId,
			userId,
			decision: 'deferred',
			rules: ['quietHours'],
			at: T0 + HOUR,
		},
	]);
	await store.scheduleSteps([step(T0 + 9 * HOUR)], T0 + HOUR);
	const key = `${campaignId}:${entry.entryId}:send`;
	await store.reserveSends([
		{
			idempotencyKey: key,
			campaignId,
			stepId: 'send',
			entryId: entry.entryId,
			userId,
			channel: 'email',
			tags: [],
			now: T0 + 9 * HOUR,
			expiresAt: T0 + 10 * HOUR,
			countsTowardCap: true,
			limits: [],
		},
	]);
	await store.completeSend(key, {
		state: 'sent',
		at: T0 + 9 * HOUR,
		providerMessageId: 'provider-1',
		variant: 'A',
		contentHash: 'hash-1',
	});
	await store.ingest({
		events: [
			event({
				userId,
				name: 'Order Completed',
				occurredAt: T0 + 10 * HOUR,
				properties: { cart_id: `cart-${userId}` },
			}),
			event({
				userId,
				name: 'Viewed Product',
				occurredAt: T0 + 200 * DAY,
				properties: { sku: 'late' },
			}),
		],
		now: T0 + 10 * HOUR,
	});
	const second = await store.ingest({
		events: [event({ userId, occurredAt: T0 + 2 * DAY, properties: { cart_id: 'other' } })],
		entry: { campaignId, reEntry: { mode: 'everyTime' }, candidates: [0] },
		now: T0 + 2 * DAY,
	});
	const again = second.entries[0].entry;
	await store.recordCapDecisions([
		{
			campaignId,
			stepId: 'cap',
			entryId: again.entryId,
			userId,
			decision: 'capped',
			rules: ['1'],
			at: T0 + 2 * DAY + 5,
		},
	]);
	await store.exitEntry(again.entryId, 'frequencyCapped', T0 + 2 * DAY + 6);
	return { entry, again, key };
}

/** Timeline, export and erasure: `sqlite.test.ts` and `postgres.test.ts` run it unchanged. */
export function describeUserRecordsConformance(
	name: string,
	open: () => Promise<CampaignStore>,
): void {
	describe(`user timeline and erasure: ${name}`, () => {
		let store: CampaignStore;
		beforeAll(async () => {
			store = await open();
		});
		afterAll(async () => {
			await store?.close();
		});

		it('reads every decision of a user in order, with the conversion the report counts', async () => {
			const campaignId = `c-${unique()}`;
			const userId = `u-${unique()}`;
			const { entry, again } = await oneUserThroughACampaign(store, campaignId, userId);
			const records = await store.readUserRecords({
				userId,
				campaignId,
				conversion: BOUGHT_SAME_CART,
				now: T0 + 300 * DAY,
			});
			const timeline = buildTimeline(records, BOUGHT_SAME_CART);
			const decisions = timeline.decisions
				.filter((d) => d.kind !== 'eventRecorded')
				.map((d) => [d.kind, d.at, 'entryId' in d ? d.entryId : null]);
			expect(decisions).toEqual([
				['entered', T0 + 1000, entry.entryId],
				['delayed', T0 + 1000, entry.entryId],
				['capped', T0 + HOUR, entry.entryId],
				['deferred', T0 + HOUR, entry.entryId],
				['sent', T0 + 9 * HOUR, entry.entryId],
				['converted', T0 + 10 * HOUR, entry.entryId],
				['entered', T0 + 2 * DAY, again.entryId],
				['capped', T0 + 2 * DAY + 5, again.entryId],
				['exited', T0 + 2 * DAY + 6, again.entryId],
			]);
			const sent = timeline.decisions.find((d) => d.kind === 'sent');
			expect(sent).toMatchObject({
				variant: 'A',
				providerMessageId: 'provider-1',
				contentHash: 'hash-1',
			});
			expect(timeline.decisions.find((d) => d.kind === 'deferred')).toMatchObject({
				until: T0 + 9 * HOUR,
			});
			expect(timeline.decisions.find((d) => d.kind === 'entered')).toMatchObject({
				triggerEvent: 'Added to Cart',
			});
			expect(
				timeline.decisions.filter((d) => d.kind === 'capped').map((d) => 'rules' in d && d.rules),
			).toEqual([['quietHours'], ['1']]);
			expect(timeline.decisions.find((d) => d.kind === 'exited')).toMatchObject({
				reason: 'frequencyCapped',
			});
			// The same entries the report counts as converted.
			const report = await store.countCampaignReport({
				campaignId,
				conversion: BOUGHT_SAME_CART,
				now: T0 + 300 * DAY,
			});
			expect(report.reduce((n, row) => n + row.converted, 0)).toBe(records.conversions.length);
		});

		it('exports the timeline and the raw rows in one JSON document', async () => {
			const campaignId = `c-${unique()}`;
			const userId = `u-${unique()}`;
			await oneUserThroughACampaign(store, campaignId, userId);
			const document = await exportUserData(store, {
				userId,
				now: T0 + 300 * DAY,
				conversion: BOUGHT,
			});
			const parsed = JSON.parse(JSON.stringify(document)) as Record<string, unknown[]> & {
				profile: { email: string };
			};
			expect(parsed.profile.email).toBe(`${userId}@example.com`);
			expect(parsed.events).toHaveLength(4);
			expect(parsed.entries).toHaveLength(2);
			expect(parsed.sends).toHaveLength(1);
			expect(parsed.capDecisions).toHaveLength(2);
			expect(
				(parsed.timeline as unknown as { decisions: unknown[] }).decisions.length,
			).toBeGreaterThan(8);
		});

		it('erases a user in one go, keeps the report counts, and a second call removes nothing', async () => {
			const campaignId = `c-${unique()}`;
			const userId = `u-${unique()}`;
			const other = `u-${unique()}`;
			await oneUserThroughACampaign(store, campaignId, userId);
			await oneUserThroughACampaign(store, campaignId, other);
			const now = T0 + 300 * DAY;
			const reports = async () => [
				await store.countCampaignReport({ campaignId, now }),
				await store.countCampaignReport({ campaignId, conversion: BOUGHT, now }),
				await store.countCampaignReport({ campaignId, conversion: BOUGHT_SAME_CART, now }),
			];
			const before = await reports();
			expect(before[2][0].converted).toBe(2);

			const erased = await store.eraseUser(userId, now);
			expect(erased.found).toBe(true);
			expect(erased.deleted).toMatchObject({ profiles: 1, scheduled_steps: 2, events: 1 });
			expect(erased.anonymized).toEqual({
				events: 3,
				campaign_entries: 2,
				sends: 1,
				cap_decisions: 2,
			});
			expect(await reports()).toEqual(before);

			const records = await store.readUserRecords({ userId, conversion: BOUGHT, now });
			expect(records).toMatchObject({
				profile: undefined,
				events: [],
				entries: [],
				sends: [],
				capDecisions: [],
				scheduledSteps: [],
				conversions: [],
			});
			// Nothing of the user is left in a kept row.
			const otherRecords = await store.readUserRecords({ userId: other, now });
			expect(otherRecords.entries).toHaveLength(2);

			const second = await store.eraseUser(userId, now);
			expect(second.found).toBe(false);
			expect(Object.values(second.deleted).every((n) => n === 0)).toBe(true);
			expect(Object.values(second.anonymized).every((n) => n === 0)).toBe(true);
		});

		it('names the field of a bad request', async () => {
			await expect(store.eraseUser('', T0)).rejects.toThrow(/userId/);
			await expect(store.readUserRecords({ userId: ' ', now: T0 })).rejects.toThrow(/userId/);
		});
	});
}
