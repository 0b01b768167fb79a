import type { HttpRequest } from '../channel';

/**
 * The Intercom REST requests the channel sends, built as Intercom's OpenAPI description
 * (version 2.14) documents them; `test/send/intercom-spec.test.ts` validates each against it.
 */

export type IntercomRegion = 'us' | 'eu' | 'au';

/** Each Intercom workspace lives in one region and answers only there. */
export const INTERCOM_BASE_URLS: Readonly<Record<IntercomRegion, string>> = {
	us: 'https://api.intercom.io',
	eu: 'https://api.eu.intercom.io',
	au: 'https://api.au.intercom.io',
};

export const DEFAULT_INTERCOM_API_VERSION = '2.14';

export interface IntercomConnection {
	/** Without a trailing slash. */
	baseUrl: string;
	accessToken: string;
	apiVersion: string;
}

export function intercomHeaders(connection: IntercomConnection): Record<string, string> {
	return {
		Authorization: `Bearer ${connection.accessToken}`,
		'Intercom-Version': connection.apiVersion,
		Accept: 'application/json',
		'Content-Type': 'application/json',
	};
}

/** The contact attributes the channel searches by (exact match). */
export type ContactSearchField = 'external_id' | 'email';

/** `POST /contacts/search` with one `=` filter (`single_filter_search_request`). */
export function contactSearchRequest(
	connection: IntercomConnection,
	field: ContactSearchField,
	value: string,
): HttpRequest {
	return {
		method: 'POST',
		url: `${connection.baseUrl}/contacts/search`,
		headers: intercomHeaders(connection),
		body: { query: { field, operator: '=', value } },
	};
}

/** `GET /contacts/{contact_id}` (`ShowContact`). */
export function showContactRequest(connection: IntercomConnection, contactId: string): HttpRequest {
	return {
		method: 'GET',
		url: `${connection.baseUrl}/contacts/${encodeURIComponent(contactId)}`,
		headers: intercomHeaders(connection),
	};
}

export type IntercomRecipientType = 'user' | 'lead';

/** The body of `POST /messages` (`create_message_request`) as this package sends it. */
export type CreateMessageBody = {
	body: string;
	/** Admin ids are strings wherever Intercom returns them (`GET /admins`), although this field is typed integer. */
	from: { type: 'admin'; id: string };
	/** The Intercom contact id, never `user_id` or `email`. */
	to: { type: IntercomRecipientType; id: string };
} & (
	| {
			/** `inapp`: the schema's enum says `in_app`, everything else Intercom publishes says `inapp`. */
			message_type: 'inapp';
	  }
	| { message_type: 'email'; subject: string; template: 'plain' | 'personal' }
);

/**
 * `POST /messages`. Intercom documents no idempotency header for this endpoint, so none is
 * sent (an invented one would be ignored and suggest a safety that is not there): a request
 * that may have reached Intercom without an answer is not sent again unless the channel is
 * told to deliver at least once (`retry.uncertainDelivery`).
 */
export function createMessageRequest(
	connection: IntercomConnection,
	body: CreateMessageBody,
): HttpRequest {
	return {
		method: 'POST',
		url: `${connection.baseUrl}/messages`,
		headers: intercomHeaders(connection),
		body,
	};
}

/**
 * Intercom's own words from an `error.list` answer (`errors[].message`, else the codes),
 * or undefined when the body is not one.
 */
export function intercomErrorText(body: unknown): string | undefined {
	if (typeof body !== 'object' || body === null) {
		return typeof body === 'string' && body.trim() ? body.trim().slice(0, 300) : undefined;
	}
	const errors = (body as { errors?: unknown }).errors;
	if (!Array.isArray(errors) || errors.length === 0) return undefined;
	const texts = errors.map((entry) => {
		const { code, message, field } = (entry ?? {}) as Record<string, unknown>;
		const text = typeof message === 'string' && message ? message : String(code ?? 'error');
		return typeof field === 'string' && field ? `${text} (${field})` : text;
	});
	return texts.join('; ');
}

/** The `errors[].code` values of an Intercom error answer (empty when it has none). */
export function intercomErrorCodes(body: unknown): string[] {
	const errors = (body as { errors?: unknown } | null)?.errors;
	if (!Array.isArray(errors)) return [];
	return errors
		.map((entry) => (entry as { code?: unknown } | null)?.code)
		.filter((code): code is string => typeof code === 'string');
}
