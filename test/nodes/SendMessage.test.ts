import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IExecuteFunctions } from 'n8n-workflow';

import { SendMessage } from '../../nodes/SendMessage/SendMessage.node';
import { closeSharedCampaignStores, SqliteCampaignStore } from '../../src';
import { startRecordingServer } from '../send/support/http-server';
import { startIntercomImitation } from '../send/support/intercom-imitation';
import { fakeContext } from './fake-context';

const folder = mkdtempSync(join(tmpdir(), 'tc-send-node-'));
const filePath = join(folder, 'store.sqlite');
afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

const item = (userId: string, extra: Record<string, unknown> = {}) => ({
	json: {
		userId,
		campaignId: 'cart',
		entryId: `entry-${userId}`,
		triggeredAt: '2026-03-10T10:00:00.000Z',
		// As the Campaign Event Trigger emits it: the event's time only as `triggeredAt`.
		event: {
			name: 'Added to Cart',
			properties: { cart_id: `C-${userId}` },
		},
		profile: null,
		...extra,
	},
});

async function run(
	parameters: Record<string, unknown>,
	items: Array<{ json: Record<string, unknown> }>,
	credentials: Record<string, Record<string, unknown>> = {},
	{ continueOnFail = true } = {},
) {
	const { context } = fakeContext({
		nodeType: new SendMessage(),
		parameters,
		items,
		nodeId: 'send-node',
		credentials: {
			campaignStoreApi: { backend: 'sqlite', filePath },
			campaignHttpAuthApi: { headerName: 'Authorization', secretValue: 'Bearer sms-key' },
			...credentials,
		},
		continueOnFail,
	});
	return await new SendMessage().execute.call(context as unknown as IExecuteFunctions);
}

