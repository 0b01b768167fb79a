import { STATUS_CODES } from 'node:http';

import { InvalidInputError } from '../errors';
import type {
	HttpRequest,
	HttpResponse,
	HttpTransport,
	MessageChannel,
	RenderedMessage,
	SendOutcome,
} from './channel';
import { sendWithRetries, type RetryOptions } from './retry';

export interface HttpChannelOptions {
	/** Channel name (caps count by it); default `http`. */
	name?: string;
	method: HttpRequest['method'];
	/** Already rendered. */
	url: string;
	/** Already rendered. */
	headers: Record<string, string>;
	/** Already rendered JSON; not sent with GET. */
	body?: unknown;
	/**
	 * e.g. `Idempotency-Key`: the message's idempotency key is sent in this header. The
	 * provider then drops repeats, so a request that may have reached it is retried; without
	 * it such a request follows `retry.uncertainDelivery` (default: Failed, delivery unknown).
	 */
	idempotencyHeader?: string;
	/** Dot path to the provider's message id in the JSON answer: `id`, `data.message_id`, `messages.0.id`. */
	providerMessageIdPath?: string;
	/** Retries (429, 5xx, no answer) and `uncertainDelivery`: see `src/retry/`. */
	retry?: RetryOptions;
}

const METHODS = new Set(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']);
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ERROR_TEXT_MAX = 300;

function checkHeader(name: string, value: unknown, field: string): void {
	if (!HEADER_NAME.test(name)) {
		throw new InvalidInputError(field, `"${name}" is not a valid header name.`);
	}
	if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
		throw new InvalidInputError(
			`${field}.${name}`,
			'must be text on one line (a header value cannot hold line breaks).',
		);
	}
}

