import { randomUUID } from 'node:crypto';

import { dryRunCampaign, quietHoursToWindow } from '../../src';
import type { CampaignStore } from '../../src/store/campaign-store';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');

/** Every row of every table, as JSON text, sorted: equal snapshots mean nothing was written. */
export type StoreSnapshot = (store: CampaignStore) => Promise<Record<string, string[]>>;

/**
 * A dry run reads the store and records nothing: the rows of every table are the same before
 * and after, whatever step the run stops at. Run against each backend with its own snapshot.
 */
export function describeDryRunConformance(
	name: string,
	open: () => Promise<CampaignStore>,
	snapshot: StoreSnapshot,
): void {
	describe(`Dry run records nothing: ${name}`, () => {
		let store: CampaignStore;
		beforeAll(async () => {
			store = await open();
		});
		afterAll(async () => {
			await store?.close();
		});

		it('leaves every row as it was, through every step and every way of stopping', async () => {
			const userId = `u-${randomUUID().slice(0, 8)}`;
			await store.upsertProfiles([{ userId, timeZone: 'Europe/Berlin' }], T0);
			await store.ingest({
				events: [
					{
						messageId: randomUUID(),
						userId,
						name: 'Cart Abandoned',
						occurredAt: T0 - 48 * HOUR,
						receivedAt: T0 - 48 * HOUR,
						properties: {},
					},
				],
				entry: { campaignId: 'cart', reEntry: { mode: 'everyTime' }, candidates: [0] },
				now: T0 - 48 * HOUR,
			});
			const key = `k-${randomUUID()}`;
			await store.reserveSends([
				{
					idempotencyKey: key,
					campaignId: 'cart',
					stepId: 's',
					userId,
					channel: 'email',
					tags: [],
					now: T0 - HOUR,
					expiresAt: T0,
					countsTowardCap: true,
					limits: [],
				},
			]);
			await store.completeSend(key, { state: 'sent', at: T0 - HOUR });
			const before = await snapshot(store);
			for (const table of ['profiles', 'events', 'campaign_entries', 'sends'])
				expect(before[table]).toHaveLength(1);

			const trigger = {
				campaignId: 'cart',
				eventNames: ['Cart Abandoned'],
				propertyFilters: [],
				reEntry: { mode: 'oncePerPeriod' as const, periodMs: 24 * HOUR },
			};
			const policy = {
				rules: [
					{
						id: '1',
						limit: 1,
						window: { kind: 'rolling' as const, ms: 24 * HOUR },
						scope: { kind: 'all' as const },
						channel: 'any' as const,
					},
				],
				outsideWindow: 'defer' as const,
				important: false,
				importantCounts: true,
				reservationTtlMs: HOUR,
			};
			const base = {
				userId,
				event: { name: 'Cart Abandoned', properties: {} },
				trigger,
				delay: { mode: 'afterEvent' as const, amount: 1, unit: 'hours' as const },
				exceptions: { exceptionEvents: ['Order Completed'], exitWhenUnsubscribed: true },
				send: { variants: [{ name: 'A', weight: 1 }], controlShare: 0 },
				now: T0,
			};
			const outcomes = [
				await dryRunCampaign(store, {
					...base,
					frequencyCap: { policy, channel: 'email', tags: [] },
				}),
				await dryRunCampaign(store, {
					...base,
					frequencyCap: {
						policy: { ...policy, rules: [], deliveryWindow: quietHoursToWindow('12:00', '23:00') },
						channel: 'email',
						tags: [],
					},
				}),
				await dryRunCampaign(store, base),
				await dryRunCampaign(store, { ...base, now: T0 - 47 * HOUR }),
			].map((result) => result.outcome);
			expect(outcomes).toEqual(['capped', 'deferred', 'sends', 'notEntered']);

			expect(await snapshot(store)).toEqual(before);
			// The snapshot does see a write.
			await store.recordCapDecisions([
				{ campaignId: 'cart', stepId: 's', userId, decision: 'capped', rules: ['1'], at: T0 },
			]);
			expect(await snapshot(store)).not.toEqual(before);
		});
	});
}
