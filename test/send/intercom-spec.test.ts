import path from 'node:path';

import type { RenderedMessage } from '../../src/send/channel';
import {
	createIntercomChannel,
	IntercomContactCache,
	type IntercomChannelOptions,
} from '../../src/send/intercom';
import { fetchTransport } from './support/fetch-transport';
import {
	startIntercomImitation,
	type IntercomImitation,
	type RecordedRequest,
} from './support/intercom-imitation';
import { loadOpenApi, OpenApiValidator, type OpenApiDocument } from './support/openapi-validator';

/**
 * Every request the Intercom channel sends is checked against Intercom's official OpenAPI
 * description (2.14, MIT; kept in `support/intercom-spec/` with its licence). Where that
 * description contradicts itself (support/intercom-spec/README.md), the correction is made
 * below, visibly, and each first asserts that the contradiction is still there, so a fixed
 * description is noticed.
 */
const SPEC_FILE = path.resolve(__dirname, 'support/intercom-spec/intercom-api-2.14.yaml');

function applyDocumentedCorrections(doc: OpenApiDocument): string[] {
	const applied: string[] = [];
	const createMessage = doc.components.schemas.create_message_request;

	// 1. `message_type`: the enum says `in_app`, but the same schema's anyOf branch is titled
	//    "message_type: `inapp`", every request example sends `inapp`, the response schema
	//    (`message.message_type`) says `inapp`, and so do Intercom's own client libraries.
	//    We send `inapp`, so the enum value is corrected (not widened: `in_app` stays invalid).
	expect(createMessage.properties.message_type.enum).toEqual(['in_app', 'email']);
	expect(createMessage.anyOf.map((branch: { title: string }) => branch.title)).toContain(
		'message_type: `inapp`.',
	);
	expect(doc.components.schemas.message.properties.message_type.enum).toContain('inapp');
	createMessage.properties.message_type.enum = ['inapp', 'email'];
	applied.push('create_message_request.message_type: in_app -> inapp');

	// 2. `from.id` is typed integer, but admin ids are strings everywhere Intercom returns them
	//    (`admin.id` is a string, `GET /admins` answers strings, the request examples send
	//    '991267816'): we send the id as Intercom returned it, so the type is corrected to string.
	expect(createMessage.properties.from.properties.id.type).toBe('integer');
	expect(doc.components.schemas.admin.properties.id.type).toBe('string');
	createMessage.properties.from.properties.id = {
		...createMessage.properties.from.properties.id,
		type: 'string',
	};
	applied.push('create_message_request.from.id: integer -> string');

	// 3. The anyOf branches are titled by `message_type` but do not constrain it, so an email
	//    without `subject` and `template` still validates through the in-app branch. Each branch
	//    is tied to its title, which is what the titles and the 422 "No subject supplied for
	//    email message" say Intercom enforces.
	expect(createMessage.anyOf).toHaveLength(2);
	expect(createMessage.anyOf[0].properties).toBeUndefined();
	expect(createMessage.anyOf[0].title).toBe('message_type: `email`.');
	expect(createMessage.anyOf[1].title).toBe('message_type: `inapp`.');
	createMessage.anyOf[0].properties = { message_type: { enum: ['email'] } };
	createMessage.anyOf[1].properties = { message_type: { enum: ['inapp'] } };
	applied.push('create_message_request.anyOf: each branch tied to its message_type');

	// Not corrected, and why:
	// - `from` is required in both anyOf branches although its description says a default sender
	//   is used without it: the channel always sends it, so the stricter reading is kept.
	// - `recipient` allows only {type, id} (an example uses `user_id`): the channel sends the
	//   contact `id`, which the schema as written accepts.
	// - The in-app branch cannot say that `subject`/`template` are ignored: the channel does not
	//   send them for in-app messages (asserted below).
	return applied;
}

let validator: OpenApiValidator;
let corrections: string[];
let imitation: IntercomImitation;

beforeAll(async () => {
	const doc = loadOpenApi(SPEC_FILE);
	corrections = applyDocumentedCorrections(doc);
	validator = new OpenApiValidator(doc);
	imitation = await startIntercomImitation();
});
afterAll(async () => {
	await imitation.close();
});

