import type {
	HttpRequest,
	HttpTransport,
	MessageChannel,
	RenderedMessage,
	SendOutcome,
} from '../channel';
import { sleep as timerSleep } from '../../retry';
import { sendWithRetries, type RetryOptions } from '../retry';
import {
	contactCacheKey,
	intercomFailureText,
	readContact,
	searchContact,
	sharedIntercomContactCache,
	type IntercomContactCache,
} from './intercom-contacts';
import {
	createMessageRequest,
	DEFAULT_INTERCOM_API_VERSION,
	intercomErrorCodes,
	intercomErrorText,
	INTERCOM_BASE_URLS,
	type ContactSearchField,
	type CreateMessageBody,
	type IntercomConnection,
	type IntercomRecipientType,
	type IntercomRegion,
} from './intercom-requests';

export type IntercomContactLookup = 'contactId' | 'externalId' | 'email';

export interface IntercomChannelOptions {
	accessToken: string;
	region: IntercomRegion;
	/** Overrides the region's URL: for tests and proxies. */
	baseUrl?: string;
	/** The `Intercom-Version` header. Default '2.14'. */
	apiVersion?: string;
	/** The admin messages come from unless the message names its own `authorId`. */
	defaultAdminId: string;
	messageType: 'inapp' | 'email';
	/** Email style. Default 'plain'. */
	emailTemplate?: 'plain' | 'personal';
	/** Default 'user'. */
	recipientType?: IntercomRecipientType;
	/**
	 * How the recipient's Intercom contact id is found: `contactId` reads
	 * `message.externalIds.intercom`; `externalId` searches `external_id` = `message.userId`;
	 * `email` searches `email` = `message.email`.
	 */
	lookup: IntercomContactLookup;
	/**
	 * Retries of each request (429, 5xx, no answer): see `src/retry/`. `POST /messages` has no
	 * idempotency key, so a message that may have reached Intercom without an answer is not
	 * sent again (`deliveryUnknown`) unless `uncertainDelivery` is 'retry'.
	 */
	retry?: RetryOptions;
	/** Default: one cache shared by the whole process. */
	contactCache?: IntercomContactCache;
	/**
	 * A contact created moments ago may be missing from search or answer 404 to a message for a
	 * short while: the search or the send is tried this many more times. Default 2.
	 */
	notFoundRetries?: number;
	/** Wait before the first of those tries, doubled each time. Default 1000 ms. */
	notFoundDelayMs?: number;
}

const LOOKUP_FIELD: Record<Exclude<IntercomContactLookup, 'contactId'>, ContactSearchField> = {
	externalId: 'external_id',
	email: 'email',
};

const OTHER_LOOKUPS: Record<IntercomContactLookup, string> = {
	contactId: 'lookup by external id or by email',
	externalId: 'lookup by email or by contact id',
	email: 'lookup by external id or by contact id',
};

function required(value: string | undefined, name: string): string {
	if (typeof value !== 'string' || value.trim() === '') {
		throw new Error(`Intercom channel: ${name} is required`);
	}
	return value;
}

type Resolved =
	| {
			ok: true;
			contactId: string;
			cacheKey?: string;
			cached?: boolean;
			/** As the search just read it; undefined when no contact was read in this send. */
			unsubscribedFromEmails?: boolean;
			attempts: number;
	  }
	| { ok: false; failure: SendOutcome & { ok: false } };

const escapeHtml = (text: string): string =>
	text
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&#39;');

function imageUrlProblem(imageUrl: string | undefined): string | undefined {
	const url = imageUrl?.trim();
	if (!url) return undefined;
	let protocol: string;
	try {
		protocol = new URL(url).protocol;
	} catch {
		return `the image URL ${JSON.stringify(url)} is not a URL; give an absolute https:// address`;
	}
	return protocol === 'https:' || protocol === 'http:'
		? undefined
		: `the image URL must start with https:// or http:// (got ${protocol})`;
}

/**
 * The HTML Intercom receives, as its own composer builds it: the headline as a heading and
 * the image above the body. Both are text from the variant, so they are escaped; the body is
 * HTML already.
 */
export function composedBody(
	message: Pick<RenderedMessage, 'body' | 'headline' | 'imageUrl'>,
): string {
	const headline = message.headline?.trim();
	const imageUrl = message.imageUrl?.trim();
	return [
		headline ? `<h2>${escapeHtml(headline)}</h2>` : '',
		imageUrl ? `<p><img src="${escapeHtml(imageUrl)}" alt=""></p>` : '',
		message.body,
	].join('');
}

/**
 * The Intercom channel: `POST /messages` from an admin to one contact, in-app or email.
 * `attempts` in its outcome counts every request made for the message, searches included.
 */
