import type { HttpRequest, HttpResponse, HttpTransport } from './channel';

/**
 * Retries for provider calls: 429 waits exactly what the provider advertises, 5xx and network
 * errors back off exponentially with full jitter, other answers are returned as they are.
 * Framework-free; the only timer is the default `sleep`.
 */
export interface RetryOptions {
	/** Requests in all, the first included. Default 5. */
	maxAttempts?: number;
	/** Backoff of the first retry before jitter. Default 500 ms. */
	baseDelayMs?: number;
	/**
	 * Longest wait between two attempts. Backoff is capped at it; an advertised wait
	 * (`Retry-After`, `X-RateLimit-Reset`) longer than it is not shortened but given up on.
	 * Default 30 000 ms.
	 */
	maxDelayMs?: number;
	sleep?: (ms: number) => Promise<void>;
	/** In [0, 1): the jitter. Default Math.random. */
	random?: () => number;
	/** Epoch milliseconds, to turn `Retry-After` dates and `X-RateLimit-Reset` into waits. */
	now?: () => number;
}

export interface RetryResult {
	/** The last answer, absent when none arrived (network errors only). */
	response?: HttpResponse;
	/** Requests sent, the first included. */
	attempts: number;
	/** Set when the call gave up: retries exhausted, a wait beyond the cap, network errors. */
	error?: string;
}

export const DEFAULT_RETRY = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

const defaultSleep = (ms: number): Promise<void> =>
	new Promise((resolve) => setTimeout(resolve, ms));

function header(response: HttpResponse, name: string): string | undefined {
	const direct = response.headers[name];
	if (direct !== undefined) return direct;
	// The contract says lower-case names; a transport that forgot is still understood.
	const key = Object.keys(response.headers).find((k) => k.toLowerCase() === name);
	return key === undefined ? undefined : response.headers[key];
}

/**
 * The wait a response advertises, in ms, or undefined when it advertises none:
 * `Retry-After` as delay-seconds or an HTTP date, else `X-RateLimit-Reset` as the Unix time
 * (seconds) the window resets, which Intercom sends with its 429s. A time already past is 0.
 */
export function advertisedWaitMs(response: HttpResponse, now: number): number | undefined {
	const retryAfter = header(response, 'retry-after')?.trim();
	if (retryAfter) {
		if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
		const date = Date.parse(retryAfter);
		if (!Number.isNaN(date)) return Math.max(0, date - now);
	}
	const reset = header(response, 'x-ratelimit-reset')?.trim();
	if (reset && /^\d+(\.\d+)?$/.test(reset))
		return Math.max(0, Math.round(Number(reset) * 1000 - now));
	return undefined;
}

/** Full jitter: uniform in [0, min(maxDelayMs, baseDelayMs * 2^(retry - 1))). */
export function backoffMs(
	retry: number,
	options: { baseDelayMs: number; maxDelayMs: number; random: () => number },
): number {
	const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
	return Math.floor(options.random() * ceiling);
}

const errorText = (error: unknown): string =>
	error instanceof Error ? error.message : String(error);

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export async function sendWithRetries(
	transport: HttpTransport,
	request: HttpRequest,
	options: RetryOptions = {},
): Promise<RetryResult> {
	const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? DEFAULT_RETRY.maxAttempts));
	const baseDelayMs = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
	const maxDelayMs = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
	const sleep = options.sleep ?? defaultSleep;
	const random = options.random ?? Math.random;
	const now = options.now ?? Date.now;
	const backoff = (retry: number) => backoffMs(retry, { baseDelayMs, maxDelayMs, random });

	for (let attempt = 1; ; attempt++) {
		let response: HttpResponse;
		try {
			response = await transport(request);
		} catch (error) {
			if (attempt >= maxAttempts) {
				return {
					attempts: attempt,
					error: `network error after ${attempt} attempt(s): ${errorText(error)}`,
				};
			}
			await sleep(backoff(attempt));
			continue;
		}

		const { status } = response;
		if (status >= 200 && status < 300) return { response, attempts: attempt };
		const retryable = status === 429 || status >= 500;
		if (!retryable) return { response, attempts: attempt };
		if (attempt >= maxAttempts) {
			return {
				response,
				attempts: attempt,
				error: `HTTP ${status} ${status === 429 ? '(rate limited) ' : ''}after ${attempt} attempt(s)`,
			};
		}

		// A 429 (or a 503 that says when to come back) is waited out exactly as advertised:
		// retrying earlier only spends the next attempt on another 429.
		const advertised = advertisedWaitMs(response, now());
		if (advertised !== undefined) {
			if (advertised > maxDelayMs) {
				return {
					response,
					attempts: attempt,
					error:
						`HTTP ${status}: the server asks to wait ${seconds(advertised)} before retrying, ` +
						`longer than the ${seconds(maxDelayMs)} allowed (maxDelayMs); gave up rather than retry early`,
				};
			}
			await sleep(advertised);
		} else {
			await sleep(backoff(attempt));
		}
	}
}
