/**
 * SalesforceApi: URL building, errors, retries and backoff with a stub fetch, then the same
 * rules against the fake Salesforce over HTTP.
 */
// jsforce reads proxy variables once, when it is loaded: clear them before the imports
// (the fake listens on 127.0.0.1).
delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

import { InvalidInputError } from '../../src/errors';
import {
	SalesforceApiError,
	SalesforceAuthError,
	SalesforceLimitError,
} from '../../src/salesforce/api/errors';
import {
	parseLimitInfo,
	readSalesforceError,
	SalesforceApi,
	type SalesforceApiOptions,
} from '../../src/salesforce/api/salesforce-api';
import { fetchTransport, type SalesforceTransport } from '../../src/salesforce/api/transport';
import type { SalesforceSession, SyncLogger } from '../../src/salesforce/api/types';
import {
	clearSalesforceTokenCache,
	passwordSession,
	staticTokenSession,
} from '../../src/salesforce/auth/sessions';
import { FakeSalesforce } from '../support/fake-salesforce';

const INSTANCE = 'https://acme.my.salesforce.com';

interface LogLine {
	level: 'debug' | 'info' | 'warn';
	message: string;
	meta?: Record<string, unknown>;
}

function recordingLogger(): SyncLogger & { lines: LogLine[]; warnings(): string[] } {
	const lines: LogLine[] = [];
	return {
		lines,
		warnings: () => lines.filter((line) => line.level === 'warn').map((line) => line.message),
		debug: (message, meta) => lines.push({ level: 'debug', message, meta }),
		info: (message, meta) => lines.push({ level: 'info', message, meta }),
		warn: (message, meta) => lines.push({ level: 'warn', message, meta }),
	};
}

interface SentRequest {
	url: string;
	method: string;
	headers: Record<string, string>;
	body?: string;
}

type Answer = Response | Error | (() => Response | Error);

/** A fetch that records what it was sent and answers from a script (the last answer repeats). */
function scriptedFetch(...answers: Answer[]): typeof fetch & { sent: SentRequest[] } {
	const sent: SentRequest[] = [];
	const stub = async (input: string | URL | Request, init?: RequestInit) => {
		sent.push({
			url: String(input),
			method: init?.method ?? 'GET',
			headers: { ...(init?.headers as Record<string, string>) },
			body: init?.body as string | undefined,
		});
		const next = answers.length > 1 ? answers.shift()! : answers[0];
		const answer = typeof next === 'function' ? next() : next;
		if (answer instanceof Error) throw answer;
		return answer.clone();
	};
	return Object.assign(stub as typeof fetch, { sent });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'Content-Type': 'application/json;charset=UTF-8', ...headers },
	});
}

function networkError(code: string): Error {
	return Object.assign(new TypeError('fetch failed'), { cause: { code } });
}

function stubApi(
	fetchImpl: typeof fetch,
	options: Partial<SalesforceApiOptions> = {},
): SalesforceApi & { waits: number[] } {
	const waits: number[] = [];
	const api = new SalesforceApi({
		session: staticTokenSession({ accessToken: 'tok', instanceUrl: INSTANCE }),
		fetch: fetchImpl,
		sleep: async (ms) => {
			waits.push(ms);
		},
		...options,
	});
	return Object.assign(api, { waits });
}

async function caught(promise: Promise<unknown>): Promise<Error> {
	try {
		await promise;
	} catch (error) {
		return error as Error;
	}
	throw new Error('expected the call to fail');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
	return Buffer.concat(chunks).toString('utf8');
}

describe('parseLimitInfo', () => {
	it('reads api-usage=N/M', () => {
		expect(parseLimitInfo('api-usage=25/15000')).toEqual({ used: 25, limit: 15000 });
		expect(parseLimitInfo('per-app-api-usage=1/100(appName=x), api-usage=7/5000')).toEqual({
			used: 7,
			limit: 5000,
		});
		expect(parseLimitInfo(null)).toBeUndefined();
	});
});

