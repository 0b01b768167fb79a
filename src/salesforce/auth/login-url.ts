/** Login URL and API version checks shared by every login flow. */
import { InvalidInputError } from '../../errors';

export const PRODUCTION_LOGIN_URL = 'https://login.salesforce.com';
export const SANDBOX_LOGIN_URL = 'https://test.salesforce.com';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * `production` (also when absent), `sandbox`, or the org's My Domain URL (https; http only for
 * a local server such as a test stand-in). Returns the URL without a trailing slash.
 */
export function resolveLoginUrl(value: string | undefined, field = 'loginUrl'): string {
	if (value === undefined) return PRODUCTION_LOGIN_URL;
	const text = value.trim();
	const keyword = text.toLowerCase();
	if (keyword === 'production') return PRODUCTION_LOGIN_URL;
	if (keyword === 'sandbox') return SANDBOX_LOGIN_URL;
	if (text === '') {
		throw new InvalidInputError(
			field,
			'is empty; use production, sandbox, or your My Domain URL such as https://acme.my.salesforce.com.',
		);
	}
	let url: URL;
	try {
		url = new URL(text);
	} catch {
		throw new InvalidInputError(
			field,
			`"${text}" is not a URL; use production, sandbox, or your My Domain URL such as https://acme.my.salesforce.com.`,
		);
	}
	if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname))) {
		throw new InvalidInputError(
			field,
			`"${text}" must start with https:// (Salesforce accepts logins over HTTPS only), e.g. https://acme.my.salesforce.com.`,
		);
	}
	if (url.username || url.password || url.search || url.hash) {
		throw new InvalidInputError(
			field,
			`"${text}" must be only the address of the login server, e.g. https://acme.my.salesforce.com (no user, query or #fragment).`,
		);
	}
	// The Lightning UI host serves no OAuth endpoints; its My Domain twin does.
	const lightning = /^([^.]+(?:\.[^.]+)?)\.lightning\.force\.com$/i.exec(url.hostname);
	if (lightning) {
		throw new InvalidInputError(
			field,
			`"${text}" is the Lightning address; use the My Domain login URL https://${lightning[1]}.my.salesforce.com (Setup → My Domain).`,
		);
	}
	const path = url.pathname.replace(/\/+$/, '');
	if (path.includes('/services/')) {
		throw new InvalidInputError(
			field,
			`"${text}" includes an API path; use only the login server, e.g. ${url.protocol}//${url.host}.`,
		);
	}
	return `${url.protocol}//${url.host}${path}`;
}

/**
 * The `aud` claim of a JWT bearer assertion for a login URL, as Salesforce documents it
 * (OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration): `https://login.salesforce.com`
 * for production, also when the token is requested at the org's My Domain;
 * `https://test.salesforce.com` for sandboxes (`*.sandbox.my.salesforce.com`) and scratch orgs;
 * an Experience Cloud site's own URL for a site login. Any other URL (a site, or a local
 * stand-in) is its own audience.
 */
export function jwtAudience(loginUrl: string): string {
	let host: string;
	try {
		host = new URL(loginUrl).hostname.toLowerCase();
	} catch {
		return loginUrl;
	}
	if (host === 'test.salesforce.com' || /\.(sandbox|scratch)\.my\.salesforce\.com$/.test(host)) {
		return SANDBOX_LOGIN_URL;
	}
	if (host === 'login.salesforce.com' || host.endsWith('.my.salesforce.com')) {
		return PRODUCTION_LOGIN_URL;
	}
	return loginUrl.replace(/\/+$/, '');
}

/** `62.0` style (a leading `v` is tolerated); throws naming the field otherwise. */
export function assertApiVersion(value: string, field = 'apiVersion'): string {
	const text = String(value ?? '')
		.trim()
		.replace(/^v/i, '');
	if (!/^\d{2,3}\.0$/.test(text)) {
		throw new InvalidInputError(
			field,
			`"${String(value)}" is not a Salesforce API version; use the form 62.0.`,
		);
	}
	return text;
}
