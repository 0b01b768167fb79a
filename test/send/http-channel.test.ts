import { InvalidInputError } from '../../src/errors';
import type { RenderedMessage } from '../../src/send/channel';
import {
	createHttpChannel,
	providerErrorText,
	readJsonPath,
	type HttpChannelOptions,
} from '../../src/send/http-channel';
import {
	nodeHttpTransport,
	startRecordingServer,
	type ScriptedAnswer,
} from './support/http-server';

const message: RenderedMessage = {
	idempotencyKey: 'cart:entry-7:send',
	userId: 'u-7',
	externalIds: {},
	body: 'You left A1 in your cart',
};

/** Retries without real waiting; the waits asked for are recorded. */
function fastRetry(maxAttempts = 3) {
	const waits: number[] = [];
	return {
		waits,
		retry: {
			maxAttempts,
			sleep: async (ms: number) => {
				waits.push(ms);
			},
			random: () => 0.5,
			now: () => Date.parse('2026-03-10T10:00:00Z'),
		},
	};
}

async function withServer<T>(
	answers: ScriptedAnswer[],
	run: (server: Awaited<ReturnType<typeof startRecordingServer>>) => Promise<T>,
): Promise<T> {
	const server = await startRecordingServer(answers);
	try {
		return await run(server);
	} finally {
		await server.close();
	}
}

function channelFor(baseUrl: string, overrides: Partial<HttpChannelOptions> = {}) {
	return createHttpChannel({
		method: 'POST',
		url: `${baseUrl}/v1/messages?channel=sms`,
		headers: { Authorization: 'Bearer secret-token', 'X-Tenant': 'acme' },
		body: { to: '+4915112345678', text: 'Hi "Ada"\nyour cart', amount: 59.9 },
		idempotencyHeader: 'Idempotency-Key',
		providerMessageIdPath: 'data.message_id',
		...overrides,
	});
}

