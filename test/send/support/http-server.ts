import {
	createServer,
	request as httpRequest,
	type IncomingHttpHeaders,
	type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';

import { NoAnswerError } from '../../../src/retry';
import type { HttpRequest, HttpResponse, HttpTransport } from '../../../src/send/channel';

/** One request as the local server received it. */
export interface ReceivedRequest {
	method: string;
	/** Path and query. */
	url: string;
	headers: IncomingHttpHeaders;
	/** The raw body text ('' when none). */
	body: string;
}

export interface ScriptedAnswer {
	status: number;
	headers?: Record<string, string>;
	/** Sent as JSON unless it is a string. */
	body?: unknown;
	/** Closes the connection after reading the request, without answering. */
	drop?: boolean;
}

/**
 * A provider stand-in on 127.0.0.1: records every request and answers from a script, one
 * answer per request in order (the last one repeats).
 */
export async function startRecordingServer(answers: ScriptedAnswer[]): Promise<{
	baseUrl: string;
	received: ReceivedRequest[];
	close: () => Promise<void>;
}> {
	const received: ReceivedRequest[] = [];
	const server: Server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			received.push({
				method: req.method ?? '',
				url: req.url ?? '',
				headers: req.headers,
				body: Buffer.concat(chunks).toString('utf8'),
			});
			const answer = answers[Math.min(received.length, answers.length) - 1];
			if (answer.drop) {
				req.socket.destroy();
				return;
			}
			const body =
				answer.body === undefined
					? ''
					: typeof answer.body === 'string'
						? answer.body
						: JSON.stringify(answer.body);
			res.writeHead(answer.status, {
				...(typeof answer.body === 'string' ? {} : { 'content-type': 'application/json' }),
				...answer.headers,
			});
			res.end(body);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		baseUrl: `http://127.0.0.1:${port}`,
		received,
		close: () =>
			new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
	};
}

/**
 * An HttpTransport on node:http, as the n8n helpers behave for the engine: JSON bodies are
 * encoded, JSON answers decoded (other text is kept as text), header names lower-cased. A
 * failure without an answer says whether the request had been written out (`uncertain`) or
 * not (`notSent`), as the transport contract allows.
 */
export const nodeHttpTransport: HttpTransport = (request: HttpRequest) =>
	new Promise<HttpResponse>((resolve, reject) => {
		const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
		const req = httpRequest(
			request.url,
			{
				method: request.method,
				headers: {
					...request.headers,
					...(payload === undefined
						? {}
						: { 'content-length': String(Buffer.byteLength(payload)) }),
				},
			},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('end', () => {
					const text = Buffer.concat(chunks).toString('utf8');
					let body: unknown = text;
					if ((res.headers['content-type'] ?? '').includes('json') && text !== '') {
						body = JSON.parse(text) as unknown;
					}
					const headers: Record<string, string> = {};
					for (const [name, value] of Object.entries(res.headers)) {
						if (value !== undefined)
							headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
					}
					resolve({ status: res.statusCode ?? 0, headers, body });
				});
				res.on('error', reject);
			},
		);
		let written = false;
		req.on('finish', () => {
			written = true;
		});
		req.on('error', (error) =>
			reject(new NoAnswerError(error.message, written ? 'uncertain' : 'notSent', { cause: error })),
		);
		req.end(payload);
	});
