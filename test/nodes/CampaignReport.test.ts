import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { CampaignReport } from '../../nodes/CampaignReport/CampaignReport.node';
import { FrequencyCap } from '../../nodes/FrequencyCap/FrequencyCap.node';
import { closeSharedCampaignStores, SqliteCampaignStore } from '../../src';
import { fakeContext } from './fake-context';

const folder = mkdtempSync(join(tmpdir(), 'tc-report-node-'));
const filePath = join(folder, 'store.sqlite');
const credentials = { campaignStoreApi: { backend: 'sqlite', filePath } };
afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function withStore<T>(work: (store: SqliteCampaignStore) => Promise<T>): Promise<T> {
	const store = new SqliteCampaignStore({ filePath });
	try {
		return await work(store);
	} finally {
		await store.close();
	}
}

async function execute(
	node: CampaignReport | FrequencyCap,
	parameters: Record<string, unknown>,
	items: Array<{ json: Record<string, unknown> }> = [{ json: {} }],
): Promise<INodeExecutionData[][]> {
	const { context } = fakeContext({
		nodeType: node,
		parameters,
		credentials,
		items,
		nodeId: 'node-x',
	});
	return node.execute.call(context as unknown as IExecuteFunctions);
}

/** Enters users with one trigger each, sends, holds out or fails each, and records purchases. */
async function seed(campaignId: string, start: number) {
	return withStore(async (store) => {
		const users = ['a1', 'a2', 'a3', 'a4', 'c1', 'c2', 'c3', 'c4'];
		const { entries } = await store.ingest({
			events: users.map((user, i) => ({
				messageId: `${campaignId}-t-${user}`,
				userId: `${campaignId}-${user}`,
				name: 'Cart Abandoned',
				occurredAt: start + i,
				receivedAt: start + i,
				properties: { cart_id: `cart-${user}` },
			})),
			entry: { campaignId, reEntry: { mode: 'everyTime' }, candidates: users.map((_, i) => i) },
			now: start + 10,
		});
		for (const { entry } of entries) {
			const key = `${campaignId}:${entry.entryId}:send`;
			await store.reserveSends([
				{
					idempotencyKey: key,
					campaignId,
					stepId: 'send',
					entryId: entry.entryId,
					userId: entry.userId,
					channel: 'email',
					tags: [],
					now: start + HOUR,
					expiresAt: start + 2 * HOUR,
					countsTowardCap: true,
					limits: [],
				},
			]);
			const control = /-c\d$/.test(entry.userId);
			await store.completeSend(
				key,
				control
					? {
							state: 'released',
							at: start + HOUR,
							variant: 'control',
							error: 'control group: not sent',
						}
					: { state: 'sent', at: start + HOUR, variant: 'B' },
			);
		}
		// Three of four B users and one of four control users buy their cart within a day.
		await store.ingest({
			events: ['a1', 'a2', 'a3', 'c1'].map((user) => ({
				messageId: `${campaignId}-buy-${user}`,
				userId: `${campaignId}-${user}`,
				name: 'Order Completed',
				occurredAt: start + 2 * HOUR,
				receivedAt: start + 2 * HOUR,
				properties: { cart_id: `cart-${user}` },
			})),
			now: start + 2 * HOUR,
		});
	});
}

const reportParameters = {
	campaignIds: 'report-node',
	measureConversions: true,
	conversionEvents: 'Order Completed',
	matchProperty: 'cart_id',
	windowAmount: 7,
	windowUnit: 'days',
	windowFrom: 'send',
	includeChart: true,
};

