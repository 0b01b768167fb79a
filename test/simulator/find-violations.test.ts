import { findViolations, type SentMessage, type SimulationReport } from './campaign-simulator';

/** The simulator's checker must see each kind of broken promise, or a clean run proves nothing. */
const at = (iso: string) => Date.parse(iso);

function report(
	sent: Array<Partial<SentMessage>>,
	events: SimulationReport['events'] = [],
	releases: SimulationReport['releases'] = [],
): SimulationReport {
	return {
		users: 1,
		days: 1,
		claimIntervalMs: 30 * 60_000,
		releases,
		zoneOf: new Map([['ana', 'Asia/Kolkata']]),
		events,
		sent: sent.map((s, i) => ({
			campaignId: 'abandoned-cart',
			entryId: `e${i}`,
			userId: 'ana',
			channel: 'in_app',
			tags: ['promo'],
			important: false,
			triggeredAt: at('2026-03-10T04:00:00Z'),
			cartId: 'A',
			sentAt: at('2026-03-10T05:00:00Z'),
			...s,
		})),
		entries: 0,
		exited: 0,
		capped: 0,
		deferred: 0,
		reRunsSkipped: 0,
		crashedThenRetried: 0,
		decisions: 0,
		log: new Map(),
	};
}

describe('findViolations', () => {
	it('finds nothing in a clean report', () => {
		expect(findViolations(report([{}]))).toEqual([]);
	});

	it('finds a user released before their due time, or later than one claim interval after it', () => {
		const due = at('2026-03-10T05:00:00Z');
		const release = (releasedAt: string, attempt = 1) => ({
			userId: 'ana',
			dueAt: due,
			releasedAt: at(releasedAt),
			attempt,
		});
		expect(
			findViolations(
				report([], [], [release('2026-03-10T05:00:00Z'), release('2026-03-10T05:30:00Z')]),
			),
		).toEqual([]);
		expect(findViolations(report([], [], [release('2026-03-10T04:59:59Z')]))).toEqual([
			'ana released at 2026-03-10T04:59:59.000Z, before due 2026-03-10T05:00:00.000Z',
		]);
		expect(findViolations(report([], [], [release('2026-03-10T05:30:00.001Z')]))).toEqual([
			'ana released at 2026-03-10T05:30:00.001Z, more than a claim interval after due 2026-03-10T05:00:00.000Z',
		]);
		// A dead execution's users come back when its lease runs out: later, by design.
		expect(findViolations(report([], [], [release('2026-03-10T07:00:00Z', 2)]))).toEqual([]);
	});

	it('finds a duplicate send', () => {
		expect(
			findViolations(
				report([{ entryId: 'x' }, { entryId: 'x', sentAt: at('2026-03-14T05:00:00Z') }]),
			),
		).toContainEqual('duplicate send abandoned-cart:x');
	});

	it('finds a send after the exception event with the same cart, not after another cart', () => {
		const bought = (cart: string) => [
			{
				userId: 'ana',
				name: 'Order Completed',
				occurredAt: at('2026-03-10T04:30:00Z'),
				properties: { cart_id: cart },
			},
		];
		expect(findViolations(report([{}], bought('A')))).toEqual([
			'abandoned-cart sent to ana at 2026-03-10T05:00:00.000Z after Order Completed at 2026-03-10T04:30:00.000Z',
		]);
		expect(findViolations(report([{}], bought('B')))).toEqual([]);
	});

	it('finds a send inside quiet hours in the user zone (21:00 local is quiet, 09:00 is not)', () => {
		expect(findViolations(report([{ sentAt: at('2026-03-10T15:30:00Z') }]))[0]).toMatch(
			/inside quiet hours/,
		);
		expect(findViolations(report([{ sentAt: at('2026-03-10T03:30:00Z') }]))).toEqual([]);
	});

	it('finds a weekly cap, a daily promo cap and a minimum gap exceeded', () => {
		const days = ['2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13'];
		const weekly = findViolations(
			report(days.map((day) => ({ sentAt: at(`${day}T05:00:00Z`), tags: ['x'] }))),
		);
		expect(weekly).toEqual(['ana got a 4th message within 7 days at 2026-03-13T05:00:00.000Z']);
		const daily = findViolations(report([{}, { sentAt: at('2026-03-10T08:00:00Z') }]));
		expect(daily).toEqual(['ana got two promo messages on 2026-03-10 (Asia/Kolkata)']);
		const gap = findViolations(
			report([{ tags: [] }, { tags: [], sentAt: at('2026-03-10T05:30:00Z') }]),
		);
		expect(gap).toEqual(['ana got two messages 30 min apart at 2026-03-10T05:30:00.000Z']);
	});
});
