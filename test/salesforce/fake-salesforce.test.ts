/**
 * The fake Salesforce server, exercised through jsforce (the official client) and raw fetch,
 * so that tests built on it fail for the same reasons a real org would make them fail.
 */
import { Connection, OAuth2 } from '@jsforce/jsforce-node';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse/sync';

import { FakeSalesforce, trialContacts } from '../support/fake-salesforce';

delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

const VERSION = '62.0';
const START = Date.parse('2026-11-23T10:00:00Z');
const CLIENT_ID = 'fake-client-id';
const CLIENT_SECRET = 'fake-client-secret';
const USERNAME = 'sync@example.com';
const PASSWORD = 'hunter2';
const SECURITY_TOKEN = 'TOKEN123';

interface QueryPage {
	totalSize: number;
	done: boolean;
	nextRecordsUrl?: string;
	records: Array<Record<string, unknown>>;
}

interface ApiError extends Error {
	errorCode?: string;
	name: string;
}

async function caught(promise: PromiseLike<unknown>): Promise<ApiError> {
	try {
		await promise;
	} catch (error) {
		return error as ApiError;
	}
	throw new Error('expected the call to fail');
}

function defineCrm(fake: FakeSalesforce): void {
	fake.defineObject({ name: 'Account', fields: { Name: { type: 'string' } } });
	fake.defineObject({
		name: 'Contact',
		fields: {
			FirstName: { type: 'string' },
			LastName: { type: 'string' },
			Email: { type: 'email' },
			Score__c: { type: 'double' },
			Opted_In__c: { type: 'boolean' },
			Trial_End__c: { type: 'date' },
			Notes__c: { type: 'textarea', filterable: false },
			External_Key__c: { type: 'string' },
			AccountId: { type: 'reference', referenceTo: 'Account' },
		},
	});
	fake.defineObject({ name: 'Campaign', fields: { Name: { type: 'string' } } });
	fake.defineObject({
		name: 'CampaignMember',
		fields: {
			CampaignId: { type: 'reference', referenceTo: 'Campaign' },
			ContactId: { type: 'reference', referenceTo: 'Contact' },
			Status: { type: 'picklist' },
		},
	});
	fake.defineObject({
		name: 'Task',
		fields: {
			Subject: { type: 'string' },
			WhoId: { type: 'reference', referenceTo: 'Contact', relationshipName: 'Who' },
			Status: { type: 'picklist' },
		},
	});
}

async function startFake(
	options: Parameters<typeof FakeSalesforce.start>[0] = {},
): Promise<FakeSalesforce> {
	const fake = await FakeSalesforce.start({ now: START, ...options });
	fake.addConnectedApp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
	fake.addUser({ username: USERNAME, password: PASSWORD, securityToken: SECURITY_TOKEN });
	defineCrm(fake);
	return fake;
}

