import { IANAZone } from 'luxon';

import { InvalidInputError } from '../errors';
import { assertTimeZone } from './time-zone';

/**
 * The local clock of an IANA zone, computed explicitly from UTC offsets.
 *
 * A "wall" value is a local date-time written as epoch ms as if the zone were UTC
 * (`Date.UTC(year, month - 1, day, hour, minute, ...)`), so `wall = instant + offset(instant)`.
 * Turning a wall value back into an instant is where DST bites, and this module pins one rule
 * for every caller: a local time maps to the EARLIEST instant at which the zone's clock shows
 * that time or later. So
 * - a time that occurs twice (01:30 on the fall-back night) is its earlier occurrence, in every
 *   zone and hemisphere (luxon's `DateTime.fromObject` is not used: it picks the later
 *   occurrence in America/New_York and the earlier in Australia/Sydney);
 * - a time that is skipped (02:30 on the spring-forward night) is the first instant after the
 *   gap, when the clock jumps to 03:00, never an instant inside the gap.
 *
 * Offsets are read from luxon (Intl) and cached per UTC day, with the transition instant found
 * once by bisection for a day that contains one. The assumption, as in the Temporal polyfill,
 * is that a zone changes its offset at most once within one UTC day.
 */

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Date's range is ±8.64e15 ms; a year of margin keeps every search below inside it. */
const MAX_INSTANT = 8.64e15 - 366 * DAY_MS;
/** A clock is never more than this ahead of UTC (Kiritimati +14:00; Sitka LMT was +14:58). */
const MAX_AHEAD_MS = 16 * HOUR_MS;

/** Bound once: global lookups are slow inside sandboxes such as jest's. */
export const floor = Math.floor;

/** Throws unless `instant` is a finite epoch-millisecond time within Date's range. */
export function assertInstant(instant: number, field = 'instant'): void {
	// Comparisons, not Number.isFinite / Math.abs: this runs for every check of every item.
	if (typeof instant !== 'number' || !(instant >= -MAX_INSTANT && instant <= MAX_INSTANT)) {
		throw new InvalidInputError(
			field,
			`must be a time in epoch milliseconds, e.g. 1773136800000; got ${String(instant)}.`,
		);
	}
}

/** One UTC day of a zone: its offset at the start and end, and where it changes, if it does. */
interface DayOffsets {
	first: number;
	last: number;
	/** First instant with offset `last`, when it differs from `first`. */
	changeAt?: number;
}

/** A zone with its offset cache; get one from `zoneClock`. */
export interface ZoneClock {
	zone: IANAZone;
	days: Map<number, DayOffsets>;
}

const MAX_CACHED_DAYS = 8192;
const MAX_CACHED_ZONES = 1024;
const clocks = new Map<string, ZoneClock>();

/** The clock of `zone`; throws InvalidInputError (field `timeZone`) for an unknown name. */
export function zoneClock(zone: string, field = 'timeZone'): ZoneClock {
	let clock = clocks.get(zone);
	if (clock) return clock;
	if (typeof zone !== 'string') {
		throw new InvalidInputError(
			field,
			`must be an IANA time zone name such as "Europe/Berlin"; got ${typeof zone}.`,
		);
	}
	assertTimeZone(zone, field);
	clock = { zone: IANAZone.create(zone), days: new Map() };
	// Only valid names get here, but case variants ("europe/berlin") are valid too.
	if (clocks.size >= MAX_CACHED_ZONES) clocks.clear();
	clocks.set(zone, clock);
	return clock;
}

/** Offset in ms straight from luxon; luxon reads it per whole second. */
function rawOffset(clock: ZoneClock, instant: number): number {
	const minutes = clock.zone.offset(instant);
	if (!Number.isFinite(minutes)) {
		throw new Error(`No UTC offset for time zone ${clock.zone.name} at ${instant}.`);
	}
	return Math.round(minutes * MINUTE_MS);
}

function dayOffsets(clock: ZoneClock, day: number): DayOffsets {
	const cached = clock.days.get(day);
	if (cached) return cached;
	const start = day * DAY_MS;
	const first = rawOffset(clock, start);
	const last = rawOffset(clock, start + DAY_MS - 1);
	const entry: DayOffsets = { first, last };
	if (first !== last) {
		// Offsets are constant within a second: bisect over whole seconds.
		let low = start / SECOND_MS;
		let high = (start + DAY_MS) / SECOND_MS - 1;
		while (high - low > 1) {
			const middle = Math.floor((low + high) / 2);
			if (rawOffset(clock, middle * SECOND_MS) === first) low = middle;
			else high = middle;
		}
		entry.changeAt = high * SECOND_MS;
	}
	if (clock.days.size >= MAX_CACHED_DAYS) clock.days.clear();
	clock.days.set(day, entry);
	return entry;
}

/** UTC offset of the zone at `instant`, in ms (east of UTC positive). */
export function offsetAt(clock: ZoneClock, instant: number): number {
	const entry = dayOffsets(clock, floor(instant / DAY_MS));
	return entry.changeAt === undefined || instant < entry.changeAt ? entry.first : entry.last;
}

/** The local clock reading at `instant` as a wall value. */
export function wallAt(clock: ZoneClock, instant: number): number {
	return instant + offsetAt(clock, instant);
}

