import { InvalidInputError } from '../errors';
import {
	DAY_MS,
	HOUR_MS,
	MINUTE_MS,
	SECOND_MS,
	assertInstant,
	firstInstantIn,
	instantOfWall,
	isoWeekdayOfDay,
	wallAt,
	wallsFrom,
	zoneClock,
	type ZoneClock,
} from './local-clock';

/**
 * Calendar periods in the user's zone. A local day runs from the first instant at which the
 * clock shows that date to the first instant at which it shows a later one, so it lasts 23 or
 * 25 hours across DST, and where midnight itself is skipped (America/Santiago in September) it
 * starts at the first valid instant (01:00). Weeks start on Monday 00:00 local, which is not
 * UTC's Monday for anyone east or west of UTC.
 */

/** Index of the local date of `instant` (days since 1970-01-01 on the local calendar). */
function localDay(instant: number, zone: string): { clock: ZoneClock; day: number } {
	assertInstant(instant);
	const clock = zoneClock(zone);
	return { clock, day: Math.floor(wallAt(clock, instant) / DAY_MS) };
}

/** Search horizon for the next day/week start: a skipped date (Pacific/Apia 2011) adds a day. */
const NEXT_START_HORIZON_MS = 10 * DAY_MS;

function firstInstantAtOrAfterWall(clock: ZoneClock, after: number, wall: number): number {
	const result = firstInstantIn(clock, after, wallsFrom(wall), NEXT_START_HORIZON_MS);
	if (result === undefined) {
		throw new Error(`Cannot find the next local period start in ${clock.zone.name}.`);
	}
	return result;
}

/** First instant of the local day containing `instant` (≤ `instant`). */
export function startOfLocalDay(instant: number, zone: string): number {
	const { clock, day } = localDay(instant, zone);
	return instantOfWall(clock, day * DAY_MS);
}

/**
 * First instant after `instant` at which the clock shows the next local date (> `instant`);
 * 23 or 25 hours after the start of a DST day.
 */
export function startOfNextLocalDay(instant: number, zone: string): number {
	const { clock, day } = localDay(instant, zone);
	return firstInstantAtOrAfterWall(clock, instant, (day + 1) * DAY_MS);
}

/** First instant of the local week (Monday 00:00 local, or the first valid instant after). */
export function startOfLocalWeek(instant: number, zone: string): number {
	const { clock, day } = localDay(instant, zone);
	const monday = day - (isoWeekdayOfDay(day) - 1);
	return instantOfWall(clock, monday * DAY_MS);
}

/** First instant after `instant` at which the clock shows next Monday (> `instant`). */
export function startOfNextLocalWeek(instant: number, zone: string): number {
	const { clock, day } = localDay(instant, zone);
	const nextMonday = day - (isoWeekdayOfDay(day) - 1) + 7;
	return firstInstantAtOrAfterWall(clock, instant, nextMonday * DAY_MS);
}

export const DURATION_UNITS = ['seconds', 'minutes', 'hours', 'days', 'weeks'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];

const EXACT_UNIT_MS: Record<string, number> = {
	seconds: SECOND_MS,
	minutes: MINUTE_MS,
	hours: HOUR_MS,
};

/**
 * `instant` plus `amount` units (negative subtracts), result rounded to whole ms.
 *
 * - `seconds`, `minutes`, `hours` are elapsed time: 24 hours is always 86,400,000 ms, so across
 *   a DST change the local clock time moves (09:00 + 24 h on the spring-forward day = 10:00).
 * - `days` and `weeks` are calendar days in `zone`: the same local clock time on the date that
 *   many days later (09:00 + 1 day = 09:00 the next day, 23 or 25 hours later across DST).
 *   If that local time occurs twice, the earlier occurrence; if it is skipped, the first
 *   instant after the gap (02:30 + 1 day onto the spring-forward night = 03:00). A fraction of a
 *   day is added as elapsed time after the whole days (1.5 days = 1 calendar day + 12 hours).
 */
export function addDuration(
	instant: number,
	amount: number,
	unit: DurationUnit,
	zone: string,
): number {
	assertInstant(instant);
	if (typeof amount !== 'number' || !Number.isFinite(amount)) {
		throw new InvalidInputError('amount', `must be a finite number; got ${String(amount)}.`);
	}
	const exact = EXACT_UNIT_MS[unit];
	if (exact !== undefined) {
		zoneClock(zone); // validate the zone for every unit, not only for days and weeks
		return checked(Math.round(instant + amount * exact));
	}
	if (unit !== 'days' && unit !== 'weeks') {
		throw new InvalidInputError(
			'unit',
			`must be one of ${DURATION_UNITS.join(', ')}; got ${JSON.stringify(unit)}.`,
		);
	}
	const clock = zoneClock(zone);
	const days = unit === 'weeks' ? amount * 7 : amount;
	const wholeDays = Math.trunc(days);
	const fraction = days - wholeDays;
	const base =
		wholeDays === 0
			? instant
			: instantOfWall(clock, checked(wallAt(clock, instant) + wholeDays * DAY_MS));
	return checked(Math.round(base + fraction * DAY_MS));
}

function checked(instant: number): number {
	assertInstant(instant, 'result');
	return instant;
}
