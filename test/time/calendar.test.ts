import {
	addDuration,
	startOfLocalDay,
	startOfLocalWeek,
	startOfNextLocalDay,
	startOfNextLocalWeek,
	type DurationUnit,
} from '../../src/time/local-time';
import { HOUR, at, invalidInput, iso } from './helpers';

const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const SYDNEY = 'Australia/Sydney';
const ADELAIDE = 'Australia/Adelaide';
const KOLKATA = 'Asia/Kolkata';
const KATHMANDU = 'Asia/Kathmandu';
const CHATHAM = 'Pacific/Chatham';

describe('local days', () => {
	/** [zone, instant, start of its local day, start of the next, hours in that day] */
	test.each<[string, string, string, string, number]>([
		// 23-hour and 25-hour days.
		[NY, '2026-03-08T20:00:00.000Z', '2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z', 23],
		[NY, '2026-11-01T20:00:00.000Z', '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z', 25],
		[NY, '2026-11-01T06:30:00.000Z', '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z', 25], // 01:30 EST
		[
			BERLIN,
			'2026-03-29T12:00:00.000Z',
			'2026-03-28T23:00:00.000Z',
			'2026-03-29T22:00:00.000Z',
			23,
		],
		[
			BERLIN,
			'2026-10-25T12:00:00.000Z',
			'2026-10-24T22:00:00.000Z',
			'2026-10-25T23:00:00.000Z',
			25,
		],
		[
			SYDNEY,
			'2026-04-05T00:00:00.000Z',
			'2026-04-04T13:00:00.000Z',
			'2026-04-05T14:00:00.000Z',
			25,
		],
		[
			SYDNEY,
			'2026-10-04T00:00:00.000Z',
			'2026-10-03T14:00:00.000Z',
			'2026-10-04T13:00:00.000Z',
			23,
		],
		[
			ADELAIDE,
			'2026-04-05T00:00:00.000Z',
			'2026-04-04T13:30:00.000Z',
			'2026-04-05T14:30:00.000Z',
			25,
		],
		[
			ADELAIDE,
			'2026-10-04T00:00:00.000Z',
			'2026-10-03T14:30:00.000Z',
			'2026-10-04T13:30:00.000Z',
			23,
		],
		[
			CHATHAM,
			'2026-04-05T00:00:00.000Z',
			'2026-04-04T10:15:00.000Z',
			'2026-04-05T11:15:00.000Z',
			25,
		],
		[
			CHATHAM,
			'2026-09-27T00:00:00.000Z',
			'2026-09-26T11:15:00.000Z',
			'2026-09-27T10:15:00.000Z',
			23,
		],
		// Ordinary days, :30 and :45 offsets.
		[
			KOLKATA,
			'2026-03-10T12:00:00.000Z',
			'2026-03-09T18:30:00.000Z',
			'2026-03-10T18:30:00.000Z',
			24,
		],
		[
			KATHMANDU,
			'2026-03-10T12:00:00.000Z',
			'2026-03-09T18:15:00.000Z',
			'2026-03-10T18:15:00.000Z',
			24,
		],
		['UTC', '2026-03-10T12:00:00.000Z', '2026-03-10T00:00:00.000Z', '2026-03-11T00:00:00.000Z', 24],
		// Both sides of midnight.
		[
			KOLKATA,
			'2026-03-10T18:30:00.000Z',
			'2026-03-10T18:30:00.000Z',
			'2026-03-11T18:30:00.000Z',
			24,
		],
		[
			KOLKATA,
			'2026-03-10T18:29:59.999Z',
			'2026-03-09T18:30:00.000Z',
			'2026-03-10T18:30:00.000Z',
			24,
		],
		[NY, '2026-03-09T04:00:00.000Z', '2026-03-09T04:00:00.000Z', '2026-03-10T04:00:00.000Z', 24],
		[NY, '2026-03-09T03:59:59.999Z', '2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z', 23],
		// Midnight skipped: Santiago 2026-09-06 jumps from 00:00 -04 to 01:00 -03.
		[
			'America/Santiago',
			'2026-09-06T12:00:00.000Z',
			'2026-09-06T04:00:00.000Z',
			'2026-09-07T03:00:00.000Z',
			23,
		],
		[
			'America/Santiago',
			'2026-09-05T12:00:00.000Z',
			'2026-09-05T04:00:00.000Z',
			'2026-09-06T04:00:00.000Z',
			24,
		],
		// Santiago 2026-04-04 runs 23:00–24:00 twice (-03 then -04).
		[
			'America/Santiago',
			'2026-04-05T03:30:00.000Z',
			'2026-04-04T03:00:00.000Z',
			'2026-04-05T04:00:00.000Z',
			25,
		],
		// Beirut 2022-03-27 skipped midnight (00:00 +02 → 01:00 +03).
		[
			'Asia/Beirut',
			'2022-03-27T12:00:00.000Z',
			'2022-03-26T22:00:00.000Z',
			'2022-03-27T21:00:00.000Z',
			23,
		],
		[
			'Asia/Beirut',
			'2022-10-30T12:00:00.000Z',
			'2022-10-29T22:00:00.000Z',
			'2022-10-30T22:00:00.000Z',
			24,
		],
		// Samoa skipped 2011-12-30 entirely: Thursday 29th 24:00 -10 was Saturday 31st 00:00 +14.
		[
			'Pacific/Apia',
			'2011-12-29T12:00:00.000Z',
			'2011-12-29T10:00:00.000Z',
			'2011-12-30T10:00:00.000Z',
			24,
		],
		[
			'Pacific/Apia',
			'2011-12-30T10:00:00.000Z',
			'2011-12-30T10:00:00.000Z',
			'2011-12-31T10:00:00.000Z',
			24,
		],
	])('%s %s: day starts %s, next %s (%s h)', (zone, instant, start, next, hours) => {
		const time = at(instant);
		expect(iso(startOfLocalDay(time, zone))).toBe(start);
		expect(iso(startOfNextLocalDay(time, zone))).toBe(next);
		expect((at(next) - startOfLocalDay(at(next) - 1, zone)) / HOUR).toBe(hours);
	});

	it('keeps start ≤ instant < next even when the clock falls back across midnight', () => {
		// St. John's 2010-11-07: at 00:01 NDT the clock went back to 23:01 NST on the 6th, so the
		// 7th began at 02:30Z, the 6th returned at 02:31Z, and the 7th began again at 03:30Z.
		const zone = 'America/St_Johns';
		const rows: Array<[string, string, string]> = [
			['2010-11-07T02:30:30.000Z', '2010-11-07T02:30:00.000Z', '2010-11-08T03:30:00.000Z'],
			['2010-11-07T03:00:00.000Z', '2010-11-06T02:30:00.000Z', '2010-11-07T03:30:00.000Z'],
			['2010-11-07T03:30:00.000Z', '2010-11-07T02:30:00.000Z', '2010-11-08T03:30:00.000Z'],
		];
		for (const [instant, start, next] of rows) {
			expect(iso(startOfLocalDay(at(instant), zone))).toBe(start);
			expect(iso(startOfNextLocalDay(at(instant), zone))).toBe(next);
		}
	});
});

