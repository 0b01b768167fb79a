/**
 * Campaign Send Message inside a real n8n 2.41.0, sending through the Intercom channel to the
 * local Intercom imitation (test/send/support/intercom-imitation.ts) that this test process runs
 * on 127.0.0.1, which n8n reaches through the credential's Base URL Override.
 *
 * 1. Campaign Event Trigger → Send Message (Intercom in-app, contact found by external id) → NoOp
 *    on Sent and on Failed. One batch: u1 and u2 have Intercom contacts, u3 has none. The
 *    imitation must receive exactly two `POST /messages` with the rendered bodies; u3 leaves on
 *    Failed with an error naming the missing contact.
 *
 * 2. "Never twice" across a retry of the same n8n execution, through the public API
 *    `POST /api/v1/executions/{id}/retry`. What n8n 2.41 allows (read from
 *    n8n/dist/executions/execution.service.js `retry()` and n8n-core's WorkflowExecute, and
 *    checked below):
 *    - a SUCCESSFUL execution cannot be retried: 409 "The execution succeeded, so it cannot be
 *      retried." Execution 1 is successful (u3's failure is an item on the Failed output, not
 *      an error of the node), so its retry is refused and nothing is sent;
 *    - a retry resumes at the node that FAILED (n8n-core pushes the failed node back on the
 *      execution stack; `retry()` drops that node's error run): only an error of the Send Message
 *      node itself makes a retry run Send Message again.
 *    So a second workflow makes Send Message fail mid-batch: "Fail on Missing Variables" is on and
 *    u5's event has no cart_id. u4 is sent, then the node fails on u5 (execution status error).
 *    Then, as an operator would: the template is fixed (`| default: "(none)"`, saved as a draft)
 *    and the execution retried with the saved workflow (`loadWorkflow: true`): u4 must be
 *    `alreadySent` (no second `POST /messages` to u4), u5 is sent. Retrying the same failed
 *    execution once more with its ORIGINAL workflow (still strict, still the old body) must
 *    send nothing and succeed, both users `alreadySent`: a sent key is never rendered or sent
 *    again.
 *
 * Run: `npm run test:e2e -- test/e2e/send-message.e2e.test.ts` (builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
	startIntercomImitation,
	type ImitationContact,
	type IntercomImitation,
	type RecordedRequest,
} from '../send/support/intercom-imitation';
import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8n,
	type ExecutionDetails,
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
	type WorkflowNode,
} from './n8n-harness';
import {
	defaultStorePath,
	describeRun,
	nodeOutput,
	nodeRunError,
	postEvents,
	publicApiAnswer,
	seconds,
	trackEvent,
	withLogTail,
	withSqliteStore,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const TRIGGER = 'Campaign Event Trigger';
const SEND = 'Send Message';
const SENT = 'Sent';
const FAILED = 'Failed';
const TOKEN = 'e2e-intercom-token-5c1a9f';
const BODY = 'Hi {{ user.id }}, cart {{ event.properties.cart_id }} is waiting';
const FIXED_BODY =
	'Hi {{ user.id }}, cart {{ event.properties.cart_id | default: "(none)" }} is waiting';
/**
 * The imitation numbers the messages it creates 403918397, 403918398, ... in the order it
 * receives them (its `messageSeq`), and answers each `POST /messages` with that id.
 */
const FIRST_MESSAGE_ID = 403_918_397;
const messageIdOf = (nth: number) => String(FIRST_MESSAGE_ID + nth);

interface SendWorkflowSpec {
	id: string;
	name: string;
	campaignId: string;
	webhookId: string;
	sendNodeId: string;
	credential: { id: string; name: string };
	body: string;
	options?: Record<string, unknown>;
}

const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