async function passwordLogin(fake: FakeSalesforce): Promise<Connection> {
	const conn = new Connection({
		oauth2: new OAuth2({ loginUrl: fake.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
		version: VERSION,
	});
	await conn.login(USERNAME, PASSWORD + SECURITY_TOKEN);
	return conn;
}

function refreshingConnection(fake: FakeSalesforce, refreshToken: string): Connection {
	return new Connection({
		oauth2: new OAuth2({ loginUrl: fake.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
		instanceUrl: fake.url,
		accessToken: 'stale-token',
		refreshToken,
		version: VERSION,
	});
}

async function postToken(fake: FakeSalesforce, params: Record<string, string>): Promise<Response> {
	return fetch(`${fake.url}/services/oauth2/token`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(params).toString(),
	});
}

describe('FakeSalesforce authentication', () => {
	let fake: FakeSalesforce;
	beforeEach(async () => {
		fake = await startFake();
	});
	afterEach(async () => {
		await fake.close();
	});

	it('logs in with the OAuth username-password grant and answers like Salesforce', async () => {
		const conn = await passwordLogin(fake);
		expect(conn.instanceUrl).toBe(fake.url);
		expect(conn.userInfo?.organizationId).toMatch(/^00D/);

		const response = await postToken(fake, {
			grant_type: 'password',
			client_id: CLIENT_ID,
			client_secret: CLIENT_SECRET,
			username: USERNAME,
			password: PASSWORD + SECURITY_TOKEN,
		});
		const body = (await response.json()) as Record<string, string>;
		expect(body).toMatchObject({
			instance_url: fake.url,
			token_type: 'Bearer',
			issued_at: String(START),
		});
		expect(body.id).toMatch(new RegExp(`^${fake.url}/id/00D\\w{15}/005\\w{15}$`));
		expect(body.signature).toEqual(expect.any(String));
		// Salesforce's username-password flow hands out no refresh token.
		expect(body.refresh_token).toBeUndefined();
		expect(fake.tokenRequestCount()).toBe(2);
	});

	it('rejects a wrong password (missing security token) with invalid_grant', async () => {
		const oauth2 = new OAuth2({
			loginUrl: fake.url,
			clientId: CLIENT_ID,
			clientSecret: CLIENT_SECRET,
		});
		const conn = new Connection({ oauth2, version: VERSION });
		const error = await caught(conn.login(USERNAME, PASSWORD));
		expect(error.name).toBe('invalid_grant');
		expect(error.message).toBe('authentication failure');

		const badClient = await postToken(fake, {
			grant_type: 'password',
			client_id: 'nope',
			client_secret: 'x',
			username: USERNAME,
			password: PASSWORD,
		});
		expect(badClient.status).toBe(400);
		expect(await badClient.json()).toEqual({
			error: 'invalid_client_id',
			error_description: 'client identifier invalid',
		});
	});

	it('logs in through the SOAP login() call when no client id is configured', async () => {
		const conn = new Connection({ loginUrl: fake.url, version: VERSION });
		const userInfo = await conn.login(USERNAME, PASSWORD + SECURITY_TOKEN);
		expect(userInfo.organizationId).toMatch(/^00D/);
		expect(conn.instanceUrl).toBe(fake.url);
		expect((await conn.query('SELECT COUNT() FROM Contact')).totalSize).toBe(0);

		const rejected = new Connection({ loginUrl: fake.url, version: VERSION });
		const error = await caught(rejected.login(USERNAME, 'wrong'));
		expect(error.message).toMatch(
			/^INVALID_LOGIN: Invalid username, password, security token; or user locked out\.$/,
		);
	});

	it('refreshes an expired session with the refresh token and retries the request', async () => {
		const refreshToken = fake.issueRefreshToken(CLIENT_ID, USERNAME);
		const conn = refreshingConnection(fake, refreshToken);
		const refreshed: string[] = [];
		conn.on('refresh', (accessToken: string) => refreshed.push(accessToken));

		expect((await conn.query('SELECT Id FROM Contact')).totalSize).toBe(0);
		expect(refreshed).toHaveLength(1);

		fake.expireSessions();
		expect((await conn.query('SELECT Id FROM Contact')).done).toBe(true);
		expect(refreshed).toHaveLength(2);
		expect(refreshed[1]).not.toBe(refreshed[0]);
		expect(fake.requests.filter((entry) => entry.status === 401)).toHaveLength(2);
	});

	it('rotates refresh tokens when asked, revoking the old one', async () => {
		fake.rotateRefreshTokens(true);
		const first = fake.issueRefreshToken(CLIENT_ID, USERNAME);
		const grant = {
			grant_type: 'refresh_token',
			client_id: CLIENT_ID,
			client_secret: CLIENT_SECRET,
		};
		const response = await postToken(fake, { ...grant, refresh_token: first });
		const body = (await response.json()) as Record<string, string>;
		expect(body.refresh_token).toEqual(expect.any(String));
		expect(body.refresh_token).not.toBe(first);

		const reused = await postToken(fake, { ...grant, refresh_token: first });
		expect(reused.status).toBe(400);
		expect(await reused.json()).toEqual({
			error: 'invalid_grant',
			error_description: 'expired access/refresh token',
		});
	});

	it('exchanges an RS256 JWT bearer assertion signed with the app key', async () => {
		const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
		fake.addConnectedApp({
			clientId: 'jwt-app',
			clientSecret: 'unused',
			publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
		});
		const assertion = (claims: Record<string, unknown>, key = privateKey) => {
			const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
			const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims)}`;
			return `${unsigned}.${sign('RSA-SHA256', Buffer.from(unsigned), key).toString('base64url')}`;
		};
		const exchange = (jwt: string) =>
			postToken(fake, {
				grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
				assertion: jwt,
			});
		const claims = {
			iss: 'jwt-app',
			sub: USERNAME,
			aud: fake.url,
			exp: Math.floor(START / 1000) + 180,
		};

		const ok = await exchange(assertion(claims));
		expect(ok.status).toBe(200);
		const { access_token: accessToken } = (await ok.json()) as { access_token: string };
		const conn = new Connection({ instanceUrl: fake.url, accessToken, version: VERSION });
		expect((await conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(0);

		expect(
			(await exchange(assertion({ ...claims, aud: 'https://login.salesforce.com' }))).status,
		).toBe(200);
		const expired = await exchange(assertion({ ...claims, exp: Math.floor(START / 1000) - 1 }));
		expect(await expired.json()).toMatchObject({ error: 'invalid_grant' });
		const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
		const forged = await exchange(assertion(claims, otherKey));
		expect(await forged.json()).toEqual({
			error: 'invalid_grant',
			error_description: 'invalid assertion',
		});
		const wrongAudience = await exchange(assertion({ ...claims, aud: 'https://evil.example' }));
		expect(await wrongAudience.json()).toEqual({
			error: 'invalid_grant',
			error_description: 'audience is invalid',
		});
	});

	it('runs the web server flow with PKCE: authorize redirects with a one-time code, the token needs the verifier', async () => {
		const verifier = 'a-verifier-of-the-right-length-0123456789abcdefghij';
		const challenge = createHash('sha256').update(verifier).digest('base64url');
		const redirectUri = 'http://127.0.0.1:1/callback';
		const authorize = (extra: Record<string, string> = {}) =>
			fetch(
				`${fake.url}/services/oauth2/authorize?${new URLSearchParams({
					response_type: 'code',
					client_id: CLIENT_ID,
					redirect_uri: redirectUri,
					state: 'xyz',
					code_challenge: challenge,
					code_challenge_method: 'S256',
					...extra,
				}).toString()}`,
				{ redirect: 'manual' },
			);
		// Nobody logged in and allowed access: the redirect says access_denied.
		const denied = new URL((await authorize()).headers.get('location')!);
		expect(Object.fromEntries(denied.searchParams)).toMatchObject({
			error: 'access_denied',
			state: 'xyz',
		});

		fake.approveAuthorizationAs(USERNAME);
		const answer = await authorize();
		expect(answer.status).toBe(302);
		const back = new URL(answer.headers.get('location')!);
		expect(`${back.origin}${back.pathname}`).toBe(redirectUri);
		expect(back.searchParams.get('state')).toBe('xyz');
		const code = back.searchParams.get('code')!;
		const exchange = (params: Record<string, string>, basic = true) =>
			fetch(`${fake.url}/services/oauth2/token`, {
				method: 'POST',
				headers: {
					'content-type': 'application/x-www-form-urlencoded',
					...(basic
						? {
								authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
							}
						: {}),
				},
				body: new URLSearchParams({
					grant_type: 'authorization_code',
					redirect_uri: redirectUri,
					...params,
				}).toString(),
			});

		// The wrong verifier spends the code: it is good for one exchange only.
		expect(await (await exchange({ code, code_verifier: 'wrong' })).json()).toEqual({
			error: 'invalid_grant',
			error_description: 'invalid code verifier',
		});
		expect(await (await exchange({ code, code_verifier: verifier })).json()).toMatchObject({
			error: 'invalid_grant',
		});
		// Without the client secret (no Basic header, none in the body): refused.
		const code2 = new URL((await authorize()).headers.get('location')!).searchParams.get('code')!;
		expect(
			await (
				await exchange({ code: code2, code_verifier: verifier, client_id: CLIENT_ID }, false)
			).json(),
		).toMatchObject({ error: 'invalid_client' });

		const code3 = new URL((await authorize()).headers.get('location')!).searchParams.get('code')!;
		const ok = await exchange({ code: code3, code_verifier: verifier });
		expect(ok.status).toBe(200);
		const token = (await ok.json()) as { access_token: string; refresh_token: string };
		expect(token.refresh_token).toBeTruthy();
		const conn = new Connection({
			instanceUrl: fake.url,
			accessToken: token.access_token,
			version: VERSION,
		});
		expect((await conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(0);
		const refreshed = await postToken(fake, {
			grant_type: 'refresh_token',
			refresh_token: token.refresh_token,
			client_id: CLIENT_ID,
			client_secret: CLIENT_SECRET,
		});
		expect(refreshed.status).toBe(200);
	});

	it('answers 401 INVALID_SESSION_ID for unknown tokens, as jsforce reports it', async () => {
		const conn = new Connection({ instanceUrl: fake.url, accessToken: 'bogus', version: VERSION });
		const error = await caught(conn.query('SELECT Id FROM Contact'));
		expect(error.errorCode).toBe('INVALID_SESSION_ID');
		expect(error.message).toBe('Session expired or invalid');
	});

	it('serves versions, limits, userinfo and the Date / Sforce-Limit-Info headers', async () => {
		const conn = await passwordLogin(fake);
		const versions = await fetch(`${fake.url}/services/data/`).then((response) => response.json());
		expect(versions).toContainEqual({
			label: `v${VERSION}`,
			url: `/services/data/v${VERSION}`,
			version: VERSION,
		});

		const headers = { Authorization: `Bearer ${conn.accessToken}` };
		fake.advance(60_000);
		const limits = await fetch(`${fake.url}/services/data/v${VERSION}/limits`, { headers });
		expect(limits.headers.get('date')).toBe(new Date(START + 60_000).toUTCString());
		expect(limits.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/15000$/);
		const body = (await limits.json()) as { DailyApiRequests: { Max: number; Remaining: number } };
		expect(body.DailyApiRequests.Max).toBe(15_000);
		expect(body.DailyApiRequests.Remaining).toBe(15_000 - fake.apiRequestCount());

		const userInfo = await fetch(`${fake.url}/services/oauth2/userinfo`, { headers }).then(
			(response) => response.json(),
		);
		expect(userInfo).toMatchObject({
			preferred_username: USERNAME,
			organization_id: expect.stringMatching(/^00D/),
		});
	});
});

describe('FakeSalesforce REST query', () => {
	let fake: FakeSalesforce;
	let conn: Connection;
	beforeEach(async () => {
		fake = await startFake();
		conn = await passwordLogin(fake);
	});
	afterEach(async () => {
		await fake.close();
	});

	it('describes objects and 404s unknown ones', async () => {
		const describe = await conn.sobject('Contact').describe();
		const accountId = describe.fields.find((field) => field.name === 'AccountId');
		expect(accountId).toMatchObject({
			type: 'reference',
			referenceTo: ['Account'],
			relationshipName: 'Account',
			filterable: true,
			nillable: true,
		});
		expect(describe.fields.find((field) => field.name === 'Notes__c')?.filterable).toBe(false);
		expect(describe.fields.map((field) => field.name)).toEqual(
			expect.arrayContaining([
				'Id',
				'SystemModstamp',
				'IsDeleted',
				'CreatedDate',
				'LastModifiedDate',
			]),
		);
		const error = await caught(conn.request(`/services/data/v${VERSION}/sobjects/Nope/describe`));
		expect(error.errorCode).toBe('NOT_FOUND');
	});

	it('pages 5,000 records with queryMore, keeping equal SystemModstamps in order across page boundaries', async () => {
		const expected: Array<{ Id: string; SystemModstamp: string }> = [];
		for (let index = 0; index < 5000; index++) {
			// Seven rows per stamp: the 2000-record page boundary falls inside a group of equal stamps.
			if (index % 7 === 0) fake.advance(1000);
			const id = fake.insert('Contact', { LastName: `Contact ${index}` });
			expected.push({
				Id: id,
				SystemModstamp: new Date(fake.now()).toISOString().replace('Z', '+0000'),
			});
		}
		expected.sort(
			(a, b) => a.SystemModstamp.localeCompare(b.SystemModstamp) || (a.Id < b.Id ? -1 : 1),
		);

		const soql = 'SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id';
		const pages: QueryPage[] = [(await conn.query(soql)) as QueryPage];
		// Writes after the first page must not shift the cursor's later pages.
		fake.update('Contact', expected[0].Id, { LastName: 'moved to the end' });
		fake.insert('Contact', { LastName: 'late arrival' });
		while (!pages[pages.length - 1].done) {
			pages.push((await conn.queryMore(pages[pages.length - 1].nextRecordsUrl!)) as QueryPage);
		}
		expect(pages.map((page) => page.records.length)).toEqual([2000, 2000, 1000]);
		expect(pages.every((page) => page.totalSize === 5000)).toBe(true);
		expect(pages[0].nextRecordsUrl).toMatch(
			new RegExp(`/services/data/v${VERSION}/query/01g\\w+-2000$`),
		);
		const rows = pages.flatMap((page) =>
			page.records.map((record) => ({ Id: record.Id, SystemModstamp: record.SystemModstamp })),
		);
		expect(rows).toEqual(expected);
		expect(rows[1999].SystemModstamp).toBe(rows[2000].SystemModstamp);
	});

	it('uses Sforce-Query-Options batchSize for the page size', async () => {
		for (let index = 0; index < 450; index++) fake.insert('Account', { Name: `A${index}` });
		const page = await conn.request<QueryPage>({
			method: 'GET',
			url: `/services/data/v${VERSION}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`,
			headers: { 'Sforce-Query-Options': 'batchSize=200' },
		});
		expect(page.records).toHaveLength(200);
		expect(page.nextRecordsUrl).toMatch(/-200$/);
	});

	it('hides deleted records from query and shows them to queryAll', async () => {
		const kept = fake.insert('Contact', { LastName: 'Kept' });
		const gone = fake.insert('Contact', { LastName: 'Gone' });
		fake.advance(5000);
		fake.delete('Contact', gone);

		const live = await conn.query('SELECT Id FROM Contact');
		expect(live.records.map((record) => record.Id)).toEqual([kept]);
		const all = await conn.query(
			'SELECT Id, IsDeleted, SystemModstamp FROM Contact WHERE IsDeleted = true',
			{ scanAll: true },
		);
		expect(all.records).toEqual([
			expect.objectContaining({
				Id: gone,
				IsDeleted: true,
				SystemModstamp: '2026-11-23T10:00:05.000+0000',
			}),
		]);
		expect(fake.records('Contact').find((record) => record.Id === gone)?.IsDeleted).toBe(true);
	});

	it('nests relationship fields and answers null for empty references', async () => {
		const account = fake.insert('Account', { Name: 'Acme' });
		const withAccount = fake.insert('Contact', { LastName: 'Ng', AccountId: account });
		fake.insert('Contact', { LastName: 'Solo' });
		const task = fake.insert('Task', { Subject: 'Call', WhoId: withAccount });

		const result = await conn.query(
			'SELECT LastName, Account.Name, Account.Id FROM Contact ORDER BY LastName',
		);
		expect(result.records).toEqual([
			{
				attributes: {
					type: 'Contact',
					url: expect.stringMatching(/^\/services\/data\/v62\.0\/sobjects\/Contact\/003/),
				},
				LastName: 'Ng',
				Account: {
					attributes: {
						type: 'Account',
						url: `/services/data/v${VERSION}/sobjects/Account/${account}`,
					},
					Name: 'Acme',
					Id: account,
				},
			},
			{ attributes: expect.any(Object), LastName: 'Solo', Account: null },
		]);
		const twoHops = await conn.query(
			`SELECT Who.Account.Name FROM Task WHERE Who.Account.Name = 'ACME'`,
		);
		expect(twoHops.records[0]).toMatchObject({ Who: { Account: { Name: 'Acme' } } });
		expect(twoHops.records[0].attributes).toMatchObject({
			url: `/services/data/v${VERSION}/sobjects/Task/${task}`,
		});
	});

	it('counts with SELECT COUNT()', async () => {
		for (let index = 0; index < 12; index++)
			fake.insert('Contact', { LastName: `C${index}`, Score__c: index });
		const result = await conn.query(
			'SELECT COUNT() FROM Contact WHERE Score__c >= 4 AND (Score__c < 10 OR LastName = null)',
		);
		expect(result).toMatchObject({ totalSize: 6, done: true, records: [] });
	});

	it('evaluates LIKE with wildcards, escapes, IN, NOT IN, NOT and null comparisons like SOQL', async () => {
		const names = ['50% off', '50 cents', 'a_b', 'axb', "O'Brien", 'back\\slash', 'Zoë 東京'];
		for (const name of names)
			fake.insert('Contact', { LastName: name, Email: name === 'axb' ? null : 'x@example.com' });
		const lastNames = async (where: string) =>
			(
				await conn.query(`SELECT LastName FROM Contact WHERE ${where} ORDER BY LastName`)
			).records.map((record) => record.LastName);

		expect(await lastNames(`LastName LIKE '50\\%%'`)).toEqual(['50% off']);
		expect(await lastNames(`LastName LIKE '50%'`)).toEqual(['50 cents', '50% off']);
		expect(await lastNames(`LastName LIKE 'a\\_b'`)).toEqual(['a_b']);
		expect(await lastNames(`LastName LIKE 'a_b'`)).toEqual(['a_b', 'axb']);
		expect(await lastNames(`LastName = 'o\\'brien'`)).toEqual(["O'Brien"]);
		expect(await lastNames(`LastName = 'back\\\\slash'`)).toEqual(['back\\slash']);
		expect(await lastNames(`LastName LIKE '%東京'`)).toEqual(['Zoë 東京']);
		expect(await lastNames(`LastName IN ('axb', 'A_B')`)).toEqual(['a_b', 'axb']);
		expect(await lastNames(`Email = null`)).toEqual(['axb']);
		expect(await lastNames(`NOT LastName LIKE '%a%' AND Email != null`)).toEqual([
			'50 cents',
			'50% off',
			"O'Brien",
			'Zoë 東京',
		]);
		expect(
			await lastNames(`LastName NOT IN ('axb', 'a_b', '50 cents', '50% off', 'back\\\\slash')`),
		).toEqual(["O'Brien", 'Zoë 東京']);
		// Comparisons other than = / != never match null.
		expect(await lastNames(`Email > 'a'`)).toHaveLength(6);
	});

	it('filters with semi-joins on CampaignMember', async () => {
		const campaign = fake.insert('Campaign', { Name: 'Trial' });
		const member = fake.insert('Contact', { LastName: 'Member' });
		const nonMember = fake.insert('Contact', { LastName: 'Outsider' });
		fake.insert('CampaignMember', { CampaignId: campaign, ContactId: member, Status: 'Sent' });
		const inCampaign = await conn.query(
			`SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM CampaignMember WHERE CampaignId = '${campaign.slice(0, 15)}')`,
		);
		expect(inCampaign.records.map((record) => record.Id)).toEqual([member]);
		const notIn = await conn.query(
			`SELECT Id FROM Contact WHERE Id NOT IN (SELECT ContactId FROM CampaignMember)`,
		);
		expect(notIn.records.map((record) => record.Id)).toEqual([nonMember]);
	});

	it('moves date literals with the fake clock, for date and datetime fields', async () => {
		fake.insert('Contact', { LastName: 'Ends today', Trial_End__c: '2026-11-23' });
		fake.insert('Contact', { LastName: 'Ends in 2 days', Trial_End__c: '2026-11-25' });
		fake.insert('Contact', { LastName: 'Ends in 5 days', Trial_End__c: '2026-11-28' });
		const endingSoon = async () =>
			(
				await conn.query(
					'SELECT LastName FROM Contact WHERE Trial_End__c = NEXT_N_DAYS:3 ORDER BY Trial_End__c',
				)
			).records.map((record) => record.LastName);
		expect(await endingSoon()).toEqual(['Ends in 2 days']);
		fake.advance(3 * 86_400_000);
		expect(await endingSoon()).toEqual(['Ends in 5 days']);

		const today = await conn.query('SELECT COUNT() FROM Contact WHERE Trial_End__c < TODAY');
		expect(today.totalSize).toBe(2);
		const createdToday = await conn.query('SELECT COUNT() FROM Contact WHERE CreatedDate = TODAY');
		expect(createdToday.totalSize).toBe(0);
		const createdRecently = await conn.query(
			'SELECT COUNT() FROM Contact WHERE CreatedDate = LAST_N_DAYS:3 AND CreatedDate < TODAY',
		);
		expect(createdRecently.totalSize).toBe(3);
		const byDatetime = await conn.query(
			'SELECT COUNT() FROM Contact WHERE CreatedDate >= 2026-11-23T10:00:00.000+0000 AND Trial_End__c >= 2026-11-25',
		);
		expect(byDatetime.totalSize).toBe(2);
	});

	it('reports INVALID_FIELD, MALFORMED_QUERY and INVALID_TYPE the way jsforce surfaces them', async () => {
		const unknownField = await caught(conn.query('SELECT Id, Foo FROM Contact'));
		expect(unknownField.errorCode).toBe('INVALID_FIELD');
		expect(unknownField.message).toContain("No such column 'Foo' on entity 'Contact'");
		expect(unknownField.message).toContain('ERROR at Row:1:Column:12');

		const badRelationship = await caught(conn.query('SELECT Owner.Name FROM Contact'));
		expect(badRelationship.errorCode).toBe('INVALID_FIELD');
		expect(badRelationship.message).toContain("Didn't understand relationship 'Owner'");

		const malformed = await caught(conn.query('SELECT Id FROM Contact WHERE LastName = '));
		expect(malformed.errorCode).toBe('MALFORMED_QUERY');
		const badEscape = await caught(conn.query(`SELECT Id FROM Contact WHERE LastName = 'a\\qb'`));
		expect(badEscape.errorCode).toBe('MALFORMED_QUERY');
		expect(badEscape.message).toContain('Illegal escape sequence');

		const unknownObject = await caught(conn.query('SELECT Id FROM Nope__c'));
		expect(unknownObject.errorCode).toBe('INVALID_TYPE');
		expect(unknownObject.message).toContain("sObject type 'Nope__c' is not supported");

		const quotedDate = await caught(
			conn.query(`SELECT Id FROM Contact WHERE Trial_End__c = '2026-11-23'`),
		);
		expect(quotedDate.errorCode).toBe('INVALID_FIELD');
		expect(quotedDate.message).toContain(
			'must be of type date and should not be enclosed in quotes',
		);

		const longText = await caught(conn.query(`SELECT Id FROM Contact WHERE Notes__c = 'x'`));
		expect(longText.message).toContain("field 'Notes__c' can not be filtered");
	});

	it('injects a 429 with Retry-After, which jsforce retries for GETs', async () => {
		fake.failNext(
			{ method: 'GET', pathIncludes: '/query' },
			{
				status: 429,
				body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }],
				headers: { 'Retry-After': '1' },
			},
		);
		const raw = await fetch(
			`${fake.url}/services/data/v${VERSION}/query?q=SELECT+Id+FROM+Contact`,
			{
				headers: { Authorization: `Bearer ${conn.accessToken}` },
			},
		);
		expect(raw.status).toBe(429);
		expect(raw.headers.get('retry-after')).toBe('1');

		fake.failNext({ pathIncludes: '/query' }, { status: 429, headers: { 'Retry-After': '1' } });
		expect((await conn.query('SELECT Id FROM Contact')).done).toBe(true);
		expect(fake.requests.slice(-2).map((entry) => entry.status)).toEqual([429, 200]);
	});

	it('expires the session mid-paging; jsforce refreshes and the cursor carries on', async () => {
		for (let index = 0; index < 4500; index++) fake.insert('Account', { Name: `A${index}` });
		const refreshing = refreshingConnection(fake, fake.issueRefreshToken(CLIENT_ID, USERNAME));
		let refreshes = 0;
		refreshing.on('refresh', () => refreshes++);
		const first = await refreshing.query('SELECT Id FROM Account');
		expect(refreshes).toBe(1);
		fake.expireSessionsAfter(1);
		const second = await refreshing.queryMore(first.nextRecordsUrl!);
		const third = await refreshing.queryMore(second.nextRecordsUrl!);
		expect(refreshes).toBe(2);
		expect(third.done).toBe(true);
		const ids = new Set(
			[...first.records, ...second.records, ...third.records].map((record) => record.Id),
		);
		expect(ids.size).toBe(4500);
	});
});

