import {
	BatchTooLargeError,
	DEFAULT_MAX_BATCH_SIZE,
	parseEventPayload,
	parseJsonBody,
	parseTrackEvent,
} from '../../src/events/parse-events';
import { CampaignError, InvalidInputError } from '../../src/errors';

const NOW = Date.UTC(2026, 2, 10, 9, 30, 0); // 2026-03-10T09:30:00.000Z
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Runs `work`, expecting an InvalidInputError; returns it for field / message checks. */
function invalidInput(work: () => unknown): InvalidInputError {
	try {
		work();
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		return error as InvalidInputError;
	}
	throw new Error('expected an InvalidInputError, but nothing was thrown');
}

describe('parseJsonBody', () => {
	it('parses a JSON string', () => {
		expect(parseJsonBody('{"userId":"u1","event":"Signed Up"}')).toEqual({
			userId: 'u1',
			event: 'Signed Up',
		});
	});

	it('decodes a Buffer as UTF-8, multibyte characters included', () => {
		const text = '{"userId":"ü-ßø","event":"Añadido al carrito 🛒","properties":{"city":"東京"}}';
		const body = Buffer.from(text, 'utf8');
		expect(body.length).toBeGreaterThan(text.length); // really multibyte
		expect(parseJsonBody(body)).toEqual({
			userId: 'ü-ßø',
			event: 'Añadido al carrito 🛒',
			properties: { city: '東京' },
		});
	});

	it('keeps non-object JSON values for parseEventPayload to judge', () => {
		expect(parseJsonBody('[1,2]')).toEqual([1, 2]);
		expect(parseJsonBody('null')).toBeNull();
		expect(parseJsonBody('"text"')).toBe('text');
	});

	test.each([
		['an empty string', ''],
		['only whitespace', '  \n\t '],
		['an empty Buffer', Buffer.alloc(0)],
	])('rejects %s as an empty body', (_label, raw) => {
		const error = invalidInput(() => parseJsonBody(raw));
		expect(error.field).toBe('body');
		expect(error.code).toBe('invalid_input');
		expect(error.message).toBe('body: is empty; send a JSON object.');
	});

	test.each([
		['a truncated object', '{"userId":"u1",'],
		['single quotes', "{'userId':'u1'}"],
		['a trailing comma', '{"userId":"u1",}'],
		['plain text', 'userId=u1&event=x'],
		['a Buffer with bad JSON', Buffer.from('{"a":', 'utf8')],
	])('rejects %s as invalid JSON on field body', (_label, raw) => {
		const error = invalidInput(() => parseJsonBody(raw));
		expect(error.field).toBe('body');
		expect(error.message).toMatch(/^body: is not valid JSON \(.+\)\.$/);
	});
});

describe('parseEventPayload: a single event', () => {
	it('parses a complete Segment track call', () => {
		const parsed = parseEventPayload(
			{
				type: 'track',
				messageId: 'msg-1',
				userId: 'user-1',
				event: 'Added to Cart',
				timestamp: '2026-03-01T12:00:00Z',
				properties: { cart_value: 120, sku: 'A-1' },
				context: { timezone: 'Asia/Kathmandu', ip: '1.2.3.4' },
			},
			{ now: NOW },
		);
		expect(parsed).toEqual({
			events: [
				{
					messageId: 'msg-1',
					userId: 'user-1',
					name: 'Added to Cart',
					occurredAt: Date.UTC(2026, 2, 1, 12, 0, 0),
					receivedAt: NOW,
					properties: { cart_value: 120, sku: 'A-1' },
					timeZone: 'Asia/Kathmandu',
				},
			],
			positions: [0],
			rejected: [],
			isBatch: false,
		});
	});

	it('fills in defaults: no type, no properties, no context, no timestamp, no messageId', () => {
		const { events } = parseEventPayload({ userId: 'u1', event: 'Opened App' }, { now: NOW });
		expect(events).toHaveLength(1);
		const [event] = events;
		expect(event).toEqual({
			messageId: expect.stringMatching(UUID),
			userId: 'u1',
			name: 'Opened App',
			occurredAt: NOW,
			receivedAt: NOW,
			properties: {},
			timeZone: undefined,
		});
	});

	it('treats null properties, context and timestamp as absent', () => {
		const [event] = parseEventPayload(
			{ userId: 'u1', event: 'E', properties: null, context: null, timestamp: null },
			{ now: NOW },
		).events;
		expect(event.properties).toEqual({});
		expect(event.timeZone).toBeUndefined();
		expect(event.occurredAt).toBe(NOW);
	});

	it('generates a different UUID messageId for each event without one', () => {
		const body = { userId: 'u1', event: 'Opened App' };
		const ids = [1, 2, 3].map(() => parseEventPayload(body, { now: NOW }).events[0].messageId);
		ids.forEach((id) => expect(id).toMatch(UUID));
		expect(new Set(ids).size).toBe(3);
	});

	test.each([
		['a given string', 'abc-123', 'abc-123'],
		['a padded string, trimmed', '  abc-123 ', 'abc-123'],
		['a number, as a string', 98765, '98765'],
	])('keeps messageId when it is %s', (_label, messageId, expected) => {
		const [event] = parseEventPayload({ userId: 'u1', event: 'E', messageId }, { now: NOW }).events;
		expect(event.messageId).toBe(expected);
	});

	test.each([
		['an empty string', ''],
		['only spaces', '   '],
		['null', null],
	])('generates a messageId when the given one is %s', (_label, messageId) => {
		const [event] = parseEventPayload({ userId: 'u1', event: 'E', messageId }, { now: NOW }).events;
		expect(event.messageId).toMatch(UUID);
	});
});

