/**
 * The campaign steps inside a real n8n 2.41.0, with two workflows whose waits run concurrently:
 *
 * 1. Campaign Event Trigger → Campaign Delay (70 s after the event, i.e. more than the 65 s the
 *    node waits in-process, so n8n's own waiting is used: the execution is stored as `waiting`
 *    and resumed by n8n's wait tracker) → Exception Check → Frequency Cap, with NoOp nodes on
 *    every output so that the execution shows where each item went. During the wait one user
 *    completes the order (recorded through the same trigger), so that user exits and the other is
 *    allowed by the frequency cap.
 * 2. Campaign Event Trigger → Campaign Delay (70 s after the event) → NoOp, with ONE batch of two
 *    users whose events are 60 s apart: A is due 10 s after the post, B 70 s after it. The
 *    execution must wait until the LATEST (B's) time, nobody may leave the Delay before B's time,
 *    and each item must still carry its OWN `delay` annotation after the wait.
 *
 * Why the annotation is on the input: on resume n8n-core (WorkflowExecute.handleWaitingState)
 * drops the waiting node's run data and runs that node again DISABLED, which forwards the input
 * items it saved with the waiting execution to its first output (found by an earlier version of
 * this test). The Campaign Delay therefore writes `delay` into its input items in place and waits
 * once, for all of them, until the latest user's time. This file checks that this is what
 * happens in a real n8n, and prints the Delay's items before and after the wait.
 *
 * n8n's wait tracker polls every 60 s and schedules executions due within 70 s, so the executions
 * resume at their waitTill (~70 s after the post); the test allows up to 4 minutes.
 *
 * Run: `npm run test:e2e -- test/e2e/campaign-steps.e2e.test.ts` (builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8n,
	type ExecutionDetails,
	type ExecutionSummary,
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
	type WorkflowNode,
} from './n8n-harness';
import {
	defaultStorePath,
	describeRun,
	nodeOutput,
	postEvents,
	seconds,
	trackEvent,
	withLogTail,
	withSqliteStore,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const TRIGGER = 'Campaign Event Trigger';
const DELAY = 'Campaign Delay';
const EXCEPTION = 'Exception Check';
const CAP = 'Frequency Cap';
const AFTER_DELAY = 'After Delay';
const DELAY_SECONDS = 70;
/** User A's event is this much older than user B's (both in one batch). */
const EVENT_GAP_MS = 60_000;
const FINISH_TIMEOUT_MS = 4 * 60_000;

function node(
	name: string,
	type: string,
	position: [number, number],
	parameters: Record<string, unknown>,
	extra: Partial<WorkflowNode> = {},
): WorkflowNode {
	return { name, type, typeVersion: 1, position, parameters, ...extra };
}

const noOp = (name: string, position: [number, number]) =>
	node(name, 'n8n-nodes-base.noOp', position, {});

const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

function triggerNode(campaignId: string, webhookId: string): WorkflowNode {
	return node(
		TRIGGER,
		`${PKG}.campaignEventTrigger`,
		[0, 0],
		{
			campaignId,
			eventNames: 'Added to Cart',
			reEntry: 'everyTime',
			authentication: 'none',
			options: {},
		},
		{ webhookId },
	);
}

const delayNode = () =>
	node(DELAY, `${PKG}.campaignDelay`, [240, 0], {
		mode: 'afterEvent',
		amount: DELAY_SECONDS,
		unit: 'seconds',
	});