describe('createHttpChannel against a local server', () => {
	it('sends method, URL, headers with the idempotency key and the JSON body; reads the id on 2xx', async () => {
		await withServer(
			[{ status: 201, body: { data: { message_id: 'msg-123' } } }],
			async (server) => {
				const channel = channelFor(server.baseUrl);
				expect(channel.name).toBe('http');
				const outcome = await channel.send(message, nodeHttpTransport);
				expect(outcome).toEqual({
					ok: true,
					providerMessageId: 'msg-123',
					attempts: 1,
					request: {
						method: 'POST',
						url: `${server.baseUrl}/v1/messages?channel=sms`,
						headers: {
							Authorization: 'Bearer secret-token',
							'X-Tenant': 'acme',
							'content-type': 'application/json',
							'Idempotency-Key': 'cart:entry-7:send',
						},
						body: { to: '+4915112345678', text: 'Hi "Ada"\nyour cart', amount: 59.9 },
					},
				});
				expect(server.received).toHaveLength(1);
				const [received] = server.received;
				expect(received.method).toBe('POST');
				expect(received.url).toBe('/v1/messages?channel=sms');
				expect(received.headers).toMatchObject({
					authorization: 'Bearer secret-token',
					'x-tenant': 'acme',
					'content-type': 'application/json',
					'idempotency-key': 'cart:entry-7:send',
				});
				expect(JSON.parse(received.body)).toEqual({
					to: '+4915112345678',
					text: 'Hi "Ada"\nyour cart',
					amount: 59.9,
				});
			},
		);
	});

	it('a 400 fails at once with the provider error text', async () => {
		await withServer(
			[
				{
					status: 400,
					body: {
						type: 'error.list',
						errors: [{ code: 'not_found', message: 'recipient is not a contact' }],
					},
				},
			],
			async (server) => {
				const { retry, waits } = fastRetry();
				const outcome = await channelFor(server.baseUrl, { retry }).send(
					message,
					nodeHttpTransport,
				);
				expect(outcome).toMatchObject({
					ok: false,
					status: 400,
					error: 'recipient is not a contact',
					attempts: 1,
				});
				expect(server.received).toHaveLength(1);
				expect(waits).toEqual([]);
			},
		);
	});

	it('a 500 is retried with the same idempotency key; the 200 after it is a send', async () => {
		await withServer(
			[
				{ status: 500, body: { message: 'upstream timeout' } },
				{ status: 200, body: { data: { message_id: 4711 } } },
			],
			async (server) => {
				const { retry, waits } = fastRetry();
				const outcome = await channelFor(server.baseUrl, { retry }).send(
					message,
					nodeHttpTransport,
				);
				expect(outcome).toMatchObject({ ok: true, providerMessageId: '4711', attempts: 2 });
				const sentBody = { to: '+4915112345678', text: 'Hi "Ada"\nyour cart', amount: 59.9 };
				expect(
					server.received.map((r) => [
						r.method,
						r.url,
						r.headers['idempotency-key'],
						JSON.parse(r.body),
					]),
				).toEqual([
					['POST', '/v1/messages?channel=sms', 'cart:entry-7:send', sentBody],
					['POST', '/v1/messages?channel=sms', 'cart:entry-7:send', sentBody],
				]);
				// Full jitter of the first backoff (500 ms default base): random 0.5 → 250 ms.
				expect(waits).toEqual([250]);
			},
		);
	});

	it('an answer lost after the request was sent is retried when the provider gets the idempotency key', async () => {
		await withServer(
			[
				{ status: 0, drop: true },
				{ status: 200, body: { data: { message_id: 'm-1' } } },
			],
			async (server) => {
				const { retry } = fastRetry();
				const outcome = await channelFor(server.baseUrl, { retry }).send(
					message,
					nodeHttpTransport,
				);
				expect(outcome).toMatchObject({ ok: true, providerMessageId: 'm-1', attempts: 2 });
				expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual([
					'cart:entry-7:send',
					'cart:entry-7:send',
				]);
			},
		);
	});

	it('without an idempotency header it is not sent again: Failed, delivery unknown (unless at least once)', async () => {
		await withServer(
			[
				{ status: 0, drop: true },
				{ status: 200, body: { data: { message_id: 'm-2' } } },
			],
			async (server) => {
				const { retry, waits } = fastRetry();
				const outcome = await channelFor(server.baseUrl, {
					retry,
					idempotencyHeader: undefined,
				}).send(message, nodeHttpTransport);
				expect(outcome).toMatchObject({ ok: false, attempts: 1, deliveryUnknown: true });
				expect(!outcome.ok && outcome.error).toMatch(
					/^delivery unknown: the connection broke after the request was sent/,
				);
				expect(outcome.ok || outcome.status).toBeUndefined();
				expect(server.received).toHaveLength(1);
				expect(waits).toEqual([]);

				const atLeastOnce = await channelFor(server.baseUrl, {
					retry: { ...retry, uncertainDelivery: 'retry' },
					idempotencyHeader: undefined,
				}).send(message, nodeHttpTransport);
				expect(atLeastOnce).toMatchObject({ ok: true, providerMessageId: 'm-2' });
				expect(server.received).toHaveLength(2);
			},
		);
	});

	it('a 429 waits what Retry-After says', async () => {
		await withServer(
			[
				{ status: 429, headers: { 'retry-after': '2' }, body: { error: { message: 'slow down' } } },
				{ status: 202, body: { id: 'queued-1' } },
			],
			async (server) => {
				const { retry, waits } = fastRetry();
				const outcome = await channelFor(server.baseUrl, {
					retry,
					providerMessageIdPath: 'id',
				}).send(message, nodeHttpTransport);
				expect(outcome).toMatchObject({ ok: true, providerMessageId: 'queued-1', attempts: 2 });
				expect(waits).toEqual([2000]);
			},
		);
	});

	it('5xx until the attempts run out: the provider text and why retrying stopped', async () => {
		await withServer(
			[{ status: 503, body: 'Service Unavailable: maintenance' }],
			async (server) => {
				const { retry } = fastRetry(3);
				const outcome = await channelFor(server.baseUrl, { retry }).send(
					message,
					nodeHttpTransport,
				);
				expect(outcome).toMatchObject({
					ok: false,
					status: 503,
					error:
						'HTTP 503 Service Unavailable: Service Unavailable: maintenance (HTTP 503 after 3 attempt(s))',
					attempts: 3,
				});
				expect(server.received).toHaveLength(3);
			},
		);
	});

	it('no answer at all: a failure without status after the retries', async () => {
		const server = await startRecordingServer([{ status: 200 }]);
		const deadUrl = server.baseUrl;
		await server.close();
		const { retry } = fastRetry(2);
		const outcome = await channelFor(deadUrl, { retry }).send(message, nodeHttpTransport);
		expect(outcome.ok).toBe(false);
		if (outcome.ok) return;
		expect(outcome.status).toBeUndefined();
		expect(outcome.attempts).toBe(2);
		expect(outcome.error).toMatch(/^network error after 2 attempt\(s\): .*ECONNREFUSED/);
		expect(outcome.request?.url).toBe(`${deadUrl}/v1/messages?channel=sms`);
	});

	it('GET and DELETE send no body; no idempotency header unless asked; a custom name', async () => {
		await withServer([{ status: 204 }], async (server) => {
			const get = createHttpChannel({
				name: 'push',
				method: 'GET',
				url: `${server.baseUrl}/ping?u=u-7`,
				headers: {},
				body: { ignored: true },
			});
			expect(get.name).toBe('push');
			expect(await get.send(message, nodeHttpTransport)).toEqual({
				ok: true,
				providerMessageId: undefined,
				attempts: 1,
				request: { method: 'GET', url: `${server.baseUrl}/ping?u=u-7`, headers: {} },
			});
			const del = createHttpChannel({
				method: 'DELETE',
				url: `${server.baseUrl}/messages/9`,
				headers: {},
			});
			expect(await del.send(message, nodeHttpTransport)).toMatchObject({ ok: true, attempts: 1 });
			expect(
				server.received.map((r) => [r.method, r.url, r.body, r.headers['content-type']]),
			).toEqual([
				['GET', '/ping?u=u-7', '', undefined],
				['DELETE', '/messages/9', '', undefined],
			]);
			expect(server.received.every((r) => r.headers['idempotency-key'] === undefined)).toBe(true);
		});
	});

	it('keeps a given content type and lets the idempotency header replace a same-named one', async () => {
		await withServer([{ status: 200, body: { id: 1 } }], async (server) => {
			const channel = channelFor(server.baseUrl, {
				headers: { 'Content-Type': 'application/vnd.api+json', 'idempotency-key': 'stale' },
			});
			const outcome = await channel.send(message, nodeHttpTransport);
			expect(outcome.ok && outcome.request.headers).toEqual({
				'Content-Type': 'application/vnd.api+json',
				'Idempotency-Key': 'cart:entry-7:send',
			});
			expect(server.received[0].headers['content-type']).toBe('application/vnd.api+json');
			expect(server.received[0].headers['idempotency-key']).toBe('cart:entry-7:send');
		});
	});
});

