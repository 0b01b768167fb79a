import {
	isWithinWindow,
	nextWindowStart,
	parseDeliveryWindow,
	quietHoursToWindow,
	type DeliveryWindow,
} from '../../src/time/local-time';
import { at, invalidInput, iso } from './helpers';

const win = (start: string, end: string, weekdays: number[] = []): DeliveryWindow => ({
	start,
	end,
	weekdays,
});

const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const SYDNEY = 'Australia/Sydney';
const ADELAIDE = 'Australia/Adelaide';
const KOLKATA = 'Asia/Kolkata';
const KATHMANDU = 'Asia/Kathmandu';
const CHATHAM = 'Pacific/Chatham';

/** [zone, window, instant, inside?] */
type InsideRow = [string, DeliveryWindow, string, boolean];
/** [zone, window, from, expected next start] */
type NextRow = [string, DeliveryWindow, string, string];

const checkInside = (zone: string, window: DeliveryWindow, instant: string, inside: boolean) =>
	expect(isWithinWindow(window, at(instant), zone)).toBe(inside);
const checkNext = (zone: string, window: DeliveryWindow, from: string, expected: string) =>
	expect(iso(nextWindowStart(window, at(from), zone))).toBe(expected);

describe('09:00–21:00 every day on an ordinary day (2026-03-10), every zone', () => {
	const DAY = win('09:00', '21:00');
	/** [zone, 09:00 local, 21:00 local, 09:00 local the next day] */
	const edges: Array<[string, string, string, string]> = [
		[NY, '2026-03-10T13:00:00.000Z', '2026-03-11T01:00:00.000Z', '2026-03-11T13:00:00.000Z'],
		[BERLIN, '2026-03-10T08:00:00.000Z', '2026-03-10T20:00:00.000Z', '2026-03-11T08:00:00.000Z'],
		[SYDNEY, '2026-03-09T22:00:00.000Z', '2026-03-10T10:00:00.000Z', '2026-03-10T22:00:00.000Z'],
		[ADELAIDE, '2026-03-09T22:30:00.000Z', '2026-03-10T10:30:00.000Z', '2026-03-10T22:30:00.000Z'],
		[KOLKATA, '2026-03-10T03:30:00.000Z', '2026-03-10T15:30:00.000Z', '2026-03-11T03:30:00.000Z'],
		[KATHMANDU, '2026-03-10T03:15:00.000Z', '2026-03-10T15:15:00.000Z', '2026-03-11T03:15:00.000Z'],
		['UTC', '2026-03-10T09:00:00.000Z', '2026-03-10T21:00:00.000Z', '2026-03-11T09:00:00.000Z'],
		[CHATHAM, '2026-03-09T19:15:00.000Z', '2026-03-10T07:15:00.000Z', '2026-03-10T19:15:00.000Z'],
	];
	const before = (text: string) => iso(at(text) - 1);

	test.each(
		edges.flatMap(([zone, start, end]): InsideRow[] => [
			[zone, DAY, before(start), false],
			[zone, DAY, start, true],
			[zone, DAY, before(end), true],
			[zone, DAY, end, false],
		]),
	)('%s: inside at %#', (zone, window, instant, inside) => {
		checkInside(zone, window, instant, inside);
	});

	test.each(
		edges.flatMap(([zone, start, end, nextStart]): NextRow[] => [
			[zone, DAY, before(start), start],
			[zone, DAY, start, start],
			[zone, DAY, before(end), before(end)],
			[zone, DAY, end, nextStart],
		]),
	)('%s: next start %#', (zone, window, from, expected) => {
		checkNext(zone, window, from, expected);
	});
});