/** Trigger → Delay → Exception Check → Frequency Cap, a NoOp on every output. */
function stepsWorkflow(): WorkflowJson {
	return {
		id: 'e2eCampaignStep1',
		name: 'e2e campaign steps',
		nodes: [
			triggerNode('e2e-steps', '7b2e4c6a-1f3d-4a5b-8c7d-9e0f1a2b3c01'),
			delayNode(),
			node(EXCEPTION, `${PKG}.exceptionCheck`, [480, 0], {
				exceptionEvents: 'Order Completed',
				matchProperty: 'cart_id',
			}),
			noOp('Exited', [720, 200]),
			node(CAP, `${PKG}.frequencyCap`, [720, 0], {
				channel: 'in_app',
				quietHours: false,
				rules: {
					rule: [
						{
							maxMessages: 5,
							window: 'rolling',
							amount: 1,
							unit: 'days',
							scope: 'all',
							channelScope: 'any',
						},
					],
				},
			}),
			noOp('Allowed', [960, -200]),
			noOp('Capped', [960, 0]),
			noOp('Deferred', [960, 200]),
		],
		connections: {
			[TRIGGER]: { main: [to(DELAY)] },
			[DELAY]: { main: [to(EXCEPTION)] },
			[EXCEPTION]: { main: [to(CAP), to('Exited')] },
			[CAP]: { main: [to('Allowed'), to('Capped'), to('Deferred')] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/** Trigger → Delay → NoOp: one batch whose users are due at different times. */
function latestWorkflow(): WorkflowJson {
	return {
		id: 'e2eCampaignLtst1',
		name: 'e2e campaign delay waits for the latest',
		nodes: [
			triggerNode('e2e-steps-latest', '7b2e4c6a-1f3d-4a5b-8c7d-9e0f1a2b3c03'),
			delayNode(),
			noOp(AFTER_DELAY, [480, 0]),
		],
		connections: {
			[TRIGGER]: { main: [to(DELAY)] },
			[DELAY]: { main: [to(AFTER_DELAY)] },
		},
		settings: { executionOrder: 'v1' },
	};
}

type Item = { json: Record<string, unknown> };

const timings: Record<string, string> = {};
const userIds = (items: Item[] | undefined) => items?.map((item) => item.json.userId);
const iso = (ms: number) => new Date(ms).toISOString();

/** userId and the `delay` annotation (null when missing) of each item. */
const delayOf = (items: Item[] | undefined) =>
	items?.map((item) => ({ userId: item.json.userId, delay: item.json.delay ?? null }));

/** When a node's run started (n8n's ITaskData.startTime, epoch ms). */
function runStartTime(execution: ExecutionDetails, nodeName: string, runIndex = 0): number {
	const run = execution.data?.resultData.runData[nodeName]?.[runIndex] as
		| { startTime?: number }
		| undefined;
	if (typeof run?.startTime !== 'number')
		throw new Error(
			`${nodeName} has no run ${runIndex} with a startTime:\n${describeRun(execution)}`,
		);
	return run.startTime;
}

/** The input items saved for the node n8n resumes (the first entry of the execution stack). */
function waitingInput(execution: ExecutionDetails): { node?: string; items?: Item[] } {
	const stack = (
		execution.data?.executionData as
			| {
					nodeExecutionStack?: Array<{
						node?: { name?: string };
						data?: { main?: Array<Item[] | null> };
					}>;
			  }
			| undefined
	)?.nodeExecutionStack;
	const first = stack?.[0];
	return { node: first?.node?.name, items: first?.data?.main?.[0] ?? undefined };
}

describe('Campaign Delay, Exception Check and Frequency Cap inside a real n8n 2.41.0', () => {
	let tmp: string;
	let userFolder: string;
	let storePath: string;
	let n8n: N8nInstance | undefined;
	let steps: PublishedWorkflow;
	let latest: PublishedWorkflow;
	let postedAt = 0;
	let waiting: ExecutionSummary | undefined;
	let latestWaiting: ExecutionSummary | undefined;
	/** The latest workflow's waiting execution as stored before n8n resumed it. */
	let latestBeforeWait: ExecutionDetails | undefined;
	/** Event times (ISO, ms) of users A and B in the latest workflow. */
	let eventA = '';
	let eventB = '';

	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);

	/** Polls the workflow's executions until `accept` says so; fails with what it saw. */
	async function waitForExecution(
		workflowId: string,
		accept: (execution: ExecutionSummary) => boolean,
		what: string,
		timeoutMs: number,
	): Promise<ExecutionSummary> {
		const deadline = Date.now() + timeoutMs;
		let seen: ExecutionSummary[] = [];
		while (Date.now() < deadline) {
			seen = await n8n!.listExecutions(workflowId);
			const match = seen.find(accept);
			if (match) return match;
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		throw new Error(
			`Workflow ${workflowId}: no execution ${what} within ${timeoutMs / 1000} s; saw ${JSON.stringify(
				seen.map((e) => ({ id: e.id, status: e.status, waitTill: e.waitTill })),
			)}`,
		);
	}

	const waitingOrDone = (e: ExecutionSummary) =>
		e.status === 'waiting' || e.finished || e.status === 'error';
	const done = (id: string) => (e: ExecutionSummary) =>
		e.id === id && e.status !== 'waiting' && e.status !== 'running' && e.status !== 'new';

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-campaign-steps-'));
		let t = Date.now();
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		userFolder = path.join(tmp, 'user');
		storePath = defaultStorePath(userFolder);
		await installPackageTarball(tgz, userFolder);
		timings.packAndInstall = seconds(Date.now() - t);
		t = Date.now();
		n8n = await startN8n({ userFolder, installation });
		timings.startN8n = seconds(Date.now() - t);
		t = Date.now();
		steps = await n8n.importAndPublishWorkflow(stepsWorkflow());
		latest = await n8n.importAndPublishWorkflow(latestWorkflow());
		timings.importAndPublish2Workflows = seconds(Date.now() - t);
	});

	afterAll(async () => {
		const logPath = n8n?.logPath;
		await n8n?.stop();
		console.log(
			`campaign-steps e2e timings:\n${Object.entries(timings)
				.map(([k, v]) => `  ${k}: ${v}`)
				.join('\n')}\n  n8n log: ${logPath ?? '-'}`,
		);
		if (tmp && !process.env.N8N_E2E_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it(
		'the Campaign Delay (70 s) puts both executions into n8n\'s "waiting", each until its latest user\'s time',
		logged(async () => {
			const types = await n8n!.rest<Array<{ name: string }>>('GET', '/types/nodes.json');
			expect(types.map((type) => type.name)).toEqual(
				expect.arrayContaining([
					`${PKG}.campaignDelay`,
					`${PKG}.exceptionCheck`,
					`${PKG}.frequencyCap`,
				]),
			);

			postedAt = Date.now();
			const now = iso(postedAt);
			const body = JSON.stringify({
				batch: [
					trackEvent(
						'u1-ana',
						'Added to Cart',
						{ cart_id: 'A', cart_value: 150 },
						{ messageId: 'e2e-steps-1', timestamp: now },
					),
					trackEvent(
						'u2-ben',
						'Added to Cart',
						{ cart_id: 'B', cart_value: 80 },
						{ messageId: 'e2e-steps-2', timestamp: now },
					),
				],
			});
			const answer = await postEvents(steps.webhooks[0].url, body);
			expect({ status: answer.status, body: answer.json ?? answer.text }).toEqual({
				status: 202,
				body: { accepted: 2, duplicates: 0, triggered: 2 },
			});

			// The latest workflow, in the same 70 s: A's event is 60 s old (A is due in 10 s, with
			// its own zone from the event), B's is now (due in 70 s, no zone: UTC).
			eventA = iso(postedAt - EVENT_GAP_MS);
			eventB = now;
			const latestBody = JSON.stringify({
				batch: [
					trackEvent(
						'a-early',
						'Added to Cart',
						{ cart_id: 'LA' },
						{ messageId: 'e2e-latest-a', timestamp: eventA, timezone: 'Europe/Berlin' },
					),
					trackEvent(
						'b-late',
						'Added to Cart',
						{ cart_id: 'LB' },
						{ messageId: 'e2e-latest-b', timestamp: eventB },
					),
				],
			});
			const latestAnswer = await postEvents(latest.webhooks[0].url, latestBody);
			expect({ status: latestAnswer.status, body: latestAnswer.json ?? latestAnswer.text }).toEqual(
				{ status: 202, body: { accepted: 2, duplicates: 0, triggered: 2 } },
			);

			waiting = await waitForExecution(steps.id, waitingOrDone, 'waiting', 30_000);
			timings.postToWaiting = seconds(Date.now() - postedAt);
			expect({ status: waiting.status, waitTill: waiting.waitTill }).toEqual({
				status: 'waiting',
				// resumeAt = the events' timestamp + 70 s (both users are due then).
				waitTill: iso(postedAt + DELAY_SECONDS * 1000),
			});

			// The execution data so far: the Delay ran with both users, annotated both, and
			// nothing after it ran yet.
			const stepsBeforeWait = await n8n!.getExecution(waiting.id, true);
			expect(userIds(nodeOutput(stepsBeforeWait, TRIGGER))).toEqual(['u1-ana', 'u2-ben']);
			expect(stepsBeforeWait.data?.resultData.runData[EXCEPTION]).toBeUndefined();
			const stepsDelay = { resumeAt: waiting.waitTill, timeZone: 'UTC', timeZoneSource: 'utc' };
			expect(delayOf(nodeOutput(stepsBeforeWait, DELAY, 0))).toEqual([
				{ userId: 'u1-ana', delay: stepsDelay },
				{ userId: 'u2-ben', delay: stepsDelay },
			]);

			// The latest workflow waits until B's time; before the wait the Delay annotated each
			// user with their own time and zone.
			latestWaiting = await waitForExecution(latest.id, waitingOrDone, 'waiting', 30_000);
			const dueA = Date.parse(eventA) + DELAY_SECONDS * 1000;
			const dueB = Date.parse(eventB) + DELAY_SECONDS * 1000;
			expect({ status: latestWaiting.status, waitTill: latestWaiting.waitTill }).toEqual({
				status: 'waiting',
				waitTill: iso(dueB),
			});
			latestBeforeWait = await n8n!.getExecution(latestWaiting.id, true);
			expect(delayOf(nodeOutput(latestBeforeWait, DELAY, 0))).toEqual([
				{
					userId: 'a-early',
					delay: { resumeAt: iso(dueA), timeZone: 'Europe/Berlin', timeZoneSource: 'event' },
				},
				{
					userId: 'b-late',
					delay: { resumeAt: iso(dueB), timeZone: 'UTC', timeZoneSource: 'utc' },
				},
			]);
			expect(latestBeforeWait.data?.resultData.runData[AFTER_DELAY]).toBeUndefined();
		}),
	);

	it(
		'during the wait, u1 completes the order for cart A (recorded through the same trigger, triggers nothing)',
		logged(async () => {
			expect(waiting?.status).toBe('waiting');
			const body = JSON.stringify({
				batch: [
					trackEvent(
						'u1-ana',
						'Order Completed',
						{ cart_id: 'A', total: 150 },
						{ messageId: 'e2e-steps-3', timestamp: new Date().toISOString() },
					),
					// u2 completes an order for ANOTHER cart: matchProperty cart_id keeps u2 in.
					trackEvent(
						'u2-ben',
						'Order Completed',
						{ cart_id: 'Z', total: 10 },
						{ messageId: 'e2e-steps-4', timestamp: new Date().toISOString() },
					),
				],
			});
			const answer = await postEvents(steps.webhooks[0].url, body);
			expect({ status: answer.status, body: answer.json ?? answer.text }).toEqual({
				status: 202,
				body: { accepted: 2, duplicates: 0, triggered: 0 },
			});
			const [still] = await n8n!.listExecutions(steps.id);
			expect({ id: still.id, status: still.status }).toEqual({
				id: waiting!.id,
				status: 'waiting',
			});
			expect(await n8n!.listExecutions(steps.id)).toHaveLength(1);
		}),
	);

	it(
		'after the wait: u1 leaves the Exception Check on Exited (exceptionEvent), u2 passes the Frequency Cap on Allowed, both still carry `delay`; the store says u1 exited',
		logged(async () => {
			if (!waiting?.waitTill) throw new Error('The first test did not get this far');
			const summary = await waitForExecution(
				steps.id,
				done(waiting.id),
				'finished',
				FINISH_TIMEOUT_MS,
			);
			timings.postToStepsFinished = seconds(Date.now() - postedAt);
			const finished = await n8n!.getExecution(summary.id, true);
			const run = describeRun(finished);
			if (finished.status !== 'success') throw new Error(`The execution did not succeed:\n${run}`);
			// Resumed at waitTill, not before.
			const waitTill = Date.parse(waiting.waitTill);
			expect(Date.parse(finished.stoppedAt!)).toBeGreaterThanOrEqual(waitTill);
			expect(runStartTime(finished, EXCEPTION)).toBeGreaterThanOrEqual(waitTill);

			expect({
				delay: userIds(nodeOutput(finished, DELAY, 0)),
				continue: userIds(nodeOutput(finished, EXCEPTION, 0)),
				exited: userIds(nodeOutput(finished, EXCEPTION, 1)),
				allowed: userIds(nodeOutput(finished, CAP, 0)),
				capped: userIds(nodeOutput(finished, CAP, 1)),
				deferred: userIds(nodeOutput(finished, CAP, 2)),
				allowedNoOp: userIds(nodeOutput(finished, 'Allowed')),
				exitedNoOp: userIds(nodeOutput(finished, 'Exited')),
			}).toEqual({
				delay: ['u1-ana', 'u2-ben'],
				continue: ['u2-ben'],
				exited: ['u1-ana'],
				allowed: ['u2-ben'],
				capped: [],
				deferred: [],
				allowedNoOp: ['u2-ben'],
				exitedNoOp: ['u1-ana'],
			});

			// The Delay's annotation survived n8n's wait: both items leaving the Exception Check
			// (and the Frequency Cap's Allowed item) still carry it.
			const stepsDelay = { resumeAt: waiting.waitTill, timeZone: 'UTC', timeZoneSource: 'utc' };
			expect({
				continue: delayOf(nodeOutput(finished, EXCEPTION, 0)),
				exited: delayOf(nodeOutput(finished, EXCEPTION, 1)),
				allowed: delayOf(nodeOutput(finished, CAP, 0)),
			}).toEqual({
				continue: [{ userId: 'u2-ben', delay: stepsDelay }],
				exited: [{ userId: 'u1-ana', delay: stepsDelay }],
				allowed: [{ userId: 'u2-ben', delay: stepsDelay }],
			});

			const exited = nodeOutput(finished, EXCEPTION, 1)![0].json;
			expect(exited.exit).toMatchObject({
				reason: 'exceptionEvent',
				event: {
					name: 'Order Completed',
					messageId: 'e2e-steps-3',
					properties: { cart_id: 'A', total: 150 },
				},
			});
			const allowed = nodeOutput(finished, CAP, 0)![0].json;
			expect(allowed.frequencyCap).toMatchObject({
				decision: 'allowed',
				channel: 'in_app',
				state: 'reserved',
				alreadyReserved: false,
			});

			await withSqliteStore(storePath, async (store) => {
				const u1 = await store.getEntry(String(exited.entryId));
				expect(u1).toMatchObject({
					userId: 'u1-ana',
					campaignId: 'e2e-steps',
					state: 'exited',
					exitReason: expect.stringMatching(
						/^exceptionEvent: "Order Completed" with the same cart_id \(A\)/,
					),
				});
				const u2 = await store.getEntry(String(allowed.entryId));
				expect(u2).toMatchObject({ userId: 'u2-ben', state: 'active' });
				const send = await store.getSend(
					String((allowed.frequencyCap as Record<string, unknown>).idempotencyKey),
				);
				expect(send).toMatchObject({
					userId: 'u2-ben',
					campaignId: 'e2e-steps',
					state: 'reserved',
				});
			});
		}),
	);

	it(
		"one batch with users due 60 s apart: nobody leaves the Campaign Delay before the latest user's time, and each keeps its own `delay` after n8n's wait",
		logged(async () => {
			if (!latestWaiting || !latestBeforeWait)
				throw new Error('The first test did not get this far (see its failure)');
			const summary = await waitForExecution(
				latest.id,
				done(latestWaiting.id),
				'finished',
				FINISH_TIMEOUT_MS,
			);
			timings.postToLatestFinished = seconds(Date.now() - postedAt);
			const finished = await n8n!.getExecution(summary.id, true);
			const dueA = Date.parse(eventA) + DELAY_SECONDS * 1000;
			const dueB = Date.parse(eventB) + DELAY_SECONDS * 1000;

			const savedInput = waitingInput(latestBeforeWait);
			console.log(
				[
					`latest workflow, A due ${iso(dueA)}, B due ${iso(dueB)}`,
					`before n8n's wait (execution ${latestBeforeWait.id}, waitTill ${String(latestWaiting.waitTill)}):`,
					`  Delay output 0: ${JSON.stringify(delayOf(nodeOutput(latestBeforeWait, DELAY, 0)))}`,
					`  input saved for ${String(savedInput.node)}: ${JSON.stringify(delayOf(savedInput.items))}`,
					`after the wait (status ${finished.status}, stoppedAt ${String(finished.stoppedAt)}):`,
					`  Delay run started ${iso(runStartTime(finished, DELAY))}, output 0: ${JSON.stringify(delayOf(nodeOutput(finished, DELAY, 0)))}`,
					`  ${AFTER_DELAY} run started ${iso(runStartTime(finished, AFTER_DELAY))}, output: ${JSON.stringify(delayOf(nodeOutput(finished, AFTER_DELAY, 0)))}`,
					describeRun(finished),
				].join('\n'),
			);
			if (finished.status !== 'success')
				throw new Error(`The execution did not succeed:\n${describeRun(finished)}`);

			// Nobody early: both items left the Delay (its resumed run, and the NoOp after it)
			// at or after B's time, not at A's.
			expect({
				delayRunStart: runStartTime(finished, DELAY) >= dueB,
				afterDelayRunStart: runStartTime(finished, AFTER_DELAY) >= dueB,
				stoppedAt: Date.parse(finished.stoppedAt!) >= dueB,
			}).toEqual({ delayRunStart: true, afterDelayRunStart: true, stoppedAt: true });

			// Each item keeps its OWN annotation after the wait (A's time is A's, not B's).
			const expected = [
				{
					userId: 'a-early',
					delay: { resumeAt: iso(dueA), timeZone: 'Europe/Berlin', timeZoneSource: 'event' },
				},
				{
					userId: 'b-late',
					delay: { resumeAt: iso(dueB), timeZone: 'UTC', timeZoneSource: 'utc' },
				},
			];
			expect({
				delayOutput: delayOf(nodeOutput(finished, DELAY, 0)),
				afterDelay: delayOf(nodeOutput(finished, AFTER_DELAY, 0)),
			}).toEqual({ delayOutput: expected, afterDelay: expected });
		}),
	);
});
