/**
 * The abandoned-cart chain inside a real n8n 2.41.0 with a PostgreSQL Campaign Store credential
 * on EVERY node, as queue mode needs it: Campaign Event Trigger → Campaign Delay (2 s after the
 * event) → Exception Check ("Order Completed" with the same cart_id) → Frequency Cap → Send
 * Message (HTTP channel, Header Auth credential, to a provider imitation this test runs on
 * 127.0.0.1), with a NoOp on every other output.
 *
 * One batch: u1 and u3 abandon carts, u2 abandons one and completes the order a second later.
 * The events, entries and sends must be in PostgreSQL (the credential's schema), the exception
 * check must see the order the trigger recorded (the same store), and no SQLite file may exist
 * in n8n's user folder: nothing fell back to the embedded default.
 *
 * A second workflow's trigger names a database that does not exist: every request is answered
 * 500 with what to fix (a configuration error), not 503 (which senders retry for ever).
 *
 * Run: `npm run test:e2e -- test/e2e/postgres-store.e2e.test.ts` (builds first).
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
	startN8n,
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
	type WorkflowNode,
} from './n8n-harness';
import {
	describeRun,
	nodeOutput,
	postEvents,
	startRecordingProvider,
	type RecordingProvider,
	trackEvent,
	withLogTail,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const CAMPAIGN_ID = 'e2e-pg-cart';
const PROVIDER_KEY = 'Bearer e2e-provider-key-81f2';

const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

function chainWorkflow(
	store: { id: string; name: string },
	provider: { id: string; name: string },
	providerUrl: string,
): WorkflowJson {
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
		id: 'e2ePgStoreChain1',
		name: 'e2e abandoned cart on PostgreSQL',
		nodes: [
			node(
				'Trigger',
				'campaignEventTrigger',
				0,
				{ campaignId: CAMPAIGN_ID, eventNames: 'Added to Cart', reEntry: 'everyTime', options: {} },
				{ webhookId: '0c4d8f2e-6a1b-4c3d-9e5f-7a8b9c0d1e01', credentials },
			),
			node(
				'Delay',
				'campaignDelay',
				220,
				{ mode: 'afterEvent', amount: 2, unit: 'seconds' },
				{
					credentials,
				},
			),
			node(
				'Exception Check',
				'exceptionCheck',
				440,
				{ exceptionEvents: 'Order Completed', matchProperty: 'cart_id' },
				{ credentials },
			),
			noOp('Exited', 660),
			node(
				'Frequency Cap',
				'frequencyCap',
				660,
				{
					channel: 'sms',
					quietHours: false,
					rules: {
						rule: [
							{
								maxMessages: 3,
								window: 'rolling',
								amount: 7,
								unit: 'days',
								scope: 'all',
								channelScope: 'any',
							},
						],
					},
				},
				{ credentials },
			),
			noOp('Capped', 880),
			noOp('Deferred', 880),
			node(
				'Send Message',
				'sendMessage',
				880,
				{
					channel: 'http',
					httpMethod: 'POST',
					httpUrl: providerUrl,
					httpBody: '{"to": "{{ user.id }}", "text": "{{ message.body }}"}',
					httpIdempotencyHeader: 'Idempotency-Key',
					body: 'Cart {{ event.properties.cart_id }} is waiting',
					options: {},
				},
				{ credentials: { ...credentials, campaignHttpAuthApi: provider } },
			),
			noOp('Sent', 1100),
			noOp('Failed', 1100),
		],
		connections: {
			Trigger: { main: [to('Delay')] },
			Delay: { main: [to('Exception Check')] },
			'Exception Check': { main: [to('Frequency Cap'), to('Exited')] },
			'Frequency Cap': { main: [to('Send Message'), to('Capped'), to('Deferred')] },
			'Send Message': { main: [to('Sent'), to('Failed')] },
		},
		settings: { executionOrder: 'v1' },
	};
}

function misconfiguredWorkflow(store: { id: string; name: string }): WorkflowJson {
	return {
		id: 'e2ePgStoreWrong1',
		name: 'e2e trigger with a store that cannot work',
		nodes: [
			{
				id: randomUUID(),
				name: 'Trigger',
				type: `${PKG}.campaignEventTrigger`,
				typeVersion: 1,
				position: [0, 0],
				webhookId: '0c4d8f2e-6a1b-4c3d-9e5f-7a8b9c0d1e02',
				parameters: { campaignId: 'e2e-pg-wrong', options: {} },
				credentials: { campaignStoreApi: store },
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
	};
}

/** Every file below `folder` whose name says SQLite (the store file, its WAL and SHM). */
function sqliteFilesUnder(folder: string): string[] {
	const found: string[] = [];
	const walk = (dir: string) => {
		for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
			const full = path.join(dir, entry.name);
			if (entry.isDirectory()) {
				if (entry.name !== 'node_modules') walk(full);
			} else if (/\.sqlite(-wal|-shm)?$/.test(entry.name)) found.push(full);
		}
	};
	walk(folder);
	return found;
}