describe('local weeks (Monday 00:00 local)', () => {
	/** [zone, instant, start of its local week, start of the next] */
	test.each<[string, string, string, string]>([
		// East of UTC: the local Monday starts on Sunday in UTC.
		[KOLKATA, '2026-03-11T12:00:00.000Z', '2026-03-08T18:30:00.000Z', '2026-03-15T18:30:00.000Z'],
		[KOLKATA, '2026-03-08T18:30:00.000Z', '2026-03-08T18:30:00.000Z', '2026-03-15T18:30:00.000Z'],
		[KOLKATA, '2026-03-08T18:29:59.999Z', '2026-03-01T18:30:00.000Z', '2026-03-08T18:30:00.000Z'],
		[KATHMANDU, '2026-03-11T12:00:00.000Z', '2026-03-08T18:15:00.000Z', '2026-03-15T18:15:00.000Z'],
		[ADELAIDE, '2026-03-11T12:00:00.000Z', '2026-03-08T13:30:00.000Z', '2026-03-15T13:30:00.000Z'],
		[CHATHAM, '2026-03-08T10:15:00.000Z', '2026-03-08T10:15:00.000Z', '2026-03-15T10:15:00.000Z'],
		[CHATHAM, '2026-03-08T10:14:59.999Z', '2026-03-01T10:15:00.000Z', '2026-03-08T10:15:00.000Z'],
		// West of UTC: Monday 03:00Z is still Sunday evening in New York.
		[NY, '2026-03-09T03:00:00.000Z', '2026-03-02T05:00:00.000Z', '2026-03-09T04:00:00.000Z'],
		[NY, '2026-03-09T04:00:00.000Z', '2026-03-09T04:00:00.000Z', '2026-03-16T04:00:00.000Z'],
		['UTC', '2026-03-09T00:00:00.000Z', '2026-03-09T00:00:00.000Z', '2026-03-16T00:00:00.000Z'],
		['UTC', '2026-03-08T23:59:59.999Z', '2026-03-02T00:00:00.000Z', '2026-03-09T00:00:00.000Z'],
		// Weeks with a DST change: 167 and 169 hours.
		[BERLIN, '2026-03-25T12:00:00.000Z', '2026-03-22T23:00:00.000Z', '2026-03-29T22:00:00.000Z'],
		[BERLIN, '2026-10-21T12:00:00.000Z', '2026-10-18T22:00:00.000Z', '2026-10-25T23:00:00.000Z'],
		[SYDNEY, '2026-04-01T12:00:00.000Z', '2026-03-29T13:00:00.000Z', '2026-04-05T14:00:00.000Z'],
	])('%s %s: week starts %s, next %s', (zone, instant, start, next) => {
		expect(iso(startOfLocalWeek(at(instant), zone))).toBe(start);
		expect(iso(startOfNextLocalWeek(at(instant), zone))).toBe(next);
	});

	it('makes DST weeks 167 and 169 hours long', () => {
		const spring = at('2026-03-25T12:00:00.000Z');
		const fall = at('2026-10-21T12:00:00.000Z');
		expect((startOfNextLocalWeek(spring, BERLIN) - startOfLocalWeek(spring, BERLIN)) / HOUR).toBe(
			167,
		);
		expect((startOfNextLocalWeek(fall, BERLIN) - startOfLocalWeek(fall, BERLIN)) / HOUR).toBe(169);
	});
});

