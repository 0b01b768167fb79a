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
	buildReservation,
	decide,
	elapsedMs,
	exitCampaignEntry,
	InvalidInputError,
	isInQuietHours,
	precheck,
	quietHoursToWindow,
	scheduleRequestFor,
	stepIdempotencyKey,
	validateFrequencyPolicy,
	type CapDecision,
	type CapRequest,
	type CapRule,
	type DurationUnit,
	type FrequencyPolicy,
	type ScheduleStepRequest,
} from '../../src';
import { campaignStoreFor, testCampaignStoreCredential } from '../shared/campaign-store';
import { itemError, readCampaignItems, userIdsOf } from '../shared/campaign-items';
import { textSubtitleExpression } from '../shared/descriptions';
import { parseDateParameter, splitList, readDefaultTimeZone } from '../shared/parameters';
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
		const items = this.getInputData();
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

		const store = await campaignStoreFor(this);
		const profiles = await store.getProfiles(userIdsOf(items));
		const { read, failed } = readCampaignItems(this, items, profiles, defaultTimeZone);
		const outputs: INodeExecutionData[][] = [[...failed], [], []];
		const toSchedule = this.getNodeParameter('deferredTo', 0, 'output') === 'schedule';
		const handOff = {
			deferred: toSchedule,
			capped: toSchedule && (this.getNodeParameter('scheduleCapped', 0, false) as boolean),
		};
		const resumePoint = toSchedule
			? String(this.getNodeParameter('resumePoint', 0, '')).trim()
			: '';
		if (toSchedule && !resumePoint)
			throw new NodeOperationError(
				this.getNode(),
				'Resume Point is empty: name the Resume Point of the Campaign Resume Trigger where scheduled users continue.',
			);
		const exits: Array<{ request: CapRequest; reason: string }> = [];
		const schedule: Array<{ output: number; itemIndex: number; request: ScheduleStepRequest }> = [];
		const route = (itemIndex: number, result: CapDecision, request: CapRequest) => {
			const json: IDataObject = {
				...items[itemIndex].json,
				frequencyCap: describeDecision(result, request),
			};
			if (result.decision === 'allowed') {
				outputs[0].push({ json, pairedItem: { item: itemIndex } });
				return;
			}
			const next = afterRefusal(result, handOff);
			const output = next.kind === 'exit' || result.decision === 'capped' ? 1 : 2;
			if (next.kind === 'exit') {
				json.exit = {
					reason: 'campaignEnded',
					detail: next.reason,
					at: new Date(now).toISOString(),
				};
				if (request.entryId) exits.push({ request, reason: next.reason });
			} else if (next.kind === 'schedule') {
				try {
					schedule.push({
						output,
						itemIndex,
						request: scheduleRequestFor(request, resumePoint, next.at, json),
					});
					return;
				} catch (error) {
					outputs[output].push(itemError(this, error as Error, itemIndex, items[itemIndex]));
					return;
				}
			}
			outputs[output].push({ json, pairedItem: { item: itemIndex } });
		};

		// One transaction for every item that needs the store; quiet hours only check.
		const pending: Array<{ itemIndex: number; request: CapRequest; quiet: boolean }> = [];
		for (const { itemIndex, item, timeZone } of read) {
			const request: CapRequest = {
				idempotencyKey: stepIdempotencyKey(item, stepId, this.getExecutionId()),
				campaignId: item.campaignId,
				stepId,
				entryId: item.entryId,
				userId: item.userId,
				channel,
				tags,
				timeZone,
				now,
			};
			const early = precheck(policy, request);
			if (early) route(itemIndex, early, request);
			else pending.push({ itemIndex, request, quiet: isInQuietHours(policy, request) });
		}
		const results = await store.reserveSends(
			pending.map(({ request, quiet }) => buildReservation(policy, request, { checkOnly: quiet })),
		);
		pending.forEach(({ itemIndex, request, quiet }, index) =>
			route(itemIndex, decide(policy, request, results[index], quiet), request),
		);
		for (const { request, reason } of exits)
			await exitCampaignEntry(store, { ...request, entryId: request.entryId! }, reason, now);
		if (schedule.length > 0) {
			const { scheduled } = await store.scheduleSteps(
				schedule.map(({ request }) => request),
				now,
			);
			schedule.forEach(({ output, itemIndex, request }, index) =>
				outputs[output].push({
					json: {
						...request.payload,
						schedule: {
							resumePoint,
							dueAt: new Date(request.dueAt).toISOString(),
							status: scheduled[index] ? 'scheduled' : 'alreadyScheduled',
						},
					},
					pairedItem: { item: itemIndex },
				}),
			);
		}
		return outputs;
	}
}

