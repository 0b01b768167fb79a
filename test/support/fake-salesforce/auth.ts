/** OAuth 2.0 token grants, SOAP login and session bookkeeping. */
import {
	createHash,
	createHmac,
	createPublicKey,
	randomBytes,
	verify,
	type KeyObject,
} from 'node:crypto';

import { sequentialId } from './ids';

export interface ConnectedApp {
	clientId: string;
	clientSecret: string;
	publicKeyPem?: string;
}

export interface FakeUser {
	username: string;
	password: string;
	securityToken?: string;
}

interface UserRecord extends FakeUser {
	userId: string;
}

export interface Session {
	accessToken: string;
	username: string;
	userId: string;
	clientId: string | undefined;
	issuedAt: number;
}

/** A token-endpoint failure: HTTP status plus the OAuth error body Salesforce sends. */
export class OAuthError extends Error {
	constructor(
		readonly status: number,
		readonly error: string,
		readonly description: string,
	) {
		super(description);
	}
}

export const ORGANIZATION_ID = sequentialId('00D', 4_242_424);

/** Audiences Salesforce accepts for JWT bearer assertions, besides the fake's own URL. */
const KNOWN_AUDIENCES = ['https://login.salesforce.com', 'https://test.salesforce.com'];

export class AuthState {
	private readonly apps = new Map<string, ConnectedApp & { publicKey?: KeyObject }>();
	private readonly users = new Map<string, UserRecord>();
	private readonly sessions = new Map<string, Session>();
	private readonly refreshTokens = new Map<string, { clientId: string; username: string }>();
	private rotate = false;
	private expireAfterRequests: number | undefined;
	/** The user who "logs in" on the authorize page (the fake has no login form). */
	private approvingUser: string | undefined;
	private readonly authorizationCodes = new Map<
		string,
		{ clientId: string; redirectUri: string; username: string; codeChallenge?: string }
	>();

	constructor(
		private readonly baseUrl: () => string,
		private readonly now: () => number,
	) {}

	addConnectedApp(app: ConnectedApp): void {
		this.apps.set(app.clientId, {
			...app,
			publicKey: app.publicKeyPem ? createPublicKey(app.publicKeyPem) : undefined,
		});
	}

	addUser(user: FakeUser): void {
		const existing = this.users.get(user.username.toLowerCase());
		this.users.set(user.username.toLowerCase(), {
			...user,
			userId: existing?.userId ?? sequentialId('005', 1000 + this.users.size),
		});
	}

	issueRefreshToken(clientId: string, username: string): string {
		if (!this.apps.has(clientId)) throw new Error(`Unknown connected app ${clientId}`);
		const user = this.users.get(username.toLowerCase());
		if (!user) throw new Error(`Unknown user ${username}`);
		const token = `5Aep861${randomBytes(30).toString('base64url')}`;
		this.refreshTokens.set(token, { clientId, username: user.username });
		return token;
	}

	rotateRefreshTokens(on: boolean): void {
		this.rotate = on;
	}

	expireSessions(): void {
		this.sessions.clear();
		this.expireAfterRequests = undefined;
	}

	expireSessionsAfter(requests: number): void {
		this.expireAfterRequests = requests;
	}

	/** Counts one API request toward a pending expireSessionsAfter. */
	countApiRequest(): void {
		if (this.expireAfterRequests === undefined) return;
		if (this.expireAfterRequests <= 0) this.expireSessions();
		else this.expireAfterRequests--;
	}