const ADMIN = '991267816';

function channel(overrides: Partial<IntercomChannelOptions>) {
	return createIntercomChannel({
		accessToken: imitation.accessToken,
		region: 'us',
		baseUrl: imitation.baseUrl,
		defaultAdminId: ADMIN,
		messageType: 'inapp',
		lookup: 'contactId',
		contactCache: new IntercomContactCache(),
		retry: { sleep: async () => {} },
		...overrides,
	});
}

function message(overrides: Partial<RenderedMessage> = {}): RenderedMessage {
	return {
		idempotencyKey: 'c1:e1:s1',
		userId: 'u1',
		externalIds: {},
		body: '<p>Your cart is waiting</p>',
		...overrides,
	};
}

/** Sends one message and returns the requests it made, each validated against the description. */
async function sendAndValidate(
	options: Partial<IntercomChannelOptions>,
	rendered: RenderedMessage,
): Promise<RecordedRequest[]> {
	const before = imitation.requests.length;
	const outcome = await channel(options).send(rendered, fetchTransport);
	expect(outcome).toMatchObject({ ok: true });
	const made = imitation.requests.slice(before);
	expect(made.length).toBeGreaterThan(0);
	for (const request of made) {
		expect({
			request: `${request.method} ${request.path}`,
			errors: validator.validateRequest(request),
		}).toEqual({
			request: `${request.method} ${request.path}`,
			errors: [],
		});
		// The operation declares `Intercom-Version` as a header parameter: it is sent, with a
		// version the description lists.
		const operation = validator.operation(request.method, request.path)!.operation;
		expect(
			(operation.parameters as Array<{ name: string; in: string }>).some(
				(p) => p.name === 'Intercom-Version' && p.in === 'header',
			),
		).toBe(true);
		expect(request.headers['intercom-version']).toBe('2.14');
		expect(request.headers.authorization).toBe(`Bearer ${imitation.accessToken}`);
		expect(request.headers.accept).toBe('application/json');
		expect(request.headers['content-type']).toBe('application/json');
	}
	return made;
}

describe('the Intercom description and its documented corrections', () => {
	it('still contains the contradictions the specs README lists, and they are corrected', () => {
		expect(corrections).toEqual([
			'create_message_request.message_type: in_app -> inapp',
			'create_message_request.from.id: integer -> string',
			'create_message_request.anyOf: each branch tied to its message_type',
		]);
	});

	it('knows the operations the channel uses', () => {
		expect(validator.operation('POST', '/messages')?.operationId).toBe('createMessage');
		expect(validator.operation('POST', '/contacts/search')?.operationId).toBe('SearchContacts');
		expect(validator.operation('GET', '/admins')?.operationId).toBe('listAdmins');
		expect(validator.operation('GET', '/contacts/6762f0cd1bb69f9f2193bb7c')?.operationId).toBe(
			'ShowContact',
		);
	});
});

