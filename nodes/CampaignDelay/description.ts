import type { INodeProperties } from 'n8n-workflow';

import { delaySpecProperties } from '../shared/delay-settings';
import { defaultTimeZoneProperty, resumePointProperty } from '../shared/descriptions';

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
	...delaySpecProperties,
	defaultTimeZoneProperty,
];
