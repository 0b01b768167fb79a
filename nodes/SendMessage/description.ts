import type { INodeProperties } from 'n8n-workflow';

import { controlPercentOption, variantsProperty } from '../shared/variant-settings';

const intercom = { channel: ['intercom'] };
const http = { channel: ['http'] };

export const sendMessageProperties: INodeProperties[] = [
	{
		// Liquid variable names, not prose: `campaign.id` must stay lower case.
		// eslint-disable-next-line n8n-nodes-base/node-param-display-name-miscased-id
		displayName:
			'Templates use Liquid: {{ user.email }}, {{ profile.attributes.plan }}, {{ event.properties.cart_id }}, {{ campaign.id }}, {{ variant.name }}, with filters such as {{ user.first_name | default: "there" }}. Each message is sent at most once per campaign entry and step, even when the execution is retried.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Channel',
		name: 'channel',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Intercom',
				value: 'intercom',
				description: 'In-app message or email from an Intercom admin',
			},
			{
				name: 'HTTP',
				value: 'http',
				description: 'Any provider with an HTTP API: push, SMS, chat tools',
			},
		],
		default: 'intercom',
	},
	{
		displayName: 'Message Type',
		name: 'intercomMessageType',
		type: 'options',
		options: [
			{ name: 'In-App', value: 'inapp' },
			{ name: 'Email', value: 'email' },
		],
		default: 'inapp',
		displayOptions: { show: intercom },
	},
	{
		displayName: 'Email Template',
		name: 'intercomTemplate',
		type: 'options',
		options: [
			{ name: 'Personal', value: 'personal', description: 'Looks like a personal email' },
			{ name: 'Plain', value: 'plain' },
		],
		default: 'personal',
		displayOptions: { show: { channel: ['intercom'], intercomMessageType: ['email'] } },
	},
	{
		displayName: 'Find the Intercom Contact By',
		name: 'intercomLookup',
		type: 'options',
		options: [
			{ name: 'External ID (the User ID)', value: 'externalId' },
			{ name: 'Email', value: 'email' },
			{
				name: 'Intercom Contact ID on the Profile',
				value: 'contactId',
				description: 'Profile.externalIds.intercom',
			},
		],
		default: 'externalId',
		displayOptions: { show: intercom },
	},
	{
		displayName: 'Recipient Type',
		name: 'intercomRecipientType',
		type: 'options',
		options: [
			{ name: 'User', value: 'user' },
			{ name: 'Lead', value: 'lead' },
		],
		default: 'user',
		displayOptions: { show: intercom },
	},
	{
		displayName: 'Method',
		name: 'httpMethod',
		type: 'options',
		options: [
			{ name: 'POST', value: 'POST' },
			{ name: 'PUT', value: 'PUT' },
			{ name: 'PATCH', value: 'PATCH' },
		],
		default: 'POST',
		displayOptions: { show: http },
	},
	{
		displayName: 'URL',
		name: 'httpUrl',
		type: 'string',
		default: '',
		placeholder: 'https://api.provider.com/v1/messages',
		required: true,
		displayOptions: { show: http },
	},
	{
		displayName: 'Authentication',
		name: 'httpAuthentication',
		type: 'options',
		options: [
			{ name: 'None', value: 'none' },
			{ name: 'Header Credential', value: 'header' },
		],
		default: 'header',
		displayOptions: { show: http },
	},
	{
		displayName: 'Headers',
		name: 'httpHeaders',
		type: 'json',
		default: '{}',
		description:
			'Extra request headers as a JSON object, e.g. {"X-Api-Version": "2"}; secrets belong in the credential',
		displayOptions: { show: http },
	},
	{
		displayName: 'Body Template',
		name: 'httpBody',
		type: 'json',
		default: '{\n  "to": "{{ user.phone }}",\n  "text": "{{ message.body }}"\n}',
		description:
			'JSON sent to the provider; its strings are Liquid templates (message.body is the rendered variant body)',
		displayOptions: { show: http },
	},
	{
		displayName: 'Idempotency Header',
		name: 'httpIdempotencyHeader',
		type: 'string',
		default: '',
		placeholder: 'Idempotency-Key',
		description:
			"If the provider supports one: the send's idempotency key goes in this header, so the provider drops repeats too",
		displayOptions: { show: http },
	},
	{
		displayName: 'Provider Message ID Path',
		name: 'httpMessageIdPath',
		type: 'string',
		default: 'id',
		description: "Where the provider's answer holds the message ID (dot path)",
		displayOptions: { show: http },
	},
	{
		displayName: 'Subject',
		name: 'subject',
		type: 'string',
		default: '',
		placeholder: 'You left something in your cart',
		displayOptions: { show: { channel: ['intercom'], intercomMessageType: ['email'] } },
	},
	{
		displayName: 'Body',
		name: 'body',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '',
		placeholder:
			'Hi {{ user.first_name | default: "there" }}, your cart {{ event.properties.cart_id }} is waiting.',
		description: 'Message text (HTML for Intercom). Variants below replace it.',
	},
	variantsProperty,
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Campaign Tags',
				name: 'tags',
				type: 'string',
				default: '',
				description: 'Comma-separated tags, when no Frequency Cap step reserved the slot',
			},
			{
				displayName: 'Cap Channel Name',
				name: 'capChannel',
				type: 'string',
				default: '',
				description:
					"Channel this send counts under for frequency caps. Empty: the Frequency Cap's channel when it reserved the slot, else in_app, email or http.",
			},
			controlPercentOption,
			{
				displayName: 'Fail on Missing Variables',
				name: 'strictVariables',
				type: 'boolean',
				default: false,
				description:
					'Whether a template variable the item lacks is an error (the node fails; with On Error: Continue the item goes to Failed) instead of rendering empty',
			},
			{
				displayName: 'Messages per Second',
				name: 'perSecond',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description:
					'Most messages started per second through this credential, shared by all executions in this n8n process; 0: no limit',
			},
			{
				displayName: 'On Uncertain Delivery',
				name: 'uncertainDelivery',
				type: 'options',
				options: [
					{
						name: 'Mark Failed (Never Twice)',
						value: 'fail',
						description:
							'The item goes to Failed with deliveryUnknown: true; the provider may hold the message, check before resending',
					},
					{
						name: 'Retry (At Least Once)',
						value: 'retry',
						description: 'Sends again; the recipient may get the message twice',
					},
				],
				default: 'fail',
				description:
					'When the connection breaks after the message was sent and no answer came, the provider may have it. Intercom takes no idempotency key; an HTTP provider with an Idempotency Header is always retried, as it drops repeats.',
			},
			{
				displayName: 'Reservation Expires After (Minutes)',
				name: 'reservationTtlMinutes',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 60,
				description:
					'When no Frequency Cap reserved the slot, this step holds the message key this long while sending',
			},
		],
	},
];