describe('spring forward: windows opening or closing at a skipped local time', () => {
	// New York 2026-03-08: 02:00 EST → 03:00 EDT at 07:00Z. Berlin 2026-03-29: 02:00 CET → 03:00
	// CEST at 01:00Z. Sydney 2026-10-04: 02:00 AEST → 03:00 AEDT at 2026-10-03T16:00Z. Adelaide
	// 2026-10-04: 02:00 ACST → 03:00 ACDT at 2026-10-03T16:30Z. Chatham 2026-09-27: 02:45 +12:45
	// → 03:45 +13:45 at 2026-09-26T14:00Z.
	const OPENS_IN_GAP = win('02:30', '04:00');
	const CLOSES_IN_GAP = win('22:00', '02:30');
	const CHATHAM_OPENS = win('03:00', '05:00');
	const CHATHAM_CLOSES = win('22:00', '03:00');

	test.each<InsideRow>([
		// Opening at 02:30 means opening at 03:00, when the clock jumps past 02:30.
		[NY, OPENS_IN_GAP, '2026-03-08T06:59:59.999Z', false],
		[NY, OPENS_IN_GAP, '2026-03-08T07:00:00.000Z', true],
		[NY, OPENS_IN_GAP, '2026-03-08T07:59:59.999Z', true],
		[NY, OPENS_IN_GAP, '2026-03-08T08:00:00.000Z', false],
		[NY, OPENS_IN_GAP, '2026-03-07T07:30:00.000Z', true], // the day before: 02:30 EST exists
		[NY, OPENS_IN_GAP, '2026-03-07T07:29:59.999Z', false],
		[BERLIN, OPENS_IN_GAP, '2026-03-29T00:59:59.999Z', false],
		[BERLIN, OPENS_IN_GAP, '2026-03-29T01:00:00.000Z', true],
		[BERLIN, OPENS_IN_GAP, '2026-03-29T01:59:59.999Z', true],
		[BERLIN, OPENS_IN_GAP, '2026-03-29T02:00:00.000Z', false],
		[SYDNEY, OPENS_IN_GAP, '2026-10-03T15:59:59.999Z', false],
		[SYDNEY, OPENS_IN_GAP, '2026-10-03T16:00:00.000Z', true],
		[SYDNEY, OPENS_IN_GAP, '2026-10-03T16:59:59.999Z', true],
		[SYDNEY, OPENS_IN_GAP, '2026-10-03T17:00:00.000Z', false],
		[ADELAIDE, OPENS_IN_GAP, '2026-10-03T16:29:59.999Z', false],
		[ADELAIDE, OPENS_IN_GAP, '2026-10-03T16:30:00.000Z', true],
		[ADELAIDE, OPENS_IN_GAP, '2026-10-03T17:29:59.999Z', true],
		[ADELAIDE, OPENS_IN_GAP, '2026-10-03T17:30:00.000Z', false],
		[CHATHAM, CHATHAM_OPENS, '2026-09-26T13:59:59.999Z', false],
		[CHATHAM, CHATHAM_OPENS, '2026-09-26T14:00:00.000Z', true],
		[CHATHAM, CHATHAM_OPENS, '2026-09-26T15:14:59.999Z', true],
		[CHATHAM, CHATHAM_OPENS, '2026-09-26T15:15:00.000Z', false],
		// Closing at 02:30 means closing when the clock jumps past it.
		[NY, CLOSES_IN_GAP, '2026-03-08T02:59:59.999Z', false],
		[NY, CLOSES_IN_GAP, '2026-03-08T03:00:00.000Z', true],
		[NY, CLOSES_IN_GAP, '2026-03-08T06:59:59.999Z', true],
		[NY, CLOSES_IN_GAP, '2026-03-08T07:00:00.000Z', false],
		[BERLIN, CLOSES_IN_GAP, '2026-03-29T00:59:59.999Z', true],
		[BERLIN, CLOSES_IN_GAP, '2026-03-29T01:00:00.000Z', false],
		[SYDNEY, CLOSES_IN_GAP, '2026-10-03T15:59:59.999Z', true],
		[SYDNEY, CLOSES_IN_GAP, '2026-10-03T16:00:00.000Z', false],
		[ADELAIDE, CLOSES_IN_GAP, '2026-10-03T16:29:59.999Z', true],
		[ADELAIDE, CLOSES_IN_GAP, '2026-10-03T16:30:00.000Z', false],
		[CHATHAM, CHATHAM_CLOSES, '2026-09-26T13:59:59.999Z', true],
		[CHATHAM, CHATHAM_CLOSES, '2026-09-26T14:00:00.000Z', false],
	])('%s %j at %s: inside = %s', checkInside);

	test.each<NextRow>([
		[NY, OPENS_IN_GAP, '2026-03-08T05:00:00.000Z', '2026-03-08T07:00:00.000Z'], // 03:00 EDT
		[NY, OPENS_IN_GAP, '2026-03-07T05:00:00.000Z', '2026-03-07T07:30:00.000Z'], // 02:30 EST
		[BERLIN, OPENS_IN_GAP, '2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z'],
		[SYDNEY, OPENS_IN_GAP, '2026-10-03T14:00:00.000Z', '2026-10-03T16:00:00.000Z'],
		[ADELAIDE, OPENS_IN_GAP, '2026-10-03T14:30:00.000Z', '2026-10-03T16:30:00.000Z'],
		[CHATHAM, CHATHAM_OPENS, '2026-09-26T11:15:00.000Z', '2026-09-26T14:00:00.000Z'], // 03:45
		[NY, CLOSES_IN_GAP, '2026-03-08T07:00:00.000Z', '2026-03-09T02:00:00.000Z'], // 22:00 EDT
		[BERLIN, CLOSES_IN_GAP, '2026-03-29T01:00:00.000Z', '2026-03-29T20:00:00.000Z'],
		[SYDNEY, CLOSES_IN_GAP, '2026-10-03T16:00:00.000Z', '2026-10-04T11:00:00.000Z'],
		[ADELAIDE, CLOSES_IN_GAP, '2026-10-03T16:30:00.000Z', '2026-10-04T11:30:00.000Z'],
		[CHATHAM, CHATHAM_CLOSES, '2026-09-26T14:00:00.000Z', '2026-09-27T08:15:00.000Z'],
		// A window lying wholly inside the gap does not open that night at all.
		[NY, win('02:00', '03:00'), '2026-03-08T05:00:00.000Z', '2026-03-09T06:00:00.000Z'],
		[BERLIN, win('02:15', '02:45'), '2026-03-28T23:00:00.000Z', '2026-03-30T00:15:00.000Z'],
	])('%s %j from %s opens at %s', checkNext);

	it('never returns an instant inside the gap', () => {
		for (let minute = 0; minute < 120; minute += 1) {
			const from = at('2026-03-08T05:00:00.000Z') + minute * 60_000; // 00:00–01:59 EST
			const next = nextWindowStart(OPENS_IN_GAP, from, NY);
			expect(iso(next)).toBe('2026-03-08T07:00:00.000Z');
		}
	});
});

