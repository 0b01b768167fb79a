/**
 * Queue mode inside a real n8n 2.41.0: one main (`n8n start`, production webhooks off), two
 * `n8n worker` processes, one `n8n webhook` process, Redis on 127.0.0.1:6379, and PostgreSQL
 * for n8n and for the campaign store (a Campaign Store credential on every node).
 *
 * Workflow: Campaign Event Trigger → Campaign Frequency Cap (at most 2 messages per user per
 * rolling day) → Campaign Send Message (HTTP channel, Idempotency-Key header, to a provider
 * imitation this test runs on 127.0.0.1 that records every call), NoOps on the other outputs.
 *
 * 1. 1,000 events for 200 users (5 each, every user's events in 5 different requests) are posted
 *    to the webhook process as 100 batches of 10, 20 requests in flight: every accepted event is
 *    in the store, every execution ran on a worker and succeeded, every user got exactly 2
 *    messages (the cap, decided by executions on two workers at once), no idempotency key and no
 *    entry reached the provider twice.
 * 2. The same with other users while the provider answers slowly, and one worker is SIGKILLed
 *    while it sends. n8n finds the dead worker's jobs stalled and marks their executions failed;
 *    each is then retried once through the public API (what an operator does). Afterwards: every
 *    accepted event recorded, no user over the cap, no idempotency key or entry sent twice, and
 *    every message either sent or visibly in doubt (a reservation never committed, not counted
 *    as sent). The figures are printed.
 *
 * Run: `npm run build && npx jest --config jest.e2e.config.js --runInBand test/e2e/queue-mode.e2e.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Pool } from 'pg';

import { postgresStoreCredentialData, testConnection } from '../support/postgres';
import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8nQueueMode,
	type ExecutionSummary,
	type N8nQueueCluster,
	type N8nSideProcess,
	type WorkflowJson,
	type WorkflowNode,
} from './n8n-harness';
import {
	postEventsRetryingUnavailable,
	publicApiAnswer,
	startRecordingProvider,
	trackEvent,
	type RecordingProvider,
	type TriggerAnswer,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const USERS = 200;
const EVENTS = 1000;
const BATCH = 10;
const IN_FLIGHT = 20;
const CAP = 2;
const FINISHED = new Set(['success', 'error', 'crashed', 'canceled']);

const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

/**
 * Trigger → Frequency Cap → Send Message; with `schedule`, Trigger → Campaign Delay (per user,
 * `delaySeconds` after the event) and Campaign Resume Trigger → Frequency Cap → Send Message.
 */
function queueWorkflow(
	id: string,
	campaignId: string,
	store: { id: string; name: string },
	providerUrl: string,
	schedule?: { delaySeconds: number },
): WorkflowJson {
	const credentials = { campaignStoreApi: store };
	const node = (
		name: string,
		type: string,
		position: [number, number],
		parameters: Record<string, unknown>,
		extra: Partial<WorkflowNode> = {},
	): WorkflowNode => ({
		id: randomUUID(),
		name,
		type: type.includes('.') ? type : `${PKG}.${type}`,
		typeVersion: 1,
		position,
		parameters,
		credentials,
		...extra,
	});
	const y = schedule ? 240 : 0;
	const noOp = (name: string, x: number, dy = 0) =>
		node(name, 'n8n-nodes-base.noOp', [x, y + dy], {}, { credentials: undefined });
	const nodes: WorkflowNode[] = [
		node(
			'Trigger',
			'campaignEventTrigger',
			[0, 0],
			{ campaignId, eventNames: 'Order Shipped', reEntry: 'everyTime', options: {} },
			{ webhookId: randomUUID() },
		),
		node('Frequency Cap', 'frequencyCap', [220, y], {
			channel: 'sms',
			quietHours: false,
			rules: {
				rule: [
					{
						maxMessages: CAP,
						window: 'rolling',
						amount: 1,
						unit: 'days',
						scope: 'all',
						channelScope: 'any',
					},
				],
			},
		}),
		noOp('Capped', 440, 120),
		noOp('Deferred', 440, 240),
		node('Send Message', 'sendMessage', [440, y], {
			channel: 'http',
			httpMethod: 'POST',
			httpUrl: providerUrl,
			httpAuthentication: 'none',
			httpBody:
				'{"to": "{{ user.id }}", "entry": "{{ campaign.entryId }}", "text": "{{ message.body }}"}',
			httpIdempotencyHeader: 'Idempotency-Key',
			body: 'Your order is on its way',
			options: {},
		}),
		noOp('Sent', 660),
		noOp('Failed', 660, 120),
	];
	const connections: Record<string, unknown> = {
		'Frequency Cap': { main: [to('Send Message'), to('Capped'), to('Deferred')] },
		'Send Message': { main: [to('Sent'), to('Failed')] },
	};
	if (schedule) {
		nodes.push(
			node(
				'Delay',
				'campaignDelay',
				[220, 0],
				{
					waitHow: 'schedule',
					resumePoint: 'shipped',
					mode: 'afterEvent',
					amount: schedule.delaySeconds,
					unit: 'seconds',
				},
				{ typeVersion: 2 },
			),
			node('Resume', 'campaignResumeTrigger', [0, y], {
				campaignId,
				resumePoint: 'shipped',
				options: { pollSeconds: 1, batchSize: 10, maxInFlight: 8 },
			}),
		);
		connections.Trigger = { main: [to('Delay')] };
		connections.Resume = { main: [to('Frequency Cap')] };
	} else {
		connections.Trigger = { main: [to('Frequency Cap')] };
	}
	return {
		id,
		name: `e2e queue mode: ${campaignId}`,
		nodes,
		connections,
		settings: { executionOrder: 'v1' },
	};
}

