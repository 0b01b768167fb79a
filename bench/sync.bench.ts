/**
 * `npm run bench:sync`: a Salesforce segment sync of 100,000 and 1,000,000 records into the
 * embedded SQLite store, against the fake Salesforce running in its own process (so its memory
 * is not counted). For each size: the full first sync, a re-sync after 1% of the records
 * changed, and — the baseline, in the same run — jsforce's plain `query` with `autoFetch` over
 * the same records. Every measurement runs in a fresh process and reports its own peak RSS.
 *
 * The workers run the compiled package (`npm run build` first, which the npm script does).
 * BENCH_SYNC_SIZES=100000 limits the sizes (comma-separated).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const TSX = join(__dirname, '..', 'node_modules', '.bin', 'tsx');
const BENCH_APP = { clientId: 'bench-app', clientSecret: 'bench-secret' };
const BENCH_USER = { username: 'bench@acme.example', password: 'bench-pw' };
/** Contacts with an email: no relative date literal, so re-syncs read only what changed. */
const BENCH_SEGMENT = {
	segmentId: 'bench-trial-contacts',
	source: { kind: 'records', object: 'Contact', where: 'Email != null' },
	fields: {
		timeZone: 'Time_Zone__c',
		attributes: {
			firstName: 'FirstName',
			lastName: 'LastName',
			trialEndsOn: 'Trial_End__c',
			company: 'Account.Name',
		},
	},
	matchProfilesByEmail: false,
};
const RSS_LIMIT_MB = 200;
const MIN_RESYNC_SPEEDUP = 50;

interface FakeProcess {
	url: string;
	stop(): void;
}

async function startFake(now: number): Promise<FakeProcess> {
	const child = spawn(
		TSX,
		[join(__dirname, '..', 'test', 'support', 'fake-salesforce', 'serve.ts'), '--now', String(now)],
		{
			stdio: ['ignore', 'pipe', 'inherit'],
			env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=4096' },
		},
	);
	const lines = createInterface({ input: child.stdout });
	const url = await new Promise<string>((resolve, reject) => {
		lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
		child.once('exit', (code) => reject(new Error(`fake Salesforce exited with ${code}`)));
	});
	return { url, stop: () => child.kill('SIGTERM') };
}

