import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** A shared token that senders put in a header of every request to the Campaign Event Trigger. */
export class CampaignWebhookTokenApi implements ICredentialType {
	name = 'campaignWebhookTokenApi';

	displayName = 'Campaign Webhook Token API';

	icon = 'file:campaignStore.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-triggered-campaigns/n8n-nodes-triggered-campaigns#campaign-event-trigger';

	properties: INodeProperties[] = [
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'Authorization',
			description:
				'Header that carries the token; "Bearer <token>" is accepted as well as the bare token',
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
	];
}
