import type { ICredentialType, INodeProperties } from 'n8n-workflow';

import {
	salesforceApiVersionProperty,
	salesforceLoginProperties,
} from './salesforce-login-properties';

/**
 * A Salesforce integration user authorised through a connected app with the JWT bearer flow
 * (a certificate, no password). The credential test lives on the Salesforce nodes
 * (`testSalesforceCredential`).
 */
// Tested by the Salesforce nodes' testSalesforceCredential: their declarations come from one list
// (salesforceCredentialDeclarations in nodes/shared/salesforce.ts), which this rule cannot read.
// eslint-disable-next-line @n8n/community-nodes/credential-test-required
export class CampaignSalesforceJwtApi implements ICredentialType {
	name = 'campaignSalesforceJwtApi';

	displayName = 'Campaign Salesforce JWT API';

	icon = 'file:campaignSalesforce.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-triggered-campaigns/n8n-nodes-triggered-campaigns#salesforce';

	properties: INodeProperties[] = [
		...salesforceLoginProperties(
			"Where the token is requested; the JWT's audience. Orgs created from Spring '26 on need their My Domain URL.",
		),
		{
			displayName: 'Consumer Key',
			name: 'consumerKey',
			type: 'string',
			default: '',
			required: true,
			description:
				'Consumer Key of the connected app that has "Use digital signatures" with the certificate of the key below',
		},
		{
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'integration@acme.com',
			description: 'The Salesforce user the nodes act as; pre-authorised for the connected app',
		},
		{
			displayName: 'Private Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true, rows: 4 },
			default: '',
			required: true,
			placeholder: '-----BEGIN PRIVATE KEY-----',
			description:
				'PEM private key (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY") of the certificate uploaded to the connected app',
		},
		salesforceApiVersionProperty,
	];
}
