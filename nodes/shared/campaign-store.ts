import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	INodeCredentialTestResult,
	IWebhookFunctions,
} from 'n8n-workflow';

import {
	getSharedCampaignStore,
	openCampaignStore,
	type CampaignStore,
	type StoreConfig,
} from '../../src';

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

/** The process-wide store for the node's Campaign Store credential, or the default SQLite file. */
export async function campaignStoreFor(
	context: IExecuteFunctions | IWebhookFunctions,
): Promise<CampaignStore> {
	const hasCredential = Boolean(context.getNode().credentials?.[CAMPAIGN_STORE_CREDENTIAL]);
	const credentials = hasCredential
		? await context.getCredentials(CAMPAIGN_STORE_CREDENTIAL)
		: undefined;
	return await getSharedCampaignStore(storeConfigFromCredentials(credentials));
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
