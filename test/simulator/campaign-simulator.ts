import { DateTime } from 'luxon';

import {
	applyFrequencyCap,
	CAMPAIGN_ENDED_RULE,
	checkExceptions,
	computeResumeAt,
	ingestEvents,
	parseEventPayload,
	quietHoursToWindow,
	readCampaignItem,
	resolveItemTimeZone,
	scheduleRequestFor,
	triggeredEntryToJson,
	type CampaignStore,
	type CapDecisionRecord,
	type ClaimedStep,
	type CapRequest,
	type DelaySpec,
	type ExceptionRule,
	type FrequencyPolicy,
	type TriggerRule,
} from '../../src';

/**
 * Drives random behaviour of many users in many time zones through the campaign steps
 * (trigger → delay → exception check → frequency cap → a recording send stub) on a fake
 * clock, the way the n8n nodes call the engine: the Campaign Delay writes each batch's users
 * to the store's schedule, and each tick the Campaign Resume Trigger's claim takes the users
 * who are due, page by page, one execution each. The report holds what was sent, what users
 * did and when each was released, so that the invariants can be checked independently of the
 * engine.
 */

export const ZONES = [
	'America/New_York',
	'America/Los_Angeles',
	'America/Sao_Paulo',
	'Europe/London',
	'Europe/Berlin',
	'Asia/Kolkata',
	'Asia/Kathmandu',
	'Asia/Tokyo',
	'Australia/Sydney',
	'Australia/Adelaide',
	'Pacific/Chatham',
	'UTC',
];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const QUIET_FROM = '21:00';
export const QUIET_UNTIL = '09:00';
export const WEEKLY_LIMIT = 3;
export const DAILY_PROMO_LIMIT = 1;
export const MIN_GAP_MS = HOUR;

interface Campaign {
	rule: TriggerRule;
	delay: DelaySpec;
	exception: ExceptionRule;
	channel: string;
	tags: string[];
	important: boolean;
}

const CAMPAIGNS: Campaign[] = [
	{
		rule: {
			campaignId: 'abandoned-cart',
			eventNames: ['Added to Cart'],
			propertyFilters: [{ property: 'cart_value', operator: 'greaterThan', value: 50 }],
			reEntry: { mode: 'oncePerPeriod', periodMs: DAY },
		},
		delay: { mode: 'afterEvent', amount: 30, unit: 'minutes' },
		exception: {
			exceptionEvents: ['Order Completed'],
			matchProperty: 'cart_id',
			exitWhenUnsubscribed: true,
		},
		channel: 'in_app',
		tags: ['promo'],
		important: false,
	},
	{
		rule: {
			campaignId: 'browse-reminder',
			eventNames: ['Viewed Product'],
			propertyFilters: [],
			reEntry: { mode: 'oncePerPeriod', periodMs: 12 * HOUR },
		},
		delay: { mode: 'afterEvent', amount: 2, unit: 'hours' },
		exception: {
			exceptionEvents: ['Added to Cart', 'Order Completed'],
			exitWhenUnsubscribed: true,
		},
		channel: 'email',
		tags: ['promo'],
		important: false,
	},
	{
		rule: {
			campaignId: 'welcome',
			eventNames: ['Signed Up'],
			propertyFilters: [],
			reEntry: { mode: 'once' },
		},
		delay: { mode: 'afterEvent', amount: 10, unit: 'minutes' },
		exception: { exceptionEvents: [], exitWhenUnsubscribed: true },
		channel: 'in_app',
		tags: ['onboarding'],
		important: true,
	},
];

export function capPolicy(important: boolean): FrequencyPolicy {
	return {
		rules: [
			{
				id: 'weekly',
				limit: WEEKLY_LIMIT,
				window: { kind: 'rolling', ms: 7 * DAY },
				scope: { kind: 'all' },
				channel: 'any',
			},
			{
				id: 'daily-promo',
				limit: DAILY_PROMO_LIMIT,
				window: { kind: 'calendar', unit: 'day' },
				scope: { kind: 'tag', tag: 'promo' },
				channel: 'any',
			},
		],
		minGap: { ms: MIN_GAP_MS, channel: 'any' },
		deliveryWindow: quietHoursToWindow(QUIET_FROM, QUIET_UNTIL, []),
		outsideWindow: 'defer',
		important,
		importantCounts: true,
		reservationTtlMs: HOUR,
	};
}

export interface SimulatedEvent {
	userId: string;
	name: string;
	occurredAt: number;
	properties: Record<string, unknown>;
}

