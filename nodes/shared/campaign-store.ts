import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	INodeCredentialTestResult,
	IPollFunctions,
	ITriggerFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import {
	getSharedCampaignStore,
	openCampaignStore,
	StoreConfigurationError,
	type CampaignStore,
	type StoreConfig,
} from '../../src';
import { readCredential } from './credentials';

export const CAMPAIGN_STORE_CREDENTIAL = 'campaignStoreApi';

export function storeConfigFromCredentials(
	credentials?: ICredentialDataDecryptedObject,
): StoreConfig {
	if (!credentials || credentials.backend !== 'postgres') {
		return {
			backend: 'sqlite',
			filePath: (credentials?.filePath as string | undefined) || undefined,
		};
	}
	const ssl = credentials.ssl as string | undefined;
	return {
		backend: 'postgres',
		host: credentials.host as string,
		port: Number(credentials.port),
		database: credentials.database as string,
		user: credentials.user as string,
		password: (credentials.password as string | undefined) || undefined,
		ssl: ssl === 'verify' ? true : ssl === 'noVerify' ? { rejectUnauthorized: false } : false,
		schema: (credentials.schema as string | undefined) || undefined,
	};
}

/**
 * The store settings of the node's Campaign Store credential, or undefined without one. A
 * credential n8n cannot give (deleted, not shared with the workflow's project, not declared by
 * the node) is a StoreConfigurationError: retrying does not help, changing the node does.
 */
export async function storeConfigFor(
	context: IExecuteFunctions | IWebhookFunctions | IPollFunctions | ITriggerFunctions,
): Promise<StoreConfig> {
	const reference = context.getNode().credentials?.[CAMPAIGN_STORE_CREDENTIAL];
	if (!reference) return storeConfigFromCredentials(undefined);
	let credentials: ICredentialDataDecryptedObject;
	try {
		credentials = await readCredential(context, CAMPAIGN_STORE_CREDENTIAL);
	} catch (error) {
		// The engine's class, not NodeOperationError: the trigger answers it with HTTP 500 (a
		// sender's retry cannot help), and n8n wraps it for the execute nodes as any other error.
		// eslint-disable-next-line @n8n/community-nodes/require-node-api-error
		throw new StoreConfigurationError(
			`Cannot read the Campaign Store credential "${reference.name}": ${(error as Error).message}. Open the node and select a Campaign Store credential again, or remove it to use the embedded SQLite file.`,
			{ cause: error },
		);
	}
	return storeConfigFromCredentials(credentials);
}

/** The process-wide store for the node's Campaign Store credential, or the default SQLite file. */
export async function campaignStoreFor(
	context: IExecuteFunctions | IWebhookFunctions | IPollFunctions | ITriggerFunctions,
): Promise<CampaignStore> {
	return await getSharedCampaignStore(await storeConfigFor(context));
}

/** Credential test: opens the store (connects and migrates) with a throwaway connection. */
export async function testCampaignStoreCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const store = await openCampaignStore(storeConfigFromCredentials(credential.data));
		await store.close();
		return { status: 'OK', message: `Connected to the ${store.backend} campaign store` };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}
