import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

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