describe('fall back: windows opening or closing at a repeated local time', () => {
	// New York 2026-11-01: 02:00 EDT → 01:00 EST at 06:00Z, so 01:00–01:59 runs 05:00Z–05:59Z
	// (EDT) and again 06:00Z–06:59Z (EST). Berlin 2026-10-25: 03:00 CEST → 02:00 CET at 01:00Z.
	// Sydney 2026-04-05: 03:00 AEDT → 02:00 AEST at 2026-04-04T16:00Z. Adelaide: 03:00 ACDT →
	// 02:00 ACST at 2026-04-04T16:30Z. Chatham: 03:45 +13:45 → 02:45 +12:45 at 2026-04-04T14:00Z.
	const NY_OPENS = win('01:30', '05:00');
	const NY_CLOSES = win('21:00', '01:30');
	const OPENS = win('02:30', '05:00');
	const CLOSES = win('21:00', '02:30');
	const CHATHAM_OPENS = win('03:00', '05:00');
	const CHATHAM_CLOSES = win('21:00', '03:00');

	test.each<InsideRow>([
		// Opens at the first 01:30; the clock then shows 01:00–01:29 again, which is outside.
		[NY, NY_OPENS, '2026-11-01T05:29:59.999Z', false],
		[NY, NY_OPENS, '2026-11-01T05:30:00.000Z', true], // 01:30 EDT
		[NY, NY_OPENS, '2026-11-01T05:59:59.999Z', true],
		[NY, NY_OPENS, '2026-11-01T06:00:00.000Z', false], // 01:00 EST
		[NY, NY_OPENS, '2026-11-01T06:29:59.999Z', false],
		[NY, NY_OPENS, '2026-11-01T06:30:00.000Z', true], // 01:30 EST
		[NY, NY_OPENS, '2026-11-01T09:59:59.999Z', true],
		[NY, NY_OPENS, '2026-11-01T10:00:00.000Z', false], // 05:00 EST
		// Closes at the first 01:30 and follows the clock through the repeated 01:00–01:29.
		[NY, NY_CLOSES, '2026-11-01T00:59:59.999Z', false],
		[NY, NY_CLOSES, '2026-11-01T01:00:00.000Z', true], // Saturday 21:00 EDT
		[NY, NY_CLOSES, '2026-11-01T05:29:59.999Z', true],
		[NY, NY_CLOSES, '2026-11-01T05:30:00.000Z', false],
		[NY, NY_CLOSES, '2026-11-01T05:59:59.999Z', false],
		[NY, NY_CLOSES, '2026-11-01T06:00:00.000Z', true],
		[NY, NY_CLOSES, '2026-11-01T06:29:59.999Z', true],
		[NY, NY_CLOSES, '2026-11-01T06:30:00.000Z', false],
		// The repeated hour itself, both times round.
		[NY, win('01:00', '02:00'), '2026-11-01T04:59:59.999Z', false],
		[NY, win('01:00', '02:00'), '2026-11-01T05:00:00.000Z', true],
		[NY, win('01:00', '02:00'), '2026-11-01T06:59:59.999Z', true],
		[NY, win('01:00', '02:00'), '2026-11-01T07:00:00.000Z', false], // 02:00 EST
		[BERLIN, OPENS, '2026-10-25T00:29:59.999Z', false],
		[BERLIN, OPENS, '2026-10-25T00:30:00.000Z', true], // 02:30 CEST
		[BERLIN, OPENS, '2026-10-25T01:00:00.000Z', false], // 02:00 CET
		[BERLIN, OPENS, '2026-10-25T01:29:59.999Z', false],
		[BERLIN, OPENS, '2026-10-25T01:30:00.000Z', true], // 02:30 CET
		[BERLIN, OPENS, '2026-10-25T03:59:59.999Z', true],
		[BERLIN, OPENS, '2026-10-25T04:00:00.000Z', false], // 05:00 CET
		[BERLIN, CLOSES, '2026-10-25T00:29:59.999Z', true],
		[BERLIN, CLOSES, '2026-10-25T00:30:00.000Z', false],
		[BERLIN, CLOSES, '2026-10-25T01:00:00.000Z', true],
		[BERLIN, CLOSES, '2026-10-25T01:30:00.000Z', false],
		[SYDNEY, OPENS, '2026-04-04T15:29:59.999Z', false],
		[SYDNEY, OPENS, '2026-04-04T15:30:00.000Z', true], // 02:30 AEDT
		[SYDNEY, OPENS, '2026-04-04T16:00:00.000Z', false], // 02:00 AEST
		[SYDNEY, OPENS, '2026-04-04T16:30:00.000Z', true], // 02:30 AEST
		[SYDNEY, OPENS, '2026-04-04T18:59:59.999Z', true],
		[SYDNEY, OPENS, '2026-04-04T19:00:00.000Z', false], // 05:00 AEST
		[SYDNEY, CLOSES, '2026-04-04T15:29:59.999Z', true],
		[SYDNEY, CLOSES, '2026-04-04T15:30:00.000Z', false],
		[SYDNEY, CLOSES, '2026-04-04T16:00:00.000Z', true],
		[SYDNEY, CLOSES, '2026-04-04T16:30:00.000Z', false],
		[ADELAIDE, OPENS, '2026-04-04T15:59:59.999Z', false],
		[ADELAIDE, OPENS, '2026-04-04T16:00:00.000Z', true], // 02:30 ACDT
		[ADELAIDE, OPENS, '2026-04-04T16:29:59.999Z', true],
		[ADELAIDE, OPENS, '2026-04-04T16:30:00.000Z', false], // 02:00 ACST
		[ADELAIDE, OPENS, '2026-04-04T17:00:00.000Z', true], // 02:30 ACST
		[ADELAIDE, OPENS, '2026-04-04T19:30:00.000Z', false], // 05:00 ACST
		[ADELAIDE, CLOSES, '2026-04-04T15:59:59.999Z', true],
		[ADELAIDE, CLOSES, '2026-04-04T16:00:00.000Z', false],
		[ADELAIDE, CLOSES, '2026-04-04T16:30:00.000Z', true],
		[ADELAIDE, CLOSES, '2026-04-04T17:00:00.000Z', false],
		[CHATHAM, CHATHAM_OPENS, '2026-04-04T13:14:59.999Z', false],
		[CHATHAM, CHATHAM_OPENS, '2026-04-04T13:15:00.000Z', true], // 03:00 +13:45
		[CHATHAM, CHATHAM_OPENS, '2026-04-04T13:59:59.999Z', true],
		[CHATHAM, CHATHAM_OPENS, '2026-04-04T14:00:00.000Z', false], // 02:45 +12:45
		[CHATHAM, CHATHAM_OPENS, '2026-04-04T14:15:00.000Z', true], // 03:00 +12:45
		[CHATHAM, CHATHAM_OPENS, '2026-04-04T16:15:00.000Z', false], // 05:00 +12:45
		[CHATHAM, CHATHAM_CLOSES, '2026-04-04T13:14:59.999Z', true],
		[CHATHAM, CHATHAM_CLOSES, '2026-04-04T13:15:00.000Z', false],
		[CHATHAM, CHATHAM_CLOSES, '2026-04-04T14:00:00.000Z', true],
		[CHATHAM, CHATHAM_CLOSES, '2026-04-04T14:15:00.000Z', false],
	])('%s %j at %s: inside = %s', checkInside);

	test.each<NextRow>([
		// The EARLIER occurrence, in both hemispheres (luxon alone would differ between them).
		[NY, NY_OPENS, '2026-11-01T04:00:00.000Z', '2026-11-01T05:30:00.000Z'],
		[BERLIN, OPENS, '2026-10-24T23:00:00.000Z', '2026-10-25T00:30:00.000Z'],
		[SYDNEY, OPENS, '2026-04-04T13:00:00.000Z', '2026-04-04T15:30:00.000Z'],
		[ADELAIDE, OPENS, '2026-04-04T13:30:00.000Z', '2026-04-04T16:00:00.000Z'],
		[CHATHAM, CHATHAM_OPENS, '2026-04-04T10:15:00.000Z', '2026-04-04T13:15:00.000Z'],
		// From inside the repeated hour, the clock reaches the opening time again.
		[NY, NY_OPENS, '2026-11-01T06:00:00.000Z', '2026-11-01T06:30:00.000Z'],
		[BERLIN, OPENS, '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z'],
		[SYDNEY, OPENS, '2026-04-04T16:00:00.000Z', '2026-04-04T16:30:00.000Z'],
		// A window that closed at the first 01:30 is entered again when the clock falls back.
		[NY, NY_CLOSES, '2026-11-01T05:30:00.000Z', '2026-11-01T06:00:00.000Z'],
		[BERLIN, CLOSES, '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z'],
		[SYDNEY, CLOSES, '2026-04-04T15:30:00.000Z', '2026-04-04T16:00:00.000Z'],
		[ADELAIDE, CLOSES, '2026-04-04T16:00:00.000Z', '2026-04-04T16:30:00.000Z'],
		[CHATHAM, CHATHAM_CLOSES, '2026-04-04T13:15:00.000Z', '2026-04-04T14:00:00.000Z'],
		// …and after the second closing, the next evening (standard time).
		[NY, NY_CLOSES, '2026-11-01T06:30:00.000Z', '2026-11-02T02:00:00.000Z'],
		[BERLIN, CLOSES, '2026-10-25T01:30:00.000Z', '2026-10-25T20:00:00.000Z'],
		[SYDNEY, CLOSES, '2026-04-04T16:30:00.000Z', '2026-04-05T11:00:00.000Z'],
	])('%s %j from %s opens at %s', checkNext);
});

