import type { CampaignItem } from '../campaign-item';
import { InvalidInputError } from '../errors';
import type {
	CampaignEntry,
	CampaignStore,
	LimitUsage,
	ReEntryRule,
	SendReservationResult,
} from '../store/campaign-store';
import { blockingEntryRange } from '../store/re-entry';
import { buildPersonalizationContext, renderTemplate } from '../send/personalize';
import { assignVariant, validateVariants, type VariantWeight } from '../send/variants';
import { resolveTimeZone, toLocalDateTime, type ResolvedTimeZone } from '../time/local-time';
import { evaluateTrigger, validateTriggerRule, type TriggerRule } from '../trigger/trigger-rule';
import { computeResumeAt, type DelaySpec } from './delay';
import { findExit, type ExceptionRule } from './exception-check';
import {
	buildReservation,
	decide,
	isInQuietHours,
	precheck,
	validateFrequencyPolicy,
	type CapRequest,
	type FrequencyPolicy,
	type RefusedDecision,
} from './frequency-cap';

/**
 * "What would happen to this user now?": the campaign's chain (trigger, delay, exception
 * check, frequency cap, send) evaluated for one user and one event with the same rules the
 * steps use, reading the store only. Nothing is recorded, entered, reserved or sent.
 */
export interface DryRunRequest {
	userId: string;
	/** The event to test. `occurredAt` absent: now. It is not recorded. */
	event: {
		name: string;
		properties: Record<string, unknown>;
		occurredAt?: number;
		timeZone?: string;
	};
	trigger: TriggerRule;
	/** The campaign's steps after the trigger; an absent one is not part of the campaign. */
	delay?: DelaySpec;
	exceptions?: ExceptionRule;
	frequencyCap?: { policy: FrequencyPolicy; channel: string; tags: string[] };
	/** With a variant's Subject or Body, the send step renders them for this user (a preview). */
	send?: {
		variants: Array<VariantWeight & { subject?: string; body?: string }>;
		controlShare: number;
	};
	defaultTimeZone?: string;
	now: number;
}

/** Where the user's journey would end: at the first step that stops them, or the send. */
export type DryRunOutcome =
	| 'notEntered'
	| 'exits'
	| 'capped'
	| 'deferred'
	| 'sends'
	| 'heldOutAsControl'
	/** Every given step lets the user through and no send step was given. */
	| 'continues';

export type DryRunStep =
	| {
			step: 'trigger';
			entered: boolean;
			reason: string;
			event: { name: string; occurredAt: string };
			/** The existing entry the re-entry rule counts against, when one blocks. */
			blockingEntry?: { entryId: string; triggeredAt: string; state: string };
			/** When an event would be re-eligible (oncePerPeriod); null: never (once). */
			eligibleAgainAt?: string | null;
	  }
	| {
			step: 'delay';
			resumeAt: string;
			/** The same instant on the user's clock, with its offset. */
			resumeAtLocal: string;
			timeZone: string;
			timeZoneSource: string;
	  }
	| {
			step: 'exceptionCheck';
			evaluatedAt: string;
			exits: boolean;
			reason: string;
			detail?: string;
			exitAt?: string;
			event?: { name: string; messageId: string; occurredAt: string };
	  }
	| {
			step: 'frequencyCap';
			evaluatedAt: string;
			decision: 'allowed' | 'capped' | 'deferred';
			/** The rules that would refuse: cap rule ids (1, 2, …), `minGap`, `quietHours`, `campaignEnded`. */
			rules: string[];
			reason: string;
			/** Earliest instant every rule allows; null: not before the campaign ends. */
			earliestAllowedAt: string | null;
			earliestAllowedAtLocal: string | null;
			timeZone: string;
			usage: LimitUsage[];
	  }
	| {
			step: 'send';
			variant: string | null;
			control: boolean;
			reason: string;
			/** The variant's Subject and Body rendered for this user, when given. */
			preview?: { subject?: string; body?: string };
	  };

export interface DryRunResult {
	dryRun: true;
	userId: string;
	campaignId: string;
	now: string;
	timeZone: string;
	timeZoneSource: ResolvedTimeZone['source'];
	outcome: DryRunOutcome;
	/** One line: what would happen, and which step decides it. */
	summary: string;
	steps: DryRunStep[];
}

export type DryRunStore = Pick<
	CampaignStore,
	'getProfiles' | 'findEntries' | 'findEvents' | 'getEntry' | 'countSends'
>;

const iso = (ms: number) => new Date(ms).toISOString();
const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

