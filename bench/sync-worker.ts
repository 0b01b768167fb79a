/**
 * One measured run of `npm run bench:sync`, in its own process so that its peak RSS is its own.
 * It runs the package as shipped: plain Node on the compiled `dist/` (no TypeScript loader;
 * Node 24 strips this file's few type annotations), so the RSS is what an n8n worker would add.
 * Prints one JSON line.
 *
 *   node bench/sync-worker.ts '<json job>'
 *     {"mode":"sync","url":…,"file":…,"app":…,"user":…,"segment":…}   segment sync into SQLite
 *     {"mode":"autofetch","url":…,"expected":N,"app":…,"user":…,"segment":…} jsforce autoFetch
 */
// require(), not import: this file runs without a TypeScript loader, as CommonJS.
/* eslint-disable @typescript-eslint/no-require-imports */
const engine = require('../dist/index.js') as typeof import('../src/index');
/* eslint-enable @typescript-eslint/no-require-imports */

interface Job {
	mode: 'sync' | 'autofetch';
	url: string;
	file?: string;
	expected?: number;
	app: { clientId: string; clientSecret: string };
	user: { username: string; password: string };
	segment: import('../src/index').SegmentDefinition;
}

const API_VERSION = '62.0';

function peakRssMb(): number {
	// maxRSS is in kilobytes and covers the whole life of this process.
	return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function runSync(job: Job): Promise<Record<string, unknown>> {
	const store = new engine.SqliteCampaignStore({ filePath: job.file! });
	const session = engine.passwordSession({ loginUrl: job.url, ...job.app, ...job.user });
	const api = new engine.SalesforceApi({ session, apiVersion: API_VERSION });
	// Logged in before the clock starts: in n8n the token outlives a poll (one per credential
	// per process), and the baseline's jsforce login is outside its timing too.
	await session.getToken();
	const rssBefore = Math.round(process.memoryUsage().rss / 1024 / 1024);
	const started = performance.now();
	const report = await engine.syncSegment({
		api,
		store,
		definition: job.segment,
		firstSync: 'trackOnly',
		// The fake completes bulk jobs at once; do not wait the real poll interval.
		sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))),
	});
	const ms = performance.now() - started;
	await store.close();
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
		rssBeforeMb: rssBefore,
		peakRssMb: peakRssMb(),
	};
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
	const segment = engine.resolveSegmentDefinition(job.segment);
	const soql = engine.buildSegmentQuery({
		object: segment.object,
		fields: engine.selectedFieldPaths(segment),
		where: segment.where,
	});
	const rssBefore = Math.round(process.memoryUsage().rss / 1024 / 1024);
	const started = performance.now();
	// What a plain jsforce read does: every page fetched and kept in memory.
	const result = await conn.query(soql, { autoFetch: true, maxFetch: (job.expected ?? 0) + 1 });
	const ms = performance.now() - started;
	return { records: result.records.length, ms, rssBeforeMb: rssBefore, peakRssMb: peakRssMb() };
}

async function main(): Promise<void> {
	const job = JSON.parse(process.argv[2] ?? '{}') as Job;
	const result = job.mode === 'sync' ? await runSync(job) : await runAutoFetch(job);
	process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
