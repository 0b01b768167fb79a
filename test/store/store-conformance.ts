import { randomUUID } from 'node:crypto';

import type { CampaignEvent, CampaignStore, ReEntryRule } from '../../src/store/campaign-store';
import { describeSendConformance } from './sends-conformance';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** A unique prefix per test so that cases never see each other's rows. */
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

/**
 * The behaviour every CampaignStore backend must have. `sqlite.test.ts` and
 * `postgres.test.ts` run it unchanged; `open()` gives a store on fresh storage, and
 * `open(store)` another store on the same storage as `store`, with connections of its own
 * (as another n8n process has).
 */
export function describeCampaignStoreConformance(
	name: string,
	open: (sharing?: CampaignStore) => Promise<CampaignStore>,
): void {
	describe(`CampaignStore conformance: ${name}`, () => {
		let store: CampaignStore;
		beforeAll(async () => {
			store = await open();
		});
		afterAll(async () => {
			await store?.close();
		});

		describe('recording events', () => {
			it('records every event of a batch and reads them back with their properties', async () => {
				const user = `u-${unique()}`;
				const events = [
					event({
						userId: user,
						name: 'Added to Cart',
						occurredAt: T0,
						properties: { cart_id: 'c1', value: 120.5, items: ['a', 'b'], nested: { ok: true } },
						timeZone: 'Asia/Kathmandu',
					}),
					event({ userId: user, name: 'Session Ended', occurredAt: T0 + MINUTE }),
				];
				const result = await store.ingest({ events, now: T0 });
				expect(result.recorded).toEqual([true, true]);
				expect(result.entries).toEqual([]);

				const found = await store.findEvents({ userId: user, names: [], after: T0 - 1 });
				expect(found).toEqual(events);
			});

			it('records a repeated messageId once, across requests and within one batch', async () => {
				const user = `u-${unique()}`;
				const first = event({ userId: user });
				expect((await store.ingest({ events: [first], now: T0 })).recorded).toEqual([true]);

				const again = { ...first, properties: { changed: true } };
				const fresh = event({ userId: user, occurredAt: T0 + 1 });
				const result = await store.ingest({ events: [again, fresh, { ...fresh }], now: T0 });
				expect(result.recorded).toEqual([false, true, false]);

				const found = await store.findEvents({ userId: user, names: [], after: 0 });
				expect(found.map((e) => e.messageId)).toEqual([first.messageId, fresh.messageId]);
				expect(found[0].properties).toEqual({});
			});

			it('finds events by name strictly after a time and up to an inclusive end, oldest first', async () => {
				const user = `u-${unique()}`;
				const at = (minutes: number, eventName: string) =>
					event({ userId: user, name: eventName, occurredAt: T0 + minutes * MINUTE });
				const events = [
					at(0, 'Purchased'),
					at(5, 'Purchased'),
					at(10, 'Viewed'),
					at(15, 'Refunded'),
					at(20, 'Purchased'),
				];
				await store.ingest({ events: [...events].reverse(), now: T0 });

				const afterTrigger = await store.findEvents({
					userId: user,
					names: ['Purchased', 'Refunded'],
					after: T0,
					until: T0 + 15 * MINUTE,
				});
				expect(afterTrigger.map((e) => e.occurredAt)).toEqual([T0 + 5 * MINUTE, T0 + 15 * MINUTE]);

				const limited = await store.findEvents({ userId: user, names: [], after: 0, limit: 2 });
				expect(limited.map((e) => e.occurredAt)).toEqual([T0, T0 + 5 * MINUTE]);

				const otherUser = await store.findEvents({ userId: `${user}-x`, names: [], after: 0 });
				expect(otherUser).toEqual([]);
			});

			it('keeps text exactly: quotes, newlines, emoji and non-Latin scripts', async () => {
				const user = `u-'"\\-${unique()}-ユーザー`;
				const properties = { title: 'O\'Brien "quoted"\nline 2', emoji: '🛒', ru: 'корзина' };
				await store.ingest({ events: [event({ userId: user, properties })], now: T0 });
				const [found] = await store.findEvents({ userId: user, names: [], after: 0 });
				expect(found.properties).toEqual(properties);
				expect(found.userId).toBe(user);
			});

			it('records nothing of a batch whose transaction fails', async () => {
				const user = `u-${unique()}`;
				const good = event({ userId: user });
				const bad = { ...event({ userId: user }), name: null as unknown as string };
				await expect(store.ingest({ events: [good, bad], now: T0 })).rejects.toThrow();
				expect(await store.findEvents({ userId: user, names: [], after: 0 })).toEqual([]);
			});
		});

		describe('entering a campaign', () => {
			const enter = (events: CampaignEvent[], reEntry: ReEntryRule, campaignId: string) =>
				store.ingest({
					events,
					entry: { campaignId, reEntry, candidates: events.map((_, index) => index) },
					now: T0 + DAY,
				});

			it('creates an active entry per candidate event, readable by id', async () => {
				const campaign = `c-${unique()}`;
				const user = `u-${unique()}`;
				const trigger = event({ userId: user, occurredAt: T0 });
				const result = await enter([trigger], { mode: 'everyTime' }, campaign);
				expect(result.entries).toHaveLength(1);
				const { eventIndex, entry } = result.entries[0];
				expect(eventIndex).toBe(0);
				expect(entry).toMatchObject({
					campaignId: campaign,
					userId: user,
					enteredAt: T0 + DAY,
					triggeredAt: T0,
					triggerMessageId: trigger.messageId,
					state: 'active',
				});
				expect(await store.getEntry(entry.entryId)).toEqual(entry);
				expect(await store.getEntry(randomUUID())).toBeUndefined();
			});

			it("finds a user's entries of a campaign by trigger time, latest first", async () => {
				const campaign = `c-${unique()}`;
				const user = `u-${unique()}`;
				const times = [T0, T0 + DAY, T0 + 2 * DAY];
				const { entries } = await enter(
					times.map((occurredAt) => event({ userId: user, occurredAt })),
					{ mode: 'everyTime' },
					campaign,
				);
				await enter([event({ userId: user })], { mode: 'everyTime' }, `${campaign}-other`);
				await enter([event({ userId: `${user}-other` })], { mode: 'everyTime' }, campaign);
				const stored = entries.map(({ entry }) => entry);

				expect(await store.findEntries({ campaignId: campaign, userId: user })).toEqual(
					[...stored].reverse(),
				);
				expect(
					await store.findEntries({
						campaignId: campaign,
						userId: user,
						triggeredAfter: T0,
						triggeredBefore: T0 + 2 * DAY,
					}),
				).toEqual([stored[1]]);
				expect(
					await store.findEntries({ campaignId: campaign, userId: user, limit: 1 }),
				).toEqual([stored[2]]);
				expect(await store.findEntries({ campaignId: campaign, userId: 'nobody' })).toEqual([]);
				await expect(store.findEntries({ campaignId: '', userId: user })).rejects.toThrow(
					/campaignId/,
				);
			});

			it('enters only the candidates, never for a duplicate event', async () => {
				const campaign = `c-${unique()}`;
				const users = [`u-${unique()}`, `u-${unique()}`, `u-${unique()}`];
				const events = users.map((userId) => event({ userId }));
				const first = await store.ingest({
					events,
					entry: { campaignId: campaign, reEntry: { mode: 'everyTime' }, candidates: [0, 2] },
					now: T0,
				});
				expect(first.entries.map((e) => e.entry.userId)).toEqual([users[0], users[2]]);

				const retry = await store.ingest({
					events,
					entry: { campaignId: campaign, reEntry: { mode: 'everyTime' }, candidates: [0, 2] },
					now: T0,
				});
				expect(retry.recorded).toEqual([false, false, false]);
				expect(retry.entries).toEqual([]);
				expect(retry.alreadyEntered).toEqual([0, 2]);
			});

			it('enters another campaign, or later, from an event recorded before; each event once per campaign', async () => {
				const [first, second] = [`c-${unique()}`, `c-${unique()}`];
				const user = `u-${unique()}`;
				const recordedEarlier = event({ userId: user });
				await store.ingest({ events: [recordedEarlier], now: T0 });

				const entered = await enter([recordedEarlier], { mode: 'everyTime' }, first);
				expect(entered.recorded).toEqual([false]);
				expect(entered.entries.map((e) => e.entry.triggerMessageId)).toEqual([
					recordedEarlier.messageId,
				]);

				const sameEventTwice = await enter(
					[recordedEarlier, { ...recordedEarlier }],
					{ mode: 'everyTime' },
					second,
				);
				expect(sameEventTwice.entries.map((e) => e.eventIndex)).toEqual([0]);
				expect(sameEventTwice.alreadyEntered).toEqual([1]);

				const again = await enter([recordedEarlier], { mode: 'everyTime' }, first);
				expect(again.entries).toEqual([]);
				expect(again.alreadyEntered).toEqual([0]);
			});

			it('enters each user once when the same events are retried concurrently', async () => {
				const campaign = `c-${unique()}`;
				const events = Array.from({ length: 10 }, () => event({ userId: `u-${unique()}` }));
				const results = await Promise.all(
					[1, 2, 3, 4].map(() => enter(events, { mode: 'everyTime' }, campaign)),
				);
				expect(results.flatMap((r) => r.entries).length).toBe(10);
				expect(results.flatMap((r) => r.alreadyEntered).length).toBe(30);
			});

			it("'every time' enters on each trigger event", async () => {
				const campaign = `c-${unique()}`;
				const user = `u-${unique()}`;
				const events = [0, 1, 2].map((i) => event({ userId: user, occurredAt: T0 + i * MINUTE }));
				const result = await enter(events, { mode: 'everyTime' }, campaign);
				expect(result.entries).toHaveLength(3);
				expect(result.notReEligible).toEqual([]);
			});

			it("'once' enters a user a single time ever, per campaign", async () => {
				const campaign = `c-${unique()}`;
				const user = `u-${unique()}`;
				const first = await enter(
					[event({ userId: user }), event({ userId: user, occurredAt: T0 + 1 })],
					{ mode: 'once' },
					campaign,
				);
				expect(first.entries.map((e) => e.eventIndex)).toEqual([0]);
				expect(first.notReEligible).toEqual([1]);

				const later = await enter(
					[event({ userId: user, occurredAt: T0 + 365 * DAY })],
					{ mode: 'once' },
					campaign,
				);
				expect(later.entries).toEqual([]);
				expect(later.notReEligible).toEqual([0]);

				const otherCampaign = await enter(
					[event({ userId: user })],
					{ mode: 'once' },
					`${campaign}-2`,
				);
				expect(otherCampaign.entries).toHaveLength(1);
			});

			it("'once per period' keeps two entries of a user at least the period apart by trigger time", async () => {
				const campaign = `c-${unique()}`;
				const user = `u-${unique()}`;
				const rule: ReEntryRule = { mode: 'oncePerPeriod', periodMs: DAY };
				const at = (offset: number) => event({ userId: user, occurredAt: T0 + offset });

				expect((await enter([at(0)], rule, campaign)).entries).toHaveLength(1);
				// Just inside the period on either side (out-of-order arrival): blocked.
				const inside = await enter([at(DAY - 1), at(-DAY + 1)], rule, campaign);
				expect(inside.entries).toEqual([]);
				expect(inside.notReEligible).toEqual([0, 1]);
				// Exactly one period later: eligible again; and then the next one blocked by it.
				const boundary = await enter([at(DAY), at(DAY + 1)], rule, campaign);
				expect(boundary.entries.map((e) => e.eventIndex)).toEqual([0]);
				expect(boundary.notReEligible).toEqual([1]);
			});

			it('lets two concurrent ingests of the same users enter each user once with "once"', async () => {
				const campaign = `c-${unique()}`;
				const users = Array.from({ length: 20 }, () => `u-${unique()}`);
				const batch = () => users.map((userId) => event({ userId }));
				const results = await Promise.all(
					[batch(), batch(), batch(), batch()].map((events) =>
						enter(events, { mode: 'once' }, campaign),
					),
				);
				const entered = results.flatMap((r) => r.entries.map((e) => e.entry.userId));
				expect(entered.sort()).toEqual([...users].sort());
			});
		});

		describe('profiles', () => {
			it('creates, merges and reads profiles', async () => {
				const user = `u-${unique()}`;
				await store.upsertProfiles(
					[
						{
							userId: user,
							email: 'ana@example.com',
							timeZone: 'Europe/Berlin',
							attributes: { plan: 'trial', seats: 3 },
							externalIds: { salesforce: '003xx' },
						},
					],
					T0,
				);
				await store.upsertProfiles(
					[
						{
							userId: user,
							phone: '+4930123',
							unsubscribed: true,
							attributes: { plan: 'paid', trialEndsAt: '2026-03-10' },
						},
					],
					T0 + MINUTE,
				);
				const profiles = await store.getProfiles([user, `${user}-missing`, user]);
				expect([...profiles.keys()]).toEqual([user]);
				expect(profiles.get(user)).toEqual({
					userId: user,
					email: 'ana@example.com',
					phone: '+4930123',
					timeZone: 'Europe/Berlin',
					unsubscribed: true,
					attributes: { plan: 'paid', seats: 3, trialEndsAt: '2026-03-10' },
					externalIds: { salesforce: '003xx' },
					updatedAt: T0 + MINUTE,
				});
			});

			it('defaults a new profile to subscribed with empty attributes and keeps unsubscribed when not given', async () => {
				const user = `u-${unique()}`;
				await store.upsertProfiles([{ userId: user }], T0);
				expect((await store.getProfiles([user])).get(user)).toEqual({
					userId: user,
					email: undefined,
					phone: undefined,
					timeZone: undefined,
					unsubscribed: false,
					attributes: {},
					externalIds: {},
					updatedAt: T0,
				});
				await store.upsertProfiles([{ userId: user, unsubscribed: true }], T0);
				await store.upsertProfiles([{ userId: user, email: 'b@example.com' }], T0);
				expect((await store.getProfiles([user])).get(user)?.unsubscribed).toBe(true);
			});

			it('upserts a batch with the same user twice in order', async () => {
				const user = `u-${unique()}`;
				await store.upsertProfiles(
					[
						{ userId: user, email: 'first@example.com', attributes: { a: 1 } },
						{ userId: user, email: 'second@example.com', attributes: { b: 2 } },
					],
					T0,
				);
				const profile = (await store.getProfiles([user])).get(user);
				expect(profile?.email).toBe('second@example.com');
				expect(profile?.attributes).toEqual({ a: 1, b: 2 });
			});
		});

		describeSendConformance(() => store, open);

		it('closes idempotently', async () => {
			const other = await open();
			await other.close();
			await expect(other.close()).resolves.toBeUndefined();
		});
	});
}
