import { InvalidInputError } from '../errors';
import {
	DAY_MS,
	MINUTE_MS,
	assertInstant,
	firstInstantIn,
	floor,
	isoWeekdayOfDay,
	offsetAt,
	zoneClock,
	type WallSet,
} from './local-clock';

/**
 * A daily delivery window in the user's local time (quiet hours are its complement).
 *
 * - `start` and `end` are local clock times "HH:mm"; `start` is inclusive, `end` exclusive.
 * - `end` earlier than `start` wraps past midnight: 21:00–02:00 runs from 21:00 on the opening
 *   day to 02:00 on the next; the part after midnight belongs to the opening day.
 * - `end` equal to `start` means all day: the window stays open 24 clock hours from `start`
 *   (00:00–00:00 is the whole calendar day; 09:00–09:00 runs to 09:00 the next day).
 * - `weekdays` are the ISO weekdays (1 = Monday … 7 = Sunday) on which the window OPENS;
 *   empty means every day.
 *
 * Membership is by the wall clock: an instant is inside when the user's clock then shows a time
 * inside the window of an opening day. On a spring-forward night the clock skips an hour, so a
 * window opening at 02:30 opens at 03:00; on a fall-back night the clock shows an hour twice, so
 * a window opening at 01:30 opens at the first 01:30, and during the repeated hour the window
 * follows the clock again (closed while it shows 01:00–01:29 the second time, a window ending at
 * 01:30 open again while it does).
 */
export interface DeliveryWindow {
	/** "HH:mm", local, inclusive. */
	start: string;
	/** "HH:mm", local, exclusive; before `start` wraps past midnight; equal to `start` = all day. */
	end: string;
	/** ISO weekdays 1 (Monday) – 7 (Sunday) on which the window opens; empty = every day. */
	weekdays: number[];
}

/** Parameters as they arrive from a node: text times, weekdays as numbers or numeric text. */
export interface DeliveryWindowInput {
	start?: unknown;
	end?: unknown;
	weekdays?: unknown;
}

const CLOCK_TIME = /^(\d{1,2}):(\d{2})$/;

function describe(value: unknown): string {
	if (typeof value === 'string')
		return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
	if (Array.isArray(value)) return 'a list';
	if (value === null || value === undefined) return String(value);
	if (typeof value === 'object') return 'an object';
	return String(value);
}

/** Minutes after midnight of "HH:mm" (1440 for "24:00" when `allowEndOfDay`). */
function parseClockMinutes(value: unknown, field: string, allowEndOfDay: boolean): number {
	const match = typeof value === 'string' ? CLOCK_TIME.exec(value.trim()) : null;
	if (match) {
		const hours = Number(match[1]);
		const minutes = Number(match[2]);
		if (hours <= 23 && minutes <= 59) return hours * 60 + minutes;
		if (allowEndOfDay && hours === 24 && minutes === 0) return 24 * 60;
	}
	throw new InvalidInputError(
		field,
		`must be a local time "HH:mm" from "00:00" to "23:59"${
			allowEndOfDay ? ' (or "24:00" for midnight)' : ''
		}, e.g. "09:00"; got ${describe(value)}.`,
	);
}

