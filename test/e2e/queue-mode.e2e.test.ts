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
	type WorkflowJson,
	type WorkflowNode,
} from './n8n-harness';
import {
	postEvents,
	publicApiAnswer,
	startRecordingProvider,
	trackEvent,
	type RecordingProvider,
	type TriggerAnswer,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const CAMPAIGN_ID = 'e2e-queue-mode';
const USERS = 200;
const EVENTS = 1000;
const BATCH = 10;
const IN_FLIGHT = 20;
const CAP = 2;
const FINISHED = new Set(['success', 'error', 'crashed', 'canceled']);

const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

function queueWorkflow(store: { id: string; name: string }, providerUrl: string): WorkflowJson {
	const credentials = { campaignStoreApi: store };
	const node = (
		name: string,
		type: string,
		x: number,
		parameters: Record<string, unknown>,
		extra: Partial<WorkflowNode> = {},
	): WorkflowNode => ({
		id: randomUUID(),
		name,
		type: type.includes('.') ? type : `${PKG}.${type}`,
		typeVersion: 1,
		position: [x, 0],
		parameters,
		...extra,
	});
	const noOp = (name: string, x: number) => node(name, 'n8n-nodes-base.noOp', x, {});
	return {
		id: 'e2eQueueModeCap1',
		name: 'e2e queue mode: trigger, cap, send',
		nodes: [
			node(
				'Trigger',
				'campaignEventTrigger',
				0,
				{ campaignId: CAMPAIGN_ID, eventNames: 'Order Shipped', reEntry: 'everyTime', options: {} },
				{ webhookId: '5b0f5e0a-7c1d-4e2f-9a3b-0c4d5e6f7a81', credentials },
			),
			node(
				'Frequency Cap',
				'frequencyCap',
				220,
				{
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
				},
				{ credentials },
			),
			noOp('Capped', 440),
			noOp('Deferred', 440),
			node(
				'Send Message',
				'sendMessage',
				440,
				{
					channel: 'http',
					httpMethod: 'POST',
					httpUrl: providerUrl,
					httpAuthentication: 'none',
					httpBody:
						'{"to": "{{ user.id }}", "entry": "{{ campaign.entryId }}", "text": "{{ message.body }}"}',
					httpIdempotencyHeader: 'Idempotency-Key',
					body: 'Your order is on its way',
					options: {},
				},
				{ credentials },
			),
			noOp('Sent', 660),
			noOp('Failed', 660),
		],
		connections: {
			Trigger: { main: [to('Frequency Cap')] },
			'Frequency Cap': { main: [to('Send Message'), to('Capped'), to('Deferred')] },
			'Send Message': { main: [to('Sent'), to('Failed')] },
		},
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
			const answer = await postEvents(url, JSON.stringify({ batch })).catch(
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
	let workflowId: string;
	let webhookUrl: string;

	const rows = async <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
		(await admin.query(sql, params)).rows as R[];

	/** Any failure carries the tail of every n8n process's log. */
	const logged = (fn: () => Promise<void>) => async () => {
		try {
			await fn();
		} catch (error) {
			if (error instanceof Error && cluster) error.message += `\n${cluster.logTails(40)}`;
			throw error;
		}
	};

	/** Waits until `count` executions exist and none is running; returns them. */
	async function settledExecutions(count: number, timeoutMs: number): Promise<ExecutionSummary[]> {
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
		const calls = provider.requests.filter((r) => String(r.body.to).startsWith(`${run}-`));
		const callsPerKey = countBy(calls.map((r) => String(r.idempotencyKey)));
		const callsPerEntry = countBy(calls.map((r) => String(r.body.entry)));
		const sentPerUser = countBy(sends.filter((s) => s.state === 'sent').map((s) => s.user_id));
		const inDoubt = sends.filter((s) => s.state === 'reserved');
		const calledKeys = new Set(calls.map((r) => String(r.idempotencyKey)));
		// A user with fewer than CAP messages sent or in doubt lost some (each has 5 entries).
		const lost = Array.from({ length: USERS }, (_, i) => `${run}-u${i}`)
			.map((user) => ({
				user,
				missing: CAP - (sentPerUser[user] ?? 0) - inDoubt.filter((s) => s.user_id === user).length,
			}))
			.filter((u) => u.missing > 0);
		return {
			eventsRecorded: Number(events.n),
			entries: Number(entries.n),
			sendsByState: countBy(sends.map((s) => s.state)),
			providerCalls: calls.length,
			duplicateCallsPerKey: Object.entries(callsPerKey).filter(([, n]) => n > 1),
			duplicateCallsPerEntry: Object.entries(callsPerEntry).filter(([, n]) => n > 1),
			usersOverCap: Object.entries(sentPerUser).filter(([, n]) => n > CAP),
			usersWithMoreCallsThanCap: Object.entries(
				countBy(calls.map((r) => String(r.body.to))),
			).filter(([, n]) => n > CAP),
			sentWithoutProviderCall: sends.filter(
				(s) => s.state === 'sent' && !calledKeys.has(s.idempotency_key),
			).length,
			inDoubt: inDoubt.map((s) => ({
				key: s.idempotency_key,
				user: s.user_id,
				providerCalls: callsPerKey[s.idempotency_key] ?? 0,
			})),
			lost,
		};
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
		const store = await cluster.main.createCredential(
			'e2e PostgreSQL store',
			'campaignStoreApi',
			postgresStoreCredentialData(schema),
		);
		const published = await cluster.main.importAndPublishWorkflow(
			queueWorkflow(store, provider.url),
			{ timeoutMs: 120_000 },
		);
		workflowId = published.id;
		[{ url: webhookUrl }] = await cluster.webhookUrls(workflowId);
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
			const posted = await postInParallel(webhookUrl, eventBatches('r1'));
			const postedMs = Date.now() - started;
			const accepted = posted.filter((p) => p.answer.status === 202);
			const triggered = accepted.filter((p) => Number(p.answer.json?.triggered) > 0).length;
			expect(posted.filter((p) => p.answer.status !== 202).map((p) => p.answer)).toEqual([]);

			const executions = await settledExecutions(triggered, 5 * 60_000);
			const result = await outcome('r1');
			const workerLogs = cluster!.workers.map(
				(w) =>
					fs
						.readFileSync(w.logPath, 'utf8')
						.split('\n')
						.filter((l) => /Worker started execution|started execution/i.test(l)).length,
			);
			console.log(
				`queue mode, run 1:\n${JSON.stringify(
					{
						requests: posted.length,
						eventsAccepted: accepted.reduce((n, p) => n + Number(p.answer.json?.accepted), 0),
						postedInS: postedMs / 1000,
						executions: countBy(executions.map((e) => e.status)),
						allDoneInS: (Date.now() - started) / 1000,
						workerLogLinesPerWorker: workerLogs,
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
				duplicateCallsPerKey: result.duplicateCallsPerKey,
				duplicateCallsPerEntry: result.duplicateCallsPerEntry,
				usersOverCap: result.usersOverCap,
				usersWithMoreCallsThanCap: result.usersWithMoreCallsThanCap,
				sentWithoutProviderCall: result.sentWithoutProviderCall,
				lost: result.lost,
			}).toEqual({
				duplicateCallsPerKey: [],
				duplicateCallsPerEntry: [],
				usersOverCap: [],
				usersWithMoreCallsThanCap: [],
				sentWithoutProviderCall: 0,
				lost: [],
			});
		}),
		8 * 60_000,
	);

	it(
		'a worker SIGKILLed while it sends: its executions are failed by n8n, retried once; nothing sent twice, every event recorded, every message sent or visibly in doubt',
		logged(async () => {
			const before = (await cluster!.main.listExecutions(workflowId)).length;
			provider.delayMs = 400;
			const victim = cluster!.workers[0];
			const started = Date.now();
			const posting = postInParallel(webhookUrl, eventBatches('r2'));
			// Kill while messages are on their way (a quarter of the expected calls have arrived).
			const deadline = Date.now() + 180_000;
			while (
				provider.requests.filter((r) => String(r.body.to).startsWith('r2-')).length <
					(USERS * CAP) / 4 &&
				Date.now() < deadline
			)
				await sleep(20);
			const callsAtKill = provider.requests.filter((r) =>
				String(r.body.to).startsWith('r2-'),
			).length;
			const { pid, killedAt } = await victim.kill();
			const posted = await posting;
			const accepted = posted.filter((p) => p.answer.status === 202);
			const triggered = accepted.filter((p) => Number(p.answer.json?.triggered) > 0).length;

			// n8n's own recovery: the surviving worker finds the dead one's jobs stalled, the
			// webhook process marks their executions failed.
			const settled = (await settledExecutions(before + triggered, 5 * 60_000)).slice(0, triggered);
			const recoveredAfterS = (Date.now() - killedAt) / 1000;
			const afterRecovery = await outcome('r2');
			const failed = settled.filter((e) => e.status !== 'success');
			const failedDetails = await Promise.all(
				failed.slice(0, 3).map(async (e) => {
					const full = await cluster!.main.getExecution(e.id, true);
					return {
						id: e.id,
						status: e.status,
						error: JSON.stringify(full.data?.resultData.error ?? null).slice(0, 300),
						nodesRun: Object.keys(full.data?.resultData.runData ?? {}),
					};
				}),
			);

			// The run repeated: each failed execution retried once through the public API.
			provider.delayMs = 0;
			const retries: Array<{ id: string; status: number; text: string }> = [];
			for (const execution of failed) {
				const answer = await publicApiAnswer(
					cluster!.main,
					'POST',
					`/api/v1/executions/${execution.id}/retry`,
					{ loadWorkflow: false },
				);
				retries.push({ id: execution.id, status: answer.status, text: answer.text.slice(0, 300) });
			}
			await sleep(5000);
			const final = await outcome('r2');
			const allExecutions = await cluster!.main.listExecutions(workflowId);
			console.log(
				`queue mode, run 2 (worker killed):\n${JSON.stringify(
					{
						killed: { worker: victim.name, pid, afterS: (killedAt - started) / 1000, callsAtKill },
						requests: posted.length,
						requestsAnswered: countBy(posted.map((p) => String(p.answer.status))),
						eventsAccepted: accepted.reduce((n, p) => n + Number(p.answer.json?.accepted), 0),
						executions: countBy(settled.map((e) => e.status)),
						recoveredAfterS,
						failedExamples: failedDetails,
						afterRecovery: {
							...afterRecovery,
							lost: afterRecovery.lost.length,
							inDoubt: afterRecovery.inDoubt.length,
							inDoubtWithProviderCall: afterRecovery.inDoubt.filter((d) => d.providerCalls > 0)
								.length,
						},
						retries: countBy(retries.map((r) => `${r.status} ${r.text.slice(0, 120)}`)),
						executionsAfterRetries: countBy(allExecutions.map((e) => `${e.mode}:${e.status}`)),
						final: {
							...final,
							lost: final.lost.length,
							lostMessages: final.lost.reduce((n, u) => n + u.missing, 0),
							inDoubt: final.inDoubt.length,
							inDoubtWithProviderCall: final.inDoubt.filter((d) => d.providerCalls > 0).length,
						},
					},
					null,
					2,
				)}`,
			);

			expect(victim.running).toBe(false);
			expect(cluster!.workers[1].running).toBe(true);
			expect(accepted.reduce((n, p) => n + Number(p.answer.json?.accepted), 0)).toBe(EVENTS);
			expect(final.eventsRecorded).toBe(EVENTS);
			expect(final.entries).toBe(EVENTS);
			expect({
				duplicateCallsPerKey: final.duplicateCallsPerKey,
				duplicateCallsPerEntry: final.duplicateCallsPerEntry,
				usersOverCap: final.usersOverCap,
				usersWithMoreCallsThanCap: final.usersWithMoreCallsThanCap,
				sentWithoutProviderCall: final.sentWithoutProviderCall,
			}).toEqual({
				duplicateCallsPerKey: [],
				duplicateCallsPerEntry: [],
				usersOverCap: [],
				usersWithMoreCallsThanCap: [],
				sentWithoutProviderCall: 0,
			});
		}),
		8 * 60_000,
	);
});

function countBy(values: string[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
	return counts;
}
