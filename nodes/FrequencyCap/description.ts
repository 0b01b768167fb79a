import type { INodeProperties } from 'n8n-workflow';

import {
	campaignEndsAtProperty,
	defaultTimeZoneProperty,
	DURATION_UNIT_OPTIONS,
	resumePointProperty,
	WEEKDAY_OPTIONS,
} from '../shared/descriptions';

const quietHoursOn = { quietHours: [true] };

export const frequencyCapProperties: INodeProperties[] = [
	{
		displayName:
			'Counts every message each user got from every campaign in the campaign store and reserves this one atomically, so parallel executions on several workers never exceed a cap. Connect a Send Message step to Allowed: it commits the reservation (or releases it on failure).',
		name: 'notice',
		type: 'notice',
		default: '',
	},
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
	campaignEndsAtProperty,
	{
		displayName: 'Deferred Users',
		name: 'deferredTo',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Go to the Deferred Output',
				value: 'output',
				description: 'With frequencyCap.earliestAllowedAt, for a loop you wire yourself',
			},
			{
				name: 'Go Back to the Campaign Schedule',
				value: 'schedule',
				description:
					'Each is scheduled at their next allowed time and continues from the Campaign Resume Trigger of the Resume Point below; no loop to wire',
			},
		],
		default: 'output',
		description:
			'Users with no allowed time before the campaign ends exit the campaign (on Capped, with exit.reason campaignEnded) either way',
	},
	{
		...resumePointProperty,
		description:
			'Where scheduled users continue: usually the Resume Point they came in through, so that they pass the exception check and this cap again',
		displayOptions: { show: { deferredTo: ['schedule'] } },
	},
	{
		displayName: 'Schedule Capped Users Too',
		name: 'scheduleCapped',
		type: 'boolean',
		default: false,
		description:
			'Whether users refused by a cap rule or the minimum gap are also scheduled at their next allowed time, instead of leaving on Capped',
		displayOptions: { show: { deferredTo: ['schedule'] } },
	},
	defaultTimeZoneProperty,
	{
		displayName: 'Reservation Expires After (Minutes)',
		name: 'reservationTtlMinutes',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 60,
		description:
			'A slot reserved here and never confirmed by a send step stops counting after this long (a crashed execution)',
	},
];
