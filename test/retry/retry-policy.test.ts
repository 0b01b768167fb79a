import {
	advertisedWaitMs,
	backoffMs,
	decideRetry,
	headerGetter,
	NoAnswerError,
	noAnswerKind,
	parseRetryAfter,
	retryPolicy,
	sleep as timerSleep,
	type RetryOptions,
} from '../../src/retry';
import type { HttpRequest, HttpTransport } from '../../src/send/channel';
import { sendWithRetries as send } from '../../src/send/retry';

const REQUEST: HttpRequest = {
	method: 'POST',
	url: 'https://api.intercom.io/messages',
	headers: {},
	body: { body: 'hi' },
};

/** Retry mechanics on a request that may be repeated (a read, or one with an idempotency key). */
const sendWithRetries = (
	transport: HttpTransport,
	request: HttpRequest,
	options: RetryOptions & { repeatable?: boolean } = {},
) => send(transport, request, { repeatable: true, ...options });

type Step = number | { status: number; headers?: Record<string, string> } | Error;

/** A transport answering the scripted steps in order (the last one repeats). */
function scripted(...steps: Step[]) {
	const calls: HttpRequest[] = [];
	const transport: HttpTransport = async (request) => {
		calls.push(request);
		const step = steps[Math.min(calls.length - 1, steps.length - 1)];
		if (step instanceof Error) throw step;
		const { status, headers = {} } = typeof step === 'number' ? { status: step } : step;
		return { status, headers, body: { status } };
	};
	return { transport, calls };
}

