import axios from 'axios';
import type { IExecuteFunctions, IHttpRequestOptions } from 'n8n-workflow';

import { NoAnswerError } from '../../src';
import { n8nTransport } from '../../nodes/shared/transport';
import { startRecordingServer } from '../send/support/http-server';

/** n8n's httpRequest helper runs on axios and rethrows its errors: the same here. */
function axiosContext(): IExecuteFunctions {
	const httpRequest = async (options: IHttpRequestOptions) => {
		const response = await axios.request({
			method: options.method,
			url: options.url,
			headers: options.headers as Record<string, string>,
			data: options.body,
			validateStatus: () => true,
		});
		return { statusCode: response.status, headers: response.headers, body: response.data };
	};
	return { helpers: { httpRequest } } as unknown as IExecuteFunctions;
}

const request = (url: string) => ({
	method: 'POST' as const,
	url,
	headers: { 'content-type': 'application/json' },
	body: { text: 'hi' },
});

describe('n8nTransport says whether a request without an answer may have arrived', () => {
	it('a connection broken after the request was sent: uncertain', async () => {
		const server = await startRecordingServer([{ status: 0, drop: true }]);
		try {
			const failure = await n8nTransport(axiosContext())(request(`${server.baseUrl}/m`)).then(
				() => undefined,
				(error: unknown) => error,
			);
			expect(failure).toBeInstanceOf(NoAnswerError);
			expect(failure).toMatchObject({ kind: 'uncertain', code: 'ECONNRESET' });
			expect(server.received).toHaveLength(1);
		} finally {
			await server.close();
		}
	});

	it('a refused connection: not sent', async () => {
		const server = await startRecordingServer([{ status: 200 }]);
		await server.close();
		const failure = await n8nTransport(axiosContext())(request(`${server.baseUrl}/m`)).then(
			() => undefined,
			(error: unknown) => error,
		);
		expect(failure).toBeInstanceOf(NoAnswerError);
		expect(failure).toMatchObject({ kind: 'notSent', code: 'ECONNREFUSED' });
	});

	it('statuses are answers, not failures', async () => {
		const server = await startRecordingServer([{ status: 503, body: { message: 'busy' } }]);
		try {
			const response = await n8nTransport(axiosContext())(request(`${server.baseUrl}/m`));
			expect(response).toMatchObject({ status: 503, body: { message: 'busy' } });
		} finally {
			await server.close();
		}
	});
});
