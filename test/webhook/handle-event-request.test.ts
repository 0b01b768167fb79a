import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	SchemaVersionError,
	StoreConfigurationError,
	StoreUnavailableError,
} from '../../src/errors';
import type { CampaignStore } from '../../src/store/campaign-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import type { TriggerRule } from '../../src/trigger/trigger-rule';
import {
	handleEventRequest,
	triggeredEntryToJson,
	type EventRequest,
} from '../../src/webhook/handle-event-request';
import type { WebhookAuth } from '../../src/webhook/verify-request';

const NOW = Date.UTC(2026, 2, 10, 9, 30, 0); // 2026-03-10T09:30:00.000Z
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TOKEN = 'tok-123';
const TOKEN_AUTH: WebhookAuth = {
	type: 'headerToken',
	headerName: 'X-Campaign-Token',
	token: TOKEN,
};
const TOKEN_HEADERS = { 'x-campaign-token': TOKEN };
const EVENT_REQUIRED = 'is required: the event name, e.g. "Added to Cart".';

const RULE: TriggerRule = {
	campaignId: 'abandoned-cart',
	eventNames: ['Added to Cart'],
	propertyFilters: [{ property: 'cart_value', operator: 'greaterThan', value: 100 }],
	reEntry: { mode: 'everyTime' },
};

