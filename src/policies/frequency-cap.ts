import { InvalidInputError } from '../errors';
import type {
	CampaignStore,
	LimitUsage,
	SendCountLimit,
	SendRecord,
	SendReservationRequest,
	SendReservationResult,
} from '../store/campaign-store';
import {
	isWithinWindow,
	nextWindowStart,
	startOfLocalDay,
	startOfLocalWeek,
	startOfNextLocalDay,
	startOfNextLocalWeek,
	type DeliveryWindow,
} from '../time/local-time';

/**
 * Per-user limits across campaigns: "at most N messages per window, counted over this
 * campaign, a tag or all campaigns, on this channel or any". All rules must hold.
 */
export interface CapRule {
	id: string;
	limit: number;
	window:
		| { kind: 'rolling'; ms: number }
		/** Calendar day or week (Monday 00:00) in the user's time zone. */
		| { kind: 'calendar'; unit: 'day' | 'week' };
	scope: { kind: 'all' } | { kind: 'campaign' } | { kind: 'tag'; tag: string };
	/** Count only sends on this node's channel, or on any channel. */
	channel: 'this' | 'any';
}

export interface FrequencyPolicy {
	rules: CapRule[];
	/** No two counted messages closer than this. */
	minGap?: { ms: number; channel: 'this' | 'any' };
	/** Sends happen only inside it (quiet hours are its complement), in the user's zone. */
	deliveryWindow?: DeliveryWindow;
	/** Outside the delivery window: wait for it (Deferred), or drop (Capped). */
	outsideWindow: 'defer' | 'drop';
	campaignEndsAt?: number;
	/** An important message skips the caps and the min gap (not the delivery window). */
	important: boolean;
	/** Whether an important message still counts toward later caps. */
	importantCounts: boolean;
	/** A reservation not committed by a send step within this time stops counting. */
	reservationTtlMs: number;
}

export interface CapRequest {
	idempotencyKey: string;
	campaignId: string;
	stepId: string;
	entryId?: string;
	userId: string;
	channel: string;
	tags: string[];
	timeZone: string;
	now: number;
}

export type CapDecision =
	| { decision: 'allowed'; send: SendRecord; usage: LimitUsage[]; alreadyReserved: boolean }
	| {
			decision: 'capped' | 'deferred';
			/** The rules that refused: cap rule ids, `minGap`, `quietHours`, `campaignEnded`. */
			rules: string[];
			reason: string;
			/** Earliest instant every rule, the delivery window and the campaign window allow; null: never. */
			earliestAllowedAt: number | null;
			usage: LimitUsage[];
	  };

export type RefusedDecision = Extract<CapDecision, { decision: 'capped' | 'deferred' }>;

export const MIN_GAP_RULE = 'minGap';
export const QUIET_HOURS_RULE = 'quietHours';
export const CAMPAIGN_ENDED_RULE = 'campaignEnded';

const iso = (ms: number) => new Date(ms).toISOString();

export function validateFrequencyPolicy(policy: FrequencyPolicy): void {
	const ids = new Set<string>();
	policy.rules.forEach((rule, index) => {
		const field = `rules[${index}]`;
		if (!Number.isInteger(rule.limit) || rule.limit < 1) {
			throw new InvalidInputError(
				`${field}.limit`,
				`must be a whole number of at least 1 (got ${rule.limit}).`,
			);
		}
		if (rule.window.kind === 'rolling' && !(rule.window.ms > 0)) {
			throw new InvalidInputError(`${field}.window`, 'must be longer than zero.');
		}
		if (rule.scope.kind === 'tag' && !rule.scope.tag.trim()) {
			throw new InvalidInputError(
				`${field}.tag`,
				'is empty; name the tag whose messages this rule counts.',
			);
		}
		if (ids.has(rule.id)) throw new InvalidInputError(`${field}.id`, `"${rule.id}" is used twice.`);
		ids.add(rule.id);
	});
	if (policy.minGap && !(policy.minGap.ms > 0)) {
		throw new InvalidInputError('minGap', 'must be longer than zero.');
	}
	if (!(policy.reservationTtlMs > 0)) {
		throw new InvalidInputError('reservationTtl', 'must be longer than zero.');
	}
}

/**
 * The first instant the rule's window at `now` in `zone` counts (the store counts sends with
 * `reservedAt >= since`). A rolling window of length w is (now − w, now]: a send exactly w ago
 * no longer counts. A calendar window starts at the local midnight (or Monday) itself.
 */