/** Reads a dot path (`data.items.0.id`, also `data.items[0].id`) from a JSON value. */
export function readJsonPath(value: unknown, path: string): unknown {
	const parts = path
		.replace(/\[(\d+)\]/g, '.$1')
		.split('.')
		.filter((part) => part !== '');
	let current = value;
	for (const part of parts) {
		if (current === null || typeof current !== 'object') return undefined;
		if (!Object.prototype.hasOwnProperty.call(current, part)) return undefined;
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}

/** A JSON body the transport left as text is read as JSON when it is. */
function jsonOf(body: unknown): unknown {
	if (typeof body !== 'string') return body;
	try {
		return JSON.parse(body) as unknown;
	} catch {
		return body;
	}
}

const text = (value: unknown): string | undefined =>
	typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const truncate = (value: string): string =>
	value.length > ERROR_TEXT_MAX ? `${value.slice(0, ERROR_TEXT_MAX)}…` : value;

/**
 * The provider's explanation of a failed answer, best effort: `error.message`, `error`
 * (text), `message`, `errors[0].message` (or `errors[0]` as text), `error_description`,
 * `detail`, `title`; else the status text and the start of the body.
 */
export function providerErrorText(response: HttpResponse): string {
	const body = jsonOf(response.body);
	const errors = readJsonPath(body, 'errors');
	const firstError = Array.isArray(errors) ? errors[0] : undefined;
	const found =
		text(readJsonPath(body, 'error.message')) ??
		text(readJsonPath(body, 'error')) ??
		text(readJsonPath(body, 'message')) ??
		text(readJsonPath(firstError, 'message')) ??
		text(firstError) ??
		text(readJsonPath(body, 'error_description')) ??
		text(readJsonPath(body, 'detail')) ??
		text(readJsonPath(body, 'title'));
	if (found) return truncate(found);
	const status = `HTTP ${response.status}${STATUS_CODES[response.status] ? ` ${STATUS_CODES[response.status]}` : ''}`;
	if (body === undefined || body === null || body === '') return status;
	const raw = typeof body === 'string' ? body : JSON.stringify(body);
	return raw && raw !== '{}' ? `${status}: ${truncate(raw)}` : status;
}

/**
 * A channel for any provider with an HTTP API: one request per message, built from the
 * already rendered URL, headers and JSON body, sent through {@link sendWithRetries} (429 waits
 * as the provider says, 5xx and network errors back off, other 4xx fail at once). A request
 * that may have reached the provider without an answer is sent again only when the provider
 * gets the idempotency key (or `retry.uncertainDelivery` is 'retry'); otherwise it fails as
 * `deliveryUnknown`.
 *
 * A 2xx answer is a send, with the provider's message id read at `providerMessageIdPath`
 * (numbers become text; no id there is still a send). Anything else is a failure carrying
 * the provider's error text ({@link providerErrorText}) and, after retries, why they stopped.
 *
 * `content-type: application/json` is added when a body is sent and no content type is set;
 * the idempotency header replaces any header of the same name. Header names and values are
 * checked when the channel is created, so a rendered value cannot inject headers.
 */
export function createHttpChannel(options: HttpChannelOptions): MessageChannel {
	const name = options.name?.trim() || 'http';
	if (!METHODS.has(options.method)) {
		throw new InvalidInputError(
			'method',
			`must be one of POST, PUT, PATCH, GET, DELETE (got ${String(options.method)}).`,
		);
	}
	let url: URL;
	try {
		url = new URL(options.url);
	} catch {
		throw new InvalidInputError('url', `is not a valid URL (got ${JSON.stringify(options.url)}).`);
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') {
		throw new InvalidInputError(
			'url',
			`must start with https:// or http:// (got ${url.protocol}).`,
		);
	}
	const headers: Record<string, string> = {};
	for (const [header, value] of Object.entries(options.headers ?? {})) {
		checkHeader(header, value, 'headers');
		headers[header] = value;
	}
	const idempotencyHeader = options.idempotencyHeader?.trim() || undefined;
	if (idempotencyHeader) checkHeader(idempotencyHeader, '', 'idempotencyHeader');
	const hasBody = options.body !== undefined && options.method !== 'GET';
	const hasHeader = (lower: string): boolean =>
		Object.keys(headers).some((header) => header.toLowerCase() === lower);
	if (hasBody && !hasHeader('content-type')) headers['content-type'] = 'application/json';
	const idPath = options.providerMessageIdPath?.trim() || undefined;

	return {
		name,
		async send(message: RenderedMessage, transport: HttpTransport): Promise<SendOutcome> {
			const requestHeaders = { ...headers };
			if (idempotencyHeader) {
				checkHeader(idempotencyHeader, message.idempotencyKey, 'idempotencyKey');
				for (const header of Object.keys(requestHeaders)) {
					if (header.toLowerCase() === idempotencyHeader.toLowerCase())
						delete requestHeaders[header];
				}
				requestHeaders[idempotencyHeader] = message.idempotencyKey;
			}
			const request: HttpRequest = {
				method: options.method,
				url: options.url,
				headers: requestHeaders,
			};
			if (hasBody) request.body = options.body;

			// With the key in a header the provider drops repeats: sending again is harmless.
			const result = await sendWithRetries(transport, request, {
				...options.retry,
				repeatable: idempotencyHeader !== undefined,
			});
			const { response } = result;
			const uncertain = result.deliveryUnknown ? { deliveryUnknown: true as const } : {};
			if (!response) {
				return {
					ok: false,
					error: result.error ?? 'no answer from the provider',
					request,
					attempts: result.attempts,
					...uncertain,
				};
			}
			if (response.status >= 200 && response.status < 300) {
				const id = idPath ? readJsonPath(jsonOf(response.body), idPath) : undefined;
				return {
					ok: true,
					providerMessageId:
						typeof id === 'string' && id !== ''
							? id
							: typeof id === 'number' || typeof id === 'bigint'
								? String(id)
								: undefined,
					request,
					attempts: result.attempts,
				};
			}
			// Why the retries stopped, when they did (exhausted, or a wait beyond the cap).
			const retryNote = result.error ? ` (${result.error})` : '';
			return {
				ok: false,
				status: response.status,
				error: `${providerErrorText(response)}${retryNote}`,
				request,
				attempts: result.attempts,
				...uncertain,
			};
		},
	};
}
