import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

/** The community-node rules judge what n8n loads; tests, benchmarks and the demo are not shipped. */
const communityRulesOff = Object.fromEntries(
	Object.keys(n8nCommunityNodesPlugin.rules).map((name) => [`@n8n/community-nodes/${name}`, 'off']),
);

/**
 * n8n's community-node rules (eslint-plugin-n8n-nodes-base rule sets and
 * @n8n/eslint-plugin-community-nodes), without the n8n Cloud rules: this package is
 * self-hosted only, because the campaign store needs a database driver at run time.
 */
export default [
	{ ignores: ['dist/', 'coverage/', 'node_modules/'] },
	...configWithoutCloudSupport,
	{
		files: ['package.json'],
		rules: {
			// Self-hosted only: `pg` (and later jsforce, liquidjs) are runtime dependencies by design.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		// The engine is framework-free (it never imports n8n-workflow): it throws its own typed
		// errors, which the nodes translate to NodeOperationError at the edge.
		files: ['src/**/*.ts', 'index.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	{
		// Senders post to the trigger's URL; there is no third-party service to register it with.
		files: ['nodes/CampaignEventTrigger/CampaignEventTrigger.node.ts'],
		rules: { '@n8n/community-nodes/webhook-lifecycle-complete': 'off' },
	},
	{
		files: ['test/**/*.ts', 'bench/**/*.ts', 'demo/**/*.ts'],
		rules: communityRulesOff,
	},
	{
		// The engine, tests, benchmarks and the demo are not n8n nodes; the console is their output.
		files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'demo/**/*.ts'],
		rules: { 'no-console': 'off' },
	},
];
