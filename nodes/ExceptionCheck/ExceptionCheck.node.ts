import {
	NodeConnectionTypes,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import {
	checkExceptions,
	elapsedMs,
	exitField,
	type DurationUnit,
	type ExceptionRule,
} from '../../src';
import { testCampaignStoreCredential } from '../shared/campaign-store';
import { openCampaignStep } from '../shared/campaign-items';
import { itemError } from '../shared/node-errors';
import {
	campaignEndsAtProperty,
	DURATION_UNIT_OPTIONS,
	textSubtitleExpression,
} from '../shared/descriptions';
import { parseDateParameter, splitList } from '../shared/parameters';

export class ExceptionCheck implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Exception Check',
		name: 'exceptionCheck',
		icon: { light: 'file:exceptionCheck.svg', dark: 'file:exceptionCheck.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: `={{ ${textSubtitleExpression('exceptionEvents', 'Exit on ', 'Exception Events not set')} }}`,
		description:
			'Lets users who did the goal since the trigger (bought after abandoning the cart), unsubscribed, or outlived the campaign exit',
		defaults: { name: 'Campaign Exception Check' },
		inputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Continue', 'Exited'],
		credentials: [
			{
				name: 'campaignStoreApi',
				displayName: 'Campaign Store',
				required: false,
				testedBy: 'testCampaignStoreCredential',
			},
		],
		properties: [
			{
				displayName: 'Exception Events',
				name: 'exceptionEvents',
				type: 'string',
				required: true,
				default: '',
				placeholder: 'Order Completed',
				description:
					'Comma-separated event names. A user who did any of them after the trigger event exits. Events must reach the campaign store (Campaign Event Trigger or Campaign Store → Record Event).',
			},
			{
				displayName: 'Match Property',
				name: 'matchProperty',
				type: 'string',
				default: '',
				placeholder: 'cart_id',
				description:
					"Optional. Only exception events whose property equals the trigger event's count (the same cart). If the trigger event lacks it, any exception event counts.",
			},
			{
				displayName: 'Only Within',
				name: 'withinAmount',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description:
					'Only exception events this long after the trigger count; 0: any time since the trigger',
			},
			{
				displayName: 'Only Within Unit',
				name: 'withinUnit',
				type: 'options',
				options: DURATION_UNIT_OPTIONS,
				default: 'hours',
			},
			{
				displayName: 'Exit When Unsubscribed',
				name: 'exitWhenUnsubscribed',
				type: 'boolean',
				default: true,
				description: 'Whether users whose stored profile says unsubscribed exit',
			},
			campaignEndsAtProperty,
		],
	};

	methods = { credentialTest: { testCampaignStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const now = Date.now();
		const { items, store, read, failed } = await openCampaignStep(this);
		const continuing: INodeExecutionData[] = [...failed];
		const exited: INodeExecutionData[] = [];

		for (const { itemIndex, item, profile } of read) {
			try {
				const result = await checkExceptions(store, item, readRule(this, itemIndex), now, profile);
				if (!result.exited) {
					continuing.push({ json: items[itemIndex].json, pairedItem: { item: itemIndex } });
					continue;
				}
				const exit = exitField(result.reason, result.detail, result.at, result.event);
				exited.push({ json: { ...items[itemIndex].json, exit }, pairedItem: { item: itemIndex } });
			} catch (error) {
				continuing.push(itemError(this, error, itemIndex, items[itemIndex]));
			}
		}
		return [continuing, exited];
	}
}

function readRule(context: IExecuteFunctions, itemIndex: number): ExceptionRule {
	const withinAmount = context.getNodeParameter('withinAmount', itemIndex, 0) as number;
	const withinUnit = context.getNodeParameter('withinUnit', itemIndex, 'hours') as DurationUnit;
	const exceptionEvents = splitList(
		context.getNodeParameter('exceptionEvents', itemIndex, '') as string,
	);
	// Without them the check would let everybody continue without a word.
	if (exceptionEvents.length === 0) {
		throw new NodeOperationError(
			context.getNode(),
			'Exception Events: is empty — enter the events that make a user exit, e.g. Order Completed.',
			{
				itemIndex,
				description:
					'A user who did one of these events since the trigger leaves the campaign; the check needs at least one.',
			},
		);
	}
	return {
		exceptionEvents,
		matchProperty:
			(context.getNodeParameter('matchProperty', itemIndex, '') as string).trim() || undefined,
		withinMs: withinAmount > 0 ? elapsedMs(withinAmount, withinUnit) : undefined,
		campaignEndsAt: parseDateParameter(
			context.getNodeParameter('campaignEndsAt', itemIndex, ''),
			'Campaign Ends At',
			context.getTimezone(),
		),
		exitWhenUnsubscribed: context.getNodeParameter(
			'exitWhenUnsubscribed',
			itemIndex,
			true,
		) as boolean,
	};
}
