import type {
	IAuthenticateGeneric,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/** An Intercom workspace the Send Message node sends in-app messages and emails through. */
export class CampaignIntercomApi implements ICredentialType {
	name = 'campaignIntercomApi';

	displayName = 'Campaign Intercom API';

	icon = 'file:campaignStore.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-triggered-campaigns/n8n-nodes-triggered-campaigns#send-message';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "From the Intercom Developer Hub: your app's Authentication page",
		},
		{
			displayName: 'Region',
			name: 'region',
			type: 'options',
			options: [
				{ name: 'United States (api.intercom.io)', value: 'us' },
				{ name: 'Europe (api.eu.intercom.io)', value: 'eu' },
				{ name: 'Australia (api.au.intercom.io)', value: 'au' },
			],
			default: 'us',
			description: 'Where your Intercom workspace is hosted',
		},
		{
			displayName: 'Base URL Override',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://intercom-proxy.internal',
			description:
				"Optional. Sends to this URL instead of the region's (a proxy, or a local stand-in for tests).",
		},
		{
			displayName: 'API Version',
			name: 'apiVersion',
			type: 'string',
			default: '2.14',
			description: 'Sent as the Intercom-Version header',
		},
		{
			displayName: 'Default Admin ID',
			name: 'defaultAdminId',
			type: 'string',
			default: '',
			required: true,
			description:
				'Admin who sends the messages unless a variant names another author (GET /admins lists them)',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				Authorization: '=Bearer {{$credentials.accessToken}}',
				'Intercom-Version': '={{$credentials.apiVersion || "2.14"}}',
			},
		},
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL:
				'={{$credentials.baseUrl || ($credentials.region === "eu" ? "https://api.eu.intercom.io" : $credentials.region === "au" ? "https://api.au.intercom.io" : "https://api.intercom.io")}}',
			url: '/me',
			method: 'GET',
			headers: { Accept: 'application/json' },
		},
	};
}
