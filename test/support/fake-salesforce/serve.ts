/**
 * Runs the fake in its own process (for benchmarks and the demo):
 *
 *   tsx test/support/fake-salesforce/serve.ts [--port N] [--page-size N] [--bulk-polls N] [--now ms]
 *
 * Prints one JSON line {"url": "..."} on stdout once listening; drive it through /__fake/
 * admin routes (see admin.ts). SIGTERM / SIGINT close it.
 */
import { FakeSalesforce } from './index';

function option(name: string): number | undefined {
	const position = process.argv.indexOf(`--${name}`);
	if (position < 0) return undefined;
	const value = Number(process.argv[position + 1]);
	if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
	return value;
}

async function main(): Promise<void> {
	const fake = await FakeSalesforce.start({
		port: option('port'),
		queryPageSize: option('page-size'),
		bulkPollsUntilComplete: option('bulk-polls'),
		now: option('now'),
	});
	process.stdout.write(JSON.stringify({ url: fake.url, pid: process.pid }) + '\n');
	const stop = () => {
		void fake.close().then(() => process.exit(0));
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