/** `2026-03-01T19:00:00+01:00`: the instant as the user's clock shows it. */
export function localIso(instant: number, zone: string): string {
	const local = toLocalDateTime(instant, zone);
	const offset = local.offsetMinutes;
	const sign = offset < 0 ? '-' : '+';
	return (
		`${pad(local.year, 4)}-${pad(local.month)}-${pad(local.day)}T${pad(local.hour)}:` +
		`${pad(local.minute)}:${pad(local.second)}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
	);
}

function describeReEntry(rule: ReEntryRule): string {
	if (rule.mode === 'once') return 'once ever';
	if (rule.mode === 'everyTime') return 'every time';
	return `once per ${rule.periodMs / 3_600_000} h`;
}

/** Validates the rules first, so a bad setting is an error naming it, not a misleading answer. */
function validate(request: DryRunRequest): void {
	if (typeof request.userId !== 'string' || request.userId.trim() === '') {
		throw new InvalidInputError('userId', 'is empty; give the user to test, e.g. "u-123".');
	}
	if (typeof request.event?.name !== 'string' || request.event.name.trim() === '') {
		throw new InvalidInputError('event.name', "is empty; give the event to test (the trigger's).");
	}
	validateTriggerRule(request.trigger);
	if (request.frequencyCap) {
		validateFrequencyPolicy(request.frequencyCap.policy);
		if (!request.frequencyCap.channel.trim()) {
			throw new InvalidInputError('channel', 'is empty; name the channel, e.g. in_app or email.');
		}
	}
	if (request.send) validateVariants(request.send.variants, request.send.controlShare);
}

export async function dryRunCampaign(
	store: DryRunStore,
	request: DryRunRequest,
): Promise<DryRunResult> {
	validate(request);
	const { now, trigger } = request;
	const userId = request.userId.trim();
	const occurredAt = request.event.occurredAt ?? now;
	const profile = (await store.getProfiles([userId])).get(userId);
	const zone = resolveTimeZone([
		{ source: 'profile', zone: profile?.timeZone },
		{ source: 'event', zone: request.event.timeZone },
		{ source: 'campaign', zone: request.defaultTimeZone },
	]);
	const steps: DryRunStep[] = [];
	const result = (outcome: DryRunOutcome, summary: string): DryRunResult => ({
		dryRun: true,
		userId,
		campaignId: trigger.campaignId,
		now: iso(now),
		timeZone: zone.zone,
		timeZoneSource: zone.source,
		outcome,
		summary,
		steps,
	});

	// Trigger: the event's match, then the re-entry rule against the user's stored entries.
	const event = {
		messageId: 'dry-run',
		userId,
		name: request.event.name.trim(),
		occurredAt,
		receivedAt: now,
		properties: request.event.properties ?? {},
		timeZone: request.event.timeZone,
	};
	const eventJson = { name: event.name, occurredAt: iso(occurredAt) };
	const match = evaluateTrigger(trigger, event, now);
	if (!match.matched) {
		steps.push({ step: 'trigger', entered: false, reason: match.reason, event: eventJson });
		return result('notEntered', `Would not enter: ${match.reason}.`);
	}
	const range = blockingEntryRange(trigger.reEntry, occurredAt);
	const [blocking]: Array<CampaignEntry | undefined> = range
		? await store.findEntries({
				campaignId: trigger.campaignId,
				userId,
				triggeredAfter: range.after,
				triggeredBefore: range.before,
				limit: 1,
			})
		: [];
	if (blocking) {
		const eligibleAgainAt =
			trigger.reEntry.mode === 'oncePerPeriod'
				? iso(blocking.triggeredAt + trigger.reEntry.periodMs)
				: null;
		const reason = `re-entry ${describeReEntry(trigger.reEntry)}: entry ${blocking.entryId} (${blocking.state}) was triggered at ${iso(blocking.triggeredAt)}`;
		steps.push({
			step: 'trigger',
			entered: false,
			reason,
			event: eventJson,
			blockingEntry: {
				entryId: blocking.entryId,
				triggeredAt: iso(blocking.triggeredAt),
				state: blocking.state,
			},
			eligibleAgainAt,
		});
		const again = eligibleAgainAt ? `; eligible again from ${eligibleAgainAt}` : '';
		return result('notEntered', `Would not enter: ${reason}${again}.`);
	}
	steps.push({
		step: 'trigger',
		entered: true,
		reason: `matches the trigger; re-entry ${describeReEntry(trigger.reEntry)} allows it`,
		event: eventJson,
	});

	// Delay: the later steps run when the user resumes.
	let stepAt = now;
	if (request.delay) {
		const resumeAt = computeResumeAt(
			request.delay,
			{ triggeredAt: occurredAt, timeZone: zone.zone },
			now,
		);
		stepAt = Math.max(now, resumeAt);
		steps.push({
			step: 'delay',
			resumeAt: iso(stepAt),
			resumeAtLocal: localIso(stepAt, zone.zone),
			timeZone: zone.zone,
			timeZoneSource: zone.source,
		});
	}

	// Exception check: goal events recorded since the trigger, the campaign end, unsubscribing.
	if (request.exceptions) {
		const item: CampaignItem = {
			userId,
			campaignId: trigger.campaignId,
			triggeredAt: occurredAt,
			event: { name: event.name, properties: event.properties, timeZone: event.timeZone },
		};
		const exit = await findExit(store, item, request.exceptions, stepAt, profile);
		if (exit.exited) {
			steps.push({
				step: 'exceptionCheck',
				evaluatedAt: iso(stepAt),
				exits: true,
				reason: exit.reason,
				detail: exit.detail,
				exitAt: iso(exit.at),
				...(exit.event && {
					event: {
						name: exit.event.name,
						messageId: exit.event.messageId,
						occurredAt: iso(exit.event.occurredAt),
					},
				}),
			});
			return result('exits', `Would exit at the exception check: ${exit.reason}: ${exit.detail}.`);
		}
		steps.push({
			step: 'exceptionCheck',
			evaluatedAt: iso(stepAt),
			exits: false,
			reason: 'no exception event recorded since the trigger',
		});
	}

	// Frequency cap: the store's counts, read only; no slot is reserved.
	if (request.frequencyCap) {
		const { policy, channel, tags } = request.frequencyCap;
		const capRequest: CapRequest = {
			idempotencyKey: 'dry-run',
			campaignId: trigger.campaignId,
			stepId: 'dry-run',
			userId,
			channel: channel.trim(),
			tags,
			timeZone: zone.zone,
			now: stepAt,
		};
		const early = precheck(policy, capRequest);
		let decision: RefusedDecision | { decision: 'allowed'; usage: LimitUsage[] };
		if (early) {
			decision = early;
		} else {
			const quiet = isInQuietHours(policy, capRequest);
			const reservation = buildReservation(policy, capRequest, { checkOnly: true });
			const counted = await store.countSends({
				userId,
				now: stepAt,
				limits: reservation.limits,
				minGap: reservation.minGap,
			});
			if (counted.violated.length === 0 && !quiet) {
				decision = { decision: 'allowed', usage: counted.usage };
			} else {
				const answer: SendReservationResult =
					counted.violated.length > 0
						? { outcome: 'capped', ...counted }
						: { outcome: 'available', usage: counted.usage };
				// Without a free slot `decide` never allows.
				decision = decide(policy, capRequest, answer, quiet) as RefusedDecision;
			}
		}
		if (decision.decision === 'allowed') {
			steps.push({
				step: 'frequencyCap',
				evaluatedAt: iso(stepAt),
				decision: 'allowed',
				rules: [],
				reason: 'every rule allows a message',
				earliestAllowedAt: iso(stepAt),
				earliestAllowedAtLocal: localIso(stepAt, zone.zone),
				timeZone: zone.zone,
				usage: decision.usage,
			});
		} else {
			const earliest = decision.earliestAllowedAt;
			steps.push({
				step: 'frequencyCap',
				evaluatedAt: iso(stepAt),
				decision: decision.decision,
				rules: decision.rules,
				reason: decision.reason,
				earliestAllowedAt: earliest === null ? null : iso(earliest),
				earliestAllowedAtLocal: earliest === null ? null : localIso(earliest, zone.zone),
				timeZone: zone.zone,
				usage: decision.usage,
			});
			return result(
				decision.decision,
				`Would be ${decision.decision} by the frequency cap (${decision.rules.join(', ')}): ${decision.reason}.`,
			);
		}
	}

	// Send: the sticky variant or the control group.
	if (request.send) {
		const choice = assignVariant({
			campaignId: trigger.campaignId,
			userId,
			variants: request.send.variants,
			controlShare: request.send.controlShare,
		});
		if (choice.kind === 'control') {
			steps.push({
				step: 'send',
				variant: null,
				control: true,
				reason: 'the user falls in the control group and is sent nothing',
			});
			return result('heldOutAsControl', `Would be held out as control at ${iso(stepAt)}.`);
		}
		const chosen = request.send.variants.find((variant) => variant.name.trim() === choice.name);
		const preview = await renderPreview(chosen, {
			userId,
			profile,
			event: { name: event.name, properties: event.properties, occurredAt },
			campaignId: trigger.campaignId,
			variant: choice.name,
		});
		steps.push({
			step: 'send',
			variant: choice.name,
			control: false,
			reason: `the user falls in variant "${choice.name}"`,
			...(preview && { preview }),
		});
		return result('sends', `Would send variant "${choice.name}" at ${iso(stepAt)}.`);
	}
	return result('continues', `Would pass every step given, at ${iso(stepAt)}.`);
}

/** The variant's Subject and Body as this user would get them; undefined when neither is given. */
async function renderPreview(
	variant: { subject?: string; body?: string } | undefined,
	input: Parameters<typeof buildPersonalizationContext>[0],
): Promise<{ subject?: string; body?: string } | undefined> {
	if (!variant?.subject && !variant?.body) return undefined;
	const context = buildPersonalizationContext(input);
	const render = async (template: string | undefined, field: string) =>
		template
			? await renderTemplate(template, context, { strictVariables: false, field })
			: undefined;
	const preview: { subject?: string; body?: string } = {};
	const subject = await render(variant.subject, 'Subject');
	const body = await render(variant.body, 'Body');
	if (subject !== undefined) preview.subject = subject;
	if (body !== undefined) preview.body = body;
	return preview;
}
