/**
 * The foundation proof: this package, packed by `npm pack` and installed into a real n8n 2.41.0
 * the way an admin does it by hand, receives signed behavioural events on the Campaign Event
 * Trigger's production webhook, answers them itself, records them in the default SQLite campaign
 * store and starts one execution per request with the users who entered the campaign.
 *
 * Run: `npm run test:e2e -- test/e2e/campaign-trigger.e2e.test.ts` (builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
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
	type InstalledPackage,
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
} from './n8n-harness';
import {
	defaultStorePath,
	describeRun,
	hmacHex,
	nodeOutput,
	postEvents,
	seconds,
	trackEvent,
	withLogTail,
	withSqliteStore,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const TRIGGER_TYPE = `${PKG}.campaignEventTrigger`;
const TRIGGER = 'Campaign Event Trigger';
const WORKFLOW_ID = 'e2eCampaignCart1';
const WEBHOOK_ID = '5f0c2b8e-3d1a-4c6e-9b7f-2a4d6e8f0c11';
const CAMPAIGN_ID = 'e2e-cart';
const SECRET = 'e2e-hmac-secret-7d3f9a';
const SIGNATURE_HEADER = 'X-Signature';

function cartWorkflow(credential: { id: string; name: string }): WorkflowJson {
	return {
		id: WORKFLOW_ID,
		name: 'e2e abandoned cart trigger',
		nodes: [
			{
				id: '9a7c1e52-0b3d-4f6a-8c2e-1d5f7a9b3c01',
				name: TRIGGER,
				type: TRIGGER_TYPE,
				typeVersion: 1,
				position: [0, 0],
				webhookId: WEBHOOK_ID,
				parameters: {
					campaignId: CAMPAIGN_ID,
					eventNames: 'Added to Cart',
					propertyFilters: {
						filter: [{ property: 'cart_value', operator: 'greaterThan', value: '100' }],
					},
					reEntry: 'everyTime',
					authentication: 'hmacSha256',
					options: {},
				},
				credentials: { campaignWebhookHmacApi: credential },
			},
			{
				id: '9a7c1e52-0b3d-4f6a-8c2e-1d5f7a9b3c02',
				name: 'NoOp',
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [260, 0],
				parameters: {},
			},
		],
		connections: { [TRIGGER]: { main: [[{ node: 'NoOp', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

const timings: Record<string, string> = {};

describe('Campaign Event Trigger in a real n8n 2.41.0 (packed, installed like an admin)', () => {
	let tmp: string;
	let tgz: string;
	let tarEntries: string[] = [];
	let installed: InstalledPackage;
	let userFolder: string;
	let storePath: string;
	let n8n: N8nInstance | undefined;
	let workflow: PublishedWorkflow;
	let url: string;
	let credentialVia = '';
	/** Executions of the workflow seen so far (asserted count after each step). */
	let executionCount = 0;

	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn);
	const t0 = new Date(Date.now() - 60_000);
	const at = (offsetSeconds: number) => new Date(t0.getTime() + offsetSeconds * 1000).toISOString();
	const signed = (body: string) => ({ [SIGNATURE_HEADER]: hmacHex(SECRET, body) });
	/** (a): three Added to Cart events; ana (150) and chen (300.5) pass cart_value > 100, ben (40) does not. */
	const batchA = JSON.stringify({
		batch: [
			trackEvent(
				'ana',
				'Added to Cart',
				{ cart_id: 'A1', cart_value: 150 },
				{ messageId: 'e2e-a-1', timestamp: at(1), timezone: 'Europe/Berlin' },
			),
			trackEvent(
				'ben',
				'Added to Cart',
				{ cart_id: 'B1', cart_value: 40 },
				{ messageId: 'e2e-a-2', timestamp: at(2) },
			),
			trackEvent(
				'chen',
				'Added to Cart',
				{ cart_id: 'C1', cart_value: 300.5 },
				{ messageId: 'e2e-a-3', timestamp: at(3) },
			),
		],
	});

	/** Waits until the workflow has `count` finished executions; returns the newest in full. */
	async function expectExecutions(count: number): Promise<ExecutionDetails> {
		const executions = await n8n!.waitForExecutions(workflow.id, { count, timeoutMs: 60_000 });
		expect(executions.map((e) => `${e.id}:${e.status}`)).toHaveLength(count);
		const newest = await n8n!.getExecution(executions[0].id, true);
		if (newest.status !== 'success') throw new Error(`Execution failed: ${describeRun(newest)}`);
		return newest;
	}

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-campaign-trigger-'));

		let t = Date.now();
		tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		timings.pack = seconds(Date.now() - t);
		const listing = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' });
		if (listing.status !== 0) throw new Error(`tar -tzf ${tgz} failed: ${listing.stderr}`);
		tarEntries = listing.stdout.split('\n').filter(Boolean);

		userFolder = path.join(tmp, 'user');
		storePath = defaultStorePath(userFolder);
		t = Date.now();
		installed = await installPackageTarball(tgz, userFolder);
		timings.installTarball = seconds(Date.now() - t);

		t = Date.now();
		n8n = await startN8n({ userFolder, installation });
		timings.startN8n = `${seconds(Date.now() - t)} (spawn -> ready ${seconds(n8n.startupMs)}, API key ${seconds(n8n.apiKeyMs)})`;

		// The HMAC credential, through n8n's public API (validated against the credential's properties).
		t = Date.now();
		const credential = await n8n.api<{ id: string; name: string }>('POST', '/api/v1/credentials', {
			name: 'e2e webhook HMAC',
			type: 'campaignWebhookHmacApi',
			data: { secret: SECRET, headerName: SIGNATURE_HEADER },
		});
		credentialVia = 'POST /api/v1/credentials';
		timings.createCredential = seconds(Date.now() - t);

		t = Date.now();
		workflow = await n8n.importAndPublishWorkflow(
			cartWorkflow({ id: credential.id, name: credential.name }),
			{ via: 'cli' },
		);
		timings.importAndPublish = seconds(Date.now() - t);
		url = workflow.webhooks[0]?.url ?? '';
	});

	afterAll(async () => {
		const logPath = n8n?.logPath;
		await n8n?.stop();
		console.log(
			`campaign-trigger e2e timings:\n${Object.entries(timings)
				.map(([k, v]) => `  ${k}: ${v}`)
				.join(
					'\n',
				)}\n  credential created via: ${credentialVia || '-'}\n  tarball: ${tgz ?? '-'}\n  n8n log: ${logPath ?? '-'}`,
		);
		if (tmp && !process.env.N8N_E2E_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it('the npm pack tarball holds the built nodes, credentials, codex files, icons, README and LICENSE, and no tests', () => {
		const entries = new Set(tarEntries);
		const manifest = JSON.parse(
			fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8'),
		) as { n8n: { nodes: string[]; credentials: string[] } };
		const required = [
			'package/package.json',
			'package/README.md',
			'package/LICENSE',
			'package/dist/index.js',
			'package/dist/nodes/CampaignEventTrigger/CampaignEventTrigger.node.js',
			'package/dist/nodes/CampaignEventTrigger/CampaignEventTrigger.node.json',
			'package/dist/nodes/CampaignEventTrigger/campaignEventTrigger.svg',
			'package/dist/nodes/CampaignEventTrigger/campaignEventTrigger.dark.svg',
			'package/dist/credentials/campaignStore.svg',
			...manifest.n8n.nodes.map((file) => `package/${file}`),
			...manifest.n8n.nodes.map((file) => `package/${file.replace(/\.js$/, '.json')}`),
			...manifest.n8n.credentials.map((file) => `package/${file}`),
		];
		expect(required.filter((file) => !entries.has(file))).toEqual([]);
		// Every node folder ships a light and a dark icon.
		for (const node of manifest.n8n.nodes) {
			const dir = `package/${path.posix.dirname(node)}/`;
			const icons = tarEntries.filter((e) => e.startsWith(dir) && e.endsWith('.svg'));
			expect({ node, icons: icons.length >= 2 }).toEqual({ node, icons: true });
		}
		const forbidden = tarEntries.filter(
			(entry) =>
				/^package\/(test|bench|demo|src|nodes|credentials|coverage|\.ci)\//.test(entry) ||
				/\.(test|spec)\.[cm]?[jt]s$/.test(entry) ||
				/(^|\/)(test|tests|__tests__|e2e|bench|demo)\//.test(entry.replace(/^package\//, '')) ||
				/\.map$/.test(entry) ||
				(/\.ts$/.test(entry) && !/\.d\.ts$/.test(entry)) ||
				/\.(tgz|sqlite|sqlite-wal|sqlite-shm|log)$/.test(entry) ||
				/(^|\/)\.env/.test(entry),
		);
		expect(forbidden).toEqual([]);
	});

	it('installs into <userFolder>/.n8n/nodes with its runtime dependencies and n8n loads the trigger', async () => {
		expect(installed.name).toBe(PKG);
		expect(fs.existsSync(path.join(installed.nodesDir, 'node_modules', 'pg'))).toBe(true);
		expect(fs.existsSync(path.join(installed.nodesDir, 'node_modules', 'luxon'))).toBe(true);
		// Salesforce is spoken to through n8n's HTTP helper; jsforce is for tests and benchmarks only.
		expect(fs.existsSync(path.join(installed.nodesDir, 'node_modules', '@jsforce'))).toBe(false);
		const types = await n8n!.rest<Array<{ name: string }>>('GET', '/types/nodes.json');
		expect(types.map((type) => type.name).filter((name) => name.startsWith(`${PKG}.`))).toEqual(
			expect.arrayContaining([TRIGGER_TYPE, `${PKG}.campaignStore`]),
		);
		expect(workflow.webhooks.map((w) => w.url)).toEqual([
			`${n8n!.baseUrl}/webhook/${WEBHOOK_ID}/events`,
		]);
	});

	it(
		'(a) a signed batch of 3 events (2 match) -> 202 {accepted 3, duplicates 0, triggered 2}, one execution with the 2 entered users',
		logged(async () => {
			const body = batchA;
			const t = Date.now();
			const answer = await postEvents(url, body, signed(body));
			timings.signedBatchAnswer = seconds(Date.now() - t);
			expect({ status: answer.status, body: answer.json ?? answer.text }).toEqual({
				status: 202,
				body: { accepted: 3, duplicates: 0, triggered: 2 },
			});

			const execution = await expectExecutions(++executionCount);
			timings.signedBatchToExecutionFinished = seconds(Date.now() - t);
			expect(execution.mode).toBe('webhook');
			const items = nodeOutput(execution, TRIGGER);
			if (!items) throw new Error(`The trigger has no run data: ${describeRun(execution)}`);
			expect(items.map((item) => item.json.userId)).toEqual(['ana', 'chen']);
			const [ana, chen] = items.map((item) => item.json);
			expect(ana).toEqual({
				userId: 'ana',
				campaignId: CAMPAIGN_ID,
				entryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
				triggeredAt: new Date(at(1)).toISOString(),
				event: {
					messageId: 'e2e-a-1',
					name: 'Added to Cart',
					properties: { cart_id: 'A1', cart_value: 150 },
					timeZone: 'Europe/Berlin',
				},
				profile: null,
			});
			expect(chen).toMatchObject({
				userId: 'chen',
				campaignId: CAMPAIGN_ID,
				event: {
					messageId: 'e2e-a-3',
					properties: { cart_id: 'C1', cart_value: 300.5 },
				},
				profile: null,
			});
			// An event without a zone carries none (no null to store with every execution).
			expect(chen.event).not.toHaveProperty('timeZone');
			expect(ana.entryId).not.toBe(chen.entryId);
			// The items flowed on to the next node unchanged.
			expect(nodeOutput(execution, 'NoOp')?.map((item) => item.json.userId)).toEqual([
				'ana',
				'chen',
			]);

			// All three events are in the default SQLite store n8n's process wrote, the entries are active.
			expect(fs.existsSync(storePath)).toBe(true);
			await withSqliteStore(storePath, async (store) => {
				for (const [user, messageId] of [
					['ana', 'e2e-a-1'],
					['ben', 'e2e-a-2'],
					['chen', 'e2e-a-3'],
				]) {
					const events = await store.findEvents({ userId: user, names: [], after: 0 });
					expect({ user, events: events.map((e) => [e.messageId, e.name]) }).toEqual({
						user,
						events: [[messageId, 'Added to Cart']],
					});
				}
				expect(await store.getEntry(String(ana.entryId))).toMatchObject({
					userId: 'ana',
					campaignId: CAMPAIGN_ID,
					state: 'active',
					triggerMessageId: 'e2e-a-1',
				});
			});
		}),
	);

	it(
		'(b) the same body again (a retry) -> 202 {duplicates 3, triggered 0}, nobody enters twice',
		logged(async () => {
			const retry = await postEvents(url, batchA, {
				[SIGNATURE_HEADER]: `sha256=${hmacHex(SECRET, batchA)}`,
			});
			expect({ status: retry.status, body: retry.json ?? retry.text }).toEqual({
				status: 202,
				body: { accepted: 3, duplicates: 3, triggered: 0 },
			});
			await withSqliteStore(storePath, async (store) => {
				expect((await store.findEvents({ userId: 'ana', names: [], after: 0 })).length).toBe(1);
			});
			// No new execution: checked in (d), whose execution must be the second one.
		}),
	);

	it(
		'(c) a bad signature -> 401 and nothing recorded',
		logged(async () => {
			const body = JSON.stringify({
				batch: [
					trackEvent(
						'mallory',
						'Added to Cart',
						{ cart_id: 'M1', cart_value: 999 },
						{ messageId: 'e2e-c-1', timestamp: at(10) },
					),
				],
			});
			const forged = await postEvents(url, body, {
				[SIGNATURE_HEADER]: hmacHex('wrong-secret', body),
			});
			expect({ status: forged.status, body: forged.json ?? forged.text }).toEqual({
				status: 401,
				body: { error: 'Unauthorized: bad signature' },
			});
			// Signed body, but a byte changed afterwards.
			const tampered = await postEvents(url, body.replace('999', '998'), signed(body));
			expect(tampered.status).toBe(401);
			const unsigned = await postEvents(url, body);
			expect({ status: unsigned.status, body: unsigned.json ?? unsigned.text }).toEqual({
				status: 401,
				body: { error: `Unauthorized: missing header ${SIGNATURE_HEADER}` },
			});
			await withSqliteStore(storePath, async (store) => {
				expect(await store.findEvents({ userId: 'mallory', names: [], after: 0 })).toEqual([]);
			});
		}),
	);

	it(
		'(d) a signed batch where index 1 lacks `event` -> 400 naming batch[1].event; the valid event is recorded and triggers',
		logged(async () => {
			const body = JSON.stringify({
				batch: [
					trackEvent(
						'dana',
						'Added to Cart',
						{ cart_id: 'D1', cart_value: 120 },
						{ messageId: 'e2e-d-1', timestamp: at(20) },
					),
					{ type: 'track', userId: 'eve', properties: { cart_value: 500 }, messageId: 'e2e-d-2' },
				],
			});
			const answer = await postEvents(url, body, signed(body));
			expect(answer.status).toBe(400);
			expect(answer.json).toEqual({
				error: expect.stringContaining('batch[1].event'),
				field: 'batch[1].event',
				accepted: 1,
				duplicates: 0,
				triggered: 1,
				rejected: [
					{ index: 1, field: 'batch[1].event', error: expect.stringContaining('required') },
				],
			});

			// The valid event entered dana: a new execution with her only. It also proves that (b) and
			// (c) started none (executions are saved in order, so theirs would be there by now).
			const execution = await expectExecutions(++executionCount);
			expect(nodeOutput(execution, TRIGGER)?.map((item) => item.json.userId)).toEqual(['dana']);
			await withSqliteStore(storePath, async (store) => {
				expect(
					(await store.findEvents({ userId: 'dana', names: [], after: 0 })).map((e) => e.messageId),
				).toEqual(['e2e-d-1']);
				expect(await store.findEvents({ userId: 'eve', names: [], after: 0 })).toEqual([]);
			});
		}),
	);

	it(
		'(e) a single signed event with a non-matching name -> 202 triggered 0, recorded, no execution',
		logged(async () => {
			const body = JSON.stringify(
				trackEvent(
					'ana',
					'Order Completed',
					{ cart_id: 'A1', cart_value: 150 },
					{ messageId: 'e2e-e-1', timestamp: at(30) },
				),
			);
			const answer = await postEvents(url, body, signed(body));
			expect({ status: answer.status, body: answer.json ?? answer.text }).toEqual({
				status: 202,
				body: { accepted: 1, duplicates: 0, triggered: 0 },
			});
			await withSqliteStore(storePath, async (store) => {
				expect(
					(await store.findEvents({ userId: 'ana', names: ['Order Completed'], after: 0 })).map(
						(e) => e.messageId,
					),
				).toEqual(['e2e-e-1']);
			});

			// A matching sentinel afterwards: exactly one more execution, holding only the sentinel.
			const sentinel = JSON.stringify(
				trackEvent(
					'sam',
					'Added to Cart',
					{ cart_id: 'S1', cart_value: 101 },
					{ messageId: 'e2e-e-2', timestamp: at(31) },
				),
			);
			const sentinelAnswer = await postEvents(url, sentinel, signed(sentinel));
			expect(sentinelAnswer.json).toEqual({ accepted: 1, duplicates: 0, triggered: 1 });
			const execution = await expectExecutions(++executionCount);
			expect(nodeOutput(execution, TRIGGER)?.map((item) => item.json.userId)).toEqual(['sam']);
		}),
	);
});
