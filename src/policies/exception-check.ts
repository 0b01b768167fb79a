import type { CampaignItem, ExitReason } from '../campaign-item';
import { InvalidInputError } from '../errors';
import type { CampaignEvent, CampaignStore, UserProfile } from '../store/campaign-store';
import { readProperty } from '../trigger/property-filter';
import { exitCampaignEntry } from './exit-entry';

/** When a user leaves the campaign before the message: they did the goal, or may no longer be messaged. */
export interface ExceptionRule {
	/** Any of these events strictly after the trigger event exits the user; empty: none. */
	exceptionEvents: string[];
	/**
	 * Only exception events whose property has the trigger event's value count (the same
	 * `cart_id`). When the trigger event has no such property, every exception event counts.
	 */
	matchProperty?: string;
	/** Only exception events within this long after the trigger count. */
	withinMs?: number;
	campaignEndsAt?: number;
	exitWhenUnsubscribed: boolean;
}

export type { ExitReason };

export type ExceptionResult =
	| { exited: false }
	| { exited: true; reason: ExitReason; detail: string; at: number; event?: CampaignEvent };

type Exit = Extract<ExceptionResult, { exited: true }>;

const iso = (ms: number) => new Date(ms).toISOString();
const MAX_EVENTS_SCANNED = 1000;

/**
 * Decides whether one user exits now and, if so, marks the entry exited in the store.
 * `profile` is the stored profile (fresher than the item's copy from trigger time).
 */
export async function checkExceptions(
	store: CampaignStore,
	item: CampaignItem,
	rule: ExceptionRule,
	now: number,
	profile: UserProfile | undefined,
): Promise<ExceptionResult> {
	const result = await findExit(store, item, rule, now, profile);
	if (result.exited && item.entryId && result.reason !== 'entryNotActive') {
		await exitCampaignEntry(
			store,
			{ entryId: item.entryId, userId: item.userId, campaignId: item.campaignId },
			`${result.reason}: ${result.detail}`,
			now,
		);
	}
	return result;
}

/**
 * Whether one user would exit now, and why, reading the store only: what `checkExceptions`
 * decides before it marks the entry exited (the dry run asks this too).
 */
export async function findExit(
	store: Pick<CampaignStore, 'getEntry' | 'findEvents'>,
	item: CampaignItem,
	rule: ExceptionRule,
	now: number,
	profile: UserProfile | undefined,
): Promise<ExceptionResult> {
	if (item.entryId) {
		const entry = await store.getEntry(item.entryId);
		if (entry && entry.state !== 'active') {
			return {
				exited: true,
				reason: 'entryNotActive',
				detail: `the entry is already ${entry.state}${entry.exitReason ? ` (${entry.exitReason})` : ''}`,
				at: entry.exitedAt ?? now,
			};
		}
	}
	// The campaign's end and the goal are both exits with an instant of their own: the earlier
	// one is why the user left, whenever this check happens to run.
	const ended: Exit | undefined =
		rule.campaignEndsAt !== undefined && now >= rule.campaignEndsAt
			? {
					exited: true,
					reason: 'campaignEnded',
					detail: `the campaign ended at ${iso(rule.campaignEndsAt)}`,
					at: rule.campaignEndsAt,
				}
			: undefined;
	const goal = await findGoalEvent(store, item, rule, now, ended);
	if (goal && (!ended || goal.at < ended.at)) return goal;
	if (ended) return ended;
	if (rule.exitWhenUnsubscribed && (profile?.unsubscribed ?? item.profile?.unsubscribed)) {
		return { exited: true, reason: 'unsubscribed', detail: 'the user unsubscribed', at: now };
	}
	return { exited: false };
}

/** The first exception event since the trigger, as an exit; undefined when there is none. */
async function findGoalEvent(
	store: Pick<CampaignStore, 'findEvents'>,
	item: CampaignItem,
	rule: ExceptionRule,
	now: number,
	ended: Exit | undefined,
): Promise<Exit | undefined> {
	if (rule.exceptionEvents.length === 0) return undefined;
	if (item.triggeredAt === undefined) {
		// An ended campaign needs no trigger time to let the user go.
		if (ended) return undefined;
		throw new InvalidInputError(
			'triggeredAt',
			'is missing on the item, so "since the trigger" is unknown; connect this node after the Campaign Event Trigger.',
		);
	}
	const until = Math.min(now, rule.withinMs === undefined ? now : item.triggeredAt + rule.withinMs);
	const events = await store.findEvents({
		userId: item.userId,
		names: rule.exceptionEvents,
		after: item.triggeredAt,
		until,
		limit: MAX_EVENTS_SCANNED,
	});
	const wanted = rule.matchProperty
		? readProperty(item.event?.properties ?? {}, rule.matchProperty)
		: undefined;
	const match = events.find(
		(event) =>
			wanted === undefined ||
			String(readProperty(event.properties, rule.matchProperty!)) === String(wanted),
	);
	if (!match) return undefined;
	const sameProperty =
		wanted === undefined ? '' : ` with the same ${rule.matchProperty} (${String(wanted)})`;
	return {
		exited: true,
		reason: 'exceptionEvent',
		detail: `"${match.name}"${sameProperty} at ${iso(match.occurredAt)}, after the trigger at ${iso(item.triggeredAt)}`,
		at: match.occurredAt,
		event: match,
	};
}
