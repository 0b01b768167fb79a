/**
 * Smoke test of the e2e harness with a throwaway community package generated at test time.
 *
 * It proves, on a real n8n 2.41.0: the package is installed from its `npm pack` tarball into
 * `<userFolder>/.n8n/nodes` and loaded; workflows published before start (CLI), while running (CLI)
 * and through the public API get their production webhooks; executions are visible through the
 * public API with an API key. It also pins the n8n behaviours the real trigger node relies on
 * ((a), (b), (c) in the header of n8n-harness.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
	ensureN8nInstalled,
	installPackageTarball,
	packPackage,
	sha256,
	startN8n,
	type InstalledPackage,
	type N8nInstallation,
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
} from './n8n-harness';

const PKG = 'n8n-nodes-ping-e2e';
const NODE_TYPE = `${PKG}.ping`;

/** A minimal community package: plain JS, one webhook trigger node "Ping" (path `ping`). */
function writePingPackage(dir: string): void {
	fs.mkdirSync(path.join(dir, 'dist', 'nodes', 'Ping'), { recursive: true });
	fs.writeFileSync(
		path.join(dir, 'package.json'),
		JSON.stringify(
			{
				name: PKG,
				version: '0.0.1',
				description: 'Throwaway package for the n8n e2e harness smoke test',
				license: 'MIT',
				keywords: ['n8n-community-node-package'],
				files: ['dist'],
				n8n: { n8nNodesApiVersion: 1, nodes: ['dist/nodes/Ping/Ping.node.js'] },
				peerDependencies: { 'n8n-workflow': '*' },
			},
			null,
			2,
		),
	);
	fs.writeFileSync(
		path.join(dir, 'dist', 'nodes', 'Ping', 'Ping.node.js'),
		`'use strict';
const crypto = require('crypto');

class Ping {
	constructor() {
		this.description = {
			displayName: 'Ping Trigger',
			name: 'ping',
			icon: 'fa:satellite-dish',
			group: ['trigger'],
			version: 1,
			description: 'Answers 202 itself; optionally starts an execution',
			defaults: { name: 'Ping Trigger' },
			inputs: [],
			outputs: ['main'],
			webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'ping' }],
			properties: [
				{
					displayName: 'Mode',
					name: 'mode',
					type: 'options',
					default: 'respondAndRun',
					options: [
						{ name: 'Respond 202 and Run', value: 'respondAndRun' },
						{ name: 'Respond 202 Only', value: 'respondOnly' },
					],
				},
			],
		};
	}

	async webhook() {
		const req = this.getRequestObject();
		const res = this.getResponseObject();
		const mode = this.getNodeParameter('mode', 'respondAndRun');
		const raw = req.rawBody;
		const info = {
			mode,
			rawBodyIsBuffer: Buffer.isBuffer(raw),
			rawBodyLength: Buffer.isBuffer(raw) ? raw.length : null,
			rawBodySha256: Buffer.isBuffer(raw) ? crypto.createHash('sha256').update(raw).digest('hex') : null,
			rawBodyBase64: Buffer.isBuffer(raw) && raw.length <= 4096 ? raw.toString('base64') : null,
			body: req.body,
		};
		res.status(202).json({ accepted: true, ...info });
		if (mode === 'respondOnly') return { noWebhookResponse: true };
		return { noWebhookResponse: true, workflowData: [[{ json: info }]] };
	}
}

module.exports = { Ping };
`,
	);
}

