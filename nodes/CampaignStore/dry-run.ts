import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import {
	assertTimeZone,
	dryRunCampaign,
	InvalidInputError,
	parseJsonObject,
	type DryRunRequest,
	type DryRunResult,
	type DryRunStore,
} from '../../src';
import { readDelaySpec } from '../shared/delay-settings';
import { readExceptionRule } from '../shared/exception-settings';
import { readFrequencyPolicy } from '../shared/frequency-cap-settings';
import { parseDateParameter, splitList } from '../shared/parameters';
import { readTriggerRule } from '../shared/trigger-settings';
import { readVariants } from '../shared/variant-settings';
import { readUserId } from './read-parameters';

/** One item's Dry Run parameters, read by the same readers as the steps' own nodes. */
export function readDryRunRequest(
	context: IExecuteFunctions,
	itemIndex: number,
	defaultTimeZone: string | undefined,
	now: number,
): DryRunRequest {
	const parameter = (name: string, fallback: unknown) =>
		context.getNodeParameter(name, itemIndex, fallback);
	const workflowZone = context.getTimezone();
	const trigger = readTriggerRule(parameter, workflowZone);
	const eventName = String(parameter('eventName', '') ?? '').trim() || trigger.eventNames[0];
	if (!eventName) {
		throw new InvalidInputError(
			'Event Name',
			'is empty and the Trigger Events are empty too; name the event to test, e.g. Added to Cart.',
		);
	}
	const fields = parameter('testEventFields', {}) as IDataObject;
	const eventZone = String(fields.timeZone ?? '').trim() || undefined;
	if (eventZone) assertTimeZone(eventZone, 'Event Fields: Time Zone');
	const included = (step: string) => parameter(step, false) === true;
	return {
		userId: readUserId(context, itemIndex),
		event: {
			name: eventName,
			properties: parseJsonObject(parameter('properties', '{}'), 'Properties'),
			occurredAt: parseDateParameter(fields.timestamp, 'Occurred At', workflowZone),
			timeZone: eventZone,
		},
		trigger,
		delay: included('includeDelay') ? readDelaySpec(context, itemIndex) : undefined,
		exceptions: included('includeExceptionCheck')
			? readExceptionRule(context, itemIndex)
			: undefined,
		frequencyCap: included('includeFrequencyCap')
			? {
					policy: readFrequencyPolicy(context, itemIndex),
					channel: String(parameter('channel', 'in_app') ?? ''),
					tags: splitList(String(parameter('tags', '') ?? '')),
				}
			: undefined,
		send: included('includeSend')
			? {
					variants: readVariants(context, itemIndex).map(({ name, weight, subject, body }) => ({
						name,
						weight,
						subject,
						body,
					})),
					controlShare: Number(parameter('controlPercent', 0)) / 100,
				}
			: undefined,
		defaultTimeZone,
		now,
	};
}

export async function dryRunItem(
	context: IExecuteFunctions,
	store: DryRunStore,
	itemIndex: number,
	defaultTimeZone: string | undefined,
	now: number,
): Promise<DryRunResult> {
	return await dryRunCampaign(store, readDryRunRequest(context, itemIndex, defaultTimeZone, now));
}