describe('parseTrackEvent: who', () => {
	test.each<[string, Record<string, unknown>, string]>([
		['userId', { userId: 'user-1' }, 'user-1'],
		['anonymousId when there is no userId', { anonymousId: 'anon-7' }, 'anon-7'],
		['userId over anonymousId', { userId: 'user-1', anonymousId: 'anon-7' }, 'user-1'],
		['a numeric userId, as a string', { userId: 42 }, '42'],
		['a negative decimal userId, as a string', { userId: -1.5 }, '-1.5'],
		['a numeric anonymousId, as a string', { anonymousId: 7 }, '7'],
		['a zero userId (not treated as missing)', { userId: 0 }, '0'],
		['userId with surrounding whitespace, trimmed', { userId: '  user-1\t\n' }, 'user-1'],
		['anonymousId when userId is empty', { userId: '', anonymousId: 'anon-7' }, 'anon-7'],
		['anonymousId when userId is whitespace', { userId: '   ', anonymousId: ' anon-7 ' }, 'anon-7'],
		['anonymousId when userId is null', { userId: null, anonymousId: 'anon-7' }, 'anon-7'],
	])('uses %s', (_label, who, expected) => {
		expect(parseTrackEvent({ ...who, event: 'E' }, '', NOW).userId).toBe(expected);
	});

	test.each<[string, Record<string, unknown>]>([
		['neither is given', {}],
		['both are empty strings', { userId: '', anonymousId: '' }],
		['both are whitespace', { userId: '  ', anonymousId: '\t' }],
		['both are null', { userId: null, anonymousId: null }],
	])('requires userId when %s', (_label, who) => {
		const error = invalidInput(() => parseTrackEvent({ ...who, event: 'E' }, '', NOW));
		expect(error.field).toBe('userId');
		expect(error.message).toBe(
			'userId: is required: give "userId" (or "anonymousId" for a visitor not yet known).',
		);
	});

	test.each<[string, unknown, string]>([
		['a boolean', true, 'a boolean'],
		['an array', ['u1'], 'an array'],
		['an object', { id: 'u1' }, 'an? object'],
	])('rejects a userId that is %s', (_label, userId, described) => {
		const error = invalidInput(() => parseTrackEvent({ userId, event: 'E' }, '', NOW));
		expect(error.field).toBe('userId');
		// 'an? object': src currently writes "a object"; accept both so a grammar fix keeps this green.
		expect(error.message).toMatch(new RegExp(`^userId: must be a string, not ${described}\\.$`));
	});

	it('rejects an anonymousId of the wrong type when there is no userId', () => {
		const error = invalidInput(() => parseTrackEvent({ anonymousId: false, event: 'E' }, '', NOW));
		expect(error.field).toBe('anonymousId');
		expect(error.message).toBe('anonymousId: must be a string, not a boolean.');
	});

	it('rejects a userId longer than 200 characters, and accepts exactly 200', () => {
		expect(parseTrackEvent({ userId: 'u'.repeat(200), event: 'E' }, '', NOW).userId).toHaveLength(
			200,
		);
		const error = invalidInput(() =>
			parseTrackEvent({ userId: 'u'.repeat(201), event: 'E' }, '', NOW),
		);
		expect(error.field).toBe('userId');
		expect(error.message).toBe('userId: is longer than 200 characters.');
	});
});