describe('FakeSalesforce Bulk API 2.0 query', () => {
	let fake: FakeSalesforce;
	let conn: Connection;
	const jobsUrl = `/services/data/v${VERSION}/jobs/query`;
	beforeEach(async () => {
		fake = await startFake({ bulkPollsUntilComplete: 2 });
		conn = await passwordLogin(fake);
	});
	afterEach(async () => {
		await fake.close();
	});

	interface JobInfo {
		id: string;
		state: string;
		object: string;
		operation: string;
		errorMessage?: string;
		numberRecordsProcessed?: number;
	}

	async function fetchResults(jobId: string, query: string) {
		const response = await fetch(`${fake.url}${jobsUrl}/${jobId}/results${query}`, {
			headers: { Authorization: `Bearer ${conn.accessToken}` },
		});
		return { response, text: await response.text() };
	}

	it('runs a job to JobComplete and pages CSV results by locator', async () => {
		const account = fake.insert('Account', { Name: 'Acme, "The" Company' });
		fake.insert('Contact', {
			FirstName: 'Zoë',
			LastName: '東京',
			AccountId: account,
			Notes__c: 'line one\nline two',
			Opted_In__c: true,
			Score__c: 1.5,
		});
		fake.insert('Contact', { FirstName: null, LastName: 'Plain', Opted_In__c: false });
		fake.insert('Contact', { LastName: 'Third' });
		const deleted = fake.insert('Contact', { LastName: 'Deleted' });
		fake.delete('Contact', deleted);

		const created = await conn.request<JobInfo>({
			method: 'POST',
			url: jobsUrl,
			body: JSON.stringify({
				operation: 'query',
				query:
					'SELECT Id, FirstName, LastName, Account.Name, Notes__c, Opted_In__c, Score__c, SystemModstamp FROM Contact ORDER BY LastName DESC',
			}),
			headers: { 'content-type': 'application/json' },
		});
		expect(created).toMatchObject({
			operation: 'query',
			object: 'Contact',
			state: 'UploadComplete',
			contentType: 'CSV',
		});
		expect(created.id).toMatch(/^750/);

		const early = await fetchResults(created.id, '');
		expect(early.response.status).toBe(400);

		const states: string[] = [];
		let job: JobInfo;
		do {
			job = await conn.request<JobInfo>(`${jobsUrl}/${created.id}`);
			states.push(job.state);
		} while (job.state !== 'JobComplete');
		expect(states).toEqual(['InProgress', 'JobComplete']);
		expect(job.numberRecordsProcessed).toBe(3);

		const first = await fetchResults(created.id, '?maxRecords=2');
		expect(first.response.headers.get('content-type')).toBe('text/csv');
		expect(first.response.headers.get('sforce-numberofrecords')).toBe('2');
		const locator = first.response.headers.get('sforce-locator')!;
		expect(locator).not.toBe('null');
		const firstRows = parse(first.text, { columns: true }) as Array<Record<string, string>>;
		expect(Object.keys(firstRows[0])).toEqual([
			'Id',
			'FirstName',
			'LastName',
			'Account.Name',
			'Notes__c',
			'Opted_In__c',
			'Score__c',
			'SystemModstamp',
		]);
		expect(firstRows[0]).toMatchObject({
			FirstName: 'Zoë',
			LastName: '東京',
			'Account.Name': 'Acme, "The" Company',
			Notes__c: 'line one\nline two',
			Opted_In__c: 'true',
			Score__c: '1.5',
			SystemModstamp: '2026-11-23T10:00:00.000Z',
		});
		expect(first.text).toContain('"Acme, ""The"" Company"');
		// Nulls are empty, unquoted fields.
		expect(first.text).toMatch(/\n"003\w{15}",,"Third",,,"false",,"2026-11-23T10:00:00.000Z"\n$/);

		const second = await fetchResults(
			created.id,
			`?maxRecords=2&locator=${encodeURIComponent(locator)}`,
		);
		expect(second.response.headers.get('sforce-locator')).toBe('null');
		expect(second.response.headers.get('sforce-numberofrecords')).toBe('1');
		const secondRows = parse(second.text, { columns: true }) as Array<Record<string, string>>;
		expect(secondRows).toEqual([
			expect.objectContaining({
				FirstName: '',
				LastName: 'Plain',
				Opted_In__c: 'false',
				'Account.Name': '',
			}),
		]);

		// jsforce parses text/csv bodies into records itself.
		const parsed = await conn.request<Array<Record<string, string>>>(
			`${jobsUrl}/${created.id}/results`,
		);
		expect(parsed.map((row) => row.LastName)).toEqual(['東京', 'Third', 'Plain']);
	});

	it('includes deleted rows for queryAll jobs and reports query errors at creation', async () => {
		const gone = fake.insert('Contact', { LastName: 'Gone' });
		fake.delete('Contact', gone);
		const created = await conn.request<JobInfo>({
			method: 'POST',
			url: jobsUrl,
			body: JSON.stringify({ operation: 'queryAll', query: 'SELECT Id, IsDeleted FROM Contact' }),
			headers: { 'content-type': 'application/json' },
		});
		await conn.request(`${jobsUrl}/${created.id}`);
		await conn.request(`${jobsUrl}/${created.id}`);
		const { text } = await fetchResults(created.id, '');
		expect(text).toBe(`"Id","IsDeleted"\n"${gone}","true"\n`);

		const invalid = await caught(
			conn.request({
				method: 'POST',
				url: jobsUrl,
				body: JSON.stringify({ operation: 'query', query: 'SELECT Nope FROM Contact' }),
				headers: { 'content-type': 'application/json' },
			}),
		);
		expect(invalid.errorCode).toBe('INVALID_FIELD');
	});

	it('fails the next job with failBulkJob', async () => {
		fake.failBulkJob('INVALID_FIELD: simulated failure');
		const created = await conn.request<JobInfo>({
			method: 'POST',
			url: jobsUrl,
			body: JSON.stringify({ operation: 'query', query: 'SELECT Id FROM Contact' }),
			headers: { 'content-type': 'application/json' },
		});
		await conn.request(`${jobsUrl}/${created.id}`);
		const job = await conn.request<JobInfo>(`${jobsUrl}/${created.id}`);
		expect(job).toMatchObject({
			state: 'Failed',
			errorMessage: 'INVALID_FIELD: simulated failure',
		});
		expect((await fetchResults(created.id, '')).response.status).toBe(400);
	});
});

