/**
 * The demo's last part: "did it work?". The Campaign Report over the journey the demo just
 * ran, then over a larger campaign simulated through the same store calls the steps make
 * (3,000 users, a third held out as control, variant B converting 5 points better), with the
 * chart written to a file.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	assignVariant,
	buildCampaignReport,
	formatReportTable,
	renderReportChart,
	SqliteCampaignStore,
	type CampaignEvent,
	type CampaignStore,
	type ConversionRule,
} from '../src';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const purchase: ConversionRule = {
	eventNames: ['Order Completed'],
	matchProperty: 'cart_id',
	windowMs: 7 * DAY,
	windowFrom: 'send',
};

/** A small seeded generator (mulberry32), so the simulated campaign is the same every run. */
function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
	};
}

/** 3,000 users abandon a cart; each gets variant A, B or control; some buy that cart. */
async function simulateSpringSale(store: CampaignStore, start: number): Promise<void> {
	const campaignId = 'spring-sale';
	const variants = [
		{ name: 'A', weight: 1 },
		{ name: 'B', weight: 1 },
	];
	const buyRate: Record<string, number> = { control: 0.1, A: 0.11, B: 0.15 };
	const random = seededRandom(42);
	const triggers: CampaignEvent[] = Array.from({ length: 3000 }, (_, i) => ({
		messageId: `spring-${i}`,
		userId: `shopper-${i}`,
		name: 'Added to Cart',
		occurredAt: start + i * 60_000,
		receivedAt: start + i * 60_000,
		properties: { cart_id: `S${i}` },
	}));
	const { entries } = await store.ingest({
		events: triggers,
		entry: { campaignId, reEntry: { mode: 'everyTime' }, candidates: triggers.map((_, i) => i) },
		now: start,
	});
	const purchases: CampaignEvent[] = [];
	for (const { eventIndex, entry } of entries) {
		const sendAt = entry.triggeredAt + 30 * 60_000;
		// Some leave before the message: they bought already, or unsubscribed.
		if (random() < 0.03) {
			await store.exitEntry(entry.entryId, 'exceptionEvent: bought before the message', sendAt);
			continue;
		}
		if (random() < 0.04) {
			await store.recordCapDecisions([
				{
					campaignId,
					stepId: 'cap',
					entryId: entry.entryId,
					userId: entry.userId,
					decision: 'capped',
					rules: ['1'],
					at: sendAt,
				},
			]);
			continue;
		}
		// Some arrive in quiet hours: deferred once, sent when the window opens.
		if (random() < 0.06)
			await store.recordCapDecisions([
				{
					campaignId,
					stepId: 'cap',
					entryId: entry.entryId,
					userId: entry.userId,
					decision: 'deferred',
					rules: ['quietHours'],
					at: sendAt,
				},
			]);
		const choice = assignVariant({
			campaignId,
			userId: entry.userId,
			variants,
			controlShare: 1 / 3,
		});
		const variant = choice.kind === 'control' ? 'control' : choice.name;
		const key = `${campaignId}:${entry.entryId}:send`;
		await store.reserveSends([
			{
				idempotencyKey: key,
				campaignId,
				stepId: 'send',
				entryId: entry.entryId,
				userId: entry.userId,
				channel: 'in_app',
				tags: [],
				now: sendAt,
				expiresAt: sendAt + HOUR,
				countsTowardCap: true,
				limits: [],
			},
		]);
		await store.completeSend(
			key,
			variant === 'control'
				? { state: 'released', at: sendAt, error: 'control group: not sent', variant }
				: random() < 0.01
					? { state: 'failed', at: sendAt, error: 'HTTP 503', variant }
					: { state: 'sent', at: sendAt, variant },
		);
		if (random() < buyRate[variant])
			purchases.push({
				messageId: `spring-buy-${eventIndex}`,
				userId: entry.userId,
				name: 'Order Completed',
				occurredAt: sendAt + Math.floor(random() * 5 * DAY),
				receivedAt: sendAt + 5 * DAY,
				properties: { cart_id: `S${eventIndex}` },
			});
	}
	await store.ingest({ events: purchases, now: start + 10 * DAY });
}

export async function runReports(store: CampaignStore, now: number): Promise<void> {
	console.log('\n5. Did it work? The Campaign Report');
	console.log(
		'   Conversion: "Order Completed" of the same cart_id within 7 days of the message (control: of being held out).\n',
	);
	const journey = await buildCampaignReport(store, {
		campaignId: 'abandoned-cart',
		conversion: purchase,
		now,
	});
	console.log(indent(formatReportTable(journey)));
	console.log(
		'\n   So few users tell nothing yet; here is the same report over a simulated campaign of 3,000 users',
	);
	const simulated = new SqliteCampaignStore({ filePath: ':memory:' });
	try {
		const start = now - 20 * DAY;
		await simulateSpringSale(simulated, start);
		const report = await buildCampaignReport(simulated, {
			campaignId: 'spring-sale',
			conversion: purchase,
			now,
		});
		console.log(indent(formatReportTable(report)));
		const chartPath = join(tmpdir(), 'campaign-report-spring-sale.svg');
		writeFileSync(chartPath, renderReportChart(report));
		console.log(`\n   Chart of the funnel and the conversion rates: ${chartPath}`);
	} finally {
		await simulated.close();
	}
}

const indent = (text: string) =>
	text
		.split('\n')
		.map((line) => `   ${line}`)
		.join('\n');
