/**
 * Sessions for each supported login flow. All share tokens through `token-cache.ts`: one
 * token per credential per process, one login in flight at a time.
 *
 * - refresh token (the OAuth 2.0 web flow done elsewhere): a rotated refresh token is handed
 *   to `onRefreshToken` and used from then on;
 * - username + password (+ security token) through the OAuth username-password grant (needs a
 *   connected app's client id and secret);
 * - the same through SOAP `login()`: legacy, Salesforce is retiring it;
 * - JWT bearer, signed with node:crypto;
 * - a static token managed by the caller (n8n's OAuth2 credential).
 */
import { InvalidInputError } from '../../errors';
import { SalesforceAuthError } from '../api/errors';
import type { SalesforceTransport } from '../api/transport';
import { DEFAULT_API_VERSION, type SalesforceSession, type SalesforceToken } from '../api/types';
import { readPrivateKey, requestJwtBearerToken } from './jwt-bearer';
import { assertApiVersion, resolveLoginUrl } from './login-url';
import { requestSoapLogin } from './soap-login';
import { requestOAuthToken } from './token-endpoint';
import {
	cachedToken,
	loginCountOf,
	renewedToken,
	seedToken,
	sharedCredentialValue,
	tokenCacheKey,
} from './token-cache';

export { clearSalesforceTokenCache } from './token-cache';

/** A session whose logins are counted (shared by every session of the same credential). */
export interface CountingSalesforceSession extends SalesforceSession {
	/** Logins and refreshes sent to the login server for this credential in this process. */
	readonly loginCount: number;
}

/** SOAP `login()` is not available from API 65.0 on (Salesforce release notes, Winter '26). */
const LAST_SOAP_LOGIN_VERSION = 64;

function requireText(value: string | undefined, field: string, what: string): string {
	if (typeof value !== 'string' || value.trim() === '') {
		throw new InvalidInputError(field, `is empty; enter ${what}.`);
	}
	return value;
}

function cachedSession(options: {
	description: string;
	key: string;
	login: () => Promise<SalesforceToken>;
	renew?: () => Promise<SalesforceToken>;
	/** A token already held: used until Salesforce refuses it. */
	initial?: SalesforceToken;
}): CountingSalesforceSession {
	const { key, login, renew = login } = options;
	let initial = options.initial;
	return {
		description: options.description,
		get loginCount() {
			return loginCountOf(key);
		},
		getToken: async () => {
			if (initial) {
				seedToken(key, initial);
				initial = undefined;
			}
			return await cachedToken(key, login);
		},
		refreshToken: async (failed) => await renewedToken(key, failed, renew),
	};
}

export interface RefreshTokenLogin {
	/** `production` (default), `sandbox` or the My Domain URL. */
	loginUrl?: string;
	clientId: string;
	clientSecret?: string;
	refreshToken: string;
	/** A token already held (e.g. from the authorization step); used until it is refused. */
	accessToken?: string;
	instanceUrl?: string;
	/**
	 * Called with every new token; `refreshToken` is set when Salesforce rotated it. Persist
	 * it: the old one no longer works. An error thrown here fails the refresh.
	 */
	onRefreshToken?: (token: SalesforceToken & { refreshToken?: string }) => void | Promise<void>;
	/** How the token requests are sent (n8n's HTTP helper in the nodes); default fetch. */
	transport?: SalesforceTransport;
}

export function refreshTokenSession(options: RefreshTokenLogin): CountingSalesforceSession {
	const loginUrl = resolveLoginUrl(options.loginUrl);
	const clientId = requireText(options.clientId, 'clientId', "the connected app's consumer key");
	requireText(options.refreshToken, 'refreshToken', 'a refresh token (reconnect the credential)');
	const flow = `OAuth 2.0 refresh token (client ${clientId})`;
	const key = tokenCacheKey([
		'refresh',
		loginUrl,
		clientId,
		options.clientSecret,
		options.refreshToken,
	]);
	// Shared by every session of this credential, so a rotation seen by one is used by all.
	const currentRefreshToken = sharedCredentialValue(
		key,
		'refreshToken',
		() => options.refreshToken,
	);
	let lastInstanceUrl = options.instanceUrl;
	const renew = async (): Promise<SalesforceToken> => {
		const used = currentRefreshToken.get();
		const params: Record<string, string> = {
			grant_type: 'refresh_token',
			refresh_token: used,
			client_id: clientId,
		};
		if (options.clientSecret) params.client_secret = options.clientSecret;
		const result = await requestOAuthToken({
			loginUrl,
			params,
			kind: 'refresh',
			flow,
			fallbackInstanceUrl: lastInstanceUrl,
			transport: options.transport,
		});
		const token = result.token;
		lastInstanceUrl = token.instanceUrl;
		const rotated =
			result.refreshToken && result.refreshToken !== used ? result.refreshToken : undefined;
		if (rotated) currentRefreshToken.set(rotated);
		await options.onRefreshToken?.({ ...token, refreshToken: rotated });
		return token;
	};
	const initial =
		options.accessToken && options.instanceUrl
			? {
					accessToken: options.accessToken,
					instanceUrl: options.instanceUrl.replace(/\/+$/, ''),
					issuedAt: 0,
				}
			: undefined;
	return cachedSession({ description: flow, key, login: renew, initial });
}

export interface PasswordLogin {
	loginUrl?: string;
	clientId: string;
	clientSecret: string;
	username: string;
	password: string;
	/** Appended to the password; not needed from the org's trusted IP ranges. */
	securityToken?: string;
	/** How the token request is sent (n8n's HTTP helper in the nodes); default fetch. */
	transport?: SalesforceTransport;
}

