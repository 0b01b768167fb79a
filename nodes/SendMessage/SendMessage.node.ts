import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import {
	assignVariant,
	createHttpChannel,
	createIntercomChannel,
	deliverCampaignItem,
	InvalidInputError,
	getSharedRateLimiter,
	parseJsonObject,
	readCampaignItem,
	readCapHandOff,
	buildPersonalizationContext,
	renderJsonTemplate,
	renderJsonValue,
	renderTemplate,
	type DeliveryResult,
	type MessageChannel,
	type PersonalizationContext,
	type RenderedMessage,
	type UncertainDelivery,
	type UserProfile,
} from '../../src';
import { campaignStoreFor, testCampaignStoreCredential } from '../shared/campaign-store';
import { userIdsOf } from '../shared/campaign-items';
import { itemError, toNodeError } from '../shared/node-errors';
import { optionNameExpression } from '../shared/descriptions';
import { splitList } from '../shared/parameters';
import { n8nTransport } from '../shared/transport';
import { readVariants, type Variant } from '../shared/variant-settings';
import { sendMessageProperties } from './description';

export class SendMessage implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Send Message',
		name: 'sendMessage',
		icon: { light: 'file:sendMessage.svg', dark: 'file:sendMessage.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: `={{ ${optionNameExpression(sendMessageProperties, 'channel')} + ($parameter["channel"] === "intercom" ? " " + ${optionNameExpression(sendMessageProperties, 'intercomMessageType')} : "") }}`,
		description:
			'Sends a personalised message through Intercom or any HTTP provider, with A/B variants and a control group, never twice',
		defaults: { name: 'Campaign Send Message' },
		inputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		outputs: [
			NodeConnectionTypes.Main,
			NodeConnectionTypes.Main,
			NodeConnectionTypes.Main,
			NodeConnectionTypes.Main,
		],
		outputNames: ['Sent', 'Failed', 'Control', 'Unsubscribed'],
		credentials: [
			{
				name: 'campaignStoreApi',
				displayName: 'Campaign Store',
				required: false,
				testedBy: 'testCampaignStoreCredential',
			},
			// n8n's editor takes a parameter whose every value shows some credential for the node's
			// "authentication" choice and hides it from the panel. Channel must stay a visible
			// parameter, so the HTTP credential is keyed on HTTP Authentication alone (shown only
			// for the HTTP channel) and Channel never has all its values covered.
			{
				name: 'campaignIntercomApi',
				displayName: 'Intercom Account (Intercom channel)',
				required: true,
				displayOptions: { show: { channel: ['intercom'] } },
			},
			{
				name: 'campaignHttpAuthApi',
				displayName: 'Provider Header Auth (HTTP channel)',
				required: true,
				displayOptions: { show: { httpAuthentication: ['header'] } },
			},
		],
		properties: sendMessageProperties,
	};

	methods = { credentialTest: { testCampaignStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const store = await campaignStoreFor(this);
		const profiles = await store.getProfiles(userIdsOf(items));
		const channelKind = this.getNodeParameter('channel', 0) as 'intercom' | 'http';
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		const strictVariables = Boolean(options.strictVariables);
		const controlShare = Number(options.controlPercent ?? 0) / 100;
		const perSecond = Number(options.perSecond ?? 0);
		const stepId = this.getNode().id;
		const outputs: INodeExecutionData[][] = [[], [], [], []];
		const uncertainDelivery = (options.uncertainDelivery ?? 'fail') as UncertainDelivery;
		if (uncertainDelivery !== 'fail' && uncertainDelivery !== 'retry') {
			throw new NodeOperationError(
				this.getNode(),
				`On Uncertain Delivery must be 'fail' (Mark Failed) or 'retry' (Retry, At Least Once), not ${JSON.stringify(uncertainDelivery)}`,
			);
		}

		const intercom =
			channelKind === 'intercom' ? await this.getCredentials('campaignIntercomApi') : undefined;
		const httpCredential =
			channelKind === 'http' && this.getNodeParameter('httpAuthentication', 0) === 'header'
				? 'campaignHttpAuthApi'
				: undefined;
		const transport = n8nTransport(this, httpCredential);
		const intercomChannel =
			intercom &&
			createIntercomChannel({
				accessToken: String(intercom.accessToken),
				region: (intercom.region as 'us' | 'eu' | 'au') ?? 'us',
				baseUrl: String(intercom.baseUrl ?? '').trim() || undefined,
				apiVersion: String(intercom.apiVersion || '2.14'),
				defaultAdminId: String(intercom.defaultAdminId),
				messageType: this.getNodeParameter('intercomMessageType', 0) as 'inapp' | 'email',
				emailTemplate: this.getNodeParameter('intercomTemplate', 0, 'personal') as
					| 'plain'
					| 'personal',
				recipientType: this.getNodeParameter('intercomRecipientType', 0, 'user') as 'user' | 'lead',
				lookup: this.getNodeParameter('intercomLookup', 0) as 'contactId' | 'externalId' | 'email',
				retry: { uncertainDelivery },
			});
		const rateKey = `${channelKind}:${String(intercom?.accessToken ?? this.getNode().credentials?.campaignHttpAuthApi?.id ?? 'none')}`;

		for (const [itemIndex, input] of items.entries()) {
			try {
				const item = readCampaignItem(input.json);
				const profile = profiles.get(item.userId);
				const variants = readVariants(this, itemIndex);
				const choice = assignVariant({
					campaignId: item.campaignId,
					userId: item.userId,
					variants: variants.map(({ name, weight }) => ({ name, weight })),
					controlShare,
				});
				const variant =
					choice.kind === 'variant' ? variants.find((v) => v.name === choice.name)! : undefined;
				const event = (input.json.event ?? {}) as IDataObject;
				const personalization = buildPersonalizationContext({
					userId: item.userId,
					profile: profile ?? (input.json.profile as Partial<UserProfile> | undefined) ?? undefined,
					event: {
						name: item.event?.name,
						properties: item.event?.properties,
						// Trigger items carry the event's time once, as `triggeredAt`.
						occurredAt: (event.occurredAt ?? input.json.triggeredAt) as string | undefined,
					},
					campaignId: item.campaignId,
					entryId: item.entryId,
					variant: variant?.name ?? 'control',
				});
				const { idempotencyKey, result } = await deliverCampaignItem({
					store,
					item,
					capHandOff: readCapHandOff(input.json),
					stepId,
					executionId: this.getExecutionId(),
					channelName: String(options.capChannel ?? ''),
					defaultChannelName: defaultCapChannel(this, channelKind),
					tags: splitList(String(options.tags ?? '')),
					reservationTtlMs: Number(options.reservationTtlMinutes ?? 60) * 60_000,
					choice,
					render: async (key) =>
						await renderMessage(this, itemIndex, variant!, personalization, strictVariables, {
							idempotencyKey: key,
							userId: item.userId,
							email: profile?.email ?? personalization.user.email,
							externalIds: profile?.externalIds ?? {},
						}),
					channel: intercomChannel ?? httpChannelFor(this, itemIndex, uncertainDelivery),
					transport,
					throttle:
						perSecond > 0
							? async () => await getSharedRateLimiter().acquire(rateKey, perSecond)
							: undefined,
					now: () => Date.now(),
				});
				const [output, json] = describeResult(result, idempotencyKey);
				// A template that does not render also says so where a failed item always did.
				const error = result.status === 'failed' && result.field ? { error: result.error } : {};
				outputs[output].push({
					json: { ...input.json, send: json, ...error },
					pairedItem: { item: itemIndex },
				});
			} catch (error) {
				// Bad input of this item may go on with "continue on fail"; anything else (the store,
				// a channel that threw) fails the node, as the send's outcome is unknown.
				if (!(error instanceof InvalidInputError || error instanceof NodeOperationError))
					throw toNodeError(this, error, { itemIndex });
				outputs[1].push(itemError(this, error, itemIndex, input));
			}
		}
		return outputs;
	}
}