describe('wrap-around windows and weekdays', () => {
	// Berlin, CET (+01:00). 2026-03-13 is a Friday.
	const FRIDAY_NIGHT = win('21:00', '02:00', [5]);
	const EVERY_NIGHT = win('21:00', '02:00');

	test.each<InsideRow>([
		[BERLIN, FRIDAY_NIGHT, '2026-03-13T19:59:59.999Z', false], // Fri 20:59:59.999
		[BERLIN, FRIDAY_NIGHT, '2026-03-13T20:00:00.000Z', true], // Fri 21:00
		[BERLIN, FRIDAY_NIGHT, '2026-03-13T22:59:59.999Z', true], // Fri 23:59:59.999
		[BERLIN, FRIDAY_NIGHT, '2026-03-13T23:00:00.000Z', true], // Sat 00:00, Friday's window
		[BERLIN, FRIDAY_NIGHT, '2026-03-14T00:00:00.000Z', true], // Sat 01:00
		[BERLIN, FRIDAY_NIGHT, '2026-03-14T00:59:59.999Z', true], // Sat 01:59:59.999
		[BERLIN, FRIDAY_NIGHT, '2026-03-14T01:00:00.000Z', false], // Sat 02:00
		[BERLIN, FRIDAY_NIGHT, '2026-03-14T20:00:00.000Z', false], // Sat 21:00: Saturday is not listed
		[BERLIN, FRIDAY_NIGHT, '2026-03-15T00:00:00.000Z', false], // Sun 01:00: Saturday's window
		[BERLIN, FRIDAY_NIGHT, '2026-03-13T00:00:00.000Z', false], // Fri 01:00: Thursday's window
		[BERLIN, EVERY_NIGHT, '2026-03-14T20:00:00.000Z', true],
		[BERLIN, EVERY_NIGHT, '2026-03-15T00:00:00.000Z', true],
		[BERLIN, EVERY_NIGHT, '2026-03-13T00:00:00.000Z', true],
		[BERLIN, EVERY_NIGHT, '2026-03-13T12:00:00.000Z', false],
		// Kathmandu (+05:45), Friday 22:00 → Saturday 06:00.
		[KATHMANDU, win('22:00', '06:00', [5]), '2026-03-13T16:14:59.999Z', false],
		[KATHMANDU, win('22:00', '06:00', [5]), '2026-03-13T16:15:00.000Z', true],
		[KATHMANDU, win('22:00', '06:00', [5]), '2026-03-14T00:14:59.999Z', true],
		[KATHMANDU, win('22:00', '06:00', [5]), '2026-03-14T00:15:00.000Z', false],
		// Weekdays given for a daytime window: Saturday and Sunday only (New York, EDT).
		[NY, win('09:00', '17:00', [6, 7]), '2026-03-13T14:00:00.000Z', false], // Fri 10:00
		[NY, win('09:00', '17:00', [6, 7]), '2026-03-14T13:00:00.000Z', true], // Sat 09:00
		[NY, win('09:00', '17:00', [6, 7]), '2026-03-15T20:59:59.999Z', true], // Sun 16:59:59.999
		[NY, win('09:00', '17:00', [6, 7]), '2026-03-15T21:00:00.000Z', false],
		[NY, win('09:00', '17:00', [1, 2, 3, 4, 5, 6, 7]), '2026-03-13T14:00:00.000Z', true],
	])('%s %j at %s: inside = %s', checkInside);

	test.each<NextRow>([
		[BERLIN, FRIDAY_NIGHT, '2026-03-13T00:00:00.000Z', '2026-03-13T20:00:00.000Z'],
		[BERLIN, FRIDAY_NIGHT, '2026-03-14T00:00:00.000Z', '2026-03-14T00:00:00.000Z'],
		[BERLIN, FRIDAY_NIGHT, '2026-03-14T01:00:00.000Z', '2026-03-20T20:00:00.000Z'],
		// The following Friday is after the spring change: 21:00 CET, then CEST.
		[BERLIN, FRIDAY_NIGHT, '2026-03-21T01:00:00.000Z', '2026-03-27T20:00:00.000Z'],
		[BERLIN, FRIDAY_NIGHT, '2026-03-28T01:00:00.000Z', '2026-04-03T19:00:00.000Z'],
		[BERLIN, EVERY_NIGHT, '2026-03-14T01:00:00.000Z', '2026-03-14T20:00:00.000Z'],
		[NY, win('09:00', '17:00', [6, 7]), '2026-03-09T12:00:00.000Z', '2026-03-14T13:00:00.000Z'],
		[NY, win('09:00', '17:00', [6, 7]), '2026-03-15T21:00:00.000Z', '2026-03-21T13:00:00.000Z'],
	])('%s %j from %s opens at %s', checkNext);
});

