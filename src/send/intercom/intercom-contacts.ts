import { createHash } from 'node:crypto';

import type { HttpRequest, HttpTransport } from '../channel';
import { sendWithRetries, type RetryOptions } from '../retry';
import {
	contactSearchRequest,
	showContactRequest,
	intercomErrorText,
	type ContactSearchField,
	type IntercomConnection,
	type IntercomRecipientType,
} from './intercom-requests';

/**
 * Finding the Intercom contact id a message goes to, by `external_id` or `email`, with a
 * small per-process cache so a campaign does not search once per message.
 */

interface CacheEntry {
	contactId: string;
	expiresAt: number;
}

export interface IntercomContactCacheOptions {
	/** Least recently used entries go first past this. Default 10 000. */
	maxEntries?: number;
	/** Contacts can be merged or deleted: an id is searched again after this. Default 1 hour. */
	ttlMs?: number;
	now?: () => number;
}

/** LRU map from (workspace, token, field, value) to an Intercom contact id. */
export class IntercomContactCache {
	private readonly entries = new Map<string, CacheEntry>();
	private readonly maxEntries: number;
	private readonly ttlMs: number;
	private readonly now: () => number;

	constructor(options: IntercomContactCacheOptions = {}) {
		this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
		this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
		this.now = options.now ?? Date.now;
	}

	get(key: string): string | undefined {
		const entry = this.entries.get(key);
		if (!entry) return undefined;
		if (entry.expiresAt <= this.now()) {
			this.entries.delete(key);
			return undefined;
		}
		// Re-insert: a Map iterates in insertion order, so the first key is the least recent.
		this.entries.delete(key);
		this.entries.set(key, entry);
		return entry.contactId;
	}

	set(key: string, contactId: string): void {
		this.entries.delete(key);
		this.entries.set(key, { contactId, expiresAt: this.now() + this.ttlMs });
		while (this.entries.size > this.maxEntries) {
			const oldest = this.entries.keys().next().value as string;
			this.entries.delete(oldest);
		}
	}

	delete(key: string): void {
		this.entries.delete(key);
	}

	clear(): void {
		this.entries.clear();
	}

	get size(): number {
		return this.entries.size;
	}
}

/** The cache every Intercom channel of this process uses unless given its own. */
export const sharedIntercomContactCache = new IntercomContactCache();

/** The token is hashed, never kept: two workspaces (or tokens) never share entries. */
export function contactCacheKey(
	connection: Pick<IntercomConnection, 'baseUrl' | 'accessToken'>,
	field: ContactSearchField,
	value: string,
): string {
	const token = createHash('sha256').update(connection.accessToken).digest('hex').slice(0, 24);
	const normalized = field === 'email' ? value.trim().toLowerCase() : value;
	return JSON.stringify([connection.baseUrl, token, field, normalized]);
}

export type ContactSearchResult =
	| {
			kind: 'found';
			contactId: string;
			/** The contact's `unsubscribed_from_emails`, when the answer carries it. */
			unsubscribedFromEmails?: boolean;
			request: HttpRequest;
			attempts: number;
	  }
	| { kind: 'notFound'; request: HttpRequest; attempts: number }
	/** Found, but not one usable contact (wrong role, several): retrying will not help. */
	| { kind: 'unusable'; error: string; request: HttpRequest; attempts: number }
	| { kind: 'failed'; status?: number; error: string; request: HttpRequest; attempts: number };

interface ContactSummary {
	id: string;
	role?: string;
	unsubscribedFromEmails?: boolean;
}

function summaryOf(contact: Record<string, unknown>): ContactSummary {
	return {
		id: contact.id as string,
		role: typeof contact.role === 'string' ? contact.role : undefined,
		unsubscribedFromEmails:
			typeof contact.unsubscribed_from_emails === 'boolean'
				? contact.unsubscribed_from_emails
				: undefined,
	};
}

function contactsOf(body: unknown): ContactSummary[] | undefined {
	const data = (body as { data?: unknown } | null)?.data;
	if (!Array.isArray(data)) return undefined;
	return data
		.filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null)
		.filter((c) => typeof c.id === 'string' && c.id !== '')
		.map(summaryOf);
}

