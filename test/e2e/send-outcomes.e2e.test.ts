/**
 * Campaign Send Message's outcomes other than "sent" inside a real n8n 2.41.0, against the
 * local Intercom imitation (test/send/support/intercom-imitation.ts) and a local recording HTTP
 * provider, each workflow Campaign Event Trigger → Send Message → a NoOp on each of its four
 * outputs (Sent, Failed, Control, Unsubscribed):
 *
 * 1. Intercom email: the contact of one user has `unsubscribed_from_emails: true`. That user
 *    leaves on the 4th output, Unsubscribed, and Intercom gets no message for them; the other
 *    user gets the email. The unsubscribed user's send key is released, not counted as sent.
 * 2. Intercom contact lookups other than the external id: by the profile's email (a user with
 *    no email leaves on Failed saying so), and a lead by the contact id on the profile
 *    (`externalIds.intercom`), messaged as `{type: lead}`.
 * 3. On Uncertain Delivery, when the provider got the message and the connection broke before
 *    its answer (the imitation and the provider read the whole request, then hang up):
 *    - Intercom in-app, Mark Failed (Never Twice), the default: Failed with deliveryUnknown,
 *      exactly one `POST /messages`, the store says failed;
 *    - Intercom in-app, Retry (At Least Once): sent by the second `POST /messages`, the same body;
 *    - HTTP provider without an Idempotency Header, the default: Failed with deliveryUnknown, one
 *      request;
 *    - HTTP provider with an Idempotency Header: retried whatever the option, with the SAME key
 *      (the send's idempotency key) on both requests, so the provider can drop the repeat.
 *
 * Run: `npm run build && npx jest --config jest.e2e.config.js --runInBand test/e2e/send-outcomes.e2e.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
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
	postEvents,
	seconds,
	startRecordingProvider,
	trackEvent,
	withLogTail,
	withSqliteStore,
	type RecordingProvider,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const TOKEN = 'e2e-send-outcomes-intercom-token';
const SEND = 'Send Message';
const OUTPUTS = ['Sent', 'Failed', 'Control', 'Unsubscribed'] as const;

type Item = { json: Record<string, unknown> };
type MessageBody = {
	message_type?: string;
	subject?: string;
	body?: string;
	template?: string;
	to?: { type?: string; id?: string };
};

function node(
	name: string,
	type: string,
	x: number,
	y: number,
	parameters: Record<string, unknown>,
	extra: Partial<WorkflowNode> = {},
): WorkflowNode {
	return {
		id: randomUUID(),
		name,
		type: type.includes('.') ? type : `${PKG}.${type}`,
		typeVersion: 1,
		position: [x, y],
		parameters,
		...extra,
	};
}
const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

/** Trigger → Send Message (these parameters) → a NoOp on each of its four outputs. */
function sendWorkflow(
	campaignId: string,
	send: Record<string, unknown>,
	credentials: Record<string, { id: string; name: string }> = {},
): WorkflowJson {
	return {
		name: `e2e send outcomes ${campaignId}`,
		nodes: [
			node(
				'Trigger',
				'campaignEventTrigger',
				0,
				0,
				{
					campaignId,
					eventNames: 'Added to Cart',
					reEntry: 'everyTime',
					authentication: 'none',
					options: {},
				},
				{ webhookId: randomUUID() },
			),
			node(SEND, 'sendMessage', 260, 0, send, { credentials }),
			...OUTPUTS.map((name, i) => node(name, 'n8n-nodes-base.noOp', 520, i * 160 - 240, {})),
		],
		connections: {
			Trigger: { main: [to(SEND)] },
			[SEND]: { main: OUTPUTS.map((name) => to(name)) },
		},
		settings: { executionOrder: 'v1' },
	};
}

const userIds = (items: Item[] | undefined) => items?.map((item) => item.json.userId);
const sendOf = (item: Item) => item.json.send as Record<string, unknown>;

const timings: Record<string, string> = {};
const evidence: string[] = [];