describe('the validator catches what the description forbids', () => {
	const good = {
		message_type: 'inapp',
		body: 'hi',
		from: { type: 'admin', id: ADMIN },
		to: { type: 'user', id: '6762f2391bb69f9f2193bc19' },
	};
	const request = (body: unknown, headers: Record<string, string> = {}) => ({
		method: 'POST',
		path: '/messages',
		headers: {
			authorization: 'Bearer t',
			'intercom-version': '2.14',
			'content-type': 'application/json',
			...headers,
		},
		body,
	});

	it('accepts a well-formed in-app message', () => {
		expect(validator.validateRequest(request(good))).toEqual([]);
	});

	it.each([
		['missing `to`', { ...good, to: undefined }],
		['message_type sms', { ...good, message_type: 'sms' }],
		['message_type in_app (the corrected enum value)', { ...good, message_type: 'in_app' }],
		['an email without subject and template', { ...good, message_type: 'email' }],
		['a recipient of type admin', { ...good, to: { type: 'admin', id: '1' } }],
		['a recipient without id', { ...good, to: { type: 'user', user_id: '70' } }],
		['from an admin without id', { ...good, from: { type: 'admin' } }],
		['body as a number', { ...good, body: 42 }],
	])('rejects %s', (_name, body) => {
		expect(validator.validateRequest(request(JSON.parse(JSON.stringify(body))))).not.toEqual([]);
	});

	it('rejects an unknown Intercom-Version, a missing token and an unknown operation', () => {
		expect(validator.validateRequest(request(good, { 'intercom-version': '3.0' }))).toEqual([
			expect.stringContaining('header Intercom-Version'),
		]);
		const unauthenticated = Object.fromEntries(
			Object.entries(request(good).headers).filter(([name]) => name !== 'authorization'),
		);
		expect(validator.validateRequest({ ...request(good), headers: unauthenticated })).toEqual([
			expect.stringContaining('security'),
		]);
		expect(validator.validateRequest({ ...request(good), path: '/messages/send' })).toEqual([
			expect.stringContaining('no such operation'),
		]);
	});

	it('rejects a search with an operator Intercom does not know', () => {
		expect(
			validator.validateRequest({
				...request({ query: { field: 'external_id', operator: '==', value: 'u1' } }),
				path: '/contacts/search',
			}),
		).not.toEqual([]);
	});
});

describe('every request the Intercom channel builds matches the description', () => {
	let contactId: string;
	beforeAll(() => {
		contactId = imitation.addContact({ external_id: 'u-spec', email: 'spec@example.com' }).id;
		imitation.addContact({ external_id: 'lead-spec', email: 'lead@example.com', role: 'lead' });
	});

	it('an in-app message to a contact id', async () => {
		const [send] = await sendAndValidate({}, message({ externalIds: { intercom: contactId } }));
		expect(send.body).toEqual({
			message_type: 'inapp',
			body: '<p>Your cart is waiting</p>',
			from: { type: 'admin', id: ADMIN },
			to: { type: 'user', id: contactId },
		});
	});

	it('an email with subject and template, after reading the contact (unsubscribed_from_emails)', async () => {
		const [read, send] = await sendAndValidate(
			{ messageType: 'email', emailTemplate: 'personal' },
			message({ externalIds: { intercom: contactId }, subject: 'Still thinking it over?' }),
		);
		expect(read).toMatchObject({ method: 'GET', path: `/contacts/${contactId}`, body: undefined });
		expect(validator.operation('GET', read.path)?.operationId).toBe('ShowContact');
		expect(send.body).toMatchObject({
			message_type: 'email',
			subject: 'Still thinking it over?',
			template: 'personal',
		});
	});

	it('an in-app message with the variant’s headline and image in its body', async () => {
		const [send] = await sendAndValidate(
			{},
			message({
				externalIds: { intercom: contactId },
				headline: 'Still there?',
				imageUrl: 'https://cdn.example.com/cart.png',
			}),
		);
		expect(send.body).toMatchObject({
			body: '<h2>Still there?</h2><p><img src="https://cdn.example.com/cart.png" alt=""></p><p>Your cart is waiting</p>',
		});
	});

	it('a contact search by external_id, then the message', async () => {
		const [search, send] = await sendAndValidate(
			{ lookup: 'externalId' },
			message({ userId: 'u-spec' }),
		);
		expect(search.path).toBe('/contacts/search');
		expect(search.body).toEqual({
			query: { field: 'external_id', operator: '=', value: 'u-spec' },
		});
		expect(send.body).toMatchObject({ to: { type: 'user', id: contactId } });
	});

	it('a contact search by email, then an email', async () => {
		const [search, send] = await sendAndValidate(
			{ lookup: 'email', messageType: 'email' },
			message({ email: 'spec@example.com', subject: 'Hello' }),
		);
		expect(search.body).toEqual({
			query: { field: 'email', operator: '=', value: 'spec@example.com' },
		});
		expect(send.body).toMatchObject({ message_type: 'email', template: 'plain' });
	});

	it('a message whose author overrides the default admin', async () => {
		const [send] = await sendAndValidate(
			{},
			message({ externalIds: { intercom: contactId }, authorId: '991267999' }),
		);
		expect(send.body).toMatchObject({ from: { type: 'admin', id: '991267999' } });
	});

	it('an in-app message to a lead', async () => {
		const [, send] = await sendAndValidate(
			{ lookup: 'externalId', recipientType: 'lead' },
			message({ userId: 'lead-spec' }),
		);
		expect(send.body).toMatchObject({ to: { type: 'lead' } });
		expect(send.body).not.toHaveProperty('subject');
		expect(send.body).not.toHaveProperty('template');
	});
});