function recordingSleep() {
	const waits: number[] = [];
	return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('sendWithRetries', () => {
	it('returns a 2xx at once', async () => {
		const { transport, calls } = scripted(200);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep });
		expect(result).toEqual({
			response: { status: 200, headers: {}, body: { status: 200 } },
			attempts: 1,
		});
		expect(calls).toHaveLength(1);
		expect(waits).toEqual([]);
	});

	it('waits a 429 out for exactly the Retry-After seconds', async () => {
		const { transport, calls } = scripted({ status: 429, headers: { 'retry-after': '7' } }, 200);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep });
		expect(result.response?.status).toBe(200);
		expect(result.attempts).toBe(2);
		expect(result.error).toBeUndefined();
		expect(waits).toEqual([7000]);
		expect(calls).toHaveLength(2);
	});

	it('waits a 429 out until a Retry-After HTTP date', async () => {
		const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
		const { transport } = scripted(
			{ status: 429, headers: { 'retry-after': 'Wed, 21 Oct 2026 07:28:05 GMT' } },
			200,
		);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep, now: () => now });
		expect(result.response?.status).toBe(200);
		expect(waits).toEqual([5000]);
	});

	it("waits a 429 out until Intercom's X-RateLimit-Reset (Unix seconds)", async () => {
		const now = 1_790_000_000_250;
		const { transport } = scripted(
			{
				status: 429,
				headers: {
					'x-ratelimit-limit': '166',
					'x-ratelimit-remaining': '0',
					'x-ratelimit-reset': '1790000004',
				},
			},
			200,
		);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep, now: () => now });
		expect(result).toMatchObject({ response: { status: 200 }, attempts: 2 });
		expect(waits).toEqual([1_790_000_004_000 - now]);
	});

	it('prefers Retry-After over X-RateLimit-Reset, and a time already past waits 0', () => {
		const now = 1_790_000_000_000;
		const wait = (headers: Record<string, string>, status = 429) =>
			advertisedWaitMs(status, headerGetter(headers), now);
		expect(wait({ 'retry-after': '2', 'x-ratelimit-reset': '1790000009' })).toBe(2000);
		expect(wait({ 'x-ratelimit-reset': '1789999990' })).toBe(0);
		expect(wait({ 'retry-after': 'Thu, 01 Jan 2026 00:00:00 GMT' })).toBe(0);
		expect(wait({ 'retry-after': 'soon' })).toBeUndefined();
		expect(wait({ 'Retry-After': '3' })).toBe(3000);
		expect(wait({})).toBeUndefined();
	});

	it('reads the rate-limit reset on a 429 only; Retry-After on any status', () => {
		const now = 1_790_000_000_000;
		const headers = headerGetter({ 'x-ratelimit-reset': '1790000040' });
		expect(advertisedWaitMs(429, headers, now)).toBe(40_000);
		for (const status of [500, 502, 503]) {
			expect(advertisedWaitMs(status, headers, now)).toBeUndefined();
			expect(advertisedWaitMs(status, headerGetter({ 'retry-after': '4' }), now)).toBe(4000);
		}
	});

	it('gives up with a clear error when the advertised wait exceeds maxDelayMs', async () => {
		const { transport, calls } = scripted({ status: 429, headers: { 'retry-after': '120' } }, 200);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep, maxDelayMs: 30_000 });
		expect(result.response?.status).toBe(429);
		expect(result.attempts).toBe(1);
		expect(result.error).toBe(
			'HTTP 429: the server asks to wait 120 s before retrying, longer than the 30 s allowed (maxDelayMs); gave up rather than retry early',
		);
		expect(waits).toEqual([]);
		expect(calls).toHaveLength(1);
	});

	it('backs off (with jitter) on a 429 that advertises no wait', async () => {
		const { transport } = scripted(429, 200);
		const { waits, sleep } = recordingSleep();
		await sendWithRetries(transport, REQUEST, { sleep, random: () => 0.5, baseDelayMs: 400 });
		expect(waits).toEqual([200]);
	});

	it('retries 5xx with exponential backoff and full jitter, then succeeds', async () => {
		const { transport, calls } = scripted(500, 502, 503, 200);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, {
			sleep,
			random: () => 0.5,
			baseDelayMs: 100,
		});
		expect(result).toMatchObject({ response: { status: 200 }, attempts: 4 });
		expect(result.error).toBeUndefined();
		expect(waits).toEqual([50, 100, 200]);
		expect(calls).toHaveLength(4);
	});

	it('keeps every backoff within [0, min(maxDelayMs, base * 2^(n-1)))', async () => {
		const options = { baseDelayMs: 100, maxDelayMs: 1000 };
		const ceilings = [100, 200, 400, 800, 1000, 1000];
		expect(ceilings.map((_, i) => backoffMs(i + 1, { ...options, random: () => 0 }))).toEqual([
			0, 0, 0, 0, 0, 0,
		]);
		expect(
			ceilings.map((_, i) => backoffMs(i + 1, { ...options, random: () => 0.999999 })),
		).toEqual([99, 199, 399, 799, 999, 999]);

		let seed = 42;
		const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
		for (let run = 0; run < 50; run++) {
			const { transport } = scripted(500);
			const { waits, sleep } = recordingSleep();
			await sendWithRetries(transport, REQUEST, { ...options, sleep, random, maxAttempts: 7 });
			expect(waits).toHaveLength(6);
			waits.forEach((wait, i) => {
				expect(wait).toBeGreaterThanOrEqual(0);
				expect(wait).toBeLessThan(ceilings[i]);
			});
		}
	});

	it('fails after maxAttempts of 5xx, returning the last answer', async () => {
		const { transport, calls } = scripted(503);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep, maxAttempts: 3 });
		expect(result.response?.status).toBe(503);
		expect(result.attempts).toBe(3);
		expect(result.error).toBe('HTTP 503 after 3 attempt(s)');
		expect(calls).toHaveLength(3);
		expect(waits).toHaveLength(2);
	});

	it('tries 5 times by default', async () => {
		const { transport, calls } = scripted(500);
		const { sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep });
		expect(result.attempts).toBe(5);
		expect(calls).toHaveLength(5);
	});

	it("backs off on a 5xx although Intercom's X-RateLimit-Reset is on every answer", async () => {
		// Intercom sends the rate-limit headers with every authenticated answer; on a 503 the
		// reset says when the rate window ends, not when the server recovers.
		const now = 1_790_000_000_000;
		const reset = {
			'x-ratelimit-limit': '166',
			'x-ratelimit-remaining': '150',
			'x-ratelimit-reset': '1790000040',
		};
		const { transport, calls } = scripted(
			{ status: 503, headers: reset },
			{ status: 500, headers: reset },
			200,
		);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, {
			sleep,
			now: () => now,
			random: () => 0.5,
			baseDelayMs: 400,
		});
		expect(result).toMatchObject({ response: { status: 200 }, attempts: 3 });
		expect(waits).toEqual([200, 400]);
		expect(calls).toHaveLength(3);
	});

	it('honours Retry-After on a 503 too', async () => {
		const { transport } = scripted({ status: 503, headers: { 'retry-after': '3' } }, 200);
		const { waits, sleep } = recordingSleep();
		await sendWithRetries(transport, REQUEST, { sleep });
		expect(waits).toEqual([3000]);
	});

	it.each([400, 401, 403, 404, 409, 422])('does not retry a %i', async (status) => {
		const { transport, calls } = scripted(status, 200);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep });
		expect(result).toEqual({ response: { status, headers: {}, body: { status } }, attempts: 1 });
		expect(calls).toHaveLength(1);
		expect(waits).toEqual([]);
	});

	it('retries network errors (the transport rejects)', async () => {
		const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
		const { transport, calls } = scripted(reset, reset, 200);
		const { waits, sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep, random: () => 0.5 });
		expect(result).toMatchObject({ response: { status: 200 }, attempts: 3 });
		expect(waits).toEqual([250, 500]);
		expect(calls).toHaveLength(3);
	});

	it('fails with the network error after maxAttempts', async () => {
		const { transport } = scripted(new Error('connect ECONNREFUSED 127.0.0.1:9'));
		const { sleep } = recordingSleep();
		const result = await sendWithRetries(transport, REQUEST, { sleep, maxAttempts: 2 });
		expect(result).toEqual({
			attempts: 2,
			error: 'network error after 2 attempt(s): connect ECONNREFUSED 127.0.0.1:9',
		});
	});

	it('sleeps on setTimeout by default', async () => {
		const { transport } = scripted(500, 200);
		const started = Date.now();
		const result = await sendWithRetries(transport, REQUEST, {
			baseDelayMs: 40,
			random: () => 0.99,
		});
		expect(result.attempts).toBe(2);
		expect(Date.now() - started).toBeGreaterThanOrEqual(35);
	});
});

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('a request that is not safe to repeat (no idempotency key)', () => {
	const once = (options: RetryOptions = {}) => ({ repeatable: false, ...options });

	it('is not sent again when the connection broke after it was sent: delivery unknown', async () => {
		const { transport, calls } = scripted(withCode('socket hang up', 'ECONNRESET'), 200);
		const { waits, sleep } = recordingSleep();
		const result = await send(transport, REQUEST, once({ sleep }));
		expect(result).toEqual({
			attempts: 1,
			deliveryUnknown: true,
			error:
				'delivery unknown: the connection broke after the request was sent (socket hang up); not sent again, so it cannot arrive twice',
		});
		expect(calls).toHaveLength(1);
		expect(waits).toEqual([]);
	});

	it('is sent again when it never left: a refused connection or an unknown host', async () => {
		const { transport, calls } = scripted(
			withCode('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'),
			new TypeError('fetch failed', { cause: withCode('getaddrinfo ENOTFOUND x', 'ENOTFOUND') }),
			200,
		);
		const { sleep } = recordingSleep();
		const result = await send(transport, REQUEST, once({ sleep }));
		expect(result).toEqual({ response: expect.objectContaining({ status: 200 }), attempts: 3 });
		expect(calls).toHaveLength(3);
	});

	it('is sent again with uncertainDelivery retry (at least once), and says delivery is unknown if it then fails', async () => {
		const reset = withCode('socket hang up', 'ECONNRESET');
		const ok = scripted(reset, 200);
		const { sleep } = recordingSleep();
		expect(
			await send(ok.transport, REQUEST, once({ sleep, uncertainDelivery: 'retry' })),
		).toMatchObject({ response: { status: 200 }, attempts: 2 });
		expect(ok.calls).toHaveLength(2);

		const failing = scripted(reset, withCode('connect ECONNREFUSED', 'ECONNREFUSED'));
		const result = await send(
			failing.transport,
			REQUEST,
			once({ sleep, uncertainDelivery: 'retry', maxAttempts: 3 }),
		);
		expect(result).toMatchObject({ attempts: 3, deliveryUnknown: true });
		expect(result.error).toMatch(/^network error after 3 attempt\(s\)/);
	});

	it('stops on a 504 (the gateway gave up waiting; the server may hold it), but retries 500, 502, 503', async () => {
		const { sleep } = recordingSleep();
		const gateway = scripted(504, 200);
		expect(await send(gateway.transport, REQUEST, once({ sleep }))).toMatchObject({
			response: { status: 504 },
			attempts: 1,
			deliveryUnknown: true,
		});
		const failing = scripted(500, 502, 503, 200);
		expect(await send(failing.transport, REQUEST, once({ sleep }))).toMatchObject({
			response: { status: 200 },
			attempts: 4,
		});
	});

	it('a repeatable request is retried after any network error', async () => {
		const { transport, calls } = scripted(withCode('socket hang up', 'ECONNRESET'), 504, 200);
		const { sleep } = recordingSleep();
		const result = await send(transport, REQUEST, { repeatable: true, sleep });
		expect(result).toMatchObject({ response: { status: 200 }, attempts: 3 });
		expect(result.deliveryUnknown).toBeUndefined();
		expect(calls).toHaveLength(3);
	});
});

