/**
 * Admin routes under /__fake/ so a fake running in a child process can be driven over HTTP
 * (benchmarks, the demo). Bodies and answers are JSON; errors come back as {error}.
 *
 *   GET  /__fake/clock                      → {now}
 *   POST /__fake/clock {now?|advance?}      → {now}
 *   POST /__fake/objects {name, fields}     defineObject
 *   POST /__fake/generated {generator:'trialContacts', count, seed?, accountCount?} → {objects}
 *   POST /__fake/records/{Object} {fields}  → {id}
 *   PATCH /__fake/records/{Object}/{Id} {fields}
 *   DELETE /__fake/records/{Object}/{Id}
 *   GET  /__fake/records/{Object}           → rows (small objects only)
 *   POST /__fake/modify-percent {object, percent, seed?} → {modified}
 *   POST /__fake/connected-apps {clientId, clientSecret, publicKeyPem?}
 *   POST /__fake/users {username, password, securityToken?}
 *   POST /__fake/refresh-tokens {clientId, username} → {refreshToken}
 *   POST /__fake/rotate-refresh-tokens {on}
 *   POST /__fake/expire-sessions {afterRequests?}
 *   POST /__fake/fail-next {match, response, times?}
 *   POST /__fake/fail-bulk-job {errorMessage}
 *   GET  /__fake/stats                      → {apiRequestCount, tokenRequestCount, requestCount, rssBytes, heapUsedBytes, cpuMs}
 *   GET  /__fake/requests?since=N           → request log entries from N on
 */
import { BUILT_IN_GENERATORS } from './generators';
import { sendJson, type RouteRequest } from './http';
import type { FakeSalesforce } from './fake-salesforce';

type Body = Record<string, unknown>;

export function handleAdmin(fake: FakeSalesforce, request: RouteRequest): void {
	const { method, res } = request;
	const [, resource, ...rest] = request.segments;
	let body: Body = {};
	try {
		body = request.body ? (JSON.parse(request.body) as Body) : {};
		const answer = adminRoute(fake, method, resource ?? '', rest, body, request.url);
		sendJson(res, 200, answer ?? { ok: true });
	} catch (error) {
		sendJson(res, 400, { error: error instanceof Error ? error.message : String(error) });
	}
}

function requireString(body: Body, key: string): string {
	const value = body[key];
	if (typeof value !== 'string' || value === '') throw new Error(`${key} (string) is required`);
	return value;
}

function requireNumber(body: Body, key: string): number {
	const value = body[key];
	if (typeof value !== 'number' || !Number.isFinite(value))
		throw new Error(`${key} (number) is required`);
	return value;
}

function adminRoute(
	fake: FakeSalesforce,
	method: string,
	resource: string,
	rest: string[],
	body: Body,
	url: URL,
): unknown {
	const route = `${method} ${resource}`;
	switch (route) {
		case 'GET clock':
			return { now: fake.now() };
		case 'POST clock':
			if (typeof body.now === 'number') fake.setNow(body.now);
			if (typeof body.advance === 'number') fake.advance(body.advance);
			return { now: fake.now() };
		case 'POST objects':
			fake.defineObject({
				name: requireString(body, 'name'),
				fields: (body.fields ?? {}) as never,
			});
			return undefined;
		case 'POST generated': {
			const generator = requireString(body, 'generator');
			if (generator !== 'trialContacts')
				throw new Error(
					`Unknown generator ${generator}; known: ${Object.keys(BUILT_IN_GENERATORS).join(', ')}`,
				);
			const sets = BUILT_IN_GENERATORS.trialContacts({
				count: requireNumber(body, 'count'),
				seed: typeof body.seed === 'number' ? body.seed : undefined,
				accountCount: typeof body.accountCount === 'number' ? body.accountCount : undefined,
				now: fake.now(),
			});
			for (const set of sets)
				fake.defineGeneratedObject(set.schema, set.count, set.generate, set.options);
			return { objects: sets.map((set) => ({ name: set.schema.name, count: set.count })) };
		}
		case 'POST records':
			return { id: fake.insert(rest[0], (body.fields ?? {}) as Body) };
		case 'PATCH records':
			fake.update(rest[0], rest[1], (body.fields ?? {}) as Body);
			return undefined;
		case 'DELETE records':
			fake.delete(rest[0], rest[1]);
			return undefined;
		case 'GET records':
			return fake.records(rest[0]);
		case 'POST modify-percent':
			return {
				modified: fake.modifyPercent(
					requireString(body, 'object'),
					requireNumber(body, 'percent'),
					typeof body.seed === 'number' ? body.seed : undefined,
				),
				now: fake.now(),
			};
		case 'POST connected-apps':
			fake.addConnectedApp({
				clientId: requireString(body, 'clientId'),
				clientSecret: requireString(body, 'clientSecret'),
				publicKeyPem: typeof body.publicKeyPem === 'string' ? body.publicKeyPem : undefined,
			});
			return undefined;
		case 'POST users':
			fake.addUser({
				username: requireString(body, 'username'),
				password: requireString(body, 'password'),
				securityToken: typeof body.securityToken === 'string' ? body.securityToken : undefined,
			});
			return undefined;
		case 'POST refresh-tokens':
			return {
				refreshToken: fake.issueRefreshToken(
					requireString(body, 'clientId'),
					requireString(body, 'username'),
				),
			};
		case 'POST rotate-refresh-tokens':
			fake.rotateRefreshTokens(body.on === true);
			return undefined;
		case 'POST expire-sessions':
			if (typeof body.afterRequests === 'number') fake.expireSessionsAfter(body.afterRequests);
			else fake.expireSessions();
			return undefined;
		case 'POST fail-next':
			fake.failNext(
				(body.match ?? {}) as never,
				body.response as never,
				typeof body.times === 'number' ? body.times : undefined,
			);
			return undefined;
		case 'POST fail-bulk-job':
			fake.failBulkJob(requireString(body, 'errorMessage'));
			return undefined;
		case 'GET stats': {
			const memory = process.memoryUsage();
			const cpu = process.cpuUsage();
			return {
				apiRequestCount: fake.apiRequestCount(),
				tokenRequestCount: fake.tokenRequestCount(),
				requestCount: fake.requests.length,
				rssBytes: memory.rss,
				heapUsedBytes: memory.heapUsed,
				// CPU the fake's process has used so far (all its threads), for benchmarks.
				cpuMs: Math.round((cpu.user + cpu.system) / 1000),
			};
		}
		case 'GET requests':
			return fake.requests.slice(Number(url.searchParams.get('since') ?? 0));
		default:
			throw new Error(`Unknown admin route ${route}`);
	}
}
