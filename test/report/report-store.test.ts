import { buildCampaignReport } from '../../src/report/campaign-report';
import { assignVariant } from '../../src/send/variants';
import type { CampaignEvent, CampaignStore, ConversionRule } from '../../src/store/campaign-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { postgresTestScope } from '../support/postgres';
import { seededRandom } from './seeded-random';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 2, 9);

const postgres = postgresTestScope();
afterAll(() => postgres.dispose());

const backends: Array<[string, () => Promise<CampaignStore>]> = [
	['SQLite', async () => new SqliteCampaignStore({ filePath: ':memory:' })],
	['PostgreSQL', () => postgres.open({ schema: postgres.freshSchema(), poolMax: 8 })],
];

const event = (
	messageId: string,
	userId: string,
	name: string,
	occurredAt: number,
	properties: Record<string, unknown> = {},
): CampaignEvent => ({ messageId, userId, name, occurredAt, receivedAt: occurredAt, properties });

/** Enters users into `campaignId`, one trigger event each; returns their entry ids by user. */
async function enter(
	store: CampaignStore,
	campaignId: string,
	triggers: CampaignEvent[],
): Promise<Map<string, string>> {
	const entries = new Map<string, string>();
	for (let start = 0; start < triggers.length; start += 1000) {
		const events = triggers.slice(start, start + 1000);
		const result = await store.ingest({
			events,
			entry: { campaignId, reEntry: { mode: 'everyTime' }, candidates: events.map((_, i) => i) },
			now: events[events.length - 1].occurredAt,
		});
		for (const { entry } of result.entries) entries.set(entry.userId, entry.entryId);
	}
	return entries;
}

type Outcome = 'sent' | 'failed' | 'control';

/** The Send Message step's records: a reservation, then sent, failed, or released as control. */
async function send(
	store: CampaignStore,
	campaignId: string,
	sends: Array<{ userId: string; entryId: string; at: number; outcome: Outcome; variant: string }>,
): Promise<void> {
	for (let start = 0; start < sends.length; start += 1000) {
		const page = sends.slice(start, start + 1000);
		await store.reserveSends(
			page.map((s) => ({
				idempotencyKey: `${campaignId}:${s.entryId}:send`,
				campaignId,
				stepId: 'send',
				entryId: s.entryId,
				userId: s.userId,
				channel: 'email',
				tags: [],
				now: s.at,
				expiresAt: s.at + HOUR,
				countsTowardCap: true,
				limits: [],
			})),
		);
		// Eight at a time: as eight executions of the step would, sharing the store's pool.
		for (let at = 0; at < page.length; at += 8) {
			await Promise.all(page.slice(at, at + 8).map((s) => complete(store, campaignId, s)));
		}
	}
}

async function complete(
	store: CampaignStore,
	campaignId: string,
	s: { entryId: string; at: number; outcome: Outcome; variant: string },
): Promise<void> {
	const key = `${campaignId}:${s.entryId}:send`;
	if (s.outcome === 'sent')
		await store.completeSend(key, { state: 'sent', at: s.at, variant: s.variant });
	else if (s.outcome === 'failed')
		await store.completeSend(key, {
			state: 'failed',
			at: s.at,
			error: 'HTTP 500',
			variant: s.variant,
		});
	else
		await store.completeSend(key, {
			state: 'released',
			at: s.at,
			error: 'control group: not sent',
			variant: 'control',
		});
}

const purchase: ConversionRule = {
	eventNames: ['Order Completed'],
	matchProperty: 'cart_id',
	windowMs: 7 * DAY,
	windowFrom: 'send',
};

