import type { CampaignStore, ConversionRule } from '../store/campaign-store';
import type { UserRecords, UserScheduledStep } from '../store/user-records';

/**
 * One decision in a user's timeline. `at` is the instant it was taken (epoch ms), `text` says
 * it in a sentence; the other fields are the stored facts it comes from.
 */
export type TimelineDecision = { at: number; time: string; text: string } & (
	| { kind: 'eventRecorded'; event: string; messageId: string }
	| {
			kind: 'entered';
			campaignId: string;
			entryId: string;
			triggerEvent: string | null;
			triggerMessageId: string;
			triggeredAt: number;
	  }
	| {
			kind: 'delayed' | 'deferred';
			campaignId: string;
			entryId: string;
			stepId: string;
			until: number;
	  }
	| {
			kind: 'capped';
			campaignId: string;
			entryId: string | null;
			stepId: string;
			decision: 'capped' | 'deferred';
			rules: string[];
	  }
	| {
			kind: 'sent' | 'failed' | 'released' | 'heldOut' | 'reserved';
			campaignId: string;
			entryId: string | null;
			stepId: string;
			channel: string;
			variant: string | null;
			providerMessageId: string | null;
			contentHash: string | null;
			error: string | null;
	  }
	| { kind: 'exited'; campaignId: string; entryId: string; reason: string }
	| { kind: 'converted'; campaignId: string; entryId: string; event: string; messageId: string }
);

export type TimelineKind = TimelineDecision['kind'];

export interface UserTimeline {
	userId: string;
	campaignId?: string;
	decisions: TimelineDecision[];
	/** What the store does not keep, so the timeline cannot show it. */
	notes: string[];
}

/** Ties at one instant in the order the steps take them. */
const RANK: Record<TimelineKind, number> = {
	eventRecorded: 0,
	entered: 1,
	capped: 2,
	deferred: 3,
	heldOut: 4,
	reserved: 5,
	sent: 6,
	failed: 7,
	released: 8,
	exited: 9,
	delayed: 10,
	converted: 11,
};

export function compareDecisions(
	a: Pick<TimelineDecision, 'at' | 'kind'> & { entryId?: string | null },
	b: Pick<TimelineDecision, 'at' | 'kind'> & { entryId?: string | null },
): number {
	return (
		a.at - b.at ||
		RANK[a.kind] - RANK[b.kind] ||
		(a.entryId ?? '').localeCompare(b.entryId ?? '', 'en')
	);
}

const iso = (at: number) => new Date(at).toISOString();

export const TIMELINE_NOTES = {
	waitInExecution:
		'A Campaign Delay that waits inside the execution (How to Wait: Inside This Execution) stores nothing: its resume times are not shown. Per-user delays are.',
	pruned:
		'The schedule keeps finished rows a week: delays and deferrals that ended earlier than that are not shown.',
	failedAt:
		'The store keeps when a failed or released message was reserved, not when the provider refused it: that is the instant shown.',
	noConversion: 'No conversion rule was given: conversions are not shown.',
};

/**
 * A user's timeline from what the store holds (see `CampaignStore.readUserRecords`): every
 * decision in order. A scheduled step the Frequency Cap wrote (its latest earlier decision of
 * the entry is a refusal) is "deferred until"; any other is "delayed until".
 */
