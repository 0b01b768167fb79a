import type { IExecuteFunctions } from 'n8n-workflow';

import {
	assertTimeZone,
	elapsedMs,
	parseDateInZone,
	type DurationUnit,
	type ReEntryRule,
} from '../../src';
import { toNodeError } from './node-errors';

/** "a, b,,c" → ["a", "b", "c"] */
export function splitList(text: string): string[] {
	return text
		.split(',')
		.map((part) => part.trim())
		.filter((part) => part !== '');
}

/**
 * An n8n dateTime parameter (ISO text, usually without an offset) as epoch ms. A value without
 * an offset is read in the workflow's time zone, as n8n shows it, by the package's one rule for
 * local times (`parseDateInZone`): a repeated local time is its earlier instant, a skipped one
 * the first instant after the gap, as in the Delay and the delivery windows.
 */
export function parseDateParameter(
	value: unknown,
	label: string,
	timeZone: string,
): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	return parseDateInZone(value, timeZone, label);
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
		throw toNodeError(context, error);
	}
	return zone;
}

/**
 * A campaign trigger's re-entry rule from its parameters Re-Entry, Period and Period Unit
 * (`reEntryProperties`). `read` gives a parameter's value, or the fallback when it has none.
 */
export function readReEntryRule(
	read: (name: 'reEntry' | 'reEntryPeriod' | 'reEntryPeriodUnit', fallback: unknown) => unknown,
	defaultMode: ReEntryRule['mode'],
): ReEntryRule {
	const mode = read('reEntry', defaultMode) as ReEntryRule['mode'];
	if (mode !== 'oncePerPeriod') return { mode };
	return {
		mode,
		periodMs: elapsedMs(
			Number(read('reEntryPeriod', 24)),
			read('reEntryPeriodUnit', 'hours') as DurationUnit,
		),
	};
}