describe('readSalesforceError', () => {
	it('reads REST arrays, Bulk objects, OAuth errors and plain text', () => {
		expect(
			readSalesforceError(400, '[{"errorCode":"INVALID_FIELD","message":"No such column"}]'),
		).toEqual({ errorCode: 'INVALID_FIELD', message: 'No such column' });
		expect(readSalesforceError(400, '{"errorCode":"INVALIDJOB","message":"bad job"}')).toEqual({
			errorCode: 'INVALIDJOB',
			message: 'bad job',
		});
		expect(readSalesforceError(401, '{"error":"invalid_token","error_description":"x"}')).toEqual({
			errorCode: 'invalid_token',
			message: 'x',
		});
		expect(readSalesforceError(502, '<html>Bad gateway</html>')).toEqual({
			errorCode: 'HTTP_502',
			message: '<html>Bad gateway</html>',
		});
		expect(readSalesforceError(500, '')).toEqual({
			errorCode: 'HTTP_500',
			message: 'HTTP status 500',
		});
	});
});

describe('error messages', () => {
	it('a query error shows Salesforce’s message, the SOQL and a hint', () => {
		const error = new SalesforceApiError(
			400,
			'MALFORMED_QUERY',
			"unexpected token: 'FROMM'",
			'GET /query',
			'SELECT Id FROMM Contact',
		);
		expect(error.code).toBe('salesforce_api');
		expect(error.message).toBe(
			"Salesforce rejected the query (MALFORMED_QUERY): unexpected token: 'FROMM'\nSOQL: SELECT Id FROMM Contact\nCheck the object and field API names (Setup → Object Manager; custom ones end in __c) and the condition's syntax.",
		);
		expect(error).toMatchObject({
			status: 400,
			errorCode: 'MALFORMED_QUERY',
			request: 'GET /query',
		});
	});

	it('other errors name status, code and request', () => {
		expect(
			new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist', 'GET /x')
				.message,
		).toBe('Salesforce answered 404 NOT_FOUND to GET /x: The requested resource does not exist');
	});

	it('a limit error says which limit, how often it was tried and when to retry', () => {
		const concurrent = new SalesforceLimitError(
			'REQUEST_LIMIT_EXCEEDED',
			'ConcurrentPerOrgLongTxn Limit exceeded.',
			5,
			{ status: 403, request: 'GET /query', retryAfterMs: 30_000 },
		);
		expect(concurrent.code).toBe('salesforce_limit');
		expect(concurrent.daily).toBe(false);
		expect(concurrent.message).toContain(
			"Salesforce's request limit for the org was reached (REQUEST_LIMIT_EXCEEDED) on GET /query: ConcurrentPerOrgLongTxn Limit exceeded.",
		);
		expect(concurrent.message).toContain('Still refused after 5 attempts with backoff.');
		expect(concurrent.message).toContain('Salesforce asked to wait 30 s.');
		expect(concurrent.message).toContain('frees within minutes');
		const daily = new SalesforceLimitError(
			'REQUEST_LIMIT_EXCEEDED',
			'TotalRequests Limit exceeded.',
			1,
			{ status: 403, request: 'GET /query', usage: { used: 15_000, limit: 15_000 } },
		);
		expect(daily.daily).toBe(true);
		expect(daily.message).toContain(
			"Salesforce's daily API request limit for the org is used up (15,000 of 15,000 used) (REQUEST_LIMIT_EXCEEDED) on GET /query: TotalRequests Limit exceeded.",
		);
		expect(daily.message).toContain(
			'Not retried: the limit counts the requests of the last 24 hours',
		);
		expect(daily.message).toContain('Setup → Company Information → API Requests, Last 24 Hours');
		const throttled = new SalesforceLimitError('HTTP_429', '', 3, { status: 429 });
		expect(throttled.message).toContain('Salesforce is throttling requests (429 HTTP_429)');
		expect(throttled.message).toContain('Retry in a few minutes');
	});
});

