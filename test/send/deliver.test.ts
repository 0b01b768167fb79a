import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import type {
	HttpRequest,
	MessageChannel,
	RenderedMessage,
	SendOutcome,
} from '../../src/send/channel';
import { InvalidInputError } from '../../src/errors';
import { deliver, deliverCampaignItem, type DeliveryRequest } from '../../src/send/deliver';
import { createIntercomChannel, IntercomContactCache } from '../../src/send/intercom';
import { fetchTransport } from './support/fetch-transport';
import { startIntercomImitation } from './support/intercom-imitation';

const T0 = Date.parse('2026-03-10T10:00:00Z');
const folder = mkdtempSync(join(tmpdir(), 'tc-deliver-'));
const store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
afterAll(async () => {
	await store.close();
	rmSync(folder, { recursive: true, force: true });
});

/** A channel that records what it was asked to send and answers as scripted. */
function recordingChannel(answers: Array<'ok' | 'fail'> = []) {
	const sent: RenderedMessage[] = [];
	const channel: MessageChannel = {
		name: 'in_app',
		async send(message): Promise<SendOutcome> {
			sent.push(message);
			const request: HttpRequest = {
				method: 'POST',
				url: 'https://provider.test/messages',
				headers: {},
				body: message.body,
			};
			return (answers[sent.length - 1] ?? 'ok') === 'ok'
				? { ok: true, providerMessageId: `pm-${sent.length}`, request, attempts: 1 }
				: { ok: false, status: 422, error: 'recipient is not a contact', request, attempts: 1 };
		},
	};
	return { channel, sent };
}

let n = 0;
function delivery(
	overrides: Partial<DeliveryRequest> & Pick<DeliveryRequest, 'channel'>,
): DeliveryRequest {
	n++;
	return {
		store,
		idempotencyKey: `cart:entry-${n}:send`,
		reservedByCap: false,
		campaignId: 'cart',
		stepId: 'send',
		entryId: `entry-${n}`,
		userId: `user-${n}`,
		channelName: 'in_app',
		tags: ['promo'],
		reservationTtlMs: 3_600_000,
		choice: { kind: 'variant', name: 'A' },
		render: async () => ({
			idempotencyKey: `cart:entry-${n}:send`,
			userId: `user-${n}`,
			externalIds: {},
			body: 'You left A1 in your cart',
		}),
		transport: async () => ({ status: 200, headers: {}, body: {} }),
		now: () => T0,
		...overrides,
	};
}

