/**
 * `npm run bench:sync`: a Salesforce segment sync of 100,000 and 1,000,000 records into the
 * embedded SQLite store, against the fake Salesforce running in its own process (so its memory
 * is not counted). For each size: the full first sync on a sync thread (as the Segment Trigger
 * runs it) and on the calling thread; re-syncs after 1% of the records changed (the first poll
 * of a fresh process, and a later poll in the same process); and — the baselines, in the same
 * run — jsforce's plain `query` with `autoFetch` over the same records: once with the full
 * read's query, and once with the later poll's queries (the changes and deletes since its
 * starting mark as a queryAll, then the matching changes; built by the engine's own
 * `incrementalReadQueries` from the mark the re-sync started from). Each measurement runs in a
 * fresh process and reports that process's peak RSS.
 *
 * Targets, each against its baseline in the same run, so that the load of the machine moves
 * both sides: the full sync stores records at least as fast as autoFetch reads them
 * (records/s); the later poll's re-sync likewise against autoFetch over the same changed
 * records; and the full sync's peak RSS stays within 200 MB. The re-sync's speed-up over the
 * full sync is printed too, as information only: it moves with the full sync's speed.
 *
 * The workers run the compiled package (`npm run build` first, which the npm script does).
 * BENCH_SYNC_SIZES=100000 limits the sizes (comma-separated).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import {
	DEFAULT_SYNC_THREAD_OLD_GENERATION_MB,
	DEFAULT_SYNC_THREAD_YOUNG_GENERATION_MB,
} from '../src/salesforce/sync/sync-thread';

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
	// Account.Name reads a related record, which 'auto' re-reads whole on every sync; the
	// benchmark measures reads of changed records.
	fullResync: 'changesOnly',
};
const RSS_LIMIT_MB = 200;
/** The full sync's goal: records stored per second at least jsforce autoFetch's read rate. */
const MIN_FULL_SYNC_RATIO = 1.0;
/** The later poll's goal: the same, against autoFetch over the very queries that poll sent. */
const MIN_RESYNC_RATIO = 1.0;

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

/** CPU the fake's process has used so far, in ms (its `stats` admin route). */
async function fakeCpuMs(url: string): Promise<number> {
	const response = await fetch(`${url}/__fake/stats`);
	if (!response.ok) throw new Error(`fake stats: ${response.status}`);
	return ((await response.json()) as { cpuMs: number }).cpuMs;
}

const cpu = (ms: number | string) => `${(Number(ms) / 1000).toFixed(1)} s`;

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

type Measurement = Record<string, number | string> & {
	/** A re-sync's queries (see `incrementalReadQueries`), printed by an incremental sync. */
	reads?: { changed: string; matched: string };
	recordsPerRead?: number[];
};

/**
 * Runs bench/sync-worker.ts on the compiled package with plain Node (24, first on PATH in npm
 * scripts), as n8n runs it. `onLine` sees each measurement as it is printed and may write to
 * the worker's stdin (the resync mode waits for a line between its two syncs).
 */
