import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_MAX_BATCH_SIZE, FILTER_OPERATOR_NAMES, FILTER_OPERATORS } from '../../src';
import { reEntryProperties } from '../shared/descriptions';

export const WEBHOOK_PATH = 'events';

export const triggerProperties: INodeProperties[] = [
	{
		displayName:
			'POST behavioural events here: one Segment-style track call {"userId", "event", "properties", "timestamp", "messageId", "context": {"timezone"}} or {"batch": [...]}. Every valid event is recorded in the campaign store; the workflow runs once per request, with one item per user who entered the campaign.',
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
		description:
			'Stable ID of this campaign. Entries, re-entry rules, caps and sends are counted under it; keep it when you rename the workflow.',
	},
	{
		displayName: 'Trigger Events',
		name: 'eventNames',
		type: 'string',
		default: '',
		placeholder: 'Added to Cart, Session Ended',
		description:
			'Comma-separated event names that start the campaign (exact, case-sensitive). Empty: any event.',
	},
	{
		displayName: 'Property Filters',
		name: 'propertyFilters',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Filter',
		description:
			'Conditions on the event properties; all must hold. Numbers compare as numbers, ISO dates as dates.',
		options: [
			{
				displayName: 'Filter',
				name: 'filter',
				values: [
					{
						displayName: 'Property',
						name: 'property',
						type: 'string',
						required: true,
						default: '',
						placeholder: 'cart_value',
						description: 'Property name; use a dot to reach into objects (cart.total)',
					},
					{
						displayName: 'Operator',
						name: 'operator',
						type: 'options',
						// In the order of FILTER_OPERATORS: equality, comparison, membership, presence.
						options: FILTER_OPERATORS.map((value) => ({
							name: FILTER_OPERATOR_NAMES[value],
							value,
						})),
						default: 'equals',
					},
					{
						displayName: 'Value',
						name: 'value',
						type: 'string',
						default: '',
						placeholder: '100',
						description: 'For "Is in List": comma-separated values',
						displayOptions: { hide: { operator: ['exists', 'notExists'] } },
					},
				],
			},
		],
	},
	...reEntryProperties({
		default: 'oncePerPeriod',
		everyTime: 'Each matching event starts a new journey',
		description: 'Whether a user who entered this campaign may enter it again',
	}),
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
			{
				displayName: 'Campaign Starts At',
				name: 'startsAt',
				type: 'dateTime',
				default: '',
				description:
					'No user enters before this time, and events that occurred before it never trigger',
			},
			{
				displayName: 'Campaign Ends At',
				name: 'endsAt',
				type: 'dateTime',
				default: '',
				description: 'No user enters from this time on; events are still recorded',
			},
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
