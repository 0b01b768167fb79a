/** Login failures as SalesforceAuthError: Salesforce's error plus what to check for that flow. */
import { SalesforceAuthError } from '../api/errors';
import { jwtAudience } from './login-url';

export type LoginFlowKind = 'refresh' | 'password' | 'soap' | 'jwt';

const CHECKLIST: Record<LoginFlowKind, string> = {
	refresh:
		"Check the connected app's client id and secret, and that the refresh token was issued for that app at this login URL (production vs sandbox vs My Domain). A revoked or expired refresh token needs the credential reconnected.",
	password:
		"Check the username, the password followed by the security token (Settings → Reset My Security Token; not needed from the org's trusted IP ranges), the user's profile login IP ranges, the connected app's client id and secret, that the org allows the username-password flow (Setup → OAuth and OpenID Connect Settings), and production vs sandbox.",
	soap: "Check the username, the password followed by the security token, the user's profile login IP ranges, that SOAP API login is enabled for the org (it is off in new orgs), and production vs sandbox. Salesforce is retiring SOAP login (not available from API 65.0, removed in Summer '27): prefer a connected app.",
	jwt: 'Check the consumer key, that the certificate uploaded to the connected app matches this private key, that the user is pre-authorized (connected app policies: "Admin approved users are pre-authorized", plus the user\'s profile or permission set), and that the login URL is production, sandbox or your My Domain, as the user logs in.',
};

/** A pointed hint for the errors Salesforce's token endpoint and SOAP login are known to send. */
function specificHint(error: string, description: string, loginUrl: string): string | undefined {
	const text = `${error} ${description}`.toLowerCase();
	if (error === 'invalid_client_id')
		return `Salesforce at ${loginUrl} does not know this client id (consumer key): check it and production vs sandbox. A new connected app can take up to 10 minutes to become usable.`;
	if (error === 'invalid_client') return 'The client secret does not match the connected app.';
	if (text.includes('login rate exceeded'))
		return "Salesforce's login rate limit for this user was hit (about 3,600 logins an hour): wait before retrying, and make sure every workflow uses the same credential instead of logging in per item.";
	if (text.includes('expired access/refresh token'))
		return 'The refresh token was revoked or has expired: reconnect the credential.';
	if (text.includes("hasn't approved this consumer") || text.includes('not approved'))
		return 'The user is not pre-authorized for the connected app: set "Admin approved users are pre-authorized" and add the user\'s profile or a permission set to the app.';
	if (text.includes('audience'))
		return `Salesforce refused the assertion's audience (${jwtAudience(loginUrl)} for ${loginUrl}): production and My Domain logins use https://login.salesforce.com, sandboxes https://test.salesforce.com, an Experience Cloud site its own URL; check the login URL.`;
	if (text.includes('ip restricted') || text.includes('restricted ip'))
		return "The login came from an IP address outside the user's allowed ranges (profile Login IP Ranges or the connected app's IP relaxation).";
	if (text.includes('authentication failure') || error === 'INVALID_LOGIN')
		return 'Salesforce did not accept the username, password or security token (or the login came from outside the allowed IP ranges).';
	if (text.includes('inactive') || text.includes('locked'))
		return 'The user is inactive or locked out: check it in Setup → Users.';
	return undefined;
}

/** `error: error_description` of an OAuth error (jsforce puts them in `name` and `message`). */
export function readLoginError(error: unknown): { error: string; description: string } {
	const err = (error ?? {}) as { name?: unknown; message?: unknown; error?: unknown };
	const name =
		typeof err.error === 'string'
			? err.error
			: typeof err.name === 'string' && err.name !== 'Error' && err.name !== 'TypeError'
				? err.name
				: '';
	const message = typeof err.message === 'string' ? err.message : String(error);
	// SOAP faults read "INVALID_LOGIN: Invalid username, ...".
	const soap = /^([A-Z_]{3,}): (.*)$/s.exec(message);
	if (!name && soap) return { error: soap[1], description: soap[2] };
	return { error: name, description: message };
}

/** The network error's code (`ECONNREFUSED`…) when the login server could not be reached. */
function networkCode(error: unknown): string | undefined {
	const err = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
	const code = err?.cause?.code ?? err?.code;
	return typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code) ? code : undefined;
}

export function loginFailure(
	kind: LoginFlowKind,
	flow: string,
	loginUrl: string,
	error: unknown,
): SalesforceAuthError {
	if (error instanceof SalesforceAuthError) return error;
	const unreachable = networkCode(error);
	if (unreachable) {
		return new SalesforceAuthError(
			flow,
			`could not reach ${loginUrl} (${unreachable})`,
			'Check the login URL and that this n8n host can reach it (DNS, firewall, HTTPS_PROXY).',
			{ cause: error },
		);
	}
	const { error: code, description } = readLoginError(error);
	const what = code ? `${code}: ${description}` : description;
	const specific = specificHint(code, description, loginUrl);
	return new SalesforceAuthError(
		flow,
		what,
		specific ? `${specific} ${CHECKLIST[kind]}` : CHECKLIST[kind],
		{ cause: error },
	);
}