export interface SentMessage {
	campaignId: string;
	entryId: string;
	userId: string;
	channel: string;
	tags: string[];
	important: boolean;
	triggeredAt: number;
	cartId?: unknown;
	sentAt: number;
}

/** One user released from the schedule: when they were due and when a claim took them. */
export interface Release {
	userId: string;
	dueAt: number;
	releasedAt: number;
	/** 1 for the first claim; more after a crashed execution's lease ran out. */
	attempt: number;
}

/**
 * A decision the simulated workflow took about a user, as it took it: what the user's timeline
 * built from the store must show (`test/simulator/simulator.test.ts` compares them).
 */
export interface LoggedDecision {
	kind: 'entered' | 'delayed' | 'deferred' | 'capped' | 'exited' | 'sent';
	campaignId: string;
	entryId: string;
	at: number;
	/** delayed / deferred: the due time. */
	until?: number;
	/** capped: the cap's decision and rules. */
	decision?: 'capped' | 'deferred';
	rules?: string[];
}

export interface SimulationReport {
	users: number;
	days: number;
	/** How often the resume trigger claims: nobody may be released later than due + this. */
	claimIntervalMs: number;
	releases: Release[];
	zoneOf: Map<string, string>;
	events: SimulatedEvent[];
	sent: SentMessage[];
	entries: number;
	exited: number;
	capped: number;
	deferred: number;
	reRunsSkipped: number;
	crashedThenRetried: number;
	decisions: number;
	/** Every decision per user, in the order taken. */
	log: Map<string, LoggedDecision[]>;
}

/** A small deterministic generator, so that a failing run can be repeated with its seed. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** The resume point each campaign's Delay schedules at, and its resume trigger claims. */
const RESUME_POINT = 'after-delay';
/** A claim's lease: a crashed execution's users are claimed again after it, and re-sent once. */
const LEASE_MS = 2 * HOUR;
/** Users per execution of the resume trigger. */
const CLAIM_PAGE = 500;

interface Pending {
	campaign: Campaign;
	json: Record<string, unknown>;
	dueAt: number;
	crashed?: boolean;
	/** Why it goes back to the schedule: a cap refusal, or a re-run of the execution. */
	requeuedBy?: 'deferred' | 'delayed';
}

export interface SimulationOptions {
	users: number;
	days: number;
	start: number;
	tickMs: number;
	seed: number;
	/** Runs after each simulated day (store maintenance a production server does by itself). */
	everyDay?: () => Promise<void>;
}