describe.each(backends)('Campaign Report on %s', (_name, open) => {
	let store: CampaignStore;
	beforeAll(async () => {
		store = await open();
	});
	afterAll(async () => {
		if (_name === 'SQLite') await store.close();
	});

	it('counts the funnel per variant and applies one attribution rule to every conversion', async () => {
		const campaign = 'rules';
		const users = ['ann', 'bob', 'cid', 'dan', 'eve', 'fay', 'gus', 'hal'];
		const entries = await enter(
			store,
			campaign,
			users.map((user, i) =>
				event(`t-${user}`, user, 'Cart Abandoned', T0 + i * 1000, { cart_id: `cart-${user}` }),
			),
		);
		const entryOf = (user: string) => entries.get(user)!;
		const sendAt = T0 + HOUR;
		await send(store, campaign, [
			{ userId: 'ann', entryId: entryOf('ann'), at: sendAt, outcome: 'sent', variant: 'B' },
			{ userId: 'bob', entryId: entryOf('bob'), at: sendAt, outcome: 'sent', variant: 'B' },
			{ userId: 'cid', entryId: entryOf('cid'), at: sendAt, outcome: 'sent', variant: 'B' },
			{
				userId: 'dan',
				entryId: entryOf('dan'),
				at: sendAt,
				outcome: 'control',
				variant: 'control',
			},
			{
				userId: 'eve',
				entryId: entryOf('eve'),
				at: sendAt,
				outcome: 'control',
				variant: 'control',
			},
			{ userId: 'fay', entryId: entryOf('fay'), at: sendAt, outcome: 'failed', variant: 'B' },
		]);
		await store.exitEntry(entryOf('gus'), 'exceptionEvent: "Order Completed" at ...', T0 + 2000);
		await store.exitEntry(entryOf('hal'), 'unsubscribed: the user unsubscribed', T0 + 2000);
		await store.recordCapDecisions([
			{
				campaignId: campaign,
				stepId: 'cap',
				entryId: entryOf('hal'),
				userId: 'hal',
				decision: 'capped',
				rules: ['1'],
				at: T0 + 1500,
			},
			{
				campaignId: campaign,
				stepId: 'cap',
				entryId: entryOf('ann'),
				userId: 'ann',
				decision: 'deferred',
				rules: ['quietHours'],
				at: T0 + 1500,
			},
			{
				campaignId: campaign,
				stepId: 'cap',
				entryId: entryOf('ann'),
				userId: 'ann',
				decision: 'deferred',
				rules: ['quietHours'],
				at: T0 + 1600,
			},
		]);
		await store.ingest({
			events: [
				// ann: two purchases of her cart in the window: one conversion.
				event('c1', 'ann', 'Order Completed', sendAt + DAY, { cart_id: 'cart-ann' }),
				event('c2', 'ann', 'Order Completed', sendAt + 2 * DAY, { cart_id: 'cart-ann' }),
				// bob: bought before the message, and another cart after it: no conversion.
				event('c3', 'bob', 'Order Completed', T0 + 30 * 60_000, { cart_id: 'cart-bob' }),
				event('c4', 'bob', 'Order Completed', sendAt + DAY, { cart_id: 'other' }),
				// cid: bought after the window closed: no conversion.
				event('c5', 'cid', 'Order Completed', sendAt + 8 * DAY, { cart_id: 'cart-cid' }),
				// dan (control): bought his cart inside the window: a control conversion.
				event('c6', 'dan', 'Order Completed', sendAt + HOUR, { cart_id: 'cart-dan' }),
				// eve (control): another event name: no conversion.
				event('c7', 'eve', 'Page Viewed', sendAt + HOUR, { cart_id: 'cart-eve' }),
				// fay: failed send; her purchase is not measured.
				event('c8', 'fay', 'Order Completed', sendAt + HOUR, { cart_id: 'cart-fay' }),
			],
			now: sendAt + 9 * DAY,
		});
		const now = sendAt + 9 * DAY;
		const counts = await store.countCampaignReport({
			campaignId: campaign,
			conversion: purchase,
			now,
		});
		expect(counts.map((row) => row.variant)).toEqual(['B', 'control', null]);
		const [b, control, none] = counts;
		expect(b).toEqual({
			variant: 'B',
			entered: 4,
			exited: 0,
			exitedByReason: {},
			capped: 0,
			deferred: 1,
			sent: 3,
			messagesSent: 3,
			failed: 1,
			control: 0,
			measured: 3,
			converted: 1,
		});
		expect(control).toMatchObject({ entered: 2, control: 2, measured: 2, converted: 1, sent: 0 });
		expect(none).toMatchObject({
			entered: 2,
			exited: 2,
			exitedByReason: { exceptionEvent: 1, unsubscribed: 1 },
			capped: 1,
			measured: 0,
			converted: 0,
		});

		// Without the property match, bob's other cart counts; from the entry, so does his early purchase.
		const anyCart = await store.countCampaignReport({
			campaignId: campaign,
			conversion: { ...purchase, matchProperty: undefined },
			now,
		});
		expect(anyCart[0].converted).toBe(2);
		const fromEntry = await store.countCampaignReport({
			campaignId: campaign,
			conversion: { ...purchase, windowFrom: 'entry' },
			now,
		});
		expect(fromEntry[0].converted).toBe(2);
		// Conversions after `now` are not counted yet.
		const early = await store.countCampaignReport({
			campaignId: campaign,
			conversion: purchase,
			now: sendAt + HOUR / 2,
		});
		expect(early.map((row) => row.converted)).toEqual([0, 0, 0]);
		// The time range selects entries by when they entered.
		const firstThree = await store.countCampaignReport({
			campaignId: campaign,
			from: T0,
			to: T0 + 3000,
			now,
		});
		expect(firstThree.reduce((sum, row) => sum + row.entered, 0)).toBe(3);
		// A rule declared after the events were recorded counts them: nothing is stored per rule.
		expect(
			(await store.countCampaignReport({ campaignId: 'nobody', conversion: purchase, now })).length,
		).toBe(0);
	});

	it('matches the property as readProperty finds it (a key with a dot, a nested path, a number against its text), and any purchase when the trigger has none', async () => {
		const campaign = 'paths';
		const triggers = [
			event('p-1', 'kim', 'Cart Abandoned', T0, { 'cart.id': 'K1' }),
			event('p-2', 'lou', 'Cart Abandoned', T0 + 1, { cart: { id: 'L1' } }),
			event('p-3', 'max', 'Cart Abandoned', T0 + 2, { cart: { id: 7 } }),
			event('p-4', 'ned', 'Cart Abandoned', T0 + 3, { cart: { id: 'N1' } }),
			// No cart on the trigger: any purchase counts, as in the Exception Check.
			event('p-5', 'oda', 'Cart Abandoned', T0 + 4, {}),
		];
		const entries = await enter(store, campaign, triggers);
		await send(
			store,
			campaign,
			triggers.map((trigger) => ({
				userId: trigger.userId,
				entryId: entries.get(trigger.userId)!,
				at: T0 + HOUR,
				outcome: 'sent' as const,
				variant: 'B',
			})),
		);
		await store.ingest({
			events: [
				event('q-1', 'kim', 'Order Completed', T0 + 2 * HOUR, { 'cart.id': 'K1' }),
				event('q-2', 'lou', 'Order Completed', T0 + 2 * HOUR, { cart: { id: 'L1' } }),
				event('q-3', 'max', 'Order Completed', T0 + 2 * HOUR, { cart: { id: '7' } }),
				event('q-4', 'ned', 'Order Completed', T0 + 2 * HOUR, { cart: { id: 'other' } }),
				event('q-5', 'oda', 'Order Completed', T0 + 2 * HOUR, { cart: { id: 'O1' } }),
			],
			now: T0 + 2 * HOUR,
		});
		const [b] = await store.countCampaignReport({
			campaignId: campaign,
			conversion: { ...purchase, matchProperty: 'cart.id' },
			now: T0 + DAY,
		});
		expect(b).toMatchObject({ measured: 5, converted: 4 });
	});

	it('refuses a report that cannot be computed, naming the field', async () => {
		await expect(
			store.countCampaignReport({
				campaignId: 'x',
				conversion: { ...purchase, windowMs: 91 * DAY },
				now: T0,
			}),
		).rejects.toThrow(/conversion\.windowMs.*90 days/);
		await expect(
			store.countCampaignReport({
				campaignId: 'x',
				conversion: { ...purchase, eventNames: [] },
				now: T0,
			}),
		).rejects.toThrow(/conversion\.eventNames/);
		await expect(
			store.countCampaignReport({ campaignId: 'x', from: T0, to: T0, now: T0 }),
		).rejects.toThrow(/^to:/);
	});

	it('recovers a planted 5-point lift of variant B over control among 10,000 users inside its interval', async () => {
		const campaign = 'planted-lift';
		const variants = [
			{ name: 'A', weight: 1 },
			{ name: 'B', weight: 1 },
		];
		const rates: Record<string, number> = { control: 0.1, A: 0.1, B: 0.15 };
		const random = seededRandom(2026);
		const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
		const triggers = users.map((user, i) =>
			event(`t-${user}`, user, 'Cart Abandoned', T0 + i * 60_000, { cart_id: `cart-${user}` }),
		);
		const entries = await enter(store, campaign, triggers);
		const expected = new Map<string, { measured: number; converted: number }>();
		const sends: Parameters<typeof send>[2] = [];
		const later: CampaignEvent[] = [];
		triggers.forEach((trigger, i) => {
			const user = trigger.userId;
			const choice = assignVariant({
				campaignId: campaign,
				userId: user,
				variants,
				controlShare: 1 / 3,
			});
			const group = choice.kind === 'control' ? 'control' : choice.name;
			const at = trigger.occurredAt + HOUR;
			const outcome: Outcome =
				group === 'control' ? 'control' : random() < 0.02 ? 'failed' : 'sent';
			sends.push({ userId: user, entryId: entries.get(user)!, at, outcome, variant: group });
			const tally = expected.get(group) ?? { measured: 0, converted: 0 };
			expected.set(group, tally);
			const converts = random() < rates[group];
			if (outcome !== 'failed') tally.measured++;
			if (converts) {
				if (outcome !== 'failed') tally.converted++;
				later.push(
					event(`buy-${i}`, user, 'Order Completed', at + Math.floor(random() * 6 * DAY), {
						cart_id: `cart-${user}`,
					}),
				);
				if (random() < 0.3)
					later.push(
						event(`again-${i}`, user, 'Order Completed', at + 6 * DAY + 1, {
							cart_id: `cart-${user}`,
						}),
					);
			} else {
				// Near misses that the rule must not count.
				const decoy = random();
				if (decoy < 0.1)
					later.push(
						event(`other-${i}`, user, 'Order Completed', at + DAY, { cart_id: 'another' }),
					);
				else if (decoy < 0.2)
					later.push(
						event(`late-${i}`, user, 'Order Completed', at + 7 * DAY + 1, {
							cart_id: `cart-${user}`,
						}),
					);
				else if (decoy < 0.3)
					later.push(
						event(`early-${i}`, user, 'Order Completed', at - 1, { cart_id: `cart-${user}` }),
					);
			}
		});
		await send(store, campaign, sends);
		for (let start = 0; start < later.length; start += 1000)
			await store.ingest({ events: later.slice(start, start + 1000), now: T0 });

		const report = await buildCampaignReport(store, {
			campaignId: campaign,
			conversion: purchase,
			now: T0 + 30 * DAY,
		});
		for (const row of report.variants) {
			expect({ variant: row.variant, measured: row.measured, converted: row.converted }).toEqual({
				variant: row.variant,
				...expected.get(row.variant!),
			});
		}
		expect(report.total.entered).toBe(10_000);
		const b = report.variants.find((row) => row.variant === 'B')!;
		const comparison = b.vsControl!;
		expect(comparison.interval.lower).toBeLessThanOrEqual(0.05);
		expect(comparison.interval.upper).toBeGreaterThanOrEqual(0.05);
		expect(comparison.verdict).toBe('higher than control');
		expect(comparison.intervalMethod).toMatch(/Newcombe/);
	}, 120_000);
});
