import { DateTime } from 'luxon';
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import { assertTimeZone, InvalidInputError } from '../../src';

/** "a, b,,c" → ["a", "b", "c"] */
export function splitList(text: string): string[] {
	return text
		.split(',')
		.map((part) => part.trim())
		.filter((part) => part !== '');
}

/**
 * An n8n dateTime parameter (ISO text, usually without an offset) as epoch ms; a value
 * without an offset is read in the workflow's time zone, as n8n shows it.
 */
export function parseDateParameter(
	value: unknown,
	label: string,
	timeZone: string,
): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const parsed =
		value instanceof Date
			? DateTime.fromJSDate(value)
			: DateTime.fromISO(String(value), { zone: timeZone, setZone: false });
	if (!parsed.isValid) {
		throw new InvalidInputError(
			label,
			`"${String(value)}" is not a date; pick one in the date picker or give an ISO date.`,
		);
	}
	return parsed.toMillis();
}

/**
 * The node's Campaign Default Time Zone, checked when the node runs whatever the items: a typo
 * must not wait for the first user without a zone of their own.
 */
export function readDefaultTimeZone(context: IExecuteFunctions): string | undefined {
	const zone = String(context.getNodeParameter('defaultTimeZone', 0, '') ?? '').trim();
	if (!zone) return undefined;
	try {
		assertTimeZone(zone, 'Campaign Default Time Zone');
	} catch (error) {
		throw new NodeOperationError(context.getNode(), (error as Error).message);
	}
	return zone;
}