export async function runSimulation(
	store: CampaignStore,
	options: SimulationOptions,
): Promise<SimulationReport> {
	const rnd = random(options.seed);
	const pick = <T>(list: T[]) => list[Math.floor(rnd() * list.length)];
	const users = Array.from({ length: options.users }, (_, i) => `user-${i}`);
	const zoneOf = new Map(users.map((userId, i) => [userId, ZONES[i % ZONES.length]]));
	// Three users in four have a stored profile with their zone; the others only send it with events.
	const withProfile = new Set(users.filter((_, i) => i % 4 !== 3));
	await store.upsertProfiles(
		users
			.filter((userId) => withProfile.has(userId))
			.map((userId) => ({ userId, timeZone: zoneOf.get(userId) })),
		options.start,
	);

	const report: SimulationReport = {
		users: options.users,
		days: options.days,
		claimIntervalMs: options.tickMs,
		releases: [],
		zoneOf,
		events: [],
		sent: [],
		entries: 0,
		exited: 0,
		capped: 0,
		deferred: 0,
		reRunsSkipped: 0,
		crashedThenRetried: 0,
		decisions: 0,
		log: new Map(),
	};
	const openCarts = new Map<string, string[]>();
	const signedUp = new Set<string>();
	/** Entries whose execution "died" once; their claim is never completed. */
	const crashed = new Set<string>();
	let messageCounter = 0;
	const end = options.start + options.days * DAY;

	for (let now = options.start + options.tickMs; now <= end; now += options.tickMs) {
		if (options.everyDay && (now - options.start) % DAY === 0) await options.everyDay();
		// 1. What users did during the tick, each at its own instant, then ingested as one batch per campaign.
		const batch: Array<Record<string, unknown>> = [];
		for (const userId of users) {
			if (rnd() > options.tickMs / (8 * HOUR)) continue; // about 3 actions a day
			const occurredAt = now - Math.floor(rnd() * options.tickMs);
			const carts = openCarts.get(userId) ?? [];
			const roll = rnd();
			let name: string;
			const properties: Record<string, unknown> = {};
			if (!signedUp.has(userId) && roll < 0.05) {
				name = 'Signed Up';
				signedUp.add(userId);
			} else if (roll < 0.45) {
				name = 'Viewed Product';
				properties.sku = `sku-${Math.floor(rnd() * 50)}`;
			} else if (roll < 0.8) {
				name = 'Added to Cart';
				const cartId = `cart-${userId}-${messageCounter}`;
				properties.cart_id = cartId;
				properties.cart_value = Math.floor(rnd() * 150);
				openCarts.set(userId, [...carts.slice(-2), cartId]);
			} else {
				name = 'Order Completed';
				properties.cart_id =
					carts.length && rnd() < 0.7 ? pick(carts) : `cart-other-${messageCounter}`;
			}
			const event = {
				userId,
				event: name,
				messageId: `m-${options.seed}-${messageCounter++}`,
				timestamp: new Date(occurredAt).toISOString(),
				properties,
				context: withProfile.has(userId) ? {} : { timezone: zoneOf.get(userId) },
			};
			batch.push(event);
			report.events.push({ userId, name, occurredAt, properties });
		}
		if (batch.length) {
			const parsed = parseEventPayload({ batch }, { now, maxBatchSize: batch.length });
			for (const campaign of CAMPAIGNS) {
				const outcome = await ingestEvents(store, parsed, campaign.rule, now);
				// The trigger's execution: the Campaign Delay schedules every user of the batch.
				const requests = outcome.triggered.map((entered) => {
					const { entryId, userId } = entered.entry;
					const json = triggeredEntryToJson(entered);
					const dueAt = computeResumeAt(
						campaign.delay,
						{ triggeredAt: entered.entry.triggeredAt, timeZone: zoneOfItem(json) },
						now,
					);
					const campaignId = campaign.rule.campaignId;
					logDecision(report, userId, { kind: 'entered', campaignId, entryId, at: now });
					logDecision(report, userId, {
						kind: 'delayed',
						campaignId,
						entryId,
						at: now,
						until: dueAt,
					});
					return scheduleRequestFor(readCampaignItem(json), RESUME_POINT, dueAt, json);
				});
				if (requests.length) await store.scheduleSteps(requests, now);
				report.entries += requests.length;
			}
		}

		// 2. Each campaign's resume trigger claims the users who are due, a page per execution:
		// exception check, cap and send; deferred and re-run users go back to the schedule.
		for (const campaign of CAMPAIGNS) {
			for (;;) {
				const claimed = await store.claimDueSteps({
					campaignId: campaign.rule.campaignId,
					stepId: RESUME_POINT,
					now,
					limit: CLAIM_PAGE,
					leaseMs: LEASE_MS,
				});
				if (claimed.length === 0) break;
				for (const step of claimed)
					report.releases.push({
						userId: step.userId,
						dueAt: step.dueAt,
						releasedAt: now,
						attempt: step.attempts,
					});
				const group = claimed.map((step) => pendingOf(campaign, step, crashed));
				const again = await runSteps(store, campaign, group, now, report, rnd);
				const died = new Set(
					again.filter((p) => p.crashed && !crashed.has(entryOf(p))).map(entryOf),
				);
				for (const entryId of died) crashed.add(entryId);
				const rescheduled = again.filter((p) => !died.has(entryOf(p)));
				for (const p of rescheduled)
					logDecision(report, String(p.json.userId), {
						kind: p.requeuedBy ?? 'delayed',
						campaignId: campaign.rule.campaignId,
						entryId: entryOf(p),
						at: now,
						until: p.dueAt,
					});
				if (rescheduled.length)
					await store.scheduleSteps(
						rescheduled.map((p) =>
							scheduleRequestFor(readCampaignItem(p.json), RESUME_POINT, p.dueAt, p.json),
						),
						now,
					);
				// A dead execution completes nothing: its users come back when the lease runs out.
				await store.completeSteps(
					claimed
						.filter((step) => !died.has(step.entryId))
						.map(({ id, claimToken }) => ({ id, claimToken })),
					now,
				);
				if (claimed.length < CLAIM_PAGE) break;
			}
		}
	}
	return report;
}

const entryOf = (p: Pending) => String(p.json.entryId);

