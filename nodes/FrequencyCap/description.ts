import type { INodeProperties } from 'n8n-workflow';

import {
	campaignEndsAtProperty,
	defaultTimeZoneProperty,
	resumePointProperty,
} from '../shared/descriptions';
import { frequencyPolicyProperties } from '../shared/frequency-cap-settings';

export const frequencyCapProperties: INodeProperties[] = [
	{
		displayName:
			'Counts every message each user got from every campaign in the campaign store and reserves this one atomically, so parallel executions on several workers never exceed a cap. Connect a Send Message step to Allowed: it commits the reservation (or releases it on failure).',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	...frequencyPolicyProperties,
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
