import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { computeResumeAt, delayField, releaseTime, scheduleRequestFor } from '../../src';
import { testCampaignStoreCredential } from '../shared/campaign-store';
import { openCampaignStep } from '../shared/campaign-items';
import { readDelaySpec } from '../shared/delay-settings';
import { itemError } from '../shared/node-errors';
import { optionNameExpression } from '../shared/descriptions';
import { readDefaultTimeZone } from '../shared/parameters';
import { readResumePoint, scheduleUsers, type UserToSchedule } from '../shared/schedule';
import { delayProperties } from './description';

/** Below this n8n's wait tracker (which polls every 60 s) would resume late: wait in-process, as the Wait node does. */
const IN_PROCESS_WAIT_LIMIT_MS = 65_000;

/** E.g. "30 minutes after the event · per user → after-30-min". */
function delaySubtitle(): string {
	const unit = optionNameExpression(delayProperties, 'unit');
	const offsetUnit = optionNameExpression(delayProperties, 'offsetUnit');
	const offset = '$parameter["offsetAmount"]';
	const what =
		`($parameter["mode"] === "afterEvent" ? $parameter["amount"] + " " + ${unit}.toLowerCase() + " after the event"` +
		` : $parameter["mode"] === "untilDate" ? "Until the date" + (${offset} ? (${offset} > 0 ? " +" : " ") + ${offset} + " " + ${offsetUnit}.toLowerCase() : "")` +
		` : "Until " + $parameter["windowStart"] + "–" + $parameter["windowEnd"] + " local time")`;
	const how = '($parameter["waitHow"] === "schedule" ? "per user → " + $parameter["resumePoint"] : "in this execution")';
	return `={{ ${what} + " · " + ${how} }}`;
}

export class CampaignDelay implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Delay',
		name: 'campaignDelay',
		icon: { light: 'file:campaignDelay.svg', dark: 'file:campaignDelay.dark.svg' },
		group: ['transform'],
		version: [1, 2],
		defaultVersion: 2,
		subtitle: delaySubtitle(),
		description:
			"Waits per user: after the trigger event, until a date, or until the user's next local delivery window; nobody leaves early",
		defaults: { name: 'Campaign Delay' },
		inputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'campaignStoreApi',
				displayName: 'Campaign Store',
				required: false,
				testedBy: 'testCampaignStoreCredential',
			},
		],
		properties: delayProperties,
	};

	methods = { credentialTest: { testCampaignStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const now = Date.now();
		const { items, store, read, failed } = await openCampaignStep(this, {
			defaultTimeZone: readDefaultTimeZone(this),
			requireCampaign: false,
		});

		const perUser = this.getNodeParameter('waitHow', 0, 'inExecution') === 'schedule';
		const resumePoint = perUser ? readResumePoint(this) : '';
		const scheduled: Array<UserToSchedule<undefined>> = [];
		const resumeTimes: number[] = [];
		const output: INodeExecutionData[] = [...failed];
		for (const { itemIndex, item, timeZone, timeZoneSource } of read) {
			try {
				const resumeAt = computeResumeAt(
					readDelaySpec(this, itemIndex),
					{ triggeredAt: item.triggeredAt, timeZone },
					now,
				);
				// After a wait n8n passes this node's input on as it was saved, without running
				// the node again: the annotation must be on the input item itself to survive.
				const input = items[itemIndex];
				input.json.delay = delayField(resumeAt, timeZone, timeZoneSource);
				if (perUser) {
					scheduled.push({
						itemIndex,
						request: scheduleRequestFor(item, resumePoint, resumeAt, input.json),
						route: undefined,
					});
					continue;
				}
				resumeTimes.push(resumeAt);
				output.push({ json: input.json, pairedItem: { item: itemIndex } });
			} catch (error) {
				output.push(itemError(this, error, itemIndex, items[itemIndex]));
			}
		}

		if (perUser) {
			const handedOver = await scheduleUsers(store, scheduled, now, (request) => ({
				userId: request.userId,
				campaignId: request.campaignId,
				entryId: request.entryId,
			}));
			for (const { item } of handedOver) output.push(item);
			return [output];
		}

		const waitUntil = releaseTime(resumeTimes, now);
		const waitMs = waitUntil - Date.now();
		if (waitMs > 0) {
			this.logger.debug(`Campaign Delay: waiting until ${new Date(waitUntil).toISOString()}`);
			if (waitMs < IN_PROCESS_WAIT_LIMIT_MS) {
				await waitInProcess(this, waitMs);
			} else {
				await this.putExecutionToWait(new Date(waitUntil));
			}
		}
		return [output];
	}
}

/** A short wait inside the running execution, ended early when the execution is cancelled. */
async function waitInProcess(context: IExecuteFunctions, ms: number): Promise<void> {
	await new Promise<void>((resolve) => {
		const timer = setTimeout(resolve, ms);
		context.onExecutionCancellation(() => {
			clearTimeout(timer);
			resolve();
		});
	});
}
