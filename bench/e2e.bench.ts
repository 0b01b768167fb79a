/**
 * `npm run bench:e2e`: events per second through the Campaign Event Trigger inside ONE real
 * n8n 2.41 (the package packed and installed as an admin would), beside a minimal trigger node
 * loaded into the same n8n (`bench/minimal-trigger/`, packed and installed the same way) that only
 * answers and, for a batch, starts one execution with the batch's events as items.
 *
 * Loads, each driven by the same client (Node's fetch, N requests in flight):
 * - single events, 10 connections: page views that are recorded and trigger nothing, so neither
 *   node starts an execution (like with like: what n8n and the node pay per request);
 * - batches of 1,000 events, 1 and 4 connections: every event triggers (new users, re-entry every
 *   time), so each request starts one execution with 1,000 items in both nodes.
 * Every request carries new `messageId`s and new users. The Campaign Event Trigger runs without a
 * Campaign Store credential (the default SQLite file), with one naming the same SQLite file and
 * with one for PostgreSQL. Configurations take turns in rounds, so drift of the (shared) machine
 * is spread over all of them; a batch configuration's time runs until n8n has finished the
 * executions it started. The ratios trigger / minimal of the same run are the figures, each
 * the median over the rounds of the ratio within a round (a round measures both a minute apart).
 *
 * After the run: the events each store holds must equal those the trigger accepted (else exit
 * 1), every batch request must have its execution, and one batch execution of each node is
 * weighed in n8n's database (execution_data) with its items' fields. Ends with one `targets:`
 * line per ratio (exit code 1 when one is missed).
 *
 * Environment: BENCH_SECONDS (default 5 per configuration and round), BENCH_ROUNDS (default 3),
 * BENCH_BATCH_SIZE (default 1000), BENCH_EXPRESSION_ENGINE (n8n's N8N_EXPRESSION_ENGINE, e.g.
 * `legacy`; default n8n's own), PGHOST/PGPORT/PGDATABASE/PGUSER (the campaign store).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { Pool } from 'pg';

import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8n,
	type N8nInstance,
	type WorkflowJson,
} from '../test/e2e/n8n-harness';
import { postgresStoreCredentialData, testConnection } from '../test/support/postgres';
import { median } from './stats';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 1000);
const EXPRESSION_ENGINE = process.env.BENCH_EXPRESSION_ENGINE;
const WARM_UP_SECONDS = 2;
const PKG = 'n8n-nodes-triggered-campaigns';
const MINIMAL_PKG_DIR = path.join(__dirname, 'minimal-trigger');
const GOALS = { single: 0.9, batch: 0.8 } as const;

type StoreKind = 'default' | 'sqlite' | 'postgres';
const STORE_LABELS: Record<StoreKind, string> = {
	default: 'no Campaign Store credential (default SQLite file)',
	sqlite: 'Campaign Store credential, same SQLite file',
	postgres: 'Campaign Store credential, PostgreSQL',
};

/** One workflow in n8n: the minimal trigger, or the Campaign Event Trigger on one store. */
interface Target {
	key: string;
	node: 'minimal' | 'trigger';
	store?: StoreKind;
	workflowId: string;
	url: string;
	/** Requests answered 202 that carried a batch (each should start one execution). */
	batchRequests: number;
	/** Events the node said it accepted, warm-up included (for the store check). */
	accepted: number;
}

interface Load {
	mode: 'single' | 'batch';
	connections: number;
}

/** One measured configuration: a load against a target. */
interface Configuration {
	load: Load;
	target: Target;
	requests: number;
	events: number;
	failures: number;
	ms: number;
	/** Events per second of each round, for the per-round ratios. */
	roundRates: number[];
}

const runId = randomUUID().slice(0, 8);
let sequence = 0;

function singleBody(): string {
	const n = ++sequence;
	return JSON.stringify({
		type: 'track',
		userId: `u-${runId}-${n}`,
		event: 'Viewed Page',
		messageId: `m-${runId}-${n}`,
		timestamp: new Date().toISOString(),
		properties: { path: '/pricing', referrer: 'https://example.com/blog' },
		context: { timezone: 'Europe/Berlin' },
	});
}

