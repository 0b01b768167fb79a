/**
 * Login URL and version checks, the JWT assertion, and the four login flows against the fake
 * Salesforce (jsforce's OAuth2 / SOAP clients and our own JWT exchange): one token per
 * credential per process, refreshes, rotated refresh tokens, and the errors users see.
 */
// jsforce reads proxy variables once, when it is loaded: clear them before the imports
// (the fake listens on 127.0.0.1).
delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';

import { InvalidInputError } from '../../src/errors';
import { SalesforceAuthError } from '../../src/salesforce/api/errors';
import { SalesforceApi } from '../../src/salesforce/api/salesforce-api';
import type { SalesforceToken } from '../../src/salesforce/api/types';
import {
	readPrivateKey,
	requestJwtBearerToken,
	signJwtAssertion,
} from '../../src/salesforce/auth/jwt-bearer';
import {
	assertApiVersion,
	PRODUCTION_LOGIN_URL,
	resolveLoginUrl,
	SANDBOX_LOGIN_URL,
} from '../../src/salesforce/auth/login-url';
import {
	clearSalesforceTokenCache,
	jwtBearerSession,
	passwordSession,
	refreshTokenSession,
	soapPasswordSession,
	staticTokenSession,
} from '../../src/salesforce/auth/sessions';
import { loginFailure, readLoginError } from '../../src/salesforce/auth/login-errors';
import {
	fetchTransport,
	type SalesforceHttpRequest,
	type SalesforceTransport,
} from '../../src/salesforce/api/transport';
import {
	cachedToken,
	loginCountOf,
	renewedToken,
	tokenCacheKey,
} from '../../src/salesforce/auth/token-cache';
import { FakeSalesforce } from '../support/fake-salesforce';

const APP = { clientId: 'auth-test-app', clientSecret: 'auth-test-secret' };
const USER = { username: 'ops@acme.example', password: 'pw-1', securityToken: 'SECTOK' };

