import type { IExecuteFunctions, IHttpRequestMethods, IHttpRequestOptions } from 'n8n-workflow';

import {
	NoAnswerError,
	noAnswerKind,
	type HttpRequest,
	type HttpResponse,
	type HttpTransport,
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
		const headers: Record<string, string> = {};
		for (const [name, value] of Object.entries(
			(response.headers ?? {}) as Record<string, unknown>,
		)) {
			headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
		}
		return { status: Number(response.statusCode), headers, body: response.body };
	};
}
