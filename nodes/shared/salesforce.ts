import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeCredentialDescription,
	type INodeCredentialTestResult,
	type INodeProperties,
	type IPollFunctions,
} from 'n8n-workflow';

import {
	DEFAULT_API_VERSION,
	jwtBearerSession,
	passwordSession,
	SalesforceApi,
	soapPasswordSession,
	staticTokenSession,
	type SalesforceSession,
	type SalesforceToken,
	type SalesforceTransport,
	type SyncLogger,
} from '../../src';
import { n8nLegacySalesforceTransport, n8nSalesforceTransport } from './transport';
import { toNodeError } from './node-errors';

/** Contexts the Salesforce nodes run in. */
export type SalesforceContext = IExecuteFunctions | IPollFunctions;

/**
 * Every Salesforce credential the Salesforce nodes accept, in one list: the "Authentication"
 * options, the nodes' credential declarations and the choice of login flow all come from it.
 * Ordered by recommendation: this package's credentials first.
 */
const SALESFORCE_CREDENTIALS = [
	{
		choice: 'campaignOAuth2',
		type: 'campaignSalesforceOAuth2Api',
		displayName: 'Salesforce Account (OAuth2)',
		option: 'OAuth2 (Connected App Login)',
		description: 'Sign in to Salesforce in the browser once; n8n keeps the token fresh',
		oauth2: true,
		testedHere: false,
	},
	{
		choice: 'campaignJwt',
		type: 'campaignSalesforceJwtApi',
		displayName: 'Salesforce Account (JWT)',
		option: 'JWT Bearer (Certificate)',
		description: 'An integration user authorised with a certificate; no password',
		oauth2: false,
		testedHere: true,
	},
	{
		choice: 'campaignPassword',
		type: 'campaignSalesforcePasswordApi',
		displayName: 'Salesforce Account (Username and Password)',
		option: 'Username and Password',
		description: 'An integration user with password and security token',
		oauth2: false,
		testedHere: true,
	},
	{
		// n8n's own Salesforce credentials: this package is self-hosted only, and an admin
		// should not have to enter the same org twice.
		choice: 'salesforceOAuth2',
		type: 'salesforceOAuth2Api',
		displayName: 'Salesforce Account (n8n OAuth2)',
		option: "N8n's Salesforce OAuth2 Credential",
		description: "Reuse the credential n8n's own Salesforce node uses",
		oauth2: true,
		testedHere: false,
	},
	{
		choice: 'salesforceJwt',
		type: 'salesforceJwtApi',
		displayName: 'Salesforce Account (n8n JWT)',
		option: "N8n's Salesforce JWT Credential",
		description: "Reuse the credential n8n's own Salesforce node uses",
		oauth2: false,
		testedHere: false,
	},
] as const;

export type SalesforceAuthentication = (typeof SALESFORCE_CREDENTIALS)[number]['choice'];

const PASSWORD_TYPE: string = SALESFORCE_CREDENTIALS[2].type;

/** The credential declarations of a Salesforce node's description, one per Authentication choice. */
export const salesforceCredentialDeclarations: INodeCredentialDescription[] =
	SALESFORCE_CREDENTIALS.map((credential) => ({
		name: credential.type,
		displayName: credential.displayName,
		required: true,
		...(credential.testedHere ? { testedBy: 'testSalesforceCredential' } : {}),
		displayOptions: { show: { authentication: [credential.choice] } },
	}));

export const salesforceAuthenticationProperty: INodeProperties = {
	displayName: 'Authentication',
	name: 'authentication',
	type: 'options',
	noDataExpression: true,
	// Ordered by recommendation, not alphabetically: this package's credentials first.
	options: SALESFORCE_CREDENTIALS.map((credential) => ({
		name: credential.option,
		value: credential.choice,
		description: credential.description,
	})),
	default: 'campaignOAuth2',
	description: 'How to connect to the Salesforce org',
};

/** The engine's progress and limit logs go to n8n's logger. */
export function syncLoggerFor(context: SalesforceContext): SyncLogger {
	return {
		debug: (message, meta) => context.logger.debug(message, meta),
		info: (message, meta) => context.logger.info(message, meta),
		warn: (message, meta) => context.logger.warn(message, meta),
	};
}

/**
 * `production`, `sandbox` or the My Domain URL, as the sessions take it. n8n's built-in JWT
 * credential has no "custom" environment: its optional My Domain URL wins when set.
 */
function loginUrlOf(type: string, credentials: ICredentialDataDecryptedObject): string {
	const myDomainUrl = String(credentials.myDomainUrl ?? '').trim();
	const builtIn = !type.startsWith('campaign');
	if (credentials.environment === 'custom' || (builtIn && myDomainUrl !== '')) return myDomainUrl;
	return credentials.environment === 'sandbox' ? 'sandbox' : 'production';
}

function apiVersionOf(credentials: ICredentialDataDecryptedObject): string {
	const version = String(credentials.apiVersion ?? '')
		.trim()
		.replace(/^v/i, '');
	return version || DEFAULT_API_VERSION;
}

/** The session for a credential that holds its own login (password, JWT), for nodes and tests. */
export function sessionForLoginCredential(
	type: string,
	credentials: ICredentialDataDecryptedObject,
	transport?: SalesforceTransport,
): SalesforceSession {
	const loginUrl = loginUrlOf(type, credentials);
	if (type === PASSWORD_TYPE) {
		const login = {
			loginUrl,
			transport,
			username: String(credentials.username ?? ''),
			password: String(credentials.password ?? ''),
			securityToken: String(credentials.securityToken ?? '') || undefined,
		};
		if (credentials.useSoapLogin === true)
			return soapPasswordSession({ ...login, apiVersion: apiVersionOf(credentials) });
		return passwordSession({
			...login,
			clientId: String(credentials.clientId ?? ''),
			clientSecret: String(credentials.clientSecret ?? ''),
		});
	}
	// Our JWT credential names it `consumerKey`; n8n's built-in one `clientId`.
	return jwtBearerSession({
		loginUrl,
		consumerKey: String(credentials.consumerKey ?? credentials.clientId ?? ''),
		username: String(credentials.username ?? ''),
		privateKey: String(credentials.privateKey ?? ''),
		transport,
	});
}