describe('parseTrackEvent: what', () => {
	it('trims the event name', () => {
		expect(parseTrackEvent({ userId: 'u1', event: '  Added to Cart ' }, '', NOW).name).toBe(
			'Added to Cart',
		);
	});

	test.each<[string, Record<string, unknown>]>([
		['missing', {}],
		['empty', { event: '' }],
		['whitespace', { event: '   ' }],
		['null', { event: null }],
	])('requires the event name when it is %s', (_label, what) => {
		const error = invalidInput(() => parseTrackEvent({ userId: 'u1', ...what }, '', NOW));
		expect(error.field).toBe('event');
		expect(error.message).toBe('event: is required: the event name, e.g. "Added to Cart".');
	});

	test.each<[string, unknown, string]>([
		['an object', { name: 'x' }, 'an? object'],
		['a boolean', false, 'a boolean'],
		['an array', ['x'], 'an array'],
	])('rejects an event name that is %s', (_label, event, described) => {
		const error = invalidInput(() => parseTrackEvent({ userId: 'u1', event }, '', NOW));
		expect(error.field).toBe('event');
		expect(error.message).toMatch(new RegExp(`^event: must be a string, not ${described}\\.$`));
	});

	it('turns a numeric event name into a string', () => {
		expect(parseTrackEvent({ userId: 'u1', event: 404 }, '', NOW).name).toBe('404');
	});

	test.each<[string, unknown]>([
		['undefined (no type)', undefined],
		['"track"', 'track'],
	])('accepts type %s', (_label, type) => {
		expect(parseTrackEvent({ type, userId: 'u1', event: 'E' }, '', NOW).name).toBe('E');
	});

	test.each<[unknown, string]>([
		['identify', 'type: must be "track" (got "identify").'],
		['page', 'type: must be "track" (got "page").'],
		['Track', 'type: must be "track" (got "Track").'],
		[1, 'type: must be "track" (got 1).'],
		[null, 'type: must be "track" (got null).'],
	])('rejects type %j', (type, message) => {
		const error = invalidInput(() => parseTrackEvent({ type, userId: 'u1', event: 'E' }, '', NOW));
		expect(error.field).toBe('type');
		expect(error.message).toBe(message);
	});

	test.each<[string, unknown, string]>([
		['properties', 'cart', 'properties: must be an object, not a string.'],
		['properties', [1, 2], 'properties: must be an object, not an array.'],
		['properties', 5, 'properties: must be an object, not a number.'],
		['properties', true, 'properties: must be an object, not a boolean.'],
		['context', 'web', 'context: must be an object, not a string.'],
		['context', [], 'context: must be an object, not an array.'],
		['context', 0, 'context: must be an object, not a number.'],
	])('rejects %s = %j', (key, value, message) => {
		const error = invalidInput(() =>
			parseTrackEvent({ userId: 'u1', event: 'E', [key]: value }, '', NOW),
		);
		expect(error.field).toBe(key);
		expect(error.message).toBe(message);
	});

	it('keeps nested properties as given', () => {
		const properties = { cart: { total: 99.5, items: [{ sku: 'A' }] }, coupon: null };
		expect(parseTrackEvent({ userId: 'u1', event: 'E', properties }, '', NOW).properties).toEqual(
			properties,
		);
	});
});

