/**
 * Strict ISO 8601 instants. `Date.parse` alone rolls "2026-02-30" over to March and reads a
 * date-time without an offset in the server's zone; both would silently change a rule.
 */
const ISO_DATE_TIME =
	/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))$/i;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function inRange(parts: Array<number | undefined>): boolean {
	const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] =
		parts as number[];
	const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
	return (
		month >= 1 &&
		month <= 12 &&
		day >= 1 &&
		day <= daysInMonth &&
		hour <= 23 &&
		minute <= 59 &&
		second <= 59 &&
		offsetHours <= 23 &&
		offsetMinutes <= 59
	);
}

/**
 * Epoch ms of a date-time with an explicit offset (`2026-03-01T12:00:00Z`, `...+05:45`), or,
 * with `allowDate`, of a plain date at 00:00 UTC; undefined for anything else.
 */
export function parseIsoInstant(
	text: string,
	options: { allowDate?: boolean } = {},
): number | undefined {
	const parts = ISO_DATE_TIME.exec(text) ?? (options.allowDate ? ISO_DATE.exec(text) : null);
	if (!parts) return undefined;
	const numbers = parts.slice(1).map((part) => (part === undefined ? undefined : Number(part)));
	if (!inRange(numbers)) return undefined;
	const time = Date.parse(text);
	return Number.isNaN(time) ? undefined : time;
}