describe('Send Message node, HTTP channel', () => {
	const parameters = (url: string, extra: Record<string, unknown> = {}) => ({
		channel: 'http',
		httpMethod: 'POST',
		httpUrl: url,
		httpAuthentication: 'header',
		httpBody:
			'{"to": "{{ user.id }}", "text": "{{ message.body }}", "cart": "{{ event.properties.cart_id }}", "at": "{{ event.occurredAt }}"}',
		httpHeaders: '{"X-Api-Version": "2"}',
		httpIdempotencyHeader: 'Idempotency-Key',
		httpMessageIdPath: 'data.id',
		body: 'Your cart {{ event.properties.cart_id }} "is" waiting',
		variants: {},
		options: {},
		...extra,
	});

	it('renders, sends with the credential and the idempotency key, and never sends twice on a re-run', async () => {
		const provider = await startRecordingServer([{ status: 201, body: { data: { id: 'sms-1' } } }]);
		try {
			const [sent, failed, control] = await run(parameters(`${provider.baseUrl}/messages`), [
				item('u1'),
			]);
			expect(failed).toEqual([]);
			expect(control).toEqual([]);
			expect(sent[0].json.send).toMatchObject({
				status: 'sent',
				idempotencyKey: 'cart:entry-u1:send-node',
				providerMessageId: 'sms-1',
				variant: 'default',
				rendered: { body: 'Your cart C-u1 "is" waiting' },
			});
			expect(provider.received).toHaveLength(1);
			expect(provider.received[0].headers.authorization).toBe('Bearer sms-key');
			expect(provider.received[0].headers['idempotency-key']).toBe('cart:entry-u1:send-node');
			expect(provider.received[0].headers['x-api-version']).toBe('2');
			expect(JSON.parse(provider.received[0].body)).toEqual({
				to: 'u1',
				text: 'Your cart C-u1 "is" waiting',
				cart: 'C-u1',
				at: '2026-03-10T10:00:00.000Z',
			});

			const [again] = await run(parameters(`${provider.baseUrl}/messages`), [item('u1')]);
			expect(again[0].json.send).toMatchObject({
				status: 'alreadySent',
				providerMessageId: 'sms-1',
			});
			expect(provider.received).toHaveLength(1);
		} finally {
			await provider.close();
		}
	});

	it("routes a provider's 4xx to Failed with its error text, and gives the Frequency Cap's slot back", async () => {
		const provider = await startRecordingServer([
			{ status: 400, body: { error: { message: 'invalid phone number' } } },
		]);
		const store = new SqliteCampaignStore({ filePath });
		try {
			await store.reserveSends([
				{
					idempotencyKey: 'cart:entry-u2:cap',
					campaignId: 'cart',
					stepId: 'cap',
					userId: 'u2',
					channel: 'sms',
					tags: [],
					now: Date.now(),
					expiresAt: Date.now() + 3_600_000,
					countsTowardCap: true,
					limits: [],
				},
			]);
			const capped = item('u2', {
				frequencyCap: { decision: 'allowed', idempotencyKey: 'cart:entry-u2:cap', channel: 'sms' },
			});
			const [sent, failed] = await run(parameters(`${provider.baseUrl}/messages`), [capped]);
			expect(sent).toEqual([]);
			expect(failed[0].json.send).toMatchObject({
				status: 'failed',
				error: 'invalid phone number',
				httpStatus: 400,
			});
			expect(await store.getSend('cart:entry-u2:cap')).toMatchObject({
				state: 'failed',
				channel: 'sms',
			});
		} finally {
			await store.close();
			await provider.close();
		}
	});

	it('keeps a control group out, by a share of users, always the same users', async () => {
		const provider = await startRecordingServer([{ status: 200, body: { data: { id: 'x' } } }]);
		try {
			const users = Array.from({ length: 40 }, (_, i) => item(`ctl-${i}`));
			const options = { controlPercent: 50 };
			const [sent, , control] = await run(
				parameters(`${provider.baseUrl}/messages`, { options }),
				users,
			);
			expect(sent.length + control.length).toBe(40);
			expect(control.length).toBeGreaterThan(10);
			expect(provider.received).toHaveLength(sent.length);
			const [, , controlAgain] = await run(
				parameters(`${provider.baseUrl}/messages`, { options }),
				users,
			);
			expect(controlAgain.map((i) => i.json.userId)).toEqual(control.map((i) => i.json.userId));
		} finally {
			await provider.close();
		}
	});

	it('sends a Body Template that does not parse to Failed naming the field, and sends the others', async () => {
		const provider = await startRecordingServer([
			{ status: 201, body: { data: { id: 'sms-a' } } },
			{ status: 201, body: { data: { id: 'sms-c' } } },
		]);
		const store = new SqliteCampaignStore({ filePath });
		try {
			const good = '{"to": "{{ user.id }}", "text": "{{ message.body }}"}';
			const broken = '{"to": "{{ user.id }}", "text": "{{ message.body "}';
			const [sent, failed] = await run(
				parameters(`${provider.baseUrl}/messages`, {
					// The Body Template is an expression per item: item 1's does not parse.
					httpBody: (itemIndex: number) => (itemIndex === 1 ? broken : good),
				}),
				[item('tpl-a'), item('tpl-b'), item('tpl-c')],
				{},
				{ continueOnFail: false },
			);
			expect(sent.map((i) => i.json.userId)).toEqual(['tpl-a', 'tpl-c']);
			expect(failed).toHaveLength(1);
			expect(failed[0].json.userId).toBe('tpl-b');
			expect(failed[0].pairedItem).toEqual({ item: 1 });
			expect(failed[0].json.send).toMatchObject({
				status: 'failed',
				idempotencyKey: 'cart:entry-tpl-b:send-node',
				field: 'Body Template',
				attempts: 0,
			});
			expect(String(failed[0].json.error)).toMatch(
				/^Body Template: template syntax error \(at text\)/,
			);
			expect(provider.received.map((r) => JSON.parse(r.body).to)).toEqual(['tpl-a', 'tpl-c']);
			// Nothing was sent: the key is given back, and a fixed template sends it later.
			expect(await store.getSend('cart:entry-tpl-b:send-node')).toMatchObject({
				state: 'released',
			});
		} finally {
			await store.close();
			await provider.close();
		}
	});

	it('fails the item naming the template field when a variable is missing and strict', async () => {
		const provider = await startRecordingServer([{ status: 200, body: {} }]);
		try {
			const [, failed] = await run(
				parameters(`${provider.baseUrl}/messages`, {
					body: 'Hi {{ user.first_name }}',
					options: { strictVariables: true },
				}),
				[item('u3')],
			);
			expect(String(failed[0].json.error)).toMatch(/^Body: undefined variable "user.first_name"/);
			expect(provider.received).toEqual([]);
		} finally {
			await provider.close();
		}
	});
});