/** 1,000 events for 200 users in batches of 10 distinct users: each user's 5 events in 5 requests. */
function eventBatches(run: string): Array<Array<Record<string, unknown>>> {
	const batches: Array<Array<Record<string, unknown>>> = [];
	for (let k = 0; k < EVENTS; k++) {
		if (k % BATCH === 0) batches.push([]);
		batches[batches.length - 1].push(
			trackEvent(
				`${run}-u${k % USERS}`,
				'Order Shipped',
				{ order: k },
				{ messageId: `${run}-event-${k}` },
			),
		);
	}
	return batches;
}

/** Posts every batch, `IN_FLIGHT` requests at a time; a request that fails outright is kept as status 0. */
async function postInParallel(
	url: string,
	batches: Array<Array<Record<string, unknown>>>,
): Promise<Array<{ batch: Array<Record<string, unknown>>; answer: TriggerAnswer }>> {
	const results: Array<{ batch: Array<Record<string, unknown>>; answer: TriggerAnswer }> = [];
	let next = 0;
	const lane = async () => {
		while (next < batches.length) {
			const batch = batches[next++];
			const answer = await postEventsRetryingUnavailable(url, JSON.stringify({ batch })).catch(
				(error: unknown): TriggerAnswer => ({ status: 0, json: undefined, text: String(error) }),
			);
			results.push({ batch, answer });
		}
	};
	await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
	return results;
}

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

