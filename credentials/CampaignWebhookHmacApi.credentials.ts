import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** A secret that senders sign each request body with (HMAC-SHA256), optionally with a timestamp against replays. */
export class CampaignWebhookHmacApi implements ICredentialType {
	name = 'campaignWebhookHmacApi';

	displayName = 'Campaign Webhook HMAC Signature API';

	icon = 'file:campaignStore.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-triggered-campaigns/n8n-nodes-triggered-campaigns#campaign-event-trigger';

	properties: INodeProperties[] = [
		{
			displayName: 'Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Signature Header',
			name: 'headerName',
			type: 'string',
			default: 'X-Signature',
			description:
				'Header with the hex HMAC-SHA256 of the signed text, optionally prefixed "sha256="',
		},
		{
			displayName: 'Timestamp Header',
			name: 'timestampHeader',
			type: 'string',
			default: '',
			placeholder: 'X-Timestamp',
			description:
				'Optional. When set, senders put the Unix time in seconds in this header and sign "<timestamp>.<raw body>"; older requests are refused.',
		},
		{
			displayName: 'Timestamp Tolerance (Seconds)',
			name: 'toleranceSeconds',
			type: 'number',
			default: 300,
			description: 'How far the timestamp may be from the current time',
		},
	];
}
