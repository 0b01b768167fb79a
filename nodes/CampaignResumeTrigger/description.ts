import type { INodeProperties } from 'n8n-workflow';

import { resumePointProperty } from '../shared/descriptions';

export const resumeTriggerProperties: INodeProperties[] = [
	{
		displayName:
			'Continues users a Campaign Delay (or Frequency Cap) scheduled in the campaign store, each at their own time: it checks the schedule about every second and starts an execution with the users who are due, whatever batch they arrived in. Users due while n8n was stopped continue right after it starts again.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Campaign ID',
		name: 'campaignId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'abandoned-cart',
		description: 'The Campaign ID of the trigger that started these users',
	},
	resumePointProperty,
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Max Users per Execution',
				name: 'batchSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10000 },
				default: 1000,
				description: 'Users due at the same moment go out in executions of at most this many items',
			},
			{
				displayName: 'Check Every (Seconds)',
				name: 'pollSeconds',
				type: 'number',
				typeOptions: { minValue: 0.1 },
				default: 1,
				description:
					'Longest time between two looks at the schedule; the trigger also wakes when the next user falls due. A user resumes at most about this late.',
			},
			{
				displayName: 'Executions at Once',
				name: 'maxInFlight',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 2,
				description:
					'Executions of this trigger running at the same time; more due users wait for one to finish',
			},
		],
	},
];