function windowStart(rule: CapRule, now: number, zone: string): number {
	if (rule.window.kind === 'rolling') return now - rule.window.ms + 1;
	return rule.window.unit === 'day' ? startOfLocalDay(now, zone) : startOfLocalWeek(now, zone);
}

/** The store request that counts every rule and reserves the slot, atomically. */
export function buildReservation(
	policy: FrequencyPolicy,
	request: CapRequest,
	options: { checkOnly?: boolean } = {},
): SendReservationRequest {
	const bypass = policy.important;
	const limits: SendCountLimit[] = bypass
		? []
		: policy.rules.map((rule) => ({
				ruleId: rule.id,
				since: windowStart(rule, request.now, request.timeZone),
				limit: rule.limit,
				campaignId: rule.scope.kind === 'campaign' ? request.campaignId : undefined,
				tag: rule.scope.kind === 'tag' ? rule.scope.tag : undefined,
				channel: rule.channel === 'this' ? request.channel : undefined,
			}));
	return {
		idempotencyKey: request.idempotencyKey,
		campaignId: request.campaignId,
		stepId: request.stepId,
		entryId: request.entryId,
		userId: request.userId,
		channel: request.channel,
		tags: request.tags,
		now: request.now,
		expiresAt: request.now + policy.reservationTtlMs,
		countsTowardCap: bypass ? policy.importantCounts : true,
		limits,
		minGap:
			policy.minGap && !bypass
				? {
						ruleId: MIN_GAP_RULE,
						gapMs: policy.minGap.ms,
						channel: policy.minGap.channel === 'this' ? request.channel : undefined,
					}
				: undefined,
		checkOnly: options.checkOnly,
	};
}

/** When a refused rule stops refusing, assuming no other sends in between. */
function releaseTime(
	policy: FrequencyPolicy,
	request: CapRequest,
	usage: LimitUsage | undefined,
	ruleId: string,
	lastCountedAt: number | undefined,
): number {
	if (ruleId === MIN_GAP_RULE) return (lastCountedAt ?? request.now) + policy.minGap!.ms;
	const rule = policy.rules.find((candidate) => candidate.id === ruleId)!;
	if (rule.window.kind === 'calendar') {
		return rule.window.unit === 'day'
			? startOfNextLocalDay(request.now, request.timeZone)
			: startOfNextLocalWeek(request.now, request.timeZone);
	}
	// A send at s counts while now - window < s: the slot frees at exactly s + window for the
	// (count - limit + 1)-th oldest counted send.
	const counted = usage!.countedAt;
	return counted[counted.length - usage!.limit] + rule.window.ms;
}

/**
 * The earliest instant at which every refused rule, the delivery window and the campaign
 * window allow a send. Rules that allow now keep allowing (rolling windows only drop sends,
 * calendar counts only reset), so one pass is exact given no other sends meanwhile.
 */
export function earliestAllowedAt(
	policy: FrequencyPolicy,
	request: CapRequest,
	violated: string[],
	usage: LimitUsage[],
	lastCountedAt?: number,
): number | null {
	let earliest = request.now;
	for (const ruleId of violated) {
		const ruleUsage = usage.find((candidate) => candidate.ruleId === ruleId);
		earliest = Math.max(earliest, releaseTime(policy, request, ruleUsage, ruleId, lastCountedAt));
	}
	if (policy.deliveryWindow)
		earliest = nextWindowStart(policy.deliveryWindow, earliest, request.timeZone);
	if (policy.campaignEndsAt !== undefined && earliest >= policy.campaignEndsAt) return null;
	return earliest;
}

function describeRules(policy: FrequencyPolicy, violated: string[], usage: LimitUsage[]): string {
	return violated
		.map((ruleId) => {
			if (ruleId === MIN_GAP_RULE)
				return `less than ${policy.minGap!.ms / 60_000} min since the last message`;
			const used = usage.find((candidate) => candidate.ruleId === ruleId);
			return `rule ${ruleId}: ${used?.count ?? '?'} of ${used?.limit ?? '?'} messages already`;
		})
		.join('; ');
}

/** Whether the delivery window or the campaign end refuses before any counting. */
export function precheck(
	policy: FrequencyPolicy,
	request: CapRequest,
): RefusedDecision | undefined {
	if (policy.campaignEndsAt !== undefined && request.now >= policy.campaignEndsAt) {
		return {
			decision: 'capped',
			rules: [CAMPAIGN_ENDED_RULE],
			reason: `the campaign ended at ${iso(policy.campaignEndsAt)}`,
			earliestAllowedAt: null,
			usage: [],
		};
	}
	return undefined;
}

