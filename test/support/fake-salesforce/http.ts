/** Small HTTP helpers shared by the route handlers. */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

import { SalesforceApiError } from './soql/errors';

export interface RouteRequest {
	method: string;
	url: URL;
	/** Path split on '/', without the empty first segment. */
	segments: string[];
	headers: IncomingHttpHeaders;
	body: string;
	res: ServerResponse;
}

export async function readBody(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
	res: ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {},
): void {
	const text = JSON.stringify(body);
	res.writeHead(status, {
		...headers,
		'Content-Type': 'application/json;charset=UTF-8',
		'Content-Length': Buffer.byteLength(text),
	});
	res.end(text);
}

export function sendNoContent(res: ServerResponse): void {
	res.writeHead(204);
	res.end();
}

/** Salesforce REST errors are a JSON array of {message, errorCode}. */
export function sendApiError(res: ServerResponse, error: SalesforceApiError): void {
	sendJson(res, error.status, [{ message: error.message, errorCode: error.errorCode }]);
}

export function parseJsonBody(body: string): unknown {
	try {
		return JSON.parse(body);
	} catch {
		throw new SalesforceApiError(
			400,
			'JSON_PARSER_ERROR',
			'Unexpected character in request body: not valid JSON',
		);
	}
}

export function notFound(): SalesforceApiError {
	return new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
}

export function methodNotAllowed(method: string, allowed: string[]): SalesforceApiError {
	return new SalesforceApiError(
		405,
		'METHOD_NOT_ALLOWED',
		`HTTP Method '${method}' not allowed. Allowed are ${allowed.join(',')}`,
	);
}