describe('parseTrackEvent: when', () => {
	test.each<[string, string, number]>([
		['UTC with Z', '2026-03-01T12:00:00Z', Date.UTC(2026, 2, 1, 12, 0, 0)],
		['a +05:45 offset', '2026-03-01T12:00:00+05:45', Date.UTC(2026, 2, 1, 6, 15, 0)],
		['a -08:00 offset', '2026-03-01T12:00:00-08:00', Date.UTC(2026, 2, 1, 20, 0, 0)],
		['a +0545 offset without colon', '2026-03-01T12:00:00+0545', Date.UTC(2026, 2, 1, 6, 15, 0)],
		['milliseconds', '2026-03-01T12:00:00.123Z', Date.UTC(2026, 2, 1, 12, 0, 0, 123)],
		['no seconds', '2026-03-01T12:00Z', Date.UTC(2026, 2, 1, 12, 0, 0)],
		['a +00:00 offset', '2026-03-01T12:00:00+00:00', Date.UTC(2026, 2, 1, 12, 0, 0)],
		['a leap day', '2028-02-29T23:59:59Z', Date.UTC(2028, 1, 29, 23, 59, 59)],
	])('reads a timestamp with %s as exact epoch ms', (_label, timestamp, expected) => {
		const event = parseTrackEvent({ userId: 'u1', event: 'E', timestamp }, '', NOW);
		expect(event.occurredAt).toBe(expected);
		expect(event.receivedAt).toBe(NOW);
	});

	test.each<[string, unknown]>([
		['no offset (a bare local time)', '2026-03-01T12:00:00'],
		['a date without a time', '2026-03-01'],
		['an impossible date', '2026-02-30T00:00:00Z'],
		['Feb 29 in a non-leap year', '2026-02-29T12:00:00Z'],
		['hour 25', '2026-03-01T25:00:00Z'],
		['an hour-only offset', '2026-03-01T12:00:00+05'],
		['epoch ms as a number', 1772366400000],
		['epoch ms as a string', '1772366400000'],
		['garbage', 'yesterday'],
		['an RFC 2822 date', 'Sun, 01 Mar 2026 12:00:00 GMT'],
		['a boolean', true],
		['an object', { iso: '2026-03-01T12:00:00Z' }],
		['an empty string', ''],
	])('rejects a timestamp with %s, quoting it and showing an example', (_label, timestamp) => {
		const error = invalidInput(() =>
			parseTrackEvent({ userId: 'u1', event: 'E', timestamp }, '', NOW),
		);
		expect(error.field).toBe('timestamp');
		expect(error.message).toBe(
			`timestamp: must be an ISO 8601 date-time with a time zone offset, e.g. "2026-03-01T12:00:00Z" (got ${JSON.stringify(timestamp)}).`,
		);
	});

	it('uses now when the timestamp is missing', () => {
		const event = parseTrackEvent({ userId: 'u1', event: 'E' }, '', NOW);
		expect(event.occurredAt).toBe(NOW);
		expect(event.receivedAt).toBe(NOW);
	});
});

describe('parseTrackEvent: context.timezone', () => {
	test.each([
		['Asia/Kathmandu', 'Asia/Kathmandu'],
		['Europe/Berlin', 'Europe/Berlin'],
		['America/New_York', 'America/New_York'],
		['UTC', 'UTC'],
		[' Asia/Kathmandu ', 'Asia/Kathmandu'],
	])('keeps the valid zone %j as %j', (timezone, expected) => {
		expect(
			parseTrackEvent({ userId: 'u1', event: 'E', context: { timezone } }, '', NOW).timeZone,
		).toBe(expected);
	});

	test.each([
		['', undefined],
		[null, undefined],
	])('treats timezone %j as absent', (timezone, expected) => {
		expect(
			parseTrackEvent({ userId: 'u1', event: 'E', context: { timezone } }, '', NOW).timeZone,
		).toBe(expected);
	});

	test.each(['Mars/Olympus', 'Europe/Atlantis', 'GMT+25'])(
		'rejects the unknown zone %j, naming it',
		(timezone) => {
			const error = invalidInput(() =>
				parseTrackEvent({ userId: 'u1', event: 'E', context: { timezone } }, '', NOW),
			);
			expect(error.field).toBe('context.timezone');
			expect(error.message).toBe(
				`context.timezone: "${timezone}" is not a known IANA time zone; use a name such as "Europe/Berlin" or "America/New_York".`,
			);
		},
	);

	it('rejects a timezone that is not text', () => {
		const error = invalidInput(() =>
			parseTrackEvent(
				{ userId: 'u1', event: 'E', context: { timezone: { name: 'UTC' } } },
				'',
				NOW,
			),
		);
		expect(error.field).toBe('context.timezone');
		expect(error.message).toMatch(/^context\.timezone: must be a string, not an? object\.$/);
	});
});

