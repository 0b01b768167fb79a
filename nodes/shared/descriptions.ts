import type { IDisplayOptions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import type { ReEntryRule } from '../../src';

/** Parameters several campaign steps share. */

export const WEEKDAY_OPTIONS: INodePropertyOptions[] = [
	{ name: 'Monday', value: 1 },
	{ name: 'Tuesday', value: 2 },
	{ name: 'Wednesday', value: 3 },
	{ name: 'Thursday', value: 4 },
	{ name: 'Friday', value: 5 },
	{ name: 'Saturday', value: 6 },
	{ name: 'Sunday', value: 7 },
];

export const DURATION_UNIT_OPTIONS: INodePropertyOptions[] = [
	{ name: 'Seconds', value: 'seconds' },
	{ name: 'Minutes', value: 'minutes' },
	{ name: 'Hours', value: 'hours' },
	{ name: 'Days', value: 'days' },
	{ name: 'Weeks', value: 'weeks' },
];

export const defaultTimeZoneProperty: INodeProperties = {
	displayName: 'Campaign Default Time Zone',
	name: 'defaultTimeZone',
	type: 'string',
	default: '',
	placeholder: 'Europe/Berlin',
	description:
		"IANA time zone for users whose profile and trigger event have none. The user's time zone is taken from, in order: the stored profile, the trigger event's context.timezone, this, UTC.",
};

export const campaignEndsAtProperty: INodeProperties = {
	displayName: 'Campaign Ends At',
	name: 'campaignEndsAt',
	type: 'dateTime',
	default: '',
	description: 'From this time on, nobody goes on: users exit or are capped with no next time',
};

export const DEFAULT_RESUME_POINT = 'after-delay';

/** The Resume Point parameter, shared by the nodes that schedule users and the trigger that resumes them. */
export const resumePointProperty: INodeProperties = {
	displayName: 'Resume Point',
	name: 'resumePoint',
	type: 'string',
	required: true,
	default: DEFAULT_RESUME_POINT,
	placeholder: DEFAULT_RESUME_POINT,
	description:
		'A name for this point of the campaign. The Campaign Delay (or Frequency Cap) schedules each user under it; the Campaign Resume Trigger with the same Campaign ID and Resume Point continues them.',
};

/**
 * The re-entry rule's parameters, one shape for every campaign trigger (read by
 * `readReEntryRule`): Re-Entry, and its Period and Period Unit for "Once per Period".
 */
export function reEntryProperties(options: {
	default: ReEntryRule['mode'];
	/** What "Every Time" means for this trigger. */
	everyTime: string;
	description: string;
	/** Further conditions for showing them, e.g. a node version. */
	show?: IDisplayOptions['show'];
}): INodeProperties[] {
	const shown = (show: IDisplayOptions['show']) => ({ displayOptions: { show } });
	const always = options.show ? shown(options.show) : {};
	const periodShown = shown({ ...options.show, reEntry: ['oncePerPeriod'] });
	return [
		// The default is the trigger's own, one of the values below.
		// eslint-disable-next-line n8n-nodes-base/node-param-default-missing
		{
			displayName: 'Re-Entry',
			name: 'reEntry',
			type: 'options',
			options: [
				{ name: 'Every Time', value: 'everyTime', description: options.everyTime },
				{
					name: 'Once Ever',
					value: 'once',
					description: 'A user enters this campaign a single time',
				},
				{
					name: 'Once per Period',
					value: 'oncePerPeriod',
					description: 'Two entries of a user are at least the period apart',
				},
			],
			default: options.default,
			description: options.description,
			...always,
		},
		{
			displayName: 'Re-Entry Period',
			name: 'reEntryPeriod',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 24,
			...periodShown,
		},
		{
			displayName: 'Re-Entry Period Unit',
			name: 'reEntryPeriodUnit',
			type: 'options',
			options: [
				{ name: 'Minutes', value: 'minutes' },
				{ name: 'Hours', value: 'hours' },
				{ name: 'Days', value: 'days' },
			],
			default: 'hours',
			...periodShown,
		},
	];
}

/**
 * A subtitle expression (without `={{ }}`) giving the display name of the option chosen in
 * `parameter`, e.g. "Record Event" for `recordEvent`: the canvas shows what the panel shows.
 * `properties` is the node's parameter list; the options are read from it.
 */
export function optionNameExpression(properties: INodeProperties[], parameter: string): string {
	const options = properties.find((property) => property.name === parameter)?.options as
		| INodePropertyOptions[]
		| undefined;
	if (!options?.length) throw new Error(`No options parameter "${parameter}"`);
	const chosen = `$parameter[${JSON.stringify(parameter)}]`;
	return options.reduceRight(
		(otherwise, option) =>
			`(${chosen} === ${JSON.stringify(option.value)} ? ${JSON.stringify(option.name)} : ${otherwise})`,
		'""',
	);
}

/** A subtitle expression: `prefix + value` of a text parameter, or `whenEmpty` while it is empty. */
export function textSubtitleExpression(parameter: string, prefix: string, whenEmpty: string): string {
	const value = `$parameter[${JSON.stringify(parameter)}]`;
	return `(${value} ? ${JSON.stringify(prefix)} + ${value} : ${JSON.stringify(whenEmpty)})`;
}