export function isInQuietHours(policy: FrequencyPolicy, request: CapRequest): boolean {
	return (
		policy.deliveryWindow !== undefined &&
		!isWithinWindow(policy.deliveryWindow, request.now, request.timeZone)
	);
}

/**
 * Turns the store's answer into the node's decision. `inQuietHours`: the request was a
 * check only, because no slot is taken outside the delivery window.
 */
export function decide(
	policy: FrequencyPolicy,
	request: CapRequest,
	result: SendReservationResult,
	inQuietHours: boolean,
): CapDecision {
	// A re-run of this step: the slot is already ours (or the message already went out, which
	// the send step sees). Only a reservation that was never sent still waits for the window.
	if (result.outcome === 'duplicate' && !(inQuietHours && result.send.state === 'reserved')) {
		return { decision: 'allowed', send: result.send, usage: [], alreadyReserved: true };
	}
	if (result.outcome === 'duplicate') {
		return {
			decision: 'deferred',
			rules: [QUIET_HOURS_RULE],
			reason: `inside quiet hours in ${request.timeZone}; the slot stays reserved`,
			earliestAllowedAt: earliestAllowedAt(policy, request, [], []),
			usage: [],
		};
	}
	const violated = result.outcome === 'capped' ? result.violated : [];
	const usage = result.usage;
	const lastCountedAt = result.outcome === 'capped' ? result.lastCountedAt : undefined;
	if (result.outcome === 'reserved') {
		return { decision: 'allowed', send: result.send, usage, alreadyReserved: false };
	}
	const earliest = earliestAllowedAt(policy, request, violated, usage, lastCountedAt);
	const when =
		earliest === null ? 'not before the campaign ends' : `next allowed at ${iso(earliest)}`;
	if (violated.length > 0) {
		const rules = inQuietHours ? [...violated, QUIET_HOURS_RULE] : violated;
		return {
			decision: 'capped',
			rules,
			reason: `${describeRules(policy, violated, usage)}${inQuietHours ? '; and inside quiet hours' : ''} (${when})`,
			earliestAllowedAt: earliest,
			usage,
		};
	}
	return {
		decision: policy.outsideWindow === 'defer' ? 'deferred' : 'capped',
		rules: [QUIET_HOURS_RULE],
		reason: `inside quiet hours in ${request.timeZone} (${when})`,
		earliestAllowedAt: earliest,
		usage,
	};
}

/**
 * The cap step for a batch of users, in their order: a user past the campaign end is refused
 * before any counting; everyone else is counted and reserved in one store call (inside quiet
 * hours only checked, so no slot is taken), and the store's answer becomes the decision.
 */
export async function applyFrequencyCap(
	store: Pick<CampaignStore, 'reserveSends'>,
	policy: FrequencyPolicy,
	requests: CapRequest[],
): Promise<CapDecision[]> {
	const decisions: CapDecision[] = new Array<CapDecision>(requests.length);
	const pending: Array<{ index: number; request: CapRequest; quiet: boolean }> = [];
	requests.forEach((request, index) => {
		const early = precheck(policy, request);
		if (early) decisions[index] = early;
		else pending.push({ index, request, quiet: isInQuietHours(policy, request) });
	});
	const results =
		pending.length === 0
			? []
			: await store.reserveSends(
					pending.map(({ request, quiet }) =>
						buildReservation(policy, request, { checkOnly: quiet }),
					),
				);
	pending.forEach(({ index, request, quiet }, position) => {
		decisions[index] = decide(policy, request, results[position], quiet);
	});
	return decisions;
}

/**
 * What becomes of a refused user. No instant ahead allows a send (the campaign ends first):
 * the user exits the campaign, with that reason, rather than waiting for a time that never
 * comes. Otherwise, when handed to the schedule (deferred users; capped ones when asked), they
 * are scheduled at the earliest allowed instant; else they leave on the output decided.
 */
export type RefusalOutcome =
	| { kind: 'exit'; reason: string }
	| { kind: 'schedule'; at: number }
	| { kind: 'route' };

export function afterRefusal(
	decision: RefusedDecision,
	handOff: { deferred: boolean; capped: boolean },
): RefusalOutcome {
	if (decision.earliestAllowedAt === null)
		return {
			kind: 'exit',
			reason: `${CAMPAIGN_ENDED_RULE}: no send is allowed before the campaign ends (${decision.reason})`,
		};
	const scheduled = decision.decision === 'deferred' ? handOff.deferred : handOff.capped;
	return scheduled ? { kind: 'schedule', at: decision.earliestAllowedAt } : { kind: 'route' };
}
