/**
 * Fake n8n contexts for the Salesforce nodes: `fakeContext` plus what a poll needs (mode,
 * workflow) and an imitation of n8n's OAuth2 request helper (refresh on 401, then store the
 * new token in the credential, as n8n's requestOAuth2 does).
 */
import { generateKeyPairSync } from 'node:crypto';

import type { IExecuteFunctions, IPollFunctions } from 'n8n-workflow';

import type { FakeSalesforce } from '../support/fake-salesforce';
import { fakeContext, type FakeContextOptions } from './fake-context';

export const APP = { clientId: 'n8n-node-test-app', clientSecret: 'n8n-node-test-secret' };
export const USER = {
	username: 'integration@acme.example',
	password: 'pw-1',
	securityToken: 'SECTOKEN',
};

const keys = generateKeyPairSync('rsa', {
	modulusLength: 2048,
	publicKeyEncoding: { type: 'spki', format: 'pem' },
	privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
export const PRIVATE_KEY_PEM = keys.privateKey;
export const PUBLIC_KEY_PEM = keys.publicKey;

/** Connected app (with the JWT certificate) and user in the fake org. */
export function setUpOrg(fake: FakeSalesforce): void {
	fake.addConnectedApp({ ...APP, publicKeyPem: PUBLIC_KEY_PEM });
	fake.addUser(USER);
}

/** Credential data as n8n would decrypt it, per credential type. */
export function credentialsFor(fake: FakeSalesforce) {
	return {
		campaignSalesforcePasswordApi: {
			environment: 'custom',
			myDomainUrl: fake.url,
			useSoapLogin: false,
			clientId: APP.clientId,
			clientSecret: APP.clientSecret,
			username: USER.username,
			password: USER.password,
			securityToken: USER.securityToken,
			apiVersion: '62.0',
		},
		campaignSalesforceJwtApi: {
			environment: 'custom',
			myDomainUrl: fake.url,
			consumerKey: APP.clientId,
			username: USER.username,
			privateKey: PRIVATE_KEY_PEM,
			apiVersion: '62.0',
		},
		/** n8n's built-in `salesforceJwtApi` (n8n 2.41): clientId, not consumerKey; no API version. */
		salesforceJwtApi: {
			environment: 'production',
			myDomainUrl: fake.url,
			clientId: APP.clientId,
			username: USER.username,
			privateKey: PRIVATE_KEY_PEM,
			accessToken: '',
			instanceUrl: '',
		},
	};
}

export interface OAuth2Imitation {
	/** Tokens n8n "stored" through refreshes. */
	refreshes: number;
}

export interface SalesforceContextOptions extends FakeContextOptions {
	mode?: 'manual' | 'trigger';
	workflowId?: string;
	/** Credential types to treat as OAuth2 (refreshed with `refresh_token` against `tokenUrl`). */
	oauth2?: { tokenUrl: string; clientId: string; clientSecret: string };
}

/** A context for poll() or execute(), with the fake's helpers plus n8n's OAuth2 behaviour. */
export function salesforceContext(options: SalesforceContextOptions) {
	const { context, response, helperRequests } = fakeContext(options);
	const credentials = options.credentials ?? {};
	const oauth2: OAuth2Imitation = { refreshes: 0 };
	const plainRequest = context.helpers.httpRequestWithAuthentication;
	const extended = {
		...context,
		getMode: () => options.mode ?? 'trigger',
		getActivationMode: () => 'activate',
		getWorkflow: () => ({ id: options.workflowId ?? 'wf-1', name: 'test', active: true }),
		getWorkflowStaticData: () => ({}),
		helpers: {
			...context.helpers,
			httpRequestWithAuthentication: async (
				type: string,
				request: { method: string; url: string; headers?: Record<string, string> },
			) => {
				const data = credentials[type] as Record<string, unknown> | undefined;
				const token = data?.oauthTokenData as Record<string, string> | undefined;
				if (!token || !options.oauth2) return await plainRequest(type, request);
				// n8n's requestOAuth2: Bearer token; on 401 refresh, save the token, retry once.
				const send = async (accessToken: string) =>
					await fetch(request.url, {
						method: request.method,
						headers: { ...request.headers, Authorization: `Bearer ${accessToken}` },
					});
				let answer = await send(token.access_token);
				if (answer.status === 401) {
					const refreshed = await fetch(options.oauth2.tokenUrl, {
						method: 'POST',
						headers: { 'content-type': 'application/x-www-form-urlencoded' },
						body: new URLSearchParams({
							grant_type: 'refresh_token',
							refresh_token: token.refresh_token,
							client_id: options.oauth2.clientId,
							client_secret: options.oauth2.clientSecret,
						}).toString(),
					});
					if (!refreshed.ok) throw new Error(`refresh failed: ${await refreshed.text()}`);
					const body = (await refreshed.json()) as Record<string, string>;
					data!.oauthTokenData = { ...token, ...body };
					oauth2.refreshes++;
					answer = await send(body.access_token);
				}
				if (!answer.ok) throw new Error(`Request failed with status code ${answer.status}`);
				return await answer.json();
			},
		},
	};
	return {
		context: extended,
		poll: extended as unknown as IPollFunctions,
		execute: extended as unknown as IExecuteFunctions,
		response,
		oauth2,
		/** What the node sent through n8n's HTTP helpers. */
		helperRequests,
	};
}