function logDecision(report: SimulationReport, userId: string, decision: LoggedDecision): void {
	const log = report.log.get(userId) ?? [];
	// The store schedules an entry once per due time (a repeated one is the same row).
	const repeated =
		(decision.kind === 'delayed' || decision.kind === 'deferred') &&
		log.some(
			(d) =>
				(d.kind === 'delayed' || d.kind === 'deferred') &&
				d.entryId === decision.entryId &&
				d.until === decision.until,
		);
	// An entry exits once; a later claim finds it exited already.
	const exitedAgain =
		decision.kind === 'exited' &&
		log.some((d) => d.kind === 'exited' && d.entryId === decision.entryId);
	if (!repeated && !exitedAgain) log.push(decision);
	report.log.set(userId, log);
}

function pendingOf(campaign: Campaign, step: ClaimedStep, crashed: Set<string>): Pending {
	return {
		campaign,
		json: step.payload,
		dueAt: step.dueAt,
		crashed: crashed.has(step.entryId),
	};
}

function zoneOfItem(json: Record<string, unknown>): string {
	return resolveItemTimeZone(readCampaignItem(json), undefined, undefined).zone;
}

async function runSteps(
	store: CampaignStore,
	campaign: Campaign,
	group: Pending[],
	now: number,
	report: SimulationReport,
	rnd: () => number,
): Promise<Pending[]> {
	const requeue: Pending[] = [];
	const profiles = await store.getProfiles(group.map((p) => String(p.json.userId)));
	const continuing: Array<{ pending: Pending; request: CapRequest }> = [];
	const policy = capPolicy(campaign.important);
	for (const p of group) {
		const item = readCampaignItem(p.json);
		const result = await checkExceptions(
			store,
			item,
			campaign.exception,
			now,
			profiles.get(item.userId),
		);
		if (result.exited) {
			report.exited++;
			logDecision(report, item.userId, {
				kind: 'exited',
				campaignId: item.campaignId,
				entryId: item.entryId!,
				// The store records when the check decided, not when the goal event occurred.
				at: now,
			});
			continue;
		}
		const request: CapRequest = {
			idempotencyKey: `${item.campaignId}:${item.entryId}:cap`,
			campaignId: item.campaignId,
			stepId: 'cap',
			entryId: item.entryId,
			userId: item.userId,
			channel: campaign.channel,
			tags: campaign.tags,
			timeZone: zoneOfItem(p.json),
			now,
		};
		continuing.push({ pending: p, request });
	}
	// The Frequency Cap node's one call: campaign end, quiet hours, one reservation, decisions.
	const decisions = await applyFrequencyCap(
		store,
		policy,
		continuing.map(({ request }) => request),
	);
	report.decisions += continuing.length;
	// As the Frequency Cap node does: its refusals are kept for the report (and the timeline).
	const refusals: CapDecisionRecord[] = [];
	continuing.forEach(({ request }, index) => {
		const decision = decisions[index];
		if (decision.decision === 'allowed') return;
		refusals.push({
			campaignId: request.campaignId,
			stepId: request.stepId,
			entryId: request.entryId,
			userId: request.userId,
			decision: decision.decision,
			rules: decision.rules,
			at: now,
		});
		logDecision(report, request.userId, {
			kind: 'capped',
			campaignId: request.campaignId,
			entryId: request.entryId!,
			at: now,
			decision: decision.decision,
			rules: decision.rules,
		});
	});
	await store.recordCapDecisions(refusals);
	for (const [index, { pending: p, request }] of continuing.entries()) {
		const decision = decisions[index];
		if (decision.decision !== 'allowed' && decision.rules.includes(CAMPAIGN_ENDED_RULE))
			throw new Error(`unexpected campaign-end refusal: ${decision.reason}`);
		if (decision.decision !== 'allowed') {
			if (decision.decision === 'deferred') report.deferred++;
			else report.capped++;
			// The workflow loops Capped/Deferred through a Delay until earliestAllowedAt.
			if (decision.earliestAllowedAt !== null) {
				requeue.push({
					...p,
					dueAt: Math.max(decision.earliestAllowedAt, now + 1),
					requeuedBy: 'deferred',
				});
			}
			continue;
		}
		if (decision.send.state === 'sent') {
			report.reRunsSkipped++;
			continue;
		}
		if (!p.crashed && rnd() < 0.01) {
			// The execution dies after the reservation: its claim is never completed, so the user
			// comes back when the lease runs out (the reservation has expired by then) and must
			// still be sent exactly once.
			report.crashedThenRetried++;
			requeue.push({ ...p, crashed: true });
			continue;
		}
		const item = readCampaignItem(p.json);
		report.sent.push({
			campaignId: item.campaignId,
			entryId: item.entryId!,
			userId: item.userId,
			channel: campaign.channel,
			tags: campaign.tags,
			important: campaign.important,
			triggeredAt: item.triggeredAt!,
			cartId: item.event?.properties.cart_id,
			sentAt: now,
		});
		await store.completeSend(request.idempotencyKey, { state: 'sent', at: now });
		logDecision(report, item.userId, {
			kind: 'sent',
			campaignId: item.campaignId,
			entryId: item.entryId!,
			at: now,
		});
		if (rnd() < 0.02) {
			// A re-run of the same execution: the cap sees the same key, the send step sees it sent.
			requeue.push({ ...p, dueAt: now + MINUTE, requeuedBy: 'delayed' });
		}
	}
	return requeue;
}