describe('FakeSalesforce sObject Collections', () => {
	let fake: FakeSalesforce;
	let conn: Connection;
	const collections = `/services/data/v${VERSION}/composite/sobjects`;
	beforeEach(async () => {
		fake = await startFake();
		conn = await passwordLogin(fake);
	});
	afterEach(async () => {
		await fake.close();
	});

	const send = <T>(method: string, url: string, body: unknown) =>
		conn.request<T>({
			method: method as 'POST',
			url,
			body: JSON.stringify(body),
			headers: { 'content-type': 'application/json' },
		});

	it('creates, updates and upserts per record, in order', async () => {
		const contact = fake.insert('Contact', { LastName: 'Ng' });
		const created = await send<Array<{ id: string; success: boolean; errors: unknown[] }>>(
			'POST',
			collections,
			{
				allOrNone: false,
				records: [
					{
						attributes: { type: 'Task' },
						Subject: 'Entered segment',
						WhoId: contact,
						Status: 'Completed',
					},
					{ attributes: { type: 'Task' }, Subject: 'Bad', Nope__c: 1 },
				],
			},
		);
		expect(created[0]).toEqual({
			id: expect.stringMatching(/^00T\w{15}$/),
			success: true,
			errors: [],
		});
		expect(created[1]).toEqual({
			id: null,
			success: false,
			errors: [
				{
					statusCode: 'INVALID_FIELD',
					message: "No such column 'Nope__c' on sobject of type Task",
					fields: ['Nope__c'],
				},
			],
		});
		expect(fake.records('Task')).toHaveLength(1);

		fake.advance(1000);
		const updated = await send<Array<{ success: boolean }>>('PATCH', collections, {
			allOrNone: true,
			records: [{ attributes: { type: 'Task' }, Id: created[0].id, Status: 'Open' }],
		});
		expect(updated).toEqual([{ id: created[0].id, success: true, errors: [] }]);
		expect(fake.records('Task')[0]).toMatchObject({
			Status: 'Open',
			SystemModstamp: '2026-11-23T10:00:01.000+0000',
		});

		const upserted = await send<Array<{ created: boolean; id: string }>>(
			'PATCH',
			`${collections}/Contact/External_Key__c`,
			{
				allOrNone: false,
				records: [
					{ attributes: { type: 'Contact' }, External_Key__c: 'K-1', LastName: 'First' },
					{ attributes: { type: 'Contact' }, External_Key__c: 'K-1', LastName: 'Ignored' },
				],
			},
		);
		expect(upserted.map((result) => result.created)).toEqual([true, true]);
		const again = await send<Array<{ created: boolean; id: string }>>(
			'PATCH',
			`${collections}/Contact/External_Key__c`,
			{
				records: [{ attributes: { type: 'Contact' }, External_Key__c: 'K-2', LastName: 'Second' }],
			},
		);
		const update = await send<Array<{ created: boolean; id: string }>>(
			'PATCH',
			`${collections}/Contact/External_Key__c`,
			{
				records: [
					{ attributes: { type: 'Contact' }, External_Key__c: 'K-2', LastName: 'Second, updated' },
				],
			},
		);
		expect(update).toEqual([{ id: again[0].id, success: true, errors: [], created: false }]);
	});

	it('works with jsforce sobject create / update / retrieve / destroy and getDeleted', async () => {
		const created = await conn.sobject('Task').create([{ Subject: 'One' }, { Subject: 'Two' }]);
		expect(created.map((result) => result.success)).toEqual([true, true]);
		const ids = created.map((result) => (result as { id: string }).id);
		await conn.sobject('Task').update({ Id: ids[0], Status: 'Done' });
		expect(await conn.sobject('Task').retrieve(ids[0])).toMatchObject({
			Subject: 'One',
			Status: 'Done',
		});
		fake.advance(1000);
		await conn.sobject('Task').destroy(ids[1]);
		const deleted = await conn.sobject('Task').deleted(new Date(START), new Date(START + 5000));
		expect(deleted.deletedRecords).toEqual([
			{ id: ids[1], deletedDate: '2026-11-23T10:00:01.000+0000' },
		]);
	});

	it('rolls everything back with allOrNone and rejects more than 200 records', async () => {
		const results = await send<Array<{ success: boolean; errors: Array<{ statusCode: string }> }>>(
			'POST',
			collections,
			{
				allOrNone: true,
				records: [
					{ attributes: { type: 'Task' }, Subject: 'Fine' },
					{ attributes: { type: 'Task' }, SystemModstamp: '2026-01-01T00:00:00Z' },
				],
			},
		);
		expect(results.map((result) => result.errors[0].statusCode)).toEqual([
			'ALL_OR_NONE_OPERATION_ROLLED_BACK',
			'INVALID_FIELD_FOR_INSERT_UPDATE',
		]);
		expect(fake.records('Task')).toHaveLength(0);

		const tooMany = await caught(
			send('POST', collections, {
				records: Array.from({ length: 201 }, () => ({
					attributes: { type: 'Task' },
					Subject: 'x',
				})),
			}),
		);
		expect(tooMany.errorCode).toBe('EXCEEDED_ID_LIMIT');
	});
});