async function worker(
	job: Record<string, unknown>,
	onLine: (
		measurement: Measurement,
		stdin: NodeJS.WritableStream,
	) => Promise<void> = async () => {},
): Promise<Measurement[]> {
	const fullJob = { ...job, app: BENCH_APP, user: BENCH_USER, segment: BENCH_SEGMENT };
	const child = spawn(
		process.execPath,
		[join(__dirname, 'sync-worker.ts'), JSON.stringify(fullJob)],
		{
			stdio: ['pipe', 'pipe', 'inherit'],
			env: { ...process.env, HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '' },
		},
	);
	const measurements: Measurement[] = [];
	let handling = Promise.resolve();
	createInterface({ input: child.stdout }).on('line', (line) => {
		const measurement = JSON.parse(line) as Measurement;
		measurements.push(measurement);
		handling = handling.then(() => onLine(measurement, child.stdin));
	});
	const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
	await handling;
	if (code !== 0) throw new Error(`sync-worker ${String(job.mode)} failed with exit code ${code}`);
	return measurements;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The `SystemModstamp >= …` part of a query, to show where a re-sync read from. */
const modstampFilter = (soql: string) => /SystemModstamp >= \S+/.exec(soql)?.[0] ?? soql;

async function benchSize(count: number): Promise<boolean> {
	const now = Date.parse('2026-11-23T09:00:00Z');
	const fake = await startFake(now);
	const folder = mkdtempSync(join(tmpdir(), 'bench-sync-'));
	try {
		await admin(fake.url, 'connected-apps', BENCH_APP);
		await admin(fake.url, 'users', BENCH_USER);
		await admin(fake.url, 'generated', { generator: 'trialContacts', count, seed: 7 });
		const file = join(folder, 'store.sqlite');

		// The Segment Trigger runs a full read on a sync thread; the same sync on the calling
		// thread is measured beside it, into a fresh file.
		let fakeCpu = await fakeCpuMs(fake.url);
		const [full] = await worker({ mode: 'thread', url: fake.url, file });
		const fakeCpuForFull = (await fakeCpuMs(fake.url)) - fakeCpu;
		const [here] = await worker({ mode: 'sync', url: fake.url, file: join(folder, 'here.sqlite') });
		const changeOnePercent = async () => {
			await admin(fake.url, 'clock', { advance: 10 * 60_000 });
			return (await admin(fake.url, 'modify-percent', { object: 'Contact', percent: 1 })) as {
				modified: number;
			};
		};
		// Re-syncs: the first poll of a fresh process, then (1% changed again) a later poll in
		// the same process, as n8n polls every minute or more from one long-lived process.
		const modified = await changeOnePercent();
		let changedAgain = false;
		const [cold, warm] = await worker({ mode: 'resync', url: fake.url, file }, async (_, stdin) => {
			if (changedAgain) return;
			changedAgain = true;
			await changeOnePercent();
			stdin.end('go\n');
		});
		fakeCpu = await fakeCpuMs(fake.url);
		const [baseline] = await worker({ mode: 'autofetch', url: fake.url, expected: count });
		const fakeCpuForBaseline = (await fakeCpuMs(fake.url)) - fakeCpu;
		// Nothing changes after the later poll: autoFetch over its queries reads what it read.
		if (warm.mode !== 'incremental' || warm.reads === undefined) {
			throw new Error(`the later poll was a ${warm.mode} sync: no incremental read to compare`);
		}
		const [resyncBaseline] = await worker({
			mode: 'autofetch',
			url: fake.url,
			expected: count,
			reads: warm.reads,
		});
		if (Number(resyncBaseline.records) !== Number(warm.records)) {
			throw new Error(
				`autoFetch over the re-sync's queries read ${resyncBaseline.records} records (${String(resyncBaseline.recordsPerRead)}), the re-sync ${warm.records}: not the same records, no comparison`,
			);
		}

		const fullRate = (Number(full.records) / Number(full.ms)) * 1000;
		const baseRate = (Number(baseline.records) / Number(baseline.ms)) * 1000;
		const resyncRate = (Number(warm.records) / Number(warm.ms)) * 1000;
		const resyncBaseRate = (Number(resyncBaseline.records) / Number(resyncBaseline.ms)) * 1000;
		const resyncRatio = resyncRate / resyncBaseRate;
		const speedup = Number(full.ms) / Number(warm.ms);
		const coldSpeedup = Number(full.ms) / Number(cold.ms);
		const seconds = (m: Measurement, digits = 1) => (Number(m.ms) / 1000).toFixed(digits);
		console.log(`\n${fmt(count)} contacts (Contact with Account.Name, Email != null)`);
		console.log(
			`  full sync on a sync thread (${full.via}): ${fmt(Number(full.records))} records in ${seconds(full)} s = ${fmt(fullRate)} records/s, peak RSS ${full.peakRssMb} MB (${full.rssBeforeMb} MB before the sync), ${full.apiCalls} API calls; CPU ${cpu(full.cpuMs)} in the syncing process, ${cpu(fakeCpuForFull)} in the fake for it`,
		);
		console.log(
			`  same full sync on the calling thread: ${seconds(here)} s, peak RSS ${here.peakRssMb} MB (V8's young generation grows to its default maximum)`,
		);
		console.log(
			`  re-sync after 1% changed, later poll: ${fmt(modified.modified)} modified → ${fmt(Number(warm.records))} records read, ${warm.updated} updated, ${warm.entered} entered, ${warm.exited} exited in ${seconds(warm, 3)} s = ${fmt(resyncRate)} records/s (${warm.mode}, ${warm.apiCalls} API calls); for information ${speedup.toFixed(0)}× faster than the full sync`,
		);
		console.log(
			`  re-sync after 1% changed, first poll of a fresh process: ${fmt(Number(cold.records))} records read in ${seconds(cold, 3)} s (${cold.apiCalls} API calls, peak RSS ${cold.peakRssMb} MB): ${coldSpeedup.toFixed(0)}×`,
		);
		console.log(
			`  baseline jsforce autoFetch: ${fmt(Number(baseline.records))} records in ${seconds(baseline)} s = ${fmt(baseRate)} records/s, peak RSS ${baseline.peakRssMb} MB (${baseline.rssBeforeMb} MB before; records only held in memory, nothing stored); CPU ${cpu(baseline.cpuMs)} in its process, ${cpu(fakeCpuForBaseline)} in the fake for it`,
		);
		console.log(
			`  baseline jsforce autoFetch over the later poll's queries (queryAll of changes, then matching changes, from ${modstampFilter(warm.reads.matched)}): ${fmt(Number(resyncBaseline.records))} records (${(resyncBaseline.recordsPerRead ?? []).map(fmt).join(' + ')}; the re-sync read ${fmt(Number(warm.records))}) in ${seconds(resyncBaseline, 3)} s = ${fmt(resyncBaseRate)} records/s`,
		);
		console.log(
			`  ratio: sync/baseline records/s ${(fullRate / baseRate).toFixed(2)}, peak RSS ${(Number(full.peakRssMb) / Number(baseline.peakRssMb)).toFixed(2)}`,
		);
		const ratio = fullRate / baseRate;
		const okRate = ratio >= MIN_FULL_SYNC_RATIO;
		const okRss = Number(full.peakRssMb) <= RSS_LIMIT_MB;
		const okResync = resyncRatio >= MIN_RESYNC_RATIO;
		const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
		console.log(
			`  targets: full sync ${ratio.toFixed(2)}× autoFetch records/s, goal ≥ ${MIN_FULL_SYNC_RATIO.toFixed(1)}× ${verdict(okRate)}; peak RSS ${full.peakRssMb} MB, goal ≤ ${RSS_LIMIT_MB} MB ${verdict(okRss)}; re-sync ${resyncRatio.toFixed(2)}× autoFetch records/s over its queries, goal ≥ ${MIN_RESYNC_RATIO.toFixed(1)}× ${verdict(okResync)}`,
		);
		return okRate && okRss && okResync;
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
		`bench:sync — ${process.version}, fake Salesforce in its own process, SQLite store, Bulk API 2.0 above 10,000 records, sync thread heap limits: young generation ${DEFAULT_SYNC_THREAD_YOUNG_GENERATION_MB} MB, old generation ${DEFAULT_SYNC_THREAD_OLD_GENERATION_MB} MB`,
	);
	let allMet = true;
	for (const size of sizes) allMet = (await benchSize(size)) && allMet;
	if (!allMet) process.exitCode = 1;
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
