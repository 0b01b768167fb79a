import { InvalidInputError } from './errors';
import type { CapDecision, CapRequest } from './policies/frequency-cap';
import type { CampaignEvent, LimitUsage } from './store/campaign-store';
import { parseIsoInstant } from './time/iso-instant';
import { resolveTimeZone, type ResolvedTimeZone } from './time/local-time';

/**
 * What the campaign steps read from an item: the fields the Campaign Event Trigger emits
 * (`userId`, `campaignId`, `entryId`, `triggeredAt`, `event`, `profile`). Items from elsewhere
 * work when they carry at least `userId` and `campaignId`.
 */
export interface CampaignItem {
	userId: string;
	campaignId: string;
	entryId?: string;
	/** When the trigger event occurred (epoch ms). */
	triggeredAt?: number;
	event?: {
		name?: string;
		properties: Record<string, unknown>;
		timeZone?: string;
	};
	profile?: {
		timeZone?: string;
		unsubscribed?: boolean;
	};
}

const isObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown): string | undefined =>
	typeof value === 'string' && value.trim() !== ''
		? value.trim()
		: typeof value === 'number'
			? String(value)
			: undefined;

const HINT =
	'connect this node after the Campaign Event Trigger, or set the field on the item (e.g. with an Edit Fields node).';

/** Reads the campaign fields of an item; `campaignId` may be optional for steps that do not need it. */
export function readCampaignItem(
	json: Record<string, unknown>,
	options: { requireCampaign?: boolean } = {},
): CampaignItem {
	const userId = text(json.userId);
	if (!userId) throw new InvalidInputError('userId', `is missing on the item; ${HINT}`);
	const campaignId = text(json.campaignId) ?? '';
	if (!campaignId && options.requireCampaign !== false) {
		throw new InvalidInputError('campaignId', `is missing on the item; ${HINT}`);
	}
	let triggeredAt: number | undefined;
	if (json.triggeredAt !== undefined && json.triggeredAt !== null) {
		triggeredAt =
			typeof json.triggeredAt === 'number'
				? json.triggeredAt
				: parseIsoInstant(String(json.triggeredAt));
		if (triggeredAt === undefined || !Number.isFinite(triggeredAt)) {
			throw new InvalidInputError(
				'triggeredAt',
				`must be an ISO date-time with an offset (got ${JSON.stringify(json.triggeredAt)}).`,
			);
		}
	}
	const event = isObject(json.event) ? json.event : undefined;
	const profile = isObject(json.profile) ? json.profile : undefined;
	return {
		userId,
		campaignId,
		entryId: text(json.entryId),
		triggeredAt,
		event: event && {
			name: text(event.name),
			properties: isObject(event.properties) ? event.properties : {},
			timeZone: text(event.timeZone),
		},
		profile: profile && {
			timeZone: text(profile.timeZone),
			unsubscribed: profile.unsubscribed === true,
		},
	};
}

/**
 * The user's time zone for the campaign steps, and where it came from: the stored profile
 * (freshest), the profile copied on the item at trigger time, the trigger event's
 * `context.timezone`, the campaign default, UTC. An unknown name is an error naming it.
 */
export function resolveItemTimeZone(
	item: CampaignItem,
	storedProfileZone: string | undefined,
	defaultTimeZone: string | undefined,
): ResolvedTimeZone {
	return resolveTimeZone([
		{ source: 'profile', zone: storedProfileZone ?? item.profile?.timeZone },
		{ source: 'event', zone: item.event?.timeZone },
		{ source: 'campaign', zone: defaultTimeZone },
	]);
}

/**
 * The key that makes a step act at most once per journey: (campaign, entry, step). An item
 * without an entry id falls back to (user, execution), unique only within one execution.
 */
export function stepIdempotencyKey(
	item: CampaignItem,
	stepId: string,
	executionId: string,
): string {
	return `${item.campaignId}:${item.entryId ?? `${item.userId}:${executionId}`}:${stepId}`;
}

