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
	endE2eFile,
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
		endE2eFile('send-message', {
			timings,
			logPath,
			evidence,
			extra: [
				`every request the Intercom imitation received (${imitation?.requests.length ?? 0}):`,
				...(imitation?.requests ?? []).map((r, i) => `  ${i + 1}. ${describeRequest(r)}`),
			],
			tmp,
		});
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
				deliveryUnknown: false,
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
		'a Body Template that cannot render for one user (u5: missing variable) fails that user alone: u4 is sent, u5 leaves on Failed naming the field, nothing reaches Intercom for u5',
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
			const run = await newestExecution(retry.id, 1);
			evidence.push(
				`template-error workflow, execution ${run.id}: ${describeRun(run).replace(/\n\s*/g, '; ')}`,
			);

			// The execution succeeds: the template error is u5's outcome, not the node's.
			expect({ status: run.status, nodeError: nodeRunError(run, SEND) ?? null }).toEqual({
				status: 'success',
				nodeError: null,
			});
			expect({
				sent: userIds(nodeOutput(run, SEND, 0)),
				failed: userIds(nodeOutput(run, SEND, 1)),
				failedNoOp: userIds(nodeOutput(run, FAILED)),
			}).toEqual({ sent: ['u4'], failed: ['u5'], failedNoOp: ['u5'] });
			const [u4] = nodeOutput(run, SEND, 0)!;
			const [u5] = nodeOutput(run, SEND, 1)!;
			expect(sendOf(u5)).toMatchObject({
				status: 'failed',
				attempts: 0,
				idempotencyKey: keyOf(RETRY.campaignId, u5, RETRY.sendNodeId),
				error: expect.stringContaining('undefined variable "event.properties.cart_id"'),
			});
			expect(String(sendOf(u5).field ?? '')).not.toBe('');
			expect(newMessages().map((m) => m.body as MessageBody)).toEqual([
				{
					message_type: 'inapp',
					body: 'Hi u4, cart D is waiting',
					from: { type: 'admin', id: adminId },
					to: { type: 'user', id: contacts.u4.id },
				},
			]);

			// In all: one message per user, ever; none to u5.
			const perContact = new Map<string, number>();
			for (const m of imitation!.requestsTo('POST /messages')) {
				const id = String((m.body as MessageBody).to?.id);
				perContact.set(id, (perContact.get(id) ?? 0) + 1);
			}
			expect(Object.fromEntries(perContact)).toEqual({
				[contacts.u1.id]: 1,
				[contacts.u2.id]: 1,
				[contacts.u4.id]: 1,
			});
			await withSqliteStore(storePath, async (store) => {
				expect(await store.getSend(keyOf(RETRY.campaignId, u4, RETRY.sendNodeId))).toMatchObject({
					userId: 'u4',
					state: 'sent',
					providerMessageId: messageIdOf(2),
				});
				// u5's key was given back: it does not count toward caps and a fixed run may send it.
				expect(
					(await store.getSend(keyOf(RETRY.campaignId, u5, RETRY.sendNodeId)))?.state,
				).not.toBe('sent');
			});
		}),
	);
});
