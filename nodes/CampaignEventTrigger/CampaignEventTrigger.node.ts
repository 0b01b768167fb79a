import {
	NodeConnectionTypes,
	type IDataObject,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import {
	handleEventRequest,
	triggeredEntryToJson,
	type TriggerRule,
	type WebhookAuth,
} from '../../src';
import { campaignStoreFor, testCampaignStoreCredential } from '../shared/campaign-store';
import { readCredential } from '../shared/credentials';
import { toNodeError } from '../shared/node-errors';
import { readTriggerRule } from '../shared/trigger-settings';
import { testWebhookCredential } from './credential-test';
import { triggerProperties, WEBHOOK_PATH } from './description';

export class CampaignEventTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Event Trigger',
		name: 'campaignEventTrigger',
		icon: { light: 'file:campaignEventTrigger.svg', dark: 'file:campaignEventTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{"Campaign: " + $parameter["campaignId"]}}',
		description:
			'Starts a triggered campaign when users do something: records behavioural events and enters matching users',
		defaults: { name: 'Campaign Event Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'campaignStoreApi',
				displayName: 'Campaign Store',
				required: false,
				testedBy: 'testCampaignStoreCredential',
			},
			{
				name: 'campaignWebhookTokenApi',
				displayName: 'Sender Token',
				required: true,
				testedBy: 'testWebhookCredential',
				displayOptions: { show: { authentication: ['headerToken'] } },
			},
			{
				name: 'campaignWebhookHmacApi',
				displayName: 'Sender Signing Secret',
				required: true,
				testedBy: 'testWebhookCredential',
				displayOptions: { show: { authentication: ['hmacSha256'] } },
			},
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				path: WEBHOOK_PATH,
			},
		],
		properties: triggerProperties,
	};

	methods = { credentialTest: { testCampaignStoreCredential, testWebhookCredential } };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const now = Date.now();
		const request = this.getRequestObject();
		const rule = readRule(this);
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const rawBody: Buffer = Buffer.isBuffer(request.rawBody)
			? request.rawBody
			: Buffer.from(JSON.stringify(this.getBodyData()));

		const result = await handleEventRequest({
			rawBody,
			headers: this.getHeaderData(),
			auth: await readAuth(this),
			rule,
			maxBatchSize: (options.maxBatchSize as number | undefined) ?? 1000,
			store: async () => await campaignStoreFor(this),
			now,
		});
		if (result.status === 500 || result.status === 503)
			this.logger.error(`Campaign Event Trigger: ${String(result.body.error)}`);
		else if (result.status !== 202)
			this.logger.debug(`Campaign Event Trigger answered ${result.status}`);
		if (result.outcome?.profileError) {
			this.logger.warn(
				`Campaign Event Trigger: profiles of entered users could not be read; their items have no profile: ${result.outcome.profileError}`,
			);
		}

		this.getResponseObject().status(result.status).json(result.body);
		if (result.triggered.length === 0) return { noWebhookResponse: true };
		return {
			noWebhookResponse: true,
			workflowData: [
				this.helpers.returnJsonArray(result.triggered.map(triggeredEntryToJson) as IDataObject[]),
			],
		};
	}
}

function readRule(context: IWebhookFunctions): TriggerRule {
	try {
		return readTriggerRule(
			(name, fallback) => context.getNodeParameter(name, fallback),
			context.getTimezone(),
		);
	} catch (error) {
		throw toNodeError(context, error, { settings: 'Campaign Event Trigger settings' });
	}
}

async function readAuth(context: IWebhookFunctions): Promise<WebhookAuth> {
	const type = context.getNodeParameter('authentication', 'none') as WebhookAuth['type'];
	if (type === 'headerToken') {
		const credentials = await readCredential(context, 'campaignWebhookTokenApi');
		return {
			type,
			headerName: (credentials.headerName as string) || 'Authorization',
			token: credentials.token as string,
		};
	}
	if (type === 'hmacSha256') {
		const credentials = await readCredential(context, 'campaignWebhookHmacApi');
		return {
			type,
			headerName: (credentials.headerName as string) || 'X-Signature',
			secret: credentials.secret as string,
			timestampHeader: (credentials.timestampHeader as string) || undefined,
			toleranceSeconds: (credentials.toleranceSeconds as number | undefined) ?? 300,
		};
	}
	return { type: 'none' };
}
