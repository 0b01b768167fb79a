import type { HttpRequest, HttpTransport, RenderedMessage } from '../../src/send/channel';
import {
	contactCacheKey,
	createIntercomChannel,
	IntercomContactCache,
	type IntercomChannelOptions,
} from '../../src/send/intercom';
import { fetchTransport } from './support/fetch-transport';
import { startIntercomImitation, type IntercomImitation } from './support/intercom-imitation';

let imitation: IntercomImitation;
beforeEach(async () => {
	imitation = await startIntercomImitation();
});
afterEach(async () => {
	await imitation.close();
});

const ADMIN = '991267816';

/** A channel on the imitation whose waits are recorded, not slept. */
function setup(overrides: Partial<IntercomChannelOptions> = {}) {
	const waits: number[] = [];
	const cache = overrides.contactCache ?? new IntercomContactCache();
	const channel = createIntercomChannel({
		accessToken: imitation.accessToken,
		region: 'us',
		baseUrl: imitation.baseUrl,
		defaultAdminId: ADMIN,
		messageType: 'inapp',
		lookup: 'contactId',
		notFoundDelayMs: 100,
		...overrides,
		contactCache: cache,
		retry: {
			random: () => 0.5,
			...overrides.retry,
			sleep: async (ms) => void waits.push(ms),
		},
	});
	return { channel, waits, cache };
}

function message(overrides: Partial<RenderedMessage> = {}): RenderedMessage {
	return {
		idempotencyKey: 'c1:e1:s1',
		userId: 'u1',
		externalIds: {},
		body: 'Your cart is waiting',
		...overrides,
	};
}

describe('the Intercom channel sends', () => {
	it('an in-app message and reports Intercom’s message id', async () => {
		const contact = imitation.addContact({ external_id: 'u1' });
		const { channel } = setup();
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(channel.name).toBe('intercom');
		expect(outcome).toMatchObject({ ok: true, providerMessageId: '403918397', attempts: 1 });
		expect(outcome.request).toMatchObject({
			method: 'POST',
			url: `${imitation.baseUrl}/messages`,
			headers: {
				Authorization: `Bearer ${imitation.accessToken}`,
				'Intercom-Version': '2.14',
				Accept: 'application/json',
				'Content-Type': 'application/json',
			},
		});
		expect(imitation.requestsTo('POST /messages')).toHaveLength(1);
	});

	it('with the configured API version', async () => {
		const contact = imitation.addContact({});
		const { channel } = setup({ apiVersion: '2.11' });
		await channel.send(message({ externalIds: { intercom: contact.id } }), fetchTransport);
		expect(imitation.requests[0].headers['intercom-version']).toBe('2.11');
	});

	it.each([
		['us', 'https://api.intercom.io/messages'],
		['eu', 'https://api.eu.intercom.io/messages'],
		['au', 'https://api.au.intercom.io/messages'],
	] as const)('to the %s region at %s', async (region, url) => {
		const sent: HttpRequest[] = [];
		const transport: HttpTransport = async (request) => {
			sent.push(request);
			return { status: 200, headers: {}, body: { type: 'admin_message', id: '1' } };
		};
		const channel = createIntercomChannel({
			accessToken: 't',
			region,
			defaultAdminId: ADMIN,
			messageType: 'inapp',
			lookup: 'contactId',
		});
		const outcome = await channel.send(message({ externalIds: { intercom: 'c1' } }), transport);
		expect(outcome.ok).toBe(true);
		expect(sent.map((r) => r.url)).toEqual([url]);
	});
});

