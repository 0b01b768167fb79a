import type { HttpRequest, HttpResponse, HttpTransport } from '../../src/send/channel';
import { advertisedWaitMs, backoffMs, sendWithRetries } from '../../src/send/retry';

const REQUEST: HttpRequest = {
	method: 'POST',
	url: 'https://api.intercom.io/messages',
	headers: {},
	body: { body: 'hi' },
};

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
		const response = (headers: Record<string, string>): HttpResponse => ({
			status: 429,
			headers,
			body: null,
		});
		expect(
			advertisedWaitMs(response({ 'retry-after': '2', 'x-ratelimit-reset': '1790000009' }), now),
		).toBe(2000);
		expect(advertisedWaitMs(response({ 'x-ratelimit-reset': '1789999990' }), now)).toBe(0);
		expect(
			advertisedWaitMs(response({ 'retry-after': 'Thu, 01 Jan 2026 00:00:00 GMT' }), now),
		).toBe(0);
		expect(advertisedWaitMs(response({ 'retry-after': 'soon' }), now)).toBeUndefined();
		expect(advertisedWaitMs(response({ 'Retry-After': '3' }), now)).toBe(3000);
		expect(advertisedWaitMs(response({}), now)).toBeUndefined();
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