/** A batch of events that all trigger: new users adding a new cart each. */
function batchBody(): string {
	const timestamp = new Date().toISOString();
	const batch = Array.from({ length: BATCH_SIZE }, () => {
		const n = ++sequence;
		return {
			type: 'track',
			userId: `u-${runId}-${n}`,
			event: 'Added to Cart',
			messageId: `m-${runId}-${n}`,
			timestamp,
			properties: { cart_id: `c-${n}`, cart_value: 40 + (n % 160), sku: `SKU-${n % 97}` },
			context: { timezone: 'Europe/Berlin' },
		};
	});
	return JSON.stringify({ batch });
}

async function post(configuration: Configuration, count: boolean): Promise<void> {
	const { target, load } = configuration;
	let response: Response;
	let text: string;
	try {
		response = await fetch(target.url, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: load.mode === 'single' ? singleBody() : batchBody(),
		});
		text = await response.text();
	} catch (error) {
		// No answer: counted as failed (the run then exits 1), the load goes on.
		configuration.failures++;
		if (configuration.failures === 1)
			console.error(`  ${label(configuration)}: ${String((error as Error).cause ?? error)}`);
		return;
	}
	const expected = load.mode === 'single' ? 1 : BATCH_SIZE;
	let accepted = 0;
	if (response.status === 202) {
		accepted = Number((JSON.parse(text) as { accepted?: number }).accepted ?? 0);
		target.accepted += accepted;
		if (load.mode === 'batch') target.batchRequests++;
	}
	if (response.status !== 202 || accepted !== expected) {
		configuration.failures++;
		if (configuration.failures === 1)
			console.error(`  ${label(configuration)}: HTTP ${response.status} ${text.slice(0, 300)}`);
	}
	if (count) {
		configuration.requests++;
		configuration.events += accepted;
	}
}

/** `connections` loops posting for `seconds`. */
/**
 * `connections` loops posting for `seconds`, then the wait until n8n has finished the
 * executions those requests started: both nodes answer before their execution runs, so the
 * time a configuration is charged ends when its work is done, and none of it spills into the
 * next configuration's turn.
 */
async function drive(
	n8n: N8nInstance,
	configuration: Configuration,
	seconds: number,
	count = true,
): Promise<void> {
	const started = performance.now();
	const deadline = started + seconds * 1000;
	const eventsBefore = configuration.events;
	await Promise.all(
		Array.from({ length: configuration.load.connections }, async () => {
			while (performance.now() < deadline) await post(configuration, count);
		}),
	);
	if (configuration.load.mode === 'batch') await executionsFinished(n8n, configuration.target);
	if (!count) return;
	const ms = performance.now() - started;
	configuration.ms += ms;
	configuration.roundRates.push((configuration.events - eventsBefore) / (ms / 1000));
}

const FINISHED = `status IN ('success', 'error', 'crashed', 'canceled')`;