describe('Send Message node, uncertain delivery', () => {
	const parameters = (url: string, options: Record<string, unknown> = {}) => ({
		channel: 'http',
		httpMethod: 'POST',
		httpUrl: url,
		httpAuthentication: 'none',
		httpBody: '{"to": "{{ user.id }}", "text": "{{ message.body }}"}',
		httpHeaders: '{}',
		httpIdempotencyHeader: '',
		httpMessageIdPath: 'id',
		body: 'Your cart is waiting',
		variants: {},
		options,
	});

	it('an answer lost after the provider got the message: Failed, deliveryUnknown, sent once', async () => {
		const provider = await startRecordingServer([
			{ status: 0, drop: true },
			{ status: 200, body: { id: 'x' } },
		]);
		try {
			const [sent, failed] = await run(parameters(`${provider.baseUrl}/messages`), [item('uu1')]);
			expect(sent).toEqual([]);
			expect(failed[0].json.send).toMatchObject({
				status: 'failed',
				deliveryUnknown: true,
				attempts: 1,
				error: expect.stringMatching(
					/^delivery unknown: the connection broke after the request was sent/,
				),
			});
			expect(provider.received).toHaveLength(1);
		} finally {
			await provider.close();
		}
	});

	it('with On Uncertain Delivery: Retry (At Least Once) it is sent again', async () => {
		const provider = await startRecordingServer([
			{ status: 0, drop: true },
			{ status: 200, body: { id: 'y' } },
		]);
		try {
			const [sent, failed] = await run(
				parameters(`${provider.baseUrl}/messages`, { uncertainDelivery: 'retry' }),
				[item('uu2')],
			);
			expect(failed).toEqual([]);
			expect(sent[0].json.send).toMatchObject({
				status: 'sent',
				providerMessageId: 'y',
				attempts: 2,
			});
			expect(provider.received).toHaveLength(2);
		} finally {
			await provider.close();
		}
	});
});

describe('Send Message node, Intercom email to an unsubscribed contact', () => {
	it('goes to Unsubscribed with the reason, sends nothing and does not count as sent', async () => {
		const imitation = await startIntercomImitation();
		const store = new SqliteCampaignStore({ filePath });
		try {
			imitation.addContact({ email: 'gone@example.com', unsubscribed_from_emails: true });
			imitation.addContact({ email: 'here@example.com' });
			const parameters = {
				channel: 'intercom',
				intercomMessageType: 'email',
				intercomTemplate: 'plain',
				intercomLookup: 'email',
				intercomRecipientType: 'user',
				subject: 'Your cart',
				body: 'Your cart is waiting',
				variants: {},
				options: {},
			};
			const intercomApi = {
				accessToken: imitation.accessToken,
				region: 'us',
				baseUrl: imitation.baseUrl,
				apiVersion: '2.14',
				defaultAdminId: '991267816',
			};
			const outputs = await run(
				parameters,
				[
					item('gone', { profile: { email: 'gone@example.com' } }),
					item('here', { profile: { email: 'here@example.com' } }),
				],
				{ campaignIntercomApi: intercomApi },
			);
			expect(outputs).toHaveLength(4);
			const [sent, failed, control, unsubscribed] = outputs;
			expect(sent.map((i) => i.json.userId)).toEqual(['here']);
			expect(failed).toEqual([]);
			expect(control).toEqual([]);
			expect(unsubscribed).toHaveLength(1);
			expect(unsubscribed[0].json.userId).toBe('gone');
			expect(unsubscribed[0].json.send).toMatchObject({
				status: 'unsubscribed',
				idempotencyKey: 'cart:entry-gone:send-node',
				reason: expect.stringContaining('is unsubscribed from emails (unsubscribed_from_emails)'),
			});
			expect(imitation.requestsTo('POST /messages')).toHaveLength(1);
			expect(await store.getSend('cart:entry-gone:send-node')).toMatchObject({ state: 'released' });
		} finally {
			await store.close();
			await imitation.close();
		}
	});
});
