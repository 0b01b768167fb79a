import type { INodeProperties } from 'n8n-workflow';

/**
 * The properties every Salesforce credential of this package shares: where the org logs in and
 * which API version the nodes call. Each credential says, in `environmentDescription`, what the
 * login URL is used for in its flow.
 */
export function salesforceLoginProperties(environmentDescription: string): INodeProperties[] {
	return [
		{
			displayName: 'Environment',
			name: 'environment',
			type: 'options',
			options: [
				{ name: 'Production (login.salesforce.com)', value: 'production' },
				{ name: 'Sandbox (test.salesforce.com)', value: 'sandbox' },
				{ name: 'My Domain URL', value: 'custom' },
			],
			default: 'production',
			description: environmentDescription,
		},
		{
			displayName: 'My Domain URL',
			name: 'myDomainUrl',
			type: 'string',
			default: '',
			placeholder: 'https://acme.my.salesforce.com',
			description: "The org's My Domain login URL (Setup → My Domain)",
			displayOptions: { show: { environment: ['custom'] } },
		},
	];
}

export const salesforceApiVersionProperty: INodeProperties = {
	displayName: 'API Version',
	name: 'apiVersion',
	type: 'string',
	default: '62.0',
	placeholder: '62.0',
	description: 'Salesforce REST API version the nodes call (/services/data/vXX.X)',
};
