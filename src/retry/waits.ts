/**
 * How long to wait before trying again: what the server advertises (`Retry-After`, and for
 * 429 the rate-limit reset), else exponential backoff with full jitter. Framework-free; the
 * only timer of the package's retries is {@link sleep}.
 */

/** Reads one response header by name (any case); undefined or null when absent. */
export type HeaderGetter = (name: string) => string | null | undefined;

/** The one timer every retry, pacing and not-found wait of the package sleeps on. */
export const sleep = (ms: number): Promise<void> =>
	new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A getter over a plain header record, whatever the case of its names. */
export function headerGetter(headers: Record<string, string | undefined>): HeaderGetter {
	return (name) => {
		const lower = name.toLowerCase();
		const direct = headers[lower];
		if (direct !== undefined) return direct;
		const key = Object.keys(headers).find((k) => k.toLowerCase() === lower);
		return key === undefined ? undefined : headers[key];
	};
}

/**
 * `Retry-After` in ms (RFC 9110): delay-seconds, or an HTTP date measured against `now`
 * (best the response's own `Date`, so clock skew does not matter). A date already past is 0;
 * absent or unreadable is undefined.
 */
export function parseRetryAfter(header: HeaderGetter, now: number): number | undefined {
	const value = header('retry-after')?.trim();
	if (!value) return undefined;
	if (/^\d+$/.test(value)) return Number(value) * 1000;
	// An HTTP date has a weekday and a month name; Date.parse would also read "-5" as a year.
	const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
	return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * `X-RateLimit-Reset` in ms: the Unix time (seconds) the rate-limit window resets, as
 * Intercom sends it. A time already past is 0; absent or unreadable is undefined.
 */
export function rateLimitResetWaitMs(header: HeaderGetter, now: number): number | undefined {
	const value = header('x-ratelimit-reset')?.trim();
	if (!value || !/^\d+(\.\d+)?$/.test(value)) return undefined;
	return Math.max(0, Math.round(Number(value) * 1000 - now));
}

/**
 * The wait an answer advertises before a retry, or undefined when it advertises none.
 * `Retry-After` counts on any status (429, and 503 as RFC 9110 allows). The rate-limit reset
 * counts on 429 only: Intercom sends `X-RateLimit-Reset` on every authenticated answer, and on
 * a 5xx it says when the rate window resets, not when the server will be well again.
 */
export function advertisedWaitMs(
	status: number,
	header: HeaderGetter,
	now: number,
): number | undefined {
	const retryAfter = parseRetryAfter(header, now);
	if (retryAfter !== undefined) return retryAfter;
	return status === 429 ? rateLimitResetWaitMs(header, now) : undefined;
}

export interface BackoffOptions {
	/** The ceiling of the first retry's wait. */
	baseDelayMs: number;
	/** No wait is longer. */
	maxDelayMs: number;
	/** In [0, 1). Default Math.random. */
	random?: () => number;
}

/**
 * Full jitter: uniform in [0, min(maxDelayMs, baseDelayMs * 2^(retry - 1))), `retry` counting
 * from 1. Spreads the retries of callers that failed together, so they do not fire together.
 */
export function backoffMs(retry: number, options: BackoffOptions): number {
	const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (Math.max(1, retry) - 1));
	return Math.floor((options.random ?? Math.random)() * ceiling);
}
