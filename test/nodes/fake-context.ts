import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { NodeHelpers, type INode, type INodeType, type INodeParameters } from 'n8n-workflow';

/**
 * A minimal stand-in for n8n's node contexts: parameters, credentials and the HTTP
 * request/response of a webhook call. Only what the nodes call is there.
 */
export interface FakeContextOptions {
	/**
	 * The node under test. Its description decides, as in n8n, which credentials `getCredentials`
	 * gives: a type the description does not declare, or one its display options hide for these
	 * parameters, fails as n8n fails it.
	 */
	nodeType: INodeType;
	parameters: Record<string, unknown>;
	credentials?: Record<string, Record<string, unknown>>;
	body?: string | Buffer;
	headers?: Record<string, string>;
	items?: Array<{ json: Record<string, unknown> }>;
	continueOnFail?: boolean;
	timeZone?: string;
	nodeId?: string;
	/** The node's version in the workflow (default 1). */
	typeVersion?: number;
}

export interface FakeResponse {
	statusCode?: number;
	body?: unknown;
	/** What the node passed to putExecutionToWait. */
	waitTill?: Date;
}

interface FakeHttpOptions {
	method: string;
	url: string;
	headers?: Record<string, string>;
	body?: unknown;
	/** n8n: `json: false` leaves the answer unparsed. */
	json?: boolean;
	/** n8n (axios responseType): `text` answers a string, `stream` a Readable. */
	encoding?: 'text' | 'stream' | 'json' | 'arraybuffer';
}

/** A request a node sent through one of n8n's HTTP helpers (the fake's log). */
export interface HelperRequest {
	helper: 'httpRequest' | 'httpRequestWithAuthentication' | 'request';
	method: string;
	url: string;
}

/**
 * n8n's httpRequest with returnFullResponse and ignoreHttpStatusErrors, on fetch: a string
 * body goes as is and any other body as JSON (axios); `encoding` picks text, a stream or
 * (default) JSON parsed when it parses.
 */
async function fakeHttp(request: FakeHttpOptions) {
	const response = await fetch(request.url, {
		method: request.method,
		headers: request.headers,
		body:
			request.body === undefined || typeof request.body === 'string'
				? (request.body as string | undefined)
				: JSON.stringify(request.body),
	});
	const headers = Object.fromEntries(response.headers);
	if (request.encoding === 'stream') {
		const body = response.body
			? Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>)
			: Readable.from([]);
		return { statusCode: response.status, headers, body };
	}
	const text = await response.text();
	if (request.encoding === 'text') return { statusCode: response.status, headers, body: text };
	let body: unknown = text;
	try {
		body = text ? JSON.parse(text) : '';
	} catch {
		// not JSON: keep the text
	}
	return { statusCode: response.status, headers, body };
}

/**
 * n8n's legacy `request` helper (what a credential test gets) with `simple: false` and
 * `resolveWithFullResponse: true`: every status answers, the body as text.
 */
export function fakeLegacyRequest(log: HelperRequest[] = []) {
	return async (options: {
		method?: string;
		uri: string;
		headers?: Record<string, string>;
		body?: string;
	}) => {
		log.push({ helper: 'request', method: options.method ?? 'GET', url: options.uri });
		const response = await fetch(options.uri, {
			method: options.method ?? 'GET',
			headers: options.headers,
			body: options.body,
		});
		return {
			statusCode: response.status,
			headers: Object.fromEntries(response.headers),
			body: await response.text(),
		};
	};
}

/** One id per credential object, as n8n has one per saved credential (the nodes cache by id). */
const credentialIds = new WeakMap<object, string>();
let lastCredentialId = 0;
function credentialId(type: string, data: Record<string, unknown> | undefined): string {
	if (!data) return `${type}-missing`;
	let id = credentialIds.get(data);
	if (!id) credentialIds.set(data, (id = `${type}-${++lastCredentialId}`));
	return id;
}