describe('createHttpChannel validation', () => {
	const base: HttpChannelOptions = {
		method: 'POST',
		url: 'https://api.example.com/v1',
		headers: {},
	};
	const invalid = (options: HttpChannelOptions): InvalidInputError => {
		try {
			createHttpChannel(options);
		} catch (error) {
			expect(error).toBeInstanceOf(InvalidInputError);
			return error as InvalidInputError;
		}
		throw new Error('expected an InvalidInputError');
	};

	it('rejects bad method, URL and headers naming the field', () => {
		expect(invalid({ ...base, method: 'HEAD' as 'GET' }).field).toBe('method');
		expect(invalid({ ...base, url: 'api.example.com/v1' }).message).toBe(
			'url: is not a valid URL (got "api.example.com/v1").',
		);
		expect(invalid({ ...base, url: 'ftp://api.example.com/' }).message).toBe(
			'url: must start with https:// or http:// (got ftp:).',
		);
		expect(invalid({ ...base, headers: { 'X-Name': 'Ada\r\nX-Injected: 1' } }).field).toBe(
			'headers.X-Name',
		);
		expect(invalid({ ...base, headers: { 'Bad Name': 'x' } }).message).toBe(
			'headers: "Bad Name" is not a valid header name.',
		);
		expect(invalid({ ...base, idempotencyHeader: 'Idempotency Key' }).field).toBe(
			'idempotencyHeader',
		);
	});
});

describe('providerErrorText', () => {
	const text = (status: number, body: unknown) => providerErrorText({ status, headers: {}, body });

	it('reads the usual error shapes', () => {
		expect(text(422, { error: { message: 'phone is invalid', code: 21211 } })).toBe(
			'phone is invalid',
		);
		expect(text(401, { error: 'invalid_token', error_description: 'expired' })).toBe(
			'invalid_token',
		);
		expect(text(400, { message: 'to is required' })).toBe('to is required');
		expect(text(400, { errors: [{ message: 'first' }, { message: 'second' }] })).toBe('first');
		expect(text(400, { errors: ['text is too long'] })).toBe('text is too long');
		expect(
			text(400, { type: 'about:blank', title: 'Bad Request', detail: 'amount must be positive' }),
		).toBe('amount must be positive');
		expect(text(400, '{"message":"sent as text"}')).toBe('sent as text');
	});

	it('falls back to the status text and the start of the body', () => {
		expect(text(404, undefined)).toBe('HTTP 404 Not Found');
		expect(text(500, '')).toBe('HTTP 500 Internal Server Error');
		expect(text(502, {})).toBe('HTTP 502 Bad Gateway');
		expect(text(418, { ok: false })).toBe('HTTP 418 I\'m a Teapot: {"ok":false}');
		expect(text(599, 'x'.repeat(400))).toBe(`HTTP 599: ${'x'.repeat(300)}…`);
	});
});

describe('readJsonPath', () => {
	it('follows dots and indexes, and nothing inherited', () => {
		const body = { id: 7, data: { messages: [{ id: 'm-1' }] } };
		expect(readJsonPath(body, 'id')).toBe(7);
		expect(readJsonPath(body, 'data.messages.0.id')).toBe('m-1');
		expect(readJsonPath(body, 'data.messages[0].id')).toBe('m-1');
		expect(readJsonPath(body, 'data.missing.id')).toBeUndefined();
		expect(readJsonPath(body, 'constructor')).toBeUndefined();
		expect(readJsonPath('text', 'id')).toBeUndefined();
	});
});
