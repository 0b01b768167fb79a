import type { ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

import {
	salesforceApiVersionProperty,
	salesforceLoginProperties,
} from './salesforce-login-properties';

/**
 * A Salesforce org connected through a connected app with the authorization code flow and PKCE,
 * like n8n's own Salesforce OAuth2 credential. n8n keeps the token (and refreshes and stores it);
 * the Salesforce nodes of this package read it and call the org with it.
 */
export class CampaignSalesforceOAuth2Api implements ICredentialType {
	name = 'campaignSalesforceOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Campaign Salesforce OAuth2 API';

	icon = 'file:campaignSalesforce.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-triggered-campaigns/n8n-nodes-triggered-campaigns#salesforce';

	properties: INodeProperties[] = [
		{
			displayName: 'Grant Type',
			name: 'grantType',
			type: 'hidden',
			default: 'pkce',
		},
		...salesforceLoginProperties(
			"Where users log in. Use My Domain when the org's login page is its own domain (required for orgs that block login.salesforce.com).",
		),
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			required: true,
			default:
				'={{ ($self["environment"] === "custom" ? String($self["myDomainUrl"] || "").trim().replace(/\\/+$/, "") : $self["environment"] === "sandbox" ? "https://test.salesforce.com" : "https://login.salesforce.com") + "/services/oauth2/authorize" }}',
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			required: true,
			default:
				'={{ ($self["environment"] === "custom" ? String($self["myDomainUrl"] || "").trim().replace(/\\/+$/, "") : $self["environment"] === "sandbox" ? "https://test.salesforce.com" : "https://login.salesforce.com") + "/services/oauth2/token" }}',
		},
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'hidden',
			default: 'api refresh_token',
		},
		{
			displayName: 'Auth URI Query Parameters',
			name: 'authQueryParameters',
			type: 'hidden',
			default: 'prompt=login',
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'hidden',
			default: 'header',
		},
		salesforceApiVersionProperty,
	];

	/** Reads the org's API limits with the stored token (n8n refreshes it on a 401). */
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.oauthTokenData.instance_url}}',
			url: '=/services/data/v{{$credentials.apiVersion || "62.0"}}/limits',
			method: 'GET',
		},
	};
}