describe('SalesforceApi with a stub fetch', () => {
	it('builds URLs under /services/data/vXX.X, from the instance root, or absolute on the instance', async () => {
		const fetchStub = scriptedFetch(json(200, {}));
		const api = stubApi(fetchStub, { apiVersion: '63.0' });
		await api.request({
			method: 'GET',
			path: '/query',
			query: { q: "SELECT Id FROM Contact WHERE Name = 'A&B'" },
		});
		await api.request({ method: 'GET', path: 'limits' });
		await api.request({ method: 'GET', path: '/services/data/v63.0/query/01gXX-2000' });
		await api.request({
			method: 'GET',
			path: `${INSTANCE}/services/data/v63.0/jobs/query/750`,
			query: { maxRecords: 5, locator: undefined },
		});
		expect(fetchStub.sent.map((request) => request.url)).toEqual([
			`${INSTANCE}/services/data/v63.0/query?q=SELECT+Id+FROM+Contact+WHERE+Name+%3D+%27A%26B%27`,
			`${INSTANCE}/services/data/v63.0/limits`,
			`${INSTANCE}/services/data/v63.0/query/01gXX-2000`,
			`${INSTANCE}/services/data/v63.0/jobs/query/750?maxRecords=5`,
		]);
		expect(api.callCount).toBe(4);
	});

	it('refuses to send the token to another host', async () => {
		const fetchStub = scriptedFetch(json(200, {}));
		const error = await caught(
			stubApi(fetchStub).request({ method: 'GET', path: 'https://evil.example/services/data' }),
		);
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(fetchStub.sent).toHaveLength(0);
	});

	it('sends the bearer token, JSON bodies, and Accept: application/json unless given', async () => {
		const fetchStub = scriptedFetch(json(200, { id: '001' }));
		const api = stubApi(fetchStub);
		await api.request({ method: 'POST', path: '/sobjects/Contact', body: { LastName: 'Lee' } });
		await api.request({
			method: 'GET',
			path: '/jobs/query/750/results',
			headers: { Accept: 'text/csv' },
		});
		expect(fetchStub.sent[0].headers).toEqual({
			accept: 'application/json',
			authorization: 'Bearer tok',
			'content-type': 'application/json',
		});
		expect(fetchStub.sent[0].body).toBe('{"LastName":"Lee"}');
		expect(fetchStub.sent[1].headers.accept).toBe('text/csv');
	});

	it('returns JSON, text and 204 answers with lower-case headers', async () => {
		const api = stubApi(
			scriptedFetch(
				json(200, { ok: true }, { 'X-Custom': 'yes' }),
				new Response('a,b\n1,2\n', { status: 200, headers: { 'Content-Type': 'text/csv' } }),
				new Response(null, { status: 204 }),
			),
		);
		const first = await api.request({ method: 'GET', path: '/a' });
		expect(first).toMatchObject({ status: 200, json: { ok: true } });
		expect(first.headers['x-custom']).toBe('yes');
		expect(await api.request({ method: 'GET', path: '/b' })).toMatchObject({ text: 'a,b\n1,2\n' });
		const empty = await api.request({ method: 'PATCH', path: '/c', body: {} });
		expect(empty.status).toBe(204);
		expect(empty.json).toBeUndefined();
	});

	it('backs off exponentially from 1 s with full jitter, capped, without Retry-After', async () => {
		const api = stubApi(
			scriptedFetch(json(503, [{ errorCode: 'SERVER_UNAVAILABLE', message: 'busy' }])),
			{
				maxAttempts: 6,
				maxBackoffMs: 10_000,
			},
		);
		const error = await caught(api.request({ method: 'GET', path: '/query' }));
		expect(error).toBeInstanceOf(SalesforceLimitError);
		expect(api.waits).toHaveLength(5);
		// Full jitter (the package's one backoff rule): uniform below min(cap, 1 s × 2^(n−1)).
		const ceilings = [1000, 2000, 4000, 8000, 10_000];
		ceilings.forEach((ceiling, index) => {
			expect(api.waits[index]).toBeGreaterThanOrEqual(0);
			expect(api.waits[index]).toBeLessThan(ceiling);
		});
		expect(api.callCount).toBe(6);
	});

	it('caps a long Retry-After at maxBackoffMs and reads an HTTP date against the response Date', async () => {
		const api = stubApi(
			scriptedFetch(
				json(429, [], { 'Retry-After': '3600' }),
				json(429, [], {
					Date: 'Mon, 23 Nov 2026 10:00:00 GMT',
					'Retry-After': 'Mon, 23 Nov 2026 10:00:20 GMT',
				}),
				json(200, {}),
			),
			{ maxBackoffMs: 60_000 },
		);
		await api.request({ method: 'GET', path: '/query' });
		expect(api.waits).toEqual([60_000, 20_000]);
	});

	it('retries GET on connection resets, not POST', async () => {
		const logger = recordingLogger();
		const get = stubApi(scriptedFetch(networkError('ECONNRESET'), json(200, { ok: 1 })), {
			logger,
		});
		expect((await get.request({ method: 'GET', path: '/limits' })).json).toEqual({ ok: 1 });
		expect(get.waits).toHaveLength(1);
		expect(logger.warnings()[0]).toMatch(
			/^Salesforce connection failed \(ECONNRESET\); waiting .* before retry 2\/5 \(GET \/limits\)$/,
		);

		const post = stubApi(scriptedFetch(networkError('ECONNRESET'), json(200, {})));
		const error = await caught(
			post.request({ method: 'POST', path: '/composite/sobjects', body: {} }),
		);
		expect(error).toBeInstanceOf(SalesforceApiError);
		expect(error.message).toBe(
			'Could not reach Salesforce for POST /composite/sobjects (ECONNRESET): fetch failed',
		);
		expect(post.callCount).toBe(1);
	});

	it('gives up on connection failures after maxAttempts', async () => {
		const api = stubApi(scriptedFetch(networkError('ECONNREFUSED')), { maxAttempts: 3 });
		const error = await caught(api.request({ method: 'GET', path: '/limits' }));
		expect(error).toMatchObject({ status: 0, errorCode: 'ECONNREFUSED' });
		expect(api.callCount).toBe(3);
	});

	it('retries 502/504 for GET and then reports the gateway error', async () => {
		const api = stubApi(scriptedFetch(new Response('Bad Gateway', { status: 502 })), {
			maxAttempts: 2,
		});
		const error = await caught(api.request({ method: 'GET', path: '/limits' }));
		expect(error).toBeInstanceOf(SalesforceApiError);
		expect(error.message).toBe('Salesforce answered 502 HTTP_502 to GET /limits: Bad Gateway');
		expect(api.callCount).toBe(2);
	});

	it('refreshes once on 401 through a session and counts no throttling attempt for it', async () => {
		const refreshed: string[] = [];
		const session: SalesforceSession = {
			description: 'stub',
			getToken: async () => ({ accessToken: 'old', instanceUrl: INSTANCE, issuedAt: 0 }),
			refreshToken: async (failed) => {
				refreshed.push(failed.accessToken);
				return { accessToken: 'new', instanceUrl: INSTANCE, issuedAt: 1 };
			},
		};
		const fetchStub = scriptedFetch(
			json(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }]),
			json(200, { ok: true }),
		);
		const api = stubApi(fetchStub, { session, maxAttempts: 1 });
		expect((await api.request({ method: 'POST', path: '/x', body: {} })).json).toEqual({
			ok: true,
		});
		expect(refreshed).toEqual(['old']);
		expect(fetchStub.sent.map((request) => request.headers.authorization)).toEqual([
			'Bearer old',
			'Bearer new',
		]);
	});

	it('rejects a malformed API version', () => {
		expect(() => stubApi(scriptedFetch(json(200, {})), { apiVersion: '62' })).toThrow(
			InvalidInputError,
		);
	});
});