/** Waits (up to 2 minutes) until the target's workflow has one finished execution per batch. */
async function executionsFinished(n8n: N8nInstance, target: Target): Promise<number> {
	const deadline = Date.now() + 120_000;
	for (;;) {
		const [row] = await n8n.query<{ count: string }>(
			`SELECT count(*) FROM execution_entity WHERE "workflowId" = $1 AND ${FINISHED}`,
			[target.workflowId],
		);
		const count = Number(row.count);
		if (count >= target.batchRequests || Date.now() > deadline) return count;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

function loadLabel(load: Load): string {
	return load.mode === 'single'
		? `single events, ${load.connections} connections`
		: `batches of ${BATCH_SIZE.toLocaleString('en-US')}, ${load.connections} connection${load.connections === 1 ? '' : 's'}`;
}

function targetLabel(target: Target): string {
	return target.node === 'minimal'
		? 'minimal trigger (baseline)'
		: `Campaign Event Trigger, ${STORE_LABELS[target.store!]}`;
}

function label(configuration: Configuration): string {
	return `${loadLabel(configuration.load)}: ${targetLabel(configuration.target)}`;
}

function workflow(key: string, nodes: WorkflowJson['nodes']): WorkflowJson {
	return {
		name: `bench:e2e ${key}`,
		nodes,
		connections: {},
		settings: { executionOrder: 'v1' },
	};
}

function minimalWorkflow(): WorkflowJson {
	return workflow('minimal', [
		{
			name: 'Bench Minimal Trigger',
			type: 'n8n-nodes-bench-minimal-trigger.benchMinimalTrigger',
			typeVersion: 1,
			position: [0, 0],
			webhookId: randomUUID(),
			parameters: {},
		},
	]);
}

function triggerWorkflow(
	store: StoreKind,
	credentials: Record<string, { id: string; name: string }>,
): WorkflowJson {
	return workflow(store, [
		{
			name: 'Campaign Event Trigger',
			type: `${PKG}.campaignEventTrigger`,
			typeVersion: 1,
			position: [0, 0],
			webhookId: randomUUID(),
			parameters: {
				campaignId: `bench-e2e-${store}`,
				eventNames: 'Added to Cart',
				reEntry: 'everyTime',
				authentication: 'none',
				options: {},
			},
			credentials,
		},
	]);
}

const rate = (c: Configuration) => c.events / (c.ms / 1000);
/** The median over the rounds of trigger / minimal, each round's two measured minutes apart. */
const roundRatio = (c: Configuration, baseline: Configuration) =>
	median(c.roundRates.map((value, round) => value / baseline.roundRates[round]));
const kB = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;

/**
 * One batch execution of a workflow, weighed: what n8n wrote to execution_data, and the JSON of
 * the trigger's items with the share of each top-level field.
 */
async function weighExecution(
	n8n: N8nInstance,
	target: Target,
): Promise<{ stored: number; items: number; itemCount: number; fields: Map<string, number> }> {
	const [row] = await n8n.query<{ id: string; size: number }>(
		`SELECT e.id, octet_length(d.data) AS size FROM execution_entity e
		 JOIN execution_data d ON d."executionId" = e.id
		 WHERE e."workflowId" = $1 AND e.status = 'success' ORDER BY e.id DESC LIMIT 1`,
		[target.workflowId],
	);
	if (!row) throw new Error(`no finished execution of ${targetLabel(target)} to weigh`);
	const execution = await n8n.getExecution(row.id, true);
	const runs = Object.values(execution.data?.resultData.runData ?? {});
	const items = runs[0]?.[0]?.data?.main[0] ?? [];
	const fields = new Map<string, number>();
	for (const item of items) {
		for (const [key, value] of Object.entries(item.json)) {
			// `"key":value,` as it would be written inside the item's JSON.
			const size = Buffer.byteLength(JSON.stringify({ [key]: value })) - 1;
			fields.set(key, (fields.get(key) ?? 0) + size);
		}
	}
	return {
		stored: Number(row.size),
		items: Buffer.byteLength(JSON.stringify(items.map((item) => item.json))),
		itemCount: items.length,
		fields,
	};
}

async function main(): Promise<void> {
	const log = (message: string) => console.log(message);
	const installation = await ensureN8nInstalled({ log });
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-e2e-'));
	const schema = `tc_bench_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
	const admin = new Pool({ ...testConnection, max: 1 });
	const loadBefore = os.loadavg();
	let n8n: N8nInstance | undefined;
	let failed = false;
	try {
		const userFolder = path.join(tmp, 'user');
		const sqliteFile = path.join(userFolder, '.n8n', 'triggered-campaigns.sqlite');
		for (const dir of [packageRoot(), MINIMAL_PKG_DIR]) {
			const tgz = await packPackage(dir, path.join(tmp, 'packed'), { ignoreScripts: true });
			await installPackageTarball(tgz, userFolder);
		}
		n8n = await startN8n({
			userFolder,
			installation,
			logLevel: 'warn',
			env: EXPRESSION_ENGINE ? { N8N_EXPRESSION_ENGINE: EXPRESSION_ENGINE } : {},
		});
		const sqliteStore = await n8n.createCredential('Bench SQLite store', 'campaignStoreApi', {
			backend: 'sqlite',
			filePath: sqliteFile,
		});
		const postgresStore = await n8n.createCredential(
			'Bench PostgreSQL store',
			'campaignStoreApi',
			postgresStoreCredentialData(schema),
		);

		const definitions: Array<Omit<Target, 'workflowId' | 'url' | 'batchRequests' | 'accepted'>> =
			[
				{ key: 'minimal', node: 'minimal' },
				{ key: 'default', node: 'trigger', store: 'default' },
				{ key: 'sqlite', node: 'trigger', store: 'sqlite' },
				{ key: 'postgres', node: 'trigger', store: 'postgres' },
			];
		const targets: Target[] = [];
		for (const definition of definitions) {
			const json =
				definition.node === 'minimal'
					? minimalWorkflow()
					: triggerWorkflow(
							definition.store!,
							definition.store === 'sqlite'
								? { campaignStoreApi: sqliteStore }
								: definition.store === 'postgres'
									? { campaignStoreApi: postgresStore }
									: {},
						);
			const published = await n8n.importAndPublishWorkflow(json, { via: 'api' });
			targets.push({
				...definition,
				workflowId: published.id,
				url: published.webhooks[0].url,
				batchRequests: 0,
				accepted: 0,
			});
		}

		const loads: Load[] = [
			{ mode: 'single', connections: 10 },
			{ mode: 'batch', connections: 1 },
			{ mode: 'batch', connections: 4 },
		];
		const configurations: Configuration[] = loads.flatMap((load) =>
			targets.map((target) => ({
				load,
				target,
				requests: 0,
				events: 0,
				failures: 0,
				ms: 0,
				roundRates: [],
			})),
		);
		console.log(
			`n8n ${installation.version}${EXPRESSION_ENGINE ? ` (N8N_EXPRESSION_ENGINE=${EXPRESSION_ENGINE})` : ''}, ${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; ${ROUNDS} rounds of ${SECONDS} s per configuration, ${configurations.length} configurations taking turns`,
		);
		console.log(
			'single events: page views, recorded by the Campaign Event Trigger and triggering nothing (no execution in either node); batches: every event triggers (one execution of 1,000 items in either node)',
		);
		for (const configuration of configurations)
			await drive(n8n, configuration, WARM_UP_SECONDS, false);
		for (let round = 1; round <= ROUNDS; round++) {
			for (const configuration of configurations) await drive(n8n, configuration, SECONDS);
			console.log(`  round ${round} of ${ROUNDS} done (load average ${os.loadavg()[0].toFixed(2)})`);
		}
		const loadAfter = os.loadavg();

		console.log(
			'\n| load | node | requests | events/s | requests/s | ratio to minimal: median of the rounds (range) | failed |',
		);
		console.log('|---|---|---|---|---|---|---|');
		const targetLines: string[] = [];
		for (const load of loads) {
			const rows = configurations.filter((c) => c.load === load);
			const baseline = rows.find((c) => c.target.node === 'minimal')!;
			for (const c of rows) {
				const ratio = roundRatio(c, baseline);
				const perRound = c.roundRates.map((value, round) => value / baseline.roundRates[round]);
				const range = `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}`;
				console.log(
					`| ${loadLabel(load)} | ${targetLabel(c.target)} | ${c.requests} | ${rate(c).toFixed(0)} | ${(c.requests / (c.ms / 1000)).toFixed(1)} | ${c.target.node === 'minimal' ? '1.00' : `${ratio.toFixed(2)} (${range})`} | ${c.failures} |`,
				);
				if (c.target.node === 'minimal') continue;
				const goal = GOALS[load.mode];
				targetLines.push(
					`targets: ${loadLabel(load)}, ${STORE_LABELS[c.target.store!]}: trigger / minimal ${ratio.toFixed(2)}×; goal ≥ ${goal}×: ${ratio >= goal ? 'met' : 'MISSED'}`,
				);
			}
		}
		if (configurations.some((c) => c.failures > 0)) {
			console.error('\nSome requests were not answered 202 with every event accepted (see above).');
			failed = true;
		}

		// Every batch answered 202 starts one execution; wait until n8n has written them all.
		console.log('\nexecutions (one per batch request answered 202):');
		for (const target of targets) {
			const deadline = Date.now() + 120_000;
			let count = 0;
			for (;;) {
				const [row] = await n8n.query<{ count: string }>(
					`SELECT count(*) FROM execution_entity WHERE "workflowId" = $1 AND status = 'success'`,
					[target.workflowId],
				);
				count = Number(row.count);
				if (count >= target.batchRequests || Date.now() > deadline) break;
				await new Promise((resolve) => setTimeout(resolve, 500));
			}
			const ok = count === target.batchRequests;
			if (!ok) failed = true;
			console.log(
				`  ${targetLabel(target)}: ${count} successful executions for ${target.batchRequests} batch requests${ok ? '' : ' — MISMATCH'}`,
			);
		}

		console.log(`\none batch execution of ${BATCH_SIZE} items, weighed in n8n's database:`);
		const weights = new Map<string, Awaited<ReturnType<typeof weighExecution>>>();
		for (const target of targets) {
			const weight = await weighExecution(n8n, target);
			weights.set(target.key, weight);
			const perItem = [...weight.fields.entries()]
				.sort((a, b) => b[1] - a[1])
				.map(([key, size]) => `${key} ${Math.round(size / Math.max(1, weight.itemCount))} B`)
				.join(', ');
			console.log(
				`  ${targetLabel(target)}: execution_data ${kB(weight.stored)}, items' JSON ${kB(weight.items)} (${weight.itemCount} items; per item: ${perItem})`,
			);
		}

		await n8n.stop();
		n8n = undefined;

		// The stores after the run: every event the trigger accepted is there, and nothing else.
		const sqliteDb = new DatabaseSync(sqliteFile, { readOnly: true });
		const sqliteEvents = Number(
			(sqliteDb.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n,
		);
		sqliteDb.close();
		const postgresEvents = Number(
			(await admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".events`)).rows[0].n,
		);
		const acceptedBy = (...stores: StoreKind[]) =>
			targets
				.filter((t) => t.store && stores.includes(t.store))
				.reduce((sum, t) => sum + t.accepted, 0);
		const checks = [
			{ store: 'SQLite file', holds: sqliteEvents, accepted: acceptedBy('default', 'sqlite') },
			{ store: 'PostgreSQL', holds: postgresEvents, accepted: acceptedBy('postgres') },
		];
		console.log('\nevents in the stores after the run (warm-up included):');
		for (const check of checks) {
			const ok = check.holds === check.accepted;
			if (!ok) failed = true;
			console.log(
				`  ${check.store}: holds ${check.holds.toLocaleString('en-US')}, the trigger accepted ${check.accepted.toLocaleString('en-US')}: ${ok ? 'equal' : 'NOT EQUAL'}`,
			);
		}

		const minimalWeight = weights.get('minimal')!;
		console.log(
			`\nload average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
		);
		for (const key of ['default', 'postgres']) {
			const weight = weights.get(key)!;
			console.log(
				`execution data of one batch: Campaign Event Trigger (${key === 'default' ? 'SQLite' : 'PostgreSQL'}) ${kB(weight.stored)} / minimal ${kB(minimalWeight.stored)} = ${(weight.stored / minimalWeight.stored).toFixed(2)}×`,
			);
		}
		for (const line of targetLines) console.log(line);
		if (failed) {
			console.error('\nFAILED: a store count, an execution count or a request did not match.');
			process.exitCode = 1;
		} else if (targetLines.some((line) => line.endsWith('MISSED'))) {
			process.exitCode = 1;
		}
	} finally {
		await n8n?.stop();
		await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
		await admin.end();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