describe('parseTrackEvent: field prefix', () => {
	test.each<[unknown, string, string]>([
		['text', '', 'body'],
		[null, '', 'body'],
		[[1], '', 'body'],
		['text', 'batch[4].', 'batch[4]'],
	])('names %j with prefix %j as %j when it is not an object', (raw, prefix, field) => {
		const error = invalidInput(() => parseTrackEvent(raw, prefix, NOW));
		expect(error.field).toBe(field);
		expect(error.message).toBe(`${field}: must be an event object.`);
	});

	it('prefixes nested fields', () => {
		const error = invalidInput(() =>
			parseTrackEvent(
				{ userId: 'u1', event: 'E', context: { timezone: 'Mars/Olympus' } },
				'batch[3].',
				NOW,
			),
		);
		expect(error.field).toBe('batch[3].context.timezone');
	});
});

describe('parseEventPayload: the body as a whole', () => {
	test.each<[string, unknown]>([
		['an array', [{ userId: 'u1', event: 'E' }]],
		['a string', 'hello'],
		['null', null],
		['a number', 42],
		['undefined', undefined],
	])('rejects a body that is %s', (_label, body) => {
		const error = invalidInput(() => parseEventPayload(body, { now: NOW }));
		expect(error.field).toBe('body');
		expect(error.message).toBe(
			'body: must be a JSON object: one event ({"userId", "event", ...}) or {"batch": [...]}.',
		);
	});

	it('lets a bad single event throw (nothing to record), naming the field without prefix', () => {
		const error = invalidInput(() => parseEventPayload({ userId: 'u1' }, { now: NOW }));
		expect(error.field).toBe('event');
	});

	test.each<[string, unknown]>([
		['an object', { userId: 'u1', event: 'E' }],
		['a string', '[]'],
		['null', null],
		['a number', 3],
	])('rejects batch that is %s', (_label, batch) => {
		const error = invalidInput(() => parseEventPayload({ batch }, { now: NOW }));
		expect(error.field).toBe('batch');
		expect(error.message).toBe('batch: must be an array of events.');
	});
});