/** Violations of the campaign's promises found in a report; empty when none. */
export function findViolations(report: SimulationReport): string[] {
	const violations: string[] = [];
	const iso = (ms: number) => new Date(ms).toISOString();

	// Each user at their own time: never before due, never later than one claim interval after
	// (a first claim; a dead execution's users come back after its lease, by design).
	for (const r of report.releases) {
		if (r.releasedAt < r.dueAt)
			violations.push(`${r.userId} released at ${iso(r.releasedAt)}, before due ${iso(r.dueAt)}`);
		else if (r.attempt === 1 && r.releasedAt - r.dueAt > report.claimIntervalMs)
			violations.push(
				`${r.userId} released at ${iso(r.releasedAt)}, more than a claim interval after due ${iso(r.dueAt)}`,
			);
	}

	const seen = new Set<string>();
	for (const s of report.sent) {
		const key = `${s.campaignId}:${s.entryId}`;
		if (seen.has(key)) violations.push(`duplicate send ${key}`);
		seen.add(key);
	}

	const eventsByUser = new Map<string, SimulatedEvent[]>();
	for (const e of report.events)
		eventsByUser.set(e.userId, [...(eventsByUser.get(e.userId) ?? []), e]);
	for (const s of report.sent) {
		const campaign = CAMPAIGNS.find((c) => c.rule.campaignId === s.campaignId)!;
		const exception = (eventsByUser.get(s.userId) ?? []).find(
			(e) =>
				campaign.exception.exceptionEvents.includes(e.name) &&
				e.occurredAt > s.triggeredAt &&
				e.occurredAt < s.sentAt &&
				(!campaign.exception.matchProperty ||
					s.cartId === undefined ||
					e.properties[campaign.exception.matchProperty] === s.cartId),
		);
		if (exception) {
			violations.push(
				`${s.campaignId} sent to ${s.userId} at ${iso(s.sentAt)} after ${exception.name} at ${iso(exception.occurredAt)}`,
			);
		}

		const zone = report.zoneOf.get(s.userId)!;
		const local = DateTime.fromMillis(s.sentAt, { zone });
		const minutes = local.hour * 60 + local.minute;
		if (minutes < 9 * 60 || minutes >= 21 * 60) {
			violations.push(`sent to ${s.userId} at ${local.toISO()} (${zone}), inside quiet hours`);
		}
	}

	const sentByUser = new Map<string, SentMessage[]>();
	for (const s of report.sent) sentByUser.set(s.userId, [...(sentByUser.get(s.userId) ?? []), s]);
	for (const [userId, sends] of sentByUser) {
		const zone = report.zoneOf.get(userId)!;
		sends.sort((a, b) => a.sentAt - b.sentAt);
		sends.forEach((s, i) => {
			if (s.important) return; // bypasses the caps, but counts for the others
			const before = sends.slice(0, i);
			const lastWeek = before.filter((b) => b.sentAt > s.sentAt - 7 * DAY);
			if (lastWeek.length >= WEEKLY_LIMIT) {
				violations.push(
					`${userId} got a ${lastWeek.length + 1}th message within 7 days at ${iso(s.sentAt)}`,
				);
			}
			const day = DateTime.fromMillis(s.sentAt, { zone }).toISODate();
			if (s.tags.includes('promo')) {
				const sameDay = before.filter(
					(b) =>
						b.tags.includes('promo') && DateTime.fromMillis(b.sentAt, { zone }).toISODate() === day,
				);
				if (sameDay.length >= DAILY_PROMO_LIMIT)
					violations.push(`${userId} got two promo messages on ${day} (${zone})`);
			}
			const previous = before[before.length - 1];
			if (previous && s.sentAt - previous.sentAt < MIN_GAP_MS) {
				violations.push(
					`${userId} got two messages ${(s.sentAt - previous.sentAt) / MINUTE} min apart at ${iso(s.sentAt)}`,
				);
			}
		});
	}
	return violations;
}
