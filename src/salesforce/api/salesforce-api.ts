/**
 * Requests to one Salesforce org with a session's token, over an injected transport (n8n's
 * HTTP helper in the nodes, Node's fetch by default). It owns the failure rules every caller
 * needs: one refresh on an expired session, backoff on limits (honouring Retry-After),
 * Salesforce's error messages with the SOQL, API usage in the log.
 */
import { InvalidInputError } from '../../errors';
import { advertisedWaitMs, backoffMs, networkErrorCode, sleep } from '../../retry';
import {
	isDailyApiLimit,
	SalesforceApiError,
	SalesforceAuthError,
	SalesforceLimitError,
} from './errors';
import {
	fetchTransport,
	streamText,
	type SalesforceHttpResponse,
	type SalesforceTransport,
} from './transport';
import {
	DEFAULT_API_VERSION,
	silentLogger,
	type ApiRequest,
	type ApiResponse,
	type SalesforceRequester,
	type SalesforceSession,
	type SalesforceToken,
	type SyncLogger,
} from './types';

export interface SalesforceApiOptions {
	session: SalesforceSession;
	/** e.g. `62.0` (default `DEFAULT_API_VERSION`). */
	apiVersion?: string;
	logger?: SyncLogger;
	/** How requests are sent (n8n's HTTP helper in the nodes); default `fetchTransport(fetch)`. */
	transport?: SalesforceTransport;
	/** With no `transport`: the fetch the default transport uses (tests stub it). */
	fetch?: typeof fetch;
	sleep?: (ms: number) => Promise<void>;
	/** Attempts per request on limits, throttling and connection failures (default 5). */
	maxAttempts?: number;
	/** Longest single wait between attempts, ms (default 60 s). */
	maxBackoffMs?: number;
	now?: () => number;
}

/** Throttling answers (429 Too Many Requests, 503 Service Unavailable). */
const THROTTLED_STATUSES = new Set([429, 503]);
/** Gateway failures: a repeated GET usually succeeds. */
const TRANSIENT_STATUSES = new Set([502, 504]);
/** Methods that may be repeated without a caller's say-so. */
const IDEMPOTENT_METHODS = new Set(['GET', 'PUT', 'DELETE']);
const RETRYABLE_NETWORK_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'ETIMEDOUT',
	'EPIPE',
	'EAI_AGAIN',
	'UND_ERR_SOCKET',
	'UND_ERR_CONNECT_TIMEOUT',
	'UND_ERR_HEADERS_TIMEOUT',
	'UND_ERR_BODY_TIMEOUT',
]);
/** Usage share of the org's daily API limit above which a warning is logged (once). */
const USAGE_WARNING_SHARE = 0.8;

/** `api-usage=N/M` of a `Sforce-Limit-Info` header. */
export function parseLimitInfo(
	value: string | null | undefined,
): { used: number; limit: number } | undefined {
	// Not `per-app-api-usage=…`, which Salesforce may send in the same header.
	const usage = /(?:^|[\s,;])api-usage=(\d+)\/(\d+)/.exec(value ?? '');
	return usage ? { used: Number(usage[1]), limit: Number(usage[2]) } : undefined;
}

/** `[{errorCode, message}]` (REST), `{errorCode, message}` (Bulk), OAuth-style, or plain text. */
export function readSalesforceError(
	status: number,
	text: string,
): { errorCode: string; message: string } {
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		body = undefined;
	}
	const first: unknown = Array.isArray(body) ? body[0] : body;
	if (first && typeof first === 'object') {
		const record = first as Record<string, unknown>;
		const code = record.errorCode ?? record.error;
		const message = record.message ?? record.error_description;
		if (typeof code === 'string' || typeof message === 'string') {
			return {
				errorCode: typeof code === 'string' && code !== '' ? code : `HTTP_${status}`,
				message: typeof message === 'string' ? message : '',
			};
		}
	}
	const plain = text.trim().slice(0, 500);
	return { errorCode: `HTTP_${status}`, message: plain || `HTTP status ${status}` };
}

export class SalesforceApi implements SalesforceRequester {
	readonly apiVersion: string;
	/** HTTP requests sent to the instance, retries included (logins are not counted here). */
	callCount = 0;
	/** From the latest `Sforce-Limit-Info` header. */
	limitInfo: { used: number; limit: number } | undefined;
	private latestServerTime: number | undefined;
	private warnedUsage = false;
	/** Where tokens come from; a sync thread asks this session for them. */
	readonly session: SalesforceSession;
	private readonly logger: SyncLogger;
	/** How this client's requests are sent; sessions of the nodes use the same one. */
	readonly transport: SalesforceTransport;
	private readonly sleep: (ms: number) => Promise<void>;
	private readonly maxAttempts: number;
	private readonly maxBackoffMs: number;
	private readonly now: () => number;

