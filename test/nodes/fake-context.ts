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
}

async function fakeHttp(request: FakeHttpOptions) {
	const response = await fetch(request.url, {
		method: request.method,
		headers: request.headers,
		body: request.body === undefined ? undefined : JSON.stringify(request.body),
	});
	const text = await response.text();
	let body: unknown = text;
	try {
		body = text ? JSON.parse(text) : '';
	} catch {
		// not JSON: keep the text
	}
	return { statusCode: response.status, headers: Object.fromEntries(response.headers), body };
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
			httpRequest: async (request: FakeHttpOptions) => await fakeHttp(request),
			httpRequestWithAuthentication: async (credentialType: string, request: FakeHttpOptions) => {
				const credentials = options.credentials?.[credentialType] ?? {};
				const headers = { ...request.headers };
				if (credentials.headerName)
					headers[String(credentials.headerName)] = String(credentials.secretValue);
				return await fakeHttp({ ...request, headers });
			},
			returnJsonArray: (data: Record<string, unknown> | Array<Record<string, unknown>>) =>
				(Array.isArray(data) ? data : [data]).map((json) => ({ json })),
		},
	};
	return { context, response };
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
