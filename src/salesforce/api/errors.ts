/** Errors of the Salesforce layer; each names what went wrong and what to check. */
import { CampaignError } from '../../errors';

/** Error codes of a SOQL statement Salesforce could not run: the message shows the SOQL. */
const QUERY_ERRORS = new Set([
	'MALFORMED_QUERY',
	'INVALID_FIELD',
	'INVALID_TYPE',
	'INVALID_QUERY_FILTER_OPERATOR',
]);

/** Salesforce answered a request with an error status (status 0: it could not be reached). */
export class SalesforceApiError extends CampaignError {
	constructor(
		readonly status: number,
		readonly errorCode: string,
		readonly salesforceMessage: string,
		/** e.g. `GET /query`. */
		readonly request: string,
		readonly soql?: string,
		options?: { cause?: unknown },
	) {
		super(
			'salesforce_api',
			SalesforceApiError.describe(status, errorCode, salesforceMessage, request, soql),
		);
		if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
	}

	private static describe(
		status: number,
		errorCode: string,
		message: string,
		request: string,
		soql?: string,
	): string {
		if (QUERY_ERRORS.has(errorCode)) {
			return `Salesforce rejected the query (${errorCode}): ${message}\nSOQL: ${soql ?? '(not known)'}\nCheck the object and field API names (Setup → Object Manager; custom ones end in __c) and the condition's syntax.`;
		}
		const base =
			status === 0
				? `Could not reach Salesforce for ${request} (${errorCode}): ${message}`
				: `Salesforce answered ${status} ${errorCode} to ${request}: ${message}`;
		return soql ? `${base}\nSOQL: ${soql}` : base;
	}
}

/** Logging in failed: the message says which flow, Salesforce's error, and what to check. */
export class SalesforceAuthError extends CampaignError {
	constructor(
		/** e.g. `OAuth 2.0 username-password for ops@acme.com`. */
		readonly flow: string,
		/** Salesforce's `error: error_description` (or the transport's error). */
		readonly salesforceError: string,
		hint: string,
		options?: { cause?: unknown },
	) {
		// Salesforce's descriptions often end in a period already.
		super(
			'salesforce_auth',
			`Salesforce login (${flow}) failed: ${salesforceError.trim().replace(/[.\s]+$/, '')}. ${hint}`,
		);
		if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
	}
}

/**
 * Salesforce's limits outlasted the backoff: the org's API request limit
 * (403 REQUEST_LIMIT_EXCEEDED) or throttling (429, 503). Also thrown at once for a write that
 * is not safe to repeat.
 */
export class SalesforceLimitError extends CampaignError {
	/** HTTP status of the last answer (403, 429 or 503). */
	readonly status: number | undefined;
	/** How long Salesforce asked to wait (Retry-After), ms. */
	readonly retryAfterMs: number | undefined;

	constructor(
		readonly errorCode: string,
		readonly salesforceMessage: string,
		readonly attempts: number,
		options: {
			/** HTTP status of the last answer. */
			status?: number;
			/** e.g. `GET /query`. */
			request?: string;
			/** How long Salesforce asked to wait (Retry-After), ms. */
			retryAfterMs?: number;
			/** Set when the request was not retried, and why. */
			notRetried?: string;
		} = {},
	) {
		super(
			'salesforce_limit',
			SalesforceLimitError.describe(errorCode, salesforceMessage, attempts, options),
		);
		this.status = options.status;
		this.retryAfterMs = options.retryAfterMs;
	}

	private static describe(
		errorCode: string,
		message: string,
		attempts: number,
		options: { status?: number; request?: string; retryAfterMs?: number; notRetried?: string },
	): string {
		const orgLimit = errorCode === 'REQUEST_LIMIT_EXCEEDED';
		const status = options.status ? `${options.status} ` : '';
		const what = orgLimit
			? `Salesforce's API request limit for the org is used up (${errorCode})`
			: `Salesforce is throttling requests (${status}${errorCode})`;
		const on = options.request ? ` on ${options.request}` : '';
		const tried = options.notRetried
			? `Not retried: ${options.notRetried}.`
			: `Still refused after ${attempts} attempts with backoff.`;
		const wait =
			options.retryAfterMs !== undefined
				? ` Salesforce asked to wait ${Math.ceil(options.retryAfterMs / 1000)} s.`
				: '';
		const when = orgLimit
			? ' The limit counts the last 24 hours (Setup → Company Information → API Requests, Last 24 Hours): retry in an hour or later, or reduce how often segments are polled.'
			: ' Retry in a few minutes; the next poll does so by itself.';
		return `${what}${on}: ${message || 'no message'}. ${tried}${wait}${when}`;
	}
}
