import type { ParsedEvents, RejectedEvent } from '../events/parse-events';
import type {
	CampaignEntry,
	CampaignEvent,
	CampaignStore,
	ReEntryRule,
	UserProfile,
} from '../store/campaign-store';
import { evaluateTrigger, type TriggerRule } from '../trigger/trigger-rule';

/** A user who entered the campaign: what the trigger emits as one item. */
export interface TriggeredEntry {
	/** Position of the trigger event in the request. */
	position: number;
	event: CampaignEvent;
	entry: CampaignEntry;
	/** The stored profile, when the store knows the user. */
	profile?: UserProfile;
}

export interface SkippedEvent {
	position: number;
	userId: string;
	eventName: string;
	reason: string;
}

export interface IngestOutcome {
	/** Valid events now durable in the store (new and already recorded). */
	accepted: number;
	/** Of those, events whose messageId was recorded before. */
	duplicates: number;
	rejected: RejectedEvent[];
	triggered: TriggeredEntry[];
	/** Valid events that did not start a journey, with the reason. */
	skipped: SkippedEvent[];
	/** Set when the profiles of entered users could not be read; their items carry no profile. */
	profileError?: string;
}

function describeReEntry(rule: ReEntryRule): string {
	if (rule.mode === 'oncePerPeriod') {
		const hours = Math.round((rule.periodMs / 3_600_000) * 100) / 100;
		return `the user entered this campaign less than ${hours} h before or after this event (re-entry: once per period)`;
	}
	return 'the user already entered this campaign (re-entry: once)';
}

/**
 * The trigger's recording path: record every valid event (idempotently) and enter the users
 * whose event matches the rule, in one store transaction; then read the entered users' profiles.
 */
export async function ingestEvents(
	store: CampaignStore,
	parsed: ParsedEvents,
	rule: TriggerRule | undefined,
	now: number,
): Promise<IngestOutcome> {
	const skipped: SkippedEvent[] = [];
	const skip = (index: number, reason: string) => {
		const event = parsed.events[index];
		skipped.push({
			position: parsed.positions[index],
			userId: event.userId,
			eventName: event.name,
			reason,
		});
	};
	const candidates: number[] = [];
	if (rule) {
		parsed.events.forEach((event, index) => {
			const decision = evaluateTrigger(rule, event, now);
			if (decision.matched) candidates.push(index);
			else skip(index, decision.reason);
		});
	}
	const result = await store.ingest({
		events: parsed.events,
		entry: rule && { campaignId: rule.campaignId, reEntry: rule.reEntry, candidates },
		now,
	});
	for (const index of result.alreadyEntered) {
		skip(index, 'this event already entered the user into the campaign (same messageId)');
	}
	if (rule) for (const index of result.notReEligible) skip(index, describeReEntry(rule.reEntry));
	skipped.sort((a, b) => a.position - b.position);

	// The events and entries are committed: a failed profile read must not lose the journeys.
	let profiles = new Map<string, UserProfile>();
	let profileError: string | undefined;
	if (result.entries.length) {
		try {
			profiles = await store.getProfiles(result.entries.map(({ entry }) => entry.userId));
		} catch (error) {
			profileError = (error as Error).message;
		}
	}
	return {
		accepted: parsed.events.length,
		duplicates: result.recorded.filter((recorded) => !recorded).length,
		rejected: parsed.rejected,
		triggered: result.entries.map(({ eventIndex, entry }) => ({
			position: parsed.positions[eventIndex],
			event: parsed.events[eventIndex],
			entry,
			profile: profiles.get(entry.userId),
		})),
		skipped,
		profileError,
	};
}