/** OAuth 2.0 username-password grant (a connected app's client id and secret are needed). */
export function passwordSession(options: PasswordLogin): CountingSalesforceSession {
	const loginUrl = resolveLoginUrl(options.loginUrl);
	const clientId = requireText(options.clientId, 'clientId', "the connected app's consumer key");
	const clientSecret = requireText(
		options.clientSecret,
		'clientSecret',
		"the connected app's consumer secret",
	);
	const username = requireText(options.username, 'username', 'the Salesforce username');
	requireText(options.password, 'password', "the user's password");
	const flow = `OAuth 2.0 username-password for ${username}`;
	const key = tokenCacheKey([
		'password',
		loginUrl,
		clientId,
		clientSecret,
		username.toLowerCase(),
		options.password,
		options.securityToken,
	]);
	const login = async (): Promise<SalesforceToken> => {
		const result = await requestOAuthToken({
			loginUrl,
			params: {
				grant_type: 'password',
				client_id: clientId,
				client_secret: clientSecret,
				username,
				password: options.password + (options.securityToken ?? ''),
			},
			kind: 'password',
			flow,
			transport: options.transport,
		});
		return result.token;
	};
	return cachedSession({ description: flow, key, login });
}

export interface SoapPasswordLogin {
	loginUrl?: string;
	username: string;
	password: string;
	securityToken?: string;
	/** The REST API version in use; the SOAP login itself uses at most 64.0. */
	apiVersion?: string;
	/** How the login request is sent (n8n's HTTP helper in the nodes); default fetch. */
	transport?: SalesforceTransport;
}

/**
 * Legacy: SOAP `login()` for orgs without a connected app. Salesforce is retiring it (not
 * available from API 65.0, removed in Summer '27; off by default in new orgs).
 */
export function soapPasswordSession(options: SoapPasswordLogin): CountingSalesforceSession {
	const loginUrl = resolveLoginUrl(options.loginUrl);
	const apiVersion = assertApiVersion(options.apiVersion ?? DEFAULT_API_VERSION);
	const loginVersion = `${Math.min(Number.parseInt(apiVersion, 10), LAST_SOAP_LOGIN_VERSION)}.0`;
	const username = requireText(options.username, 'username', 'the Salesforce username');
	requireText(options.password, 'password', "the user's password");
	const flow = `SOAP login for ${username} (legacy: Salesforce is retiring SOAP login; use a connected app)`;
	const key = tokenCacheKey([
		'soap',
		loginUrl,
		username.toLowerCase(),
		options.password,
		options.securityToken,
	]);
	const login = () =>
		requestSoapLogin({
			loginUrl,
			version: loginVersion,
			username,
			password: options.password + (options.securityToken ?? ''),
			flow,
			transport: options.transport,
		});
	return cachedSession({ description: flow, key, login });
}

export interface JwtBearerLogin {
	/**
	 * `production`, `sandbox`, the My Domain URL or an Experience Cloud site URL: where the
	 * token is requested. The assertion's audience follows from it (`jwtAudience`).
	 */
	loginUrl?: string;
	consumerKey: string;
	username: string;
	/** PEM; literal `\n` sequences are accepted (keys pasted into one-line fields). */
	privateKey: string;
	/** How the token request is sent (n8n's HTTP helper in the nodes); default fetch. */
	transport?: SalesforceTransport;
}

export function jwtBearerSession(options: JwtBearerLogin): CountingSalesforceSession {
	const loginUrl = resolveLoginUrl(options.loginUrl);
	const consumerKey = requireText(
		options.consumerKey,
		'consumerKey',
		"the connected app's consumer key",
	);
	const username = requireText(options.username, 'username', 'the Salesforce username');
	const privateKey = readPrivateKey(options.privateKey);
	const flow = `JWT bearer for ${username}`;
	const key = tokenCacheKey([
		'jwt',
		loginUrl,
		consumerKey,
		username.toLowerCase(),
		options.privateKey,
	]);
	return cachedSession({
		description: flow,
		key,
		login: () =>
			requestJwtBearerToken({
				loginUrl,
				consumerKey,
				username,
				privateKey,
				flow,
				transport: options.transport,
			}),
	});
}

/**
 * A token the caller manages (n8n's OAuth2 credential): `refresh`, when given, returns a
 * renewed one after a 401; concurrent refreshes share one call.
 */
export function staticTokenSession(options: {
	accessToken: string;
	instanceUrl: string;
	refresh?: () => Promise<SalesforceToken>;
	description?: string;
}): SalesforceSession {
	const description = options.description ?? 'OAuth 2.0 token';
	let current: SalesforceToken = {
		accessToken: options.accessToken,
		instanceUrl: options.instanceUrl.replace(/\/+$/, ''),
		issuedAt: 0,
	};
	let pending: Promise<SalesforceToken> | undefined;
	return {
		description,
		getToken: async () => current,
		refreshToken: async (failed) => {
			if (pending) return await pending;
			if (failed.accessToken !== current.accessToken) return current;
			const refresh = options.refresh;
			if (!refresh) {
				throw new SalesforceAuthError(
					description,
					'Salesforce refused the access token (expired or revoked)',
					'Reconnect the credential.',
				);
			}
			pending = refresh();
			try {
				current = await pending;
				return current;
			} finally {
				pending = undefined;
			}
		},
	};
}
