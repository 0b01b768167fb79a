import { createHash } from 'node:crypto';

import { stepIdempotencyKey, type CampaignItem, type CapHandOff } from '../campaign-item';
import { InvalidInputError } from '../errors';
import type { CampaignStore, SendRecord } from '../store/campaign-store';
import type { HttpRequest, HttpTransport, MessageChannel, RenderedMessage } from './channel';

/**
 * One message to one user, never twice: the idempotency key is held in the store before the
 * provider is called, a sent key is never sent again, and the outcome is written back, so a
 * failed send gives its frequency-cap slot back.
 */
export interface DeliveryRequest {
	store: CampaignStore;
	/** The Frequency Cap's key when it reserved the slot, else (campaign, entry, this step). */
	idempotencyKey: string;
	/** True when a Frequency Cap step reserved the key: the send commits that reservation. */
	reservedByCap: boolean;
	campaignId: string;
	stepId: string;
	entryId?: string;
	userId: string;
	/** Channel name caps count by. */
	channelName: string;
	tags: string[];
	/** A reservation this step takes itself stops counting after this long if never completed. */
	reservationTtlMs: number;
	choice: { kind: 'control' } | { kind: 'variant'; name: string };
	/**
	 * Called only when the message will really be sent. An {@link InvalidInputError} (a template
	 * that does not render for this user) fails this send alone, naming the field.
	 */
	render: () => Promise<RenderedMessage>;
	channel: MessageChannel;
	transport: HttpTransport;
	/** Waits for the per-credential rate, if any. */
	throttle?: () => Promise<void>;
	now: () => number;
}

export type DeliveryResult =
	| {
			status: 'sent';
			providerMessageId?: string;
			variant?: string;
			contentHash: string;
			message: RenderedMessage;
			request: HttpRequest;
			attempts: number;
	  }
	/** Sent before (a retried or re-run execution): nothing was sent now. */
	| { status: 'alreadySent'; send: SendRecord }
	| { status: 'control' }
	/** Not sent: the recipient unsubscribed (from emails, for an email). The key is released. */
	| { status: 'unsubscribed'; reason: string; attempts: number; variant?: string }
	| {
			status: 'failed';
			error: string;
			httpStatus?: number;
			attempts: number;
			variant?: string;
			/**
			 * The provider may hold the message (the answer was lost after it was sent): it was not
			 * sent again. Recorded `failed`, so it does not count toward caps.
			 */
			deliveryUnknown?: true;
			/** The parameter that did not render (a template error): nothing was sent. */
			field?: string;
	  };

const hashContent = (message: RenderedMessage): string =>
	`sha256:${createHash('sha256')
		.update(
			JSON.stringify([
				message.subject,
				message.headline,
				message.body,
				message.imageUrl,
				message.authorId,
			]),
		)
		.digest('hex')}`;

export async function deliver(request: DeliveryRequest): Promise<DeliveryResult> {
	const { store, idempotencyKey } = request;
	const [reservation] = await store.reserveSends([
		{
			idempotencyKey,
			campaignId: request.campaignId,
			stepId: request.stepId,
			entryId: request.entryId,
			userId: request.userId,
			channel: request.channelName,
			tags: request.tags,
			now: request.now(),
			expiresAt: request.now() + request.reservationTtlMs,
			countsTowardCap: true,
			// The cap was decided by the Frequency Cap step (or there is none): only the key is claimed here.
			limits: [],
		},
	]);
	if (reservation.outcome === 'duplicate') {
		if (reservation.send.state === 'sent') return { status: 'alreadySent', send: reservation.send };
		// A live reservation: the Frequency Cap's for this item is ours to commit; another
		// step's own reservation means an execution is sending this very message right now.
		if (!request.reservedByCap) {
			return {
				status: 'failed',
				error: `another execution is sending this message (key ${idempotencyKey}, reserved until ${new Date(reservation.send.expiresAt ?? 0).toISOString()}); it is not sent twice`,
				attempts: 0,
			};
		}
	}

	if (request.choice.kind === 'control') {
		await store.completeSend(idempotencyKey, {
			state: 'released',
			at: request.now(),
			error: 'control group: not sent',
			variant: 'control',
		});
		return { status: 'control' };
	}

	const variant = request.choice.name;
	let message: RenderedMessage;
	try {
		message = await request.render();
	} catch (error) {
		await store.completeSend(idempotencyKey, {
			state: 'released',
			at: request.now(),
			error: (error as Error).message,
			variant,
		});
		if (!(error instanceof InvalidInputError)) throw error;
		return { status: 'failed', error: error.message, field: error.field, attempts: 0, variant };
	}
	await request.throttle?.();
	const outcome = await request.channel.send(message, request.transport);
	if (!outcome.ok && outcome.unsubscribed) {
		// Neither sent nor a failure to retry: the slot is given back, the reason kept.
		await store.completeSend(idempotencyKey, {
			state: 'released',
			at: request.now(),
			error: outcome.error,
			variant,
		});
		return { status: 'unsubscribed', reason: outcome.error, attempts: outcome.attempts, variant };
	}
	if (!outcome.ok) {
		// A failed send does not count against the user's caps.
		await store.completeSend(idempotencyKey, {
			state: 'failed',
			at: request.now(),
			error: outcome.error,
			variant,
		});
		return {
			status: 'failed',
			error: outcome.error,
			httpStatus: outcome.status,
			attempts: outcome.attempts,
			variant,
			...(outcome.deliveryUnknown ? { deliveryUnknown: true as const } : {}),
		};
	}
	const contentHash = hashContent(message);
	await store.completeSend(idempotencyKey, {
		state: 'sent',
		at: request.now(),
		providerMessageId: outcome.providerMessageId,
		variant,
		contentHash,
	});
	return {
		status: 'sent',
		providerMessageId: outcome.providerMessageId,
		variant,
		contentHash,
		message,
		request: outcome.request,
		attempts: outcome.attempts,
	};
}

/**
 * The send step of one campaign item: takes over the Frequency Cap's reservation when the item
 * carries one (its key, and the channel it counted on), else holds its own key for (campaign,
 * entry, step), then {@link deliver}s, which commits the key when sent or gives it back.
 */
export interface CampaignSendRequest
	extends Omit<
		DeliveryRequest,
		'idempotencyKey' | 'reservedByCap' | 'campaignId' | 'entryId' | 'userId' | 'render'
	> {
	item: CampaignItem;
	/** What a Frequency Cap before this step handed over (`readCapHandOff`), if anything. */
	capHandOff?: CapHandOff;
	/** The execution: the key of an item without an entry id is unique only within it. */
	executionId: string;
	/**
	 * The channel caps count this send on: the node's explicit choice, else the cap's channel,
	 * else this default. Given as `channelName` (empty: not chosen).
	 */
	defaultChannelName: string;
	render: (idempotencyKey: string) => Promise<RenderedMessage>;
}

export async function deliverCampaignItem(
	request: CampaignSendRequest,
): Promise<{ idempotencyKey: string; result: DeliveryResult }> {
	const { item, capHandOff } = request;
	const idempotencyKey =
		capHandOff?.idempotencyKey ?? stepIdempotencyKey(item, request.stepId, request.executionId);
	const result = await deliver({
		...request,
		idempotencyKey,
		reservedByCap: capHandOff !== undefined,
		campaignId: item.campaignId,
		entryId: item.entryId,
		userId: item.userId,
		channelName: request.channelName || capHandOff?.channel || request.defaultChannelName,
		render: async () => await request.render(idempotencyKey),
	});
	return { idempotencyKey, result };
}
