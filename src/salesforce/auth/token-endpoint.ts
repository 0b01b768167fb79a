/**
 * One OAuth 2.0 token request to `${loginUrl}/services/oauth2/token` (a form POST), shared by
 * the username-password, refresh-token and JWT bearer grants. Plain fetch: loading jsforce
 * for three form posts would add about 40 MB to every n8n process that has the package.
 */
import type { SalesforceToken } from '../api/types';
import { loginFailure, type LoginFlowKind } from './login-errors';

export interface TokenGrantResult {
	token: SalesforceToken;
	/** Present when Salesforce issued (or rotated) a refresh token. */
	refreshToken?: string;
}

export async function requestOAuthToken(options: {
	loginUrl: string;
	params: Record<string, string>;
	kind: LoginFlowKind;
	/** For messages, e.g. `OAuth 2.0 username-password for ops@acme.com`. */
	flow: string;
	/** Used when the answer has no instance_url (a refresh may omit it). */
	fallbackInstanceUrl?: string;
	fetch?: typeof fetch;
	now?: () => number;
}): Promise<TokenGrantResult> {
	const now = options.now ?? Date.now;
	let response: Response;
	let text: string;
	try {
		response = await (options.fetch ?? fetch)(`${options.loginUrl}/services/oauth2/token`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
			body: new URLSearchParams(options.params).toString(),
		});
		text = await response.text();
	} catch (error) {
		throw loginFailure(options.kind, options.flow, options.loginUrl, error);
	}
	let body: Record<string, unknown> = {};
	try {
		body = JSON.parse(text) as Record<string, unknown>;
	} catch {
		// Not JSON (a proxy's error page): reported below with the status.
	}
	const instanceUrl =
		typeof body.instance_url === 'string' ? body.instance_url : options.fallbackInstanceUrl;
	if (!response.ok || typeof body.access_token !== 'string' || !instanceUrl) {
		throw loginFailure(options.kind, options.flow, options.loginUrl, {
			error: typeof body.error === 'string' ? body.error : `HTTP_${response.status}`,
			message:
				typeof body.error_description === 'string'
					? body.error_description
					: text.slice(0, 300) ||
						`the token response from ${options.loginUrl} had no access_token or instance_url; is this a Salesforce login URL?`,
		});
	}
	const issuedAt = Number(body.issued_at);
	return {
		token: {
			accessToken: body.access_token,
			instanceUrl: instanceUrl.replace(/\/+$/, ''),
			issuedAt: Number.isFinite(issuedAt) && issuedAt > 0 ? issuedAt : now(),
		},
		refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
	};
}
