import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import {
	elapsedMs,
	quietHoursToWindow,
	validateFrequencyPolicy,
	type CapRule,
	type DurationUnit,
	type FrequencyPolicy,
} from '../../src';
import { DURATION_UNIT_OPTIONS, WEEKDAY_OPTIONS } from './descriptions';
import { parseDateParameter } from './parameters';

const quietHoursOn = { quietHours: [true] };

/**
 * The Frequency Cap's message and rules (Channel, Campaign Tags, Rules, Minimum Gap, Quiet
 * Hours, Important Message) and their one reader, shared with the Campaign Store's Dry Run.
 */
export const frequencyPolicyProperties: INodeProperties[] = [
	{
		displayName: 'Channel',
		name: 'channel',
		type: 'string',
		default: 'in_app',
		placeholder: 'email',
		description:
			'Channel of the message this campaign sends: in_app, email, push, sms, or your own name',
	},
	{
		displayName: 'Campaign Tags',
		name: 'tags',
		type: 'string',
		default: '',
		placeholder: 'promotional, onboarding',
		description: 'Comma-separated tags of this message; rules can count messages by tag',
	},
	{
		displayName: 'Rules',
		name: 'rules',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {
			rule: [
				{
					maxMessages: 3,
					window: 'rolling',
					amount: 7,
					unit: 'days',
					scope: 'all',
					channelScope: 'any',
				},
			],
		},
		placeholder: 'Add Rule',
		description: 'All rules must hold, e.g. 1 per calendar day AND 3 per 7 days',
		options: [
			{
				displayName: 'Rule',
				name: 'rule',
				// Reads as a sentence: at most N, per window, counting what, on which channel.
				// eslint-disable-next-line n8n-nodes-base/node-param-fixed-collection-type-unsorted-items
				values: [
					{
						displayName: 'At Most (Messages)',
						name: 'maxMessages',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 3,
					},
					{
						displayName: 'Window',
						name: 'window',
						type: 'options',
						options: [
							{
								name: 'Rolling',
								value: 'rolling',
								description: 'The last N minutes, hours, days or weeks',
							},
							{
								name: 'Calendar Day',
								value: 'calendarDay',
								description: "Since 00:00 in the user's time zone",
							},
							{
								name: 'Calendar Week',
								value: 'calendarWeek',
								description: "Since Monday 00:00 in the user's time zone",
							},
						],
						default: 'rolling',
					},
					{
						displayName: 'Per',
						name: 'amount',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 7,
						displayOptions: { show: { window: ['rolling'] } },
					},
					{
						displayName: 'Unit',
						name: 'unit',
						type: 'options',
						options: DURATION_UNIT_OPTIONS.filter((option) => option.value !== 'seconds'),
						default: 'days',
						displayOptions: { show: { window: ['rolling'] } },
					},
					{
						displayName: 'Count Messages From',
						name: 'scope',
						type: 'options',
						options: [
							{ name: 'All Campaigns', value: 'all' },
							{ name: 'This Campaign', value: 'campaign' },
							{ name: 'Campaigns With Tag', value: 'tag' },
						],
						default: 'all',
					},
					{
						displayName: 'Tag',
						name: 'tag',
						type: 'string',
						default: '',
						displayOptions: { show: { scope: ['tag'] } },
					},
					{
						displayName: 'On Channel',
						name: 'channelScope',
						type: 'options',
						options: [
							{ name: 'Any Channel', value: 'any' },
							{ name: 'This Channel', value: 'this' },
						],
						default: 'any',
					},
				],
			},
		],
	},
	{
		displayName: 'Minimum Gap',
		name: 'minGapMinutes',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'Minutes between two messages to the same user; 0: no minimum',
	},
	{
		displayName: 'Minimum Gap Counts',
		name: 'minGapChannel',
		type: 'options',
		options: [
			{ name: 'Messages on Any Channel', value: 'any' },
			{ name: 'Messages on This Channel', value: 'this' },
		],
		default: 'any',
		displayOptions: { hide: { minGapMinutes: [0] } },
	},
	{
		displayName: 'Quiet Hours',
		name: 'quietHours',
		type: 'boolean',
		default: true,
		description: "Whether to send only inside delivery hours in the user's own time zone",
	},
	{
		displayName: 'Quiet From',
		name: 'quietStart',
		type: 'string',
		default: '21:00',
		description: 'Local time HH:mm when quiet hours begin',
		displayOptions: { show: quietHoursOn },
	},
	{
		displayName: 'Quiet Until',
		name: 'quietEnd',
		type: 'string',
		default: '09:00',
		description: 'Local time HH:mm when quiet hours end (may be the next morning)',
		displayOptions: { show: quietHoursOn },
	},
	{
		displayName: 'Delivery Days',
		name: 'deliveryDays',
		type: 'multiOptions',
		options: WEEKDAY_OPTIONS,
		default: [1, 2, 3, 4, 5, 6, 7],
		description: 'Days on which delivery hours open',
		displayOptions: { show: quietHoursOn },
	},
	{
		displayName: 'During Quiet Hours',
		name: 'outsideWindow',
		type: 'options',
		options: [
			{
				name: 'Defer to the Next Allowed Time',
				value: 'defer',
				description: 'Route to Deferred with the time',
			},
			{ name: 'Drop', value: 'drop', description: 'Route to Capped' },
		],
		default: 'defer',
		displayOptions: { show: quietHoursOn },
	},
	{
		displayName: 'Important Message',
		name: 'important',
		type: 'boolean',
		default: false,
		description:
			'Whether this message ignores the rules and the minimum gap (quiet hours still apply)',
	},
	{
		displayName: 'Important Messages Count Toward Caps',
		name: 'importantCounts',
		type: 'boolean',
		default: true,
		description: 'Whether this message, once sent, counts against later messages',
		displayOptions: { show: { important: [true] } },
	},
];

/**
 * The cap policy from the parameters above, with Campaign Ends At and Reservation Expires
 * After; throws the engine's InvalidInputError naming the setting.
 */
export function readFrequencyPolicy(
	context: IExecuteFunctions,
	itemIndex: number,
): FrequencyPolicy {
	const rules =
		((context.getNodeParameter('rules', itemIndex, {}) as IDataObject).rule as
			| IDataObject[]
			| undefined) ?? [];
	const minGapMinutes = context.getNodeParameter('minGapMinutes', itemIndex, 0) as number;
	const quietHours = context.getNodeParameter('quietHours', itemIndex, true) as boolean;
	const important = context.getNodeParameter('important', itemIndex, false) as boolean;
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
						channel: context.getNodeParameter('minGapChannel', itemIndex, 'any') as 'this' | 'any',
					}
				: undefined,
		deliveryWindow: quietHours
			? quietHoursToWindow(
					context.getNodeParameter('quietStart', itemIndex) as string,
					context.getNodeParameter('quietEnd', itemIndex) as string,
					context.getNodeParameter('deliveryDays', itemIndex, []) as number[],
				)
			: undefined,
		outsideWindow: context.getNodeParameter('outsideWindow', itemIndex, 'defer') as
			| 'defer'
			| 'drop',
		campaignEndsAt: parseDateParameter(
			context.getNodeParameter('campaignEndsAt', itemIndex, ''),
			'Campaign Ends At',
			context.getTimezone(),
		),
		important,
		importantCounts: important
			? (context.getNodeParameter('importantCounts', itemIndex, true) as boolean)
			: true,
		reservationTtlMs:
			(context.getNodeParameter('reservationTtlMinutes', itemIndex, 60) as number) * 60_000,
	};
	validateFrequencyPolicy(policy);
	return policy;
}