describe('all-day windows', () => {
	// Kolkata (+05:30). 2026-03-14 is a Saturday.
	const WEEKEND = win('00:00', '00:00', [6, 7]);
	const ALWAYS = win('00:00', '00:00');
	// Start = end other than midnight: 24 clock hours from start, Monday 09:00 → Tuesday 09:00.
	const MONDAY_FROM_NINE = win('09:00', '09:00', [1]);

	test.each<InsideRow>([
		[KOLKATA, WEEKEND, '2026-03-13T18:29:59.999Z', false], // Fri 23:59:59.999
		[KOLKATA, WEEKEND, '2026-03-13T18:30:00.000Z', true], // Sat 00:00
		[KOLKATA, WEEKEND, '2026-03-15T18:29:59.999Z', true], // Sun 23:59:59.999
		[KOLKATA, WEEKEND, '2026-03-15T18:30:00.000Z', false], // Mon 00:00
		[KOLKATA, ALWAYS, '2026-03-15T18:30:00.000Z', true],
		[KOLKATA, ALWAYS, '2026-03-10T07:07:07.007Z', true],
		[NY, ALWAYS, '2026-03-08T07:00:00.000Z', true],
		[NY, ALWAYS, '2026-11-01T06:00:00.000Z', true],
		['UTC', MONDAY_FROM_NINE, '2026-03-09T08:59:59.999Z', false],
		['UTC', MONDAY_FROM_NINE, '2026-03-09T09:00:00.000Z', true],
		['UTC', MONDAY_FROM_NINE, '2026-03-10T08:59:59.999Z', true],
		['UTC', MONDAY_FROM_NINE, '2026-03-10T09:00:00.000Z', false],
		// "24:00" as end: open until midnight.
		[
			'UTC',
			parseDeliveryWindow({ start: '18:00', end: '24:00' }, 'w'),
			'2026-03-10T23:59:59.999Z',
			true,
		],
		[
			'UTC',
			parseDeliveryWindow({ start: '18:00', end: '24:00' }, 'w'),
			'2026-03-11T00:00:00.000Z',
			false,
		],
		[
			'UTC',
			parseDeliveryWindow({ start: '00:00', end: '24:00' }, 'w'),
			'2026-03-11T00:00:00.000Z',
			true,
		],
	])('%s %j at %s: inside = %s', checkInside);

	test.each<NextRow>([
		[KOLKATA, WEEKEND, '2026-03-16T12:00:00.000Z', '2026-03-20T18:30:00.000Z'],
		[KOLKATA, WEEKEND, '2026-03-14T12:00:00.000Z', '2026-03-14T12:00:00.000Z'],
		[KOLKATA, ALWAYS, '2026-03-16T12:34:56.789Z', '2026-03-16T12:34:56.789Z'],
		[CHATHAM, ALWAYS, '2026-04-04T14:00:00.000Z', '2026-04-04T14:00:00.000Z'],
		['UTC', MONDAY_FROM_NINE, '2026-03-10T09:00:00.000Z', '2026-03-16T09:00:00.000Z'],
	])('%s %j from %s opens at %s', checkNext);
});

