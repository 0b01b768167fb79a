import { randomUUID } from 'node:crypto';

import { InvalidInputError } from '../../src/errors';
import type {
	CampaignStore,
	SendReservationRequest,
	SendReservationResult,
} from '../../src/store/campaign-store';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const unique = () => randomUUID().slice(0, 8);

/** A counted send on `email`, live for an hour, with no limits to check; override what a case needs. */
function request(
	overrides: Partial<SendReservationRequest> & { userId: string },
): SendReservationRequest {
	return {
		idempotencyKey: `k-${randomUUID()}`,
		campaignId: 'c-default',
		stepId: 'step-1',
		channel: 'email',
		tags: [],
		now: T0,
		expiresAt: (overrides.now ?? T0) + HOUR,
		countsTowardCap: true,
		limits: [],
		...overrides,
	};
}

const outcomes = (results: SendReservationResult[]) => results.map((r) => r.outcome);

/**
 * Frequency-cap reservations, completions and exits, as part of the store conformance suite:
 * `store()` is the suite's store, `open(store)` another store on the same storage.
 */
export function describeSendConformance(
	store: () => CampaignStore,
	open: (sharing: CampaignStore) => Promise<CampaignStore>,
): void {
	const reserveOne = async (req: SendReservationRequest) => (await store().reserveSends([req]))[0];

	/** A send of `userId` reserved at `at` and completed as sent; returns its key. */
	async function sent(userId: string, at: number, overrides: Partial<SendReservationRequest> = {}) {
		const req = request({ userId, now: at, expiresAt: at + HOUR, ...overrides });
		expect((await reserveOne(req)).outcome).toBe('reserved');
		await store().completeSend(req.idempotencyKey, { state: 'sent', at });
		return req.idempotencyKey;
	}

	describe('reserving sends', () => {
		it('reserves a send, reads it back and completes it as sent', async () => {
			const userId = `u-${unique()}`;
			const req = request({
				userId,
				entryId: `e-${unique()}`,
				tags: ['promo', 'news'],
				limits: [{ ruleId: 'per-day', since: T0 - DAY, limit: 3 }],
			});
			const result = await reserveOne(req);
			const reserved = {
				idempotencyKey: req.idempotencyKey,
				campaignId: 'c-default',
				stepId: 'step-1',
				entryId: req.entryId,
				userId,
				channel: 'email',
				tags: ['promo', 'news'],
				state: 'reserved',
				reservedAt: T0,
				expiresAt: T0 + HOUR,
				countsTowardCap: true,
			};
			expect(result).toEqual({
				outcome: 'reserved',
				send: reserved,
				usage: [{ ruleId: 'per-day', count: 0, limit: 3, countedAt: [] }],
			});
			expect(await store().getSend(req.idempotencyKey)).toEqual(reserved);

			const completed = await store().completeSend(req.idempotencyKey, {
				state: 'sent',
				at: T0 + 5,
				providerMessageId: 'pm-1',
				variant: 'B',
				contentHash: 'sha256:abc',
			});
			const sentRecord = {
				...reserved,
				state: 'sent',
				sentAt: T0 + 5,
				providerMessageId: 'pm-1',
				variant: 'B',
				contentHash: 'sha256:abc',
			};
			expect(completed).toEqual(sentRecord);
			expect(await store().getSend(req.idempotencyKey)).toEqual(sentRecord);
		});

		it('records the variant of a key given back, e.g. a control-group user never sent anything', async () => {
			const req = request({ userId: `u-${unique()}` });
			await reserveOne(req);
			const control = await store().completeSend(req.idempotencyKey, {
				state: 'released',
				at: T0 + 1,
				error: 'control group',
				variant: 'control',
			});
			expect(control).toMatchObject({
				state: 'released',
				variant: 'control',
				error: 'control group',
			});
			expect(control?.contentHash).toBeUndefined();
		});

		it('answers undefined for an unknown key and [] for an empty batch', async () => {
			expect(await store().getSend(`k-${randomUUID()}`)).toBeUndefined();
			expect(
				await store().completeSend(`k-${randomUUID()}`, { state: 'sent', at: T0 }),
			).toBeUndefined();
			expect(await store().reserveSends([])).toEqual([]);
		});

		it('treats a sent key or a live reservation as a duplicate, within a batch and later', async () => {
			const req = request({ userId: `u-${unique()}` });
			const [first, again] = await store().reserveSends([req, { ...req, stepId: 'other' }]);
			expect(first.outcome).toBe('reserved');
			expect(again).toEqual({ outcome: 'duplicate', send: (first as { send: unknown }).send });

			const stillLive = await reserveOne({ ...req, now: T0 + HOUR - 1 });
			expect(stillLive.outcome).toBe('duplicate');

			await store().completeSend(req.idempotencyKey, { state: 'sent', at: T0 + 1 });
			const muchLater = await reserveOne({ ...req, now: T0 + 30 * DAY, expiresAt: T0 + 31 * DAY });
			expect(muchLater).toMatchObject({ outcome: 'duplicate', send: { state: 'sent' } });
		});

		it('reserves an expired, failed or released key again in its row, clearing the old outcome', async () => {
			const userId = `u-${unique()}`;
			const req = request({ userId, expiresAt: T0 + 10 });
			expect((await reserveOne(req)).outcome).toBe('reserved');

			// Expired: `expiresAt > now` no longer holds at now = expiresAt.
			const afterExpiry = await reserveOne({ ...req, now: T0 + 10, expiresAt: T0 + HOUR });
			expect(afterExpiry).toMatchObject({
				outcome: 'reserved',
				send: { state: 'reserved', reservedAt: T0 + 10, expiresAt: T0 + HOUR },
			});

			for (const [round, state] of (['failed', 'released'] as const).entries()) {
				const given = await store().completeSend(req.idempotencyKey, {
					state,
					at: T0 + 20,
					error: `${state}: provider said no`,
				});
				expect(given).toMatchObject({ state, error: `${state}: provider said no` });
				const now = T0 + 30 + round;
				const again = await reserveOne({
					...req,
					now,
					expiresAt: now + HOUR,
					stepId: `step-${state}`,
					tags: ['retry'],
				});
				const send = {
					idempotencyKey: req.idempotencyKey,
					campaignId: 'c-default',
					stepId: `step-${state}`,
					userId,
					channel: 'email',
					tags: ['retry'],
					state: 'reserved',
					reservedAt: now,
					expiresAt: now + HOUR,
					countsTowardCap: true,
				};
				expect(again).toEqual({ outcome: 'reserved', send, usage: [] });
				expect(await store().getSend(req.idempotencyKey)).toEqual(send);
			}
		});
	});

	describe('counting sends against limits', () => {
		it('counts a window from `since` inclusive: a send at since counts, one 1 ms before does not', async () => {
			const userId = `u-${unique()}`;
			const since = T0 - HOUR;
			await sent(userId, since - 1);
			await sent(userId, since + 10);
			await sent(userId, since);
			const now = T0;
			const capped = await reserveOne(
				request({ userId, now, limits: [{ ruleId: 'two-per-hour', since, limit: 2 }] }),
			);
			expect(capped).toEqual({
				outcome: 'capped',
				usage: [{ ruleId: 'two-per-hour', count: 2, limit: 2, countedAt: [since, since + 10] }],
				violated: ['two-per-hour'],
			});
			const allowed = await reserveOne(
				request({ userId, now, limits: [{ ruleId: 'three-per-hour', since, limit: 3 }] }),
			);
			expect(allowed).toMatchObject({
				outcome: 'reserved',
				usage: [{ ruleId: 'three-per-hour', count: 2, limit: 3, countedAt: [] }],
			});
		});

		it('counts from a calendar boundary given as `since`', async () => {
			const userId = `u-${unique()}`;
			// Midnight in Berlin (UTC+1 in March before the switch).
			const midnight = Date.parse('2026-03-02T00:00:00+01:00');
			await sent(userId, midnight - 1);
			await sent(userId, midnight);
			const perDay = { ruleId: 'one-per-calendar-day', since: midnight, limit: 1 };
			const result = await reserveOne(
				request({ userId, now: midnight + 8 * HOUR, limits: [perDay] }),
			);
			expect(result).toMatchObject({
				outcome: 'capped',
				usage: [{ count: 1, countedAt: [midnight] }],
				violated: ['one-per-calendar-day'],
			});
			const yesterday = { ...perDay, since: midnight - DAY, limit: 3 };
			expect(
				await reserveOne(request({ userId, now: midnight + 8 * HOUR, limits: [yesterday] })),
			).toMatchObject({ outcome: 'reserved', usage: [{ count: 2 }] });
		});

		it('scopes a limit to a campaign, a tag or a channel, and to its own user', async () => {
			const userId = `u-${unique()}`;
			const a = `c-a-${unique()}`;
			const b = `c-b-${unique()}`;
			await sent(userId, T0 - 4, { campaignId: a, channel: 'email', tags: ['promo'] });
			await sent(userId, T0 - 3, { campaignId: a, channel: 'sms', tags: [] });
			await sent(userId, T0 - 2, { campaignId: b, channel: 'email', tags: ['news'] });
			await sent(userId, T0 - 1, { campaignId: b, channel: 'push', tags: ['promo', 'news'] });
			await sent(`${userId}-other`, T0 - 1, { campaignId: a, tags: ['promo'] });

			const since = T0 - HOUR;
			const scopes = {
				any: {},
				campaignA: { campaignId: a },
				campaignB: { campaignId: b },
				promo: { tag: 'promo' },
				news: { tag: 'news' },
				unknownTag: { tag: 'nothing' },
				email: { channel: 'email' },
				sms: { channel: 'sms' },
				aOnEmail: { campaignId: a, channel: 'email' },
				bPromoOnPush: { campaignId: b, tag: 'promo', channel: 'push' },
			};
			const expected = {
				any: 4,
				campaignA: 2,
				campaignB: 2,
				promo: 2,
				news: 2,
				unknownTag: 0,
				email: 2,
				sms: 1,
				aOnEmail: 1,
				bPromoOnPush: 1,
			};
			const limits = Object.entries(scopes).map(([ruleId, scope]) => ({
				ruleId,
				since,
				limit: 100,
				...scope,
			}));
			const counted = await reserveOne(request({ userId, now: T0, limits }));
			expect(counted.outcome).toBe('reserved');
			const usage = (counted as { usage: Array<{ ruleId: string; count: number }> }).usage;
			expect(Object.fromEntries(usage.map((u) => [u.ruleId, u.count]))).toEqual(expected);

			// Exactly at each count: every scoped rule refuses, in the order of the limits.
			const atLimit = Object.entries(scopes).map(([ruleId, scope]) => ({
				ruleId,
				since,
				limit: expected[ruleId as keyof typeof expected],
				...scope,
			}));
			const refused = await reserveOne(request({ userId, now: T0, limits: atLimit }));
			// The reservation just made counts too, on campaign c-default, email, no tags.
			expect(refused).toMatchObject({
				outcome: 'capped',
				violated: [
					'any',
					'campaignA',
					'campaignB',
					'promo',
					'news',
					'unknownTag',
					'email',
					'sms',
					'aOnEmail',
					'bPromoOnPush',
				],
			});
			const refusedUsage = (refused as { usage: Array<{ ruleId: string; count: number }> }).usage;
			expect(refusedUsage.find((u) => u.ruleId === 'any')?.count).toBe(5);
			expect(refusedUsage.find((u) => u.ruleId === 'email')?.count).toBe(3);
		});

		it('counts neither expired reservations, failed or released sends, nor sends outside caps', async () => {
			const userId = `u-${unique()}`;
			const reserve = async (overrides: Partial<SendReservationRequest>) => {
				const req = request({ userId, ...overrides });
				expect((await reserveOne(req)).outcome).toBe('reserved');
				return req.idempotencyKey;
			};
			await reserve({ now: T0, expiresAt: T0 + 50 }); // expired at T0 + 100
			const failed = await reserve({ now: T0 + 1 });
			await store().completeSend(failed, { state: 'failed', at: T0 + 2, error: 'bounced' });
			const released = await reserve({ now: T0 + 3 });
			await store().completeSend(released, { state: 'released', at: T0 + 4 });
			const uncounted = await reserve({ now: T0 + 5, countsTowardCap: false });
			await store().completeSend(uncounted, { state: 'sent', at: T0 + 5 });
			await sent(userId, T0 + 6);
			await reserve({ now: T0 + 7, expiresAt: T0 + HOUR }); // live at T0 + 100

			const result = await reserveOne(
				request({ userId, now: T0 + 100, limits: [{ ruleId: 'r', since: T0 - 1, limit: 2 }] }),
			);
			expect(result).toEqual({
				outcome: 'capped',
				usage: [{ ruleId: 'r', count: 2, limit: 2, countedAt: [T0 + 6, T0 + 7] }],
				violated: ['r'],
			});
		});

		it('lists the counted sends ascending by reservation time when a rule is exceeded', async () => {
			const userId = `u-${unique()}`;
			for (const offset of [30, 10, 20]) await sent(userId, T0 + offset);
			const result = await reserveOne(
				request({ userId, now: T0 + HOUR, limits: [{ ruleId: 'r', since: T0, limit: 3 }] }),
			);
			expect(result).toMatchObject({ usage: [{ countedAt: [T0 + 10, T0 + 20, T0 + 30] }] });
		});

		it('keeps a minimum gap after the latest counted send, on one channel or on any', async () => {
			const userId = `u-${unique()}`;
			await sent(userId, T0, { channel: 'email' });
			const gap = (channel?: string) => ({ ruleId: 'gap', gapMs: HOUR, channel });

			const emailGap = await reserveOne(
				request({ userId, channel: 'sms', now: T0 + 30 * MINUTE, minGap: gap('email') }),
			);
			expect(emailGap).toEqual({
				outcome: 'capped',
				usage: [],
				violated: ['gap'],
				lastCountedAt: T0,
			});
			const smsGap = await reserveOne(
				request({ userId, channel: 'sms', now: T0 + 30 * MINUTE, minGap: gap('sms') }),
			);
			expect(smsGap.outcome).toBe('reserved');

			// Any channel: measured from the latest counted send, the sms one.
			const anyGap = await reserveOne(request({ userId, now: T0 + HOUR, minGap: gap() }));
			expect(anyGap).toMatchObject({ outcome: 'capped', lastCountedAt: T0 + 30 * MINUTE });

			// With a limit refusing too: both named, limits first.
			const both = await reserveOne(
				request({
					userId,
					now: T0 + HOUR,
					limits: [{ ruleId: 'one-a-day', since: T0 - DAY, limit: 1 }],
					minGap: gap(),
				}),
			);
			expect(both).toMatchObject({ outcome: 'capped', violated: ['one-a-day', 'gap'] });

			// Exactly one gap after the latest: allowed.
			const onTime = await reserveOne(
				request({ userId, now: T0 + 30 * MINUTE + HOUR, minGap: gap() }),
			);
			expect(onTime).toMatchObject({ outcome: 'reserved', usage: [] });
		});

		it('decides a batch in order: the same user three times under a limit of two', async () => {
			const userId = `u-${unique()}`;
			const other = `u-${unique()}`;
			const limits = [{ ruleId: 'two-per-day', since: T0 - DAY, limit: 2 }];
			const batch = [
				request({ userId, limits }),
				request({ userId: other, limits }),
				request({ userId, limits }),
				request({ userId, limits }),
			];
			const results = await store().reserveSends(batch);
			expect(outcomes(results)).toEqual(['reserved', 'reserved', 'reserved', 'capped']);
			expect(results.map((r) => (r.outcome === 'duplicate' ? -1 : r.usage[0].count))).toEqual([
				0, 0, 1, 2,
			]);
			expect(results[3]).toEqual({
				outcome: 'capped',
				usage: [{ ruleId: 'two-per-day', count: 2, limit: 2, countedAt: [T0, T0] }],
				violated: ['two-per-day'],
			});
			expect(await store().getSend(batch[3].idempotencyKey)).toBeUndefined();
		});

		it('checks the limits of a send outside caps but never counts it', async () => {
			const userId = `u-${unique()}`;
			const limits = [{ ruleId: 'one', since: T0 - DAY, limit: 1 }];
			const results = await store().reserveSends([
				request({ userId, countsTowardCap: false, limits }),
				request({ userId, limits }),
				request({ userId, countsTowardCap: false, limits }),
				request({ userId, countsTowardCap: false, limits: [] }),
			]);
			expect(outcomes(results)).toEqual(['reserved', 'reserved', 'capped', 'reserved']);
			expect(results[0]).toMatchObject({ send: { countsTowardCap: false } });
		});

		it('checks without writing when asked to: available, capped or duplicate', async () => {
			const userId = `u-${unique()}`;
			await sent(userId, T0 - 10);
			const limits = [{ ruleId: 'two', since: T0 - DAY, limit: 2 }];
			const check = request({ userId, limits, checkOnly: true });
			const results = await store().reserveSends([
				check,
				{ ...check, idempotencyKey: `k-${randomUUID()}` },
				request({ userId, limits }),
				{ ...check, idempotencyKey: `k-${randomUUID()}` },
			]);
			expect(results).toEqual([
				{ outcome: 'available', usage: [{ ruleId: 'two', count: 1, limit: 2, countedAt: [] }] },
				{ outcome: 'available', usage: [{ ruleId: 'two', count: 1, limit: 2, countedAt: [] }] },
				expect.objectContaining({ outcome: 'reserved' }),
				{
					outcome: 'capped',
					usage: [{ ruleId: 'two', count: 2, limit: 2, countedAt: [T0 - 10, T0] }],
					violated: ['two'],
				},
			]);
			expect(await store().getSend(check.idempotencyKey)).toBeUndefined();
			const reservedKey = (results[2] as { send: { idempotencyKey: string } }).send.idempotencyKey;
			expect(
				await reserveOne(request({ userId, idempotencyKey: reservedKey, checkOnly: true })),
			).toMatchObject({ outcome: 'duplicate', send: { state: 'reserved' } });
		});

		it('refuses every send under a limit of zero', async () => {
			const result = await reserveOne(
				request({
					userId: `u-${unique()}`,
					limits: [{ ruleId: 'paused', since: T0, limit: 0 }],
				}),
			);
			expect(result).toEqual({
				outcome: 'capped',
				usage: [{ ruleId: 'paused', count: 0, limit: 0, countedAt: [] }],
				violated: ['paused'],
			});
		});

		it('rejects a malformed request, naming it, and writes nothing of the batch', async () => {
			const good = request({ userId: `u-${unique()}` });
			const bad = request({ userId: `u-${unique()}`, now: T0 + 0.5 });
			await expect(store().reserveSends([good, bad])).rejects.toThrow(InvalidInputError);
			await expect(store().reserveSends([good, bad])).rejects.toThrow(/^requests\[1\]\.now: /);
			const badLimit = request({
				userId: good.userId,
				limits: [{ ruleId: 'r', since: T0, limit: -1 }],
			});
			await expect(store().reserveSends([badLimit])).rejects.toThrow(
				/^requests\[0\]\.limits\[0\]\.limit: /,
			);
			expect(await store().getSend(good.idempotencyKey)).toBeUndefined();
		});
	});

	describe('counting sends read-only', () => {
		it('counts and checks as a check-only reservation does, and writes nothing', async () => {
			const userId = `u-${unique()}`;
			const campaignId = `c-${unique()}`;
			await sent(userId, T0 - 3 * HOUR, { campaignId, tags: ['promo'] });
			await sent(userId, T0 - 20 * MINUTE, { channel: 'sms' });
			// A live reservation counts; an expired one does not.
			await reserveOne(request({ userId, now: T0 - 10 * MINUTE, expiresAt: T0 + HOUR }));
			await reserveOne(request({ userId, now: T0 - 50 * MINUTE, expiresAt: T0 - MINUTE }));
			const limits = [
				{ ruleId: 'two-a-day', since: T0 - DAY, limit: 2 },
				{ ruleId: 'campaign', since: T0 - DAY, limit: 5, campaignId },
				{ ruleId: 'promo-email', since: T0 - DAY, limit: 1, tag: 'promo', channel: 'email' },
			];
			const minGap = { ruleId: 'minGap', gapMs: 30 * MINUTE, channel: 'sms' };
			const counted = await store().countSends({ userId, now: T0, limits, minGap });
			expect(counted).toEqual({
				usage: [
					{
						ruleId: 'two-a-day',
						count: 3,
						limit: 2,
						countedAt: [T0 - 3 * HOUR, T0 - 20 * MINUTE, T0 - 10 * MINUTE],
					},
					{ ruleId: 'campaign', count: 1, limit: 5, countedAt: [] },
					{ ruleId: 'promo-email', count: 1, limit: 1, countedAt: [T0 - 3 * HOUR] },
				],
				violated: ['two-a-day', 'promo-email', 'minGap'],
				lastCountedAt: T0 - 20 * MINUTE,
			});
			const checked = await reserveOne(
				request({ userId, now: T0, limits, minGap, checkOnly: true }),
			);
			expect(checked).toEqual({ outcome: 'capped', ...counted });

			const key = `k-${randomUUID()}`;
			expect(
				await store().countSends({
					userId,
					now: T0,
					limits: [{ ruleId: 'ten', since: T0 - DAY, limit: 10 }],
					minGap: { ruleId: 'minGap', gapMs: MINUTE },
				}),
			).toEqual({ usage: [{ ruleId: 'ten', count: 3, limit: 10, countedAt: [] }], violated: [] });
			expect(await store().getSend(key)).toBeUndefined();
			// Still three counted sends: the counts took no slot.
			expect(
				(await store().countSends({ userId, now: T0, limits: [limits[0]] })).usage[0].count,
			).toBe(3);
		});

		it('answers a user with no sends and no limits', async () => {
			expect(await store().countSends({ userId: `u-${unique()}`, now: T0, limits: [] })).toEqual({
				usage: [],
				violated: [],
			});
		});

		it('rejects a request without a user, naming the field', async () => {
			await expect(store().countSends({ userId: '', now: T0, limits: [] })).rejects.toThrow(
				InvalidInputError,
			);
			await expect(store().countSends({ userId: '', now: T0, limits: [] })).rejects.toThrow(
				/userId/,
			);
		});
	});

	describe('completing sends', () => {
		it('never changes a sent send again: completing it returns it unchanged', async () => {
			const req = request({ userId: `u-${unique()}` });
			await reserveOne(req);
			const first = await store().completeSend(req.idempotencyKey, {
				state: 'sent',
				at: T0 + 1,
				providerMessageId: 'pm-a',
			});
			for (const completion of [
				{ state: 'sent', at: T0 + 2, providerMessageId: 'pm-b', variant: 'B' },
				{ state: 'failed', at: T0 + 3, error: 'late failure' },
				{ state: 'released', at: T0 + 4 },
			] as const) {
				expect(await store().completeSend(req.idempotencyKey, completion)).toEqual(first);
			}
			expect(await store().getSend(req.idempotencyKey)).toEqual(first);
		});

		it('gives a reservation back as failed or released, and records a late success as sent', async () => {
			const req = request({ userId: `u-${unique()}` });
			await reserveOne(req);
			expect(
				await store().completeSend(req.idempotencyKey, {
					state: 'failed',
					at: T0 + 1,
					error: 'timeout',
				}),
			).toMatchObject({ state: 'failed', error: 'timeout' });
			expect(
				await store().completeSend(req.idempotencyKey, { state: 'released', at: T0 + 2 }),
			).toMatchObject({ state: 'released', error: undefined });
			const late = await store().completeSend(req.idempotencyKey, {
				state: 'sent',
				at: T0 + 3,
				providerMessageId: 'pm-late',
			});
			expect(late).toMatchObject({ state: 'sent', sentAt: T0 + 3, error: undefined });
		});
	});

	describe('exiting entries', () => {
		it('exits an active entry once and leaves any other unchanged', async () => {
			const userId = `u-${unique()}`;
			const { entries } = await store().ingest({
				events: [
					{
						messageId: randomUUID(),
						userId,
						name: 'Added to Cart',
						occurredAt: T0,
						receivedAt: T0,
						properties: {},
					},
				],
				entry: { campaignId: `c-${unique()}`, reEntry: { mode: 'everyTime' }, candidates: [0] },
				now: T0,
			});
			const entry = entries[0].entry;
			const exited = await store().exitEntry(entry.entryId, 'purchased', T0 + HOUR);
			expect(exited).toEqual({
				...entry,
				state: 'exited',
				exitedAt: T0 + HOUR,
				exitReason: 'purchased',
			});
			expect(await store().getEntry(entry.entryId)).toEqual(exited);
			expect(await store().exitEntry(entry.entryId, 'unsubscribed', T0 + DAY)).toEqual(exited);
			expect(await store().exitEntry(randomUUID(), 'purchased', T0)).toBeUndefined();
		});
	});

	describe('several stores at once', () => {
		let others: CampaignStore[] = [];
		beforeAll(async () => {
			others = await Promise.all(Array.from({ length: 8 }, () => open(store())));
		});
		afterAll(async () => {
			await Promise.all(others.map((other) => other.close()));
		});

		it('never exceeds a cap: 8 stores x 50 decisions for 10 users under 3 each', async () => {
			const users = Array.from({ length: 10 }, () => `u-${unique()}`);
			const limits = [{ ruleId: 'three', since: T0 - HOUR, limit: 3 }];
			const perStore = await Promise.all(
				others.map(async (other, s) => {
					const requests = Array.from({ length: 50 }, (_, i) =>
						request({ userId: users[(i + s) % users.length], now: T0 + i, limits }),
					);
					// Half the stores decide one by one, the other half in batches of 10.
					if (s % 2 === 0) {
						return Promise.all(requests.map(async (req) => (await other.reserveSends([req]))[0]));
					}
					const batches = Array.from({ length: 5 }, (_, b) => requests.slice(b * 10, b * 10 + 10));
					return (await Promise.all(batches.map((batch) => other.reserveSends(batch)))).flat();
				}),
			);
			const reserved = perStore
				.flat()
				.filter(
					(r): r is Extract<SendReservationResult, { outcome: 'reserved' }> =>
						r.outcome === 'reserved',
				);
			expect(reserved).toHaveLength(30);
			for (const userId of users) {
				expect(reserved.filter((r) => r.send.userId === userId)).toHaveLength(3);
			}
			for (const { send } of reserved) {
				expect(await store().getSend(send.idempotencyKey)).toEqual(send);
			}
			const capped = perStore.flat().filter((r) => r.outcome === 'capped');
			expect(capped).toHaveLength(400 - 30);
		});

		it('reserves one key once when every store asks for it at the same moment', async () => {
			const req = request({ userId: `u-${unique()}` });
			const results = (await Promise.all(others.map((other) => other.reserveSends([req])))).flat();
			expect(outcomes(results).sort()).toEqual([...Array(7).fill('duplicate'), 'reserved']);
		});
	});
}
