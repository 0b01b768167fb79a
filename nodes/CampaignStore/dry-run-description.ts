import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

import { delaySpecProperties } from '../shared/delay-settings';
import { campaignEndsAtProperty, defaultTimeZoneProperty } from '../shared/descriptions';
import { exceptionRuleProperties } from '../shared/exception-settings';
import { frequencyPolicyProperties } from '../shared/frequency-cap-settings';
import { campaignWindowOptions, triggerRuleProperties } from '../shared/trigger-settings';
import { controlPercentOption, variantsProperty } from '../shared/variant-settings';

const dryRun = { operation: ['dryRun'] };

/** The step's own parameters, shown only for the Dry Run (and the step, when it is included). */
function shownFor(properties: INodeProperties[], show: IDisplayOptions['show']): INodeProperties[] {
	return properties.map((property) => ({
		...property,
		displayOptions: {
			...property.displayOptions,
			show: { ...show, ...property.displayOptions?.show },
		},
	}));
}

function includeStep(name: string, displayName: string, description: string): INodeProperties {
	return {
		displayName,
		name,
		type: 'boolean',
		default: false,
		description,
		displayOptions: { show: dryRun },
	};
}

/**
 * Dry Run: "what would happen to this user now?" The campaign's settings are given here with
 * the same names as on the nodes that hold them (Campaign Event Trigger, Campaign Delay,
 * Exception Check, Frequency Cap, Send Message); nothing is recorded or sent.
 */
export const dryRunProperties: INodeProperties[] = [
	{
		displayName:
			"Dry Run answers what the campaign would do to one user now, step by step: whether the event enters them (filters, campaign window, re-entry), when the delay ends in their time zone, whether a recorded goal event exits them, which frequency cap rule refuses and until when, and which variant they get. It reads the campaign store and writes nothing. Copy each step's settings from its node; a step left out is not part of the answer.",
		name: 'dryRunNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: dryRun },
	},
	{
		displayName: 'User ID',
		name: 'userId',
		type: 'string',
		required: true,
		default: '',
		placeholder: '{{ $json.userId }}',
		description: 'The user to ask about; their stored profile, entries, events and sends count',
		displayOptions: { show: dryRun },
	},
	{
		displayName: 'Event Name',
		name: 'eventName',
		type: 'string',
		default: '',
		placeholder: 'Added to Cart',
		description: 'The event to test. Empty: the first of the Trigger Events.',
		displayOptions: { show: dryRun },
	},
	{
		displayName: 'Properties',
		name: 'properties',
		type: 'json',
		default: '{}',
		description: 'Properties of the event to test, as a JSON object',
		displayOptions: { show: dryRun },
	},
	{
		displayName: 'Event Fields',
		name: 'testEventFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		displayOptions: { show: dryRun },
		options: [
			{
				displayName: 'Occurred At',
				name: 'timestamp',
				type: 'dateTime',
				default: '',
				description: 'When the event occurred. Empty: now.',
			},
			{
				displayName: 'Time Zone',
				name: 'timeZone',
				type: 'string',
				default: '',
				placeholder: 'Europe/Berlin',
				description: "The event's context.timezone, used when the profile has no time zone",
			},
		],
	},
	...shownFor(triggerRuleProperties, dryRun),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: dryRun },
		options: campaignWindowOptions,
	},
	{ ...campaignEndsAtProperty, displayOptions: { show: dryRun } },
	{ ...defaultTimeZoneProperty, displayOptions: { show: dryRun } },
	includeStep(
		'includeDelay',
		'Include Campaign Delay',
		'Whether the campaign waits before the next steps',
	),
	...shownFor(delaySpecProperties, { ...dryRun, includeDelay: [true] }),
	includeStep(
		'includeExceptionCheck',
		'Include Exception Check',
		'Whether the campaign lets users exit who did the goal since the trigger',
	),
	...shownFor(exceptionRuleProperties, { ...dryRun, includeExceptionCheck: [true] }),
	includeStep(
		'includeFrequencyCap',
		'Include Frequency Cap',
		'Whether the campaign limits messages per user and keeps quiet hours',
	),
	...shownFor(frequencyPolicyProperties, { ...dryRun, includeFrequencyCap: [true] }),
	includeStep(
		'includeSend',
		'Include Send Message',
		'Whether to tell which variant, or the control group, the user would get',
	),
	...shownFor([variantsProperty, controlPercentOption], { ...dryRun, includeSend: [true] }),
];