describe('deliver', () => {
	it('sends once and records provider id, variant and content hash; a re-run sends nothing', async () => {
		const { channel, sent } = recordingChannel();
		const request = delivery({ channel });
		const first = await deliver(request);
		expect(first).toMatchObject({ status: 'sent', providerMessageId: 'pm-1', variant: 'A' });
		const again = await deliver({ ...request });
		expect(again).toMatchObject({
			status: 'alreadySent',
			send: { state: 'sent', providerMessageId: 'pm-1' },
		});
		expect(sent).toHaveLength(1);
		expect(await store.getSend(request.idempotencyKey)).toMatchObject({
			state: 'sent',
			variant: 'A',
			contentHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
		});
	});

	it("commits the Frequency Cap's reservation, and a failed send gives the cap slot back", async () => {
		const userId = 'capped-user';
		const limit = { ruleId: 'one-a-day', since: T0 - 86_400_000, limit: 1 };
		const capReservation = (key: string) =>
			store.reserveSends([
				{
					idempotencyKey: key,
					campaignId: 'cart',
					stepId: 'cap',
					userId,
					channel: 'in_app',
					tags: [],
					now: T0,
					expiresAt: T0 + 3_600_000,
					countsTowardCap: true,
					limits: [limit],
				},
			]);
		expect((await capReservation('cart:e1:cap'))[0].outcome).toBe('reserved');

		const { channel, sent } = recordingChannel(['fail']);
		const failed = await deliver(
			delivery({ channel, idempotencyKey: 'cart:e1:cap', reservedByCap: true, userId }),
		);
		expect(failed).toMatchObject({
			status: 'failed',
			error: 'recipient is not a contact',
			httpStatus: 422,
		});
		expect(sent).toHaveLength(1);
		expect(await store.getSend('cart:e1:cap')).toMatchObject({ state: 'failed' });
		// The slot is free again: the next message to this user fits the 1-a-day rule.
		expect((await capReservation('cart:e2:cap'))[0].outcome).toBe('reserved');
	});

	it('never calls the provider for a control-group user, and records the control variant', async () => {
		const { channel, sent } = recordingChannel();
		const request = delivery({ channel, choice: { kind: 'control' } });
		expect(await deliver(request)).toEqual({ status: 'control' });
		expect(sent).toEqual([]);
		expect(await store.getSend(request.idempotencyKey)).toMatchObject({
			state: 'released',
			variant: 'control',
		});
	});

	it('refuses a key another execution is sending right now, without calling the provider', async () => {
		const { channel, sent } = recordingChannel();
		const request = delivery({ channel });
		await store.reserveSends([
			{
				idempotencyKey: request.idempotencyKey,
				campaignId: 'cart',
				stepId: 'send',
				userId: request.userId,
				channel: 'in_app',
				tags: [],
				now: T0,
				expiresAt: T0 + 60_000,
				countsTowardCap: true,
				limits: [],
			},
		]);
		const result = await deliver(request);
		expect(result).toMatchObject({ status: 'failed', attempts: 0 });
		expect((result as { error: string }).error).toMatch(
			/another execution is sending this message .* it is not sent twice/,
		);
		expect(sent).toEqual([]);
	});

	it('gives the key back when rendering fails, naming the problem', async () => {
		const { channel } = recordingChannel();
		const request = delivery({
			channel,
			render: async () => {
				throw new Error('Body: undefined variable "event.properties.cart_id"');
			},
		});
		await expect(deliver(request)).rejects.toThrow('undefined variable');
		expect(await store.getSend(request.idempotencyKey)).toMatchObject({ state: 'released' });
	});

	describe('through the Intercom channel', () => {
		const intercom = async (messageType: 'email' | 'inapp') => {
			const imitation = await startIntercomImitation();
			const channel = createIntercomChannel({
				accessToken: imitation.accessToken,
				region: 'us',
				baseUrl: imitation.baseUrl,
				defaultAdminId: '991267816',
				messageType,
				lookup: 'contactId',
				contactCache: new IntercomContactCache(),
				retry: { sleep: async () => {} },
			});
			return { imitation, channel };
		};
		const capReservation = (key: string, userId: string) =>
			store.reserveSends([
				{
					idempotencyKey: key,
					campaignId: 'cart',
					stepId: 'cap',
					userId,
					channel: 'email',
					tags: [],
					now: T0,
					expiresAt: T0 + 3_600_000,
					countsTowardCap: true,
					limits: [{ ruleId: 'one-a-day', since: T0 - 86_400_000, limit: 1 }],
				},
			]);

		it('an email to a contact unsubscribed from emails is unsubscribed: not sent, slot given back, reason kept', async () => {
			const { imitation, channel } = await intercom('email');
			try {
				const contact = imitation.addContact({ unsubscribed_from_emails: true });
				const userId = 'unsubscribed-user';
				expect((await capReservation('cart:u1:cap', userId))[0].outcome).toBe('reserved');
				const result = await deliver(
					delivery({
						channel,
						transport: fetchTransport,
						idempotencyKey: 'cart:u1:cap',
						reservedByCap: true,
						userId,
						channelName: 'email',
						render: async () => ({
							idempotencyKey: 'cart:u1:cap',
							userId,
							externalIds: { intercom: contact.id },
							subject: 'Your cart',
							body: 'You left A1 in your cart',
						}),
					}),
				);
				const reason = `not sent: the Intercom contact ${contact.id} of user ${userId} is unsubscribed from emails (unsubscribed_from_emails)`;
				expect(result).toEqual({ status: 'unsubscribed', reason, attempts: 1, variant: 'A' });
				expect(imitation.requestsTo('POST /messages')).toHaveLength(0);
				expect(await store.getSend('cart:u1:cap')).toMatchObject({
					state: 'released',
					error: reason,
					variant: 'A',
				});
				// Not counted as sent: the next message to this user fits the 1-a-day rule.
				expect((await capReservation('cart:u2:cap', userId))[0].outcome).toBe('reserved');
			} finally {
				await imitation.close();
			}
		});

		it('a message whose answer was lost after Intercom got it is Failed, delivery unknown, sent once', async () => {
			const { imitation, channel } = await intercom('inapp');
			try {
				const contact = imitation.addContact({});
				imitation.script('POST /messages', { status: 0, drop: true });
				const request = delivery({
					channel,
					transport: fetchTransport,
					render: async () => ({
						idempotencyKey: 'k',
						userId: 'u',
						externalIds: { intercom: contact.id },
						body: 'You left A1 in your cart',
					}),
				});
				const result = await deliver(request);
				expect(result).toMatchObject({ status: 'failed', deliveryUnknown: true, attempts: 1 });
				expect(imitation.requestsTo('POST /messages')).toHaveLength(1);
				expect(await store.getSend(request.idempotencyKey)).toMatchObject({
					state: 'failed',
					error: expect.stringContaining('delivery unknown'),
				});
			} finally {
				await imitation.close();
			}
		});
	});
});