function describeDecision(result: CapDecision, request: CapRequest): IDataObject {
	const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
	if (result.decision === 'allowed') {
		return {
			decision: 'allowed',
			idempotencyKey: result.send.idempotencyKey,
			channel: request.channel,
			state: result.send.state,
			reservedAt: iso(result.send.reservedAt),
			expiresAt: iso(result.send.expiresAt),
			alreadyReserved: result.alreadyReserved,
			timeZone: request.timeZone,
			usage: result.usage as unknown as IDataObject[],
		};
	}
	return {
		decision: result.decision,
		rules: result.rules,
		reason: result.reason,
		earliestAllowedAt: result.earliestAllowedAt === null ? null : iso(result.earliestAllowedAt),
		timeZone: request.timeZone,
		usage: result.usage as unknown as IDataObject[],
	};
}

function readPolicy(context: IExecuteFunctions): FrequencyPolicy {
	const rules =
		((context.getNodeParameter('rules', 0, {}) as IDataObject).rule as IDataObject[] | undefined) ??
		[];
	const minGapMinutes = context.getNodeParameter('minGapMinutes', 0, 0) as number;
	const quietHours = context.getNodeParameter('quietHours', 0, true) as boolean;
	const important = context.getNodeParameter('important', 0, false) as boolean;
	try {
		const policy: FrequencyPolicy = {
			rules: rules.map(
				(rule, index): CapRule => ({
					id: String(index + 1),
					limit: Number(rule.maxMessages),
					window:
						rule.window === 'calendarDay'
							? { kind: 'calendar', unit: 'day' }
							: rule.window === 'calendarWeek'
								? { kind: 'calendar', unit: 'week' }
								: {
										kind: 'rolling',
										ms: elapsedMs(Number(rule.amount), rule.unit as DurationUnit),
									},
					scope:
						rule.scope === 'tag'
							? { kind: 'tag', tag: String(rule.tag ?? '').trim() }
							: rule.scope === 'campaign'
								? { kind: 'campaign' }
								: { kind: 'all' },
					channel: rule.channelScope === 'this' ? 'this' : 'any',
				}),
			),
			minGap:
				minGapMinutes > 0
					? {
							ms: minGapMinutes * 60_000,
							channel: context.getNodeParameter('minGapChannel', 0, 'any') as 'this' | 'any',
						}
					: undefined,
			deliveryWindow: quietHours
				? quietHoursToWindow(
						context.getNodeParameter('quietStart', 0) as string,
						context.getNodeParameter('quietEnd', 0) as string,
						context.getNodeParameter('deliveryDays', 0, []) as number[],
					)
				: undefined,
			outsideWindow: context.getNodeParameter('outsideWindow', 0, 'defer') as 'defer' | 'drop',
			campaignEndsAt: parseDateParameter(
				context.getNodeParameter('campaignEndsAt', 0, ''),
				'Campaign Ends At',
				context.getTimezone(),
			),
			important,
			importantCounts: important
				? (context.getNodeParameter('importantCounts', 0, true) as boolean)
				: true,
			reservationTtlMs:
				(context.getNodeParameter('reservationTtlMinutes', 0, 60) as number) * 60_000,
		};
		validateFrequencyPolicy(policy);
		return policy;
	} catch (error) {
		throw new NodeOperationError(
			context.getNode(),
			error instanceof InvalidInputError
				? `Frequency Cap settings: ${error.message}`
				: (error as Error),
		);
	}
}