describe('the Intercom channel retries', () => {
	it('a 429 once, after exactly the Retry-After it advertised', async () => {
		const contact = imitation.addContact({});
		imitation.script('POST /messages', { status: 429, headers: { 'retry-after': '2' } });
		const { channel, waits } = setup();
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: true, attempts: 2 });
		expect(waits).toEqual([2000]);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(2);
	});

	it("a 429 once, until Intercom's X-RateLimit-Reset", async () => {
		const contact = imitation.addContact({});
		const now = 1_790_000_000_000;
		imitation.script('POST /messages', {
			status: 429,
			headers: {
				'x-ratelimit-limit': '166',
				'x-ratelimit-remaining': '0',
				'x-ratelimit-reset': '1790000003',
			},
		});
		const { channel, waits } = setup({ retry: { now: () => now } });
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: true, attempts: 2 });
		expect(waits).toEqual([3000]);
	});

	it('not at all when the 429 asks for longer than maxDelayMs', async () => {
		const contact = imitation.addContact({});
		imitation.script('POST /messages', { status: 429, headers: { 'retry-after': '90' } });
		const { channel, waits } = setup({ retry: { maxDelayMs: 10_000 } });
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: false, status: 429, attempts: 1 });
		expect(!outcome.ok && outcome.error).toContain('asks to wait 90 s');
		expect(!outcome.ok && outcome.error).toContain('Exceeded rate limit');
		expect(waits).toEqual([]);
	});

	it('500 twice, succeeding on attempt 3', async () => {
		const contact = imitation.addContact({});
		imitation.script('POST /messages', 500, 500);
		const { channel, waits } = setup({ retry: { baseDelayMs: 200 } });
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: true, attempts: 3, providerMessageId: '403918397' });
		expect(waits).toEqual([100, 200]);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(3);
	});

	it('500 forever, failing after maxAttempts', async () => {
		const contact = imitation.addContact({});
		imitation.script('POST /messages', 500, 500, 500, 500, 500, 500);
		const { channel } = setup({ retry: { maxAttempts: 4 } });
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toEqual({
			ok: false,
			status: 500,
			error:
				'Sending the Intercom message: Intercom answered 500: Server Error (HTTP 500 after 4 attempt(s))',
			request: expect.objectContaining({ url: `${imitation.baseUrl}/messages` }),
			attempts: 4,
		});
		expect(imitation.requestsTo('POST /messages')).toHaveLength(4);
	});

	it('a connection that broke after the message was sent: only when told to deliver at least once', async () => {
		const contact = imitation.addContact({});
		imitation.script('POST /messages', { status: 0, drop: true });
		const { channel, waits } = setup({ retry: { uncertainDelivery: 'retry' } });
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: true, attempts: 2 });
		expect(waits).toHaveLength(1);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(2);
	});

	it('a refused connection: the message never left, so it is sent again', async () => {
		const contact = imitation.addContact({});
		let refused = 0;
		const refusingOnce: HttpTransport = async (request) => {
			if (refused++ === 0) {
				throw new TypeError('fetch failed', {
					cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), {
						code: 'ECONNREFUSED',
					}),
				});
			}
			return await fetchTransport(request);
		};
		const { channel } = setup();
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			refusingOnce,
		);
		expect(outcome).toMatchObject({ ok: true, attempts: 2 });
		expect(imitation.requestsTo('POST /messages')).toHaveLength(1);
	});

	it("a 503 by backoff with jitter, not until Intercom's X-RateLimit-Reset (which governs 429 only)", async () => {
		const contact = imitation.addContact({});
		const now = 1_790_000_000_000;
		// Intercom sends the rate-limit headers on every authenticated answer, 5xx included.
		const rateHeaders = {
			'x-ratelimit-limit': '166',
			'x-ratelimit-remaining': '160',
			'x-ratelimit-reset': '1790000025',
		};
		imitation.script(
			'POST /messages',
			{ status: 503, headers: rateHeaders },
			{ status: 503, headers: rateHeaders },
		);
		const { channel, waits } = setup({ retry: { now: () => now, baseDelayMs: 200 } });
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: true, attempts: 3 });
		expect(waits).toEqual([100, 200]);
	});

	it('a 429 on the contact search too', async () => {
		imitation.addContact({ external_id: 'u1' });
		imitation.script('POST /contacts/search', { status: 429, headers: { 'retry-after': '1' } });
		const { channel, waits } = setup({ lookup: 'externalId' });
		const outcome = await channel.send(message(), fetchTransport);
		expect(outcome).toMatchObject({ ok: true, attempts: 3 });
		expect(waits).toEqual([1000]);
	});
});

