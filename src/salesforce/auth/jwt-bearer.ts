/**
 * OAuth 2.0 JWT bearer flow, signed with node:crypto (RS256 needs no JWT library).
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';

import { InvalidInputError } from '../../errors';
import type { SalesforceTransport } from '../api/transport';
import type { SalesforceToken } from '../api/types';
import { jwtAudience } from './login-url';
import { requestOAuthToken } from './token-endpoint';

/** Salesforce accepts assertions that expire within 3 minutes. */
const ASSERTION_LIFETIME_SECONDS = 180;

const base64url = (input: Buffer | string) => Buffer.from(input).toString('base64url');

/**
 * Reads a PEM RSA private key; literal `\n` sequences (a key pasted into a one-line field) are
 * accepted. An error names the field and what was pasted instead.
 */
export function readPrivateKey(pem: string, field = 'privateKey'): KeyObject {
	const text = String(pem ?? '')
		.trim()
		.replace(/\\n/g, '\n');
	const fail = (message: string) => new InvalidInputError(field, message);
	if (text === '')
		throw fail(
			'is empty; paste the PEM private key whose certificate is uploaded to the connected app.',
		);
	if (/-----BEGIN CERTIFICATE-----/.test(text))
		throw fail(
			'is a certificate; paste the private key it was made from (-----BEGIN PRIVATE KEY-----). The certificate belongs in the connected app.',
		);
	if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text))
		throw fail('is a public key; paste the private key (-----BEGIN PRIVATE KEY-----).');
	if (/ENCRYPTED/.test(text))
		throw fail(
			'is encrypted with a passphrase; export it without one, e.g. openssl rsa -in key.pem -out plain.pem.',
		);
	let key: KeyObject;
	try {
		key = createPrivateKey(text);
	} catch {
		throw fail(
			'is not a private key in PEM format; paste the whole key, from -----BEGIN PRIVATE KEY----- (or BEGIN RSA PRIVATE KEY) to the END line.',
		);
	}
	if (key.asymmetricKeyType !== 'rsa')
		throw fail(
			`is a ${String(key.asymmetricKeyType)} key; Salesforce's JWT bearer flow needs an RSA key (RS256).`,
		);
	return key;
}

/** The signed assertion: `{iss: consumer key, sub: username, aud: login URL, exp: now + 3 min}`. */
export function signJwtAssertion(options: {
	consumerKey: string;
	username: string;
	/** `jwtAudience` of the login URL: login.salesforce.com, test.salesforce.com or a site URL. */
	audience: string;
	privateKey: KeyObject;
	nowSeconds: number;
}): string {
	const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
	const claims = base64url(
		JSON.stringify({
			iss: options.consumerKey,
			sub: options.username,
			aud: options.audience,
			exp: options.nowSeconds + ASSERTION_LIFETIME_SECONDS,
		}),
	);
	const signer = createSign('RSA-SHA256');
	signer.update(`${header}.${claims}`);
	return `${header}.${claims}.${signer.sign(options.privateKey).toString('base64url')}`;
}

/**
 * Exchanges a signed assertion for an access token at `${loginUrl}/services/oauth2/token`; the
 * assertion's audience is `jwtAudience(loginUrl)`, not the My Domain URL the request goes to.
 */
export async function requestJwtBearerToken(options: {
	loginUrl: string;
	consumerKey: string;
	username: string;
	privateKey: KeyObject;
	/** For messages; defaults to `JWT bearer for <username>`. */
	flow?: string;
	/** Default: `fetchTransport()`. */
	transport?: SalesforceTransport;
	now?: () => number;
}): Promise<SalesforceToken> {
	const flow = options.flow ?? `JWT bearer for ${options.username}`;
	const now = options.now ?? Date.now;
	const assertion = signJwtAssertion({
		consumerKey: options.consumerKey,
		username: options.username,
		audience: jwtAudience(options.loginUrl),
		privateKey: options.privateKey,
		nowSeconds: Math.floor(now() / 1000),
	});
	const result = await requestOAuthToken({
		loginUrl: options.loginUrl,
		params: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
		kind: 'jwt',
		flow,
		transport: options.transport,
		now,
	});
	return result.token;
}