describe('Campaign Report node', () => {
	it('outputs one item per variant and a total carrying an SVG chart of the funnel and the rates', async () => {
		await seed('report-node', Date.now() - 3 * DAY);
		const [items] = await execute(new CampaignReport(), reportParameters);
		expect(items.map((item) => item.json.variant)).toEqual(['B', 'control', 'total']);
		const [b, control, total] = items.map((item) => item.json);
		expect(b).toMatchObject({
			entered: 4,
			sent: 4,
			measured: 4,
			converted: 3,
			conversionRate: 0.75,
		});
		expect(control).toMatchObject({ entered: 4, control: 4, measured: 4, converted: 1 });
		expect(b.lift).toBeCloseTo(0.5, 10);
		expect(b.verdict).toBe('too small to tell');
		expect(String(b.method)).toMatch(/Newcombe.*two-proportion z-test/);
		expect(total).toMatchObject({ entered: 8, converted: 4 });
		const chart = items[2].binary!.chart;
		expect(chart.mimeType).toBe('image/svg+xml');
		expect(chart.fileName).toBe('campaign-report-report-node.svg');
		const svg = Buffer.from(chart.data, 'base64').toString('utf8');
		expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
		expect(svg).toContain('Funnel (entries)');
		expect(svg).toContain('Conversion rate with 95% interval (Order Completed)');
		expect(svg).toContain('lift +50.0 pt');
	});

	it('counts the users the Frequency Cap refused as capped', async () => {
		const now = Date.now();
		const items = await withStore(async (store) => {
			// One event enters the user into two campaigns; the second campaign's message is capped.
			const result = await Promise.all(
				['first', 'second'].map((campaign, i) =>
					store.ingest({
						events: [
							{
								messageId: `cap-report-${campaign}`,
								userId: 'capped-user',
								name: 'Cart Abandoned',
								occurredAt: now - 1000,
								receivedAt: now - 1000,
								properties: {},
							},
						],
						entry: {
							campaignId: `cap-report-${i}`,
							reEntry: { mode: 'everyTime' },
							candidates: [0],
						},
						now,
					}),
				),
			);
			return result.map(({ entries: [{ entry }] }) => ({
				json: {
					userId: entry.userId,
					campaignId: entry.campaignId,
					entryId: entry.entryId,
					triggeredAt: new Date(entry.triggeredAt).toISOString(),
				},
			}));
		});
		const cap = {
			channel: 'email',
			rules: {
				rule: [
					{
						maxMessages: 1,
						window: 'rolling',
						amount: 1,
						unit: 'days',
						scope: 'all',
						channelScope: 'any',
					},
				],
			},
			minGapMinutes: 0,
			quietHours: false,
			reservationTtlMinutes: 60,
		};
		const first = await execute(new FrequencyCap(), cap, [items[0]]);
		expect(first[0]).toHaveLength(1);
		const second = await execute(new FrequencyCap(), cap, [items[1]]);
		expect(second[1]).toHaveLength(1);
		const [rows] = await execute(new CampaignReport(), {
			campaignIds: 'cap-report-0, cap-report-1',
			measureConversions: false,
			includeChart: false,
		});
		expect(rows.map((row) => [row.json.campaignId, row.json.variant, row.json.capped])).toEqual([
			['cap-report-0', '(no message)', 0],
			['cap-report-0', 'total', 0],
			['cap-report-1', '(no message)', 1],
			['cap-report-1', 'total', 1],
		]);
		expect(rows[3].binary).toBeUndefined();
	});

	it('names the parameter to fix', async () => {
		await expect(
			execute(new CampaignReport(), { ...reportParameters, conversionEvents: ' , ' }),
		).rejects.toThrow(/Conversion Events is empty/);
		await expect(
			execute(new CampaignReport(), { ...reportParameters, windowAmount: 91 }),
		).rejects.toThrow(/at most 90 days \(got 91 days\)/);
		await expect(
			execute(new CampaignReport(), { ...reportParameters, campaignIds: '' }),
		).rejects.toThrow(/Campaign IDs is empty/);
		await expect(
			execute(new CampaignReport(), { ...reportParameters, matchProperty: 'a..b' }),
		).rejects.toThrow(/conversion\.matchProperty/);
	});
});