describe('addDuration', () => {
	/** [zone, instant, amount, unit, expected] */
	test.each<[string, string, number, DurationUnit, string]>([
		// Calendar days keep the local clock time: 09:00 + 1 day = 09:00, 23 or 25 hours later.
		[NY, '2026-03-07T14:00:00.000Z', 1, 'days', '2026-03-08T13:00:00.000Z'],
		[NY, '2026-10-31T13:00:00.000Z', 1, 'days', '2026-11-01T14:00:00.000Z'],
		[NY, '2026-03-08T13:00:00.000Z', -1, 'days', '2026-03-07T14:00:00.000Z'],
		[BERLIN, '2026-03-23T08:00:00.000Z', 1, 'weeks', '2026-03-30T07:00:00.000Z'],
		[BERLIN, '2026-10-24T07:00:00.000Z', 1, 'days', '2026-10-25T08:00:00.000Z'],
		[SYDNEY, '2026-04-03T22:00:00.000Z', 1, 'days', '2026-04-04T23:00:00.000Z'],
		[SYDNEY, '2026-10-02T23:00:00.000Z', 1, 'days', '2026-10-03T22:00:00.000Z'],
		[ADELAIDE, '2026-10-02T23:30:00.000Z', 1, 'days', '2026-10-03T22:30:00.000Z'],
		[ADELAIDE, '2026-04-03T22:30:00.000Z', 2, 'days', '2026-04-05T23:30:00.000Z'],
		[CHATHAM, '2026-09-25T20:15:00.000Z', 1, 'days', '2026-09-26T19:15:00.000Z'],
		[CHATHAM, '2026-04-03T19:15:00.000Z', 1, 'days', '2026-04-04T20:15:00.000Z'],
		[KATHMANDU, '2026-03-10T03:15:00.000Z', 30, 'days', '2026-04-09T03:15:00.000Z'],
		[KOLKATA, '2026-03-10T03:30:00.000Z', 2, 'weeks', '2026-03-24T03:30:00.000Z'],
		['UTC', '2026-03-10T09:00:00.000Z', 1, 'days', '2026-03-11T09:00:00.000Z'],
		// Landing on a skipped time: the first instant after the gap.
		[NY, '2026-03-07T07:30:00.000Z', 1, 'days', '2026-03-08T07:00:00.000Z'], // 02:30 → 03:00 EDT
		[BERLIN, '2026-03-28T01:30:00.000Z', 1, 'days', '2026-03-29T01:00:00.000Z'],
		[CHATHAM, '2026-09-25T14:15:00.000Z', 1, 'days', '2026-09-26T14:00:00.000Z'], // 03:00 → 03:45
		// Landing on a repeated time: the earlier occurrence, in both hemispheres.
		[NY, '2026-10-31T05:30:00.000Z', 1, 'days', '2026-11-01T05:30:00.000Z'], // 01:30 EDT
		[BERLIN, '2026-10-24T00:30:00.000Z', 1, 'days', '2026-10-25T00:30:00.000Z'], // 02:30 CEST
		[SYDNEY, '2026-04-03T15:30:00.000Z', 1, 'days', '2026-04-04T15:30:00.000Z'], // 02:30 AEDT
		[ADELAIDE, '2026-04-03T16:00:00.000Z', 1, 'days', '2026-04-04T16:00:00.000Z'], // 02:30 ACDT
		// From the second 01:30 (EST): a day later is 01:30 EST; zero days changes nothing.
		[NY, '2026-11-01T06:30:00.000Z', 1, 'days', '2026-11-02T06:30:00.000Z'],
		[NY, '2026-11-01T06:30:00.000Z', 0, 'days', '2026-11-01T06:30:00.000Z'],
		// A fraction of a day is elapsed time after the whole days.
		[NY, '2026-03-07T14:00:00.000Z', 1.5, 'days', '2026-03-09T01:00:00.000Z'],
		// Seconds, minutes and hours are elapsed time, whatever the clock does.
		[NY, '2026-03-07T14:00:00.000Z', 24, 'hours', '2026-03-08T14:00:00.000Z'], // 10:00 EDT
		[NY, '2026-11-01T05:30:00.000Z', 1, 'hours', '2026-11-01T06:30:00.000Z'], // 01:30 → 01:30
		[BERLIN, '2026-03-29T00:59:00.000Z', 1, 'minutes', '2026-03-29T01:00:00.000Z'], // 01:59 → 03:00
		[KATHMANDU, '2026-03-10T03:15:00.000Z', 90, 'seconds', '2026-03-10T03:16:30.000Z'],
		['UTC', '2026-03-10T09:00:00.000Z', -2.5, 'hours', '2026-03-10T06:30:00.000Z'],
	])('%s %s + %s %s = %s', (zone, instant, amount, unit, expected) => {
		expect(iso(addDuration(at(instant), amount, unit, zone))).toBe(expected);
	});

	it('rejects an unknown unit, a non-finite amount and an unknown zone', () => {
		const time = at('2026-03-10T09:00:00Z');
		expect(invalidInput(() => addDuration(time, 1, 'months' as DurationUnit, 'UTC')).field).toBe(
			'unit',
		);
		expect(invalidInput(() => addDuration(time, Number.NaN, 'days', 'UTC')).field).toBe('amount');
		expect(invalidInput(() => addDuration(time, Infinity, 'hours', 'UTC')).field).toBe('amount');
		expect(invalidInput(() => addDuration(time, 1, 'hours', 'Europe/Berln')).field).toBe(
			'timeZone',
		);
		expect(invalidInput(() => addDuration(Number.NaN, 1, 'hours', 'UTC')).field).toBe('instant');
	});
});

describe('calendar errors', () => {
	it('rejects an unknown zone rather than using UTC', () => {
		for (const run of [
			startOfLocalDay,
			startOfNextLocalDay,
			startOfLocalWeek,
			startOfNextLocalWeek,
		]) {
			const error = invalidInput(() => run(at('2026-03-10T09:00:00Z'), 'Europe/Atlantis'));
			expect(error.field).toBe('timeZone');
			expect(error.message).toContain('Europe/Atlantis');
		}
	});
});
