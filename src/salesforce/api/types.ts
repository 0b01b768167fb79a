/**
 * Contracts of the Salesforce API layer: where a token comes from (a session), what one
 * request and response look like, and the logger the sync reports progress to.
 */
import type { Readable } from 'node:stream';

/** An access token and the org instance it is valid for (`instance_url` of the token response). */
export interface SalesforceToken {
	accessToken: string;
	instanceUrl: string;
	/** When the token was issued, ms (from the token response when given, else local time). */
	issuedAt: number;
}

/**
 * Source of tokens for one credential. Implementations share one token per credential per
 * process (see `auth/token-cache.ts`), so a poll or an item never causes a login of its own.
 */
export interface SalesforceSession {
	/** For messages: login flow and user, never a secret, e.g. `JWT bearer for ops@acme.com`. */
	readonly description: string;
	/** The current token; logs in only when there is none yet. */
	getToken(): Promise<SalesforceToken>;
	/**
	 * Called after a 401 INVALID_SESSION_ID with the token that failed: returns a newer token
	 * (refreshing, or re-using one another caller already refreshed). Throws when it cannot.
	 */
	refreshToken(failed: SalesforceToken): Promise<SalesforceToken>;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface ApiRequest {
	method: HttpMethod;
	/**
	 * Path under `/services/data/vXX.X` (e.g. `/query`), a path from the instance root
	 * (starting with `/services/`, e.g. a `nextRecordsUrl`), or an absolute URL on the instance.
	 */
	path: string;
	query?: Record<string, string | number | undefined>;
	/** Sent as JSON. */
	body?: unknown;
	/** Extra headers, e.g. `Accept: text/csv`. */
	headers?: Record<string, string>;
	/** Return the body as a stream instead of reading it (Bulk API CSV results). */
	stream?: boolean;
	/**
	 * POST/PATCH are retried on 429/503/limit errors only when the caller says repeating the
	 * request is safe (a query job create, or a write guarded by an idempotency key).
	 */
	retrySafe?: boolean;
	/** The SOQL the request runs, shown in query errors. */
	soql?: string;
}

export interface ApiResponse {
	status: number;
	/** Lower-case header names. */
	headers: Record<string, string>;
	/** Parsed JSON body (absent for 204, streams and non-JSON bodies). */
	json?: unknown;
	/** Raw text body when it was not JSON and not streamed. */
	text?: string;
	/** With `stream: true`: the body, to be consumed by the caller. */
	stream?: Readable;
}

/** Where the sync and the API layer report progress and limits; n8n's logger fits. */
export interface SyncLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	info(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
}

export const silentLogger: SyncLogger = {
	debug: () => undefined,
	info: () => undefined,
	warn: () => undefined,
};

/** A Salesforce record flattened to one level: relationship fields as dotted keys (`Account.Name`). */
export type SalesforceRecord = Record<string, string | number | boolean | null>;

/** The API version used when none is configured. */
export const DEFAULT_API_VERSION = '62.0';

/** What the query, bulk and activity code need from the API layer (`SalesforceApi` implements it). */
export interface SalesforceRequester {
	/** e.g. `62.0`. */
	readonly apiVersion: string;
	/**
	 * Sends one request with the session's token. Refreshes once on 401 INVALID_SESSION_ID,
	 * backs off on 429/503/REQUEST_LIMIT_EXCEEDED (honouring Retry-After), counts the call,
	 * and throws `SalesforceApiError` for any other error status.
	 */
	request(request: ApiRequest): Promise<ApiResponse>;
}
