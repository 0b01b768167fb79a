import { DateTime } from 'luxon';

import { localToInstant, toLocalDateTime } from '../../src/time/local-time';
import { TRANSITIONS_2026, ZONES, at, iso } from './helpers';

const MINUTE = 60_000;

/** Small deterministic generator (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

describe('the transitions the tests rely on', () => {
	test.each(ZONES.map((zone) => [zone]))(
		'%s changes offset exactly at the listed instants in 2026',
		(zone) => {
			const listed = TRANSITIONS_2026[zone].map(at);
			for (const transition of listed) {
				const before = DateTime.fromMillis(transition - 1, { zone }).offset;
				const after = DateTime.fromMillis(transition, { zone }).offset;
				expect(after).not.toBe(before);
			}
			// No other change: daily samples differ only across a listed transition.
			const start = at('2026-01-01T00:00:00Z');
			let previous = DateTime.fromMillis(start, { zone }).offset;
			for (let time = start; time <= at('2027-01-01T00:00:00Z'); time += 86_400_000) {
				const offset = DateTime.fromMillis(time, { zone }).offset;
				if (offset !== previous) {
					expect(listed.some((t) => t > time - 86_400_000 && t <= time)).toBe(true);
				}
				previous = offset;
			}
		},
	);
});

describe('toLocalDateTime', () => {
	test.each<[string, string, string, number, number]>([
		['2026-03-10T12:00:00.000Z', 'Asia/Kathmandu', '2026-03-10T17:45:00.000', 2, 345],
		['2026-03-08T07:00:00.000Z', 'America/New_York', '2026-03-08T03:00:00.000', 7, -240],
		['2026-03-08T06:59:59.999Z', 'America/New_York', '2026-03-08T01:59:59.999', 7, -300],
		['2026-04-04T14:00:00.000Z', 'Pacific/Chatham', '2026-04-05T02:45:00.000', 7, 765],
		['2026-04-04T13:59:59.999Z', 'Pacific/Chatham', '2026-04-05T03:44:59.999', 7, 825],
	])('%s in %s is %s, weekday %s, offset %s min', (instant, zone, local, weekday, offset) => {
		const result = toLocalDateTime(at(instant), zone);
		const text = `${result.year}-${String(result.month).padStart(2, '0')}-${String(result.day).padStart(2, '0')}T${String(result.hour).padStart(2, '0')}:${String(result.minute).padStart(2, '0')}:${String(result.second).padStart(2, '0')}.${String(result.millisecond).padStart(3, '0')}`;
		expect(text).toBe(local);
		expect(result.weekday).toBe(weekday);
		expect(result.offsetMinutes).toBe(offset);
	});

	it('agrees with luxon for 4,000 random instants (2000–2040), DST edges included', () => {
		const next = random(7);
		const zones = [...ZONES, 'America/Santiago', 'Asia/Beirut', 'America/St_Johns', 'Pacific/Apia'];
		const low = at('2000-01-01T00:00:00Z');
		const high = at('2040-01-01T00:00:00Z');
		const mismatches: string[] = [];
		for (let i = 0; i < 4000; i += 1) {
			const zone = zones[Math.floor(next() * zones.length)];
			const transitions = TRANSITIONS_2026[zone] ?? [];
			const time =
				i % 2 === 0 || transitions.length === 0
					? Math.floor(low + next() * (high - low))
					: at(transitions[Math.floor(next() * transitions.length)]) +
						Math.floor((next() - 0.5) * 4 * 3_600_000);
			const mine = toLocalDateTime(time, zone);
			const theirs = DateTime.fromMillis(time, { zone });
			const same =
				mine.year === theirs.year &&
				mine.month === theirs.month &&
				mine.day === theirs.day &&
				mine.hour === theirs.hour &&
				mine.minute === theirs.minute &&
				mine.second === theirs.second &&
				mine.millisecond === theirs.millisecond &&
				mine.weekday === theirs.weekday &&
				mine.offsetMinutes === theirs.offset;
			if (!same)
				mismatches.push(`${zone} ${iso(time)}: ${JSON.stringify(mine)} vs ${theirs.toISO()}`);
		}
		expect(mismatches).toEqual([]);
	});
});

describe('localToInstant', () => {
	test.each<[string, Parameters<typeof localToInstant>[0], string]>([
		[
			'America/New_York',
			{ year: 2026, month: 3, day: 8, hour: 2, minute: 30, second: 0, millisecond: 0 },
			'2026-03-08T07:00:00.000Z',
		],
		[
			'America/New_York',
			{ year: 2026, month: 11, day: 1, hour: 1, minute: 30, second: 0, millisecond: 0 },
			'2026-11-01T05:30:00.000Z',
		],
		[
			'Australia/Sydney',
			{ year: 2026, month: 4, day: 5, hour: 2, minute: 30, second: 0, millisecond: 0 },
			'2026-04-04T15:30:00.000Z',
		],
		[
			'Asia/Kathmandu',
			{ year: 2026, month: 3, day: 10, hour: 9, minute: 0, second: 0, millisecond: 0 },
			'2026-03-10T03:15:00.000Z',
		],
		// Fields roll over as in Date.UTC: 32 March is 1 April.
		[
			'UTC',
			{ year: 2026, month: 3, day: 32, hour: 0, minute: 0, second: 0, millisecond: 0 },
			'2026-04-01T00:00:00.000Z',
		],
	])('%s %j = %s', (zone, local, expected) => {
		expect(iso(localToInstant(local, zone))).toBe(expected);
	});

	/**
	 * Independent oracle: walk every minute around each 2026 transition with luxon and record,
	 * for each local minute, the first instant at which the clock shows it or later.
	 */
	test.each(
		Object.entries(TRANSITIONS_2026).flatMap(([zone, transitions]) =>
			transitions.map((transition) => [zone, transition]),
		),
	)(
		'%s around %s: every local minute maps to the first instant the clock reaches it',
		(zone, transition) => {
			const center = at(transition);
			const firstReaching = new Map<number, number>();
			let highest = -Infinity;
			for (let time = center - 40 * 3_600_000; time <= center + 40 * 3_600_000; time += MINUTE) {
				const local = DateTime.fromMillis(time, { zone });
				const wall = time + local.offset * MINUTE;
				for (
					let minute = Math.max(highest + MINUTE, wall - 3 * 3_600_000);
					minute <= wall;
					minute += MINUTE
				) {
					firstReaching.set(minute, time);
				}
				highest = Math.max(highest, wall);
			}
			const mismatches: string[] = [];
			const centerWall = center + DateTime.fromMillis(center, { zone }).offset * MINUTE;
			for (
				let wall = centerWall - 24 * 3_600_000;
				wall <= centerWall + 24 * 3_600_000;
				wall += MINUTE
			) {
				const date = new Date(wall);
				const instant = localToInstant(
					{
						year: date.getUTCFullYear(),
						month: date.getUTCMonth() + 1,
						day: date.getUTCDate(),
						hour: date.getUTCHours(),
						minute: date.getUTCMinutes(),
						second: 0,
						millisecond: 0,
					},
					zone,
				);
				if (instant !== firstReaching.get(wall)) {
					mismatches.push(
						`${date.toISOString()} → ${iso(instant)}, expected ${iso(firstReaching.get(wall) ?? NaN)}`,
					);
				}
			}
			expect(mismatches).toEqual([]);
		},
	);
});