	sessionForAuthorization(header: string | undefined): Session | undefined {
		const match = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header ?? '');
		return match ? this.sessions.get(match[1].trim()) : undefined;
	}

	sessionForToken(token: string): Session | undefined {
		return this.sessions.get(token);
	}

	/** Who logs in and allows access when a browser opens the authorize page from now on. */
	approveAuthorizationAs(username: string | undefined): void {
		this.approvingUser = username;
	}

	/**
	 * GET /services/oauth2/authorize (web server flow, optionally with PKCE): the user set by
	 * `approveAuthorizationAs` logs in and allows access; returns where Salesforce redirects the
	 * browser, the redirect URI with `code` and `state`. Throws OAuthError for a bad request.
	 */
	authorize(params: URLSearchParams): string {
		if (params.get('response_type') !== 'code') {
			throw new OAuthError(400, 'unsupported_response_type', 'response type not supported');
		}
		const clientId = params.get('client_id') ?? '';
		if (!this.apps.has(clientId)) {
			throw new OAuthError(400, 'invalid_client_id', 'client identifier invalid');
		}
		const redirectUri = params.get('redirect_uri');
		if (!redirectUri) throw new OAuthError(400, 'redirect_uri_mismatch', 'redirect_uri must match');
		const challenge = params.get('code_challenge') ?? undefined;
		if (challenge && params.get('code_challenge_method') !== 'S256') {
			throw new OAuthError(400, 'invalid_request', 'code_challenge_method must be S256');
		}
		const user = this.approvingUser ? this.users.get(this.approvingUser.toLowerCase()) : undefined;
		const target = new URL(redirectUri);
		const state = params.get('state');
		if (!user) {
			target.searchParams.set('error', 'access_denied');
			target.searchParams.set('error_description', 'end-user denied authorization');
		} else {
			const code = `aPrx${randomBytes(24).toString('base64url')}`;
			this.authorizationCodes.set(code, {
				clientId,
				redirectUri,
				username: user.username,
				codeChallenge: challenge,
			});
			target.searchParams.set('code', code);
		}
		if (state !== null) target.searchParams.set('state', state);
		return target.toString();
	}

	/**
	 * Handles POST /services/oauth2/token; returns Salesforce's success body or throws OAuthError.
	 * The client may authenticate in the body or with HTTP Basic (`basicClient`).
	 */
	tokenGrant(
		params: URLSearchParams,
		basicClient?: { clientId: string; clientSecret: string },
	): Record<string, string> {
		if (basicClient && !params.has('client_id')) {
			params.set('client_id', basicClient.clientId);
			params.set('client_secret', basicClient.clientSecret);
		}
		const grantType = params.get('grant_type');
		switch (grantType) {
			case 'authorization_code':
				return this.authorizationCodeGrant(params);
			case 'password':
				return this.passwordGrant(params);
			case 'refresh_token':
				return this.refreshGrant(params);
			case 'urn:ietf:params:oauth:grant-type:jwt-bearer':
				return this.jwtBearerGrant(params);
			case null:
				throw new OAuthError(400, 'unsupported_grant_type', 'grant type not supported');
			default:
				throw new OAuthError(400, 'unsupported_grant_type', 'grant type not supported');
		}
	}

	private requireApp(
		clientId: string | null,
		clientSecret: string | null,
		secretRequired: boolean,
	): ConnectedApp {
		const app = clientId ? this.apps.get(clientId) : undefined;
		if (!app) throw new OAuthError(400, 'invalid_client_id', 'client identifier invalid');
		if ((secretRequired || clientSecret !== null) && clientSecret !== app.clientSecret) {
			throw new OAuthError(400, 'invalid_client', 'invalid client credentials');
		}
		return app;
	}

	private authorizationCodeGrant(params: URLSearchParams): Record<string, string> {
		const app = this.requireApp(params.get('client_id'), params.get('client_secret'), true);
		const code = params.get('code') ?? '';
		const grant = this.authorizationCodes.get(code);
		// A code is good for one exchange.
		this.authorizationCodes.delete(code);
		if (!grant || grant.clientId !== app.clientId) {
			throw new OAuthError(400, 'invalid_grant', 'invalid authorization code');
		}
		if (params.get('redirect_uri') !== grant.redirectUri) {
			throw new OAuthError(400, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
		}
		if (grant.codeChallenge) {
			const verifier = params.get('code_verifier') ?? '';
			const computed = createHash('sha256').update(verifier).digest('base64url');
			if (computed !== grant.codeChallenge) {
				throw new OAuthError(400, 'invalid_grant', 'invalid code verifier');
			}
		}
		const user = this.users.get(grant.username.toLowerCase())!;
		return {
			...this.tokenBody(this.openSession(user, app.clientId), app),
			refresh_token: this.issueRefreshToken(app.clientId, user.username),
		};
	}

	private passwordGrant(params: URLSearchParams): Record<string, string> {
		const app = this.requireApp(params.get('client_id'), params.get('client_secret'), true);
		const user = this.checkPassword(params.get('username'), params.get('password'));
		if (!user) throw new OAuthError(400, 'invalid_grant', 'authentication failure');
		// Salesforce's username-password flow returns no refresh token.
		return this.tokenBody(this.openSession(user, app.clientId), app);
	}

	private refreshGrant(params: URLSearchParams): Record<string, string> {
		const app = this.requireApp(params.get('client_id'), params.get('client_secret'), false);
		const token = params.get('refresh_token') ?? '';
		const grant = this.refreshTokens.get(token);
		if (!grant || grant.clientId !== app.clientId) {
			throw new OAuthError(400, 'invalid_grant', 'expired access/refresh token');
		}
		const user = this.users.get(grant.username.toLowerCase())!;
		const body = this.tokenBody(this.openSession(user, app.clientId), app);
		if (this.rotate) {
			this.refreshTokens.delete(token);
			body.refresh_token = this.issueRefreshToken(app.clientId, user.username);
		}
		return body;
	}

	private jwtBearerGrant(params: URLSearchParams): Record<string, string> {
		const assertion = params.get('assertion') ?? '';
		const parts = assertion.split('.');
		if (parts.length !== 3) throw new OAuthError(400, 'invalid_grant', 'invalid assertion');
		let header: { alg?: string };
		let claims: { iss?: string; sub?: string; aud?: string | string[]; exp?: number };
		try {
			header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
			claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
		} catch {
			throw new OAuthError(400, 'invalid_grant', 'invalid assertion');
		}
		if (header.alg !== 'RS256') throw new OAuthError(400, 'invalid_grant', 'invalid assertion');
		const app = claims.iss ? this.apps.get(claims.iss) : undefined;
		if (!app) throw new OAuthError(400, 'invalid_client_id', 'client identifier invalid');
		if (!app.publicKey) throw new OAuthError(400, 'invalid_grant', 'invalid assertion');
		const signed = verify(
			'RSA-SHA256',
			Buffer.from(`${parts[0]}.${parts[1]}`),
			app.publicKey,
			Buffer.from(parts[2], 'base64url'),
		);
		if (!signed) throw new OAuthError(400, 'invalid_grant', 'invalid assertion');
		const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
		const accepted = [this.baseUrl(), ...KNOWN_AUDIENCES];
		if (
			!audiences.some(
				(audience) =>
					typeof audience === 'string' && accepted.includes(audience.replace(/\/$/, '')),
			)
		) {
			throw new OAuthError(400, 'invalid_grant', 'audience is invalid');
		}
		if (typeof claims.exp !== 'number' || claims.exp * 1000 <= this.now()) {
			throw new OAuthError(400, 'invalid_grant', 'expired authorization code');
		}
		const user = claims.sub ? this.users.get(claims.sub.toLowerCase()) : undefined;
		if (!user) throw new OAuthError(400, 'invalid_grant', "user hasn't approved this consumer");
		return this.tokenBody(this.openSession(user, app.clientId), app);
	}

	private checkPassword(username: string | null, password: string | null): UserRecord | undefined {
		const user = username ? this.users.get(username.toLowerCase()) : undefined;
		if (!user) return undefined;
		const expected = user.password + (user.securityToken ?? '');
		return password === expected ? user : undefined;
	}

	private openSession(user: UserRecord, clientId: string | undefined): Session {
		const accessToken = `${ORGANIZATION_ID.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
		const session: Session = {
			accessToken,
			username: user.username,
			userId: user.userId,
			clientId,
			issuedAt: this.now(),
		};
		this.sessions.set(accessToken, session);
		return session;
	}

	identityUrl(userId: string): string {
		return `${this.baseUrl()}/id/${ORGANIZATION_ID}/${userId}`;
	}

	private tokenBody(session: Session, app: ConnectedApp): Record<string, string> {
		const id = this.identityUrl(session.userId);
		const issuedAt = String(session.issuedAt);
		return {
			access_token: session.accessToken,
			instance_url: this.baseUrl(),
			id,
			token_type: 'Bearer',
			issued_at: issuedAt,
			// Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
			signature: createHmac('sha256', app.clientSecret)
				.update(id + issuedAt)
				.digest('base64'),
			scope: 'api refresh_token',
		};
	}

	/** SOAP partner login(); returns the envelope body, or throws OAuthError mapped to a fault. */
	soapLogin(envelope: string, version: string): string {
		const username = xmlText(envelope, 'username');
		const password = xmlText(envelope, 'password');
		const user = this.checkPassword(username, password);
		if (!user) {
			throw new OAuthError(
				500,
				'INVALID_LOGIN',
				'INVALID_LOGIN: Invalid username, password, security token; or user locked out.',
			);
		}
		const session = this.openSession(user, undefined);
		const serverBase = `${this.baseUrl()}/services/Soap/u/${version}/${ORGANIZATION_ID.slice(0, 15)}`;
		return [
			'<?xml version="1.0" encoding="UTF-8"?>',
			'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
			'<soapenv:Body><loginResponse><result>',
			`<metadataServerUrl>${this.baseUrl()}/services/Soap/m/${version}/${ORGANIZATION_ID.slice(0, 15)}</metadataServerUrl>`,
			'<passwordExpired>false</passwordExpired>',
			'<sandbox>false</sandbox>',
			`<serverUrl>${serverBase}</serverUrl>`,
			`<sessionId>${session.accessToken}</sessionId>`,
			`<userId>${session.userId}</userId>`,
			'<userInfo>',
			'<currencySymbol>$</currencySymbol>',
			`<organizationId>${ORGANIZATION_ID}</organizationId>`,
			'<organizationName>Fake Salesforce</organizationName>',
			`<userEmail>${escapeXml(user.username)}</userEmail>`,
			`<userFullName>${escapeXml(user.username)}</userFullName>`,
			`<userId>${session.userId}</userId>`,
			`<userName>${escapeXml(user.username)}</userName>`,
			'<userTimeZone>UTC</userTimeZone>',
			'</userInfo>',
			'</result></loginResponse></soapenv:Body></soapenv:Envelope>',
		].join('');
	}

	userInfo(session: Session): Record<string, unknown> {
		return {
			sub: this.identityUrl(session.userId),
			user_id: session.userId,
			organization_id: ORGANIZATION_ID,
			preferred_username: session.username,
			nickname: session.username.split('@')[0],
			name: session.username,
			email: session.username,
			email_verified: true,
			zoneinfo: 'UTC',
			locale: 'en_US',
			user_type: 'STANDARD',
			active: true,
		};
	}
}

export function soapFault(code: string, message: string): string {
	return [
		'<?xml version="1.0" encoding="UTF-8"?>',
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
		'<soapenv:Body><soapenv:Fault>',
		`<faultcode>sf:${code}</faultcode>`,
		`<faultstring>${escapeXml(message)}</faultstring>`,
		`<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>${code}</sf:exceptionCode>`,
		`<sf:exceptionMessage>${escapeXml(message.replace(/^[A-Z_]+: /, ''))}</sf:exceptionMessage></sf:LoginFault></detail>`,
		'</soapenv:Fault></soapenv:Body></soapenv:Envelope>',
	].join('');
}

function xmlText(xml: string, tag: string): string | null {
	const match = new RegExp(`<(?:\\w+:)?${tag}>([\\s\\S]*?)</(?:\\w+:)?${tag}>`).exec(xml);
	return match ? unescapeXml(match[1]) : null;
}

function unescapeXml(text: string): string {
	return text
		.replace(/&lt;/g, '<')
		.replace(/&gt;/g, '>')
		.replace(/&quot;/g, '"')
		.replace(/&apos;/g, "'")
		.replace(/&amp;/g, '&');
}

export function escapeXml(text: string): string {
	return text
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&apos;');
}
