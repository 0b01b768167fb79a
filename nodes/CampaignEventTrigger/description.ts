import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_MAX_BATCH_SIZE } from '../../src';
import { campaignWindowOptions, triggerRuleProperties } from '../shared/trigger-settings';

export const WEBHOOK_PATH = 'events';

export const triggerProperties: INodeProperties[] = [
	{
		displayName:
			'POST behavioural events here: one Segment-style track call {"userId", "event", "properties", "timestamp", "messageId", "context": {"timezone"}} or {"batch": [...]}. Every valid event is recorded in the campaign store; the workflow runs once per request, with one item per user who entered the campaign.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	...triggerRuleProperties,
	{
		displayName: 'Authentication',
		name: 'authentication',
		type: 'options',
		options: [
			{ name: 'None', value: 'none' },
			{ name: 'Header Token', value: 'headerToken' },
			{ name: 'HMAC-SHA256 Signature', value: 'hmacSha256' },
		],
		default: 'none',
		description:
			'How senders prove who they are. A request that fails gets 401 and nothing is recorded.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			...campaignWindowOptions,
			{
				displayName: 'Max Batch Size',
				name: 'maxBatchSize',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: DEFAULT_MAX_BATCH_SIZE,
				description:
					'Largest number of events accepted in one {"batch": [...]} request; larger ones get 413',
			},
		],
	},
];