const folder = mkdtempSync(join(tmpdir(), 'tc-webhook-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let files = 0;
let store: SqliteCampaignStore;
let openStore: jest.Mock<Promise<CampaignStore>, []>;
beforeEach(() => {
	store = new SqliteCampaignStore({ filePath: join(folder, `store-${files++}.sqlite`) });
	openStore = jest.fn(async () => store);
});
afterEach(async () => {
	await store.close();
});

const json = (body: unknown) => Buffer.from(JSON.stringify(body), 'utf8');

const request = (
	rawBody: Buffer | string,
	overrides: Partial<EventRequest> = {},
): EventRequest => ({
	rawBody: typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody,
	headers: TOKEN_HEADERS,
	auth: TOKEN_AUTH,
	rule: RULE,
	maxBatchSize: 10,
	store: openStore,
	now: NOW,
	...overrides,
});

const cartEvent = (overrides: Record<string, unknown> = {}) => ({
	userId: 'u1',
	event: 'Added to Cart',
	messageId: 'm1',
	timestamp: '2026-03-10T09:00:00Z',
	properties: { cart_value: 150 },
	...overrides,
});

const eventsOf = (userId: string) =>
	store.findEvents({ userId, names: [], after: Number.MIN_SAFE_INTEGER });

describe('handleEventRequest: refused before anything is recorded', () => {
	test.each<[string, Record<string, string>, string]>([
		['no token header', {}, 'Unauthorized: missing header X-Campaign-Token'],
		['a wrong token', { 'x-campaign-token': 'nope' }, 'Unauthorized: wrong token'],
	])('answers 401 for %s, without opening the store', async (_label, headers, error) => {
		const response = await handleEventRequest(request(json(cartEvent()), { headers }));
		expect(response).toEqual({ status: 401, body: { error }, triggered: [] });
		expect(openStore).not.toHaveBeenCalled();
		expect(await eventsOf('u1')).toEqual([]);
	});

	it('answers 401 for a bad HMAC signature', async () => {
		const auth: WebhookAuth = { type: 'hmacSha256', headerName: 'X-Signature', secret: 'shh' };
		const rawBody = json(cartEvent());
		const signature = createHmac('sha256', 'not-shh').update(rawBody).digest('hex');
		const response = await handleEventRequest(
			request(rawBody, { auth, headers: { 'x-signature': signature } }),
		);
		expect(response).toEqual({
			status: 401,
			body: { error: 'Unauthorized: bad signature' },
			triggered: [],
		});
		expect(openStore).not.toHaveBeenCalled();
		expect(await eventsOf('u1')).toEqual([]);
	});

	test.each<[string, string, string]>([
		['an empty body', '', 'body: is empty; send a JSON object.'],
		[
			'a JSON array',
			'[{"userId":"u1","event":"Added to Cart"}]',
			'body: must be a JSON object: one event ({"userId", "event", ...}) or {"batch": [...]}.',
		],
		[
			'a JSON null',
			'null',
			'body: must be a JSON object: one event ({"userId", "event", ...}) or {"batch": [...]}.',
		],
	])('answers 400 on field body for %s', async (_label, raw, error) => {
		const response = await handleEventRequest(request(raw));
		expect(response).toEqual({ status: 400, body: { error, field: 'body' }, triggered: [] });
		expect(openStore).not.toHaveBeenCalled();
	});

	it('answers 400 on field body for malformed JSON', async () => {
		const response = await handleEventRequest(request('{"userId":"u1", "event":'));
		expect(response.status).toBe(400);
		expect(response.body.field).toBe('body');
		expect(response.body.error).toMatch(/^body: is not valid JSON \(.+\)\.$/);
		expect(Object.keys(response.body).sort()).toEqual(['error', 'field']);
		expect(response.triggered).toEqual([]);
		expect(openStore).not.toHaveBeenCalled();
	});

	it('answers 400 naming the field of a bad single event', async () => {
		const response = await handleEventRequest(request(json({ userId: 'u1', event: '  ' })));
		expect(response).toEqual({
			status: 400,
			body: { error: `event: ${EVENT_REQUIRED}`, field: 'event' },
			triggered: [],
		});
		expect(openStore).not.toHaveBeenCalled();
	});

	it('answers 400 for batch that is not an array', async () => {
		const response = await handleEventRequest(request(json({ batch: { userId: 'u1' } })));
		expect(response).toEqual({
			status: 400,
			body: { error: 'batch: must be an array of events.', field: 'batch' },
			triggered: [],
		});
	});

	it('answers 413 for a batch over the maximum, recording none of it', async () => {
		const batch = [1, 2, 3].map((i) => cartEvent({ messageId: `m${i}` }));
		const response = await handleEventRequest(request(json({ batch }), { maxBatchSize: 2 }));
		expect(response).toEqual({
			status: 413,
			body: {
				error:
					'batch: has 3 events, more than the maximum of 2. Split it into smaller batches or raise "Max Batch Size".',
				maxBatchSize: 2,
			},
			triggered: [],
		});
		expect(openStore).not.toHaveBeenCalled();
		expect(await eventsOf('u1')).toEqual([]);
	});

	it('accepts a batch of exactly the maximum', async () => {
		const batch = [1, 2].map((i) => cartEvent({ messageId: `m${i}` }));
		const response = await handleEventRequest(request(json({ batch }), { maxBatchSize: 2 }));
		expect(response.status).toBe(202);
		expect(response.body).toEqual({ accepted: 2, duplicates: 0, triggered: 2 });
	});
});

describe('handleEventRequest: recording and triggering', () => {
	it('records and triggers a single valid event (202), then counts the same request as a duplicate', async () => {
		const rawBody = json(cartEvent({ context: { timezone: 'Asia/Kathmandu' } }));
		const first = await handleEventRequest(request(rawBody));
		expect(first.status).toBe(202);
		expect(first.body).toEqual({ accepted: 1, duplicates: 0, triggered: 1 });
		expect(openStore).toHaveBeenCalledTimes(1);
		expect(first.triggered).toHaveLength(1);
		const [triggered] = first.triggered;
		expect(triggered.position).toBe(0);
		expect(triggered.profile).toBeUndefined();
		expect(triggered.event).toEqual({
			messageId: 'm1',
			userId: 'u1',
			name: 'Added to Cart',
			occurredAt: Date.UTC(2026, 2, 10, 9, 0, 0),
			receivedAt: NOW,
			properties: { cart_value: 150 },
			timeZone: 'Asia/Kathmandu',
		});
		expect(triggered.entry).toEqual({
			entryId: expect.stringMatching(UUID),
			campaignId: 'abandoned-cart',
			userId: 'u1',
			enteredAt: NOW,
			triggeredAt: Date.UTC(2026, 2, 10, 9, 0, 0),
			triggerMessageId: 'm1',
			state: 'active',
		});
		expect(await store.getEntry(triggered.entry.entryId)).toMatchObject({
			campaignId: 'abandoned-cart',
			userId: 'u1',
			triggerMessageId: 'm1',
		});
		expect(first.outcome).toEqual({
			accepted: 1,
			duplicates: 0,
			rejected: [],
			triggered: first.triggered,
			skipped: [],
		});

		const again = await handleEventRequest(request(rawBody, { now: NOW + 60_000 }));
		expect(again.status).toBe(202);
		expect(again.body).toEqual({ accepted: 1, duplicates: 1, triggered: 0 });
		expect(again.triggered).toEqual([]);
		expect(again.outcome?.skipped).toEqual([
			{
				position: 0,
				userId: 'u1',
				eventName: 'Added to Cart',
				reason: 'this event already entered the user into the campaign (same messageId)',
			},
		]);
		expect(await eventsOf('u1')).toHaveLength(1);
	});

	it('records the valid events of a partly bad batch, triggers them, and answers 400 listing the bad ones', async () => {
		const batch = [
			cartEvent({ messageId: 'b0', userId: 'u1' }),
			{ userId: 'u2', messageId: 'b1' },
			cartEvent({ messageId: 'b2', userId: 'u3', properties: { cart_value: 500 } }),
			cartEvent({ messageId: 'b3', userId: 'u4', timestamp: '2026-03-10 09:00' }),
			cartEvent({ messageId: 'b4', userId: 'u5', properties: { cart_value: 5 } }),
		];
		const response = await handleEventRequest(request(json({ batch })));
		const timestampError =
			'batch[3].timestamp: must be an ISO 8601 date-time with a time zone offset, e.g. "2026-03-01T12:00:00Z" (got "2026-03-10 09:00").';
		expect(response.status).toBe(400);
		expect(response.body).toEqual({
			error: `2 of 5 events rejected (first: batch[1].event: ${EVENT_REQUIRED}); the other 3 were recorded.`,
			field: 'batch[1].event',
			accepted: 3,
			duplicates: 0,
			triggered: 2,
			rejected: [
				{ index: 1, field: 'batch[1].event', error: `batch[1].event: ${EVENT_REQUIRED}` },
				{ index: 3, field: 'batch[3].timestamp', error: timestampError },
			],
		});
		expect(response.triggered.map((t) => [t.position, t.entry.userId, t.event.messageId])).toEqual([
			[0, 'u1', 'b0'],
			[2, 'u3', 'b2'],
		]);
		expect(response.outcome?.skipped).toEqual([
			{
				position: 4,
				userId: 'u5',
				eventName: 'Added to Cart',
				reason: 'property "cart_value" (5) is not greater than 100',
			},
		]);
		expect((await eventsOf('u1')).map((e) => e.messageId)).toEqual(['b0']);
		expect((await eventsOf('u3')).map((e) => e.messageId)).toEqual(['b2']);
		expect((await eventsOf('u5')).map((e) => e.messageId)).toEqual(['b4']);
		expect(await eventsOf('u2')).toEqual([]);
		expect(await eventsOf('u4')).toEqual([]);
	});

	it('answers 400 with the first message alone when every event of a batch is bad', async () => {
		const response = await handleEventRequest(request(json({ batch: ['x', { userId: 'u1' }] })));
		expect(response.status).toBe(400);
		expect(response.body).toEqual({
			error: 'batch[0]: must be an event object.',
			field: 'batch[0]',
			accepted: 0,
			duplicates: 0,
			triggered: 0,
			rejected: [
				{ index: 0, field: 'batch[0]', error: 'batch[0]: must be an event object.' },
				{ index: 1, field: 'batch[1].event', error: `batch[1].event: ${EVENT_REQUIRED}` },
			],
		});
		expect(response.triggered).toEqual([]);
		expect(await eventsOf('u1')).toEqual([]);
	});

	it('accepts an empty batch with zero counts', async () => {
		const response = await handleEventRequest(request(json({ batch: [] })));
		expect(response.status).toBe(202);
		expect(response.body).toEqual({ accepted: 0, duplicates: 0, triggered: 0 });
	});

	it('records non-matching events without triggering, giving each reason', async () => {
		const rule: TriggerRule = {
			...RULE,
			startsAt: Date.UTC(2026, 2, 1),
			endsAt: Date.UTC(2026, 3, 1),
		};
		const batch = [
			cartEvent({ messageId: 'n0', event: 'Viewed Page' }),
			cartEvent({ messageId: 'n1', properties: { cart_value: 100 } }),
			cartEvent({ messageId: 'n2', properties: {} }),
			cartEvent({ messageId: 'n3', timestamp: '2026-02-28T23:59:59Z' }),
			cartEvent({ messageId: 'n4', properties: { cart_value: '100.01' } }),
		];
		const response = await handleEventRequest(request(json({ batch }), { rule }));
		expect(response.status).toBe(202);
		expect(response.body).toEqual({ accepted: 5, duplicates: 0, triggered: 1 });
		expect(response.triggered.map((t) => t.event.messageId)).toEqual(['n4']);
		expect(response.outcome?.skipped).toEqual([
			{
				position: 0,
				userId: 'u1',
				eventName: 'Viewed Page',
				reason: 'event "Viewed Page" is not a trigger event',
			},
			{
				position: 1,
				userId: 'u1',
				eventName: 'Added to Cart',
				reason: 'property "cart_value" (100) is not greater than 100',
			},
			{
				position: 2,
				userId: 'u1',
				eventName: 'Added to Cart',
				reason: 'property "cart_value" (missing) is not a number or date to compare',
			},
			{
				position: 3,
				userId: 'u1',
				eventName: 'Added to Cart',
				reason: 'the event occurred at 2026-02-28T23:59:59.000Z, before the campaign started',
			},
		]);
		expect((await eventsOf('u1')).map((e) => e.messageId).sort()).toEqual([
			'n0',
			'n1',
			'n2',
			'n3',
			'n4',
		]);
	});

	it('records events after the campaign ended without triggering', async () => {
		const rule: TriggerRule = { ...RULE, endsAt: NOW };
		const response = await handleEventRequest(request(json(cartEvent()), { rule }));
		expect(response.status).toBe(202);
		expect(response.body).toEqual({ accepted: 1, duplicates: 0, triggered: 0 });
		expect(response.outcome?.skipped.map((s) => s.reason)).toEqual([
			'the campaign ended at 2026-03-10T09:30:00.000Z',
		]);
		expect(await eventsOf('u1')).toHaveLength(1);
	});

	test.each<[string, TriggerRule['reEntry'], number, string | undefined]>([
		['everyTime', { mode: 'everyTime' }, 2, undefined],
		['once', { mode: 'once' }, 1, 'the user already entered this campaign (re-entry: once)'],
		[
			'oncePerPeriod (24 h)',
			{ mode: 'oncePerPeriod', periodMs: 86_400_000 },
			1,
			'the user entered this campaign less than 24 h before or after this event (re-entry: once per period)',
		],
		['oncePerPeriod (30 min)', { mode: 'oncePerPeriod', periodMs: 1_800_000 }, 2, undefined],
	])(
		'applies re-entry %s to two events of one user an hour apart',
		async (_label, reEntry, entered, reason) => {
			const batch = [
				cartEvent({ messageId: 'r0', timestamp: '2026-03-10T08:00:00Z' }),
				cartEvent({ messageId: 'r1', timestamp: '2026-03-10T09:00:00Z' }),
			];
			const response = await handleEventRequest(
				request(json({ batch }), { rule: { ...RULE, reEntry } }),
			);
			expect(response.status).toBe(202);
			expect(response.body).toEqual({ accepted: 2, duplicates: 0, triggered: entered });
			expect(response.outcome?.skipped).toEqual(
				reason ? [{ position: 1, userId: 'u1', eventName: 'Added to Cart', reason }] : [],
			);
		},
	);

	it('counts a messageId repeated inside one batch once', async () => {
		const batch = [cartEvent({ messageId: 'same' }), cartEvent({ messageId: 'same' })];
		const response = await handleEventRequest(request(json({ batch })));
		expect(response.body).toEqual({ accepted: 2, duplicates: 1, triggered: 1 });
		expect(response.outcome?.skipped).toEqual([
			{
				position: 1,
				userId: 'u1',
				eventName: 'Added to Cart',
				reason: 'this event already entered the user into the campaign (same messageId)',
			},
		]);
	});

	it('accepts a request signed with HMAC and a timestamp', async () => {
		const auth: WebhookAuth = {
			type: 'hmacSha256',
			headerName: 'X-Signature',
			secret: 'shh',
			timestampHeader: 'X-Timestamp',
		};
		const rawBody = json(cartEvent({ userId: 'jürgen' }));
		const ts = String(NOW / 1000 - 10);
		const signature = createHmac('sha256', 'shh').update(`${ts}.`).update(rawBody).digest('hex');
		const response = await handleEventRequest(
			request(rawBody, {
				auth,
				headers: { 'x-signature': `sha256=${signature}`, 'x-timestamp': ts },
			}),
		);
		expect(response.status).toBe(202);
		expect(response.body).toEqual({ accepted: 1, duplicates: 0, triggered: 1 });
		expect(response.triggered[0].entry.userId).toBe('jürgen');
	});
});

describe('handleEventRequest: the store is unavailable', () => {
	const PREFIX = 'The campaign store is unavailable; nothing was recorded, retry later. ';

	test.each<[string, Error]>([
		[
			'a StoreUnavailableError',
			new StoreUnavailableError('Cannot reach PostgreSQL at db:5432: connection refused.'),
		],
		['any other error', new Error('disk I/O error')],
	])('answers 503 when opening it throws %s', async (_label, error) => {
		const failing = jest.fn(async (): Promise<CampaignStore> => {
			throw error;
		});
		const response = await handleEventRequest(request(json(cartEvent()), { store: failing }));
		expect(response).toEqual({
			status: 503,
			body: { error: `${PREFIX}${error.message}` },
			triggered: [],
		});
		expect(failing).toHaveBeenCalledTimes(1);
		expect(await eventsOf('u1')).toEqual([]);
	});

	test.each<[string, Error]>([
		[
			'a credential that cannot be read',
			new StoreConfigurationError(
				'Cannot read the Campaign Store credential "Store": it was deleted. Select another.',
			),
		],
		['a store written by a newer package', new SchemaVersionError(99, 5)],
	])(
		'answers 500, not 503, when its settings cannot work: %s (a retry would not help)',
		async (_label, error) => {
			const failing = jest.fn(async (): Promise<CampaignStore> => {
				throw error;
			});
			const response = await handleEventRequest(request(json(cartEvent()), { store: failing }));
			expect(response).toEqual({
				status: 500,
				body: {
					error: `The campaign store is not set up correctly; nothing was recorded. ${error.message}`,
				},
				triggered: [],
			});
			expect(await eventsOf('u1')).toEqual([]);
		},
	);

	it('answers 503 and records nothing when the ingest transaction fails', async () => {
		const failing = failingMethod(store, 'ingest', new StoreUnavailableError('database is locked'));
		const response = await handleEventRequest(
			request(json(cartEvent()), { store: async () => failing }),
		);
		expect(response).toEqual({
			status: 503,
			body: { error: `${PREFIX}database is locked` },
			triggered: [],
		});
		expect(await eventsOf('u1')).toEqual([]);
	});

	it('keeps the committed journeys when only the profile read fails afterwards', async () => {
		const failing = failingMethod(store, 'getProfiles', new Error('connection reset'));
		const response = await handleEventRequest(
			request(json(cartEvent()), { store: async () => failing }),
		);
		expect(response.status).toBe(202);
		expect(response.body).toEqual({ accepted: 1, duplicates: 0, triggered: 1 });
		expect(response.triggered).toHaveLength(1);
		expect(response.triggered[0].profile).toBeUndefined();
		expect(response.outcome?.profileError).toBe('connection reset');
		expect(await eventsOf('u1')).toHaveLength(1);
	});
});

/** The store with one method replaced by one that throws. */
function failingMethod(
	target: CampaignStore,
	method: keyof CampaignStore,
	error: Error,
): CampaignStore {
	return new Proxy(target, {
		get(object, key, receiver) {
			if (key === method) return async () => Promise.reject(error);
			const value = Reflect.get(object, key, receiver);
			return typeof value === 'function' ? value.bind(object) : value;
		},
	});
}

describe('triggeredEntryToJson', () => {
	const trigger = async (body: unknown) => {
		const response = await handleEventRequest(request(json(body)));
		expect(response.triggered).toHaveLength(1);
		return response.triggered[0];
	};

	it('gives ISO strings, the event time once, no zone when the event has none and a null profile for an unknown user', async () => {
		const triggered = await trigger(cartEvent({ timestamp: '2026-03-10T14:45:00+05:45' }));
		expect(triggeredEntryToJson(triggered)).toEqual({
			userId: 'u1',
			campaignId: 'abandoned-cart',
			entryId: triggered.entry.entryId,
			triggeredAt: '2026-03-10T09:00:00.000Z',
			event: {
				messageId: 'm1',
				name: 'Added to Cart',
				properties: { cart_value: 150 },
			},
			profile: null,
		});
		expect(triggered.entry.entryId).toMatch(UUID);
	});

	it('includes the stored profile, with null for fields it lacks', async () => {
		await store.upsertProfiles(
			[
				{
					userId: 'u1',
					email: 'ada@example.com',
					timeZone: 'Europe/Berlin',
					attributes: { plan: 'pro', seats: 3 },
					externalIds: { salesforce: '003XYZ' },
				},
			],
			NOW - 1000,
		);
		const triggered = await trigger(cartEvent({ context: { timezone: 'Asia/Kathmandu' } }));
		const asJson = triggeredEntryToJson(triggered);
		expect(asJson.profile).toEqual({
			email: 'ada@example.com',
			phone: null,
			timeZone: 'Europe/Berlin',
			unsubscribed: false,
			attributes: { plan: 'pro', seats: 3 },
			externalIds: { salesforce: '003XYZ' },
		});
		expect((asJson.event as Record<string, unknown>).timeZone).toBe('Asia/Kathmandu');
		expect(Object.keys(asJson)).toEqual([
			'userId',
			'campaignId',
			'entryId',
			'triggeredAt',
			'event',
			'profile',
		]);
	});

	it('shows an unsubscribed profile with a phone', async () => {
		await store.upsertProfiles(
			[{ userId: 'u1', phone: '+4915112345678', unsubscribed: true }],
			NOW,
		);
		const asJson = triggeredEntryToJson(await trigger(cartEvent()));
		expect(asJson.profile).toEqual({
			email: null,
			phone: '+4915112345678',
			timeZone: null,
			unsubscribed: true,
			attributes: {},
			externalIds: {},
		});
	});

	it('survives a JSON round trip unchanged', async () => {
		const asJson = triggeredEntryToJson(await trigger(cartEvent()));
		expect(JSON.parse(JSON.stringify(asJson))).toEqual(asJson);
	});
});
