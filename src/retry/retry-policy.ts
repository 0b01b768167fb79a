import { noAnswerKind } from './no-answer';
import { advertisedWaitMs, backoffMs, sleep as timerSleep, type HeaderGetter } from './waits';

/**
 * The one retry policy of every provider call (Intercom, HTTP providers, Salesforce):
 *
 * - 2xx and other 4xx are final, never retried.
 * - 429 waits exactly what the server advertises (`Retry-After`, else the rate-limit reset),
 *   or backs off when it advertises nothing; a wait longer than `maxDelayMs` is given up on
 *   rather than shortened, since retrying early only spends an attempt on another 429.
 * - 5xx waits `Retry-After` when sent, else backs off exponentially with full jitter.
 * - No answer: a request that never reached the server is retried with backoff. One that may
 *   have reached it (the connection broke after the body was sent, or a 504: the gateway
 *   stopped waiting for the server) is retried only when repeating it is harmless
 *   (`repeatable`: a read, or a provider that gets an idempotency key); otherwise the call
 *   stops with `deliveryUnknown`, unless `uncertainDelivery` is 'retry' (at least once).
 */

/** 'fail': delivery unknown ends the call (never twice). 'retry': send again (at least once). */
export type UncertainDelivery = 'fail' | 'retry';

export interface RetryOptions {
	/** Requests in all, the first included. Default 5. */
	maxAttempts?: number;
	/** The ceiling of the first retry's backoff. Default 500 ms. */
	baseDelayMs?: number;
	/** Longest wait between two attempts (see above). Default 30 000 ms. */
	maxDelayMs?: number;
	/** Default: the shared timer. */
	sleep?: (ms: number) => Promise<void>;
	/** In [0, 1): the jitter. Default Math.random. */
	random?: () => number;
	/** Epoch ms, to turn HTTP dates and reset times into waits. Default Date.now. */
	now?: () => number;
	/** Default 'fail'. */
	uncertainDelivery?: UncertainDelivery;
	/** Called once per request sent, retries included: the one call counter. */
	countCall?: () => void;
}

export const DEFAULT_RETRY = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

export type RetryPolicy = Required<Omit<RetryOptions, 'countCall'>> &
	Pick<RetryOptions, 'countCall'>;

/** The options with their defaults filled in, checked. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
	const uncertainDelivery = options.uncertainDelivery ?? 'fail';
	if (uncertainDelivery !== 'fail' && uncertainDelivery !== 'retry') {
		throw new Error(
			`retry.uncertainDelivery must be 'fail' or 'retry', not ${JSON.stringify(uncertainDelivery)}`,
		);
	}
	return {
		maxAttempts: Math.max(1, Math.floor(options.maxAttempts ?? DEFAULT_RETRY.maxAttempts)),
		baseDelayMs: Math.max(0, options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs),
		maxDelayMs: Math.max(0, options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs),
		sleep: options.sleep ?? timerSleep,
		random: options.random ?? Math.random,
		now: options.now ?? Date.now,
		uncertainDelivery,
		countCall: options.countCall,
	};
}

/** What one attempt brought: an answer, or an error instead of one. */
export type AttemptResult = { status: number; header: HeaderGetter } | { error: unknown };

export type RetryDecision =
	| { retry: true; waitMs: number }
	| {
			retry: false;
			/** Why a failure is final, when it is one: retries exhausted, a wait beyond the cap, delivery unknown. */
			error?: string;
			/** The request may have reached the server, and was not sent again. */
			deliveryUnknown?: boolean;
	  };

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;
const errorText = (error: unknown): string =>
	error instanceof Error ? error.message : String(error);

/**
 * Whether attempt number `attempt` (from 1) is followed by another, and after how long.
 * `repeatable`: sending the request twice does no harm (a read, an idempotency key).
 */
export function decideRetry(
	policy: RetryPolicy,
	attempt: number,
	result: AttemptResult,
	repeatable: boolean,
): RetryDecision {
	const lastAttempt = attempt >= policy.maxAttempts;
	const backoff = () => backoffMs(attempt, policy);
	const uncertainStops = !repeatable && policy.uncertainDelivery === 'fail';

	if ('error' in result) {
		const uncertain = noAnswerKind(result.error) === 'uncertain';
		if (uncertain && uncertainStops) {
			return {
				retry: false,
				deliveryUnknown: true,
				error: `delivery unknown: the connection broke after the request was sent (${errorText(result.error)}); not sent again, so it cannot arrive twice`,
			};
		}
		if (lastAttempt) {
			return {
				retry: false,
				error: `network error after ${attempt} attempt(s): ${errorText(result.error)}`,
			};
		}
		return { retry: true, waitMs: backoff() };
	}

	const { status } = result;
	if (status < 429 || (status > 429 && status < 500)) return { retry: false };
	if (status === 504 && uncertainStops) {
		return {
			retry: false,
			deliveryUnknown: true,
			error:
				'delivery unknown: HTTP 504, the gateway stopped waiting for the server, which may have stored the request; not sent again, so it cannot arrive twice',
		};
	}
	if (lastAttempt) {
		return {
			retry: false,
			error: `HTTP ${status} ${status === 429 ? '(rate limited) ' : ''}after ${attempt} attempt(s)`,
		};
	}
	const advertised = advertisedWaitMs(status, result.header, policy.now());
	if (advertised === undefined) return { retry: true, waitMs: backoff() };
	if (advertised > policy.maxDelayMs) {
		return {
			retry: false,
			error:
				`HTTP ${status}: the server asks to wait ${seconds(advertised)} before retrying, ` +
				`longer than the ${seconds(policy.maxDelayMs)} allowed (maxDelayMs); gave up rather than retry early`,
		};
	}
	return { retry: true, waitMs: advertised };
}

export interface RetryResult<R> {
	/** The last answer, absent when none arrived. */
	response?: R;
	/** Requests sent, the first included. */
	attempts: number;
	/** Set when the call gave up: see {@link decideRetry}. */
	error?: string;
	/**
	 * An attempt may have reached the server and the call did not end in a 2xx: the provider
	 * may hold the request (once, or more often when uncertain attempts were retried).
	 */
	deliveryUnknown?: boolean;
}

/**
 * Sends with the policy: `send` makes one request and resolves with its answer (any status),
 * rejecting only when no answer arrived; `headers` reads an answer's headers.
 */
export async function withRetries<R extends { status: number }>(
	send: () => Promise<R>,
	headers: (response: R) => HeaderGetter,
	options: RetryOptions & { repeatable: boolean },
): Promise<RetryResult<R>> {
	const policy = retryPolicy(options);
	let uncertainSeen = false;
	for (let attempt = 1; ; attempt++) {
		policy.countCall?.();
		let response: R | undefined;
		let decision: RetryDecision;
		try {
			response = await send();
			if (response.status >= 200 && response.status < 300) return { response, attempts: attempt };
			decision = decideRetry(
				policy,
				attempt,
				{ status: response.status, header: headers(response) },
				options.repeatable,
			);
			if (response.status === 504) uncertainSeen = true;
		} catch (error) {
			decision = decideRetry(policy, attempt, { error }, options.repeatable);
			if (noAnswerKind(error) === 'uncertain') uncertainSeen = true;
		}
		if (!decision.retry) {
			const deliveryUnknown = decision.deliveryUnknown || (uncertainSeen && !options.repeatable);
			return {
				...(response === undefined ? {} : { response }),
				attempts: attempt,
				...(decision.error === undefined ? {} : { error: decision.error }),
				...(deliveryUnknown ? { deliveryUnknown: true } : {}),
			};
		}
		await policy.sleep(decision.waitMs);
	}
}