function formatClock(minutes: number): string {
	const hours = Math.floor(minutes / 60) % 24;
	return `${String(hours).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function parseWeekdays(value: unknown, field: string): number[] {
	if (value === undefined || value === null) return [];
	let items: unknown[];
	if (Array.isArray(value)) items = value;
	else if (typeof value === 'string') items = value.trim() === '' ? [] : value.split(',');
	else items = [value];
	const days = new Set<number>();
	for (const item of items) {
		const day = typeof item === 'string' && item.trim() !== '' ? Number(item.trim()) : item;
		if (typeof day !== 'number' || !Number.isInteger(day) || day < 1 || day > 7) {
			throw new InvalidInputError(
				field,
				`must list ISO weekdays as numbers from 1 (Monday) to 7 (Sunday), e.g. [1, 2, 3, 4, 5], or be empty for every day; got ${describe(item)}.`,
			);
		}
		days.add(day);
	}
	return [...days].sort((a, b) => a - b);
}

/**
 * Validates a delivery window from node parameters. Times "HH:mm" (a single-digit hour is
 * accepted) are normalised to two digits; an end of "24:00" becomes "00:00", which means the
 * same (09:00–00:00 closes at midnight, 00:00–00:00 is all day). Weekdays may be numbers,
 * numeric text or comma-separated text; they come back sorted without duplicates.
 * Errors are InvalidInputError naming `${field}.start`, `${field}.end` or `${field}.weekdays`.
 */
export function parseDeliveryWindow(input: DeliveryWindowInput, field: string): DeliveryWindow {
	if (typeof input !== 'object' || input === null || Array.isArray(input)) {
		throw new InvalidInputError(
			field,
			'must be an object with start and end ("HH:mm") and weekdays (1 = Monday … 7 = Sunday).',
		);
	}
	const start = parseClockMinutes(input.start, `${field}.start`, false);
	const end = parseClockMinutes(input.end, `${field}.end`, true);
	const weekdays = parseWeekdays(input.weekdays, `${field}.weekdays`);
	return { start: formatClock(start), end: formatClock(end), weekdays };
}

/**
 * The delivery window left by quiet hours: quiet 21:00–09:00 gives delivery 09:00–21:00.
 * Quiet hours of zero length (start = end) give an all-day window. `weekdays` are passed through
 * as the days on which the DELIVERY window opens (a window cannot express "no quiet hours at
 * weekends"). Errors name `${field}.start` / `${field}.end` of the quiet hours.
 */
export function quietHoursToWindow(
	quietStart: string,
	quietEnd: string,
	weekdays: number[] = [],
	field = 'quietHours',
): DeliveryWindow {
	// Quiet hours ending at "24:00" hand over at midnight; starting at "24:00" makes no sense.
	const quietFrom = parseClockMinutes(quietStart, `${field}.start`, false);
	const quietUntil = parseClockMinutes(quietEnd, `${field}.end`, true);
	return {
		start: formatClock(quietUntil),
		end: formatClock(quietFrom),
		weekdays: parseWeekdays(weekdays, `${field}.weekdays`),
	};
}

interface CompiledWindow extends WallSet {
	startMs: number;
	lengthMs: number;
}

/** Compiled windows by content: a node checks the same few windows for every item. */
const compiledWindows = new Map<string, CompiledWindow>();
const isArray = Array.isArray;
const MAX_COMPILED_WINDOWS = 1024;

function compileWindow(window: DeliveryWindow): CompiledWindow {
	if (typeof window !== 'object' || window === null) {
		throw new InvalidInputError('window', 'must be a delivery window { start, end, weekdays }.');
	}
	const { start, end, weekdays } = window;
	// Only well-typed windows are cached, so the key cannot mix up different inputs.
	if (typeof start !== 'string' || typeof end !== 'string' || !isArray(weekdays)) {
		return compileWindowUncached(window);
	}
	let key = `${start}|${end}|`;
	for (const day of weekdays) {
		if (typeof day !== 'number') return compileWindowUncached(window);
		key += `${day},`;
	}
	let compiled = compiledWindows.get(key);
	if (!compiled) {
		compiled = compileWindowUncached(window);
		if (compiledWindows.size >= MAX_COMPILED_WINDOWS) compiledWindows.clear();
		compiledWindows.set(key, compiled);
	}
	return compiled;
}

function compileWindowUncached(window: DeliveryWindow): CompiledWindow {
	const startMs = parseClockMinutes(window.start, 'window.start', false) * MINUTE_MS;
	const endMs = parseClockMinutes(window.end, 'window.end', true) * MINUTE_MS;
	let mask = 0;
	for (const day of parseWeekdays(window.weekdays, 'window.weekdays')) mask |= 1 << day;
	const lengthMs = (((endMs - startMs) % DAY_MS) + DAY_MS) % DAY_MS || DAY_MS;
	const spillMs = startMs + lengthMs - DAY_MS; // > 0 when the window runs past midnight
	const opensOn = (day: number) => mask === 0 || (mask & (1 << isoWeekdayOfDay(day))) !== 0;
	return {
		startMs,
		lengthMs,
		contains(wall) {
			const day = floor(wall / DAY_MS);
			const time = wall - day * DAY_MS;
			if (time >= startMs && time < startMs + lengthMs && opensOn(day)) return true;
			return spillMs > 0 && time < spillMs && opensOn(day - 1);
		},
		nextEntry(wall) {
			let day = floor((wall - startMs) / DAY_MS) + 1;
			for (let step = 0; step < 7 && !opensOn(day); step += 1) day += 1;
			return day * DAY_MS + startMs;
		},
	};
}

/**
 * Whether the user's clock in `zone` at `instant` shows a time inside the window of a day on
 * which it opens: start inclusive, end exclusive, wall-clock semantics (see DeliveryWindow).
 */
export function isWithinWindow(window: DeliveryWindow, instant: number, zone: string): boolean {
	const compiled = compileWindow(window);
	assertInstant(instant);
	const clock = zoneClock(zone);
	return compiled.contains(instant + offsetAt(clock, instant));
}

/** Weekly windows need at most 7 days; a skipped day (Pacific/Apia, 2011-12-30) adds one. */
const SEARCH_HORIZON_MS = 16 * DAY_MS;

/**
 * `instant` itself when it is inside the window, otherwise the earliest later instant that is.
 * DST: a window opening at a skipped time (02:30 on the spring-forward night) opens when the
 * clock jumps past it (03:00); a window opening at a repeated time (01:30 on the fall-back
 * night) opens at its EARLIER occurrence, in every zone. The result is never inside a gap.
 */
export function nextWindowStart(window: DeliveryWindow, instant: number, zone: string): number {
	const compiled = compileWindow(window);
	assertInstant(instant);
	const clock = zoneClock(zone);
	const result = firstInstantIn(clock, instant, compiled, SEARCH_HORIZON_MS);
	if (result === undefined) {
		throw new Error(
			`No delivery window ${window.start}–${window.end} in ${zone} within 16 days of ${new Date(instant).toISOString()}.`,
		);
	}
	return result;
}