/** Trigger → Send Message (Intercom in-app, by external id) → NoOp on Sent and on Failed. */
function sendWorkflow(spec: SendWorkflowSpec): WorkflowJson {
	const nodes: WorkflowNode[] = [
		{
			id: `${spec.sendNodeId.slice(0, -2)}01`,
			name: TRIGGER,
			type: `${PKG}.campaignEventTrigger`,
			typeVersion: 1,
			position: [0, 0],
			webhookId: spec.webhookId,
			parameters: {
				campaignId: spec.campaignId,
				eventNames: 'Added to Cart',
				reEntry: 'everyTime',
				authentication: 'none',
				options: {},
			},
		},
		{
			id: spec.sendNodeId,
			name: SEND,
			type: `${PKG}.sendMessage`,
			typeVersion: 1,
			position: [260, 0],
			parameters: {
				channel: 'intercom',
				intercomMessageType: 'inapp',
				intercomLookup: 'externalId',
				body: spec.body,
				options: spec.options ?? {},
			},
			credentials: { campaignIntercomApi: spec.credential },
		},
		{
			id: `${spec.sendNodeId.slice(0, -2)}03`,
			name: SENT,
			type: 'n8n-nodes-base.noOp',
			typeVersion: 1,
			position: [520, -120],
			parameters: {},
		},
		{
			id: `${spec.sendNodeId.slice(0, -2)}04`,
			name: FAILED,
			type: 'n8n-nodes-base.noOp',
			typeVersion: 1,
			position: [520, 120],
			parameters: {},
		},
	];
	return {
		id: spec.id,
		name: spec.name,
		nodes,
		connections: {
			[TRIGGER]: { main: [to(SEND)] },
			[SEND]: { main: [to(SENT), to(FAILED), []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

type Item = { json: Record<string, unknown> };
type MessageBody = {
	message_type?: string;
	body?: string;
	from?: { type?: string; id?: string };
	to?: { type?: string; id?: string };
};

const userIds = (items: Item[] | undefined) => items?.map((item) => item.json.userId);
const sendOf = (item: Item) => item.json.send as Record<string, unknown>;
const describeRequest = (r: RecordedRequest) =>
	`${r.method} ${r.path} ${JSON.stringify(r.body)} (authorization ${r.headers.authorization === `Bearer ${TOKEN}` ? 'ok' : String(r.headers.authorization)}, intercom-version ${String(r.headers['intercom-version'])})`;

const timings: Record<string, string> = {};
const evidence: string[] = [];

describe('Campaign Send Message through Intercom (a local imitation) inside a real n8n 2.41.0', () => {
	let tmp: string;
	let storePath: string;
	let n8n: N8nInstance | undefined;
	let imitation: IntercomImitation | undefined;
	let adminId: string;
	let credential: { id: string; name: string };
	let main: PublishedWorkflow;
	let retry: PublishedWorkflow;
	const contacts: Record<string, ImitationContact> = {};
	/** `POST /messages` the imitation had received before the current step. */
	let messagesBefore = 0;
	/** The main workflow's execution (filled by the first test). */
	let firstExecution: ExecutionDetails | undefined;
	/** What the imitation answered to u4's message in the retry workflow. */
	let u4MessageId: string | undefined;

	const MAIN = {
		id: 'e2eSendMessage01',
		name: 'e2e send message',
		campaignId: 'e2e-send',
		webhookId: '3c9e1a57-8b2d-4f6e-a1c3-5d7f9b0e2a01',
		sendNodeId: 'a41f6c2e-7d3b-4e5a-9c8d-1b2f3e4d5a02',
	};
	const RETRY = {
		id: 'e2eSendMessageR1',
		name: 'e2e send message, retried',
		campaignId: 'e2e-send-retry',
		webhookId: '3c9e1a57-8b2d-4f6e-a1c3-5d7f9b0e2b01',
		sendNodeId: 'b52a7d3f-8e4c-4f6b-8d9e-2c3a4f5e6b02',
	};
	const keyOf = (campaignId: string, item: Item, sendNodeId: string) =>
		`${campaignId}:${String(item.json.entryId)}:${sendNodeId}`;

	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);
	const newMessages = () => imitation!.requestsTo('POST /messages').slice(messagesBefore);

	/** Waits until the workflow has `count` finished executions; returns the newest in full. */
	async function newestExecution(workflowId: string, count: number): Promise<ExecutionDetails> {
		const executions = await n8n!.waitForExecutions(workflowId, { count, timeoutMs: 90_000 });
		expect(executions).toHaveLength(count);
		return await n8n!.getExecution(executions[0].id, true);
	}

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-send-message-'));
		let t = Date.now();
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		storePath = defaultStorePath(userFolder);
		await installPackageTarball(tgz, userFolder);
		timings.packAndInstall = seconds(Date.now() - t);

		imitation = await startIntercomImitation({ accessToken: TOKEN });
		adminId = imitation.admins[0].id;
		for (const user of ['u1', 'u2', 'u4', 'u5'])
			contacts[user] = imitation.addContact({ external_id: user, role: 'user' });

		t = Date.now();
		n8n = await startN8n({ userFolder, installation });
		timings.startN8n = `${seconds(Date.now() - t)} (spawn -> ready ${seconds(n8n.startupMs)})`;

		t = Date.now();
		credential = await n8n.api<{ id: string; name: string }>('POST', '/api/v1/credentials', {
			name: 'e2e Intercom imitation',
			type: 'campaignIntercomApi',
			data: {
				accessToken: TOKEN,
				region: 'us',
				baseUrl: imitation.baseUrl,
				apiVersion: '2.14',
				defaultAdminId: adminId,
			},
		});
		main = await n8n.importAndPublishWorkflow(
			sendWorkflow({
				...MAIN,
				credential: { id: credential.id, name: credential.name },
				body: BODY,
			}),
		);
		retry = await n8n.importAndPublishWorkflow(
			sendWorkflow({
				...RETRY,
				credential: { id: credential.id, name: credential.name },
				body: BODY,
				options: { strictVariables: true },
			}),
		);
		timings.credentialAnd2Workflows = seconds(Date.now() - t);
	});

	afterAll(async () => {
		const logPath = n8n?.logPath;
		await n8n?.stop();
		await imitation?.close();
		console.log(
			[
				'send-message e2e timings:',
				...Object.entries(timings).map(([k, v]) => `  ${k}: ${v}`),
				`  n8n log: ${logPath ?? '-'}`,
				'what happened:',
				...evidence.map((line) => `  ${line}`),
				`every request the Intercom imitation received (${imitation?.requests.length ?? 0}):`,
				...(imitation?.requests ?? []).map((r, i) => `  ${i + 1}. ${describeRequest(r)}`),
			].join('\n'),
		);
		if (tmp && !process.env.N8N_E2E_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it(
		'u1 and u2 get exactly one in-app message each, rendered per user; u3 (no Intercom contact) leaves on Failed',
		logged(async () => {
			const types = await n8n!.rest<Array<{ name: string }>>('GET', '/types/nodes.json');
			expect(types.map((type) => type.name)).toEqual(
				expect.arrayContaining([`${PKG}.sendMessage`, `${PKG}.campaignEventTrigger`]),
			);

			const now = new Date().toISOString();
			const body = JSON.stringify({
				batch: [
					trackEvent(
						'u1',
						'Added to Cart',
						{ cart_id: 'A' },
						{ messageId: 'e2e-send-1', timestamp: now },
					),
					trackEvent(
						'u2',
						'Added to Cart',
						{ cart_id: 'B' },
						{ messageId: 'e2e-send-2', timestamp: now },
					),
					trackEvent(
						'u3',
						'Added to Cart',
						{ cart_id: 'C' },
						{ messageId: 'e2e-send-3', timestamp: now },
					),
				],
			});
			const t = Date.now();
			const answer = await postEvents(main.webhooks[0].url, body);
			expect({ status: answer.status, body: answer.json ?? answer.text }).toEqual({
				status: 202,
				body: { accepted: 3, duplicates: 0, triggered: 3 },
			});
			const execution = await newestExecution(main.id, 1);
			timings.postToExecutionFinished = seconds(Date.now() - t);
			firstExecution = execution;
			const run = describeRun(execution);
			evidence.push(`main workflow, execution 1: ${run.replace(/\n\s*/g, '; ')}`);
			if (execution.status !== 'success') throw new Error(`The execution failed:\n${run}`);

			// What Intercom (the imitation) received: two messages, from the admin, to the contacts.
			const messages = imitation!.requestsTo('POST /messages');
			expect(messages.map((m) => m.body as MessageBody)).toEqual([
				{
					message_type: 'inapp',
					body: 'Hi u1, cart A is waiting',
					from: { type: 'admin', id: adminId },
					to: { type: 'user', id: contacts.u1.id },
				},
				{
					message_type: 'inapp',
					body: 'Hi u2, cart B is waiting',
					from: { type: 'admin', id: adminId },
					to: { type: 'user', id: contacts.u2.id },
				},
			]);
			for (const m of messages) {
				expect(m.headers).toMatchObject({
					authorization: `Bearer ${TOKEN}`,
					'intercom-version': '2.14',
					'content-type': expect.stringContaining('application/json'),
				});
			}
			// Contacts were searched by external id; u3's search was tried 1 + 2 times (a contact
			// created moments ago may not be searchable yet), then given up.
			expect(imitation!.requestsTo('POST /contacts/search').map((r) => r.body)).toEqual(
				['u1', 'u2', 'u3', 'u3', 'u3'].map((value) => ({
					query: { field: 'external_id', operator: '=', value },
				})),
			);
			messagesBefore = messages.length;

			// The execution: u1, u2 on Sent with the ids Intercom returned; u3 on Failed.
			const sent = nodeOutput(execution, SEND, 0);
			const failed = nodeOutput(execution, SEND, 1);
			expect({
				sent: userIds(sent),
				failed: userIds(failed),
				control: userIds(nodeOutput(execution, SEND, 2)),
				sentNoOp: userIds(nodeOutput(execution, SENT)),
				failedNoOp: userIds(nodeOutput(execution, FAILED)),
			}).toEqual({
				sent: ['u1', 'u2'],
				failed: ['u3'],
				control: [],
				sentNoOp: ['u1', 'u2'],
				failedNoOp: ['u3'],
			});
			const [u1, u2] = sent!;
			for (const [item, nth, cart] of [
				[u1, 0, 'A'],
				[u2, 1, 'B'],
			] as const) {
				expect(sendOf(item)).toEqual({
					status: 'sent',
					idempotencyKey: keyOf(MAIN.campaignId, item, MAIN.sendNodeId),
					providerMessageId: messageIdOf(nth),
					variant: 'default',
					contentHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
					// One contact search and one message.
					attempts: 2,
					rendered: {
						subject: null,
						headline: null,
						body: `Hi ${String(item.json.userId)}, cart ${cart} is waiting`,
						imageUrl: null,
					},
				});
				// The trigger's fields travel on.
				expect(item.json).toMatchObject({
					campaignId: MAIN.campaignId,
					event: { properties: { cart_id: cart } },
				});
			}
			const [u3] = failed!;
			expect(sendOf(u3)).toEqual({
				status: 'failed',
				idempotencyKey: keyOf(MAIN.campaignId, u3, MAIN.sendNodeId),
				error:
					'no Intercom contact with external_id u3; create it first or choose lookup by email or by contact id',
				httpStatus: null,
				attempts: 3,
				variant: 'default',
			});
			evidence.push(
				`main workflow: Sent ${JSON.stringify(sent!.map((i) => [i.json.userId, sendOf(i).status, sendOf(i).providerMessageId]))}; Failed ${JSON.stringify(failed!.map((i) => [i.json.userId, sendOf(i).error]))}`,
			);

			// The store n8n wrote: u1, u2 sent with Intercom's ids; u3's send failed (does not count).
			await withSqliteStore(storePath, async (store) => {
				expect(await store.getSend(keyOf(MAIN.campaignId, u1, MAIN.sendNodeId))).toMatchObject({
					userId: 'u1',
					state: 'sent',
					providerMessageId: messageIdOf(0),
					channel: 'in_app',
				});
				expect(await store.getSend(keyOf(MAIN.campaignId, u2, MAIN.sendNodeId))).toMatchObject({
					userId: 'u2',
					state: 'sent',
					providerMessageId: messageIdOf(1),
				});
				expect(await store.getSend(keyOf(MAIN.campaignId, u3, MAIN.sendNodeId))).toMatchObject({
					userId: 'u3',
					state: 'failed',
					error: expect.stringContaining('no Intercom contact with external_id u3'),
				});
			});
		}),
	);

	it(
		'n8n refuses to retry that successful execution (409), and nothing more reaches Intercom',
		logged(async () => {
			if (!firstExecution) throw new Error('The first test did not get this far');
			const answer = await publicApiAnswer(
				n8n!,
				'POST',
				`/api/v1/executions/${firstExecution.id}/retry`,
				{},
			);
			evidence.push(
				`retry of the successful execution ${firstExecution.id}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`,
			);
			expect({ status: answer.status, message: answer.json?.message }).toEqual({
				status: 409,
				message: 'The execution succeeded, so it cannot be retried.',
			});
			expect(await n8n!.listExecutions(main.id)).toHaveLength(1);
			expect(newMessages()).toEqual([]);
		}),
	);

	it(
		'a Send Message that fails mid-batch (u5: missing variable), fixed and retried: u4 is not sent again (alreadySent), u5 is sent once',
		logged(async () => {
			const now = new Date().toISOString();
			const body = JSON.stringify({
				batch: [
					trackEvent(
						'u4',
						'Added to Cart',
						{ cart_id: 'D' },
						{ messageId: 'e2e-send-r-4', timestamp: now },
					),
					// No cart_id: with "Fail on Missing Variables" the Body cannot be rendered for u5.
					trackEvent(
						'u5',
						'Added to Cart',
						{ coupon: 'X' },
						{ messageId: 'e2e-send-r-5', timestamp: now },
					),
				],
			});
			const answer = await postEvents(retry.webhooks[0].url, body);
			expect({ status: answer.status, body: answer.json ?? answer.text }).toEqual({
				status: 202,
				body: { accepted: 2, duplicates: 0, triggered: 2 },
			});
			const failedRun = await newestExecution(retry.id, 1);
			const runError = nodeRunError(failedRun, SEND);
			evidence.push(
				`retry workflow, execution ${failedRun.id}: status ${failedRun.status}, ${SEND} failed: ${String(runError?.message)} (${String(runError?.description)}); its Sent output: ${JSON.stringify(nodeOutput(failedRun, SEND, 0) ?? null)}`,
			);

			// The node failed on u5, after u4 had been sent.
			expect({
				status: failedRun.status,
				lastNode: failedRun.data?.resultData.lastNodeExecuted,
				error: JSON.stringify(runError ?? null),
			}).toEqual({
				status: 'error',
				lastNode: SEND,
				error: expect.stringContaining('undefined variable \\"event.properties.cart_id\\"'),
			});
			const u4Contact = contacts.u4.id;
			expect(newMessages().map((m) => m.body as MessageBody)).toEqual([
				{
					message_type: 'inapp',
					body: 'Hi u4, cart D is waiting',
					from: { type: 'admin', id: adminId },
					to: { type: 'user', id: u4Contact },
				},
			]);
			u4MessageId = messageIdOf(2);
			messagesBefore = imitation!.requestsTo('POST /messages').length;

			// The operator fixes the template (saved as a draft, the published version stays)
			// and retries the failed execution with the saved workflow.
			const fixed = sendWorkflow({
				...RETRY,
				credential: { id: credential.id, name: credential.name },
				body: FIXED_BODY,
				options: { strictVariables: true },
			});
			await n8n!.api('PUT', `/api/v1/workflows/${retry.id}?publishIfActive=false`, {
				name: fixed.name,
				nodes: fixed.nodes,
				connections: fixed.connections,
				settings: fixed.settings,
			});
			let t = Date.now();
			const retried = await publicApiAnswer(
				n8n!,
				'POST',
				`/api/v1/executions/${failedRun.id}/retry`,
				{
					loadWorkflow: true,
				},
			);
			timings.retryWithSavedWorkflow = seconds(Date.now() - t);
			if (retried.status !== 200)
				throw new Error(
					`The retry was refused: HTTP ${retried.status} ${retried.text.slice(0, 1000)}`,
				);
			expect(retried.json).toMatchObject({
				mode: 'retry',
				retryOf: failedRun.id,
				status: 'success',
			});
			const second = await n8n!.getExecution(String(retried.json!.id), true);
			evidence.push(
				`retry 1 (saved workflow) -> execution ${second.id}: ${describeRun(second).replace(/\n\s*/g, '; ')}`,
			);
			if (second.status !== 'success') throw new Error(`The retry failed:\n${describeRun(second)}`);

			const sent = nodeOutput(second, SEND, 0)!;
			expect({
				sent: userIds(sent),
				failed: userIds(nodeOutput(second, SEND, 1)),
				sentNoOp: userIds(nodeOutput(second, SENT)),
			}).toEqual({ sent: ['u4', 'u5'], failed: [], sentNoOp: ['u4', 'u5'] });
			const [u4, u5] = sent;
			expect(sendOf(u4)).toEqual({
				status: 'alreadySent',
				idempotencyKey: keyOf(RETRY.campaignId, u4, RETRY.sendNodeId),
				providerMessageId: u4MessageId,
				variant: 'default',
				sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			});
			expect(sendOf(u5)).toMatchObject({
				status: 'sent',
				idempotencyKey: keyOf(RETRY.campaignId, u5, RETRY.sendNodeId),
				providerMessageId: messageIdOf(3),
				rendered: { body: 'Hi u5, cart (none) is waiting' },
			});
			// Intercom got u5's message only: nothing to u4 again.
			expect(newMessages().map((m) => m.body as MessageBody)).toEqual([
				{
					message_type: 'inapp',
					body: 'Hi u5, cart (none) is waiting',
					from: { type: 'admin', id: adminId },
					to: { type: 'user', id: contacts.u5.id },
				},
			]);
			messagesBefore = imitation!.requestsTo('POST /messages').length;

			// The same failed execution retried once more, with its ORIGINAL workflow (strict, the
			// old body that cannot render u5): nothing is rendered or sent, and it now succeeds.
			t = Date.now();
			const again = await publicApiAnswer(
				n8n!,
				'POST',
				`/api/v1/executions/${failedRun.id}/retry`,
				{},
			);
			timings.retryWithOriginalWorkflow = seconds(Date.now() - t);
			if (again.status !== 200)
				throw new Error(
					`The second retry was refused: HTTP ${again.status} ${again.text.slice(0, 1000)}`,
				);
			const third = await n8n!.getExecution(String(again.json!.id), true);
			evidence.push(
				`retry 2 (original workflow) -> execution ${third.id}: ${describeRun(third).replace(/\n\s*/g, '; ')}`,
			);
			if (third.status !== 'success')
				throw new Error(`The second retry failed:\n${describeRun(third)}`);
			const thirdSent = nodeOutput(third, SEND, 0)!;
			expect(
				thirdSent.map((item) => ({
					userId: item.json.userId,
					status: sendOf(item).status,
					providerMessageId: sendOf(item).providerMessageId,
				})),
			).toEqual([
				{ userId: 'u4', status: 'alreadySent', providerMessageId: u4MessageId },
				{ userId: 'u5', status: 'alreadySent', providerMessageId: messageIdOf(3) },
			]);
			expect(newMessages()).toEqual([]);
			evidence.push(
				`retries: ${JSON.stringify([second, third].map((e) => ({ id: e.id, sent: nodeOutput(e, SEND, 0)?.map((i) => [i.json.userId, sendOf(i).status, sendOf(i).providerMessageId]) })))}`,
			);

			// In all: one message per user, ever.
			const perContact = new Map<string, number>();
			for (const m of imitation!.requestsTo('POST /messages')) {
				const id = String((m.body as MessageBody).to?.id);
				perContact.set(id, (perContact.get(id) ?? 0) + 1);
			}
			expect(Object.fromEntries(perContact)).toEqual({
				[contacts.u1.id]: 1,
				[contacts.u2.id]: 1,
				[contacts.u4.id]: 1,
				[contacts.u5.id]: 1,
			});
			await withSqliteStore(storePath, async (store) => {
				expect(await store.getSend(keyOf(RETRY.campaignId, u4, RETRY.sendNodeId))).toMatchObject({
					userId: 'u4',
					state: 'sent',
					providerMessageId: u4MessageId,
				});
				expect(await store.getSend(keyOf(RETRY.campaignId, u5, RETRY.sendNodeId))).toMatchObject({
					userId: 'u5',
					state: 'sent',
					providerMessageId: messageIdOf(3),
				});
			});
		}),
	);
});