describe('SalesforceApi against the fake Salesforce', () => {
	const APP = { clientId: 'sync-app', clientSecret: 'sync-secret' };
	const USER = { username: 'sync@acme.example', password: 'pw', securityToken: 'TOKEN' };
	const START = Date.parse('2026-11-23T10:00:00Z');
	let fake: FakeSalesforce;
	let logger: ReturnType<typeof recordingLogger>;
	let waits: number[];

	const session = () => passwordSession({ loginUrl: fake.url, ...APP, ...USER });
	const newApi = (options: Partial<SalesforceApiOptions> = {}) =>
		new SalesforceApi({
			session: session(),
			logger,
			sleep: async (ms) => {
				waits.push(ms);
			},
			...options,
		});

	beforeEach(async () => {
		clearSalesforceTokenCache();
		logger = recordingLogger();
		waits = [];
		fake = await FakeSalesforce.start({ now: START });
		fake.addConnectedApp(APP);
		fake.addUser(USER);
		fake.defineObject({
			name: 'Contact',
			fields: { LastName: { type: 'string' }, Email: { type: 'email' } },
		});
		fake.insert('Contact', { LastName: 'Lee', Email: 'lee@example.com' });
		fake.insert('Contact', { LastName: 'Kim', Email: 'kim@example.com' });
	});

	afterEach(async () => {
		await fake.close();
	});

	it('runs a query with the SOQL encoded', async () => {
		const api = newApi();
		const soql = "SELECT Id, Email FROM Contact WHERE LastName = 'Lee'";
		const page = await api.getJson<{ totalSize: number; records: Array<{ Email: string }> }>(
			'/query',
			{ q: soql },
			soql,
		);
		expect(page.totalSize).toBe(1);
		expect(page.records[0].Email).toBe('lee@example.com');
		expect(api.callCount).toBe(1);
		expect(fake.tokenRequestCount()).toBe(1);
	});

	it('after a session expiry refreshes once and the request succeeds', async () => {
		const api = newApi();
		await api.getJson('/limits');
		fake.expireSessions();
		expect(await api.getJson('/limits')).toHaveProperty('DailyApiRequests');
		expect(fake.tokenRequestCount()).toBe(2);
		expect(api.callCount).toBe(3);
		expect(api.loginCount).toBe(2);
		expect(logger.lines.some((line) => line.message.startsWith('Salesforce session expired'))).toBe(
			true,
		);
	});

	it('a second 401 after the refresh is a SalesforceAuthError', async () => {
		const api = newApi();
		fake.failNext(
			{ pathIncludes: '/limits' },
			{
				status: 401,
				body: [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }],
			},
			2,
		);
		const error = await caught(api.getJson('/limits'));
		expect(error).toBeInstanceOf(SalesforceAuthError);
		expect(error.message).toContain('INVALID_SESSION_ID: Session expired or invalid');
		expect(api.callCount).toBe(2);
		expect(fake.tokenRequestCount()).toBe(2);
	});

	it('honours Retry-After: 1 on 429, then succeeds', async () => {
		const api = newApi();
		fake.failNext(
			{ method: 'GET', pathIncludes: '/query' },
			{
				status: 429,
				body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'Too many requests' }],
				headers: { 'Retry-After': '1' },
			},
		);
		const page = await api.getJson<{ totalSize: number }>('/query', {
			q: 'SELECT Id FROM Contact',
		});
		expect(page.totalSize).toBe(2);
		expect(waits).toEqual([1000]);
		expect(api.callCount).toBe(2);
		expect(logger.warnings()).toEqual([
			'Salesforce API limit reached (REQUEST_LIMIT_EXCEEDED); waiting 1 s before retry 2/5 (GET /query)',
		]);
	});

	it('403 REQUEST_LIMIT_EXCEEDED (concurrent limit) until attempts run out is a SalesforceLimitError, with warnings', async () => {
		const api = newApi({ maxAttempts: 3 });
		fake.failNext(
			{ pathIncludes: '/query' },
			{
				status: 403,
				body: [
					{
						errorCode: 'REQUEST_LIMIT_EXCEEDED',
						message: 'ConcurrentPerOrgLongTxn Limit exceeded.',
					},
				],
				headers: { 'Retry-After': '30' },
			},
			10,
		);
		const error = await caught(api.getJson('/query', { q: 'SELECT Id FROM Contact' }));
		expect(error).toBeInstanceOf(SalesforceLimitError);
		expect(error).toMatchObject({
			code: 'salesforce_limit',
			status: 403,
			attempts: 3,
			retryAfterMs: 30_000,
			daily: false,
		});
		expect(error.message).toContain('Still refused after 3 attempts with backoff');
		expect(waits).toEqual([30_000, 30_000]);
		expect(logger.warnings()).toEqual([
			'Salesforce API limit reached (REQUEST_LIMIT_EXCEEDED); waiting 30 s before retry 2/3 (GET /query)',
			'Salesforce API limit reached (REQUEST_LIMIT_EXCEEDED); waiting 30 s before retry 3/3 (GET /query)',
		]);
		expect(api.callCount).toBe(3);
	});

	it('the daily API limit (TotalRequests) fails at once, without waiting, saying when it frees', async () => {
		const api = newApi();
		const requestsBefore = fake.requests.length;
		fake.failNext(
			{ pathIncludes: '/query' },
			{
				status: 403,
				body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }],
				headers: { 'Sforce-Limit-Info': 'api-usage=15003/15000' },
			},
			10,
		);
		const error = await caught(api.getJson('/query', { q: 'SELECT Id FROM Contact' }));
		expect(error).toBeInstanceOf(SalesforceLimitError);
		expect(error).toMatchObject({ status: 403, attempts: 1, daily: true });
		expect(error.message).toContain('daily API request limit for the org is used up');
		expect(error.message).toContain('last 24 hours');
		expect(error.message).toContain('Setup → Company Information');
		expect(waits).toEqual([]);
		expect(api.callCount).toBe(1);
		expect(
			fake.requests.slice(requestsBefore).filter((r) => r.path.includes('/query')),
		).toHaveLength(1);
	});

	it('does not repeat a POST on 429 unless the caller marks it retrySafe', async () => {
		const api = newApi();
		const throttled = {
			status: 429,
			body: [{ errorCode: 'HTTP_429', message: 'slow down' }],
			headers: { 'Retry-After': '2' },
		};
		fake.failNext({ method: 'POST', pathIncludes: '/sobjects/Contact' }, throttled);
		const error = await caught(
			api.request({ method: 'POST', path: '/sobjects/Contact', body: { LastName: 'Ng' } }),
		);
		expect(error).toBeInstanceOf(SalesforceLimitError);
		expect(error.message).toContain(
			'Not retried: POST is only repeated when the caller marks it safe to repeat',
		);
		expect(api.callCount).toBe(1);
		expect(waits).toEqual([]);

		fake.failNext({ method: 'POST', pathIncludes: '/sobjects/Contact' }, throttled);
		const created = await api.request({
			method: 'POST',
			path: '/sobjects/Contact',
			body: { LastName: 'Ng' },
			retrySafe: true,
		});
		expect(created.status).toBe(201);
		expect(waits).toEqual([2000]);
		expect(fake.records('Contact').filter((row) => row.LastName === 'Ng')).toHaveLength(1);
	});

	it('MALFORMED_QUERY shows Salesforce’s message and the SOQL', async () => {
		const api = newApi();
		const soql = 'SELECT Id FROMM Contact';
		const error = await caught(api.getJson('/query', { q: soql }, soql));
		expect(error).toBeInstanceOf(SalesforceApiError);
		expect(error).toMatchObject({
			status: 400,
			errorCode: 'MALFORMED_QUERY',
			soql,
			request: 'GET /query',
		});
		expect(error.message).toMatch(/^Salesforce rejected the query \(MALFORMED_QUERY\): /);
		expect(error.message).toContain(`\nSOQL: ${soql}\n`);
		expect((error as SalesforceApiError).salesforceMessage.length).toBeGreaterThan(0);
	});

	it('INVALID_FIELD names the field as Salesforce does', async () => {
		const api = newApi();
		const soql = 'SELECT Id, Phone__c FROM Contact';
		const error = (await caught(api.getJson('/query', { q: soql }, soql))) as SalesforceApiError;
		expect(error.errorCode).toBe('INVALID_FIELD');
		expect(error.message).toContain('Phone__c');
		expect(error.message).toContain(`SOQL: ${soql}`);
	});

	it('reads Bulk-style error objects and plain-text errors', async () => {
		const api = newApi();
		fake.failNext(
			{ pathIncludes: '/jobs/query' },
			{ status: 400, body: { errorCode: 'INVALIDJOB', message: 'Job is bad' } },
		);
		expect(await caught(api.getJson('/jobs/query/750000000000001'))).toMatchObject({
			errorCode: 'INVALIDJOB',
			salesforceMessage: 'Job is bad',
		});
		fake.failNext({ pathIncludes: '/limits' }, { status: 500, body: 'Internal trouble' });
		expect(await caught(api.getJson('/limits'))).toMatchObject({
			status: 500,
			errorCode: 'HTTP_500',
			salesforceMessage: 'Internal trouble',
		});
	});

	it('parses Sforce-Limit-Info, logs it at debug and warns once above 80%', async () => {
		const api = newApi();
		await api.getJson('/limits');
		await api.getJson('/limits');
		expect(api.limitInfo).toEqual({ used: fake.apiRequestCount(), limit: 15_000 });
		expect(
			logger.lines.filter((line) => line.level === 'debug').map((line) => line.message),
		).toEqual(['Salesforce API usage 1/15000', 'Salesforce API usage 2/15000']);
		const high = {
			status: 200,
			body: {},
			headers: { 'Sforce-Limit-Info': 'api-usage=12500/15000' },
		};
		fake.failNext({ pathIncludes: '/limits' }, high, 2);
		await api.getJson('/limits');
		await api.getJson('/limits');
		expect(api.limitInfo).toEqual({ used: 12_500, limit: 15_000 });
		expect(logger.warnings()).toEqual([
			"Salesforce API usage is above 80% of the org's daily limit (12500/15000); when it runs out, every integration of the org gets REQUEST_LIMIT_EXCEEDED",
		]);
	});

	it('serverTime follows the Date header of the fake clock', async () => {
		const api = newApi();
		expect(api.serverTime()).toBeUndefined();
		await api.getJson('/limits');
		expect(api.serverTime()).toBe(START);
		fake.advance(90_000);
		await api.getJson('/limits');
		expect(api.serverTime()).toBe(START + 90_000);
		fake.setNow(Date.parse('2030-01-01T00:00:00Z'));
		await api.getJson('/limits');
		expect(api.serverTime()).toBe(Date.parse('2030-01-01T00:00:00Z'));
	});

	it('stream: true returns a readable body, unbuffered', async () => {
		const api = newApi();
		const response = await api.request({
			method: 'GET',
			path: '/query',
			query: { q: 'SELECT Id, LastName FROM Contact ORDER BY LastName' },
			stream: true,
		});
		expect(response.json).toBeUndefined();
		expect(response.text).toBeUndefined();
		expect(response.headers['content-type']).toContain('application/json');
		const page = JSON.parse(await readAll(response.stream!)) as {
			records: Array<{ LastName: string }>;
		};
		expect(page.records.map((record) => record.LastName)).toEqual(['Kim', 'Lee']);
	});

	it('sends every request, logins and streamed ones too, through the injected transport', async () => {
		const sent: string[] = [];
		const viaFetch = fetchTransport();
		const transport: SalesforceTransport = async (request) => {
			sent.push(
				`${request.method} ${new URL(request.url).pathname} ${request.responseType ?? 'text'}`,
			);
			return await viaFetch(request);
		};
		const api = newApi({
			session: passwordSession({ loginUrl: fake.url, ...APP, ...USER, transport }),
			transport,
		});
		await api.getJson('/query', { q: 'SELECT Id FROM Contact' });
		const job = await api.request({
			method: 'POST',
			path: '/jobs/query',
			body: { operation: 'query', query: 'SELECT Id FROM Contact' },
		});
		const id = (job.json as { id: string }).id;
		await api.getJson(`/jobs/query/${id}`);
		await api.getJson(`/jobs/query/${id}`);
		const results = await api.request({
			method: 'GET',
			path: `/jobs/query/${id}/results`,
			headers: { Accept: 'text/csv' },
			stream: true,
		});
		expect((await readAll(results.stream!)).split('\n')[0]).toBe('"Id"');
		expect(sent).toEqual([
			'POST /services/oauth2/token text',
			'GET /services/data/v62.0/query text',
			'POST /services/data/v62.0/jobs/query text',
			`GET /services/data/v62.0/jobs/query/${id} text`,
			`GET /services/data/v62.0/jobs/query/${id} text`,
			`GET /services/data/v62.0/jobs/query/${id}/results stream`,
		]);
		expect(fake.requests).toHaveLength(sent.length);
	});

	it('a 404 is a SalesforceApiError with the status', async () => {
		const error = await caught(newApi().getJson('/sobjects/Nope__c/describe'));
		expect(error).toMatchObject({
			status: 404,
			errorCode: 'NOT_FOUND',
			request: 'GET /sobjects/Nope__c/describe',
		});
	});
});
