import { DateTime } from 'luxon';

import { InvalidInputError } from '../errors';
import { parseIsoInstant } from './iso-instant';
import { assertInstant, instantOfWall, wallOf, zoneClock } from './local-clock';

/**
 * Local time for the Delay and Frequency Cap nodes: all functions are pure, take instants as
 * epoch ms and zones as IANA names, and throw InvalidInputError for an unknown zone.
 *
 * DST convention, everywhere: a local time that occurs twice means its EARLIER occurrence; a
 * local time that is skipped means the first instant after the gap (the clock's jump to 03:00).
 */
export type { DeliveryWindow, DeliveryWindowInput } from './delivery-window';
export {
	isWithinWindow,
	nextWindowStart,
	parseDeliveryWindow,
	quietHoursToWindow,
} from './delivery-window';
export type { DurationUnit } from './calendar';
export {
	DURATION_UNITS,
	addDuration,
	startOfLocalDay,
	startOfLocalWeek,
	startOfNextLocalDay,
	startOfNextLocalWeek,
} from './calendar';
export type { ResolvedTimeZone, TimeZoneCandidate, TimeZoneSource } from './zone-chain';
export { TIME_ZONE_FIELDS, resolveTimeZone } from './zone-chain';
export type { LocalDateTime, LocalDateTimeWithOffset } from './local-clock';
export { localToInstant, toLocalDateTime } from './local-clock';

const LOCAL_DATE_TIME =
	/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/i;

function describe(value: unknown): string {
	if (typeof value === 'string')
		return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
	if (value instanceof Date) return 'an invalid Date';
	if (Array.isArray(value)) return 'a list';
	if (value === null || value === undefined) return String(value);
	if (typeof value === 'object') return 'an object';
	return `${typeof value} ${String(value)}`;
}

/**
 * The instant meant by a date from an item, for "delay until":
 * - an ISO 8601 date-time with an offset or `Z` (`2026-03-10T09:00:00+01:00`): that instant;
 * - an ISO date-time without an offset (`2026-03-10T09:00`, seconds and fractions optional, a
 *   space instead of `T` accepted): that local time in `zone`;
 * - a plain date (`2026-03-10`): 00:00 local in `zone` (the first instant of that day);
 * - a JS Date or a luxon DateTime (n8n expressions such as `{{ $now }}`): its instant;
 * - a number: epoch milliseconds.
 * A local time that occurs twice (fall-back night) is its EARLIER occurrence; one that is
 * skipped (spring-forward night) is the first instant after the gap (02:30 → 03:00).
 * Anything else, including impossible dates such as `2026-02-30`, throws InvalidInputError
 * naming `field`.
 */
export function parseDateInZone(value: unknown, zone: string, field: string): number {
	const clock = zoneClock(zone);
	const fail = (): never => {
		throw new InvalidInputError(
			field,
			`must be a date: ISO 8601 with an offset ("2026-03-10T09:00:00+01:00"), a local date-time read in ${zone} ("2026-03-10T09:00"), a date ("2026-03-10"), or epoch milliseconds; got ${describe(value)}.`,
		);
	};
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) return fail();
		assertInstant(value, field);
		return value;
	}
	if (value instanceof Date) {
		const time = value.getTime();
		if (Number.isNaN(time)) return fail();
		assertInstant(time, field);
		return time;
	}
	if (DateTime.isDateTime(value)) {
		if (!value.isValid) return fail();
		return value.toMillis();
	}
	if (typeof value !== 'string') return fail();
	const text = value.trim();
	const absolute = parseIsoInstant(text.replace(/^(\d{4}-\d{2}-\d{2}) (?=\d)/, '$1T'));
	if (absolute !== undefined) return absolute;
	const parts = LOCAL_DATE_TIME.exec(text);
	if (!parts) return fail();
	const [year, month, day, hour = 0, minute = 0, second = 0] = parts
		.slice(1, 7)
		.map((part) => (part === undefined ? undefined : Number(part))) as number[];
	const millisecond = parts[7] ? Number(parts[7].slice(0, 3).padEnd(3, '0')) : 0;
	const wall = wallOf({ year, month, day, hour, minute, second, millisecond });
	const date = new Date(wall);
	const valid =
		date.getUTCFullYear() === year &&
		date.getUTCMonth() + 1 === month &&
		date.getUTCDate() === day &&
		date.getUTCHours() === hour &&
		date.getUTCMinutes() === minute &&
		date.getUTCSeconds() === second;
	if (!valid) return fail();
	return instantOfWall(clock, wall);
}
