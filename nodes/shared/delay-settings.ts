import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { parseDeliveryWindow, type DelaySpec, type DurationUnit } from '../../src';
import { DURATION_UNIT_OPTIONS, WEEKDAY_OPTIONS } from './descriptions';

/**
 * How long the Campaign Delay waits: its parameters and their one reader, shared with the
 * Campaign Store's Dry Run, which computes the same resume time for one user.
 */
export const delaySpecProperties: INodeProperties[] = [
	{
		displayName: 'Wait',
		name: 'mode',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'After the Trigger Event',
				value: 'afterEvent',
				description: 'A duration after the event occurred, e.g. 30 minutes after the session ended',
			},
			{
				name: 'Until a Date',
				value: 'untilDate',
				description:
					"Until a date from the item, plus or minus an offset, e.g. 3 days before the trial's end",
			},
			{
				name: 'Until the Next Delivery Window',
				value: 'nextWindow',
				description: "Until the next allowed hours in the user's local time",
			},
		],
		default: 'afterEvent',
	},
	{
		displayName: 'Amount',
		name: 'amount',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 30,
		displayOptions: { show: { mode: ['afterEvent'] } },
	},
	{
		displayName: 'Unit',
		name: 'unit',
		type: 'options',
		options: DURATION_UNIT_OPTIONS,
		default: 'minutes',
		description: "Days and weeks are calendar days in the user's time zone (same local time)",
		displayOptions: { show: { mode: ['afterEvent'] } },
	},
	{
		displayName: 'Date',
		name: 'date',
		type: 'string',
		// n8n's editor marks an expression that resolves to undefined as an error (red): on an item
		// without a stored profile this one resolves to "", and the node reports the empty Date.
		default: '={{ $json.profile?.attributes?.trialEndsAt ?? "" }}',
		description:
			"ISO date or date-time from the item, e.g. a profile attribute. Without an offset it is read in the user's time zone; a plain date is 00:00 local.",
		hint: 'The default reads the profile attribute trialEndsAt; change it to the date your users wait for',
		displayOptions: { show: { mode: ['untilDate'] } },
	},
	{
		displayName: 'Offset',
		name: 'offsetAmount',
		type: 'number',
		default: 0,
		description:
			'Added to the date; negative for before it (-3 days: three days before the trial ends)',
		displayOptions: { show: { mode: ['untilDate'] } },
	},
	{
		displayName: 'Offset Unit',
		name: 'offsetUnit',
		type: 'options',
		options: DURATION_UNIT_OPTIONS,
		default: 'days',
		displayOptions: { show: { mode: ['untilDate'] } },
	},
	{
		displayName: 'Window Opens',
		name: 'windowStart',
		type: 'string',
		default: '09:00',
		placeholder: '09:00',
		description: 'Local time HH:mm',
		displayOptions: { show: { mode: ['nextWindow'] } },
	},
	{
		displayName: 'Window Closes',
		name: 'windowEnd',
		type: 'string',
		default: '21:00',
		placeholder: '21:00',
		description:
			'Local time HH:mm (exclusive); earlier than the opening: the window runs past midnight',
		displayOptions: { show: { mode: ['nextWindow'] } },
	},
	{
		displayName: 'Days',
		name: 'windowDays',
		type: 'multiOptions',
		options: WEEKDAY_OPTIONS,
		default: [1, 2, 3, 4, 5, 6, 7],
		description: 'Days on which the window opens',
		displayOptions: { show: { mode: ['nextWindow'] } },
	},
];

export function readDelaySpec(context: IExecuteFunctions, itemIndex: number): DelaySpec {
	const mode = context.getNodeParameter('mode', itemIndex) as DelaySpec['mode'];
	if (mode === 'afterEvent') {
		return {
			mode,
			amount: context.getNodeParameter('amount', itemIndex) as number,
			unit: context.getNodeParameter('unit', itemIndex) as DurationUnit,
		};
	}
	if (mode === 'untilDate') {
		return {
			mode,
			date: context.getNodeParameter('date', itemIndex),
			offsetAmount: context.getNodeParameter('offsetAmount', itemIndex, 0) as number,
			offsetUnit: context.getNodeParameter('offsetUnit', itemIndex, 'days') as DurationUnit,
		};
	}
	return {
		mode,
		window: parseDeliveryWindow(
			{
				start: context.getNodeParameter('windowStart', itemIndex) as string,
				end: context.getNodeParameter('windowEnd', itemIndex) as string,
				weekdays: context.getNodeParameter('windowDays', itemIndex, []) as number[],
			},
			'Window',
		),
	};
}