export function buildTimeline(records: UserRecords, conversion?: ConversionRule): UserTimeline {
	const decisions: TimelineDecision[] = [];
	const eventById = new Map(records.events.map((event) => [event.messageId, event]));
	for (const event of records.events) {
		decisions.push({
			kind: 'eventRecorded',
			at: event.occurredAt,
			time: iso(event.occurredAt),
			text: `did ${event.name}`,
			event: event.name,
			messageId: event.messageId,
		});
	}
	const campaignOfEntry = new Map<string, string>();
	for (const entry of records.entries) {
		campaignOfEntry.set(entry.entryId, entry.campaignId);
		const trigger = eventById.get(entry.triggerMessageId);
		decisions.push({
			kind: 'entered',
			at: entry.enteredAt,
			time: iso(entry.enteredAt),
			text: `entered ${entry.campaignId} on ${trigger?.name ?? `event ${entry.triggerMessageId}`} of ${iso(entry.triggeredAt)}`,
			campaignId: entry.campaignId,
			entryId: entry.entryId,
			triggerEvent: trigger?.name ?? null,
			triggerMessageId: entry.triggerMessageId,
			triggeredAt: entry.triggeredAt,
		});
		if (entry.state === 'exited' && entry.exitedAt !== undefined) {
			decisions.push({
				kind: 'exited',
				at: entry.exitedAt,
				time: iso(entry.exitedAt),
				text: `exited ${entry.campaignId} because ${entry.exitReason ?? 'of an unrecorded reason'}`,
				campaignId: entry.campaignId,
				entryId: entry.entryId,
				reason: entry.exitReason ?? '',
			});
		}
	}
	for (const decision of records.capDecisions) {
		decisions.push({
			kind: 'capped',
			at: decision.at,
			time: iso(decision.at),
			text: `${decision.decision === 'capped' ? 'capped' : 'deferred'} in ${decision.campaignId} by ${decision.rules.join(', ') || 'no recorded rule'}`,
			campaignId: decision.campaignId,
			entryId: decision.entryId ?? null,
			stepId: decision.stepId,
			decision: decision.decision,
			rules: decision.rules,
		});
	}
	for (const send of records.sends) {
		const heldOut = send.variant === 'control' && send.state !== 'sent';
		const kind = heldOut ? 'heldOut' : send.state === 'sent' ? 'sent' : send.state;
		const at = kind === 'sent' ? (send.sentAt ?? send.reservedAt) : send.reservedAt;
		const text =
			kind === 'sent'
				? `sent ${send.channel} message of ${send.campaignId}${send.variant ? ` (variant ${send.variant})` : ''}${send.providerMessageId ? `, provider id ${send.providerMessageId}` : ''}`
				: kind === 'heldOut'
					? `held out of ${send.campaignId} as control`
					: kind === 'reserved'
						? `being sent ${send.channel} message of ${send.campaignId} (reserved, not confirmed)`
						: `${kind === 'failed' ? 'failed to send' : 'did not send (released)'} ${send.channel} message of ${send.campaignId}${send.error ? `: ${send.error}` : ''}`;
		decisions.push({
			kind,
			at,
			time: iso(at),
			text,
			campaignId: send.campaignId,
			entryId: send.entryId ?? null,
			stepId: send.stepId,
			channel: send.channel,
			variant: send.variant ?? null,
			providerMessageId: send.providerMessageId ?? null,
			contentHash: send.contentHash ?? null,
			error: send.error ?? null,
		});
	}
	for (const step of records.scheduledSteps) {
		const kind = scheduledKind(step, records);
		decisions.push({
			kind,
			at: step.createdAt,
			time: iso(step.createdAt),
			text: `${kind} in ${step.campaignId} until ${iso(step.dueAt)} (${step.stepId}, ${step.state})`,
			campaignId: step.campaignId,
			entryId: step.entryId,
			stepId: step.stepId,
			until: step.dueAt,
		});
	}
	for (const conversion of records.conversions) {
		const event = eventById.get(conversion.messageId);
		const campaignId = campaignOfEntry.get(conversion.entryId) ?? '';
		if (!event) continue;
		decisions.push({
			kind: 'converted',
			at: event.occurredAt,
			time: iso(event.occurredAt),
			text: `converted in ${campaignId} by ${event.name}`,
			campaignId,
			entryId: conversion.entryId,
			event: event.name,
			messageId: event.messageId,
		});
	}
	decisions.sort(compareDecisions);
	const notes = [TIMELINE_NOTES.waitInExecution, TIMELINE_NOTES.pruned];
	if (records.sends.some((send) => send.state === 'failed' || send.state === 'released'))
		notes.push(TIMELINE_NOTES.failedAt);
	if (!conversion) notes.push(TIMELINE_NOTES.noConversion);
	return { userId: records.userId, campaignId: records.campaignId, decisions, notes };
}

function scheduledKind(step: UserScheduledStep, records: UserRecords): 'delayed' | 'deferred' {
	const sameEntry = (entryId: string | undefined | null) => entryId === step.entryId;
	const refusedAt = Math.max(
		-Infinity,
		...records.capDecisions
			.filter((d) => sameEntry(d.entryId) && d.at <= step.createdAt)
			.map((d) => d.at),
	);
	if (refusedAt === -Infinity) return 'delayed';
	const otherAt = Math.max(
		-Infinity,
		...records.scheduledSteps
			.filter((s) => s !== step && sameEntry(s.entryId) && s.createdAt <= step.createdAt)
			.filter(
				(s) =>
					s.createdAt < step.createdAt ||
					records.scheduledSteps.indexOf(s) < records.scheduledSteps.indexOf(step),
			)
			.map((s) => s.createdAt),
		...records.sends
			.filter((s) => sameEntry(s.entryId))
			.map((s) => (s.state === 'sent' ? (s.sentAt ?? s.reservedAt) : s.reservedAt))
			.filter((at) => at <= step.createdAt),
	);
	return refusedAt >= otherAt ? 'deferred' : 'delayed';
}

export interface TimelineRequest {
	userId: string;
	campaignId?: string;
	conversion?: ConversionRule;
	now: number;
}

/** Reads the user's records and builds the timeline. */
export async function readUserTimeline(
	store: CampaignStore,
	request: TimelineRequest,
): Promise<UserTimeline> {
	return buildTimeline(await store.readUserRecords(request), request.conversion);
}

/** One JSON document with everything stored about the user (GDPR art. 15): the timeline and the raw rows. */
export async function exportUserData(
	store: CampaignStore,
	request: TimelineRequest,
): Promise<Record<string, unknown>> {
	const records = await store.readUserRecords(request);
	return {
		userId: records.userId,
		campaignId: records.campaignId ?? null,
		exportedAt: iso(request.now),
		timeline: buildTimeline(records, request.conversion),
		profile: records.profile ?? null,
		events: records.events,
		entries: records.entries,
		sends: records.sends,
		capDecisions: records.capDecisions,
		scheduledSteps: records.scheduledSteps,
		segmentMemberships: records.segmentMemberships,
	};
}

/** The timeline as lines of text, one decision per line. */
export function renderTimeline(timeline: UserTimeline): string {
	return timeline.decisions.map((d) => `${d.time}  ${d.text}`).join('\n');
}
