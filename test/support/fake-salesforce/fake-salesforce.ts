/**
 * A fake Salesforce org over HTTP: OAuth/SOAP login, REST query with cursors, describe,
 * Bulk API 2.0 query jobs, sObject Collections, failure injection and a fake clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { handleAdmin } from './admin';
import {
	AuthState,
	OAuthError,
	soapFault,
	type ConnectedApp,
	type FakeUser,
	type Session,
} from './auth';
import { BulkJobs } from './bulk';
import { RecordWriter } from './collections';
import {
	methodNotAllowed,
	notFound,
	parseJsonBody,
	readBody,
	sendApiError,
	sendJson,
	sendNoContent,
	type RouteRequest,
} from './http';
import { pageSizeFromHeader, QueryCursors } from './rest-query';
import type { FakeObjectSchema } from './schema';
import { SalesforceApiError } from './soql/errors';
import { Store, type GeneratedObjectOptions, type RowGenerator } from './store';

export interface FakeSalesforceOptions {
	/** 0 or absent: a free port. */
	port?: number;
	/** Versions the org answers for, e.g. ['62.0', '63.0']; default 50.0 to 66.0. */
	apiVersions?: string[];
	/** REST query page size; default 2000 as in Salesforce. */
	queryPageSize?: number;
	/** Polls of a bulk job before it reports JobComplete; default 2. */
	bulkPollsUntilComplete?: number;
	/** Initial fake clock in epoch ms; default Date.now() at start. The clock never moves by itself. */
	now?: number;
}

export interface RequestLogEntry {
	method: string;
	path: string;
	status: number;
	/** Fake clock at the time of the request. */
	at: number;
}

export interface FailureMatch {
	method?: string;
	pathIncludes?: string;
}

export interface InjectedResponse {
	status: number;
	body?: unknown;
	headers?: Record<string, string>;
}

const DAILY_API_LIMIT = 15_000;

function defaultApiVersions(): string[] {
	const versions: string[] = [];
	for (let version = 50; version <= 66; version++) versions.push(`${version}.0`);
	return versions;
}

export class FakeSalesforce {
	readonly requests: RequestLogEntry[] = [];
	/** @internal shared with the admin routes */
	readonly store = new Store();
	/** @internal */
	readonly auth: AuthState;
	private readonly cursors: QueryCursors;
	private readonly bulk: BulkJobs;
	private readonly writer: RecordWriter;
	private readonly apiVersions: string[];
	private readonly queryPageSize: number;
	private readonly bulkPollsUntilComplete: number;
	/** True: the Record Count resource lists no object, as for objects Salesforce has not counted yet. */
	recordCountsHidden = false;
	private clock: number;
	private server: Server | undefined;
	private baseUrl = '';
	private apiRequests = 0;
	private tokenRequests = 0;
	private readonly failures: Array<{
		match: FailureMatch;
		response: InjectedResponse;
		remaining: number;
	}> = [];
	private readonly requestHooks: Array<{
		match: FailureMatch;
		before: number;
		action: () => void;
	}> = [];

	private constructor(options: FakeSalesforceOptions) {
		this.clock = options.now ?? Date.now();
		this.apiVersions = options.apiVersions ?? defaultApiVersions();
		this.queryPageSize = options.queryPageSize ?? 2000;
		this.bulkPollsUntilComplete = options.bulkPollsUntilComplete ?? 2;
		const now = () => this.clock;
		this.auth = new AuthState(() => this.baseUrl, now);
		this.cursors = new QueryCursors(this.store, now);
		this.bulk = new BulkJobs(this.store, now, () => this.bulkPollsUntilComplete);
		this.writer = new RecordWriter(this.store, now);
	}