describe('FakeSalesforce generated data', () => {
	let fake: FakeSalesforce;
	let conn: Connection;
	beforeAll(async () => {
		fake = await startFake();
		const sets = trialContacts({ count: 50_000, seed: 7, now: fake.now() });
		for (const set of sets)
			fake.defineGeneratedObject(set.schema, set.count, set.generate, set.options);
		conn = await passwordLogin(fake);
	});
	afterAll(async () => {
		await fake.close();
	});

	it('serves generated rows with relationships and overlays writes and bulk modifications', async () => {
		expect((await conn.query('SELECT COUNT() FROM Contact')).totalSize).toBe(50_000);
		const first = await conn.query(
			'SELECT Id, Email, Time_Zone__c, Trial_End__c, Account.Name FROM Contact ORDER BY SystemModstamp DESC, Id LIMIT 3',
		);
		expect(first.records).toHaveLength(3);
		expect(first.records[0]).toMatchObject({
			Email: expect.stringMatching(/@example\.com$/),
			Account: { Name: expect.any(String) },
		});

		const id = first.records[0].Id as string;
		fake.advance(60_000);
		fake.update('Contact', id, { Email: 'changed@example.com' });
		const changed = await conn.query(
			`SELECT Email, SystemModstamp FROM Contact WHERE Id = '${id}'`,
		);
		expect(changed.records[0]).toMatchObject({
			Email: 'changed@example.com',
			SystemModstamp: '2026-11-23T10:01:00.000+0000',
		});

		fake.advance(60_000);
		const modified = fake.modifyPercent('Contact', 10, 3);
		expect(modified).toBeGreaterThan(4000);
		expect(modified).toBeLessThan(6000);
		const since = await conn.query(
			'SELECT COUNT() FROM Contact WHERE SystemModstamp >= 2026-11-23T10:02:00Z',
		);
		expect(since.totalSize).toBe(modified);
	});

	it('answers a SystemModstamp range through its index exactly as a full scan does', async () => {
		fake.advance(60_000);
		const floor = new Date(fake.now() - 30 * 86_400_000).toISOString().replace('.000Z', 'Z');
		const inserted = fake.insert('Contact', { Email: 'new@example.com' });
		// A top-level AND uses the index; the same range inside an OR makes the fake scan every row.
		const indexed = await conn.query(
			`SELECT Id FROM Contact WHERE SystemModstamp >= ${floor} AND Email != null ORDER BY SystemModstamp, Id`,
			{ autoFetch: true, maxFetch: 100_000 },
		);
		const scanned = await conn.query(
			`SELECT Id FROM Contact WHERE (SystemModstamp >= ${floor} OR Id = null) AND Email != null ORDER BY SystemModstamp, Id`,
			{ autoFetch: true, maxFetch: 100_000 },
		);
		expect(indexed.records.length).toBeGreaterThan(10_000);
		expect(indexed.records.map((r) => r.Id)).toEqual(scanned.records.map((r) => r.Id));
		expect(indexed.records.map((r) => r.Id)).toContain(inserted);
	});
});