describe('the Intercom channel never sends a message twice', () => {
	it('when the connection broke after the message was sent: Failed, delivery unknown, one request', async () => {
		const contact = imitation.addContact({});
		imitation.script('POST /messages', { status: 0, drop: true });
		const { channel, waits } = setup();
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: false, attempts: 1, deliveryUnknown: true });
		expect(!outcome.ok && outcome.error).toMatch(
			/^Sending the Intercom message failed: delivery unknown: the connection broke after the request was sent \(.+\); not sent again, so it cannot arrive twice$/,
		);
		expect(waits).toEqual([]);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(1);
	});

	it('but a contact search that broke is simply repeated (it changes nothing)', async () => {
		imitation.addContact({ external_id: 'u1' });
		imitation.script('POST /contacts/search', { status: 0, drop: true });
		const { channel } = setup({ lookup: 'externalId' });
		const outcome = await channel.send(message(), fetchTransport);
		expect(outcome).toMatchObject({ ok: true, attempts: 3 });
		expect(imitation.requestsTo('POST /messages')).toHaveLength(1);
	});
});

describe('the Intercom channel sends the variant’s headline and image', () => {
	const variant = {
		headline: 'Tom & Jerry <3 "you"',
		imageUrl: 'https://cdn.example.com/cart.png?size=2x&v="1"',
		body: '<p>Your cart is waiting</p>',
	};
	const expectedBody =
		'<h2>Tom &amp; Jerry &lt;3 &quot;you&quot;</h2>' +
		'<p><img src="https://cdn.example.com/cart.png?size=2x&amp;v=&quot;1&quot;" alt=""></p>' +
		'<p>Your cart is waiting</p>';

	it('in the in-app body, as a heading and an image, escaped', async () => {
		const contact = imitation.addContact({});
		const { channel } = setup();
		const outcome = await channel.send(
			message({ ...variant, externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: true });
		const [sent] = imitation.requestsTo('POST /messages');
		expect(sent.body).toMatchObject({ message_type: 'inapp', body: expectedBody });
	});

	it('in an email too; a message without them is sent as written', async () => {
		const contact = imitation.addContact({});
		const email = setup({ messageType: 'email' }).channel;
		await email.send(
			message({ ...variant, subject: 'Hi', externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		await setup().channel.send(message({ externalIds: { intercom: contact.id } }), fetchTransport);
		const [first, second] = imitation.requestsTo('POST /messages');
		expect(first.body).toMatchObject({ message_type: 'email', body: expectedBody });
		expect(second.body).toMatchObject({ body: 'Your cart is waiting' });
	});

	it('refusing an image URL that is not http(s), before any request', async () => {
		const { channel } = setup();
		for (const imageUrl of ['javascript:alert(1)', 'cart.png']) {
			const outcome = await channel.send(
				message({ imageUrl, externalIds: { intercom: 'c1' } }),
				fetchTransport,
			);
			expect(outcome).toMatchObject({ ok: false, attempts: 0 });
			expect(!outcome.ok && outcome.error).toMatch(/image URL/);
		}
		expect(imitation.requests).toHaveLength(0);
	});
});

describe('the Intercom channel respects unsubscribed_from_emails', () => {
	const notSent = (contactId: string) => ({
		ok: false,
		unsubscribed: true,
		error: `not sent: the Intercom contact ${contactId} of user u1 is unsubscribed from emails (unsubscribed_from_emails)`,
	});

	it('for an email found by the contact id on the profile (read fresh from Intercom)', async () => {
		const contact = imitation.addContact({ unsubscribed_from_emails: true });
		const { channel } = setup({ messageType: 'email' });
		const outcome = await channel.send(
			message({ subject: 'Hi', externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ...notSent(contact.id), attempts: 1 });
		expect(imitation.requestsTo('GET /contacts/{id}')).toHaveLength(1);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(0);
	});

	it('for an email found by search, and again when the contact is cached but unsubscribed since', async () => {
		const contact = imitation.addContact({ email: 'ana@example.com' });
		const { channel } = setup({ messageType: 'email', lookup: 'email' });
		const send = () =>
			channel.send(message({ subject: 'Hi', email: 'ana@example.com' }), fetchTransport);
		expect(await send()).toMatchObject({ ok: true, attempts: 2 });
		contact.unsubscribed_from_emails = true;
		expect(await send()).toMatchObject({ ...notSent(contact.id), attempts: 1 });
		expect(imitation.requestsTo('POST /contacts/search')).toHaveLength(1);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(1);

		const fresh = setup({ messageType: 'email', lookup: 'email' }).channel;
		expect(
			await fresh.send(message({ subject: 'Hi', email: 'ana@example.com' }), fetchTransport),
		).toMatchObject({ ...notSent(contact.id), attempts: 1 });
	});

	it('not for an in-app message, which is not an email', async () => {
		const contact = imitation.addContact({ unsubscribed_from_emails: true });
		const { channel } = setup();
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: true, attempts: 1 });
		expect(imitation.requestsTo('GET /contacts/{id}')).toHaveLength(0);
	});

	it('failing clearly when the contact cannot be read', async () => {
		const contact = imitation.addContact({});
		imitation.script('GET /contacts/{id}', 401);
		const { channel } = setup({ messageType: 'email' });
		const outcome = await channel.send(
			message({ subject: 'Hi', externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: false, status: 401, attempts: 1 });
		expect(!outcome.ok && outcome.error).toContain(
			'Reading the Intercom contact: Intercom rejected the access token',
		);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(0);
	});
});

describe('the Intercom channel fails without retrying', () => {
	it("on 401, with Intercom's text and a hint to check the token", async () => {
		const contact = imitation.addContact({});
		const { channel, waits } = setup({ accessToken: 'revoked-token' });
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: false, status: 401, attempts: 1 });
		expect(!outcome.ok && outcome.error).toBe(
			'Sending the Intercom message: Intercom rejected the access token (401: Access Token Invalid); check the access token in the Intercom credentials',
		);
		expect(imitation.requests).toHaveLength(1);
		expect(waits).toEqual([]);
	});

	it('on 401 from the contact search', async () => {
		const { channel } = setup({ accessToken: 'revoked-token', lookup: 'email' });
		const outcome = await channel.send(message({ email: 'a@example.com' }), fetchTransport);
		expect(outcome).toMatchObject({ ok: false, status: 401, attempts: 1 });
		expect(!outcome.ok && outcome.error).toContain('Searching the Intercom contact');
		expect(!outcome.ok && outcome.error).toContain('Access Token Invalid');
		expect(imitation.requestsTo('POST /messages')).toHaveLength(0);
	});

	it("on 422, with Intercom's text", async () => {
		const contact = imitation.addContact({});
		imitation.script('POST /messages', {
			status: 422,
			body: {
				type: 'error.list',
				request_id: '97db463e-7070-4ac9-9846-9a5d31933772',
				errors: [{ code: 'parameter_invalid', message: 'Recipient is unsubscribed', field: 'to' }],
			},
		});
		const { channel, waits } = setup();
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({
			ok: false,
			status: 422,
			attempts: 1,
			error: 'Sending the Intercom message: Intercom answered 422: Recipient is unsubscribed (to)',
		});
		expect(imitation.requestsTo('POST /messages')).toHaveLength(1);
		expect(waits).toEqual([]);
	});

	it("on 400, with Intercom's text", async () => {
		const contact = imitation.addContact({});
		imitation.script('POST /messages', 400);
		const { channel } = setup();
		const outcome = await channel.send(
			message({ externalIds: { intercom: contact.id } }),
			fetchTransport,
		);
		expect(outcome).toMatchObject({ ok: false, status: 400, attempts: 1 });
		expect(!outcome.ok && outcome.error).toContain('Body is required');
	});

	it('before any request when the message cannot be sent', async () => {
		const { channel } = setup({ messageType: 'email' });
		expect(await channel.send(message({ externalIds: { intercom: 'x' } }), fetchTransport)).toEqual(
			{
				ok: false,
				error: 'an Intercom email needs a subject',
				attempts: 0,
			},
		);
		expect(await setup().channel.send(message(), fetchTransport)).toEqual({
			ok: false,
			error:
				'user u1 has no Intercom contact id (externalIds.intercom); add it to the profile or choose lookup by external id or by email',
			attempts: 0,
		});
		expect(await setup({ lookup: 'email' }).channel.send(message(), fetchTransport)).toMatchObject({
			ok: false,
			error: expect.stringContaining('user u1 has no email'),
		});
		expect(imitation.requests).toHaveLength(0);
	});
});

describe('the Intercom channel finds contacts', () => {
	it('by external_id, failing clearly when there is none', async () => {
		const { channel, waits } = setup({ lookup: 'externalId' });
		const outcome = await channel.send(message(), fetchTransport);
		expect(outcome).toMatchObject({
			ok: false,
			error:
				'no Intercom contact with external_id u1; create it first or choose lookup by email or by contact id',
			attempts: 3,
		});
		expect(outcome.ok || outcome.status).toBeUndefined();
		// The contact may have been created moments ago: two more searches, short backoff.
		expect(imitation.requestsTo('POST /contacts/search')).toHaveLength(3);
		expect(waits).toEqual([100, 200]);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(0);
	});

	it('by email, failing clearly when there is none', async () => {
		const { channel } = setup({ lookup: 'email', notFoundRetries: 0 });
		const outcome = await channel.send(message({ email: 'nobody@example.com' }), fetchTransport);
		expect(!outcome.ok && outcome.error).toBe(
			'no Intercom contact with email nobody@example.com; create it first or choose lookup by external id or by contact id',
		);
		expect(imitation.requests).toHaveLength(1);
	});

	it('that search finds only after a moment (just created)', async () => {
		const contact = imitation.addContact({ external_id: 'u1' });
		imitation.script('POST /contacts/search', {
			status: 200,
			body: {
				type: 'list',
				data: [],
				total_count: 0,
				pages: { type: 'pages', page: 1, per_page: 50, total_pages: 0 },
			},
		});
		const { channel, waits } = setup({ lookup: 'externalId' });
		const outcome = await channel.send(message(), fetchTransport);
		expect(outcome).toMatchObject({ ok: true, attempts: 3 });
		expect(waits).toEqual([100]);
		expect(imitation.requestsTo('POST /messages')[0].body).toMatchObject({
			to: { id: contact.id },
		});
	});

	it('that answers 404 to the message right after creation, then accepts it', async () => {
		const contact = imitation.addContact({ external_id: 'u1' });
		imitation.script('POST /messages', 404);
		const { channel, waits } = setup({ lookup: 'externalId' });
		const outcome = await channel.send(message(), fetchTransport);
		expect(outcome).toMatchObject({ ok: true, attempts: 3 });
		expect(waits).toEqual([100]);
		expect(imitation.requestsTo('POST /messages').map((r) => r.body)).toEqual([
			expect.objectContaining({ to: { type: 'user', id: contact.id } }),
			expect.objectContaining({ to: { type: 'user', id: contact.id } }),
		]);
	});

	it('again when a cached contact is gone, then fails naming the lookup and forgets it', async () => {
		const contact = imitation.addContact({ external_id: 'u1' });
		const { channel, cache } = setup({ lookup: 'externalId', notFoundRetries: 1 });
		expect((await channel.send(message(), fetchTransport)).ok).toBe(true);
		expect(cache.size).toBe(1);
		imitation.contacts.splice(imitation.contacts.indexOf(contact), 1);
		const outcome = await channel.send(message(), fetchTransport);
		// One 404 to the cached id, then the search, once more after a moment: nobody there.
		expect(outcome).toMatchObject({ ok: false, attempts: 3 });
		expect(!outcome.ok && outcome.error).toContain('no Intercom contact with external_id u1');
		expect(imitation.requestsTo('POST /messages')).toHaveLength(2);
		expect(cache.size).toBe(0);
	});

	it('again, once, when a cached contact id no longer exists (merged or re-created)', async () => {
		const old = imitation.addContact({ external_id: 'u1' });
		const { channel } = setup({ lookup: 'externalId' });
		expect((await channel.send(message(), fetchTransport)).ok).toBe(true);
		imitation.contacts.splice(imitation.contacts.indexOf(old), 1);
		const renewed = imitation.addContact({ external_id: 'u1' });
		const outcome = await channel.send(message(), fetchTransport);
		expect(outcome).toMatchObject({ ok: true });
		const sent = imitation
			.requestsTo('POST /messages')
			.map((r) => (r.body as { to: { id: string } }).to.id);
		// The first message, one 404 to the stale id, then the message to the contact found anew.
		expect(sent).toEqual([old.id, old.id, renewed.id]);
		expect(imitation.requestsTo('POST /contacts/search')).toHaveLength(2);
	});

	it('but not on an unknown admin: that fails at once, naming the admin, and keeps the contact', async () => {
		imitation.addContact({ external_id: 'u1' });
		const { channel, cache } = setup({ lookup: 'externalId' });
		expect((await channel.send(message(), fetchTransport)).ok).toBe(true);
		const outcome = await channel.send(message({ authorId: '123' }), fetchTransport);
		expect(outcome).toMatchObject({ ok: false, status: 404, attempts: 1 });
		expect(!outcome.ok && outcome.error).toMatch(
			/Intercom has no admin 123 \(admin_not_found: Admin for admin_id not found\); use the id of an admin of this workspace/,
		);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(2);
		expect(cache.size).toBe(1);
	});

	it('once per user: two sends to the same user do one search', async () => {
		imitation.addContact({ external_id: 'u1' });
		const { channel } = setup({ lookup: 'externalId' });
		const first = await channel.send(message(), fetchTransport);
		const second = await channel.send(message({ idempotencyKey: 'c1:e2:s1' }), fetchTransport);
		expect([first.attempts, second.attempts]).toEqual([2, 1]);
		expect(imitation.requestsTo('POST /contacts/search')).toHaveLength(1);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(2);
	});

	it('per workspace and token: the shared cache never mixes two tokens', async () => {
		imitation.addContact({ external_id: 'u1' });
		const cache = new IntercomContactCache();
		const { channel } = setup({ lookup: 'externalId', contactCache: cache });
		await channel.send(message(), fetchTransport);
		const other = setup({ lookup: 'externalId', contactCache: cache, accessToken: 'other-token' });
		const outcome = await other.channel.send(message(), fetchTransport);
		expect(outcome).toMatchObject({ ok: false, status: 401 });
		expect(imitation.requestsTo('POST /contacts/search')).toHaveLength(2);
		const url = imitation.baseUrl;
		expect(contactCacheKey({ baseUrl: url, accessToken: 'a' }, 'external_id', 'u1')).not.toBe(
			contactCacheKey({ baseUrl: url, accessToken: 'b' }, 'external_id', 'u1'),
		);
		expect(contactCacheKey({ baseUrl: url, accessToken: 'a' }, 'email', 'A@Example.com')).toBe(
			contactCacheKey({ baseUrl: url, accessToken: 'a' }, 'email', 'a@example.com'),
		);
		expect(
			contactCacheKey({ baseUrl: url, accessToken: 'secret-token' }, 'email', 'x'),
		).not.toContain('secret-token');
	});

	it('of the configured recipient type only', async () => {
		imitation.addContact({ external_id: 'u1', role: 'lead' });
		const { channel } = setup({ lookup: 'externalId' });
		const outcome = await channel.send(message(), fetchTransport);
		expect(!outcome.ok && outcome.error).toBe(
			'The Intercom contact with external_id u1 is a lead, not a user: set the recipient type to lead',
		);
		expect(imitation.requestsTo('POST /contacts/search')).toHaveLength(1);
	});

	it('and refuses to guess between several contacts with the same email', async () => {
		imitation.addContact({ email: 'twin@example.com' });
		imitation.addContact({ email: 'twin@example.com' });
		const { channel } = setup({ lookup: 'email' });
		const outcome = await channel.send(message({ email: 'twin@example.com' }), fetchTransport);
		expect(!outcome.ok && outcome.error).toContain(
			'2 Intercom contacts of type user have email twin@example.com',
		);
		expect(imitation.requestsTo('POST /messages')).toHaveLength(0);
	});
});

describe('the contact cache', () => {
	it('drops the least recently used entry and expires entries', () => {
		let now = 0;
		const cache = new IntercomContactCache({ maxEntries: 2, ttlMs: 1000, now: () => now });
		cache.set('a', '1');
		cache.set('b', '2');
		expect(cache.get('a')).toBe('1');
		cache.set('c', '3');
		expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['1', undefined, '3']);
		now = 1000;
		expect(cache.get('a')).toBeUndefined();
		expect(cache.size).toBe(1);
	});
});

describe('createIntercomChannel', () => {
	const base: IntercomChannelOptions = {
		accessToken: 't',
		region: 'us',
		defaultAdminId: ADMIN,
		messageType: 'inapp',
		lookup: 'contactId',
	};
	it('refuses options it cannot work with', () => {
		expect(() => createIntercomChannel({ ...base, accessToken: '' })).toThrow(
			'access token is required',
		);
		expect(() => createIntercomChannel({ ...base, defaultAdminId: ' ' })).toThrow(
			'default admin id',
		);
		expect(() => createIntercomChannel({ ...base, region: 'ca' as 'us' })).toThrow(
			'unknown region "ca"',
		);
		expect(() => createIntercomChannel({ ...base, messageType: 'in_app' as 'inapp' })).toThrow(
			'neither inapp nor email',
		);
	});
});