describe('deliverCampaignItem', () => {
	const base = (channel: MessageChannel) => ({
		store,
		stepId: 'send',
		executionId: 'exec-1',
		defaultChannelName: 'in_app',
		tags: [],
		reservationTtlMs: 3_600_000,
		choice: { kind: 'variant' as const, name: 'A' },
		channel,
		transport: async () => ({ status: 200, headers: {}, body: {} }),
		now: () => T0,
		render: async (key: string): Promise<RenderedMessage> => ({
			idempotencyKey: key,
			userId: 'rosa',
			externalIds: {},
			body: 'Hi',
		}),
	});

	it("commits the Frequency Cap's reservation under its key and channel", async () => {
		const { channel, sent } = recordingChannel();
		await store.reserveSends([
			{
				idempotencyKey: 'cart:entry-rosa:cap',
				campaignId: 'cart',
				stepId: 'cap',
				entryId: 'entry-rosa',
				userId: 'rosa',
				channel: 'email',
				tags: [],
				now: T0,
				expiresAt: T0 + 3_600_000,
				countsTowardCap: true,
				limits: [],
			},
		]);
		const { idempotencyKey, result } = await deliverCampaignItem({
			...base(channel),
			item: { userId: 'rosa', campaignId: 'cart', entryId: 'entry-rosa' },
			capHandOff: { idempotencyKey: 'cart:entry-rosa:cap', channel: 'email' },
			channelName: '',
		});
		expect(idempotencyKey).toBe('cart:entry-rosa:cap');
		expect(result).toMatchObject({ status: 'sent' });
		expect(sent.map((message) => message.idempotencyKey)).toEqual(['cart:entry-rosa:cap']);
		expect(await store.getSend('cart:entry-rosa:cap')).toMatchObject({
			state: 'sent',
			channel: 'email',
		});
	});

	it('holds its own key for (campaign, entry, step) without a cap, on the default channel', async () => {
		const { channel } = recordingChannel();
		const { idempotencyKey, result } = await deliverCampaignItem({
			...base(channel),
			item: { userId: 'ivo', campaignId: 'cart', entryId: 'entry-ivo' },
			channelName: '',
		});
		expect(idempotencyKey).toBe('cart:entry-ivo:send');
		expect(result).toMatchObject({ status: 'sent' });
		expect(await store.getSend('cart:entry-ivo:send')).toMatchObject({
			state: 'sent',
			channel: 'in_app',
		});
	});

	it('fails only this send when its template does not render, naming the field, and gives the key back', async () => {
		const { channel, sent } = recordingChannel();
		const { idempotencyKey, result } = await deliverCampaignItem({
			...base(channel),
			item: { userId: 'lea', campaignId: 'cart', entryId: 'entry-lea' },
			channelName: 'sms',
			render: async () => {
				throw new InvalidInputError('Body Template', 'template syntax error (at text)');
			},
		});
		expect(result).toEqual({
			status: 'failed',
			error: 'Body Template: template syntax error (at text)',
			field: 'Body Template',
			attempts: 0,
			variant: 'A',
		});
		expect(sent).toEqual([]);
		expect(await store.getSend(idempotencyKey)).toMatchObject({
			state: 'released',
			channel: 'sms',
		});
	});
});
