import type {
	IAuthenticateGeneric,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/**
 * A header credential for the Send Message node's HTTP channel (push, SMS and chat
 * providers): `Authorization: Bearer <token>`, or any header name and value.
 */
export class CampaignHttpAuthApi implements ICredentialType {
	name = 'campaignHttpAuthApi';

	displayName = 'Campaign HTTP Provider API';

	icon = 'file:campaignStore.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-triggered-campaigns/n8n-nodes-triggered-campaigns#send-message';

	properties: INodeProperties[] = [
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'Authorization',
		},
		{
			displayName: 'Header Value',
			name: 'secretValue',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'Bearer sk_live_...',
			required: true,
		},
		{
			displayName: 'Test URL',
			name: 'testUrl',
			type: 'string',
			default: '',
			placeholder: 'https://api.provider.com/v1/me',
			description:
				'Optional. A GET endpoint of the provider that answers 2xx with this header, for the credential test.',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: { '={{$credentials.headerName}}': '={{$credentials.secretValue}}' },
		},
	};

	test: ICredentialTestRequest = {
		request: { url: '={{$credentials.testUrl}}', method: 'GET' },
	};
}
