import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { checkExceptions, exitField } from '../../src';
import { testCampaignStoreCredential } from '../shared/campaign-store';
import { openCampaignStep } from '../shared/campaign-items';
import { itemError } from '../shared/node-errors';
import { campaignEndsAtProperty, textSubtitleExpression } from '../shared/descriptions';
import { exceptionRuleProperties, readExceptionRule } from '../shared/exception-settings';

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
		properties: [...exceptionRuleProperties, campaignEndsAtProperty],
	};

	methods = { credentialTest: { testCampaignStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const now = Date.now();
		const { items, store, read, failed } = await openCampaignStep(this);
		const continuing: INodeExecutionData[] = [...failed];
		const exited: INodeExecutionData[] = [];

		for (const { itemIndex, item, profile } of read) {
			try {
				const result = await checkExceptions(
					store,
					item,
					readExceptionRule(this, itemIndex),
					now,
					profile,
				);
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