	constructor(options: SalesforceApiOptions) {
		this.session = options.session;
		this.apiVersion = (options.apiVersion ?? DEFAULT_API_VERSION).replace(/^v/i, '');
		if (!/^\d{2,3}\.0$/.test(this.apiVersion)) {
			throw new InvalidInputError(
				'apiVersion',
				`"${options.apiVersion}" is not a Salesforce API version; use the form 62.0.`,
			);
		}
		this.logger = options.logger ?? silentLogger;
		this.transport = options.transport ?? fetchTransport(options.fetch);
		this.sleep = options.sleep ?? sleep;
		this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
		this.maxBackoffMs = Math.max(0, options.maxBackoffMs ?? 60_000);
		this.now = options.now ?? Date.now;
	}

	/** Logins for the session's credential in this process, when the session counts them. */
	get loginCount(): number | undefined {
		const count = (this.session as { loginCount?: unknown }).loginCount;
		return typeof count === 'number' ? count : undefined;
	}

	/** Salesforce's clock from the latest response's `Date` header, ms. */
	serverTime(): number | undefined {
		return this.latestServerTime;
	}

	/** The org and API version this client talks to, for caches shared between clients. */
	async orgScope(): Promise<string> {
		return `${(await this.session.getToken()).instanceUrl}|v${this.apiVersion}`;
	}

	async getJson<T>(path: string, query?: ApiRequest['query'], soql?: string): Promise<T> {
		const response = await this.request({ method: 'GET', path, query, soql });
		return response.json as T;
	}

	async request(request: ApiRequest): Promise<ApiResponse> {
		const label = `${request.method} ${request.path.split('?')[0]}`;
		const repeatable = IDEMPOTENT_METHODS.has(request.method) || request.retrySafe === true;
		let token = await this.session.getToken();
		let refreshed = false;
		for (let attempt = 1; ; attempt++) {
			let response: SalesforceHttpResponse;
			try {
				response = await this.send(request, token);
			} catch (error) {
				if (error instanceof InvalidInputError) throw error;
				const code = networkErrorCode(error) ?? 'NETWORK_ERROR';
				if (repeatable && RETRYABLE_NETWORK_CODES.has(code) && attempt < this.maxAttempts) {
					const wait = this.backoff(attempt);
					this.logger.warn(
						`Salesforce connection failed (${code}); waiting ${formatSeconds(wait)} before retry ${attempt + 1}/${this.maxAttempts} (${label})`,
						{ request: label, errorCode: code, waitMs: wait, attempt: attempt + 1 },
					);
					await this.sleep(wait);
					continue;
				}
				throw new SalesforceApiError(
					0,
					code,
					(error as Error).message ?? String(error),
					label,
					request.soql,
					{ cause: error },
				);
			}
			this.observe(response);
			if (response.status >= 200 && response.status < 300) return await this.read(response);

			const { errorCode, message } = readSalesforceError(
				response.status,
				response.text ?? (response.stream ? await streamText(response.stream) : ''),
			);

			if (response.status === 401 && errorCode === 'INVALID_SESSION_ID') {
				if (refreshed) {
					throw new SalesforceAuthError(
						this.session.description,
						`${errorCode}: ${message}`,
						'Salesforce refused a freshly issued token too: check that the user is active and has the "API Enabled" permission, and that the connected app allows this user.',
					);
				}
				this.logger.info(`Salesforce session expired; refreshing the token once (${label})`, {
					request: label,
				});
				token = await this.session.refreshToken(token);
				refreshed = true;
				// The refresh is not a throttling attempt: the retry gets the attempt back.
				attempt--;
				continue;
			}

			if (isDailyApiLimit(errorCode, message)) {
				// Frees only as the last 24 hours' requests age out: waiting a minute cannot help.
				throw new SalesforceLimitError(errorCode, message, attempt, {
					status: response.status,
					request: label,
					usage: this.limitInfo,
				});
			}
			const limited =
				errorCode === 'REQUEST_LIMIT_EXCEEDED' || THROTTLED_STATUSES.has(response.status);
			const transient = TRANSIENT_STATUSES.has(response.status);
			if ((limited || transient) && repeatable && attempt < this.maxAttempts) {
				const wait = this.waitBefore(response, attempt);
				const why =
					errorCode === 'REQUEST_LIMIT_EXCEEDED'
						? `Salesforce API limit reached (${errorCode})`
						: limited
							? `Salesforce is throttling requests (${response.status} ${errorCode})`
							: `Salesforce gateway error (${response.status} ${errorCode})`;
				this.logger.warn(
					`${why}; waiting ${formatSeconds(wait)} before retry ${attempt + 1}/${this.maxAttempts} (${label})`,
					{
						request: label,
						status: response.status,
						errorCode,
						waitMs: wait,
						attempt: attempt + 1,
						maxAttempts: this.maxAttempts,
					},
				);
				await this.sleep(wait);
				continue;
			}
			if (limited) {
				throw new SalesforceLimitError(errorCode, message, attempt, {
					status: response.status,
					request: label,
					retryAfterMs: this.retryAfter(response),
					notRetried: repeatable
						? undefined
						: `${request.method} is only repeated when the caller marks it safe to repeat, since a repeated write could apply twice`,
				});
			}
			throw new SalesforceApiError(response.status, errorCode, message, label, request.soql);
		}
	}