describe('noAnswerKind', () => {
	it.each([
		['ECONNREFUSED', 'notSent'],
		['ENOTFOUND', 'notSent'],
		['EAI_AGAIN', 'notSent'],
		['EHOSTUNREACH', 'notSent'],
		['UND_ERR_CONNECT_TIMEOUT', 'notSent'],
		['ECONNRESET', 'uncertain'],
		['EPIPE', 'uncertain'],
		['ETIMEDOUT', 'uncertain'],
		['ECONNABORTED', 'uncertain'],
		['UND_ERR_SOCKET', 'uncertain'],
		['UND_ERR_HEADERS_TIMEOUT', 'uncertain'],
	] as const)('%s is %s', (code, kind) => {
		expect(noAnswerKind(withCode('x', code))).toBe(kind);
		// undici (fetch) and n8n put the code on a cause.
		expect(noAnswerKind(new Error('fetch failed', { cause: withCode('x', code) }))).toBe(kind);
	});

	it('an error without a code is uncertain; a transport that knows says so', () => {
		expect(noAnswerKind(new Error('boom'))).toBe('uncertain');
		expect(noAnswerKind('boom')).toBe('uncertain');
		const known = new NoAnswerError('reset before the body was written', 'notSent', {
			cause: withCode('socket hang up', 'ECONNRESET'),
		});
		expect(known.code).toBe('ECONNRESET');
		expect(noAnswerKind(known)).toBe('notSent');
		expect(noAnswerKind(new Error('wrapped', { cause: known }))).toBe('notSent');
		expect(noAnswerKind(new NoAnswerError('after the body', 'uncertain'))).toBe('uncertain');
	});
});