describe('parseDeliveryWindow', () => {
	test.each<[Record<string, unknown>, DeliveryWindow]>([
		[{ start: '09:00', end: '21:00', weekdays: [] }, win('09:00', '21:00')],
		[{ start: '9:00', end: '21:30' }, win('09:00', '21:30')],
		[{ start: ' 21:00 ', end: '02:00', weekdays: [5] }, win('21:00', '02:00', [5])],
		[{ start: '09:00', end: '24:00' }, win('09:00', '00:00')],
		[{ start: '00:00', end: '24:00' }, win('00:00', '00:00')],
		[{ start: '23:59', end: '00:00', weekdays: null }, win('23:59', '00:00')],
		[{ start: '08:00', end: '20:00', weekdays: [5, 1, 1, 3] }, win('08:00', '20:00', [1, 3, 5])],
		[{ start: '08:00', end: '20:00', weekdays: ['6', '7'] }, win('08:00', '20:00', [6, 7])],
		[{ start: '08:00', end: '20:00', weekdays: '1, 2,3' }, win('08:00', '20:00', [1, 2, 3])],
		[{ start: '08:00', end: '20:00', weekdays: '' }, win('08:00', '20:00')],
	])('parses %j', (input, expected) => {
		expect(parseDeliveryWindow(input, 'window')).toEqual(expected);
	});

	test.each<[Record<string, unknown>, string]>([
		[{ start: '24:00', end: '09:00' }, 'delivery.start'],
		[{ start: '25:00', end: '09:00' }, 'delivery.start'],
		[{ start: '09:60', end: '10:00' }, 'delivery.start'],
		[{ start: '0900', end: '10:00' }, 'delivery.start'],
		[{ start: '9', end: '10:00' }, 'delivery.start'],
		[{ start: 900, end: '10:00' }, 'delivery.start'],
		[{ start: '', end: '10:00' }, 'delivery.start'],
		[{ end: '10:00' }, 'delivery.start'],
		[{ start: '09:00', end: '24:01' }, 'delivery.end'],
		[{ start: '09:00', end: '9 pm' }, 'delivery.end'],
		[{ start: '09:00', end: '21:00', weekdays: [0] }, 'delivery.weekdays'],
		[{ start: '09:00', end: '21:00', weekdays: [8] }, 'delivery.weekdays'],
		[{ start: '09:00', end: '21:00', weekdays: [1.5] }, 'delivery.weekdays'],
		[{ start: '09:00', end: '21:00', weekdays: ['Mon'] }, 'delivery.weekdays'],
		[{ start: '09:00', end: '21:00', weekdays: [{}] }, 'delivery.weekdays'],
	])('rejects %j naming %s', (input, field) => {
		const error = invalidInput(() => parseDeliveryWindow(input, 'delivery'));
		expect(error.field).toBe(field);
		expect(error.message).toMatch(
			field.endsWith('weekdays') ? /1 \(Monday\) to 7 \(Sunday\)/ : /"HH:mm"/,
		);
	});

	it('rejects a missing input', () => {
		expect(invalidInput(() => parseDeliveryWindow(null as never, 'delivery')).field).toBe(
			'delivery',
		);
	});

	it('says what it got and what it expects', () => {
		expect(() => parseDeliveryWindow({ start: '25:00', end: '09:00' }, 'delivery')).toThrow(
			'delivery.start: must be a local time "HH:mm" from "00:00" to "23:59", e.g. "09:00"; got "25:00".',
		);
		expect(() => parseDeliveryWindow({ start: '09:00', end: '24:30' }, 'delivery')).toThrow(
			/delivery\.end: .*\(or "24:00" for midnight\).*got "24:30"/,
		);
	});
});