function defaultCapChannel(context: IExecuteFunctions, kind: 'intercom' | 'http'): string {
	if (kind === 'http') return 'http';
	return context.getNodeParameter('intercomMessageType', 0) === 'email' ? 'email' : 'in_app';
}

async function renderMessage(
	context: IExecuteFunctions,
	itemIndex: number,
	variant: Variant,
	personalization: PersonalizationContext,
	strictVariables: boolean,
	base: Pick<RenderedMessage, 'idempotencyKey' | 'userId' | 'email' | 'externalIds'>,
): Promise<RenderedMessage> {
	const options = (field: string) => ({ strictVariables, field });
	const render = async (template: string | undefined, field: string) =>
		template ? await renderTemplate(template, personalization, options(field)) : undefined;
	const message: RenderedMessage = {
		...base,
		body: (await render(variant.body, 'Body')) ?? '',
		subject: await render(variant.subject, 'Subject'),
		headline: await render(variant.headline, 'Headline'),
		imageUrl: await render(variant.imageUrl, 'Image URL'),
		authorId: variant.authorId,
		variant: variant.name,
	};
	if (context.getNodeParameter('channel', itemIndex) === 'http') {
		const template = context.getNodeParameter('httpBody', itemIndex, '{}');
		const personalized = {
			...personalization,
			message: {
				body: message.body,
				subject: message.subject,
				headline: message.headline,
				imageUrl: message.imageUrl,
			},
		};
		message.payload =
			typeof template === 'string'
				? await renderJsonTemplate(template, personalized, options('Body Template'))
				: await renderJsonValue(template, personalized, options('Body Template'));
	}
	return message;
}

