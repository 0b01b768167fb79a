import type { INodeProperties } from 'n8n-workflow';

import {
	defaultTimeZoneProperty,
	DURATION_UNIT_OPTIONS,
	resumePointProperty,
	WEEKDAY_OPTIONS,
} from '../shared/descriptions';

const WAIT_HOW_OPTIONS = [
	{
		name: 'Per User, Through the Campaign Schedule',
		value: 'schedule',
		description:
			'Each user continues at their own time from a Campaign Resume Trigger, whatever batch they came in',
	},
	{
		name: 'Inside This Execution',
		value: 'inExecution',
		description: 'The execution waits for its latest user; exact for one user per execution',
	},
];

export const delayProperties: INodeProperties[] = [
	{
		displayName:
			"Each user waits for their own time: the trigger event's time, their date, their local time. Per user: each user is written to the campaign store's schedule and continues from a Campaign Resume Trigger with the same Resume Point when due, whatever batch they came in; nothing should follow this node.",
		name: 'notice',
		type: 'notice',
		default: '',
		displayOptions: { show: { waitHow: ['schedule'] } },
	},
	{
		displayName:
			'Inside this execution: n8n resumes an execution once, for all of its items, so when a batch holds users due at different times all of them go on when the last is due (nobody early). Use it for one user per execution or short waits; choose Per User for batches.',
		name: 'inExecutionNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { waitHow: ['inExecution'] } },
	},
	{
		displayName: 'How to Wait',
		name: 'waitHow',
		type: 'options',
		noDataExpression: true,
		options: WAIT_HOW_OPTIONS,
		default: 'inExecution',
		displayOptions: { show: { '@version': [1] } },
	},
	{
		displayName: 'How to Wait',
		name: 'waitHow',
		type: 'options',
		noDataExpression: true,
		options: WAIT_HOW_OPTIONS,
		default: 'schedule',
		displayOptions: { show: { '@version': [{ _cnd: { gte: 2 } }] } },
	},
	{ ...resumePointProperty, displayOptions: { show: { waitHow: ['schedule'] } } },
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
	defaultTimeZoneProperty,
];
