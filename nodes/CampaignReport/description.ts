import type { INodeProperties } from 'n8n-workflow';

const measuring = { measureConversions: [true] };

export const campaignReportProperties: INodeProperties[] = [
	{
		displayName: 'Campaign IDs',
		name: 'campaignIds',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'cart-recovery, trial-onboarding',
		description: 'The campaigns to report on, comma-separated: the Campaign ID of their trigger',
	},
	{
		displayName: 'Entered From',
		name: 'from',
		type: 'dateTime',
		default: '',
		description:
			'Count the entries whose trigger event occurred at or after this time. Empty: from the first entry.',
	},
	{
		displayName: 'Entered Before',
		name: 'to',
		type: 'dateTime',
		default: '',
		description:
			'Count the entries whose trigger event occurred before this time. Empty: up to now.',
	},
	{
		displayName: 'Measure Conversions',
		name: 'measureConversions',
		type: 'boolean',
		default: true,
		description:
			'Whether to count conversions and compare each variant with the control group. Conversions are computed from the recorded events when the report runs, so events recorded before you declared them count too.',
	},
	{
		displayName: 'Conversion Events',
		name: 'conversionEvents',
		type: 'string',
		default: '',
		placeholder: 'Order Completed',
		required: true,
		displayOptions: { show: measuring },
		description:
			'Event names that count as a conversion, comma-separated, as recorded by the Campaign Event Trigger or the Campaign Store node',
	},
	{
		displayName: 'Same Property As the Trigger',
		name: 'matchProperty',
		type: 'string',
		default: '',
		placeholder: 'cart_id',
		displayOptions: { show: measuring },
		description:
			'Only a conversion event with the same value of this property as the trigger event counts (e.g. the cart that was abandoned); a trigger event without the property lets any count. A key or a dotted path. Empty: any.',
	},
	{
		displayName: 'Conversion Window',
		name: 'windowAmount',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 7,
		displayOptions: { show: measuring },
		description: 'How long after the message a conversion counts; at most 90 days',
	},
	{
		displayName: 'Window Unit',
		name: 'windowUnit',
		type: 'options',
		options: [
			{ name: 'Hours', value: 'hours' },
			{ name: 'Days', value: 'days' },
		],
		default: 'days',
		displayOptions: { show: measuring },
	},
	{
		displayName: 'Window Starts At',
		name: 'windowFrom',
		type: 'options',
		options: [
			{
				name: 'The Message',
				value: 'send',
				description:
					'The first message sent; for a control-group user, the moment the Send Message step held them out',
			},
			{
				name: 'The Entry',
				value: 'entry',
				description: 'The trigger event, for every user',
			},
		],
		default: 'send',
		displayOptions: { show: measuring },
	},
	{
		displayName: 'Include Chart',
		name: 'includeChart',
		type: 'boolean',
		default: true,
		description:
			"Whether to attach an SVG chart of the funnel and of the variants' conversion rates to each campaign's total item, as binary property 'chart'",
	},
];
