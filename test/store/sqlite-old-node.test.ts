import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/**
 * The embedded store on a Node.js without `node:sqlite` must say what to do, not crash on
 * import. The machines this runs on have an older system Node beside the project's Node 24.
 */
function findOldNode(): string | undefined {
	for (const folder of (process.env.PATH ?? '').split(delimiter)) {
		const candidate = join(folder, 'node');
		if (!folder || folder.includes('node_modules') || !existsSync(candidate)) continue;
		const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
		const [major, minor] = version.slice(1).split('.').map(Number);
		if (major < 22 || (major === 22 && minor < 13)) return candidate;
	}
	return undefined;
}

const oldNode = findOldNode();
const root = resolve(__dirname, '../..');

(oldNode ? it : it.skip)(
	`explains the Node.js requirement and points to PostgreSQL (on ${oldNode ?? 'no older Node found'})`,
	() => {
		const script = `
			const { openCampaignStore } = require('./src/store/open-store.ts');
			openCampaignStore({ backend: 'sqlite', filePath: ':memory:' }).then(
				() => console.log('opened'),
				(error) => console.log(error.name + ': ' + error.message),
			);`;
		const output = execFileSync(oldNode!, ['--import', 'tsx', '-e', script], {
			cwd: root,
			encoding: 'utf8',
		});
		expect(output.trim()).toMatch(
			/^StoreConfigurationError: The embedded SQLite store needs Node\.js 22\.13 or later \(this is v\d+\.\d+\.\d+\)\. Run n8n on a newer Node\.js, or choose PostgreSQL in the Campaign Store credential\.$/,
		);
	},
);
