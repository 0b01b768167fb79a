import type {
	IExecuteFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	IN8nHttpFullResponse,
} from 'n8n-workflow';
import { Readable } from 'node:stream';

import {
	NoAnswerError,
	noAnswerKind,
	streamText,
	type HttpRequest,
	type HttpResponse,
	type HttpTransport,
	type SalesforceHttpResponse,
	type SalesforceTransport,
} from '../../src';

/**
 * The engine's channels speak through this: n8n's own HTTP helpers (proxy settings, logging),
 * optionally signed by an n8n credential. Statuses come back as answers, never as throws; a
 * failure without an answer becomes a `NoAnswerError` saying whether the request may have
 * reached the server, read from the code axios (under n8n's helpers) keeps: a refused
 * connection or an unknown host was never sent, a reset or a timeout may have been.
 */
export function n8nTransport(context: IExecuteFunctions, credentialType?: string): HttpTransport {
	return async (request: HttpRequest): Promise<HttpResponse> => {
		const options: IHttpRequestOptions = {
			method: request.method as IHttpRequestMethods,
			url: request.url,
			headers: request.headers,
			body: request.body as IHttpRequestOptions['body'],
			json: true,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		};
		let response: { statusCode?: unknown; headers?: unknown; body?: unknown };
		try {
			response = credentialType
				? await context.helpers.httpRequestWithAuthentication.call(context, credentialType, options)
				: await context.helpers.httpRequest(options);
		} catch (error) {
			// Not a node error: the engine's retry policy reads it (and its cause) to decide.
			// eslint-disable-next-line @n8n/community-nodes/require-node-api-error
			throw new NoAnswerError((error as Error)?.message ?? String(error), noAnswerKind(error), {
				cause: error,
			});
		}
		return {
			status: Number(response.statusCode),
			headers: lowerCaseHeaders(response.headers),
			body: response.body,
		};
	};
}

function lowerCaseHeaders(raw: unknown): Record<string, string> {
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
		if (value === undefined || value === null) continue;
		headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
	}
	return headers;
}

function bodyText(body: unknown): string {
	if (body === undefined || body === null) return '';
	if (typeof body === 'string') return body;
	if (Buffer.isBuffer(body)) return body.toString('utf8');
	return JSON.stringify(body);
}

/** n8n's `helpers.httpRequest` as the nodes' contexts have it. */
type N8nHttpRequest = (options: IHttpRequestOptions) => Promise<unknown>;

/**
 * Salesforce's requests through n8n's `helpers.httpRequest`, so n8n's proxy and outbound
 * settings apply: bodies go as the engine wrote them, answers come back as text (never parsed
 * by n8n, so errors keep Salesforce's wording) or, for Bulk results, as a stream.
 */
export function n8nSalesforceTransport(httpRequest: N8nHttpRequest): SalesforceTransport {
	return async (request): Promise<SalesforceHttpResponse> => {
		const stream = request.responseType === 'stream';
		const response = (await httpRequest({
			method: request.method as IHttpRequestMethods,
			url: request.url,
			headers: request.headers,
			body: request.body,
			json: false,
			encoding: stream ? 'stream' : 'text',
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		})) as IN8nHttpFullResponse;
		const status = Number(response.statusCode);
		const headers = lowerCaseHeaders(response.headers);
		const body = response.body as unknown;
		if (stream && body instanceof Readable) {
			if (status >= 200 && status < 300) return { status, headers, stream: body };
			return { status, headers, text: await streamText(body) };
		}
		return { status, headers, text: bodyText(body) };
	};
}

/** n8n's legacy `helpers.request`, the only HTTP helper a credential test gets. */
type N8nLegacyRequest = (options: object) => Promise<unknown>;

/** Salesforce's requests of a credential test, through n8n's legacy request helper. */
export function n8nLegacySalesforceTransport(request: N8nLegacyRequest): SalesforceTransport {
	return async (outgoing): Promise<SalesforceHttpResponse> => {
		const response = (await request({
			method: outgoing.method,
			uri: outgoing.url,
			headers: outgoing.headers,
			body: outgoing.body,
			json: false,
			simple: false,
			resolveWithFullResponse: true,
		})) as { statusCode?: unknown; headers?: unknown; body?: unknown };
		return {
			status: Number(response.statusCode),
			headers: lowerCaseHeaders(response.headers),
			text: bodyText(response.body),
		};
	};
}
