/**
 * `npm run demo`: an abandoned-cart campaign run in-process on the embedded SQLite store,
 * through the same code path as the Campaign Event Trigger node, printing what happened.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	handleEventRequest,
	SqliteCampaignStore,
	type TriggerRule,
	type WebhookAuth,
} from '../src';

const HOUR = 3_600_000;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();

const rule: TriggerRule = {
	campaignId: 'abandoned-cart',
	eventNames: ['Added to Cart'],
	propertyFilters: [{ property: 'cart_value', operator: 'greaterThan', value: '100' }],
	startsAt: now - 24 * HOUR,
	reEntry: { mode: 'oncePerPeriod', periodMs: 24 * HOUR },
};
const auth: WebhookAuth = {
	type: 'hmacSha256',
	headerName: 'X-Signature',
	secret: 'demo-shared-secret-0123456789',
};

const batch = [
	{
		userId: 'ana',
		event: 'Added to Cart',
		messageId: 'ana-1',
		timestamp: iso(now - 2 * HOUR),
		properties: { cart_id: 'A1', cart_value: 150 },
		context: { timezone: 'Europe/Berlin' },
	},
	{
		userId: 'ben',
		event: 'Added to Cart',
		timestamp: iso(now - 2 * HOUR),
		properties: { cart_id: 'B1', cart_value: 40 },
	},
	{
		userId: 'chen',
		event: 'Opened App',
		timestamp: iso(now - HOUR),
		context: { timezone: 'Asia/Shanghai' },
	},
	{
		userId: 'ana',
		event: 'Added to Cart',
		timestamp: iso(now - HOUR),
		properties: { cart_id: 'A2', cart_value: 220 },
	},
	{
		userId: 'dev',
		event: 'Added to Cart',
		timestamp: iso(now - 30 * HOUR),
		properties: { cart_id: 'D1', cart_value: 300 },
	},
	{ userId: 'eli', properties: { cart_value: 120 } },
	{
		userId: 'fay',
		event: 'Added to Cart',
		timestamp: iso(now - HOUR / 2),
		properties: { cart_id: 'F1', cart_value: '180.00' },
		context: { timezone: 'America/New_York' },
	},
];
const retry = [{ ...batch[0] }];

function sign(body: string): Record<string, string> {
	return {
		'x-signature': createHmac('sha256', auth.type === 'hmacSha256' ? auth.secret : '')
			.update(body)
			.digest('hex'),
	};
}

async function main(): Promise<void> {
	const folder = mkdtempSync(join(tmpdir(), 'triggered-campaigns-demo-'));
	const store = new SqliteCampaignStore({ filePath: join(folder, 'triggered-campaigns.sqlite') });
	console.log(`Campaign store: embedded SQLite at ${store.options.filePath}\n`);
	console.log(
		`Campaign "${rule.campaignId}": trigger "Added to Cart" where cart_value > 100, started ${iso(rule.startsAt!)}, each user at most once per 24 h\n`,
	);

	const post = async (label: string, payload: unknown, headers?: Record<string, string>) => {
		const body = JSON.stringify(payload);
		const response = await handleEventRequest({
			rawBody: Buffer.from(body),
			headers: headers ?? sign(body),
			auth,
			rule,
			maxBatchSize: 1000,
			store: async () => store,
			now,
		});
		console.log(`POST ${label} → ${response.status} ${JSON.stringify(response.body)}`);
		return response;
	};

	await post('batch of 7 events with a forged signature', { batch }, { 'x-signature': 'deadbeef' });
	console.log('  nothing recorded, nothing triggered\n');

	const response = await post('batch of 7 events, signed', { batch });
	const lines: Array<[number, string]> = [];
	for (const entered of response.triggered) {
		lines.push([
			entered.position,
			`✔ ${entered.entry.userId} entered: "${entered.event.name}" (cart ${String(entered.event.properties.cart_id)}, value ${String(entered.event.properties.cart_value)}) at ${iso(entered.entry.triggeredAt)}, entry ${entered.entry.entryId.slice(0, 8)}`,
		]);
	}
	for (const skipped of response.outcome?.skipped ?? []) {
		lines.push([skipped.position, `· ${skipped.userId} did not enter: ${skipped.reason}`]);
	}
	for (const rejected of response.outcome?.rejected ?? []) {
		lines.push([rejected.index ?? 0, `✘ event #${rejected.index} rejected: ${rejected.message}`]);
	}
	for (const [position, line] of lines.sort((a, b) => a[0] - b[0]))
		console.log(`  #${position} ${line}`);

	console.log('');
	await post('the first event again (a retry with the same messageId)', { batch: retry });
	console.log('  recorded once: the retry is a duplicate and triggers nothing\n');

	const ana = await store.findEvents({ userId: 'ana', names: [], after: 0 });
	console.log(
		`Events recorded for ana: ${ana.map((e) => `${e.name} ${e.properties.cart_id} at ${iso(e.occurredAt)}`).join('; ')}`,
	);
	console.log(
		`The workflow would run once, with ${response.triggered.length} items: ${response.triggered.map((t) => t.entry.userId).join(', ')}`,
	);

	await store.close();
	rmSync(folder, { recursive: true, force: true });
}

main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
