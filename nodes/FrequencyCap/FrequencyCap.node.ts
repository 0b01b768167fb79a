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
	afterRefusal,
	applyFrequencyCap,
	exitCampaignEntry,
	exitField,
	frequencyCapField,
	scheduleRequestFor,
	stepIdempotencyKey,
	type CapDecisionRecord,
	type CapRequest,
	type FrequencyPolicy,
} from '../../src';
import { testCampaignStoreCredential } from '../shared/campaign-store';
import { openCampaignStep } from '../shared/campaign-items';
import { itemError, toNodeError } from '../shared/node-errors';
import { textSubtitleExpression } from '../shared/descriptions';
import { readFrequencyPolicy } from '../shared/frequency-cap-settings';
import { splitList, readDefaultTimeZone } from '../shared/parameters';
import { readResumePoint, scheduleUsers, type UserToSchedule } from '../shared/schedule';
import { frequencyCapProperties } from './description';

export class FrequencyCap implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Frequency Cap',
		name: 'frequencyCap',
		icon: { light: 'file:frequencyCap.svg', dark: 'file:frequencyCap.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: `={{ ${textSubtitleExpression('channel', 'Channel: ', 'Channel not set')} }}`,
		description:
			"Limits messages per user across all campaigns, per channel and tag, with quiet hours in the user's time zone; atomic across n8n workers",
		defaults: { name: 'Campaign Frequency Cap' },
		inputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Allowed', 'Capped', 'Deferred'],
		credentials: [
			{
				name: 'campaignStoreApi',
				displayName: 'Campaign Store',
				required: false,
				testedBy: 'testCampaignStoreCredential',
			},
		],
		properties: frequencyCapProperties,
	};

	methods = { credentialTest: { testCampaignStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const now = Date.now();
		const policy = readPolicy(this);
		const channel = (this.getNodeParameter('channel', 0, '') as string).trim();
		if (!channel)
			throw new NodeOperationError(
				this.getNode(),
				'Channel is empty; name the channel of this message, e.g. in_app or email.',
			);
		const tags = splitList(this.getNodeParameter('tags', 0, '') as string);
		const defaultTimeZone = readDefaultTimeZone(this);
		const stepId = this.getNode().id;
		const toSchedule = this.getNodeParameter('deferredTo', 0, 'output') === 'schedule';
		const handOff = {
			deferred: toSchedule,
			capped: toSchedule && (this.getNodeParameter('scheduleCapped', 0, false) as boolean),
		};
		const resumePoint = toSchedule ? readResumePoint(this) : '';

		const { items, store, read, failed } = await openCampaignStep(this, { defaultTimeZone });
		const outputs: INodeExecutionData[][] = [[...failed], [], []];
		const requests = read.map(
			({ item, timeZone }): CapRequest => ({
				idempotencyKey: stepIdempotencyKey(item, stepId, this.getExecutionId()),
				campaignId: item.campaignId,
				stepId,
				entryId: item.entryId,
				userId: item.userId,
				channel,
				tags,
				timeZone,
				now,
			}),
		);
		const decisions = await applyFrequencyCap(store, policy, requests);

		const exits: Array<{ request: CapRequest; reason: string }> = [];
		// Kept for the Campaign Report: who was capped or deferred, whatever became of them.
		const refusals: CapDecisionRecord[] = [];
		const toScheduleUsers: Array<UserToSchedule<number>> = [];
		read.forEach(({ itemIndex }, index) => {
			const result = decisions[index];
			const request = requests[index];
			const json: IDataObject = {
				...items[itemIndex].json,
				frequencyCap: frequencyCapField(result, request),
			};
			if (result.decision === 'allowed') {
				outputs[0].push({ json, pairedItem: { item: itemIndex } });
				return;
			}
			refusals.push({
				campaignId: request.campaignId,
				stepId,
				entryId: request.entryId,
				userId: request.userId,
				decision: result.decision,
				rules: result.rules,
				at: now,
			});
			const next = afterRefusal(result, handOff);
			const output = next.kind === 'exit' || result.decision === 'capped' ? 1 : 2;
			if (next.kind === 'exit') {
				json.exit = exitField('campaignEnded', next.reason, now);
				if (request.entryId) exits.push({ request, reason: next.reason });
			} else if (next.kind === 'schedule') {
				try {
					const scheduled = scheduleRequestFor(request, resumePoint, next.at, json);
					toScheduleUsers.push({ itemIndex, request: scheduled, route: output });
				} catch (error) {
					outputs[output].push(itemError(this, error, itemIndex, items[itemIndex]));
				}
				return;
			}
			outputs[output].push({ json, pairedItem: { item: itemIndex } });
		});
		await store.recordCapDecisions(refusals);
		for (const { request, reason } of exits)
			await exitCampaignEntry(store, { ...request, entryId: request.entryId! }, reason, now);
		const scheduled = await scheduleUsers(
			store,
			toScheduleUsers,
			now,
			(request) => request.payload as IDataObject,
		);
		for (const { route, item } of scheduled) outputs[route].push(item);
		return outputs;
	}
}

function readPolicy(context: IExecuteFunctions): FrequencyPolicy {
	try {
		return readFrequencyPolicy(context, 0);
	} catch (error) {
		throw toNodeError(context, error, { settings: 'Frequency Cap settings' });
	}
}