describe('FakeSalesforce in a child process (serve.ts)', () => {
	it('starts, prints its URL and obeys the admin API', async () => {
		const root = join(__dirname, '..', '..');
		const child = spawn(
			join(root, 'node_modules', '.bin', 'tsx'),
			[join(root, 'test/support/fake-salesforce/serve.ts'), '--port', '0', '--now', String(START)],
			{
				stdio: ['ignore', 'pipe', 'inherit'],
				env: {
					...process.env,
					PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
				},
			},
		);
		try {
			const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
			const { url } = JSON.parse(line) as { url: string };
			const admin = async (method: string, path: string, body?: unknown) => {
				const response = await fetch(`${url}/__fake/${path}`, {
					method,
					headers: { 'content-type': 'application/json' },
					body: body === undefined ? undefined : JSON.stringify(body),
				});
				expect(response.status).toBe(200);
				return response.json() as Promise<Record<string, unknown>>;
			};
			await admin('POST', 'connected-apps', { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
			await admin('POST', 'users', { username: USERNAME, password: PASSWORD });
			expect(
				await admin('POST', 'generated', { generator: 'trialContacts', count: 1000, seed: 1 }),
			).toEqual({
				objects: [
					{ name: 'Account', count: 100 },
					{ name: 'Contact', count: 1000 },
				],
			});
			expect(await admin('POST', 'clock', { advance: 1000 })).toEqual({ now: START + 1000 });
			const { id } = await admin('POST', 'records/Contact', {
				fields: { LastName: 'Inserted', Email: 'new@example.com' },
			});

			const conn = new Connection({
				oauth2: new OAuth2({ loginUrl: url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }),
				version: VERSION,
			});
			await conn.login(USERNAME, PASSWORD);
			expect((await conn.query('SELECT COUNT() FROM Contact')).totalSize).toBe(1001);
			const inserted = await conn.query(
				`SELECT LastName, SystemModstamp FROM Contact WHERE Id = '${String(id)}'`,
			);
			expect(inserted.records[0]).toMatchObject({
				LastName: 'Inserted',
				SystemModstamp: '2026-11-23T10:00:01.000+0000',
			});

			const modified = await admin('POST', 'modify-percent', { object: 'Contact', percent: 50 });
			expect(modified.modified).toEqual(expect.any(Number));
			const stats = await admin('GET', 'stats');
			expect(stats).toMatchObject({ apiRequestCount: 2, tokenRequestCount: 1 });
		} finally {
			child.kill('SIGTERM');
			await once(child, 'exit');
		}
	});
});
