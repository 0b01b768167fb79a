import type { INodeProperties } from 'n8n-workflow';

/** The operations about one person: their timeline, an export of their data, their erasure. */
export const USER_DATA_OPERATIONS = ['getTimeline', 'exportUserData', 'eraseUser'] as const;
export type UserDataOperation = (typeof USER_DATA_OPERATIONS)[number];

const userData = { operation: [...USER_DATA_OPERATIONS] };
const reading = { operation: ['getTimeline', 'exportUserData'] };

export const userDataProperties: INodeProperties[] = [
	{
		displayName: 'User ID',
		name: 'userId',
		type: 'string',
		required: true,
		default: '',
		placeholder: '{{ $json.userId }}',
		displayOptions: { show: userData },
	},
	{
		displayName:
			'Erasing removes the profile, the events, the schedule and segment membership of this user. Entries, sends and cap decisions stay under a random ID with nothing personal, so campaign reports keep their counts. It cannot be undone.',
		name: 'eraseNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['eraseUser'] } },
	},
	{
		displayName: 'Campaign ID',
		name: 'campaignId',
		type: 'string',
		default: '',
		placeholder: 'cart-abandonment',
		description:
			'Only the decisions of this campaign (events are always all shown). Empty: every campaign.',
		displayOptions: { show: reading },
	},
	{
		displayName: 'Conversion Events',
		name: 'conversionEvents',
		type: 'string',
		default: '',
		placeholder: 'Order Completed',
		description:
			'Event names that count as a conversion, comma-separated, with the rule of the Campaign Report. Empty: conversions are not shown.',
		displayOptions: { show: reading },
	},
	{
		displayName: 'Conversion Options',
		name: 'conversionOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: reading },
		options: [
			{
				displayName: 'Same Property As the Trigger',
				name: 'matchProperty',
				type: 'string',
				default: '',
				placeholder: 'cart_id',
				description:
					'Only a conversion event with the same value of this property as the trigger event counts, as in the Campaign Report',
			},
			{
				displayName: 'Window (Days)',
				name: 'windowDays',
				type: 'number',
				typeOptions: { minValue: 0.01, maxValue: 90 },
				default: 7,
				description:
					'How long after the message (or the entry) a conversion counts; at most 90 days',
			},
			{
				displayName: 'Window Starts At',
				name: 'windowFrom',
				type: 'options',
				options: [
					{ name: 'The Message', value: 'send' },
					{ name: 'The Entry', value: 'entry' },
				],
				default: 'send',
			},
		],
	},
];
