/**
 * `npm run bench:n8n-trigger`: single-event requests per second through the Campaign Event
 * Trigger inside a real n8n 2.41 (the package packed and installed as an admin would), with
 * and without credentials on the trigger, in the same run and the same n8n process.
 *
 * Every configuration is one active workflow whose trigger records the events it receives.
 * The events are not trigger events, so no execution starts: the figure is what n8n and the
 * trigger pay per webhook request. Configurations take turns (BENCH_ROUNDS rounds of
 * BENCH_SECONDS each), so drift of the machine is spread over all of them; the baseline is the
 * trigger without any credential, which records into the default SQLite file.
 *
 * Environment: BENCH_SECONDS (default 5), BENCH_ROUNDS (default 3), BENCH_CONCURRENCY
 * (default 8 requests in flight), PGHOST/PGPORT/PGDATABASE/PGUSER (the campaign store).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PKG = 'n8n-nodes-triggered-campaigns';
const TOKEN = 'bench-sender-token-4c1e';

interface Configuration {
	label: string;
	credentials: Record<string, { id: string; name: string }>;
	authentication: 'none' | 'headerToken';
	headers: Record<string, string>;
	url?: string;
	requests: number;
	failures: number;
	ms: number;
}

function triggerWorkflow(index: number, configuration: Configuration): WorkflowJson {
	return {
		id: `benchTrigger${String(index).padStart(4, '0')}`,
		name: `bench trigger: ${configuration.label}`,
		nodes: [
			{
				name: 'Campaign Event Trigger',
				type: `${PKG}.campaignEventTrigger`,
				typeVersion: 1,
				position: [0, 0],
				webhookId: randomUUID(),
				parameters: {
					campaignId: `bench-${index}`,
					eventNames: 'Added to Cart',
					reEntry: 'everyTime',
					authentication: configuration.authentication,
					options: {},
				},
				credentials: configuration.credentials,
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
	};
}

let sequence = 0;
/** One request: a page view of a random user, recorded and triggering nothing. */
async function postOne(configuration: Configuration): Promise<void> {
	const body = JSON.stringify({
		userId: `u${sequence % 5000}`,
		event: 'Viewed Page',
		messageId: `bench-${process.pid}-${++sequence}`,
		properties: { path: '/pricing' },
	});
	const response = await fetch(configuration.url!, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...configuration.headers },
		body,
	});
	await response.arrayBuffer();
	if (response.status !== 202) {
		configuration.failures++;
		if (configuration.failures === 1)
			console.error(`  ${configuration.label}: HTTP ${response.status}`);
	}
}

/** CONCURRENCY loops posting for `seconds`; adds to the configuration's counts. */
async function drive(configuration: Configuration, seconds: number, count = true): Promise<void> {
	const started = performance.now();
	const deadline = started + seconds * 1000;
	let requests = 0;
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async () => {
			while (performance.now() < deadline) {
				await postOne(configuration);
				requests++;
			}
		}),
	);
	if (!count) return;
	configuration.requests += requests;
	configuration.ms += performance.now() - started;
}

async function main(): Promise<void> {
	const log = (message: string) => console.log(message);
	const installation = await ensureN8nInstalled({ log });
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-n8n-trigger-'));
	const schema = `tc_bench_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
	const admin = new Pool({ ...testConnection, max: 1 });
	let n8n: N8nInstance | undefined;
	try {
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), {
			ignoreScripts: true,
		});
		const userFolder = path.join(tmp, 'user');
		await installPackageTarball(tgz, userFolder);
		n8n = await startN8n({ userFolder, installation, logLevel: 'warn' });
		const credential = n8n.createCredential.bind(n8n);
		const sqliteStore = await credential('Bench SQLite store', 'campaignStoreApi', {
			backend: 'sqlite',
			filePath: path.join(userFolder, '.n8n', 'triggered-campaigns.sqlite'),
		});
		const postgresStore = await credential(
			'Bench PostgreSQL store',
			'campaignStoreApi',
			postgresStoreCredentialData(schema),
		);
		const senderToken = await credential('Bench sender token', 'campaignWebhookTokenApi', {
			headerName: 'Authorization',
			token: TOKEN,
		});
		const none = { authentication: 'none' as const, headers: {} };
		const configurations: Configuration[] = (
			[
				{ label: 'no credential (default SQLite file)', credentials: {}, ...none },
				{
					label: 'Campaign Store credential, same SQLite file',
					credentials: { campaignStoreApi: sqliteStore },
					...none,
				},
				{
					label: 'Campaign Store credential, PostgreSQL',
					credentials: { campaignStoreApi: postgresStore },
					...none,
				},
				{
					label: 'PostgreSQL store + Header Token auth',
					credentials: { campaignStoreApi: postgresStore, campaignWebhookTokenApi: senderToken },
					authentication: 'headerToken' as const,
					headers: { Authorization: `Bearer ${TOKEN}` },
				},
			] as Array<Omit<Configuration, 'requests' | 'failures' | 'ms'>>
		).map((c) => ({ ...c, requests: 0, failures: 0, ms: 0 }));

		for (const [index, configuration] of configurations.entries()) {
			const published = await n8n.importAndPublishWorkflow(triggerWorkflow(index, configuration));
			configuration.url = published.webhooks[0].url;
		}
		console.log(
			`n8n ${installation.version}, ${os.cpus().length} cores; ${CONCURRENCY} requests in flight; ${ROUNDS} rounds of ${SECONDS} s per configuration, taking turns`,
		);
		for (const configuration of configurations) await drive(configuration, 2, false); // warm-up
		for (let round = 1; round <= ROUNDS; round++) {
			for (const configuration of configurations) await drive(configuration, SECONDS);
			console.log(`  round ${round} of ${ROUNDS} done`);
		}

		const baseline = configurations[0];
		const rate = (c: Configuration) => c.requests / (c.ms / 1000);
		console.log(
			'\n| trigger configuration | requests | requests/s | ratio to no credential | failed |',
		);
		console.log('|---|---|---|---|---|');
		for (const c of configurations) {
			console.log(
				`| ${c.label} | ${c.requests} | ${rate(c).toFixed(1)} | ${(rate(c) / rate(baseline)).toFixed(2)} | ${c.failures} |`,
			);
		}
		if (configurations.some((c) => c.failures > 0)) process.exitCode = 1;
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
