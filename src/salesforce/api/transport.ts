/**
 * How every Salesforce request (API calls, Bulk results, logins) leaves the process: an
 * injected transport, as the send channels have (`src/send/channel.ts`). The n8n nodes fill
 * it with n8n's HTTP helper, so n8n's proxy and outbound settings apply; outside n8n (the
 * demo, the benchmarks) it defaults to Node's fetch.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export interface SalesforceHttpRequest {
	method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
	url: string;
	headers: Record<string, string>;
	/** Sent as is; the caller sets the matching `content-type`. */
	body?: string;
	/** `stream`: the answer's body comes back unread, for the caller to consume (Bulk CSV). */
	responseType?: 'text' | 'stream';
}

export interface SalesforceHttpResponse {
	status: number;
	/** Lower-case header names. */
	headers: Record<string, string>;
	/** The body as text (`responseType: 'text'`, and error answers of stream requests). */
	text?: string;
	/** The body with `responseType: 'stream'` and a 2xx status. */
	stream?: Readable;
}

/**
 * Sends one request; resolves with every HTTP status (errors are answers) and rejects only
 * when no answer arrived, with the connection error's code on the error or its `cause`.
 */
export type SalesforceTransport = (
	request: SalesforceHttpRequest,
) => Promise<SalesforceHttpResponse>;

/** Reads a stream answer to the end as text (an error answer of a stream request). */
export async function streamText(stream: Readable): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) {
		chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
	}
	return Buffer.concat(chunks).toString('utf8');
}

/** The transport over Node's fetch (or a given fetch): the default outside n8n. */
export function fetchTransport(fetchImpl: typeof fetch = (input, init) => fetch(input, init)) {
	const transport: SalesforceTransport = async (request) => {
		const response = await fetchImpl(request.url, {
			method: request.method,
			headers: request.headers,
			body: request.body,
		});
		const headers: Record<string, string> = {};
		response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
		if (request.responseType === 'stream' && response.ok) {
			const stream = response.body
				? Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>)
				: Readable.from([]);
			return { status: response.status, headers, stream };
		}
		return { status: response.status, headers, text: await response.text() };
	};
	return transport;
}
