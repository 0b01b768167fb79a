import { InvalidInputError } from '../errors';
import type { CampaignEvent, ReEntryRule } from '../store/campaign-store';
import {
	evaluatePropertyFilter,
	validatePropertyFilter,
	type PropertyFilter,
} from './property-filter';

/** What starts a user's journey in a campaign. */
export interface TriggerRule {
	campaignId: string;
	/** Event names that trigger; empty means any event. Exact, case-sensitive. */
	eventNames: string[];
	/** All must hold. */
	propertyFilters: PropertyFilter[];
	/** The campaign triggers from this instant (inclusive); events that occurred earlier never do. */
	startsAt?: number;
	/** The campaign stops triggering at this instant (exclusive). */
	endsAt?: number;
	reEntry: ReEntryRule;
}

export type TriggerDecision = { matched: true } | { matched: false; reason: string };

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Checks a rule once, when the node is configured. Errors keep the setting's path in `field`
 * and name it in the message as the node panel does (Campaign ID, Property Filters › row 1).
 */
export function validateTriggerRule(rule: TriggerRule): void {
	if (!rule.campaignId?.trim()) {
		throw new InvalidInputError(
			'campaignId',
			'is empty — give the campaign a stable ID, e.g. abandoned-cart.',
			'Campaign ID',
		);
	}
	rule.propertyFilters.forEach((filter, index) =>
		validatePropertyFilter(
			filter,
			`propertyFilters[${index}]`,
			`Property Filters › row ${index + 1}`,
		),
	);
	if (rule.startsAt !== undefined && rule.endsAt !== undefined && rule.endsAt <= rule.startsAt) {
		throw new InvalidInputError(
			'endsAt',
			`(${iso(rule.endsAt)}) must be after Campaign Starts At (${iso(rule.startsAt)}).`,
			'Campaign Ends At',
		);
	}
	if (rule.reEntry.mode === 'oncePerPeriod' && !(rule.reEntry.periodMs > 0)) {
		throw new InvalidInputError('reEntry.period', 'must be greater than zero.', 'Re-Entry Period');
	}
}

/**
 * Whether one event matches the campaign's trigger at `now`, re-eligibility aside
 * (that needs the store, so the store applies it atomically when it records the entry).
 */
export function evaluateTrigger(
	rule: TriggerRule,
	event: CampaignEvent,
	now: number,
): TriggerDecision {
	if (rule.eventNames.length > 0 && !rule.eventNames.includes(event.name)) {
		return { matched: false, reason: `event "${event.name}" is not a trigger event` };
	}
	if (rule.startsAt !== undefined && now < rule.startsAt) {
		return { matched: false, reason: `the campaign starts at ${iso(rule.startsAt)}` };
	}
	if (rule.endsAt !== undefined && now >= rule.endsAt) {
		return { matched: false, reason: `the campaign ended at ${iso(rule.endsAt)}` };
	}
	if (rule.startsAt !== undefined && event.occurredAt < rule.startsAt) {
		return {
			matched: false,
			reason: `the event occurred at ${iso(event.occurredAt)}, before the campaign started`,
		};
	}
	for (const filter of rule.propertyFilters) {
		const result = evaluatePropertyFilter(filter, event.properties);
		if (!result.passed) return { matched: false, reason: result.reason };
	}
	return { matched: true };
}