function pingWorkflow(options: {
	id?: string;
	name: string;
	mode: 'respondAndRun' | 'respondOnly';
	webhookId?: string;
}): WorkflowJson {
	return {
		...(options.id ? { id: options.id } : {}),
		name: options.name,
		nodes: [
			{
				id: '3f1d2c4b-5a6e-4f70-8a9b-0c1d2e3f4a5b',
				name: 'Ping Trigger',
				type: NODE_TYPE,
				typeVersion: 1,
				position: [0, 0],
				...(options.webhookId ? { webhookId: options.webhookId } : {}),
				parameters: { mode: options.mode },
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
	};
}

interface PingAnswer {
	accepted: boolean;
	mode: string;
	rawBodyIsBuffer: boolean;
	rawBodyLength: number | null;
	rawBodySha256: string | null;
	rawBodyBase64: string | null;
	body: unknown;
}

async function post(
	url: string,
	body: Buffer | string,
	contentType = 'application/json',
): Promise<{ status: number; json: PingAnswer }> {
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': contentType },
		body: typeof body === 'string' ? body : new Uint8Array(body),
		signal: AbortSignal.timeout(30_000),
	});
	const text = await response.text();
	let json: PingAnswer;
	try {
		json = JSON.parse(text) as PingAnswer;
	} catch {
		throw new Error(`POST ${url} -> ${response.status}, not JSON: ${text.slice(0, 500)}`);
	}
	return { status: response.status, json };
}