function tokenFromOAuth2(
	context: SalesforceContext,
	credentials: ICredentialDataDecryptedObject,
	previous?: SalesforceToken,
): SalesforceToken {
	const data = (credentials.oauthTokenData ?? {}) as IDataObject;
	const accessToken = typeof data.access_token === 'string' ? data.access_token : '';
	// n8n's refresh has been seen to drop instance_url (n8n-io/n8n#34916): keep the one we had.
	const instanceUrl =
		typeof data.instance_url === 'string' && data.instance_url !== ''
			? data.instance_url
			: (previous?.instanceUrl ?? '');
	if (!accessToken || !instanceUrl) {
		throw new NodeOperationError(
			context.getNode(),
			'The Salesforce OAuth2 credential has no token yet: open it and click "Connect my account".',
		);
	}
	const issuedAt = Number(data.issued_at);
	return { accessToken, instanceUrl, issuedAt: Number.isFinite(issuedAt) ? issuedAt : Date.now() };
}

/**
 * An OAuth2 credential (ours or n8n's built-in one): n8n owns the token. The engine calls with
 * the stored access token; when Salesforce answers 401, `refresh` sends one request through
 * n8n's own OAuth2 helper (`httpRequestWithAuthentication`), which refreshes the token on the
 * 401 AND saves it to the credential, then re-reads the credential for the new token.
 * Refreshing here with the refresh token ourselves would leave n8n's stored token stale (every
 * execution would refresh again) and, when the connected app rotates refresh tokens, make
 * n8n's stored refresh token invalid, so the credential would need reconnecting.
 */
async function oauth2Session(context: SalesforceContext, type: string): Promise<SalesforceSession> {
	const apiVersionOfType = async () => apiVersionOf(await context.getCredentials(type));
	const first = tokenFromOAuth2(context, await context.getCredentials(type));
	let current = first;
	return staticTokenSession({
		accessToken: first.accessToken,
		instanceUrl: first.instanceUrl,
		refresh: async () => {
			const version = await apiVersionOfType();
			await context.helpers.httpRequestWithAuthentication.call(context, type, {
				method: 'GET',
				url: `${current.instanceUrl}/services/data/v${version}/limits`,
				json: true,
			});
			current = tokenFromOAuth2(context, await context.getCredentials(type), current);
			return current;
		},
	});
}

/** The Salesforce API client for the node's chosen credential; one token per credential per process. */
export async function salesforceApiFor(
	context: SalesforceContext,
	authentication: SalesforceAuthentication,
): Promise<SalesforceApi> {
	const credential = SALESFORCE_CREDENTIALS.find(({ choice }) => choice === authentication);
	if (!credential) {
		throw new NodeOperationError(
			context.getNode(),
			`Unknown authentication "${String(authentication)}"; choose one in the node's Authentication field.`,
		);
	}
	const type = credential.type;
	const logger = syncLoggerFor(context);
	// n8n's HTTP helper, so n8n's proxy and outbound settings apply to Salesforce too.
	const transport = n8nSalesforceTransport(
		async (options) => await context.helpers.httpRequest(options),
	);
	try {
		const credentials = await context.getCredentials(type);
		return new SalesforceApi({
			session: credential.oauth2
				? await oauth2Session(context, type)
				: sessionForLoginCredential(type, credentials, transport),
			apiVersion: apiVersionOf(credentials),
			logger,
			transport,
		});
	} catch (error) {
		throw toNodeError(context, error, {
			fieldLabels: CREDENTIAL_FIELD_LABELS,
			fieldKind: 'field of the Salesforce credential',
		});
	}
}

/** Engine field paths of a login → the credential field a user fixes. */
const CREDENTIAL_FIELD_LABELS: Record<string, string> = {
	loginUrl: 'My Domain URL',
	apiVersion: 'API Version',
	privateKey: 'Private Key',
};

/** "Connected: 1,234 of 15,000 daily API requests used" from GET /limits. */
export function describeApiUsage(limits: unknown): string {
	const daily = (limits as Record<string, { Max?: number; Remaining?: number }> | undefined)
		?.DailyApiRequests;
	if (!daily || typeof daily.Max !== 'number' || typeof daily.Remaining !== 'number')
		return 'Connected';
	const used = daily.Max - daily.Remaining;
	return `Connected: ${used.toLocaleString('en-US')} of ${daily.Max.toLocaleString('en-US')} daily API requests used`;
}

/**
 * Credential test of the password and JWT credentials (ours and n8n's JWT one): logs in and reads
 * the org's limits, so the message shows how much of the daily API allowance is used.
 */
export async function testSalesforceCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const data = credential.data ?? {};
		// A credential test gets only n8n's legacy request helper; it applies the proxy too.
		const transport = n8nLegacySalesforceTransport(
			// eslint-disable-next-line @n8n/community-nodes/no-deprecated-workflow-functions
			async (options) => (await this.helpers.request(options)) as unknown,
		);
		const api = new SalesforceApi({
			session: sessionForLoginCredential(credential.type, data, transport),
			apiVersion: apiVersionOf(data),
			transport,
		});
		const limits = await api.getJson(`/limits`);
		return { status: 'OK', message: describeApiUsage(limits) };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}