describe('the policy pieces, for clients with their own loop (Salesforce)', () => {
	it('parseRetryAfter reads delay-seconds and HTTP dates through a header getter', () => {
		const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
		const headers = new Headers({ 'Retry-After': 'Wed, 21 Oct 2026 07:28:05 GMT' });
		expect(parseRetryAfter((name) => headers.get(name), now)).toBe(5000);
		expect(parseRetryAfter(headerGetter({ 'retry-after': ' 12 ' }), now)).toBe(12_000);
		expect(parseRetryAfter(headerGetter({ 'retry-after': '-5' }), now)).toBeUndefined();
		expect(parseRetryAfter(() => null, now)).toBeUndefined();
	});

	it('decideRetry gives the wait, or why it stops', () => {
		const policy = retryPolicy({
			random: () => 0.5,
			baseDelayMs: 1000,
			maxAttempts: 3,
			now: () => 0,
		});
		const answer = (status: number, headers: Record<string, string> = {}) => ({
			status,
			header: headerGetter(headers),
		});
		expect(decideRetry(policy, 1, answer(503), true)).toEqual({ retry: true, waitMs: 500 });
		expect(decideRetry(policy, 2, answer(503), true)).toEqual({ retry: true, waitMs: 1000 });
		expect(decideRetry(policy, 1, answer(429, { 'x-ratelimit-reset': '7' }), true)).toEqual({
			retry: true,
			waitMs: 7000,
		});
		expect(decideRetry(policy, 3, answer(503), true)).toEqual({
			retry: false,
			error: 'HTTP 503 after 3 attempt(s)',
		});
		expect(decideRetry(policy, 1, answer(404), true)).toEqual({ retry: false });
		expect(decideRetry(policy, 1, { error: withCode('x', 'ECONNRESET') }, false)).toMatchObject({
			retry: false,
			deliveryUnknown: true,
		});
		expect(decideRetry(policy, 1, { error: withCode('x', 'ECONNRESET') }, true)).toEqual({
			retry: true,
			waitMs: 500,
		});
	});

	it('refuses an unknown uncertainDelivery, naming the field', () => {
		expect(() => retryPolicy({ uncertainDelivery: 'twice' as never })).toThrow(
			"retry.uncertainDelivery must be 'fail' or 'retry', not \"twice\"",
		);
	});

	it('counts every request sent through countCall', async () => {
		const { transport } = scripted(500, 500, 200);
		let calls = 0;
		const result = await sendWithRetries(transport, REQUEST, {
			sleep: async () => {},
			countCall: () => void calls++,
		});
		expect(result.attempts).toBe(3);
		expect(calls).toBe(3);
	});

	it('the shared sleep is a timer', async () => {
		const started = Date.now();
		await timerSleep(30);
		expect(Date.now() - started).toBeGreaterThanOrEqual(25);
	});
});
