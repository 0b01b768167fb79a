import { randomUUID } from 'node:crypto';

import { InvalidInputError } from '../../src/errors';
import type {
	CampaignStore,
	ClaimStepsRequest,
	ClaimedStep,
	ScheduleStepRequest,
} from '../../src/store/campaign-store';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const unique = () => randomUUID().slice(0, 8);

/**
 * The per-user schedule, as part of the store conformance suite: `open()` gives a store on
 * fresh storage, `open(store)` another store on the same storage with connections of its
 * own (as another n8n process has).
 */
export function describeScheduleConformance(
	name: string,
	open: (sharing?: CampaignStore) => Promise<CampaignStore>,
): void {
	describe(`CampaignStore schedule: ${name}`, () => {
		let store: CampaignStore;
		beforeAll(async () => {
			store = await open();
		});
		afterAll(async () => {
			await store?.close();
		});

		/** A resume point of its own per test, so that cases never see each other's rows. */
		const point = () => ({ campaignId: `c-${unique()}`, stepId: 'after-delay' });

		/** A step of user `u<n>` in entry `e<n>` of the resume point, due at `dueAt`. */
		const step = (
			at: { campaignId: string; stepId: string },
			n: number | string,
			dueAt: number,
			payload: Record<string, unknown> = { n },
		): ScheduleStepRequest => ({
			...at,
			entryId: `e-${at.campaignId}-${n}`,
			userId: `u-${at.campaignId}-${n}`,
			dueAt,
			payload,
		});

		const claim = (
			at: { campaignId: string; stepId: string },
			overrides: Partial<ClaimStepsRequest> = {},
			on: CampaignStore = store,
		) => on.claimDueSteps({ ...at, now: T0, limit: 100, leaseMs: 5 * MINUTE, ...overrides });

		const payloads = (claimed: ClaimedStep[]) => claimed.map((c) => c.payload);
		const tokens = (claimed: ClaimedStep[]) =>
			claimed.map(({ id, claimToken }) => ({ id, claimToken }));

		it('schedules many rows in one call and claims each of them once, due first', async () => {
			const at = point();
			// Due times in reverse of insertion: the claim orders by due time, not by id.
			const requests = Array.from({ length: 300 }, (_, n) => step(at, n, T0 - n * SECOND));
			const result = await store.scheduleSteps(requests, T0 - HOUR);
			expect(result.scheduled).toEqual(requests.map(() => true));

			const claimed = await claim(at, { limit: 1000 });
			expect(claimed).toHaveLength(300);
			expect(payloads(claimed)).toEqual(requests.map((_, n) => ({ n: 299 - n })));
			expect(claimed[0]).toEqual({
				id: expect.stringMatching(/^[1-9][0-9]*$/),
				campaignId: at.campaignId,
				stepId: 'after-delay',
				entryId: `e-${at.campaignId}-299`,
				userId: `u-${at.campaignId}-299`,
				dueAt: T0 - 299 * SECOND,
				payload: { n: 299 },
				attempts: 1,
				claimToken: expect.any(String),
				leaseUntil: T0 + 5 * MINUTE,
				scheduledAt: T0 - HOUR,
			});
			expect(new Set(claimed.map((c) => c.id)).size).toBe(300);
			expect(await claim(at, { limit: 1000 })).toEqual([]);
		});

		it('schedules nothing twice when the same execution runs again, or a key repeats in a batch', async () => {
			const at = point();
			const requests = [step(at, 1, T0), step(at, 2, T0 + MINUTE)];
			expect((await store.scheduleSteps(requests, T0)).scheduled).toEqual([true, true]);
			// The re-run carries other payloads: the first row stays as it was.
			const again = requests.map((r) => ({ ...r, payload: { rerun: true } }));
			const fresh = step(at, 3, T0);
			expect((await store.scheduleSteps([...again, fresh, { ...fresh }], T0)).scheduled).toEqual([
				false,
				false,
				true,
				false,
			]);
			const claimed = await claim(at, { now: T0 + MINUTE });
			expect(claimed.map((c) => c.entryId)).toEqual([
				requests[0].entryId,
				fresh.entryId,
				requests[1].entryId,
			]);
			expect(payloads(claimed)).toEqual([{ n: 1 }, { n: 3 }, { n: 2 }]);
		});

		it('schedules the same entry again at the same step with a later due while its claim is open', async () => {
			const at = point();
			const first = step(at, 1, T0);
			await store.scheduleSteps([first], T0 - HOUR);
			const [open1] = await claim(at);
			expect(open1.entryId).toBe(first.entryId);
			// Deferred by a frequency cap: back to the same resume point an hour later.
			const deferred = { ...first, dueAt: T0 + HOUR, payload: { deferred: true } };
			expect((await store.scheduleSteps([deferred], T0)).scheduled).toEqual([true]);
			expect(await store.completeSteps(tokens([open1]), T0)).toBe(1);

			expect(await claim(at, { now: T0 + HOUR - 1 })).toEqual([]);
			const [open2] = await claim(at, { now: T0 + HOUR });
			expect(open2).toMatchObject({ entryId: first.entryId, dueAt: T0 + HOUR, attempts: 1 });
			expect(open2.payload).toEqual({ deferred: true });
			expect(open2.id).not.toBe(open1.id);
		});

		it('claims only due rows, oldest due first then in insertion order, at most `limit` per call', async () => {
			const at = point();
			await store.scheduleSteps(
				[
					step(at, 'late', T0 + SECOND),
					step(at, 'b', T0),
					step(at, 'a', T0 - MINUTE),
					step(at, 'c', T0),
					step(at, 'd', T0),
					step(at, 'future', T0 + DAY),
				],
				T0 - HOUR,
			);
			const first = await claim(at, { limit: 3 });
			expect(payloads(first)).toEqual([{ n: 'a' }, { n: 'b' }, { n: 'c' }]);
			const second = await claim(at, { limit: 3 });
			expect(payloads(second)).toEqual([{ n: 'd' }]);
			expect(await claim(at, { limit: 3 })).toEqual([]);
			// Ids increase in insertion order.
			expect(BigInt(first[1].id) < BigInt(first[2].id)).toBe(true);
			const late = await claim(at, { now: T0 + SECOND });
			expect(payloads(late)).toEqual([{ n: 'late' }]);
			expect(await store.completeSteps(tokens([...first, ...second, ...late]), T0 + SECOND)).toBe(
				5,
			);
			// Another resume point, or another campaign, is never claimed.
			expect(await claim({ ...at, stepId: 'other-step' }, { now: T0 + DAY })).toEqual([]);
			expect(await claim({ ...point() }, { now: T0 + DAY })).toEqual([]);
			expect(payloads(await claim(at, { now: T0 + DAY }))).toEqual([{ n: 'future' }]);
		});

		it('never gives the same row to two claimers at once, on separate connections', async () => {
			const at = point();
			const total = 400;
			await store.scheduleSteps(
				Array.from({ length: total }, (_, n) => step(at, n, T0 - (n % 17) * SECOND)),
				T0 - HOUR,
			);
			const others = await Promise.all([open(store), open(store), open(store)]);
			try {
				const claimers = [store, ...others, store, ...others];
				const taken: ClaimedStep[][] = claimers.map(() => []);
				await Promise.all(
					claimers.map(async (on, c) => {
						for (;;) {
							const page = await claim(at, { limit: 7 }, on);
							if (page.length === 0) return;
							taken[c].push(...page);
						}
					}),
				);
				const all = taken.flat();
				expect(all).toHaveLength(total);
				expect(new Set(all.map((c) => c.id)).size).toBe(total);
				expect(new Set(all.map((c) => c.attempts))).toEqual(new Set([1]));
				expect(await claim(at)).toEqual([]);
			} finally {
				await Promise.all(others.map((other) => other.close()));
			}
		});

		it('claims a row again once its lease ran out, with attempt 2 and a new token', async () => {
			const at = point();
			await store.scheduleSteps([step(at, 1, T0)], T0);
			const [first] = await claim(at, { leaseMs: MINUTE });
			expect(first).toMatchObject({ attempts: 1, leaseUntil: T0 + MINUTE });
			expect(await claim(at, { now: T0 + MINUTE - 1 })).toEqual([]);

			const [second] = await claim(at, { now: T0 + MINUTE, leaseMs: MINUTE });
			expect(second).toMatchObject({ id: first.id, attempts: 2, leaseUntil: T0 + 2 * MINUTE });
			expect(second.claimToken).not.toBe(first.claimToken);
			expect(second.payload).toEqual({ n: 1 });

			// The first claimer comes back late: its completion no longer counts.
			expect(await store.completeSteps(tokens([first]), T0 + 2 * MINUTE)).toBe(0);
			expect(await store.completeSteps(tokens([second]), T0 + 2 * MINUTE)).toBe(1);
			expect(await claim(at, { now: T0 + DAY })).toEqual([]);
		});

		it('renews the lease of a claim still held, so no other claim takes its row meanwhile', async () => {
			const at = point();
			await store.scheduleSteps([step(at, 1, T0), step(at, 2, T0)], T0);
			const claimed = await claim(at, { leaseMs: MINUTE });
			const held = tokens(claimed);
			expect(await store.renewStepLeases(held, T0 + 3 * MINUTE, T0 + 50 * SECOND)).toBe(2);
			// Past the first lease, nobody else gets the rows; the earliest next claim moved too.
			expect(await claim(at, { now: T0 + 2 * MINUTE })).toEqual([]);
			expect(await store.nextScheduledDueAt(at)).toBe(T0 + 3 * MINUTE);
			// A stale token renews nothing; once the renewed lease ran out, another claim takes the rows.
			expect(
				await store.renewStepLeases([{ ...held[0], claimToken: 'stale' }], T0 + DAY, T0),
			).toBe(0);
			const again = await claim(at, { now: T0 + 3 * MINUTE });
			expect(again.map((c) => c.attempts)).toEqual([2, 2]);
			expect(await store.renewStepLeases(held, T0 + DAY, T0 + 3 * MINUTE)).toBe(0);
			await expect(store.renewStepLeases(tokens(again), T0, T0 + SECOND)).rejects.toThrow(
				/^leaseUntil: must be after now/,
			);
		});

		it('completes a claim once; a stale or unknown token changes nothing', async () => {
			const at = point();
			await store.scheduleSteps([step(at, 1, T0), step(at, 2, T0)], T0);
			const claimed = await claim(at, { leaseMs: MINUTE });
			const [one, two] = tokens(claimed);
			expect(
				await store.completeSteps(
					[
						{ id: one.id, claimToken: 'not-the-token' },
						{ id: '999999999999', claimToken: one.claimToken },
					],
					T0,
				),
			).toBe(0);
			expect(await store.completeSteps([one, two, one], T0)).toBe(2);
			expect(await store.completeSteps([one, two], T0)).toBe(0);
			expect(await store.completeSteps([], T0)).toBe(0);
			// Done is done: not claimable once the lease would have run out.
			expect(await claim(at, { now: T0 + DAY })).toEqual([]);
			expect(await store.nextScheduledDueAt(at)).toBeUndefined();
		});

		it('releases a claim so that the next claim takes it at once', async () => {
			const at = point();
			await store.scheduleSteps([step(at, 1, T0), step(at, 2, T0 + SECOND)], T0);
			const claimed = await claim(at, { now: T0 + SECOND, leaseMs: HOUR });
			expect(claimed).toHaveLength(2);
			expect(await store.releaseSteps([{ ...tokens(claimed)[0], claimToken: 'stale' }], T0)).toBe(
				0,
			);
			expect(await store.releaseSteps([tokens(claimed)[1]], T0 + SECOND)).toBe(1);
			const again = await claim(at, { now: T0 + 2 * SECOND });
			expect(again).toHaveLength(1);
			expect(again[0]).toMatchObject({ id: claimed[1].id, attempts: 2, dueAt: T0 + SECOND });
			expect(again[0].claimToken).not.toBe(claimed[1].claimToken);
			// The released token is spent.
			expect(await store.completeSteps([tokens(claimed)[1]], T0)).toBe(0);
			expect(await store.completeSteps(tokens([claimed[0], again[0]]), T0)).toBe(2);
		});

		it("cancels a user's open steps, narrowed to a campaign or an entry when asked", async () => {
			const a = point();
			const b = point();
			const user = `u-${unique()}`;
			const mine = (at: typeof a, entry: string, dueAt: number): ScheduleStepRequest => ({
				...at,
				entryId: entry,
				userId: user,
				dueAt,
				payload: {},
			});
			await store.scheduleSteps(
				[
					mine(a, `ea1-${user}`, T0),
					mine(a, `ea2-${user}`, T0),
					mine(a, `ea2-${user}`, T0 + HOUR),
					mine(b, `eb1-${user}`, T0),
					step(a, 'someone-else', T0),
				],
				T0,
			);
			expect(await store.cancelScheduledSteps({ userId: user, entryId: `ea2-${user}` }, T0)).toBe(
				2,
			);
			expect(await store.cancelScheduledSteps({ userId: user, campaignId: b.campaignId }, T0)).toBe(
				1,
			);
			// A claimed row is cancelled too; its claimer can no longer complete it.
			const claimedA = await claim(a);
			expect(claimedA.map((c) => c.entryId).sort()).toEqual(
				[`ea1-${user}`, `e-${a.campaignId}-someone-else`].sort(),
			);
			expect(await store.cancelScheduledSteps({ userId: user }, T0)).toBe(1);
			expect(await store.cancelScheduledSteps({ userId: user }, T0)).toBe(0);
			expect(await store.completeSteps(tokens(claimedA), T0)).toBe(1);
			expect(await claim(a, { now: T0 + DAY })).toEqual([]);
			expect(await claim(b, { now: T0 + DAY })).toEqual([]);
			expect(await store.cancelScheduledSteps({ userId: `nobody-${unique()}` }, T0)).toBe(0);
		});

		it('tells when the next claim could return something: a due time or the end of a lease', async () => {
			const at = point();
			expect(await store.nextScheduledDueAt(at)).toBeUndefined();
			await store.scheduleSteps([step(at, 1, T0 + HOUR), step(at, 2, T0 + 2 * HOUR)], T0);
			expect(await store.nextScheduledDueAt(at)).toBe(T0 + HOUR);
			expect(await store.nextScheduledDueAt({ ...at, stepId: 'other' })).toBeUndefined();

			// A claimed row counts from the end of its lease, when a claim could take it back.
			const [first] = await claim(at, { now: T0 + HOUR, leaseMs: 10 * MINUTE });
			expect(await store.nextScheduledDueAt(at)).toBe(T0 + HOUR + 10 * MINUTE);
			await store.completeSteps(tokens([first]), T0 + HOUR);
			expect(await store.nextScheduledDueAt(at)).toBe(T0 + 2 * HOUR);

			const [second] = await claim(at, { now: T0 + 2 * HOUR, leaseMs: 10 * MINUTE });
			expect(second.payload).toEqual({ n: 2 });
			expect(await store.nextScheduledDueAt(at)).toBe(T0 + 2 * HOUR + 10 * MINUTE);
			// A row due before that lease ends comes first.
			await store.scheduleSteps([step(at, 3, T0 + 2 * HOUR + 5 * MINUTE)], T0 + 2 * HOUR);
			expect(await store.nextScheduledDueAt(at)).toBe(T0 + 2 * HOUR + 5 * MINUTE);
			await store.cancelScheduledSteps({ userId: `u-${at.campaignId}-3` }, T0 + 2 * HOUR);
			expect(await store.nextScheduledDueAt(at)).toBe(T0 + 2 * HOUR + 10 * MINUTE);
			await store.completeSteps(tokens([second]), T0 + 2 * HOUR);
			expect(await store.nextScheduledDueAt(at)).toBeUndefined();
		});

		it('carries the item through as JSON: nested values and any Unicode', async () => {
			const at = point();
			const payload = {
				json: {
					userId: 'ü-1',
					profile: { name: 'Zoë Ångström', city: '東京', greeting: 'مرحبا', emoji: '👩🏽‍💻🚀' },
					tags: ['a', 'b', { deep: [1, 2.5, -3e-7, null, true, false] }],
					empty: {},
					none: [],
					quote: 'say "hi" \\ back\nnext\tline',
					'': 'empty key',
					big: 2 ** 53 - 1,
				},
				pairedItem: { item: 0 },
			};
			await store.scheduleSteps([step(at, 1, T0, payload)], T0);
			const [claimed] = await claim(at);
			expect(claimed.payload).toEqual(payload);
		});

		it('prunes finished rows a week after they finished, a bounded chunk per call', async () => {
			// Storage of its own: the chunk counts every finished row of the store.
			const fresh = await open();
			try {
				const at = point();
				const rows = Array.from({ length: 1001 }, (_, n) => step(at, n, T0));
				await fresh.scheduleSteps(rows, T0);
				for (;;) {
					const page = await claim(at, { limit: 500 }, fresh);
					if (page.length === 0) break;
					expect(await fresh.completeSteps(tokens(page), T0)).toBe(page.length);
				}
				// Within the week a re-run still finds every row.
				expect((await fresh.scheduleSteps(rows, T0)).scheduled.filter(Boolean)).toHaveLength(0);
				await claim(point(), { now: T0 + 7 * DAY }, fresh);
				expect((await fresh.scheduleSteps(rows, T0)).scheduled.filter(Boolean)).toHaveLength(0);
				// A claim (of any resume point) later than a week prunes 1,000 of them, no more.
				await claim(point(), { now: T0 + 7 * DAY + 1 }, fresh);
				const rerun = await fresh.scheduleSteps(rows, T0);
				expect(rerun.scheduled.filter(Boolean)).toHaveLength(1000);
			} finally {
				await fresh.close();
			}
		});

		it('refuses bad input before writing anything, naming the field', async () => {
			const at = point();
			const good = step(at, 1, T0);
			const bad = async (requests: unknown, field: string) => {
				const call = store.scheduleSteps(requests as ScheduleStepRequest[], T0);
				await expect(call).rejects.toThrow(InvalidInputError);
				await expect(store.scheduleSteps(requests as ScheduleStepRequest[], T0)).rejects.toThrow(
					new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `),
				);
			};
			await bad('nope', 'requests');
			await bad([good, { ...good, entryId: '' }], 'requests[1].entryId');
			await bad([{ ...good, campaignId: undefined }], 'requests[0].campaignId');
			await bad([{ ...good, stepId: 7 }], 'requests[0].stepId');
			await bad([{ ...good, userId: null }], 'requests[0].userId');
			await bad([{ ...good, dueAt: 1.5 }], 'requests[0].dueAt');
			await bad([{ ...good, dueAt: '2026-03-01' }], 'requests[0].dueAt');
			await bad([{ ...good, payload: [1, 2] }], 'requests[0].payload');
			await bad([{ ...good, payload: null }], 'requests[0].payload');
			await bad([{ ...good, payload: { n: 1n } }], 'requests[0].payload');
			await bad([{ ...good, payload: { text: 'a\u0000b' } }], 'requests[0].payload');
			await expect(store.scheduleSteps([good], Number.NaN)).rejects.toThrow(/^now: /);
			// Nothing of a refused batch was written.
			expect(await claim(at, { now: T0 + DAY })).toEqual([]);
			// A backslash before "u0000" is text, not a NUL.
			const slash = { ...good, payload: { text: 'C:\\u0000' } };
			expect((await store.scheduleSteps([slash], T0)).scheduled).toEqual([true]);
			expect((await claim(at))[0].payload).toEqual({ text: 'C:\\u0000' });

			await expect(claim(at, { limit: 0 })).rejects.toThrow(/^limit: .*from 1 to 10000/);
			await expect(claim(at, { limit: 10_001 })).rejects.toThrow(/^limit: /);
			await expect(claim(at, { leaseMs: 0 })).rejects.toThrow(/^leaseMs: /);
			await expect(claim(at, { now: Number.POSITIVE_INFINITY })).rejects.toThrow(/^now: /);
			await expect(claim({ ...at, stepId: '' })).rejects.toThrow(/^stepId: /);
			await expect(claim({ ...at, campaignId: '' })).rejects.toThrow(/^campaignId: /);
			await expect(store.completeSteps([{ id: 'abc', claimToken: 't' }], T0)).rejects.toThrow(
				/^claims\[0\]\.id: /,
			);
			await expect(store.releaseSteps([{ id: '1', claimToken: '' }], T0)).rejects.toThrow(
				/^claims\[0\]\.claimToken: /,
			);
			await expect(store.completeSteps({} as unknown as [], T0)).rejects.toThrow(/^claims: /);
			await expect(store.cancelScheduledSteps({ userId: '' }, T0)).rejects.toThrow(/^userId: /);
			await expect(store.cancelScheduledSteps({ userId: 'u', campaignId: '' }, T0)).rejects.toThrow(
				/^campaignId: /,
			);
			await expect(store.nextScheduledDueAt({ ...at, stepId: '' })).rejects.toThrow(/^stepId: /);
		});
	});
}