export function createIntercomChannel(options: IntercomChannelOptions): MessageChannel {
	const region = options.region ?? 'us';
	const regionUrl = INTERCOM_BASE_URLS[region];
	if (!options.baseUrl && !regionUrl) {
		throw new Error(`Intercom channel: unknown region "${String(region)}" (us, eu or au)`);
	}
	const connection: IntercomConnection = {
		baseUrl: (options.baseUrl || regionUrl).replace(/\/+$/, ''),
		accessToken: required(options.accessToken, 'the access token'),
		apiVersion: options.apiVersion || DEFAULT_INTERCOM_API_VERSION,
	};
	const defaultAdminId = required(options.defaultAdminId, 'the default admin id');
	if (options.messageType !== 'inapp' && options.messageType !== 'email') {
		throw new Error(
			`Intercom channel: message type "${String(options.messageType)}" is neither inapp nor email`,
		);
	}
	const recipientType = options.recipientType ?? 'user';
	const cache = options.contactCache ?? sharedIntercomContactCache;
	const retry = options.retry ?? {};
	const sleep = retry.sleep ?? timerSleep;
	const notFoundRetries = Math.max(0, options.notFoundRetries ?? 2);
	const notFoundDelayMs = options.notFoundDelayMs ?? 1000;
	const notFoundWait = (retryNumber: number) => sleep(notFoundDelayMs * 2 ** (retryNumber - 1));

	async function resolveContact(
		message: RenderedMessage,
		transport: HttpTransport,
	): Promise<Resolved> {
		const fail = (error: string, extra: Partial<SendOutcome & { ok: false }> = {}): Resolved => ({
			ok: false,
			failure: { ok: false, error, attempts: 0, ...extra },
		});
		if (options.lookup === 'contactId') {
			const contactId = message.externalIds?.intercom;
			if (!contactId) {
				return fail(
					`user ${message.userId} has no Intercom contact id (externalIds.intercom); add it to the profile or choose ${OTHER_LOOKUPS.contactId}`,
				);
			}
			return { ok: true, contactId, attempts: 0 };
		}
		const field = LOOKUP_FIELD[options.lookup];
		if (!field) {
			throw new Error(`Intercom channel: unknown contact lookup "${String(options.lookup)}"`);
		}
		const value = field === 'email' ? message.email : message.userId;
		if (!value) {
			return fail(
				`user ${message.userId} has no email to find the Intercom contact by; add it to the profile or choose ${OTHER_LOOKUPS.email}`,
			);
		}
		const cacheKey = contactCacheKey(connection, field, value);
		const cached = cache.get(cacheKey);
		if (cached) return { ok: true, contactId: cached, cacheKey, cached: true, attempts: 0 };

		let attempts = 0;
		for (let tries = 0; ; tries++) {
			if (tries > 0) await notFoundWait(tries);
			const result = await searchContact(connection, transport, field, value, recipientType, retry);
			attempts += result.attempts;
			switch (result.kind) {
				case 'found':
					cache.set(cacheKey, result.contactId);
					return {
						ok: true,
						contactId: result.contactId,
						cacheKey,
						unsubscribedFromEmails: result.unsubscribedFromEmails,
						attempts,
					};
				case 'failed':
					return fail(result.error, { status: result.status, request: result.request, attempts });
				case 'unusable':
					return fail(result.error, { request: result.request, attempts });
				case 'notFound':
					if (tries < notFoundRetries) continue;
					return fail(
						`no Intercom contact with ${field} ${value}; create it first or choose ${OTHER_LOOKUPS[options.lookup]}`,
						{ request: result.request, attempts },
					);
			}
		}
	}

	/**
	 * An email to a contact unsubscribed from emails is not sent. The flag is read fresh for
	 * every email (from the search just made, else `GET /contacts/{id}`), never from the cache,
	 * so an unsubscribe made a moment ago counts. A contact that is not found is left to the
	 * message request, whose 404 handling searches again.
	 */
	async function unsubscribedCheck(
		message: RenderedMessage,
		resolved: Resolved & { ok: true },
		transport: HttpTransport,
	): Promise<{ attempts: number; failure?: SendOutcome & { ok: false } }> {
		if (options.messageType !== 'email') return { attempts: 0 };
		let unsubscribed = resolved.unsubscribedFromEmails;
		let attempts = 0;
		if (unsubscribed === undefined) {
			const read = await readContact(connection, transport, resolved.contactId, retry);
			attempts = read.attempts;
			if (read.kind === 'failed' || read.kind === 'unusable') {
				return {
					attempts,
					failure: {
						ok: false,
						status: read.kind === 'failed' ? read.status : undefined,
						error: read.error,
						request: read.request,
						attempts,
					},
				};
			}
			if (read.kind === 'found') unsubscribed = read.unsubscribedFromEmails;
		}
		if (!unsubscribed) return { attempts };
		return {
			attempts,
			failure: {
				ok: false,
				unsubscribed: true,
				error: `not sent: the Intercom contact ${resolved.contactId} of user ${message.userId} is unsubscribed from emails (unsubscribed_from_emails)`,
				attempts,
			},
		};
	}

	function messageBody(message: RenderedMessage, contactId: string): CreateMessageBody {
		const common = {
			body: composedBody(message),
			from: { type: 'admin' as const, id: message.authorId || defaultAdminId },
			to: { type: recipientType, id: contactId },
		};
		return options.messageType === 'email'
			? {
					message_type: 'email',
					subject: message.subject ?? '',
					template: options.emailTemplate ?? 'plain',
					...common,
				}
			: { message_type: 'inapp', ...common };
	}

	return {
		name: 'intercom',
		async send(message: RenderedMessage, transport: HttpTransport): Promise<SendOutcome> {
			if (!message.body || message.body.trim() === '') {
				return { ok: false, error: 'the Intercom message body is empty', attempts: 0 };
			}
			if (options.messageType === 'email' && !message.subject?.trim()) {
				return { ok: false, error: 'an Intercom email needs a subject', attempts: 0 };
			}
			const imageProblem = imageUrlProblem(message.imageUrl);
			if (imageProblem) return { ok: false, error: imageProblem, attempts: 0 };
			let resolved = await resolveContact(message, transport);
			if (!resolved.ok) return resolved.failure;
			let attempts = resolved.attempts;
			let searchedAgain = false;
			const check = await unsubscribedCheck(message, resolved, transport);
			attempts += check.attempts;
			if (check.failure) return { ...check.failure, attempts };

			let request: HttpRequest = createMessageRequest(
				connection,
				messageBody(message, resolved.contactId),
			);
			for (let tries = 0; ; tries++) {
				if (tries > 0) await notFoundWait(tries);
				// No idempotency key on `POST /messages`: a repeat may be stored twice.
				const result = await sendWithRetries(transport, request, { ...retry, repeatable: false });
				attempts += result.attempts;
				const { response } = result;
				const { contactId, cacheKey } = resolved;
				if (response && response.status >= 200 && response.status < 300) {
					const id = (response.body as { id?: unknown } | null)?.id;
					return {
						ok: true,
						providerMessageId:
							typeof id === 'string' || typeof id === 'number' ? String(id) : undefined,
						request,
						attempts,
					};
				}
				if (result.deliveryUnknown) {
					return {
						ok: false,
						status: response?.status,
						error: intercomFailureText('Sending the Intercom message', response, result.error),
						request,
						attempts,
						deliveryUnknown: true,
					};
				}
				const codes = response?.status === 404 ? intercomErrorCodes(response.body) : [];
				// The sender is wrong, not the contact: no retry helps, and the contact stays cached.
				if (codes.includes('admin_not_found')) {
					const adminId = message.authorId || defaultAdminId;
					return {
						ok: false,
						status: 404,
						error: `Intercom has no admin ${adminId} (admin_not_found: ${intercomErrorText(response!.body) ?? 'not found'}); use the id of an admin of this workspace (GET /admins) as the credential's Default Admin ID or the variant's Author`,
						request,
						attempts,
					};
				}
				// A cached contact id that no longer exists (merged, deleted and re-created): forget
				// it and search once more before anything else.
				if (response?.status === 404 && resolved.cached && !searchedAgain && cacheKey) {
					searchedAgain = true;
					cache.delete(cacheKey);
					const again = await resolveContact(message, transport);
					if (!again.ok) return { ...again.failure, attempts: attempts + again.failure.attempts };
					attempts += again.attempts;
					resolved = again;
					const recheck = await unsubscribedCheck(message, again, transport);
					attempts += recheck.attempts;
					if (recheck.failure) return { ...recheck.failure, attempts };
					request = createMessageRequest(connection, messageBody(message, again.contactId));
					tries = -1;
					continue;
				}
				// 404: the contact is gone, or was created moments ago and cannot be messaged yet.
				if (response?.status === 404 && tries < notFoundRetries) continue;
				if (response?.status === 404 && cacheKey) cache.delete(cacheKey);
				const what =
					response?.status === 404
						? `Sending the Intercom message to contact ${contactId} (not found, or created too recently to be messaged; tried ${tries + 1} time(s))`
						: 'Sending the Intercom message';
				return {
					ok: false,
					status: response?.status,
					error: intercomFailureText(what, response, result.error),
					request,
					attempts,
				};
			}
		},
	};
}