async function admin(url: string, path: string, body: unknown): Promise<unknown> {
	const response = await fetch(`${url}/__fake/${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	if (!response.ok)
		throw new Error(`fake admin ${path}: ${response.status} ${await response.text()}`);
	return await response.json();
}

/** V8 flag for the second full-sync measurement: a young generation of at most 3 × 8 MB. */
const SMALL_YOUNG_GENERATION = '--max-semi-space-size=8';

async function worker(
	job: Record<string, unknown>,
	nodeFlags: string[] = [],
): Promise<Record<string, number | string>> {
	const fullJob = { ...job, app: BENCH_APP, user: BENCH_USER, segment: BENCH_SEGMENT };
	// Plain Node (24, first on PATH in npm scripts) on the compiled package: what n8n runs.
	const child = spawn(
		process.execPath,
		[...nodeFlags, join(__dirname, 'sync-worker.ts'), JSON.stringify(fullJob)],
		{
			stdio: ['ignore', 'pipe', 'inherit'],
			env: { ...process.env, HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '' },
		},
	);
	let output = '';
	child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
	if (code !== 0) throw new Error(`sync-worker ${String(job.mode)} failed with exit code ${code}`);
	return JSON.parse(output.trim().split('\n').pop()!) as Record<string, number | string>;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function benchSize(count: number): Promise<boolean> {
	const now = Date.parse('2026-11-23T09:00:00Z');
	const fake = await startFake(now);
	const folder = mkdtempSync(join(tmpdir(), 'bench-sync-'));
	try {
		await admin(fake.url, 'connected-apps', BENCH_APP);
		await admin(fake.url, 'users', BENCH_USER);
		await admin(fake.url, 'generated', { generator: 'trialContacts', count, seed: 7 });
		const file = join(folder, 'store.sqlite');

		const full = await worker({ mode: 'sync', url: fake.url, file });
		// The same full sync into a fresh file, with V8's young generation capped as an n8n
		// admin can do with NODE_OPTIONS: the live heap stays small, the default young
		// generation grows with the allocation rate.
		const capped = await worker(
			{ mode: 'sync', url: fake.url, file: join(folder, 'capped.sqlite') },
			[SMALL_YOUNG_GENERATION],
		);
		await admin(fake.url, 'clock', { advance: 10 * 60_000 });
		const modified = (await admin(fake.url, 'modify-percent', {
			object: 'Contact',
			percent: 1,
		})) as {
			modified: number;
		};
		const resync = await worker({ mode: 'sync', url: fake.url, file });
		const baseline = await worker({ mode: 'autofetch', url: fake.url, expected: count });

		const fullRate = (Number(full.records) / Number(full.ms)) * 1000;
		const baseRate = (Number(baseline.records) / Number(baseline.ms)) * 1000;
		const speedup = Number(full.ms) / Number(resync.ms);
		console.log(`\n${fmt(count)} contacts (Contact with Account.Name, Email != null)`);
		console.log(
			`  full sync (${full.via}):        ${fmt(Number(full.records))} records in ${(Number(full.ms) / 1000).toFixed(1)} s = ${fmt(fullRate)} records/s, peak RSS ${full.peakRssMb} MB (${full.rssBeforeMb} MB before the sync), ${full.apiCalls} API calls`,
		);
		console.log(
			`  same full sync with NODE_OPTIONS=${SMALL_YOUNG_GENERATION}: ${(Number(capped.ms) / 1000).toFixed(1)} s, peak RSS ${capped.peakRssMb} MB`,
		);
		console.log(
			`  re-sync after 1% changed:  ${fmt(modified.modified)} modified → ${fmt(Number(resync.records))} records read, ${resync.updated} updated, ${resync.entered} entered, ${resync.exited} exited in ${(Number(resync.ms) / 1000).toFixed(2)} s (${resync.mode}, ${resync.apiCalls} API calls, peak RSS ${resync.peakRssMb} MB): ${speedup.toFixed(0)}× faster than the full sync`,
		);
		console.log(
			`  baseline jsforce autoFetch: ${fmt(Number(baseline.records))} records in ${(Number(baseline.ms) / 1000).toFixed(1)} s = ${fmt(baseRate)} records/s, peak RSS ${baseline.peakRssMb} MB (${baseline.rssBeforeMb} MB before; records only held in memory, nothing stored)`,
		);
		console.log(
			`  ratio: sync/baseline records/s ${(fullRate / baseRate).toFixed(2)}, peak RSS ${(Number(full.peakRssMb) / Number(baseline.peakRssMb)).toFixed(2)}`,
		);
		const okRss = Number(full.peakRssMb) <= RSS_LIMIT_MB;
		const okCappedRss = Number(capped.peakRssMb) <= RSS_LIMIT_MB;
		const okSpeedup = speedup >= MIN_RESYNC_SPEEDUP;
		console.log(
			`  targets: peak RSS ≤ ${RSS_LIMIT_MB} MB ${okRss ? 'met' : 'MISSED'} with Node's defaults, ${okCappedRss ? 'met' : 'MISSED'} with ${SMALL_YOUNG_GENERATION}; re-sync ≥ ${MIN_RESYNC_SPEEDUP}× faster ${okSpeedup ? 'met' : 'MISSED'}`,
		);
		return okCappedRss && okSpeedup;
	} finally {
		fake.stop();
		rmSync(folder, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	const sizes = (process.env.BENCH_SYNC_SIZES ?? '100000,1000000')
		.split(',')
		.map((size) => Number(size.trim()))
		.filter((size) => size > 0);
	console.log(
		`bench:sync — ${process.version}, fake Salesforce in its own process, SQLite store, Bulk API 2.0 above 10,000 records`,
	);
	let allMet = true;
	for (const size of sizes) allMet = (await benchSize(size)) && allMet;
	if (!allMet) process.exitCode = 1;
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