	/** Retry-After when Salesforce sent one, else full-jitter backoff from 1 s; capped. */
	private waitBefore(response: SalesforceHttpResponse, attempt: number): number {
		return Math.min(this.retryAfter(response) ?? this.backoff(attempt), this.maxBackoffMs);
	}

	/** What the answer advertises (the package's one rule), measured against Salesforce's clock. */
	private retryAfter(response: SalesforceHttpResponse): number | undefined {
		const date = Date.parse(response.headers.date ?? '');
		return advertisedWaitMs(
			response.status,
			(name) => response.headers[name],
			Number.isFinite(date) ? date : this.now(),
		);
	}

	private backoff(attempt: number): number {
		return backoffMs(attempt, { baseDelayMs: 1000, maxDelayMs: this.maxBackoffMs });
	}

	private url(request: ApiRequest, token: SalesforceToken): string {
		const instance = token.instanceUrl.replace(/\/+$/, '');
		let url: string;
		if (/^https?:\/\//i.test(request.path)) {
			if (new URL(request.path).origin !== new URL(instance).origin) {
				throw new InvalidInputError(
					'path',
					`${request.path} is not on the org's instance ${instance}; only the org's own URLs get its token.`,
				);
			}
			url = request.path;
		} else if (request.path.startsWith('/services/')) {
			url = instance + request.path;
		} else {
			const path = request.path.startsWith('/') ? request.path : `/${request.path}`;
			url = `${instance}/services/data/v${this.apiVersion}${path}`;
		}
		const query = Object.entries(request.query ?? {}).filter(([, value]) => value !== undefined);
		if (query.length === 0) return url;
		const params = new URLSearchParams(
			query.map(([key, value]): [string, string] => [key, String(value)]),
		);
		return `${url}${url.includes('?') ? '&' : '?'}${params.toString()}`;
	}

	private async send(request: ApiRequest, token: SalesforceToken): Promise<SalesforceHttpResponse> {
		// Lower-case names, so a caller's `accept` replaces the default instead of joining it.
		const headers: Record<string, string> = { accept: 'application/json' };
		for (const [name, value] of Object.entries(request.headers ?? {})) {
			headers[name.toLowerCase()] = value;
		}
		headers.authorization = `Bearer ${token.accessToken}`;
		let body: string | undefined;
		if (request.body !== undefined) {
			const contentType = headers['content-type'];
			if (typeof request.body === 'string' && contentType && !contentType.includes('json')) {
				body = request.body;
			} else {
				body = JSON.stringify(request.body);
				headers['content-type'] ??= 'application/json';
			}
		}
		const url = this.url(request, token);
		this.callCount++;
		return await this.transport({
			method: request.method,
			url,
			headers,
			body,
			responseType: request.stream === true ? 'stream' : 'text',
		});
	}

	private observe(response: SalesforceHttpResponse): void {
		const date = Date.parse(response.headers.date ?? '');
		if (Number.isFinite(date)) this.latestServerTime = date;
		const usage = parseLimitInfo(response.headers['sforce-limit-info']);
		if (!usage) return;
		this.limitInfo = usage;
		this.logger.debug(`Salesforce API usage ${usage.used}/${usage.limit}`, { ...usage });
		if (!this.warnedUsage && usage.limit > 0 && usage.used / usage.limit > USAGE_WARNING_SHARE) {
			this.warnedUsage = true;
			this.logger.warn(
				`Salesforce API usage is above ${USAGE_WARNING_SHARE * 100}% of the org's daily limit (${usage.used}/${usage.limit}); when it runs out, every integration of the org gets REQUEST_LIMIT_EXCEEDED`,
				{ ...usage },
			);
		}
	}

	private async read(response: SalesforceHttpResponse): Promise<ApiResponse> {
		const headers = response.headers;
		if (response.stream) return { status: response.status, headers, stream: response.stream };
		const text = response.text ?? '';
		if (response.status === 204 || text === '') return { status: response.status, headers };
		if ((headers['content-type'] ?? '').includes('json')) {
			try {
				return { status: response.status, headers, json: JSON.parse(text) as unknown };
			} catch {
				// Declared JSON but not parseable: hand over the text.
			}
		}
		return { status: response.status, headers, text };
	}
}

function formatSeconds(ms: number): string {
	const seconds = ms / 1000;
	return `${seconds >= 10 || Number.isInteger(seconds) ? Math.round(seconds) : seconds.toFixed(1)} s`;
}