/** One search (with retries for 429 and 5xx); a contact that is not there is `notFound`. */
export async function searchContact(
	connection: IntercomConnection,
	transport: HttpTransport,
	field: ContactSearchField,
	value: string,
	recipientType: IntercomRecipientType,
	retry: RetryOptions,
): Promise<ContactSearchResult> {
	const request = contactSearchRequest(connection, field, value);
	// A search changes nothing: repeating it is harmless.
	const { response, attempts, error } = await sendWithRetries(transport, request, {
		...retry,
		repeatable: true,
	});
	if (!response || response.status < 200 || response.status >= 300) {
		return {
			kind: 'failed',
			status: response?.status,
			error: intercomFailureText('Searching the Intercom contact', response, error),
			request,
			attempts,
		};
	}
	const contacts = contactsOf(response.body);
	if (contacts === undefined) {
		return {
			kind: 'failed',
			status: response.status,
			error: 'Searching the Intercom contact: the answer has no `data` list of contacts',
			request,
			attempts,
		};
	}
	if (contacts.length === 0) return { kind: 'notFound', request, attempts };
	// A contact without a role in the answer is taken as the configured type.
	const matching = contacts.filter((c) => (c.role ?? recipientType) === recipientType);
	if (matching.length === 1) {
		const [contact] = matching;
		return {
			kind: 'found',
			contactId: contact.id,
			unsubscribedFromEmails: contact.unsubscribedFromEmails,
			request,
			attempts,
		};
	}
	const label = `${field} ${value}`;
	const problem =
		matching.length === 0
			? `The Intercom contact with ${label} is a ${contacts[0].role}, not a ${recipientType}: set the recipient type to ${contacts[0].role}`
			: `${matching.length} Intercom contacts of type ${recipientType} have ${label}: choose lookup by external id or by contact id so the message reaches the right one`;
	return { kind: 'unusable', error: problem, request, attempts };
}

/**
 * `GET /contacts/{id}` (with retries for 429 and 5xx): the contact as it is now, to read
 * `unsubscribed_from_emails` before an email. A contact that is not there is `notFound`.
 */
export async function readContact(
	connection: IntercomConnection,
	transport: HttpTransport,
	contactId: string,
	retry: RetryOptions,
): Promise<ContactSearchResult> {
	const request = showContactRequest(connection, contactId);
	const { response, attempts, error } = await sendWithRetries(transport, request, {
		...retry,
		repeatable: true,
	});
	if (response?.status === 404) return { kind: 'notFound', request, attempts };
	const body = response?.body;
	if (
		!response ||
		response.status < 200 ||
		response.status >= 300 ||
		typeof body !== 'object' ||
		body === null ||
		typeof (body as { id?: unknown }).id !== 'string'
	) {
		return {
			kind: 'failed',
			status: response?.status,
			error:
				response && response.status >= 200 && response.status < 300
					? 'Reading the Intercom contact: the answer is not a contact'
					: intercomFailureText('Reading the Intercom contact', response, error),
			request,
			attempts,
		};
	}
	const contact = summaryOf(body as Record<string, unknown>);
	return {
		kind: 'found',
		contactId: contact.id,
		unsubscribedFromEmails: contact.unsubscribedFromEmails,
		request,
		attempts,
	};
}

/**
 * A failure text that keeps Intercom's own words: 401 says to check the access token,
 * 403 names the plan restriction, other statuses carry `errors[].message`.
 */
export function intercomFailureText(
	what: string,
	response: { status: number; body: unknown } | undefined,
	retryError: string | undefined,
): string {
	if (!response) return `${what} failed: ${retryError ?? 'no answer'}`;
	const said = intercomErrorText(response.body);
	const quoted = said ? `: ${said}` : '';
	switch (response.status) {
		case 401:
			return `${what}: Intercom rejected the access token (401${quoted}); check the access token in the Intercom credentials`;
		case 403:
			return `${what}: Intercom refused (403${quoted}); the workspace's plan or the token's permissions do not allow this`;
		default: {
			const suffix = retryError ? ` (${retryError})` : '';
			return `${what}: Intercom answered ${response.status}${quoted}${suffix}`;
		}
	}
}
