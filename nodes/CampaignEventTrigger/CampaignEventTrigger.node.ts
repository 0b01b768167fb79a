import {
	NodeConnectionTypes,
	type IDataObject,
	type IHookFunctions,
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
import { textSubtitleExpression } from '../shared/descriptions';
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
		subtitle: `={{ ${textSubtitleExpression('campaignId', 'Campaign: ', 'Campaign ID not set')} }}`,
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

	/**
	 * n8n runs these when the workflow is published (and when a test listens): settings that
	 * cannot work stop the activation there, with the message the editor shows, instead of
	 * answering every sender with an error later. Nothing is registered outside n8n.
	 */
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				readRule(this);
				return true;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				readRule(this);
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const now = Date.now();
		const request = this.getRequestObject();
		let rule: TriggerRule;
		try {
			rule = readRule(this);
		} catch (error) {
			// Published before its settings were checked (an older version of this package):
			// the sender learns what to fix, in the panel's words, and nothing is recorded.
			const message = `The Campaign Event Trigger "${this.getNode().name}" is not set up correctly; nothing was recorded. ${(error as Error).message}`;
			this.logger.error(message);
			this.getResponseObject().status(500).json({ error: message });
			return { noWebhookResponse: true };
		}
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

/** The node's trigger settings, checked; an error names the setting as the panel shows it. */
function readRule(
	context: Pick<IHookFunctions, 'getNode' | 'getNodeParameter' | 'getTimezone'>,
): TriggerRule {
	try {
		return readTriggerRule(
			(name, fallback) => context.getNodeParameter(name, fallback),
			context.getTimezone(),
		);
	} catch (error) {
		throw toNodeError(context, error, {
			settings: 'Campaign Event Trigger settings',
			settingsHint: 'Open the Campaign Event Trigger and correct the setting named above.',
		});
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
