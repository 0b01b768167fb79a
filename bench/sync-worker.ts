/**
 * One measured run of `npm run bench:sync`, in its own process so that its peak RSS is its own.
 * It runs the package as shipped: plain Node on the compiled `dist/` (no TypeScript loader;
 * Node 24 strips this file's few type annotations), so the RSS is what an n8n worker would add.
 * Prints one JSON line per measurement.
 *
 *   node bench/sync-worker.ts '<json job>'
 *     {"mode":"thread",…}    full sync on a sync thread, as the Segment Trigger runs it
 *     {"mode":"sync",…}      the same sync on the calling thread
 *     {"mode":"resync",…}    a sync (first poll of a fresh process), then, after a line on
 *                            stdin, another one in the same process (a later poll)
 *                            (each incremental one prints the queries it sent, `reads`)
 *     {"mode":"autofetch",…} jsforce autoFetch over the same records: the full read's query,
 *                            or with `reads` a re-sync's queries (the first as a queryAll)
 */
// require(), not import: this file runs without a TypeScript loader, as CommonJS.
/* eslint-disable @typescript-eslint/no-require-imports */
const engine = require('../dist/index.js') as typeof import('../src/index');
/* eslint-enable @typescript-eslint/no-require-imports */

interface Job {
	mode: 'thread' | 'sync' | 'resync' | 'autofetch';
	url: string;
	file?: string;
	expected?: number;
	/** For `autofetch`: the queries a re-sync sent, instead of the full read's. */
	reads?: import('../src/index').IncrementalReadQueries;
	app: { clientId: string; clientSecret: string };
	user: { username: string; password: string };
	segment: import('../src/index').SegmentDefinition;
}

const API_VERSION = '62.0';

function peakRssMb(): number {
	// maxRSS is in kilobytes and covers the whole life of this process.
	return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** The fake completes bulk jobs at once; do not wait Salesforce's real poll interval. */
const BULK_POLL_INTERVAL_MS = 20;

async function openSession(job: Job) {
	const session = engine.passwordSession({ loginUrl: job.url, ...job.app, ...job.user });
	// Logged in before the clock starts: in n8n the token outlives a poll (one per credential
	// per process), and the baseline's jsforce login is outside its timing too.
	await session.getToken();
	return session;
}

/** CPU milliseconds of this process (all its threads, a sync thread's too) since `since`. */
const cpuMsSince = (since: NodeJS.CpuUsage) => {
	const used = process.cpuUsage(since);
	return Math.round((used.user + used.system) / 1000);
};

function summary(
	report: import('../src/index').SegmentSyncReport,
	ms: number,
	rssBefore: number,
	cpuMs: number,
) {
	return {
		mode: report.mode,
		via: report.via,
		records: report.recordsRead,
		entered: report.entered,
		exited: report.exited,
		updated: report.updated,
		members: report.memberCount,
		apiCalls: report.apiCalls,
		ms,
		cpuMs,
		rssBeforeMb: rssBefore,
		peakRssMb: peakRssMb(),
	};
}

const rssMb = () => Math.round(process.memoryUsage().rss / 1024 / 1024);

/** Full sync on a sync thread: what the Segment Trigger does for a full read. */
async function runOnThread(job: Job): Promise<void> {
	const session = await openSession(job);
	const rssBefore = rssMb();
	const cpuBefore = process.cpuUsage();
	const started = performance.now();
	const report = await engine.syncSegmentOnThread({
		storeConfig: { backend: 'sqlite', filePath: job.file! },
		session,
		apiVersion: API_VERSION,
		definition: job.segment,
		firstSync: 'trackOnly',
		bulkPollIntervalMs: BULK_POLL_INTERVAL_MS,
	});
	print(summary(report, performance.now() - started, rssBefore, cpuMsSince(cpuBefore)));
}

/** Syncs on this thread; `resync` runs a second one after the orchestrator changed records. */
async function runHere(job: Job): Promise<void> {
	const store = new engine.SqliteCampaignStore({ filePath: job.file! });
	const api = new engine.SalesforceApi({
		session: await openSession(job),
		apiVersion: API_VERSION,
	});
	const sync = async () => {
		// The mark an incremental sync reads from, taken before the clock starts.
		const { mark } = (await store.getSegmentState(job.segment.segmentId)) ?? {};
		const rssBefore = rssMb();
		const cpuBefore = process.cpuUsage();
		const started = performance.now();
		const report = await engine.syncSegment({
			api,
			store,
			definition: job.segment,
			firstSync: 'trackOnly',
			bulkPollIntervalMs: BULK_POLL_INTERVAL_MS,
		});
		const ms = performance.now() - started;
		const cpuMs = cpuMsSince(cpuBefore);
		// The queries it sent, built by the function the sync builds them with, for the baseline.
		const reads =
			report.mode === 'incremental' && mark !== undefined
				? engine.incrementalReadQueries(job.segment, mark)
				: undefined;
		print({ ...summary(report, ms, rssBefore, cpuMs), ...(reads ? { reads } : {}) });
	};
	await sync();
	if (job.mode === 'resync') {
		await nextStdinLine();
		await sync();
	}
	await store.close();
}

function print(result: Record<string, unknown>): void {
	process.stdout.write(JSON.stringify(result) + '\n');
}

function nextStdinLine(): Promise<void> {
	return new Promise((resolve) => {
		const onData = (chunk: Buffer) => {
			if (!chunk.toString().includes('\n')) return;
			process.stdin.off('data', onData);
			process.stdin.destroy();
			resolve();
		};
		process.stdin.on('data', onData);
	});
}

async function runAutoFetch(job: Job): Promise<Record<string, unknown>> {
	// Loaded only for the baseline, so the sync's figures do not carry jsforce's memory.
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const jsforce = require('@jsforce/jsforce-node') as typeof import('@jsforce/jsforce-node');
	const conn = new jsforce.Connection({
		oauth2: new jsforce.OAuth2({ loginUrl: job.url, ...job.app }),
		version: API_VERSION,
	});
	await conn.login(job.user.username, job.user.password);
	// The very queries the sync sent: its full read's, or a re-sync's two (changes and deletes
	// as a queryAll, then the matching changes), in its order.
	const reads = job.reads
		? [
				{ soql: job.reads.changed, scanAll: true },
				{ soql: job.reads.matched, scanAll: false },
			]
		: [{ soql: engine.fullReadQuery(job.segment), scanAll: false }];
	const rssBefore = Math.round(process.memoryUsage().rss / 1024 / 1024);
	const recordsPerRead: number[] = [];
	const cpuBefore = process.cpuUsage();
	const started = performance.now();
	for (const { soql, scanAll } of reads) {
		// What a plain jsforce read does: every page fetched and kept in memory.
		const result = await conn.query(soql, {
			autoFetch: true,
			maxFetch: (job.expected ?? 0) + 1,
			scanAll,
		});
		recordsPerRead.push(result.records.length);
	}
	const ms = performance.now() - started;
	const cpuMs = cpuMsSince(cpuBefore);
	const records = recordsPerRead.reduce((sum, count) => sum + count, 0);
	return { records, recordsPerRead, ms, cpuMs, rssBeforeMb: rssBefore, peakRssMb: peakRssMb() };
}

async function main(): Promise<void> {
	const job = JSON.parse(process.argv[2] ?? '{}') as Job;
	if (job.mode === 'thread') await runOnThread(job);
	else if (job.mode === 'autofetch') print(await runAutoFetch(job));
	else await runHere(job);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
