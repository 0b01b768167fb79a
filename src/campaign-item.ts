import { InvalidInputError } from './errors';
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