describe('quietHoursToWindow', () => {
	test.each<[string, string, number[] | undefined, DeliveryWindow]>([
		['21:00', '09:00', undefined, win('09:00', '21:00')],
		['22:30', '07:15', [1, 2, 3, 4, 5], win('07:15', '22:30', [1, 2, 3, 4, 5])],
		['00:00', '07:00', [], win('07:00', '00:00')],
		['22:00', '24:00', [], win('00:00', '22:00')],
		['13:00', '14:00', [], win('14:00', '13:00')],
		['21:00', '21:00', [], win('21:00', '21:00')], // no quiet hours: all day
	])('quiet %s–%s %j → %j', (quietStart, quietEnd, weekdays, expected) => {
		expect(quietHoursToWindow(quietStart, quietEnd, weekdays)).toEqual(expected);
	});

	it('sends nothing during quiet hours 21:00–09:00 (Berlin, both edges)', () => {
		const window = quietHoursToWindow('21:00', '09:00');
		const rows: Array<[string, boolean]> = [
			['2026-03-10T19:59:59.999Z', true], // 20:59:59.999: still allowed
			['2026-03-10T20:00:00.000Z', false], // 21:00: quiet starts
			['2026-03-11T07:59:59.999Z', false], // 08:59:59.999: still quiet
			['2026-03-11T08:00:00.000Z', true], // 09:00: quiet ends
		];
		for (const [instant, allowed] of rows) checkInside(BERLIN, window, instant, allowed);
		checkNext(BERLIN, window, '2026-03-10T20:00:00.000Z', '2026-03-11T08:00:00.000Z');
	});

	it('names the quiet-hours field', () => {
		expect(invalidInput(() => quietHoursToWindow('21:00', '9am')).field).toBe('quietHours.end');
		expect(invalidInput(() => quietHoursToWindow('24:00', '09:00')).field).toBe('quietHours.start');
		expect(invalidInput(() => quietHoursToWindow('21:00', '09:00', [9], 'quiet')).field).toBe(
			'quiet.weekdays',
		);
	});
});

describe('errors from isWithinWindow and nextWindowStart', () => {
	const DAY = win('09:00', '21:00');

	it('rejects an unknown zone, naming it, instead of using UTC', () => {
		for (const run of [
			() => isWithinWindow(DAY, at('2026-03-10T12:00:00Z'), 'Mars/Olympus_Mons'),
			() => nextWindowStart(DAY, at('2026-03-10T12:00:00Z'), 'Mars/Olympus_Mons'),
		]) {
			const error = invalidInput(run);
			expect(error.field).toBe('timeZone');
			expect(error.message).toContain('"Mars/Olympus_Mons" is not a known IANA time zone');
		}
	});

	it('rejects a malformed window and a non-finite instant', () => {
		expect(invalidInput(() => isWithinWindow(win('9h', '21:00'), 0, 'UTC')).field).toBe(
			'window.start',
		);
		expect(invalidInput(() => nextWindowStart(win('09:00', '21:00', [0]), 0, 'UTC')).field).toBe(
			'window.weekdays',
		);
		expect(invalidInput(() => nextWindowStart(DAY, Number.NaN, 'UTC')).field).toBe('instant');
		expect(invalidInput(() => isWithinWindow(DAY, Infinity, 'UTC')).field).toBe('instant');
	});
});
