/**
 * The fake Salesforce org the e2e tests run n8n against: one connected app, one integration user
 * (username-password flow) and the objects a test defines, plus the data of the package's
 * password credential pointing at it.
 */
import { FakeSalesforce, type FakeObjectSchema } from '../support/fake-salesforce';
import type { N8nInstance } from './n8n-harness';

export const FAKE_SALESFORCE_APP = {
	clientId: 'e2e-connected-app',
	clientSecret: 'e2e-connected-app-secret',
};
export const FAKE_SALESFORCE_USER = {
	username: 'integration@e2e.example',
	password: 'e2e-pw',
	securityToken: 'E2ETOKEN',
};

/** Starts a fake org with the connected app (optionally with a JWT public key), the user and `objects`. */
export async function startFakeSalesforceOrg(
	objects: FakeObjectSchema[],
	options: { publicKeyPem?: string } = {},
): Promise<FakeSalesforce> {
	const salesforce = await FakeSalesforce.start();
	salesforce.addConnectedApp({ ...FAKE_SALESFORCE_APP, ...options });
	salesforce.addUser(FAKE_SALESFORCE_USER);
	for (const object of objects) salesforce.defineObject(object);
	return salesforce;
}

/** The data of a `campaignSalesforcePasswordApi` credential that logs in to `salesforce`. */
export function salesforcePasswordCredentialData(
	salesforce: FakeSalesforce,
): Record<string, unknown> {
	return {
		environment: 'custom',
		myDomainUrl: salesforce.url,
		useSoapLogin: false,
		clientId: FAKE_SALESFORCE_APP.clientId,
		clientSecret: FAKE_SALESFORCE_APP.clientSecret,
		username: FAKE_SALESFORCE_USER.username,
		password: FAKE_SALESFORCE_USER.password,
		securityToken: FAKE_SALESFORCE_USER.securityToken,
		apiVersion: '62.0',
	};
}

/** Creates that credential in n8n under `name`. */
export async function createSalesforcePasswordCredential(
	n8n: N8nInstance,
	name: string,
	salesforce: FakeSalesforce,
): Promise<{ id: string; name: string }> {
	return await n8n.createCredential(
		name,
		'campaignSalesforcePasswordApi',
		salesforcePasswordCredentialData(salesforce),
	);
}