/*
 * The fields the campaign steps write on an item for the steps after them (and for people
 * reading the execution): `delay` (Campaign Delay), `exit` (Exception Check, Frequency Cap),
 * `frequencyCap` (Frequency Cap, read by Send Message) and `schedule` (a user handed to the
 * schedule). Their shapes live here, with the one writer and the one reader of each.
 */

const isoOrNull = (ms: number | undefined): string | null =>
	ms === undefined ? null : new Date(ms).toISOString();

/** `delay`: when the user resumes, in which zone, and where the zone came from. */
export type DelayField = { resumeAt: string; timeZone: string; timeZoneSource: string };

export function delayField(resumeAt: number, timeZone: string, timeZoneSource: string): DelayField {
	return { resumeAt: new Date(resumeAt).toISOString(), timeZone, timeZoneSource };
}

/** Why a user leaves a campaign before its message. */
export type ExitReason = 'exceptionEvent' | 'campaignEnded' | 'unsubscribed' | 'entryNotActive';

/** `exit`: why and when the user left the campaign; `event` is the exception event, if one. */
export type ExitField = {
	reason: ExitReason;
	detail: string;
	at: string;
	event?: {
		name: string;
		messageId: string;
		occurredAt: string;
		properties: Record<string, unknown>;
	};
};

export function exitField(
	reason: ExitReason,
	detail: string,
	at: number,
	event?: CampaignEvent,
): ExitField {
	const field: ExitField = { reason, detail, at: new Date(at).toISOString() };
	if (event) {
		field.event = {
			name: event.name,
			messageId: event.messageId,
			occurredAt: new Date(event.occurredAt).toISOString(),
			properties: event.properties,
		};
	}
	return field;
}

/** `frequencyCap`: the decision; an allowed one carries the reserved key the send commits. */
export type FrequencyCapField =
	| {
			decision: 'allowed';
			idempotencyKey: string;
			channel: string;
			state: string;
			reservedAt: string | null;
			expiresAt: string | null;
			alreadyReserved: boolean;
			timeZone: string;
			usage: LimitUsage[];
	  }
	| {
			decision: 'capped' | 'deferred';
			rules: string[];
			reason: string;
			earliestAllowedAt: string | null;
			timeZone: string;
			usage: LimitUsage[];
	  };

export function frequencyCapField(result: CapDecision, request: CapRequest): FrequencyCapField {
	if (result.decision === 'allowed') {
		return {
			decision: 'allowed',
			idempotencyKey: result.send.idempotencyKey,
			channel: request.channel,
			state: result.send.state,
			reservedAt: isoOrNull(result.send.reservedAt),
			expiresAt: isoOrNull(result.send.expiresAt),
			alreadyReserved: result.alreadyReserved,
			timeZone: request.timeZone,
			usage: result.usage,
		};
	}
	return {
		decision: result.decision,
		rules: result.rules,
		reason: result.reason,
		earliestAllowedAt: isoOrNull(result.earliestAllowedAt ?? undefined),
		timeZone: request.timeZone,
		usage: result.usage,
	};
}

/** What a send step takes over from a Frequency Cap that allowed the item: its reserved key. */
export interface CapHandOff {
	idempotencyKey: string;
	/** The channel the cap counted the send on, when the item says. */
	channel?: string;
}

/** The cap's hand-off on an item, or undefined when no Frequency Cap allowed it. */
export function readCapHandOff(json: Record<string, unknown>): CapHandOff | undefined {
	const cap = json.frequencyCap;
	if (!isObject(cap) || cap.decision !== 'allowed' || typeof cap.idempotencyKey !== 'string')
		return undefined;
	return {
		idempotencyKey: cap.idempotencyKey,
		channel: typeof cap.channel === 'string' ? cap.channel : undefined,
	};
}

/** `schedule`: the user was handed to the schedule, under this resume point, due then. */
export type ScheduleField = {
	resumePoint: string;
	dueAt: string;
	status: 'scheduled' | 'alreadyScheduled';
};

export function scheduleField(resumePoint: string, dueAt: number, isNew: boolean): ScheduleField {
	return {
		resumePoint,
		dueAt: new Date(dueAt).toISOString(),
		status: isNew ? 'scheduled' : 'alreadyScheduled',
	};
}
