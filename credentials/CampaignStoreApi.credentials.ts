import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Where the campaign state lives. Without this credential the nodes use an embedded
 * SQLite file beside n8n's own data; PostgreSQL is for queue mode (several processes).
 */
export class CampaignStoreApi implements ICredentialType {
	name = 'campaignStoreApi';

	displayName = 'Campaign Store API';

	icon = 'file:campaignStore.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-triggered-campaigns/n8n-nodes-triggered-campaigns#choosing-the-campaign-store';

	properties: INodeProperties[] = [
		{
			displayName: 'Database',
			name: 'backend',
			type: 'options',
			options: [
				{
					name: 'Embedded SQLite',
					value: 'sqlite',
					description:
						'A file on this n8n host: no set-up, one n8n process (or processes on one host)',
				},
				{
					name: 'PostgreSQL',
					value: 'postgres',
					description: 'Shared by every n8n process: required for queue mode',
				},
			],
			default: 'sqlite',
		},
		{
			displayName: 'File Path',
			name: 'filePath',
			type: 'string',
			default: '',
			placeholder: '/home/node/.n8n/triggered-campaigns.sqlite',
			description:
				'Path of the SQLite file. Empty: triggered-campaigns.sqlite in the n8n user folder ($N8N_USER_FOLDER/.n8n or ~/.n8n).',
			displayOptions: { show: { backend: ['sqlite'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5432,
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Database Name',
			name: 'database',
			type: 'string',
			default: 'n8n',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'options',
			options: [
				{ name: 'Disable', value: 'disable' },
				{ name: 'Require (Verify Certificate)', value: 'verify' },
				{ name: 'Require (Do Not Verify Certificate)', value: 'noVerify' },
			],
			default: 'disable',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Schema',
			name: 'schema',
			type: 'string',
			default: 'triggered_campaigns',
			description:
				'PostgreSQL schema for the campaign tables; created on first use. Every n8n process must use the same one.',
			displayOptions: { show: { backend: ['postgres'] } },
		},
	];
}