const keys = generateKeyPairSync('rsa', {
	modulusLength: 2048,
	publicKeyEncoding: { type: 'spki', format: 'pem' },
	privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const otherKeys = generateKeyPairSync('rsa', {
	modulusLength: 2048,
	publicKeyEncoding: { type: 'spki', format: 'pem' },
	privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

async function failure(promise: PromiseLike<unknown> | (() => unknown)): Promise<unknown> {
	try {
		if (typeof promise === 'function') await promise();
		else await promise;
	} catch (error) {
		return error;
	}
	throw new Error('expected a failure');
}

function decodePart(part: string): Record<string, unknown> {
	return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('resolveLoginUrl', () => {
	it('maps the keywords and absent value, and trims a My Domain URL', () => {
		expect(resolveLoginUrl(undefined)).toBe(PRODUCTION_LOGIN_URL);
		expect(resolveLoginUrl(' Production ')).toBe('https://login.salesforce.com');
		expect(resolveLoginUrl('SANDBOX')).toBe(SANDBOX_LOGIN_URL);
		expect(resolveLoginUrl('https://acme.my.salesforce.com/')).toBe(
			'https://acme.my.salesforce.com',
		);
		expect(resolveLoginUrl('http://127.0.0.1:4321')).toBe('http://127.0.0.1:4321');
		expect(resolveLoginUrl('http://localhost:80/')).toBe('http://localhost');
	});

	it.each([
		['', /is empty/],
		['   ', /is empty/],
		['acme.my salesforce', /is not a URL/],
		['http://acme.my.salesforce.com', /must start with https:\/\//],
		['ftp://acme.my.salesforce.com', /must start with https:\/\//],
		['https://user:pw@acme.my.salesforce.com', /only the address of the login server/],
		['https://acme.my.salesforce.com?x=1', /only the address of the login server/],
		[
			'https://acme.lightning.force.com',
			/Lightning address; use the My Domain login URL https:\/\/acme\.my\.salesforce\.com/,
		],
		[
			'https://acme--uat.sandbox.lightning.force.com',
			/https:\/\/acme--uat\.sandbox\.my\.salesforce\.com/,
		],
		[
			'https://acme.my.salesforce.com/services/oauth2/token',
			/includes an API path; use only the login server, e\.g\. https:\/\/acme\.my\.salesforce\.com\./,
		],
	])('rejects %j naming the field', (value, message) => {
		let error: unknown;
		try {
			resolveLoginUrl(value, 'myLoginField');
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).field).toBe('myLoginField');
		expect((error as Error).message).toMatch(/^myLoginField: /);
		expect((error as Error).message).toMatch(message);
	});

	it('names loginUrl by default', () => {
		expect(() => resolveLoginUrl('http://example.com')).toThrow(/^loginUrl: "http:\/\/example/);
	});
});

describe('assertApiVersion', () => {
	it('accepts 62.0 and v62.0', () => {
		expect(assertApiVersion('62.0')).toBe('62.0');
		expect(assertApiVersion(' v63.0 ')).toBe('63.0');
		expect(assertApiVersion('V100.0')).toBe('100.0');
	});

	it.each(['62', '62.1', 'latest', '', '6.0', '62.0.0'])('rejects %j naming the field', (v) => {
		let error: unknown;
		try {
			assertApiVersion(v, 'apiVersionField');
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).field).toBe('apiVersionField');
		expect((error as Error).message).toContain(`"${v}" is not a Salesforce API version`);
		expect((error as Error).message).toContain('62.0');
	});

	it('SalesforceApi rejects a bad version with the apiVersion field', () => {
		const session = staticTokenSession({ accessToken: 't', instanceUrl: 'https://x.example' });
		expect(() => new SalesforceApi({ session, apiVersion: '62' })).toThrow(
			expect.objectContaining({ field: 'apiVersion' }),
		);
	});
});

describe('readPrivateKey', () => {
	it('reads a PKCS#8 key, a PKCS#1 key, and one pasted with literal \\n', () => {
		expect(readPrivateKey(keys.privateKey).asymmetricKeyType).toBe('rsa');
		const pkcs1 = generateKeyPairSync('rsa', {
			modulusLength: 1024,
			privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
			publicKeyEncoding: { type: 'spki', format: 'pem' },
		}).privateKey;
		expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
		expect(readPrivateKey(pkcs1).asymmetricKeyType).toBe('rsa');
		const oneLine = keys.privateKey.trim().replace(/\n/g, '\\n');
		expect(oneLine).not.toContain('\n');
		expect(readPrivateKey(oneLine).asymmetricKeyType).toBe('rsa');
	});

	it.each([
		['empty', '', /privateKey: is empty/],
		['a public key', keys.publicKey, /is a public key/],
		[
			'a certificate',
			'-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
			/is a certificate/,
		],
		[
			'garbage',
			'-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----',
			/not a private key/,
		],
		[
			'an encrypted key',
			generateKeyPairSync('rsa', {
				modulusLength: 1024,
				publicKeyEncoding: { type: 'spki', format: 'pem' },
				privateKeyEncoding: {
					type: 'pkcs8',
					format: 'pem',
					cipher: 'aes-256-cbc',
					passphrase: 'secret',
				},
			}).privateKey,
			/encrypted with a passphrase/,
		],
		[
			'an EC key',
			generateKeyPairSync('ec', {
				namedCurve: 'P-256',
				publicKeyEncoding: { type: 'spki', format: 'pem' },
				privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
			}).privateKey,
			/is a ec key; .*needs an RSA key/,
		],
	])('rejects %s naming the field', (_what, pem, message) => {
		let error: unknown;
		try {
			readPrivateKey(pem);
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).field).toBe('privateKey');
		expect((error as Error).message).toMatch(message);
	});
});

describe('signJwtAssertion', () => {
	it('signs {iss, sub, aud, exp: now + 180 s} with RS256 that verifies against the public key', () => {
		const privateKey: KeyObject = readPrivateKey(keys.privateKey);
		const nowSeconds = 1_795_000_000;
		const jwt = signJwtAssertion({
			consumerKey: 'CONSUMER',
			username: 'ops@acme.example',
			audience: 'https://test.salesforce.com',
			privateKey,
			nowSeconds,
		});
		const parts = jwt.split('.');
		expect(parts).toHaveLength(3);
		expect(decodePart(parts[0])).toEqual({ alg: 'RS256', typ: 'JWT' });
		expect(decodePart(parts[1])).toEqual({
			iss: 'CONSUMER',
			sub: 'ops@acme.example',
			aud: 'https://test.salesforce.com',
			exp: nowSeconds + 180,
		});
		// base64url: no padding, no + or /.
		expect(jwt).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
		const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
		const signature = Buffer.from(parts[2], 'base64url');
		expect(verify('RSA-SHA256', signed, keys.publicKey, signature)).toBe(true);
		expect(verify('RSA-SHA256', signed, otherKeys.publicKey, signature)).toBe(false);
		// A changed claim no longer verifies.
		const tampered = Buffer.from(
			`${parts[0]}.${Buffer.from(JSON.stringify({ ...decodePart(parts[1]), sub: 'x' })).toString('base64url')}`,
		);
		expect(verify('RSA-SHA256', tampered, keys.publicKey, signature)).toBe(false);
	});
});

describe('JWT bearer audience', () => {
	// Salesforce's documentation: aud is https://login.salesforce.com or
	// https://test.salesforce.com, or an Experience Cloud site's URL; the token request itself
	// goes to the login URL (My Domain).
	beforeEach(() => clearSalesforceTokenCache());

	it.each([
		['production', 'https://login.salesforce.com', 'https://login.salesforce.com'],
		['sandbox', 'https://test.salesforce.com', 'https://test.salesforce.com'],
		[
			'https://acme.my.salesforce.com',
			'https://acme.my.salesforce.com',
			'https://login.salesforce.com',
		],
		[
			'https://acme--uat.sandbox.my.salesforce.com/',
			'https://acme--uat.sandbox.my.salesforce.com',
			'https://test.salesforce.com',
		],
		[
			'https://acme.my.site.com/customers',
			'https://acme.my.site.com/customers',
			'https://acme.my.site.com/customers',
		],
	])('login URL %s: token requested at %s, aud %s', async (loginUrl, requestedAt, audience) => {
		const sent: SalesforceHttpRequest[] = [];
		const transport: SalesforceTransport = async (request) => {
			sent.push(request);
			return {
				status: 200,
				headers: { 'content-type': 'application/json' },
				text: JSON.stringify({
					access_token: 'tok',
					instance_url: 'https://acme.my.salesforce.com',
				}),
			};
		};
		const session = jwtBearerSession({
			loginUrl,
			consumerKey: 'consumer-key',
			username: 'ops@acme.example',
			privateKey: keys.privateKey,
			transport,
		});
		await session.getToken();
		expect(sent).toHaveLength(1);
		expect(sent[0].url).toBe(`${requestedAt}/services/oauth2/token`);
		const assertion = new URLSearchParams(sent[0].body).get('assertion')!;
		expect(decodePart(assertion.split('.')[1]).aud).toBe(audience);
	});
});

describe('login flows against the fake Salesforce', () => {
	let fake: FakeSalesforce;

	beforeEach(async () => {
		clearSalesforceTokenCache();
		fake = await FakeSalesforce.start();
		fake.addConnectedApp({ ...APP, publicKeyPem: keys.publicKey });
		fake.addUser(USER);
		fake.defineObject({ name: 'Contact', fields: { Email: { type: 'email' } } });
		fake.insert('Contact', { Email: 'a@example.com' });
	});

	afterEach(async () => {
		await fake.close();
	});

	const password = () =>
		passwordSession({
			loginUrl: fake.url,
			...APP,
			username: USER.username,
			password: USER.password,
			securityToken: USER.securityToken,
		});

	async function countContacts(api: SalesforceApi): Promise<number> {
		return (await api.getJson<{ totalSize: number }>('/query', { q: 'SELECT Id FROM Contact' }))
			.totalSize;
	}

	it('OAuth username-password: a token for the instance that the API accepts', async () => {
		const session = password();
		const token = await session.getToken();
		expect(token.instanceUrl).toBe(fake.url);
		expect(token.accessToken).toMatch(/^00D\w+!/);
		expect(token.issuedAt).toBe(fake.now());
		expect(session.description).toBe(`OAuth 2.0 username-password for ${USER.username}`);
		expect(await countContacts(new SalesforceApi({ session }))).toBe(1);
		expect(fake.tokenRequestCount()).toBe(1);
		expect(session.loginCount).toBe(1);
		// The password grant carried password + security token.
		expect(fake.requests.filter((r) => r.path === '/services/oauth2/token')).toEqual([
			expect.objectContaining({ method: 'POST', status: 200 }),
		]);
	});

	it('SOAP login (legacy): logs in through /services/Soap/u with at most version 64.0', async () => {
		const session = soapPasswordSession({
			loginUrl: fake.url,
			username: USER.username,
			password: USER.password,
			securityToken: USER.securityToken,
			apiVersion: '66.0',
		});
		expect(session.description).toMatch(/SOAP login for ops@acme\.example \(legacy/);
		const token = await session.getToken();
		expect(token.instanceUrl).toBe(fake.url);
		expect(await countContacts(new SalesforceApi({ session, apiVersion: '66.0' }))).toBe(1);
		const soap = fake.requests.filter((r) => r.path.startsWith('/services/Soap/u/'));
		expect(soap).toHaveLength(1);
		expect(soap[0].path).toBe('/services/Soap/u/64.0');
		expect(fake.tokenRequestCount()).toBe(1);
	});

	it('SOAP login with a wrong password: SalesforceAuthError naming the flow and the retirement', async () => {
		const session = soapPasswordSession({
			loginUrl: fake.url,
			username: USER.username,
			password: 'wrong',
		});
		const error = (await failure(session.getToken())) as SalesforceAuthError;
		expect(error).toBeInstanceOf(SalesforceAuthError);
		expect(error.message).toContain('SOAP login for ops@acme.example');
		expect(error.salesforceError).toMatch(/^INVALID_LOGIN: Invalid username, password/);
		expect(error.message).toContain('SOAP API login is enabled');
		expect(error.message).toContain('retiring SOAP login');
		expect(error.message).not.toMatch(/\.\./);
	});

	it('every login flow sends its requests through the injected transport', async () => {
		const sent: string[] = [];
		const viaFetch = fetchTransport();
		const transport: SalesforceTransport = async (request) => {
			sent.push(`${request.method} ${new URL(request.url).pathname}`);
			return await viaFetch(request);
		};
		const password = { loginUrl: fake.url, username: USER.username, password: USER.password };
		await passwordSession({
			...password,
			...APP,
			securityToken: USER.securityToken,
			transport,
		}).getToken();
		await soapPasswordSession({
			...password,
			securityToken: USER.securityToken,
			transport,
		}).getToken();
		await jwtBearerSession({
			loginUrl: fake.url,
			consumerKey: APP.clientId,
			username: USER.username,
			privateKey: keys.privateKey,
			transport,
		}).getToken();
		await refreshTokenSession({
			loginUrl: fake.url,
			...APP,
			refreshToken: fake.issueRefreshToken(APP.clientId, USER.username),
			transport,
		}).getToken();
		expect(sent).toEqual([
			'POST /services/oauth2/token',
			'POST /services/Soap/u/62.0',
			'POST /services/oauth2/token',
			'POST /services/oauth2/token',
		]);
		expect(fake.tokenRequestCount()).toBe(4);
	});

	it('JWT bearer: the fake verifies the signature and issues a token', async () => {
		const session = jwtBearerSession({
			loginUrl: fake.url,
			consumerKey: APP.clientId,
			username: USER.username,
			privateKey: keys.privateKey,
		});
		expect(session.description).toBe(`JWT bearer for ${USER.username}`);
		const token = await session.getToken();
		expect(token.instanceUrl).toBe(fake.url);
		expect(await countContacts(new SalesforceApi({ session }))).toBe(1);
		expect(fake.tokenRequestCount()).toBe(1);
	});

	it('JWT bearer signed with the wrong key, or for a user who is not pre-authorized', async () => {
		const wrongKey = jwtBearerSession({
			loginUrl: fake.url,
			consumerKey: APP.clientId,
			username: USER.username,
			privateKey: otherKeys.privateKey,
		});
		const error = (await failure(wrongKey.getToken())) as SalesforceAuthError;
		expect(error).toBeInstanceOf(SalesforceAuthError);
		expect(error.message).toContain(`JWT bearer for ${USER.username}`);
		expect(error.salesforceError).toBe('invalid_grant: invalid assertion');
		expect(error.message).toContain('certificate uploaded to the connected app matches');

		const stranger = await failure(
			requestJwtBearerToken({
				loginUrl: fake.url,
				consumerKey: APP.clientId,
				username: 'nobody@acme.example',
				privateKey: readPrivateKey(keys.privateKey),
			}),
		);
		expect(stranger).toBeInstanceOf(SalesforceAuthError);
		expect((stranger as Error).message).toContain('JWT bearer for nobody@acme.example');
		expect((stranger as Error).message).toContain('not pre-authorized');

		const unknownApp = await failure(
			requestJwtBearerToken({
				loginUrl: fake.url,
				consumerKey: 'no-such-app',
				username: USER.username,
				privateKey: readPrivateKey(keys.privateKey),
			}),
		);
		expect((unknownApp as Error).message).toContain('does not know this client id');
	});

	it('JWT bearer: the assertion expires 3 min after the local clock', async () => {
		// The fake's clock is 10 minutes ahead of the assertion's issue time: expired.
		fake.setNow(Date.now() + 10 * 60_000);
		const error = await failure(
			requestJwtBearerToken({
				loginUrl: fake.url,
				consumerKey: APP.clientId,
				username: USER.username,
				privateKey: readPrivateKey(keys.privateKey),
			}),
		);
		expect(error).toBeInstanceOf(SalesforceAuthError);
		fake.setNow(Date.now() + 2 * 60_000);
		const token = await requestJwtBearerToken({
			loginUrl: fake.url,
			consumerKey: APP.clientId,
			username: USER.username,
			privateKey: readPrivateKey(keys.privateKey),
		});
		expect(token.instanceUrl).toBe(fake.url);
	});

	it('OAuth refresh token: logs in by refreshing, with no access token held', async () => {
		const refreshToken = fake.issueRefreshToken(APP.clientId, USER.username);
		const seen: Array<SalesforceToken & { refreshToken?: string }> = [];
		const session = refreshTokenSession({
			loginUrl: fake.url,
			...APP,
			refreshToken,
			onRefreshToken: (token) => {
				seen.push(token);
			},
		});
		expect(session.description).toBe(`OAuth 2.0 refresh token (client ${APP.clientId})`);
		expect(await countContacts(new SalesforceApi({ session }))).toBe(1);
		expect(fake.tokenRequestCount()).toBe(1);
		expect(seen).toHaveLength(1);
		expect(seen[0].instanceUrl).toBe(fake.url);
		// Not rotated: no refresh token to persist.
		expect(seen[0].refreshToken).toBeUndefined();
	});

	it('OAuth refresh token: a held access token is used until refused, then refreshed once', async () => {
		const refreshToken = fake.issueRefreshToken(APP.clientId, USER.username);
		const session = refreshTokenSession({
			loginUrl: fake.url,
			...APP,
			refreshToken,
			accessToken: 'stale-access-token',
			instanceUrl: `${fake.url}/`,
		});
		expect((await session.getToken()).accessToken).toBe('stale-access-token');
		expect(fake.tokenRequestCount()).toBe(0);
		const api = new SalesforceApi({ session });
		expect(await countContacts(api)).toBe(1);
		expect(fake.tokenRequestCount()).toBe(1);
		expect(api.callCount).toBe(2);
		expect((await session.getToken()).accessToken).not.toBe('stale-access-token');
	});

	it('a rotated refresh token reaches onRefreshToken and the next refresh uses it', async () => {
		fake.rotateRefreshTokens(true);
		const original = fake.issueRefreshToken(APP.clientId, USER.username);
		const persisted: string[] = [];
		const session = refreshTokenSession({
			loginUrl: fake.url,
			...APP,
			refreshToken: original,
			onRefreshToken: (token) => {
				if (token.refreshToken) persisted.push(token.refreshToken);
			},
		});
		const api = new SalesforceApi({ session });
		expect(await countContacts(api)).toBe(1);
		expect(persisted).toHaveLength(1);
		expect(persisted[0]).not.toBe(original);

		// The fake revoked the original when it rotated.
		const reuse = await fetch(`${fake.url}/services/oauth2/token`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'refresh_token',
				client_id: APP.clientId,
				client_secret: APP.clientSecret,
				refresh_token: original,
			}).toString(),
		});
		expect(reuse.status).toBe(400);

		fake.expireSessions();
		expect(await countContacts(api)).toBe(1);
		expect(persisted).toHaveLength(2);
		expect(new Set([original, ...persisted]).size).toBe(3);

		// A second session of the same credential (another node in this process) shares the rotation.
		fake.expireSessions();
		const sibling = refreshTokenSession({ loginUrl: fake.url, ...APP, refreshToken: original });
		expect(await countContacts(new SalesforceApi({ session: sibling }))).toBe(1);
		// The first login, the refused reuse of the original, the refresh with the rotated
		// token, and the sibling's refresh with the latest one: never the revoked original.
		expect(fake.tokenRequestCount()).toBe(4);
		expect(
			fake.requests.filter((r) => r.path === '/services/oauth2/token').map((r) => r.status),
		).toEqual([200, 400, 200, 200]);
	});

	it('an onRefreshToken that throws fails the refresh', async () => {
		const refreshToken = fake.issueRefreshToken(APP.clientId, USER.username);
		const session = refreshTokenSession({
			loginUrl: fake.url,
			...APP,
			refreshToken,
			onRefreshToken: () => {
				throw new Error('could not persist the refresh token');
			},
		});
		await expect(session.getToken()).rejects.toThrow('could not persist the refresh token');
	});

	it('a revoked refresh token: SalesforceAuthError telling to reconnect', async () => {
		const session = refreshTokenSession({
			loginUrl: fake.url,
			...APP,
			refreshToken: 'revoked-token',
		});
		const error = (await failure(session.getToken())) as SalesforceAuthError;
		expect(error).toBeInstanceOf(SalesforceAuthError);
		expect(error.salesforceError).toBe('invalid_grant: expired access/refresh token');
		expect(error.message).toContain('OAuth 2.0 refresh token (client auth-test-app)');
		expect(error.message).toContain('reconnect the credential');
	});

	it('a bad password: SalesforceAuthError naming the flow, the error and what to check', async () => {
		const session = passwordSession({
			loginUrl: fake.url,
			...APP,
			username: USER.username,
			password: USER.password,
			// The security token is missing.
		});
		const error = (await failure(new SalesforceApi({ session }).getJson('/limits'))) as Error;
		expect(error).toBeInstanceOf(SalesforceAuthError);
		expect(error.message).toMatch(
			/^Salesforce login \(OAuth 2\.0 username-password for ops@acme\.example\) failed: invalid_grant: authentication failure\. /,
		);
		expect(error.message).toContain('security token');
		expect(error.message).toContain('username-password flow');
		expect(error.message).not.toContain(USER.password);
		expect((error as SalesforceAuthError).flow).toBe(
			'OAuth 2.0 username-password for ops@acme.example',
		);

		const badSecret = passwordSession({
			loginUrl: fake.url,
			clientId: APP.clientId,
			clientSecret: 'wrong-secret',
			username: USER.username,
			password: USER.password + USER.securityToken,
		});
		await expect(badSecret.getToken()).rejects.toThrow(
			'The client secret does not match the connected app.',
		);
	});

	it('an unreachable login server: SalesforceAuthError with the network code', async () => {
		const url = fake.url;
		await fake.close();
		const session = passwordSession({ loginUrl: url, ...APP, ...USER });
		const error = (await failure(session.getToken())) as Error;
		expect(error).toBeInstanceOf(SalesforceAuthError);
		expect(error.message).toContain(`could not reach ${url} (ECONNREFUSED)`);
		fake = await FakeSalesforce.start();
	});

	it('empty required fields are named before any request', () => {
		expect(() => passwordSession({ ...APP, ...USER, username: ' ' })).toThrow(
			expect.objectContaining({ field: 'username' }),
		);
		expect(() => passwordSession({ clientId: APP.clientId, clientSecret: '', ...USER })).toThrow(
			expect.objectContaining({ field: 'clientSecret' }),
		);
		expect(() => refreshTokenSession({ clientId: APP.clientId, refreshToken: '' })).toThrow(
			expect.objectContaining({ field: 'refreshToken' }),
		);
		expect(() =>
			jwtBearerSession({ consumerKey: 'k', username: 'u', privateKey: keys.publicKey }),
		).toThrow(expect.objectContaining({ field: 'privateKey' }));
		expect(() => passwordSession({ ...APP, ...USER, loginUrl: 'http://x.example' })).toThrow(
			expect.objectContaining({ field: 'loginUrl' }),
		);
		expect(fake.tokenRequestCount()).toBe(0);
	});

	describe('one token per credential per process', () => {
		it('20 concurrent getToken() calls share one login', async () => {
			const session = password();
			const tokens = await Promise.all(Array.from({ length: 20 }, () => session.getToken()));
			expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
			expect(fake.tokenRequestCount()).toBe(1);
			expect(session.loginCount).toBe(1);
			// Later calls reuse it.
			await session.getToken();
			expect(fake.tokenRequestCount()).toBe(1);
		});

		it('two SalesforceApi instances over two sessions of the same credential share one login', async () => {
			const first = new SalesforceApi({ session: password() });
			const second = new SalesforceApi({ session: password() });
			const counts = await Promise.all(
				Array.from({ length: 20 }, (_, i) => countContacts(i % 2 ? first : second)),
			);
			expect(counts).toEqual(Array(20).fill(1));
			expect(fake.tokenRequestCount()).toBe(1);
			expect(first.loginCount).toBe(1);
			expect(second.loginCount).toBe(1);
			expect(first.callCount + second.callCount).toBe(20);
		});

		it('different credentials do not share tokens', async () => {
			fake.addUser({ username: 'other@acme.example', password: 'pw-2' });
			const a = await password().getToken();
			const b = await passwordSession({
				loginUrl: fake.url,
				...APP,
				username: 'other@acme.example',
				password: 'pw-2',
			}).getToken();
			expect(a.accessToken).not.toBe(b.accessToken);
			expect(fake.tokenRequestCount()).toBe(2);
		});

		it('every flow shares its login across concurrent callers', async () => {
			const refreshToken = fake.issueRefreshToken(APP.clientId, USER.username);
			const sessions = [
				() =>
					soapPasswordSession({
						loginUrl: fake.url,
						username: USER.username,
						password: USER.password + USER.securityToken,
					}),
				() =>
					jwtBearerSession({
						loginUrl: fake.url,
						consumerKey: APP.clientId,
						username: USER.username,
						privateKey: keys.privateKey,
					}),
				() => refreshTokenSession({ loginUrl: fake.url, ...APP, refreshToken }),
			];
			for (const [index, make] of sessions.entries()) {
				await Promise.all(Array.from({ length: 10 }, () => make().getToken()));
				expect(fake.tokenRequestCount()).toBe(index + 1);
			}
		});

		it('a failed login is not cached: concurrent callers share the failure, the next call logs in', async () => {
			fake.failNext(
				{ pathIncludes: '/services/oauth2/token' },
				{ status: 503, body: 'Service Unavailable' },
			);
			const session = password();
			const results = await Promise.allSettled(Array.from({ length: 5 }, () => session.getToken()));
			expect(results.every((r) => r.status === 'rejected')).toBe(true);
			const reason = (results[0] as PromiseRejectedResult).reason as Error;
			expect(reason).toBeInstanceOf(SalesforceAuthError);
			expect(fake.tokenRequestCount()).toBe(1);

			const token = await session.getToken();
			expect(token.instanceUrl).toBe(fake.url);
			expect(fake.tokenRequestCount()).toBe(2);
			expect(session.loginCount).toBe(2);
		});

		it('after expiry: one refresh for many concurrent requests, then the new token is reused', async () => {
			const session = password();
			const api = new SalesforceApi({ session });
			const before = await session.getToken();
			expect(await countContacts(api)).toBe(1);
			fake.expireSessions();
			const counts = await Promise.all(Array.from({ length: 10 }, () => countContacts(api)));
			expect(counts).toEqual(Array(10).fill(1));
			expect(fake.tokenRequestCount()).toBe(2);
			const after = await session.getToken();
			expect(after.accessToken).not.toBe(before.accessToken);
			expect(await countContacts(api)).toBe(1);
			expect(fake.tokenRequestCount()).toBe(2);
		});

		it('JWT bearer re-signs an assertion after expiry', async () => {
			const session = jwtBearerSession({
				loginUrl: fake.url,
				consumerKey: APP.clientId,
				username: USER.username,
				privateKey: keys.privateKey,
			});
			const api = new SalesforceApi({ session });
			expect(await countContacts(api)).toBe(1);
			fake.expireSessions();
			expect(await countContacts(api)).toBe(1);
			expect(fake.tokenRequestCount()).toBe(2);
			expect(session.loginCount).toBe(2);
		});

		it('a stale refresh caller gets the token another caller already renewed', async () => {
			const session = password();
			const first = await session.getToken();
			const renewed = await session.refreshToken(first);
			expect(renewed.accessToken).not.toBe(first.accessToken);
			// A second caller that also saw `first` fail gets `renewed` without a login.
			expect((await session.refreshToken(first)).accessToken).toBe(renewed.accessToken);
			expect(fake.tokenRequestCount()).toBe(2);
		});
	});

	describe('staticTokenSession', () => {
		it('refreshes through the caller once for concurrent 401s', async () => {
			const login = password();
			const held = await login.getToken();
			let refreshes = 0;
			const session = staticTokenSession({
				accessToken: 'expired',
				instanceUrl: held.instanceUrl,
				refresh: async () => {
					refreshes++;
					return held;
				},
			});
			const api = new SalesforceApi({ session });
			const counts = await Promise.all(Array.from({ length: 5 }, () => countContacts(api)));
			expect(counts).toEqual(Array(5).fill(1));
			expect(refreshes).toBe(1);
		});

		it('without refresh: SalesforceAuthError saying to reconnect', async () => {
			const session = staticTokenSession({
				accessToken: 'expired',
				instanceUrl: fake.url,
				description: 'n8n OAuth2 credential',
			});
			const error = (await failure(new SalesforceApi({ session }).getJson('/limits'))) as Error;
			expect(error).toBeInstanceOf(SalesforceAuthError);
			expect(error.message).toContain('n8n OAuth2 credential');
			expect(error.message).toContain('Reconnect the credential.');
		});
	});
});

describe('token cache (counting stub)', () => {
	const token = (accessToken: string): SalesforceToken => ({
		accessToken,
		instanceUrl: 'https://acme.my.salesforce.com',
		issuedAt: 0,
	});

	beforeEach(() => clearSalesforceTokenCache());

	it('hashes the key parts, so a refresh token in them is not readable', () => {
		const key = tokenCacheKey(['refresh', PRODUCTION_LOGIN_URL, 'app', 'secret-rt']);
		expect(key).toMatch(/^[0-9a-f]{64}$/);
		expect(key).not.toContain('secret-rt');
		expect(tokenCacheKey(['refresh', PRODUCTION_LOGIN_URL, 'app', 'other-rt'])).not.toBe(key);
	});

	it('20 concurrent callers share one in-flight login, later ones get the cached token', async () => {
		const key = tokenCacheKey(['unit', 'single-flight']);
		let release!: (value: SalesforceToken) => void;
		const gate = new Promise<SalesforceToken>((resolve) => (release = resolve));
		let logins = 0;
		const login = () => {
			logins++;
			return gate;
		};
		const waiting = Array.from({ length: 20 }, () => cachedToken(key, login));
		release(token('A'));
		expect((await Promise.all(waiting)).map((t) => t.accessToken)).toEqual(Array(20).fill('A'));
		expect(await cachedToken(key, login)).toEqual(token('A'));
		expect(logins).toBe(1);
		expect(loginCountOf(key)).toBe(1);
	});

	it('a failed login is shared by the callers waiting on it and not cached', async () => {
		const key = tokenCacheKey(['unit', 'failure']);
		let calls = 0;
		const login = async () => {
			calls++;
			if (calls === 1) throw new Error('login server down');
			return token('B');
		};
		const first = await Promise.allSettled([cachedToken(key, login), cachedToken(key, login)]);
		expect(first.map((result) => result.status)).toEqual(['rejected', 'rejected']);
		expect(await cachedToken(key, login)).toEqual(token('B'));
		expect(calls).toBe(2);
	});

	it('renews only while the cached token is the failed one', async () => {
		const key = tokenCacheKey(['unit', 'renew']);
		await cachedToken(key, async () => token('old'));
		let renewals = 0;
		const renew = async () => {
			renewals++;
			await new Promise((resolve) => setTimeout(resolve, 5));
			return token(`new-${renewals}`);
		};
		const renewed = await Promise.all(
			Array.from({ length: 10 }, () => renewedToken(key, token('old'), renew)),
		);
		expect(renewed.map((t) => t.accessToken)).toEqual(Array(10).fill('new-1'));
		expect((await renewedToken(key, token('old'), renew)).accessToken).toBe('new-1');
		expect(renewals).toBe(1);
		expect((await renewedToken(key, token('new-1'), renew)).accessToken).toBe('new-2');
		expect(await cachedToken(key, async () => token('unused'))).toEqual(token('new-2'));
	});
});

describe('login error messages', () => {
	it('reads OAuth errors as jsforce throws them, and SOAP faults', () => {
		const oauth = Object.assign(new Error('authentication failure'), { name: 'invalid_grant' });
		expect(readLoginError(oauth)).toEqual({
			error: 'invalid_grant',
			description: 'authentication failure',
		});
		expect(readLoginError(new Error('INVALID_LOGIN: Invalid username, password'))).toEqual({
			error: 'INVALID_LOGIN',
			description: 'Invalid username, password',
		});
	});

	it('point at the cause: unknown client id at this login URL, login rate, unreachable server', () => {
		const unknown = loginFailure('jwt', 'JWT bearer for x', SANDBOX_LOGIN_URL, {
			error: 'invalid_client_id',
			message: 'client identifier invalid',
		});
		expect(unknown.code).toBe('salesforce_auth');
		expect(unknown.message).toContain(
			`Salesforce at ${SANDBOX_LOGIN_URL} does not know this client id`,
		);
		expect(unknown.message).toContain('certificate uploaded to the connected app');
		const storm = loginFailure('jwt', 'JWT bearer for x', PRODUCTION_LOGIN_URL, {
			error: 'invalid_grant',
			message: 'login rate exceeded',
		});
		expect(storm.message).toContain('login rate limit for this user was hit');
		const offline = loginFailure(
			'password',
			'OAuth 2.0 username-password for x',
			'https://acme.my.salesforce.com',
			Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } }),
		);
		expect(offline.message).toContain('could not reach https://acme.my.salesforce.com (ENOTFOUND)');
	});

	it('the password checklist names security token, IP ranges, client id/secret and sandbox', () => {
		const error = loginFailure(
			'password',
			'OAuth 2.0 username-password for x',
			PRODUCTION_LOGIN_URL,
			Object.assign(new Error('authentication failure'), { name: 'invalid_grant' }),
		);
		for (const part of ['security token', 'IP ranges', 'client id and secret', 'sandbox']) {
			expect(error.message).toContain(part);
		}
	});
});

describe('token cache keys', () => {
	it('a credential with the same user but a wrong password does not reuse a cached token', async () => {
		const fake = await FakeSalesforce.start();
		try {
			fake.addConnectedApp({ clientId: 'key-app', clientSecret: 'key-secret' });
			fake.addUser({ username: 'key@acme.example', password: 'right' });
			const login = {
				loginUrl: fake.url,
				clientId: 'key-app',
				clientSecret: 'key-secret',
				username: 'key@acme.example',
			};
			await passwordSession({ ...login, password: 'right' }).getToken();
			await expect(passwordSession({ ...login, password: 'wrong' }).getToken()).rejects.toThrow(
				SalesforceAuthError,
			);
			expect(fake.tokenRequestCount()).toBe(2);
		} finally {
			await fake.close();
		}
	});
});
