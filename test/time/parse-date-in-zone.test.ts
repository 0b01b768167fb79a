import { DateTime } from 'luxon';

import { parseDateInZone } from '../../src/time/local-time';
import { at, invalidInput, iso } from './helpers';

const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const SYDNEY = 'Australia/Sydney';
const ADELAIDE = 'Australia/Adelaide';
const CHATHAM = 'Pacific/Chatham';

describe('parseDateInZone', () => {
	/** [value, zone, expected instant] */
	test.each<[string, string, string]>([
		// With an offset or Z: absolute, whatever the zone.
		['2026-03-10T09:00:00+05:45', NY, '2026-03-10T03:15:00.000Z'],
		['2026-03-10T09:00:00Z', 'Asia/Kolkata', '2026-03-10T09:00:00.000Z'],
		['2026-03-10T09:00:00.250-05:00', 'UTC', '2026-03-10T14:00:00.250Z'],
		['2026-03-10T09:00+0100', SYDNEY, '2026-03-10T08:00:00.000Z'],
		['2026-03-10 09:00+01:00', SYDNEY, '2026-03-10T08:00:00.000Z'],
		['  2026-03-10T09:00:00Z  ', 'UTC', '2026-03-10T09:00:00.000Z'],
		// Without an offset: local time in the zone.
		['2026-03-10T09:00', NY, '2026-03-10T13:00:00.000Z'],
		['2026-03-10T09:00:30', BERLIN, '2026-03-10T08:00:30.000Z'],
		['2026-03-10T09:00:00.5', 'Asia/Kathmandu', '2026-03-10T03:15:00.500Z'],
		['2026-03-10T09:00:00.123456', 'UTC', '2026-03-10T09:00:00.123Z'],
		['2026-03-10 09:00', ADELAIDE, '2026-03-09T22:30:00.000Z'],
		// A plain date: 00:00 local.
		['2026-03-10', 'Asia/Kolkata', '2026-03-09T18:30:00.000Z'],
		['2026-03-10', CHATHAM, '2026-03-09T10:15:00.000Z'],
		['2026-03-10', 'UTC', '2026-03-10T00:00:00.000Z'],
		['2026-03-10', NY, '2026-03-10T04:00:00.000Z'],
		['2026-09-06', 'America/Santiago', '2026-09-06T04:00:00.000Z'], // midnight skipped → 01:00
		// Skipped local times: the first instant after the gap.
		['2026-03-08T02:30', NY, '2026-03-08T07:00:00.000Z'],
		['2026-03-08T02:00', NY, '2026-03-08T07:00:00.000Z'],
		['2026-03-08T03:00', NY, '2026-03-08T07:00:00.000Z'],
		['2026-03-08T01:59:59.999', NY, '2026-03-08T06:59:59.999Z'],
		['2026-03-29T02:30', BERLIN, '2026-03-29T01:00:00.000Z'],
		['2026-10-04T02:30', SYDNEY, '2026-10-03T16:00:00.000Z'],
		['2026-10-04T02:30', ADELAIDE, '2026-10-03T16:30:00.000Z'],
		['2026-09-27T03:00', CHATHAM, '2026-09-26T14:00:00.000Z'],
		// Repeated local times: the earlier occurrence, in both hemispheres.
		['2026-11-01T01:30', NY, '2026-11-01T05:30:00.000Z'],
		['2026-11-01T01:00', NY, '2026-11-01T05:00:00.000Z'],
		['2026-11-01T02:00', NY, '2026-11-01T07:00:00.000Z'], // only once: 02:00 EST
		['2026-10-25T02:30', BERLIN, '2026-10-25T00:30:00.000Z'],
		['2026-04-05T02:30', SYDNEY, '2026-04-04T15:30:00.000Z'],
		['2026-04-05T02:30', ADELAIDE, '2026-04-04T16:00:00.000Z'],
		['2026-04-05T03:00', CHATHAM, '2026-04-04T13:15:00.000Z'],
	])('%j in %s = %s', (value, zone, expected) => {
		expect(iso(parseDateInZone(value, zone, 'delayUntil'))).toBe(expected);
	});

	it('accepts a Date, a luxon DateTime and epoch milliseconds as they are', () => {
		const time = at('2026-03-10T09:00:00.000Z');
		expect(parseDateInZone(new Date(time), NY, 'delayUntil')).toBe(time);
		expect(
			parseDateInZone(DateTime.fromMillis(time, { zone: 'Asia/Tokyo' }), NY, 'delayUntil'),
		).toBe(time);
		expect(parseDateInZone(time, NY, 'delayUntil')).toBe(time);
		expect(parseDateInZone(0, NY, 'delayUntil')).toBe(0);
	});

	test.each<[string, unknown]>([
		['an impossible date', '2026-02-30'],
		['a non-leap 29 February', '2026-02-29T10:00'],
		['hour 24', '2026-03-10T24:00'],
		['minute 60', '2026-03-10T09:60'],
		['second 60', '2026-03-10T09:59:60'],
		['an offset out of range', '2026-03-10T09:00+24:00'],
		['a date without a time after T', '2026-03-10T09'],
		['a local format', '10/03/2026'],
		['words', 'tomorrow'],
		['an empty string', ''],
		['NaN', Number.NaN],
		['Infinity', Infinity],
		['null', null],
		['undefined', undefined],
		['an object', {}],
		['a list', ['2026-03-10']],
		['a boolean', true],
		['an invalid Date', new Date('nope')],
		['an invalid DateTime', DateTime.invalid('test')],
	])('rejects %s, naming the field', (_label, value) => {
		const error = invalidInput(() => parseDateInZone(value, NY, 'Delay until'));
		expect(error.field).toBe('Delay until');
		expect(error.message).toMatch(/ISO 8601/);
	});

	it('says what it got', () => {
		expect(() => parseDateInZone('next Tuesday', BERLIN, 'until')).toThrow(
			/^until: must be a date: .* read in Europe\/Berlin .*; got "next Tuesday"\.$/,
		);
	});

	it('rejects an unknown zone, naming it', () => {
		const error = invalidInput(() => parseDateInZone('2026-03-10', 'America/Gotham', 'until'));
		expect(error.field).toBe('timeZone');
		expect(error.message).toContain('"America/Gotham"');
	});
});