describe('Campaign Send Message: Unsubscribed and On Uncertain Delivery, inside a real n8n 2.41.0', () => {
	let tmp: string;
	let storePath: string;
	let n8n: N8nInstance | undefined;
	let imitation: IntercomImitation | undefined;
	let provider: RecordingProvider | undefined;
	const workflows: Record<string, PublishedWorkflow> = {};
	const contacts: Record<string, ImitationContact> = {};

	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);
	const messagesTo = (contact: ImitationContact): RecordedRequest[] =>
		imitation!
			.requestsTo('POST /messages')
			.filter((r) => (r.body as MessageBody).to?.id === contact.id);

	/** Posts one cart event per user to a workflow; returns its one execution. */
	async function run(workflow: string, users: string[]): Promise<ExecutionDetails> {
		const published = workflows[workflow];
		const now = new Date().toISOString();
		const answer = await postEvents(
			published.webhooks[0].url,
			JSON.stringify({
				batch: users.map((userId) =>
					trackEvent(
						userId,
						'Added to Cart',
						{ cart_id: `cart-${userId}` },
						{ messageId: `e2e-outcome-${userId}`, timestamp: now },
					),
				),
			}),
		);
		expect({ status: answer.status, body: answer.json }).toEqual({
			status: 202,
			body: { accepted: users.length, duplicates: 0, triggered: users.length },
		});
		const [summary] = await n8n!.waitForExecutions(published.id, { count: 1, timeoutMs: 90_000 });
		const execution = await n8n!.getExecution(summary.id, true);
		evidence.push(`${workflow}: ${describeRun(execution).replace(/\n\s*/g, '; ')}`);
		if (execution.status !== 'success')
			throw new Error(`The execution failed:\n${describeRun(execution)}`);
		return execution;
	}

	/** Each output of Send Message (user ids), and that each NoOp got its output's items. */
	function outputsOf(execution: ExecutionDetails): Record<string, unknown[]> {
		const outputs: Record<string, unknown[]> = {};
		OUTPUTS.forEach((name, index) => {
			outputs[name] = userIds(nodeOutput(execution, SEND, index)) ?? [];
			const downstream = nodeOutput(execution, name);
			expect({ name, ran: userIds(downstream) ?? [] }).toEqual({ name, ran: outputs[name] });
		});
		return outputs;
	}

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-send-outcomes-'));
		let t = Date.now();
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		storePath = defaultStorePath(userFolder);
		await installPackageTarball(tgz, userFolder);
		timings.packAndInstall = seconds(Date.now() - t);

		imitation = await startIntercomImitation({ accessToken: TOKEN });
		provider = await startRecordingProvider();
		contacts.em1 = imitation.addContact({ external_id: 'em1', email: 'em1@example.com' });
		contacts.em2 = imitation.addContact({
			external_id: 'em2',
			email: 'em2@example.com',
			unsubscribed_from_emails: true,
		});
		contacts.lost1 = imitation.addContact({ external_id: 'lost1' });
		contacts.again1 = imitation.addContact({ external_id: 'again1' });
		// Found by email only (no external id), and a lead found by its id on the profile.
		contacts.byEmail = imitation.addContact({ email: 'le1@example.com' });
		contacts.lead = imitation.addContact({ role: 'lead', name: 'A lead' });

		t = Date.now();
		n8n = await startN8n({ userFolder, installation });
		timings.startN8n = `${seconds(Date.now() - t)} (spawn -> ready ${seconds(n8n.startupMs)})`;

		t = Date.now();
		const intercom = {
			campaignIntercomApi: await n8n.createCredential(
				'e2e Intercom imitation',
				'campaignIntercomApi',
				{
					accessToken: TOKEN,
					region: 'us',
					baseUrl: imitation.baseUrl,
					apiVersion: '2.14',
					defaultAdminId: imitation.admins[0].id,
				},
			),
		};
		const inApp = {
			channel: 'intercom',
			intercomMessageType: 'inapp',
			intercomLookup: 'externalId',
		};
		const http = {
			channel: 'http',
			httpMethod: 'POST',
			httpUrl: provider.url,
			httpAuthentication: 'none',
			httpBody: '{"to": "{{ user.id }}", "text": "{{ message.body }}"}',
			body: 'Cart {{ event.properties.cart_id }} is waiting',
		};
		const specs: Record<string, WorkflowJson> = {
			email: sendWorkflow(
				'e2e-outcome-email',
				{
					channel: 'intercom',
					intercomMessageType: 'email',
					intercomTemplate: 'personal',
					intercomLookup: 'externalId',
					subject: 'Your cart {{ event.properties.cart_id }}',
					body: 'Hi {{ user.id }}, your cart is waiting',
					options: {},
				},
				intercom,
			),
			intercomFail: sendWorkflow(
				'e2e-outcome-intercom-fail',
				{ ...inApp, body: 'Hi {{ user.id }}', options: {} },
				intercom,
			),
			intercomRetry: sendWorkflow(
				'e2e-outcome-intercom-retry',
				{ ...inApp, body: 'Hi {{ user.id }}', options: { uncertainDelivery: 'retry' } },
				intercom,
			),
			emailLookup: sendWorkflow(
				'e2e-outcome-email-lookup',
				{ ...inApp, intercomLookup: 'email', body: 'Hi {{ user.id }}', options: {} },
				intercom,
			),
			leadById: sendWorkflow(
				'e2e-outcome-lead',
				{
					...inApp,
					intercomLookup: 'contactId',
					intercomRecipientType: 'lead',
					body: 'Hi lead {{ user.id }}',
					options: {},
				},
				intercom,
			),
			httpFail: sendWorkflow('e2e-outcome-http-fail', { ...http, options: {} }),
			httpKeyed: sendWorkflow('e2e-outcome-http-keyed', {
				...http,
				httpIdempotencyHeader: 'Idempotency-Key',
				options: {},
			}),
		};
		for (const [name, spec] of Object.entries(specs))
			workflows[name] = await n8n.importAndPublishWorkflow(spec, { via: 'api' });
		timings.credentialAnd7Workflows = seconds(Date.now() - t);
	});

	afterAll(async () => {
		const logPath = n8n?.logPath;
		await n8n?.stop();
		await imitation?.close();
		await provider?.close();
		endE2eFile('send-outcomes', {
			timings,
			logPath,
			evidence,
			extra: [
				`POST /messages the Intercom imitation received: ${JSON.stringify(imitation?.requestsTo('POST /messages').map((r) => r.body))}`,
				`requests the HTTP provider received: ${JSON.stringify(provider?.requests.map((r) => [r.idempotencyKey ?? null, r.body, r.answered]))}`,
			],
			tmp,
		});
	});

	it(
		'an Intercom email to a contact unsubscribed from emails leaves on Unsubscribed (4th output) and nothing is sent to them',
		logged(async () => {
			const execution = await run('email', ['em1', 'em2']);
			expect(outputsOf(execution)).toEqual({
				Sent: ['em1'],
				Failed: [],
				Control: [],
				Unsubscribed: ['em2'],
			});
			expect(messagesTo(contacts.em2)).toEqual([]);
			expect(messagesTo(contacts.em1).map((r) => r.body as MessageBody)).toEqual([
				expect.objectContaining({
					message_type: 'email',
					subject: 'Your cart cart-em1',
					body: 'Hi em1, your cart is waiting',
					template: 'personal',
					to: { type: 'user', id: contacts.em1.id },
				}),
			]);
			const [em2] = nodeOutput(execution, SEND, 3)!;
			expect(sendOf(em2)).toEqual({
				status: 'unsubscribed',
				idempotencyKey: expect.stringMatching(/^e2e-outcome-email:/),
				reason: `not sent: the Intercom contact ${contacts.em2.id} of user em2 is unsubscribed from emails (unsubscribed_from_emails)`,
				attempts: expect.any(Number),
				variant: 'default',
			});
			const [em1] = nodeOutput(execution, SEND, 0)!;
			await withSqliteStore(storePath, async (store) => {
				expect((await store.getSend(String(sendOf(em1).idempotencyKey)))?.state).toBe('sent');
				// Released: it does not count toward frequency caps.
				expect((await store.getSend(String(sendOf(em2).idempotencyKey)))?.state).not.toBe('sent');
			});
		}),
	);

	it(
		"Intercom contacts found by the profile's email, and a lead by the contact id on the profile; a user without an email leaves on Failed",
		logged(async () => {
			// What an Upsert Profile (Campaign Store) step wrote earlier.
			await withSqliteStore(storePath, async (store) => {
				await store.upsertProfiles(
					[
						{ userId: 'le1', email: 'le1@example.com' },
						{ userId: 'ld1', externalIds: { intercom: contacts.lead.id } },
					],
					Date.now(),
				);
			});
			const searchesBefore = imitation!.requestsTo('POST /contacts/search').length;
			const byEmail = await run('emailLookup', ['le1', 'le2']);
			expect(outputsOf(byEmail)).toEqual({
				Sent: ['le1'],
				Failed: ['le2'],
				Control: [],
				Unsubscribed: [],
			});
			expect(
				imitation!
					.requestsTo('POST /contacts/search')
					.slice(searchesBefore)
					.map((r) => r.body),
			).toEqual([{ query: { field: 'email', operator: '=', value: 'le1@example.com' } }]);
			expect(messagesTo(contacts.byEmail).map((r) => r.body)).toEqual([
				expect.objectContaining({
					message_type: 'inapp',
					body: 'Hi le1',
					to: { type: 'user', id: contacts.byEmail.id },
				}),
			]);
			const [le2] = nodeOutput(byEmail, SEND, 1)!;
			expect(sendOf(le2)).toMatchObject({
				status: 'failed',
				deliveryUnknown: false,
				error: expect.stringContaining('user le2 has no email to find the Intercom contact by'),
			});

			const lead = await run('leadById', ['ld1']);
			expect(outputsOf(lead)).toEqual({ Sent: ['ld1'], Failed: [], Control: [], Unsubscribed: [] });
			expect(messagesTo(contacts.lead).map((r) => r.body)).toEqual([
				expect.objectContaining({
					body: 'Hi lead ld1',
					to: { type: 'lead', id: contacts.lead.id },
				}),
			]);
		}),
	);

	it(
		'Intercom, Mark Failed (the default): the answer to POST /messages is lost, the user leaves on Failed with deliveryUnknown after ONE request',
		logged(async () => {
			imitation!.script('POST /messages', { status: 0, drop: true });
			const execution = await run('intercomFail', ['lost1']);
			expect(outputsOf(execution)).toEqual({
				Sent: [],
				Failed: ['lost1'],
				Control: [],
				Unsubscribed: [],
			});
			const [lost1] = nodeOutput(execution, SEND, 1)!;
			expect(sendOf(lost1)).toMatchObject({
				status: 'failed',
				deliveryUnknown: true,
				httpStatus: null,
				error: expect.stringContaining('Sending the Intercom message'),
			});
			expect(messagesTo(contacts.lost1)).toHaveLength(1);
			await withSqliteStore(storePath, async (store) => {
				expect(await store.getSend(String(sendOf(lost1).idempotencyKey))).toMatchObject({
					userId: 'lost1',
					state: 'failed',
				});
			});
		}),
	);

	it(
		'Intercom, Retry (At Least Once): the lost answer is followed by a second identical POST /messages, and the user is Sent',
		logged(async () => {
			imitation!.script('POST /messages', { status: 0, drop: true });
			const execution = await run('intercomRetry', ['again1']);
			expect(outputsOf(execution)).toEqual({
				Sent: ['again1'],
				Failed: [],
				Control: [],
				Unsubscribed: [],
			});
			const requests = messagesTo(contacts.again1);
			expect(requests).toHaveLength(2);
			expect(requests[1].body).toEqual(requests[0].body);
			expect(requests[0].body).toMatchObject({ message_type: 'inapp', body: 'Hi again1' });
			const [again1] = nodeOutput(execution, SEND, 0)!;
			expect(sendOf(again1)).toMatchObject({
				status: 'sent',
				providerMessageId: expect.stringMatching(/^\d+$/),
			});
			expect(Number(sendOf(again1).attempts)).toBeGreaterThanOrEqual(3);
		}),
	);

	it(
		'HTTP provider without an Idempotency Header, Mark Failed: the lost answer leaves the user on Failed with deliveryUnknown after ONE request',
		logged(async () => {
			const before = provider!.requests.length;
			provider!.dropNext = 1;
			const execution = await run('httpFail', ['hf1']);
			expect(outputsOf(execution)).toEqual({
				Sent: [],
				Failed: ['hf1'],
				Control: [],
				Unsubscribed: [],
			});
			const [hf1] = nodeOutput(execution, SEND, 1)!;
			expect(sendOf(hf1)).toMatchObject({ status: 'failed', deliveryUnknown: true });
			const requests = provider!.requests.slice(before);
			expect(requests.map((r) => [r.body, r.answered])).toEqual([
				[{ to: 'hf1', text: 'Cart cart-hf1 is waiting' }, false],
			]);
		}),
	);

	it(
		'HTTP provider with an Idempotency Header: the lost answer is retried with the SAME idempotency key, and the user is Sent',
		logged(async () => {
			const before = provider!.requests.length;
			provider!.dropNext = 1;
			const execution = await run('httpKeyed', ['hk1']);
			expect(outputsOf(execution)).toEqual({
				Sent: ['hk1'],
				Failed: [],
				Control: [],
				Unsubscribed: [],
			});
			const [hk1] = nodeOutput(execution, SEND, 0)!;
			const key = String(sendOf(hk1).idempotencyKey);
			expect(key).toMatch(/^e2e-outcome-http-keyed:/);
			const requests = provider!.requests.slice(before);
			expect(requests.map((r) => [r.idempotencyKey, r.body, r.answered])).toEqual([
				[key, { to: 'hk1', text: 'Cart cart-hk1 is waiting' }, false],
				[key, { to: 'hk1', text: 'Cart cart-hk1 is waiting' }, true],
			]);
			expect(sendOf(hk1)).toMatchObject({
				status: 'sent',
				providerMessageId: `msg-${provider!.requests.length}`,
			});
		}),
	);
});
