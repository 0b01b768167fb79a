import type { INodeProperties } from 'n8n-workflow';

import { dryRunProperties } from './dry-run-description';

const recordEvent = { operation: ['recordEvent'] };
const recordFromFields = { operation: ['recordEvent'], input: ['fields'] };
const profileOperations = { operation: ['upsertProfile', 'getProfile'] };
const upsertProfile = { operation: ['upsertProfile'] };

export const campaignStoreProperties: INodeProperties[] = [
	{
		// n8n's nodes panel lists a node's operations as actions and marks each action whose node
		// type contains "trigger" as a trigger; this package's name does ("triggered"), so Campaign
		// Store's three operations each showed a trigger mark. A node with a `resource` parameter
		// gets its actions from the resources instead: this one has none, so the panel adds Campaign
		// Store as a plain node and the Operation is chosen in its panel.
		displayName: 'Resource',
		name: 'resource',
		type: 'hidden',
		default: 'campaignStore',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Dry Run',
				value: 'dryRun',
				action: 'Dry run a campaign for a user',
				description:
					'Tell what the campaign would do to a user now, step by step, without recording or sending anything',
			},
			{
				name: 'Erase User',
				value: 'eraseUser',
				action: 'Erase a user',
				description:
					"Delete a user's profile, events, schedule and segment membership; keep campaign counts without anything personal",
			},
			{
				name: 'Export User Data',
				value: 'exportUserData',
				action: 'Export all data of a user',
				description: 'Everything stored about a user in one JSON document, with their timeline',
			},
			{
				name: 'Get Profile',
				value: 'getProfile',
				action: 'Get a user profile',
				description: 'Read what the campaign store knows about a user',
			},
			{
				name: 'Get Timeline',
				value: 'getTimeline',
				action: 'Get the timeline of a user',
				description:
					'Every decision about a user in order: events, entries, delays, exits, caps, sends, conversions',
			},
			{
				name: 'Record Event',
				value: 'recordEvent',
				action: 'Record a behavioural event',
				description:
					'Record events that arrive through other triggers, so exception checks and conversions see them',
			},
			{
				name: 'Upsert Profile',
				value: 'upsertProfile',
				action: 'Create or update a user profile',
				description: 'Set email, phone, time zone, subscription and attributes of a user',
			},
		],
		default: 'recordEvent',
	},
	{
		displayName: 'Input',
		name: 'input',
		type: 'options',
		options: [
			{ name: 'Fields Below', value: 'fields' },
			{
				name: 'Segment Track JSON',
				value: 'json',
				description:
					'An object with userId, event, properties, timestamp, messageId, context.timezone',
			},
		],
		default: 'fields',
		displayOptions: { show: recordEvent },
	},
	{
		displayName: 'Event JSON',
		name: 'eventJson',
		type: 'json',
		default: '={{ $json }}',
		description: 'One event in the shape of a Segment track call',
		displayOptions: { show: { operation: ['recordEvent'], input: ['json'] } },
	},
	{
		displayName: 'User ID',
		name: 'userId',
		type: 'string',
		required: true,
		default: '',
		placeholder: '{{ $json.userId }}',
		displayOptions: { show: recordFromFields },
	},
	{
		displayName: 'User ID',
		name: 'userId',
		type: 'string',
		required: true,
		default: '',
		placeholder: '{{ $json.userId }}',
		displayOptions: { show: profileOperations },
	},
	{
		displayName: 'Event Name',
		name: 'eventName',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'Order Completed',
		displayOptions: { show: recordFromFields },
	},
	{
		displayName: 'Properties',
		name: 'properties',
		type: 'json',
		default: '{}',
		description: 'Event properties as a JSON object',
		displayOptions: { show: recordFromFields },
	},
	{
		displayName: 'Additional Fields',
		name: 'eventFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		displayOptions: { show: recordFromFields },
		options: [
			{
				displayName: 'Message ID',
				name: 'messageId',
				type: 'string',
				default: '',
				description:
					'Unique ID of the event; a repeated ID is recorded once, so retries are safe. Empty: a new ID.',
			},
			{
				displayName: 'Occurred At',
				name: 'timestamp',
				type: 'string',
				default: '',
				placeholder: '2026-03-01T12:00:00Z',
				description: 'ISO 8601 time with an offset. Empty: now.',
			},
			{
				displayName: 'Time Zone',
				name: 'timeZone',
				type: 'string',
				default: '',
				placeholder: 'Europe/Berlin',
				description: 'IANA time zone of the user when the event happened',
			},
		],
	},
	{
		displayName: 'Profile Fields',
		name: 'profileFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		displayOptions: { show: upsertProfile },
		options: [
			{
				displayName: 'Attributes',
				name: 'attributes',
				type: 'json',
				default: '{}',
				description: 'JSON object; keys given replace, others are kept',
			},
			{
				displayName: 'Email',
				name: 'email',
				type: 'string',
				placeholder: 'name@email.com',
				default: '',
			},
			{
				displayName: 'External IDs',
				name: 'externalIds',
				type: 'json',
				default: '{}',
				description: 'JSON object of IDs in other systems, e.g. {"salesforce": "003..."}',
			},
			{
				displayName: 'Phone',
				name: 'phone',
				type: 'string',
				default: '',
			},
			{
				displayName: 'Time Zone',
				name: 'timeZone',
				type: 'string',
				default: '',
				placeholder: 'America/New_York',
				description: 'IANA time zone: delays, delivery windows and quiet hours use it',
			},
			{
				displayName: 'Unsubscribed',
				name: 'unsubscribed',
				type: 'boolean',
				default: false,
				description: 'Whether the user opted out of campaign messages',
			},
		],
	},
	...dryRunProperties,
];