export function fakeContext(options: FakeContextOptions) {
	const response: FakeResponse = {};
	/** Every request the node sent through n8n's HTTP helpers. */
	const helperRequests: HelperRequest[] = [];
	const node: INode = {
		id: options.nodeId ?? 'node-1',
		name: 'Node',
		type: 'test',
		typeVersion: options.typeVersion ?? 1,
		position: [0, 0],
		parameters: {},
		credentials: Object.fromEntries(
			Object.entries(options.credentials ?? {}).map(([name, data]) => [
				name,
				{ id: credentialId(name, data), name },
			]),
		),
	};
	const rawBody =
		options.body === undefined
			? undefined
			: Buffer.isBuffer(options.body)
				? options.body
				: Buffer.from(options.body);
	const parameter = (name: string, _itemIndexOrFallback?: unknown, fallback?: unknown) => {
		const value = options.parameters[name];
		if (value !== undefined)
			return typeof value === 'function' ? value(_itemIndexOrFallback) : value;
		return fallback !== undefined
			? fallback
			: typeof _itemIndexOrFallback === 'number'
				? undefined
				: _itemIndexOrFallback;
	};
	const context = {
		getNode: () => node,
		getNodeParameter: parameter,
		getCredentials: async (name: string) => {
			checkCredentialDeclared(options, node, name);
			const credentials = options.credentials?.[name];
			if (!credentials) throw new Error(`No credentials of type ${name}`);
			return credentials;
		},
		getTimezone: () => options.timeZone ?? 'UTC',
		getRequestObject: () => ({ rawBody, headers: options.headers ?? {} }),
		getResponseObject: () => ({
			status(code: number) {
				response.statusCode = code;
				return this;
			},
			json(body: unknown) {
				response.body = body;
				return this;
			},
		}),
		getHeaderData: () =>
			Object.fromEntries(
				Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
			),
		getBodyData: () => (rawBody ? JSON.parse(rawBody.toString()) : {}),
		getInputData: () => options.items ?? [{ json: {} }],
		continueOnFail: () => options.continueOnFail ?? false,
		getExecutionId: () => 'execution-1',
		putExecutionToWait: async (waitTill: Date) => {
			response.waitTill = waitTill;
		},
		onExecutionCancellation: () => undefined,
		logger: { debug() {}, info() {}, warn() {}, error() {} },
		helpers: {
			// n8n's HTTP helpers with returnFullResponse and ignoreHttpStatusErrors, on fetch;
			// the credential's header is applied as n8n's generic authenticate would.
			httpRequest: async (request: FakeHttpOptions) => {
				helperRequests.push({ helper: 'httpRequest', method: request.method, url: request.url });
				return await fakeHttp(request);
			},
			httpRequestWithAuthentication: async (credentialType: string, request: FakeHttpOptions) => {
				helperRequests.push({
					helper: 'httpRequestWithAuthentication',
					method: request.method,
					url: request.url,
				});
				const credentials = options.credentials?.[credentialType] ?? {};
				const headers = { ...request.headers };
				if (credentials.headerName)
					headers[String(credentials.headerName)] = String(credentials.secretValue);
				return await fakeHttp({ ...request, headers });
			},
			// n8n's default binary mode: the data inline, as base64.
			prepareBinaryData: async (data: Buffer, fileName?: string, mimeType?: string) => ({
				data: data.toString('base64'),
				mimeType: mimeType ?? 'application/octet-stream',
				fileName,
				fileExtension: fileName?.split('.').pop(),
				fileSize: `${data.length} B`,
			}),
			returnJsonArray: (data: Record<string, unknown> | Array<Record<string, unknown>>) =>
				(Array.isArray(data) ? data : [data]).map((json) => ({ json })),
		},
	};
	return { context, response, helperRequests };
}

/**
 * n8n-core's rule for `getCredentials` (NodeExecutionContext): the node type must declare the
 * credential type, and the declaration's display options must show it for the node's
 * parameters as n8n resolves them (defaults filled in, hidden parameters dropped).
 */
function checkCredentialDeclared(options: FakeContextOptions, node: INode, type: string): void {
	const description = options.nodeType.description;
	const declared = description.credentials?.find((credential) => credential.name === type);
	if (!declared) {
		throw new Error(
			`Node type "${description.name}" does not have any credentials of type "${type}" defined`,
		);
	}
	const fixedParameters = Object.fromEntries(
		Object.entries(options.parameters).filter(([, value]) => typeof value !== 'function'),
	) as INodeParameters;
	const resolved =
		NodeHelpers.getNodeParameters(
			description.properties,
			fixedParameters,
			true,
			false,
			node,
			description,
		) ?? {};
	if (!NodeHelpers.displayParameter(resolved, declared, node, description, resolved)) {
		throw new Error('Credentials not found');
	}
}