describe('the abandoned-cart chain on a PostgreSQL Campaign Store credential, every node, in a real n8n 2.41.0', () => {
	const schema = `tc_e2e_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
	const admin = new Pool({ ...testConnection, max: 2 });
	let tmp: string;
	let userFolder: string;
	let n8n: N8nInstance | undefined;
	let provider: RecordingProvider;
	let chain: PublishedWorkflow;
	let misconfigured: PublishedWorkflow;
	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-pg-store-'));
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		userFolder = path.join(tmp, 'user');
		await installPackageTarball(tgz, userFolder);
		provider = await startRecordingProvider();
		n8n = await startN8n({ userFolder, installation });

		const credential = n8n.createCredential.bind(n8n);
		const postgres = postgresStoreCredentialData(schema);
		const store = await credential('e2e PostgreSQL store', 'campaignStoreApi', postgres);
		const wrongStore = await credential('e2e store without a database', 'campaignStoreApi', {
			...postgres,
			database: 'tc_e2e_no_such_database',
		});
		const providerAuth = await credential('e2e provider key', 'campaignHttpAuthApi', {
			headerName: 'Authorization',
			secretValue: PROVIDER_KEY,
		});
		chain = await n8n.importAndPublishWorkflow(chainWorkflow(store, providerAuth, provider.url));
		misconfigured = await n8n.importAndPublishWorkflow(misconfiguredWorkflow(wrongStore));
	});

	afterAll(async () => {
		await n8n?.stop();
		await provider?.close();
		await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
		await admin.end();
		if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it(
		'records, enters, checks, caps and sends through PostgreSQL only',
		logged(async () => {
			const now = Date.now();
			const at = (offsetMs: number) => new Date(now + offsetMs).toISOString();
			const cart = (userId: string, cartId: string) =>
				trackEvent(
					userId,
					'Added to Cart',
					{ cart_id: cartId, cart_value: 150 },
					{
						messageId: `pg-cart-${cartId}`,
						timestamp: at(-1000),
						timezone: 'Europe/Berlin',
					},
				);
			const answer = await postEvents(
				chain.webhooks[0].url,
				JSON.stringify({
					batch: [
						cart('u1', 'c1'),
						cart('u2', 'c2'),
						trackEvent(
							'u2',
							'Order Completed',
							{ cart_id: 'c2' },
							{
								messageId: 'pg-order-c2',
								timestamp: at(0),
							},
						),
						cart('u3', 'c3'),
					],
				}),
			);
			expect(answer).toMatchObject({
				status: 202,
				json: { accepted: 4, duplicates: 0, triggered: 3 },
			});

			const [summary] = await n8n!.waitForExecutions(chain.id, { count: 1, timeoutMs: 90_000 });
			const execution = await n8n!.getExecution(summary.id, true);
			const users = (node: string, output = 0) =>
				(nodeOutput(execution, node, output) ?? []).map((item) => item.json.userId).sort();
			expect({ status: execution.status, run: describeRun(execution) }).toMatchObject({
				status: 'success',
			});
			expect(users('Exited')).toEqual(['u2']);
			expect(users('Sent')).toEqual(['u1', 'u3']);
			expect(provider.requests.map((r) => [r.body.to, r.authorization]).sort()).toEqual([
				['u1', PROVIDER_KEY],
				['u3', PROVIDER_KEY],
			]);

			const rows = async (sql: string) =>
				(await admin.query(sql)).rows as Array<Record<string, unknown>>;
			expect(
				await rows(`SELECT user_id, name FROM "${schema}".events ORDER BY message_id`),
			).toEqual([
				{ user_id: 'u1', name: 'Added to Cart' },
				{ user_id: 'u2', name: 'Added to Cart' },
				{ user_id: 'u3', name: 'Added to Cart' },
				{ user_id: 'u2', name: 'Order Completed' },
			]);
			expect(
				await rows(
					`SELECT user_id, state, exit_reason FROM "${schema}".campaign_entries WHERE campaign_id = '${CAMPAIGN_ID}' ORDER BY user_id`,
				),
			).toEqual([
				{ user_id: 'u1', state: 'active', exit_reason: null },
				{ user_id: 'u2', state: 'exited', exit_reason: expect.stringMatching(/Order Completed/) },
				{ user_id: 'u3', state: 'active', exit_reason: null },
			]);
			const sends = await rows(
				`SELECT user_id, state, channel, provider_message_id FROM "${schema}".sends ORDER BY user_id`,
			);
			expect(sends.map(({ user_id, state, channel }) => ({ user_id, state, channel }))).toEqual([
				{ user_id: 'u1', state: 'sent', channel: 'sms' },
				{ user_id: 'u3', state: 'sent', channel: 'sms' },
			]);
			expect(sends.map((s) => s.provider_message_id).sort()).toEqual(['msg-1', 'msg-2']);

			// Nothing went to the embedded default store, in any process of this n8n.
			expect(sqliteFilesUnder(userFolder)).toEqual([]);
		}),
	);

	it(
		'answers 500 with what to fix when the store credential names a database that does not exist',
		logged(async () => {
			const answer = await postEvents(
				misconfigured.webhooks[0].url,
				JSON.stringify(trackEvent('u9', 'Added to Cart', {}, { messageId: 'pg-wrong-1' })),
			);
			expect(answer.status).toBe(500);
			expect(String(answer.json?.error)).toMatch(
				/^The campaign store is not set up correctly; nothing was recorded\. Cannot connect to PostgreSQL at .*\/tc_e2e_no_such_database: .*does not exist.*Check host, port, database, user and password in the Campaign Store credential\.$/,
			);
			expect(await n8n!.listExecutions(misconfigured.id)).toEqual([]);
			expect(sqliteFilesUnder(userFolder)).toEqual([]);
		}),
	);
});
