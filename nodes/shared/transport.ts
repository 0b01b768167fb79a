import type { IExecuteFunctions, IHttpRequestMethods, IHttpRequestOptions } from 'n8n-workflow';

import type { HttpRequest, HttpResponse, HttpTransport } from '../../src';

/**
 * The engine's channels speak through this: n8n's own HTTP helpers (proxy settings, logging),
 * optionally signed by an n8n credential. Statuses come back as answers, never as throws.
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
		const response = credentialType
			? await context.helpers.httpRequestWithAuthentication.call(context, credentialType, options)
			: await context.helpers.httpRequest(options);
		const headers: Record<string, string> = {};
		for (const [name, value] of Object.entries(
			(response.headers ?? {}) as Record<string, unknown>,
		)) {
			headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
		}
		return { status: Number(response.statusCode), headers, body: response.body };
	};
}