describe('parseEventPayload: batches', () => {
	it('parses every event of a batch with its position', () => {
		const parsed = parseEventPayload(
			{
				batch: [
					{ userId: 'u1', event: 'A', messageId: 'm1', timestamp: '2026-03-01T00:00:00Z' },
					{ anonymousId: 'anon', event: 'B', messageId: 'm2' },
				],
			},
			{ now: NOW },
		);
		expect(parsed.isBatch).toBe(true);
		expect(parsed.positions).toEqual([0, 1]);
		expect(parsed.rejected).toEqual([]);
		expect(parsed.events.map((e) => [e.messageId, e.userId, e.name, e.occurredAt])).toEqual([
			['m1', 'u1', 'A', Date.UTC(2026, 2, 1)],
			['m2', 'anon', 'B', NOW],
		]);
	});

	it('accepts an empty batch', () => {
		expect(parseEventPayload({ batch: [] }, { now: NOW })).toEqual({
			events: [],
			positions: [],
			rejected: [],
			isBatch: true,
		});
	});

	it('parses the good events of a partly bad batch and lists the bad ones by index', () => {
		const parsed = parseEventPayload(
			{
				batch: [
					{ userId: 'u0', event: 'Good 0', messageId: 'm0' },
					{ userId: 'u1', event: 'Bad type', type: 'identify' },
					{ userId: 'u2', event: '' },
					{ userId: 'u3', event: 'Good 3', messageId: 'm3' },
					'not an event',
					{ userId: 'u5', event: 'Bad time', timestamp: '2026-02-30T00:00:00Z' },
					{ userId: 'u6', event: 'Bad zone', context: { timezone: 'Mars/Olympus' } },
					{ event: 'No user' },
					{ userId: 'u8', event: 'Bad props', properties: [] },
					{ userId: 9, event: 'Good 9', messageId: 'm9' },
				],
			},
			{ now: NOW },
		);
		expect(parsed.isBatch).toBe(true);
		expect(parsed.events.map((e) => [e.messageId, e.userId, e.name])).toEqual([
			['m0', 'u0', 'Good 0'],
			['m3', 'u3', 'Good 3'],
			['m9', '9', 'Good 9'],
		]);
		expect(parsed.positions).toEqual([0, 3, 9]);
		expect(parsed.rejected).toEqual([
			{
				index: 1,
				field: 'batch[1].type',
				message: 'batch[1].type: must be "track" (got "identify").',
			},
			{
				index: 2,
				field: 'batch[2].event',
				message: 'batch[2].event: is required: the event name, e.g. "Added to Cart".',
			},
			{ index: 4, field: 'batch[4]', message: 'batch[4]: must be an event object.' },
			{
				index: 5,
				field: 'batch[5].timestamp',
				message:
					'batch[5].timestamp: must be an ISO 8601 date-time with a time zone offset, e.g. "2026-03-01T12:00:00Z" (got "2026-02-30T00:00:00Z").',
			},
			{
				index: 6,
				field: 'batch[6].context.timezone',
				message:
					'batch[6].context.timezone: "Mars/Olympus" is not a known IANA time zone; use a name such as "Europe/Berlin" or "America/New_York".',
			},
			{
				index: 7,
				field: 'batch[7].userId',
				message:
					'batch[7].userId: is required: give "userId" (or "anonymousId" for a visitor not yet known).',
			},
			{
				index: 8,
				field: 'batch[8].properties',
				message: 'batch[8].properties: must be an object, not an array.',
			},
		]);
	});

	it('rejects every event of an all-bad batch without throwing', () => {
		const parsed = parseEventPayload({ batch: [null, { userId: 'u1' }] }, { now: NOW });
		expect(parsed.events).toEqual([]);
		expect(parsed.positions).toEqual([]);
		expect(parsed.rejected.map(({ index, field }) => [index, field])).toEqual([
			[0, 'batch[0]'],
			[1, 'batch[1].event'],
		]);
	});

	test.each<[number | undefined, number, boolean]>([
		[3, 3, false],
		[3, 4, true],
		[1, 2, true],
		[0, 1, true],
		[0, 0, false],
		[undefined, DEFAULT_MAX_BATCH_SIZE, false],
		[undefined, DEFAULT_MAX_BATCH_SIZE + 1, true],
	])('with maxBatchSize %p, a batch of %p is too large: %p', (maxBatchSize, size, tooLarge) => {
		const batch = Array.from({ length: size }, (_, i) => ({ userId: `u${i}`, event: 'E' }));
		const parse = () => parseEventPayload({ batch }, { now: NOW, maxBatchSize });
		if (!tooLarge) {
			expect(parse().events).toHaveLength(size);
			return;
		}
		const max = maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
		let thrown: unknown;
		try {
			parse();
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(BatchTooLargeError);
		expect(thrown).toBeInstanceOf(CampaignError);
		expect(thrown).not.toBeInstanceOf(InvalidInputError);
		const error = thrown as BatchTooLargeError;
		expect(error.size).toBe(size);
		expect(error.maxBatchSize).toBe(max);
		expect(error.code).toBe('batch_too_large');
		expect(error.name).toBe('BatchTooLargeError');
		expect(error.message).toBe(
			`batch: has ${size} events, more than the maximum of ${max}. Split it into smaller batches or raise "Max Batch Size".`,
		);
	});

	it('checks the batch size before judging single events', () => {
		expect(() =>
			parseEventPayload({ batch: [null, null, null] }, { now: NOW, maxBatchSize: 2 }),
		).toThrow(BatchTooLargeError);
	});

	it('gives each event of a batch without messageId its own UUID', () => {
		const parsed = parseEventPayload(
			{
				batch: [
					{ userId: 'u1', event: 'E' },
					{ userId: 'u1', event: 'E' },
				],
			},
			{ now: NOW },
		);
		const [a, b] = parsed.events.map((e) => e.messageId);
		expect(a).toMatch(UUID);
		expect(b).toMatch(UUID);
		expect(a).not.toBe(b);
	});
});

describe('parseJsonBody + parseEventPayload', () => {
	it('parses a UTF-8 Buffer batch end to end', () => {
		const raw = Buffer.from(
			JSON.stringify({
				batch: [
					{
						userId: 'jürgen',
						event: 'Bestellung abgeschlossen',
						timestamp: '2026-03-01T12:00:00+05:45',
					},
				],
			}),
			'utf8',
		);
		const parsed = parseEventPayload(parseJsonBody(raw), { now: NOW });
		expect(parsed.events[0]).toMatchObject({
			userId: 'jürgen',
			name: 'Bestellung abgeschlossen',
			occurredAt: Date.UTC(2026, 2, 1, 6, 15),
		});
	});
});
