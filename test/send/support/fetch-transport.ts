import type { HttpRequest, HttpResponse, HttpTransport } from '../../../src/send/channel';

/** A real HTTP transport on Node's fetch, as the channels' contract describes it. */
export const fetchTransport: HttpTransport = async (
	request: HttpRequest,
): Promise<HttpResponse> => {
	const response = await fetch(request.url, {
		method: request.method,
		headers: request.headers,
		body: request.body === undefined ? undefined : JSON.stringify(request.body),
	});
	const headers: Record<string, string> = {};
	response.headers.forEach((value, name) => {
		headers[name.toLowerCase()] = value;
	});
	const text = await response.text();
	let body: unknown = text;
	if (text && (headers['content-type'] ?? '').includes('json')) {
		try {
			body = JSON.parse(text);
		} catch {
			body = text;
		}
	}
	return { status: response.status, headers, body };
};