/** First instant in (`after`, `limit`] at which the offset changes, if any. */
function nextTransition(clock: ZoneClock, after: number, limit: number): number | undefined {
	let day = Math.floor(after / DAY_MS);
	let entry = dayOffsets(clock, day);
	if (entry.changeAt !== undefined && entry.changeAt > after) {
		return entry.changeAt <= limit ? entry.changeAt : undefined;
	}
	let previous = entry.last;
	for (day += 1; day * DAY_MS <= limit; day += 1) {
		entry = dayOffsets(clock, day);
		if (entry.first !== previous) return day * DAY_MS;
		if (entry.changeAt !== undefined) return entry.changeAt <= limit ? entry.changeAt : undefined;
		previous = entry.last;
	}
	return undefined;
}

/**
 * A set of wall values, described by membership and by where it is next entered from below.
 * `nextEntry(wall)` is the smallest wall value greater than `wall` at which `contains` turns
 * true when the clock runs forward; sets are unions of half-open intervals [entry, exit).
 */
export interface WallSet {
	contains(wall: number): boolean;
	nextEntry(wall: number): number;
}

/**
 * Earliest instant in [`from`, `from + horizon`] at which the local clock shows a wall value
 * in `set`, or undefined. The clock runs linearly between offset changes, so each stretch of
 * constant offset needs one look: inside at its start, or entered at `nextEntry`, or not at all.
 * A forward jump (spring) or backward jump (fall) can land inside the set: then the answer is
 * the transition instant itself.
 */
export function firstInstantIn(
	clock: ZoneClock,
	from: number,
	set: WallSet,
	horizon: number,
): number | undefined {
	const limit = from + horizon;
	let start = from;
	while (start <= limit) {
		const offset = offsetAt(clock, start);
		const wall = start + offset;
		if (set.contains(wall)) return start;
		const candidate = set.nextEntry(wall) - offset;
		const stretchEnd = nextTransition(clock, start, limit);
		if (stretchEnd === undefined) return candidate <= limit ? candidate : undefined;
		if (candidate < stretchEnd) return candidate;
		start = stretchEnd;
	}
	return undefined;
}

/** The wall values at or after `target`. */
export function wallsFrom(target: number): WallSet {
	return { contains: (wall) => wall >= target, nextEntry: () => target };
}

/**
 * Earliest instant at which the clock shows `wall` or later: the earlier occurrence of a
 * repeated time, the end of the gap for a skipped one.
 */
export function instantOfWall(clock: ZoneClock, wall: number): number {
	let from = wall - MAX_AHEAD_MS;
	// Only pre-1900 local mean times can be further ahead; step back until the clock is behind.
	for (let step = 0; step < 4 && wallAt(clock, from) >= wall; step += 1) from -= MAX_AHEAD_MS;
	const instant = firstInstantIn(clock, from, wallsFrom(wall), 4 * DAY_MS);
	if (instant === undefined) {
		throw new Error(
			`Cannot place local time ${new Date(wall).toISOString()} in ${clock.zone.name}.`,
		);
	}
	return instant;
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a day index (`Math.floor(wall / DAY_MS)`). */
export function isoWeekdayOfDay(day: number): number {
	// Day 0, 1970-01-01, was a Thursday.
	return ((((day + 3) % 7) + 7) % 7) + 1;
}

/** A local date-time; `month` 1–12, `weekday` ISO 1 (Monday) – 7 (Sunday). */
export interface LocalDateTime {
	year: number;
	month: number;
	day: number;
	hour: number;
	minute: number;
	second: number;
	millisecond: number;
}

export interface LocalDateTimeWithOffset extends LocalDateTime {
	weekday: number;
	/** UTC offset in minutes, east positive (e.g. 345 for Asia/Kathmandu). */
	offsetMinutes: number;
}

/** Wall value of a local date-time; years 0–99 are taken literally, not as 19xx. */
export function wallOf(local: LocalDateTime): number {
	const date = new Date(0);
	date.setUTCFullYear(local.year, local.month - 1, local.day);
	date.setUTCHours(local.hour, local.minute, local.second, local.millisecond);
	return date.getTime();
}

/** What the clock in `zone` shows at `instant`. */
export function toLocalDateTime(instant: number, zone: string): LocalDateTimeWithOffset {
	assertInstant(instant);
	const clock = zoneClock(zone);
	const offset = offsetAt(clock, instant);
	const date = new Date(instant + offset);
	return {
		year: date.getUTCFullYear(),
		month: date.getUTCMonth() + 1,
		day: date.getUTCDate(),
		hour: date.getUTCHours(),
		minute: date.getUTCMinutes(),
		second: date.getUTCSeconds(),
		millisecond: date.getUTCMilliseconds(),
		weekday: isoWeekdayOfDay(Math.floor((instant + offset) / DAY_MS)),
		offsetMinutes: offset / MINUTE_MS,
	};
}

/**
 * The instant at which the clock in `zone` shows `local` (fields are not range-checked here;
 * they roll over as in `Date.UTC`). A repeated local time gives its EARLIER occurrence; a
 * skipped one gives the first instant after the gap (02:30 on the spring-forward night in
 * America/New_York → 03:00 EDT).
 */
export function localToInstant(local: LocalDateTime, zone: string): number {
	const wall = wallOf(local);
	assertInstant(wall, 'local date-time');
	return instantOfWall(zoneClock(zone), wall);
}
