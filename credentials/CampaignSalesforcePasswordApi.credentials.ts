import type { ICredentialType, INodeProperties } from 'n8n-workflow';

import {
	salesforceApiVersionProperty,
	salesforceLoginProperties,
} from './salesforce-login-properties';

/**
 * A Salesforce integration user logging in with username and password: through a connected
 * app (OAuth 2.0 username-password flow), or with the legacy SOAP login when there is none.
 * The credential test lives on the Salesforce nodes (`testSalesforceCredential`).
 */
// Tested by the Salesforce nodes' testSalesforceCredential: their declarations come from one list
// (salesforceCredentialDeclarations in nodes/shared/salesforce.ts), which this rule cannot read.
// eslint-disable-next-line @n8n/community-nodes/credential-test-required
export class CampaignSalesforcePasswordApi implements ICredentialType {
	name = 'campaignSalesforcePasswordApi';

	displayName = 'Campaign Salesforce Password API';

	icon = 'file:campaignSalesforce.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-triggered-campaigns/n8n-nodes-triggered-campaigns#salesforce';

	properties: INodeProperties[] = [
		...salesforceLoginProperties('Where the user logs in'),
		{
			displayName: 'Use Legacy SOAP Login (No Connected App)',
			name: 'useSoapLogin',
			type: 'boolean',
			default: false,
			description: 'Whether to log in with the SOAP API login() call, which needs no connected app',
			hint: 'Salesforce is retiring SOAP login(); prefer a connected app (Client ID and Secret) or the JWT credential',
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
			description:
				'Consumer Key of the connected app (App Manager → the app → View → Consumer Key and Secret)',
			displayOptions: { show: { useSoapLogin: [false] } },
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Consumer Secret of the connected app',
			displayOptions: { show: { useSoapLogin: [false] } },
		},
		{
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'integration@acme.com',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Security Token',
			name: 'securityToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				"Appended to the password. Needed unless n8n's IP address is in the org's trusted IP ranges (Settings → Reset My Security Token).",
		},
		salesforceApiVersionProperty,
	];
}