describe('the imitation answers as the description documents', () => {
	const call = (
		method: 'GET' | 'POST',
		route: string,
		body?: unknown,
		token = imitation.accessToken,
	) =>
		fetchTransport({
			method,
			url: `${imitation.baseUrl}${route}`,
			headers: {
				Authorization: `Bearer ${token}`,
				'Intercom-Version': '2.14',
				Accept: 'application/json',
				'Content-Type': 'application/json',
			},
			body,
		});

	it.each([
		['POST /messages 200', 'POST', '/messages', 'ok'],
		['POST /messages 401', 'POST', '/messages', 'bad-token'],
		['POST /messages 422', 'POST', '/messages', 'no-subject'],
		['POST /messages 400', 'POST', '/messages', 'no-body'],
		['POST /contacts/search 200', 'POST', '/contacts/search', 'ok'],
		['POST /contacts/search 401', 'POST', '/contacts/search', 'bad-token'],
		['GET /admins 200', 'GET', '/admins', 'ok'],
	] as const)('%s', async (_name, method, route, kind) => {
		const contact = imitation.addContact({ external_id: `doc-${kind}-${route}` });
		const bodies: Record<string, unknown> = {
			'/messages':
				kind === 'no-subject'
					? {
							message_type: 'email',
							body: 'hi',
							template: 'plain',
							from: { type: 'admin', id: ADMIN },
							to: { type: 'user', id: contact.id },
						}
					: kind === 'no-body'
						? {
								message_type: 'inapp',
								body: '',
								from: { type: 'admin', id: ADMIN },
								to: { type: 'user', id: contact.id },
							}
						: {
								message_type: 'inapp',
								body: 'hi',
								from: { type: 'admin', id: ADMIN },
								to: { type: 'user', id: contact.id },
							},
			'/contacts/search': {
				query: { field: 'external_id', operator: '=', value: contact.external_id },
			},
		};
		const response = await call(
			method,
			route,
			bodies[route],
			kind === 'bad-token' ? 'wrong' : imitation.accessToken,
		);
		const expected = { ok: 200, 'bad-token': 401, 'no-subject': 422, 'no-body': 400 }[kind];
		expect(response.status).toBe(expected);
		expect(validator.validateResponse(method, route, response.status, response.body)).toEqual([]);
		if (route === '/contacts/search' && kind === 'ok') {
			expect(response.body).toMatchObject({ data: [{ unsubscribed_from_emails: false }] });
			expect(response.body).toMatchObject({
				type: 'list',
				total_count: 1,
				data: [{ id: contact.id }],
			});
		}
	});
});

describe('the imitation reads a contact as the description documents', () => {
	// The description documents only 200 (and 401) for ShowContact.
	it('GET /contacts/{id} 200', async () => {
		const contact = imitation.addContact({
			email: 'read@example.com',
			unsubscribed_from_emails: true,
		});
		const { id } = contact;
		const response = await fetchTransport({
			method: 'GET',
			url: `${imitation.baseUrl}/contacts/${id}`,
			headers: {
				Authorization: `Bearer ${imitation.accessToken}`,
				'Intercom-Version': '2.14',
				Accept: 'application/json',
			},
		});
		expect(response.status).toBe(200);
		expect(
			validator.validateResponse('GET', `/contacts/${id}`, response.status, response.body),
		).toEqual([]);
		expect(response.body).toMatchObject({ id, unsubscribed_from_emails: true });
	});
});