describe('queue mode: main + 2 workers + webhook process + Redis, PostgreSQL store, in a real n8n 2.41.0', () => {
	const schema = `tc_e2e_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
	const admin = new Pool({ ...testConnection, max: 2 });
	let tmp: string;
	let cluster: N8nQueueCluster | undefined;
	let provider: RecordingProvider;
	let store: { id: string; name: string };
	let direct: { id: string; url: string };

	const rows = async <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
		(await admin.query(sql, params)).rows as R[];
	const callsOf = (run: string) =>
		provider.requests.filter((r) => String(r.body.to).startsWith(`${run}-`));

	/** Any failure carries the tail of every n8n process's log. */
	const logged = (fn: () => Promise<void>) => async () => {
		try {
			await fn();
		} catch (error) {
			if (error instanceof Error && cluster) error.message += `\n${cluster.logTails(40)}`;
			throw error;
		}
	};

	async function publish(workflow: WorkflowJson): Promise<{ id: string; url: string }> {
		const published = await cluster!.main.importAndPublishWorkflow(workflow, {
			timeoutMs: 120_000,
		});
		const [{ url }] = await cluster!.webhookUrls(published.id);
		return { id: published.id, url };
	}

	/** Waits until a workflow has at least `count` executions and none is running; returns them. */
	async function settledExecutions(
		workflowId: string,
		count: number,
		timeoutMs: number,
	): Promise<ExecutionSummary[]> {
		const deadline = Date.now() + timeoutMs;
		let seen: ExecutionSummary[] = [];
		while (Date.now() < deadline) {
			seen = await cluster!.main.listExecutions(workflowId);
			if (seen.length >= count && seen.every((e) => FINISHED.has(e.status))) return seen;
			await sleep(1000);
		}
		throw new Error(
			`expected ${count} finished executions, have ${seen.length}: ${JSON.stringify(countBy(seen.map((e) => e.status)))}`,
		);
	}

	/** What the store and the provider say about one run's users. */
	async function outcome(run: string) {
		const users = `${run}-u%`;
		const [events] = await rows<{ n: string }>(
			`SELECT count(*) AS n FROM "${schema}".events WHERE user_id LIKE $1`,
			[users],
		);
		const [entries] = await rows<{ n: string }>(
			`SELECT count(*) AS n FROM "${schema}".campaign_entries WHERE user_id LIKE $1`,
			[users],
		);
		const sends = await rows<{
			idempotency_key: string;
			entry_id: string;
			user_id: string;
			state: string;
		}>(
			`SELECT idempotency_key, entry_id, user_id, state FROM "${schema}".sends WHERE user_id LIKE $1`,
			[users],
		);
		const calls = callsOf(run);
		const callsPerKey = countBy(calls.map((r) => String(r.idempotencyKey)));
		const callsPerEntry = countBy(calls.map((r) => String(r.body.entry)));
		const keysPerUser = new Map<string, Set<string>>();
		for (const call of calls) {
			const user = String(call.body.to);
			keysPerUser.set(user, (keysPerUser.get(user) ?? new Set()).add(String(call.idempotencyKey)));
		}
		const sentPerUser = countBy(sends.filter((s) => s.state === 'sent').map((s) => s.user_id));
		const reserved = sends.filter((s) => s.state === 'reserved');
		const calledKeys = new Set(calls.map((r) => String(r.idempotencyKey)));
		// Each user has 5 entries: CAP of them must end sent, or visibly reserved (in doubt).
		const lost = Array.from({ length: USERS }, (_, i) => `${run}-u${i}`)
			.map((user) => ({
				user,
				missing: CAP - (sentPerUser[user] ?? 0) - reserved.filter((s) => s.user_id === user).length,
			}))
			.filter((u) => u.missing > 0);
		const repeatedKeys = Object.entries(callsPerKey).filter(([, n]) => n > 1);
		return {
			eventsRecorded: Number(events.n),
			entries: Number(entries.n),
			sendsByState: countBy(sends.map((s) => s.state)),
			providerCalls: calls.length,
			providerCallsUnanswered: calls.filter((c) => !c.answered).length,
			repeatedKeys,
			duplicateCallsPerEntry: Object.entries(callsPerEntry).filter(([, n]) => n > 1),
			usersOverCap: Object.entries(sentPerUser).filter(([, n]) => n > CAP),
			usersWithMoreMessagesThanCap: [...keysPerUser].filter(([, keys]) => keys.size > CAP),
			sentWithoutProviderCall: sends.filter(
				(s) => s.state === 'sent' && !calledKeys.has(s.idempotency_key),
			).length,
			reserved: reserved.map((s) => ({
				key: s.idempotency_key,
				user: s.user_id,
				providerCalls: callsPerKey[s.idempotency_key] ?? 0,
			})),
			lost,
		};
	}

	/** Kills `victim` once `calls` messages of `run` reached the provider. */
	async function killWhenCalls(victim: N8nSideProcess, run: string, calls: number) {
		const deadline = Date.now() + 240_000;
		while (callsOf(run).length < calls && Date.now() < deadline) await sleep(20);
		const callsAtKill = callsOf(run).length;
		const { pid, killedAt } = await victim.kill();
		return { worker: victim.name, pid, killedAt, callsAtKill };
	}

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-queue-'));
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		await installPackageTarball(tgz, userFolder);
		provider = await startRecordingProvider();
		const started = Date.now();
		cluster = await startN8nQueueMode({ userFolder, installation, workers: 2 });
		console.log(
			`queue-mode cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s: main pid ${cluster.main.pid}, workers ${cluster.workers.map((w) => w.pid).join(', ')}, webhook ${cluster.webhook.pid}`,
		);
		store = await cluster.main.createCredential(
			'e2e PostgreSQL store',
			'campaignStoreApi',
			postgresStoreCredentialData(schema),
		);
		direct = await publish(
			queueWorkflow('e2eQueueModeCap1', 'e2e-queue-direct', store, provider.url),
		);
	}, 10 * 60_000);

	afterAll(async () => {
		await cluster?.stop();
		await provider?.close();
		await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
		await admin.end();
		if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it(
		'1,000 events for 200 users in parallel: all recorded, run on the workers, capped at 2 per user, nothing sent twice',
		logged(async () => {
			const started = Date.now();
			const posted = await postInParallel(direct.url, eventBatches('r1'));
			const postedMs = Date.now() - started;
			const accepted = posted.filter((p) => p.answer.status === 202);
			const triggered = accepted.filter((p) => Number(p.answer.json?.triggered) > 0).length;
			expect(posted.filter((p) => p.answer.status !== 202).map((p) => p.answer)).toEqual([]);

			const executions = await settledExecutions(direct.id, triggered, 5 * 60_000);
			const result = await outcome('r1');
			console.log(
				`queue mode, run 1:\n${JSON.stringify(
					{
						requests: posted.length,
						eventsAccepted: accepted.reduce((n, p) => n + Number(p.answer.json?.accepted), 0),
						postedInS: postedMs / 1000,
						executions: countBy(executions.map((e) => e.status)),
						allDoneInS: (Date.now() - started) / 1000,
						...result,
						lost: result.lost.length,
					},
					null,
					2,
				)}`,
			);

			expect(accepted.reduce((n, p) => n + Number(p.answer.json?.accepted), 0)).toBe(EVENTS);
			expect(result.eventsRecorded).toBe(EVENTS);
			expect(result.entries).toBe(EVENTS);
			expect(executions).toHaveLength(triggered);
			expect(countBy(executions.map((e) => e.status))).toEqual({ success: triggered });
			expect(result.sendsByState).toEqual({ sent: USERS * CAP });
			expect(result.providerCalls).toBe(USERS * CAP);
			expect({
				repeatedKeys: result.repeatedKeys,
				duplicateCallsPerEntry: result.duplicateCallsPerEntry,
				usersOverCap: result.usersOverCap,
				usersWithMoreMessagesThanCap: result.usersWithMoreMessagesThanCap,
				sentWithoutProviderCall: result.sentWithoutProviderCall,
				lost: result.lost,
			}).toEqual({
				repeatedKeys: [],
				duplicateCallsPerEntry: [],
				usersOverCap: [],
				usersWithMoreMessagesThanCap: [],
				sentWithoutProviderCall: 0,
				lost: [],
			});
		}),
		8 * 60_000,
	);

	it(
		'a worker SIGKILLed while it sends trigger executions: n8n fails them and cannot retry them; nothing sent twice, every event recorded, what was not sent stays reserved',
		logged(async () => {
			const before = (await cluster!.main.listExecutions(direct.id)).length;
			provider.delayMs = 400;
			const started = Date.now();
			const posting = postInParallel(direct.url, eventBatches('r2'));
			const killed = await killWhenCalls(cluster!.workers[0], 'r2', (USERS * CAP) / 4);
			const posted = await posting;
			const accepted = posted.filter((p) => p.answer.status === 202);
			const triggered = accepted.filter((p) => Number(p.answer.json?.triggered) > 0).length;

			// n8n's own recovery: the surviving worker finds the dead one's jobs stalled, and the
			// webhook process that enqueued them writes their executions as failed.
			const settled = (await settledExecutions(direct.id, before + triggered, 5 * 60_000)).slice(
				0,
				triggered,
			);
			const recoveredAfterS = (Date.now() - killed.killedAt) / 1000;
			const afterRecovery = await outcome('r2');
			const failed = settled.filter((e) => e.status !== 'success');
			const failedRuns = await Promise.all(
				failed.map(async (e) => await cluster!.main.getExecution(e.id, true)),
			);

			// The run repeated: each failed execution retried once through the public API.
			provider.delayMs = 0;
			// In queue mode the API answers a retry when the retried execution ends; one that never
			// ends (its job lost as well) is noted as unanswered rather than waited for.
			const retries: Array<{ status: number | 'no answer'; id?: string }> = await Promise.all(
				failed.map(async (execution) => {
					try {
						const answer = await publicApiAnswer(
							cluster!.main,
							'POST',
							`/api/v1/executions/${execution.id}/retry`,
							{ loadWorkflow: false },
							30_000,
						);
						return { status: answer.status, id: answer.json?.id as string | undefined };
					} catch (error) {
						if ((error as Error).name === 'TimeoutError') return { status: 'no answer' as const };
						throw error;
					}
				}),
			);
			const retryRuns = await Promise.all(
				retries.filter((r) => r.id).map(async (r) => await cluster!.main.getExecution(r.id!, true)),
			);
			await sleep(3000);
			const final = await outcome('r2');
			console.log(
				`queue mode, run 2 (a worker killed during trigger executions):\n${JSON.stringify(
					{
						killed: { ...killed, afterS: (killed.killedAt - started) / 1000 },
						requests: posted.length,
						requestsAnswered: countBy(posted.map((p) => String(p.answer.status))),
						eventsAccepted: accepted.reduce((n, p) => n + Number(p.answer.json?.accepted), 0),
						executions: countBy(settled.map((e) => e.status)),
						failedExecutionsMarkedAfterS: recoveredAfterS,
						failedExecution: failedRuns[0] && {
							error: String(
								(failedRuns[0].data?.resultData.error as { message?: string } | undefined)?.message,
							),
							nodesWithData: Object.keys(failedRuns[0].data?.resultData.runData ?? {}),
						},
						afterRecovery: {
							...afterRecovery,
							lost: afterRecovery.lost.length,
							reserved: afterRecovery.reserved.length,
							reservedWithProviderCall: afterRecovery.reserved.filter((d) => d.providerCalls > 0)
								.length,
						},
						retries: countBy(retries.map((r) => String(r.status))),
						retryExecutions: countBy(
							retryRuns.map(
								(r) =>
									`${r.status}: nodes run ${JSON.stringify(Object.keys(r.data?.resultData.runData ?? {}))}`,
							),
						),
						final: {
							...final,
							lost: final.lost.length,
							reserved: final.reserved.length,
							reservedWithProviderCall: final.reserved.filter((d) => d.providerCalls > 0).length,
							reservedNeverCalled: final.reserved.filter((d) => d.providerCalls === 0).length,
						},
					},
					null,
					2,
				)}`,
			);

			expect(cluster!.workers[0].running).toBe(false);
			expect(cluster!.workers[1].running).toBe(true);
			expect(accepted.reduce((n, p) => n + Number(p.answer.json?.accepted), 0)).toBe(EVENTS);
			// Events and entries are recorded by the webhook process before any worker runs.
			expect(final.eventsRecorded).toBe(EVENTS);
			expect(final.entries).toBe(EVENTS);
			// The dead worker's executions are failed by n8n with no node data...
			expect(failed.length).toBeGreaterThan(0);
			for (const run of failedRuns) {
				expect(run.status).toBe('error');
				expect(Object.keys(run.data?.resultData.runData ?? {})).toEqual([]);
			}
			// ... so n8n's retry has nothing to run and sends nothing.
			expect(final.providerCalls).toBe(afterRecovery.providerCalls);
			// Nothing twice, no cap exceeded; every slot the dead worker held is visibly reserved
			// (not sent), with at most the one provider call it was waiting on.
			expect({
				repeatedKeys: final.repeatedKeys,
				duplicateCallsPerEntry: final.duplicateCallsPerEntry,
				usersOverCap: final.usersOverCap,
				usersWithMoreMessagesThanCap: final.usersWithMoreMessagesThanCap,
				sentWithoutProviderCall: final.sentWithoutProviderCall,
				lost: final.lost,
			}).toEqual({
				repeatedKeys: [],
				duplicateCallsPerEntry: [],
				usersOverCap: [],
				usersWithMoreMessagesThanCap: [],
				sentWithoutProviderCall: 0,
				lost: [],
			});
			expect(final.reserved.every((r) => r.providerCalls <= 1)).toBe(true);
		}),
		8 * 60_000,
	);

	it(
		'through the per-user schedule, a worker SIGKILLed while it sends: every scheduled user released again and sent, only in-doubt calls repeated, with their idempotency key',
		logged(async () => {
			// Two workers again: the one killed before comes back.
			const revived = cluster!.workers[0];
			revived.spawn();
			await revived.waitUntilReady(300_000);
			const scheduled = await publish(
				queueWorkflow('e2eQueueModeSch1', 'e2e-queue-schedule', store, provider.url, {
					delaySeconds: 45,
				}),
			);
			provider.delayMs = 400;
			const started = Date.now();
			const posted = await postInParallel(scheduled.url, eventBatches('r3'));
			const postedS = (Date.now() - started) / 1000;
			const steps = async () =>
				countBy(
					(
						await rows<{ state: string }>(
							`SELECT state FROM "${schema}".scheduled_steps WHERE campaign_id = 'e2e-queue-schedule'`,
						)
					).map((r) => r.state),
				);
			const scheduledAfterPosting = await steps();
			const killed = await killWhenCalls(cluster!.workers[1], 'r3', (USERS * CAP) / 4);

			// n8n fails the dead worker's executions; the resume trigger gives their users back,
			// claims them again and runs them on the surviving worker.
			const deadline = Date.now() + 5 * 60_000;
			let stepStates = await steps();
			while (Date.now() < deadline) {
				stepStates = await steps();
				const open = (stepStates.scheduled ?? 0) + (stepStates.claimed ?? 0);
				const reserved = (await outcome('r3')).reserved.length;
				if (open === 0 && (stepStates.done ?? 0) > 0 && reserved === 0) break;
				await sleep(2000);
			}
			const releasedAfterS = (Date.now() - killed.killedAt) / 1000;
			await sleep(3000);
			const result = await outcome('r3');
			const executions = await cluster!.main.listExecutions(scheduled.id);
			const [attempts] = await rows<{ again: string; max: number }>(
				`SELECT count(*) FILTER (WHERE attempts > 1) AS again, max(attempts) AS max FROM "${schema}".scheduled_steps WHERE campaign_id = 'e2e-queue-schedule'`,
			);
			// A key called twice must be one the dead worker had called before it died and never
			// recorded: its first call before the kill, the second after.
			const repeated = result.repeatedKeys.map(([key]) => {
				const calls = callsOf('r3').filter((c) => c.idempotencyKey === key);
				return {
					key,
					calls: calls.length,
					firstBeforeKill: calls[0].at <= killed.killedAt,
					firstAnswered: calls[0].answered,
					againAfterKill: calls.slice(1).every((c) => c.at > killed.killedAt),
				};
			});
			console.log(
				`queue mode, run 3 (the per-user schedule, a worker killed during resumed executions):\n${JSON.stringify(
					{
						posted: { requests: posted.length, inS: postedS },
						requestsAnswered: countBy(posted.map((p) => String(p.answer.status))),
						scheduledAfterPosting,
						killed: { ...killed, afterS: (killed.killedAt - started) / 1000 },
						executions: countBy(executions.map((e) => `${e.mode}:${e.status}`)),
						steps: stepStates,
						usersClaimedAgain: Number(attempts.again),
						maxAttempts: attempts.max,
						allReleasedAndSentAfterKillS: releasedAfterS,
						...result,
						lost: result.lost.length,
						repeatedKeys: result.repeatedKeys.length,
						repeatedFirstCallUnanswered: repeated.filter((r) => !r.firstAnswered).length,
						reserved: result.reserved.length,
					},
					null,
					2,
				)}`,
			);

			expect(posted.filter((p) => p.answer.status !== 202).map((p) => p.answer)).toEqual([]);
			expect(cluster!.workers[1].running).toBe(false);
			expect(result.eventsRecorded).toBe(EVENTS);
			expect(result.entries).toBe(EVENTS);
			// Every scheduled user released and run to its end.
			expect(stepStates).toEqual({ done: EVENTS });
			expect(Number(attempts.again)).toBeGreaterThan(0);
			expect(result.sendsByState).toEqual({ sent: USERS * CAP });
			expect({
				usersOverCap: result.usersOverCap,
				usersWithMoreMessagesThanCap: result.usersWithMoreMessagesThanCap,
				sentWithoutProviderCall: result.sentWithoutProviderCall,
				lost: result.lost,
			}).toEqual({
				usersOverCap: [],
				usersWithMoreMessagesThanCap: [],
				sentWithoutProviderCall: 0,
				lost: [],
			});
			// A message called again is one the dead worker was sending when it died (the provider
			// had it, the store did not): called twice with the same Idempotency-Key, so a provider
			// that honours the header delivers it once.
			expect(
				repeated.filter((r) => !(r.calls === 2 && r.firstBeforeKill && r.againAfterKill)),
			).toEqual([]);
		}),
		8 * 60_000,
	);
});

function countBy(values: string[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
	return counts;
}
