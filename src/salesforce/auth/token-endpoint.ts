/**
 * One OAuth 2.0 token request to `${loginUrl}/services/oauth2/token` (a form POST), shared by
 * the username-password, refresh-token and JWT bearer grants, sent through the injected
 * transport (n8n's HTTP helper in the nodes, fetch by default). Not jsforce: loading it for
 * three form posts would add about 40 MB to every n8n process that has the package.
 */
import { fetchTransport, streamText, type SalesforceTransport } from '../api/transport';
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
	/** Default: `fetchTransport()`. */
	transport?: SalesforceTransport;
	now?: () => number;
}): Promise<TokenGrantResult> {
	const now = options.now ?? Date.now;
	const transport = options.transport ?? fetchTransport();
	let status: number;
	let text: string;
	try {
		const response = await transport({
			method: 'POST',
			url: `${options.loginUrl}/services/oauth2/token`,
			headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
			body: new URLSearchParams(options.params).toString(),
		});
		status = response.status;
		text = response.text ?? (response.stream ? await streamText(response.stream) : '');
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
	const ok = status >= 200 && status < 300;
	if (!ok || typeof body.access_token !== 'string' || !instanceUrl) {
		throw loginFailure(options.kind, options.flow, options.loginUrl, {
			error: typeof body.error === 'string' ? body.error : `HTTP_${status}`,
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