const timings: Record<string, string> = {};
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('n8n e2e harness (real n8n 2.41.0, throwaway community package)', () => {
	let tmp: string;
	let installation: N8nInstallation;
	let installed: InstalledPackage;
	let n8n: N8nInstance | undefined;
	let preStart: PublishedWorkflow;

	const PRE_START_ID = 'e2ePingPreStart1';
	const PRE_START_WEBHOOK_ID = '0b5c8a52-8d0e-4c59-9a57-6f0f4f2a1d01';

	beforeAll(async () => {
		let t = Date.now();
		installation = await ensureN8nInstalled();
		timings.ensureInstalled = `${seconds(Date.now() - t)} (this run)${installation.installMs ? `, original install ${seconds(installation.installMs)}` : ''}`;

		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-ping-'));
		const pkgDir = path.join(tmp, 'pkg');
		writePingPackage(pkgDir);
		t = Date.now();
		const tgz = await packPackage(pkgDir, path.join(tmp, 'packed'));
		timings.pack = seconds(Date.now() - t);

		const userFolder = path.join(tmp, 'user');
		t = Date.now();
		installed = await installPackageTarball(tgz, userFolder);
		timings.installTarball = seconds(Date.now() - t);

		t = Date.now();
		n8n = await startN8n({
			userFolder,
			installation,
			workflows: [
				pingWorkflow({
					id: PRE_START_ID,
					name: 'published before start',
					mode: 'respondAndRun',
					webhookId: PRE_START_WEBHOOK_ID,
				}),
			],
		});
		timings.startN8n = `${seconds(Date.now() - t)} total (import+publish 1 workflow via CLI before start, spawn -> ready -> workflow active ${seconds(n8n.startupMs)}, API key ${seconds(n8n.apiKeyMs)})`;
		preStart = await n8n.waitForActivation(PRE_START_ID);
	});

	afterAll(async () => {
		const pid = n8n?.pid;
		await n8n?.stop();
		if (pid) {
			let groupGone = false;
			try {
				process.kill(-pid, 0);
			} catch {
				groupGone = true;
			}
			console.log(`n8n process group ${pid} gone after stop(): ${String(groupGone)}`);
		}
		console.log(
			`timings:\n${Object.entries(timings)
				.map(([k, v]) => `  ${k}: ${v}`)
				.join('\n')}\nn8n log: ${n8n?.logPath ?? '-'}`,
		);
		if (tmp && !process.env.N8N_E2E_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it('installs the tarball into .n8n/nodes like an admin (runtime deps only, no peer n8n-workflow)', () => {
		expect(installed.name).toBe(PKG);
		expect(installed.dir).toBe(path.join(tmp, 'user', '.n8n', 'nodes', 'node_modules', PKG));
		expect(fs.existsSync(path.join(installed.dir, 'dist', 'nodes', 'Ping', 'Ping.node.js'))).toBe(
			true,
		);
		expect(fs.existsSync(path.join(installed.nodesDir, 'node_modules', 'n8n-workflow'))).toBe(
			false,
		);
	});

	it('n8n loads the node type from the installed package', async () => {
		const types = await n8n!.rest<Array<{ name: string; version: number | number[] }>>(
			'GET',
			'/types/nodes.json',
		);
		expect(types.map((t) => t.name)).toContain(NODE_TYPE);
	});

	it('the API key works for /api/v1 and is required', async () => {
		const page = await n8n!.api<{ data: Array<{ id: string; active: boolean }> }>(
			'GET',
			'/api/v1/workflows',
		);
		expect(page.data.find((w) => w.id === PRE_START_ID)?.active).toBe(true);
		const anonymous = await fetch(`${n8n!.baseUrl}/api/v1/workflows`);
		expect(anonymous.status).toBe(401);
	});

	it('a workflow published before start serves POST /webhook/<webhookId>/<path> and its execution is in the API', async () => {
		const url = `${n8n!.baseUrl}/webhook/${PRE_START_WEBHOOK_ID}/ping`;
		expect(preStart.webhooks.map((w) => w.url)).toEqual([url]);
		const { status, json } = await post(url, '{"hello":"world"}');
		expect(status).toBe(202);
		expect(json.accepted).toBe(true);
		const executions = await n8n!.waitForExecutions(PRE_START_ID, { count: 1 });
		expect(executions).toHaveLength(1);
		expect(executions[0]).toMatchObject({
			workflowId: PRE_START_ID,
			mode: 'webhook',
			status: 'success',
			finished: true,
		});
	});

	it('(a) respond 202 itself + noWebhookResponse + workflowData: client gets the 202 JSON and ONE execution starts', async () => {
		const t = Date.now();
		const wf = await n8n!.importAndPublishWorkflow(
			pingWorkflow({
				id: 'e2ePingRespRun01',
				name: '(a) respond and run',
				mode: 'respondAndRun',
				webhookId: '0b5c8a52-8d0e-4c59-9a57-6f0f4f2a1d0a',
			}),
			{ via: 'cli' },
		);
		timings.importAndPublishViaCliWhileRunning = seconds(Date.now() - t);
		expect(wf.webhooks).toHaveLength(1);
		const body = Buffer.from('{"userId":"u-1","event":"signup"}');
		const { status, json } = await post(wf.webhooks[0].url, body);
		expect(status).toBe(202);
		expect(json).toMatchObject({
			accepted: true,
			mode: 'respondAndRun',
			rawBodySha256: sha256(body),
		});

		const [summary, ...more] = await n8n!.waitForExecutions(wf.id, { count: 1 });
		expect(more).toHaveLength(0);
		expect(summary).toMatchObject({ mode: 'webhook', status: 'success' });
		const execution = await n8n!.getExecution(summary.id, true);
		const output = execution.data?.resultData.runData['Ping Trigger']?.[0]?.data?.main[0];
		expect(output).toHaveLength(1);
		expect(output?.[0].json).toMatchObject({
			mode: 'respondAndRun',
			rawBodySha256: sha256(body),
			body: { userId: 'u-1', event: 'signup' },
		});
		const withoutData = await n8n!.getExecution(summary.id, false);
		expect(withoutData.data).toBeUndefined();
	});

	it('(b) respond 202 itself + noWebhookResponse without workflowData: client gets the 202, NO execution starts', async () => {
		const t = Date.now();
		const wf = await n8n!.importAndPublishWorkflow(
			pingWorkflow({ name: '(b) respond only', mode: 'respondOnly' }),
			{ via: 'api' },
		);
		timings.importAndPublishViaApi = seconds(Date.now() - t);
		// The public API assigned a webhookId, so the URL has the /webhook/<webhookId>/<path> form.
		expect(wf.webhooks).toHaveLength(1);
		expect(wf.webhooks[0].url).toMatch(new RegExp(`^${n8n!.baseUrl}/webhook/[0-9a-f-]{36}/ping$`));
		for (let i = 0; i < 3; i++) {
			const { status, json } = await post(wf.webhooks[0].url, `{"n":${i}}`);
			expect(status).toBe(202);
			expect(json).toMatchObject({ accepted: true, mode: 'respondOnly', body: { n: i } });
		}
		// Executions are saved asynchronously: let one that WOULD run finish first, then look.
		const before = (await n8n!.listExecutions(PRE_START_ID)).length;
		await post(preStart.webhooks[0].url, '{}');
		await n8n!.waitForExecutions(PRE_START_ID, { count: before + 1 });
		expect(await n8n!.listExecutions(wf.id)).toHaveLength(0);
		const rows = await n8n!.query<{ n: string }>(
			'SELECT count(*) AS n FROM execution_entity WHERE "workflowId" = $1',
			[wf.id],
		);
		expect(Number(rows[0].n)).toBe(0);
	});

	it('(c) this.getRequestObject().rawBody is a Buffer with the exact bytes sent (HMAC-safe)', async () => {
		const wf = await n8n!.importAndPublishWorkflow(
			pingWorkflow({
				id: 'e2ePingRawBody01',
				name: '(c) raw body',
				mode: 'respondOnly',
				webhookId: '0b5c8a52-8d0e-4c59-9a57-6f0f4f2a1d0c',
			}),
		);
		const url = wf.webhooks[0].url;
		const cases: Array<[string, Buffer]> = [
			// Whitespace, key order, escapes, non-ASCII, trailing newline: JSON.stringify(req.body) would lose all of them.
			['application/json', Buffer.from('{ "b":1,\n  "a" : "\\u00e9 é 😀",  "n": 1.0 }\n', 'utf8')],
			['application/json; charset=utf-8', Buffer.from('[1, 2 ,3]')],
			['text/plain', Buffer.from('plain text\r\nwith CRLF')],
			['application/octet-stream', Buffer.from([0, 1, 2, 253, 254, 255])],
			['application/x-www-form-urlencoded', Buffer.from('a=1&b=%20x&a=2')],
			[
				'application/json',
				Buffer.from(
					JSON.stringify({
						events: Array.from({ length: 2000 }, (_, i) => ({ userId: `u${i}`, at: i })),
					}),
				),
			],
			['application/json', Buffer.alloc(0)],
		];
		for (const [contentType, body] of cases) {
			const { status, json } = await post(url, body, contentType);
			expect({
				contentType,
				status,
				isBuffer: json.rawBodyIsBuffer,
				length: json.rawBodyLength,
				sha: json.rawBodySha256,
			}).toEqual({
				contentType,
				status: 202,
				isBuffer: true,
				length: body.length,
				sha: sha256(body),
			});
			if (json.rawBodyBase64 !== null) expect(json.rawBodyBase64).toBe(body.toString('base64'));
		}
		// Invalid JSON never reaches webhook(): n8n answers 422 itself.
		const invalid = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{bad',
		});
		expect(invalid.status).toBe(422);
	});

	it('a node without webhookId is served at /webhook/<workflowId>/<encoded lower-case node name>/<path>', async () => {
		const wf = await n8n!.importAndPublishWorkflow(
			pingWorkflow({ id: 'e2ePingNoHookId1', name: 'no webhookId', mode: 'respondOnly' }),
		);
		expect(wf.webhooks.map((w) => w.webhookPath)).toEqual(['e2ePingNoHookId1/ping%20trigger/ping']);
		// n8n stores the node name URI-encoded and matches it against the decoded request path.
		expect(wf.webhooks[0].url).toBe(
			`${n8n!.baseUrl}/webhook/e2ePingNoHookId1/ping%2520trigger/ping`,
		);
		expect((await post(wf.webhooks[0].url, '{}')).status).toBe(202);
		const naive = await fetch(`${n8n!.baseUrl}/webhook/e2ePingNoHookId1/ping%20trigger/ping`, {
			method: 'POST',
			body: '{}',
			headers: { 'content-type': 'application/json' },
		});
		expect(naive.status).toBe(404);
	});
});