/** The HTTP channel: the JSON body was rendered with the message (`message.payload`). */
function httpChannelFor(
	context: IExecuteFunctions,
	itemIndex: number,
	uncertainDelivery: UncertainDelivery,
): MessageChannel {
	const header = String(context.getNodeParameter('httpIdempotencyHeader', itemIndex, '')).trim();
	const options = {
		method: context.getNodeParameter('httpMethod', itemIndex) as 'POST' | 'PUT' | 'PATCH',
		url: String(context.getNodeParameter('httpUrl', itemIndex)),
		headers: {
			Accept: 'application/json',
			...(parseJsonObject(
				context.getNodeParameter('httpHeaders', itemIndex, '{}'),
				'Headers',
			) as Record<string, string>),
		},
		idempotencyHeader: header || undefined,
		providerMessageIdPath:
			String(context.getNodeParameter('httpMessageIdPath', itemIndex, 'id')) || undefined,
		retry: { uncertainDelivery },
	};
	return {
		name: 'http',
		send: async (message, transport) =>
			await createHttpChannel({ ...options, body: message.payload }).send(message, transport),
	};
}

function describeResult(result: DeliveryResult, idempotencyKey: string): [number, IDataObject] {
	switch (result.status) {
		case 'sent':
			return [
				0,
				{
					status: 'sent',
					idempotencyKey,
					providerMessageId: result.providerMessageId ?? null,
					variant: result.variant ?? null,
					contentHash: result.contentHash,
					attempts: result.attempts,
					rendered: {
						subject: result.message.subject ?? null,
						headline: result.message.headline ?? null,
						body: result.message.body,
						imageUrl: result.message.imageUrl ?? null,
					},
				},
			];
		case 'alreadySent':
			return [
				0,
				{
					status: 'alreadySent',
					idempotencyKey,
					providerMessageId: result.send.providerMessageId ?? null,
					variant: result.send.variant ?? null,
					sentAt:
						result.send.sentAt === undefined ? null : new Date(result.send.sentAt).toISOString(),
				},
			];
		case 'control':
			return [2, { status: 'control', idempotencyKey, variant: 'control' }];
		case 'unsubscribed':
			return [
				3,
				{
					status: 'unsubscribed',
					idempotencyKey,
					reason: result.reason,
					attempts: result.attempts,
					variant: result.variant ?? null,
				},
			];
		case 'failed':
			return [
				1,
				{
					status: 'failed',
					idempotencyKey,
					error: result.error,
					httpStatus: result.httpStatus ?? null,
					// The provider may hold the message: check before sending it again by hand.
					deliveryUnknown: result.deliveryUnknown === true,
					attempts: result.attempts,
					variant: result.variant ?? null,
					...(result.field ? { field: result.field } : {}),
				},
			];
	}
}
