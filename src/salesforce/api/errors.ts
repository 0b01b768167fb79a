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
 * `REQUEST_LIMIT_EXCEEDED` for the org's daily allowance ("TotalRequests Limit exceeded"), as
 * opposed to the concurrent long-request limit, which frees within seconds.
 */
export function isDailyApiLimit(errorCode: string, message: string): boolean {
	return errorCode === 'REQUEST_LIMIT_EXCEEDED' && /TotalRequests/i.test(message);
}

/**
 * Salesforce's limits outlasted the backoff: the org's concurrent request limit
 * (403 REQUEST_LIMIT_EXCEEDED) or throttling (429, 503). Thrown at once for the org's daily
 * API allowance, which frees only as the last 24 hours' requests age out, and for a write
 * that is not safe to repeat.
 */
export class SalesforceLimitError extends CampaignError {
	/** HTTP status of the last answer (403, 429 or 503). */
	readonly status: number | undefined;
	/** How long Salesforce asked to wait (Retry-After), ms. */
	readonly retryAfterMs: number | undefined;
	/** The org's daily API allowance is used up: no retry in this run can succeed. */
	readonly daily: boolean;

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
			/** The latest `Sforce-Limit-Info` usage, shown with a daily limit. */
			usage?: { used: number; limit: number };
		} = {},
	) {
		super(
			'salesforce_limit',
			SalesforceLimitError.describe(errorCode, salesforceMessage, attempts, options),
		);
		this.status = options.status;
		this.retryAfterMs = options.retryAfterMs;
		this.daily = isDailyApiLimit(errorCode, salesforceMessage);
	}

	private static describe(
		errorCode: string,
		message: string,
		attempts: number,
		options: {
			status?: number;
			request?: string;
			retryAfterMs?: number;
			notRetried?: string;
			usage?: { used: number; limit: number };
		},
	): string {
		const on = options.request ? ` on ${options.request}` : '';
		if (isDailyApiLimit(errorCode, message)) {
			const usage = options.usage
				? ` (${options.usage.used.toLocaleString('en-US')} of ${options.usage.limit.toLocaleString('en-US')} used)`
				: '';
			return `Salesforce's daily API request limit for the org is used up${usage} (${errorCode})${on}: ${message}. Not retried: the limit counts the requests of the last 24 hours, so requests free up only as those of 24 hours ago leave that window, which retries within minutes cannot wait for. Check Setup → Company Information → API Requests, Last 24 Hours (and which integrations use them); the next poll tries again, or poll segments less often.`;
		}
		const orgLimit = errorCode === 'REQUEST_LIMIT_EXCEEDED';
		const status = options.status ? `${options.status} ` : '';
		const what = orgLimit
			? `Salesforce's request limit for the org was reached (${errorCode})`
			: `Salesforce is throttling requests (${status}${errorCode})`;
		const tried = options.notRetried
			? `Not retried: ${options.notRetried}.`
			: `Still refused after ${attempts} attempts with backoff.`;
		const wait =
			options.retryAfterMs !== undefined
				? ` Salesforce asked to wait ${Math.ceil(options.retryAfterMs / 1000)} s.`
				: '';
		const when = orgLimit
			? " This limit (e.g. concurrent long-running requests) frees within minutes: the next poll retries by itself; if it persists, check the org's other integrations."
			: ' Retry in a few minutes; the next poll does so by itself.';
		return `${what}${on}: ${message || 'no message'}. ${tried}${wait}${when}`;
	}
}
