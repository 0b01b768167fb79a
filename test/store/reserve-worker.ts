/**
 * One n8n worker process of `postgres-concurrency.test.ts`, run with `node --import tsx`:
 * makes single reserveSends decisions against a shared schema, completes what it reserved,
 * and sends every decision back to the test over IPC.
 */
import { Pool } from 'pg';

import type {
	LimitUsage,
	SendCountLimit,
	SendReservationRequest,
	SendReservationResult,
} from '../../src/store/campaign-store';
import {
	openPostgresStore,
	type PostgresConnectionOptions,
} from '../../src/store/postgres/postgres-store';

export interface WorkerTask {
	connection: PostgresConnectionOptions;
	schema: string;
	worker: number;
	decisions: number;
	users: string[];
	campaigns: string[];
	t0: number;
	/** Fake milliseconds per tick of the shared clock (a sequence in the schema). */
	tickMs: number;
}

/** What happens after a reservation: sent, given back, or left to expire. */
export type Action = 'sent' | 'released' | 'abandoned';

export interface Decision {
	worker: number;
	request: SendReservationRequest;
	outcome: SendReservationResult['outcome'];
	action?: Action;
	usage?: LimitUsage[];
	violated?: string[];
	lastCountedAt?: number;
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; decisions: Decision[] };

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** The rules every counted request is checked against (see `limitsFor`). */
export const RULES = {
	perHour: { ruleId: 'five-per-hour', windowMs: HOUR, limit: 5 },
	perCampaign: { ruleId: 'two-per-campaign-per-3h', windowMs: 3 * HOUR, limit: 2 },
	promo: { ruleId: 'one-promo-per-2h', windowMs: 2 * HOUR, limit: 1, tag: 'promo' },
	smsGap: { ruleId: 'sms-gap', gapMs: 10 * MINUTE, channel: 'sms' },
};
const CHANNELS = ['email', 'sms', 'push'];

export function limitsFor(request: Pick<SendReservationRequest, 'now' | 'campaignId' | 'tags'>) {
	const { perHour, perCampaign, promo } = RULES;
	const limits: SendCountLimit[] = [
		{ ruleId: perHour.ruleId, since: request.now - perHour.windowMs, limit: perHour.limit },
		{
			ruleId: perCampaign.ruleId,
			since: request.now - perCampaign.windowMs,
			limit: perCampaign.limit,
			campaignId: request.campaignId,
		},
	];
	if (request.tags.includes(promo.tag)) {
		limits.push({
			ruleId: promo.ruleId,
			since: request.now - promo.windowMs,
			limit: promo.limit,
			tag: promo.tag,
		});
	}
	return limits;
}

/** A small deterministic generator, so that a failing run can be replayed. */
function random(seed: number) {
	let state = seed;
	return (n: number) => {
		state = (state * 1103515245 + 12345) % 2 ** 31;
		return Math.floor((state / 2 ** 31) * n);
	};
}

/** The next request of a worker: new, shared with the other workers, or a retry. */
function nextRequest(
	task: WorkerTask,
	next: (n: number) => number,
	i: number,
	now: number,
	abandoned: SendReservationRequest[],
): { request: SendReservationRequest; action: Action } {
	const roll = next(100);
	let action: Action = roll < 80 ? 'sent' : roll < 90 ? 'released' : 'abandoned';
	// An abandoned reservation expires soon; the others long after they are completed.
	const expiresAt = () => now + (action === 'abandoned' ? 5 * MINUTE : DAY);
	const kind = next(100);
	if (kind < 8 && abandoned.length > 0) {
		// Retry an abandoned send: reserved again once expired, a duplicate before.
		const earlier = abandoned.splice(next(abandoned.length), 1)[0];
		const request = { ...earlier, now, expiresAt: expiresAt() };
		return { request: { ...request, limits: limitsFor(request) }, action };
	}
	if (kind < 14) {
		// The same key from every worker in a 10-minute slot: one of them reserves it, and sends it.
		action = 'sent';
		const slot = Math.floor((now - task.t0) / (10 * MINUTE));
		const shared = {
			idempotencyKey: `shared-${slot}`,
			campaignId: task.campaigns[slot % task.campaigns.length],
			stepId: 'step-shared',
			userId: task.users[slot % task.users.length],
			channel: 'email',
			tags: [],
			now,
			expiresAt: expiresAt(),
			countsTowardCap: true,
		};
		return { request: { ...shared, limits: limitsFor(shared) }, action };
	}
	const request: SendReservationRequest = {
		idempotencyKey: `w${task.worker}-${i}`,
		campaignId: task.campaigns[next(task.campaigns.length)],
		stepId: `step-${next(3)}`,
		userId: task.users[next(task.users.length)],
		channel: CHANNELS[next(CHANNELS.length)],
		tags: next(3) === 0 ? ['promo'] : next(2) === 0 ? ['news'] : [],
		now,
		expiresAt: expiresAt(),
		// 5 %: checked against the limits but not counted; 5 %: outside caps.
		countsTowardCap: kind < 90,
		limits: [],
	};
	if (kind >= 95) return { request, action };
	request.limits = limitsFor(request);
	if (kind >= 80 && kind < 85) request.checkOnly = true;
	if (request.channel === RULES.smsGap.channel) request.minGap = { ...RULES.smsGap };
	return { request, action };
}

async function run(task: WorkerTask): Promise<Decision[]> {
	const store = await openPostgresStore({
		connection: task.connection,
		schema: task.schema,
		poolMax: 1,
	});
	const clockPool = new Pool({ ...task.connection, max: 1 });
	const tick = async () =>
		Number(
			(
				await clockPool.query<{ tick: string }>(
					`SELECT nextval('"${task.schema}".fake_clock') AS tick`,
				)
			).rows[0].tick,
		);
	const next = random(task.worker * 7919 + 1);
	const decisions: Decision[] = [];
	const abandoned: SendReservationRequest[] = [];
	process.send?.({ type: 'ready' } satisfies WorkerMessage);
	await new Promise((resolve) => process.once('message', resolve));

	for (let i = 0; i < task.decisions; i++) {
		const now = task.t0 + (await tick()) * task.tickMs;
		const { request, action } = nextRequest(task, next, i, now, abandoned);
		const [result] = await store.reserveSends([request]);
		const decision: Decision = { worker: task.worker, request, outcome: result.outcome };
		if (result.outcome === 'reserved') {
			decision.usage = result.usage;
			decision.action = action;
			if (action === 'abandoned') abandoned.push(request);
			else {
				await store.completeSend(
					request.idempotencyKey,
					action === 'sent'
						? { state: 'sent', at: now, providerMessageId: `pm-${request.idempotencyKey}` }
						: { state: 'released', at: now, error: 'not needed' },
				);
			}
		} else if (result.outcome === 'capped') {
			decision.usage = result.usage;
			decision.violated = result.violated;
			decision.lastCountedAt = result.lastCountedAt;
		}
		decisions.push(decision);
	}
	await store.close();
	await clockPool.end();
	return decisions;
}

if (require.main === module) {
	process.once('message', (task: WorkerTask) => {
		run(task).then(
			(decisions) => {
				process.send?.({ type: 'done', decisions } satisfies WorkerMessage, () =>
					process.disconnect(),
				);
			},
			(error: unknown) => {
				console.error(error);
				process.exit(1);
			},
		);
	});
}