	static async start(options: FakeSalesforceOptions = {}): Promise<FakeSalesforce> {
		const fake = new FakeSalesforce(options);
		const server = createServer((req, res) => {
			fake.handle(req, res).catch((error: unknown) => {
				if (!res.headersSent)
					sendJson(res, 500, [{ message: String(error), errorCode: 'UNKNOWN_EXCEPTION' }]);
				else res.destroy();
			});
		});
		server.keepAliveTimeout = 1000;
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
		});
		fake.server = server;
		fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		return fake;
	}

	/** Login URL and instance URL at once. */
	get url(): string {
		return this.baseUrl;
	}

	async close(): Promise<void> {
		const server = this.server;
		if (!server) return;
		this.server = undefined;
		await new Promise<void>((resolve) => {
			server.close(() => resolve());
			server.closeAllConnections();
		});
	}

	// ---- clock

	now(): number {
		return this.clock;
	}

	setNow(ms: number): void {
		this.clock = ms;
	}

	advance(ms: number): void {
		this.clock += ms;
	}

	// ---- data

	defineObject(schema: FakeObjectSchema): void {
		this.store.define(schema);
	}

	insert(object: string, fields: Record<string, unknown>): string {
		const table = this.store.requireTable(object);
		const normalized = table.normalizeFields(fields, true);
		this.store.seq++;
		return table.insert(normalized, this.clock, this.store.seq);
	}

	update(object: string, id: string, fields: Record<string, unknown>): void {
		const table = this.store.requireTable(object);
		const index = this.store.requireIndex(table, id);
		const normalized = table.normalizeFields(fields, false);
		this.store.seq++;
		table.update(index, normalized, this.clock, this.store.seq);
	}

	delete(object: string, id: string): void {
		const table = this.store.requireTable(object);
		const index = this.store.requireIndex(table, id);
		this.store.seq++;
		table.markDeleted(index, this.clock, this.store.seq);
	}

	/** Every row, deleted ones included, with values as the REST API prints them. */
	records(object: string): Array<Record<string, unknown>> {
		return this.store.requireTable(object).snapshotRows();
	}

	/**
	 * Big data sets without storing every row: row i is generate(i) (it must include Id and
	 * SystemModstamp); insert/update/delete are overlaid. `options.indexOfId` makes id lookups
	 * O(1); `options.mutate` says what modifyPercent changes besides the stamps.
	 */
	defineGeneratedObject(
		schema: FakeObjectSchema,
		count: number,
		generate: RowGenerator,
		options: GeneratedObjectOptions = {},
	): void {
		this.store.define(schema).setGenerator(count, generate, options);
	}

	/** Modifies `percent`% of a generated object's rows now (stamps bumped); returns how many. */
	modifyPercent(object: string, percent: number, seed = 1): number {
		const table = this.store.requireTable(object);
		this.store.seq++;
		return table.modifyPercent(percent, seed, this.clock, this.store.seq);
	}

	// ---- auth

	addConnectedApp(app: ConnectedApp): void {
		this.auth.addConnectedApp(app);
	}

	addUser(user: FakeUser): void {
		this.auth.addUser(user);
	}

	issueRefreshToken(clientId: string, username: string): string {
		return this.auth.issueRefreshToken(clientId, username);
	}

	/** The user who logs in and allows access on the authorize page (undefined: access denied). */
	approveAuthorizationAs(username: string | undefined): void {
		this.auth.approveAuthorizationAs(username);
	}

	rotateRefreshTokens(on: boolean): void {
		this.auth.rotateRefreshTokens(on);
	}

	expireSessions(): void {
		this.auth.expireSessions();
	}

	expireSessionsAfter(requests: number): void {
		this.auth.expireSessionsAfter(requests);
	}

	// ---- failure injection

	failNext(match: FailureMatch, response: InjectedResponse, times = 1): void {
		this.failures.push({ match, response, remaining: times });
	}

	/**
	 * Runs `action` (e.g. an edit of a record) just before the `nth` request matching `match` is
	 * answered (default the first), once: it lands between two reads of a sync.
	 */
	whenRequested(match: FailureMatch, action: () => void, nth = 1): void {
		this.requestHooks.push({ match, before: nth, action });
	}

	failBulkJob(errorMessage: string): void {
		this.bulk.failNextJob(errorMessage);
	}

	// ---- observation

	apiRequestCount(): number {
		return this.apiRequests;
	}

	tokenRequestCount(): number {
		return this.tokenRequests;
	}

	// ---- HTTP

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', this.baseUrl || 'http://127.0.0.1');
		const method = (req.method ?? 'GET').toUpperCase();
		const body = await readBody(req);
		const request: RouteRequest = {
			method,
			url,
			segments: url.pathname.split('/').filter(Boolean),
			headers: req.headers,
			body,
			res,
		};
		if (url.pathname.startsWith('/__fake/')) {
			handleAdmin(this, request);
			return;
		}
		const at = this.clock;
		res.on('finish', () => {
			this.requests.push({ method, path: url.pathname + url.search, status: res.statusCode, at });
		});
		res.setHeader('Date', new Date(this.clock).toUTCString());
		const isApi = url.pathname.startsWith('/services/data');
		if (isApi) {
			this.apiRequests++;
			res.setHeader('Sforce-Limit-Info', `api-usage=${this.apiRequests}/${DAILY_API_LIMIT}`);
		}
		if (url.pathname === '/services/oauth2/token' || url.pathname.startsWith('/services/Soap/u/')) {
			this.tokenRequests++;
		}
		this.runRequestHooks(method, url);
		if (this.injectFailure(method, url, res)) return;
		try {
			await this.route(request, isApi);
		} catch (error) {
			if (error instanceof SalesforceApiError) sendApiError(res, error);
			else throw error;
		}
	}

	private runRequestHooks(method: string, url: URL): void {
		const path = url.pathname + url.search;
		for (const hook of [...this.requestHooks]) {
			if (!matches(hook.match, method, path) || --hook.before > 0) continue;
			this.requestHooks.splice(this.requestHooks.indexOf(hook), 1);
			hook.action();
		}
	}

	private injectFailure(method: string, url: URL, res: ServerResponse): boolean {
		const path = url.pathname + url.search;
		const failure = this.failures.find(({ match }) => matches(match, method, path));
		if (!failure) return false;
		if (--failure.remaining <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
		const { status, body, headers = {} } = failure.response;
		if (body === undefined) {
			res.writeHead(status, headers);
			res.end();
		} else if (typeof body === 'string') {
			res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
			res.end(body);
		} else {
			sendJson(res, status, body, headers);
		}
		return true;
	}

	private async route(request: RouteRequest, isApi: boolean): Promise<void> {
		const { method, url, res, segments } = request;
		const path = url.pathname.replace(/\/+$/, '');
		if (path === '/services/oauth2/token') {
			if (method !== 'POST') throw methodNotAllowed(method, ['POST']);
			this.tokenEndpoint(request);
			return;
		}
		if (path === '/services/oauth2/authorize' && method === 'GET') {
			this.authorizeEndpoint(request);
			return;
		}
		if (
			segments[0] === 'services' &&
			segments[1] === 'Soap' &&
			segments[2] === 'u' &&
			method === 'POST'
		) {
			this.soapLogin(request, segments[3] ?? '');
			return;
		}
		if (path === '/services/oauth2/userinfo' || segments[0] === 'id') {
			const session = this.auth.sessionForAuthorization(request.headers.authorization);
			if (!session) {
				res.writeHead(403, { 'Content-Type': 'text/plain' });
				res.end('Bad_OAuth_Token');
				return;
			}
			sendJson(res, 200, this.auth.userInfo(session));
			return;
		}
		if (!isApi) throw notFound();
		if (path === '/services/data') {
			sendJson(
				res,
				200,
				this.apiVersions.map((version) => ({
					label: `v${version}`,
					url: `/services/data/v${version}`,
					version,
				})),
			);
			return;
		}
		const versionMatch = /^v(\d+\.\d)$/.exec(segments[2] ?? '');
		if (!versionMatch || !this.apiVersions.includes(versionMatch[1])) throw notFound();
		this.auth.countApiRequest();
		const session = this.auth.sessionForAuthorization(request.headers.authorization);
		if (!session) {
			throw new SalesforceApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
		}
		await this.apiRoute(request, versionMatch[1], segments.slice(3), session);
	}

	/** The browser's step of the web server flow: straight to the redirect, as after a login. */
	private authorizeEndpoint(request: RouteRequest): void {
		try {
			const location = this.auth.authorize(request.url.searchParams);
			request.res.writeHead(302, { Location: location });
			request.res.end();
		} catch (error) {
			if (!(error instanceof OAuthError)) throw error;
			sendJson(request.res, error.status, {
				error: error.error,
				error_description: error.description,
			});
		}
	}

	private tokenEndpoint(request: RouteRequest): void {
		try {
			const basic = /^Basic\s+(.+)$/i.exec(request.headers.authorization ?? '');
			const [clientId, ...secret] = basic
				? Buffer.from(basic[1], 'base64').toString('utf8').split(':')
				: [];
			const body = this.auth.tokenGrant(
				new URLSearchParams(request.body),
				basic ? { clientId, clientSecret: secret.join(':') } : undefined,
			);
			sendJson(request.res, 200, body);
		} catch (error) {
			if (!(error instanceof OAuthError)) throw error;
			sendJson(request.res, error.status, {
				error: error.error,
				error_description: error.description,
			});
		}
	}

	private soapLogin(request: RouteRequest, version: string): void {
		const { res } = request;
		try {
			const xml = this.auth.soapLogin(request.body, version);
			res.writeHead(200, { 'Content-Type': 'text/xml;charset=UTF-8' });
			res.end(xml);
		} catch (error) {
			if (!(error instanceof OAuthError)) throw error;
			res.writeHead(500, { 'Content-Type': 'text/xml;charset=UTF-8' });
			res.end(soapFault(error.error, error.description));
		}
	}

	private async apiRoute(
		request: RouteRequest,
		version: string,
		rest: string[],
		session: Session,
	): Promise<void> {
		const { method, res, url } = request;
		const [resource, ...tail] = rest;
		if (resource === undefined) {
			sendJson(res, 200, {
				sobjects: `/services/data/v${version}/sobjects`,
				query: `/services/data/v${version}/query`,
				queryAll: `/services/data/v${version}/queryAll`,
				limits: `/services/data/v${version}/limits`,
				jobs: `/services/data/v${version}/jobs`,
				composite: `/services/data/v${version}/composite`,
			});
			return;
		}
		switch (resource) {
			case 'limits':
				if (tail[0] === 'recordCount' && tail.length === 1) {
					sendJson(res, 200, { sObjects: this.recordCounts(url.searchParams.get('sObjects')) });
					return;
				}
				if (tail.length > 0) throw notFound();
				sendJson(res, 200, {
					DailyApiRequests: {
						Max: DAILY_API_LIMIT,
						Remaining: Math.max(0, DAILY_API_LIMIT - this.apiRequests),
					},
					DailyBulkV2QueryJobs: { Max: 10_000, Remaining: 10_000 },
				});
				return;
			case 'query':
			case 'queryAll': {
				if (method !== 'GET') throw methodNotAllowed(method, ['GET', 'HEAD']);
				if (tail.length === 1) {
					sendJson(res, 200, this.cursors.more(tail[0], version));
					return;
				}
				if (tail.length > 1) throw notFound();
				const pageSize = pageSizeFromHeader(
					request.headers['sforce-query-options'],
					this.queryPageSize,
				);
				sendJson(
					res,
					200,
					this.cursors.query(
						url.searchParams.get('q') ?? '',
						resource === 'queryAll',
						pageSize,
						version,
					),
				);
				return;
			}
			case 'sobjects':
				this.sobjectsRoute(request, version, tail);
				return;
			case 'jobs':
				if (tail[0] !== 'query') throw notFound();
				await this.bulkRoute(request, version, tail.slice(1), session);
				return;
			case 'composite':
				this.compositeRoute(request, tail);
				return;
			default:
				throw notFound();
		}
	}

	/**
	 * The Record Count resource: objects named in `sObjects` (comma-separated; all when absent)
	 * with their number of rows. Salesforce's counts are estimates it refreshes now and then,
	 * and objects it has not counted yet are left out (`recordCountsHidden` leaves out all).
	 */
	private recordCounts(names: string | null): Array<{ count: number; name: string }> {
		if (this.recordCountsHidden) return [];
		const wanted = names === null ? undefined : new Set(names.split(',').map((name) => name.trim()));
		return this.store
			.allTables()
			.filter((table) => wanted === undefined || wanted.has(table.name))
			.map((table) => ({ count: table.size(), name: table.name }));
	}

	private sobjectsRoute(request: RouteRequest, version: string, tail: string[]): void {
		const { method, res } = request;
		if (tail.length === 0) {
			sendJson(res, 200, {
				encoding: 'UTF-8',
				maxBatchSize: 200,
				sobjects: this.store.allTables().map((table) => ({
					name: table.name,
					label: table.name,
					keyPrefix: table.keyPrefix,
					queryable: true,
					custom: table.name.endsWith('__c'),
					urls: { sobject: `/services/data/v${version}/sobjects/${table.name}` },
				})),
			});
			return;
		}
		const table = this.store.table(tail[0]);
		if (!table) throw notFound();
		if (tail.length === 2 && tail[1] === 'describe') {
			if (method !== 'GET') throw methodNotAllowed(method, ['GET', 'HEAD']);
			sendJson(res, 200, describe(table.schema, table.keyPrefix, version));
			return;
		}
		if (tail.length === 1) {
			if (method === 'POST') {
				sendJson(res, 201, this.writer.createOne(table.name, parseJsonBody(request.body)));
				return;
			}
			if (method !== 'GET') throw methodNotAllowed(method, ['GET', 'HEAD', 'POST']);
			sendJson(res, 200, {
				objectDescribe: { name: table.name, keyPrefix: table.keyPrefix },
				recentItems: [],
			});
			return;
		}
		if (tail.length === 2 && (tail[1] === 'deleted' || tail[1] === 'updated')) {
			if (method !== 'GET') throw methodNotAllowed(method, ['GET', 'HEAD']);
			sendJson(res, 200, this.writer.changedBetween(table.name, tail[1], request.url));
			return;
		}
		if (tail.length === 2) {
			const id = tail[1];
			if (method === 'GET') sendJson(res, 200, this.writer.read(table.name, id, version));
			else if (method === 'PATCH') {
				this.writer.updateOne(table.name, id, parseJsonBody(request.body));
				sendNoContent(res);
			} else if (method === 'DELETE') {
				this.writer.deleteOne(table.name, id);
				sendNoContent(res);
			} else throw methodNotAllowed(method, ['GET', 'HEAD', 'PATCH', 'DELETE']);
			return;
		}
		throw notFound();
	}

	private async bulkRoute(
		request: RouteRequest,
		version: string,
		tail: string[],
		session: Session,
	): Promise<void> {
		const { method, res } = request;
		if (tail.length === 0) {
			if (method === 'POST')
				sendJson(res, 200, this.bulk.create(parseJsonBody(request.body), version, session.userId));
			else if (method === 'GET') sendJson(res, 200, this.bulk.list());
			else throw methodNotAllowed(method, ['GET', 'POST']);
			return;
		}
		const [jobId, sub] = tail;
		if (tail.length === 1) {
			if (method === 'GET') sendJson(res, 200, this.bulk.poll(jobId));
			else if (method === 'PATCH')
				sendJson(res, 200, this.bulk.abort(jobId, parseJsonBody(request.body)));
			else if (method === 'DELETE') {
				this.bulk.delete(jobId);
				sendNoContent(res);
			} else throw methodNotAllowed(method, ['GET', 'PATCH', 'DELETE']);
			return;
		}
		if (tail.length === 2 && sub === 'results' && method === 'GET') {
			await this.bulk.writeResults(jobId, request.url, res);
			return;
		}
		throw notFound();
	}

	private compositeRoute(request: RouteRequest, tail: string[]): void {
		const { method, res } = request;
		if (tail[0] !== 'sobjects') throw notFound();
		if (tail.length === 1) {
			if (method === 'POST')
				sendJson(res, 200, this.writer.createMany(parseJsonBody(request.body)));
			else if (method === 'PATCH')
				sendJson(res, 200, this.writer.updateMany(parseJsonBody(request.body)));
			else throw methodNotAllowed(method, ['POST', 'PATCH']);
			return;
		}
		if (tail.length === 3 && method === 'PATCH') {
			sendJson(res, 200, this.writer.upsertMany(tail[1], tail[2], parseJsonBody(request.body)));
			return;
		}
		throw notFound();
	}
}

function matches(match: FailureMatch, method: string, path: string): boolean {
	return (
		(!match.method || match.method.toUpperCase() === method) &&
		(!match.pathIncludes || path.includes(match.pathIncludes))
	);
}

function describe(
	schema: import('./schema').ResolvedObject,
	keyPrefix: string,
	version: string,
): Record<string, unknown> {
	return {
		name: schema.name,
		label: schema.name,
		keyPrefix,
		custom: schema.name.endsWith('__c'),
		queryable: true,
		createable: true,
		updateable: true,
		urls: { sobject: `/services/data/v${version}/sobjects/${schema.name}` },
		fields: schema.fields.map((field) => ({
			name: field.name,
			label: field.name,
			type: field.type,
			referenceTo: field.referenceTo ? [field.referenceTo] : [],
			relationshipName: field.relationshipName ?? null,
			filterable: field.filterable,
			sortable: field.filterable,
			nillable: field.nillable,
			updateable: field.updateable,
			createable: field.updateable,
			custom: field.name.endsWith('__c'),
			externalId: false,
			idLookup: field.name === 'Id',
			length: ['string', 'email', 'phone', 'picklist'].includes(field.type)
				? 255
				: field.type === 'textarea'
					? 32_768
					: 0,
		})),
	};
}
