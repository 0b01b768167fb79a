import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IHookFunctions, IWebhookFunctions } from 'n8n-workflow';

import { CampaignEventTrigger } from '../../nodes/CampaignEventTrigger/CampaignEventTrigger.node';
import { closeSharedCampaignStores, SqliteCampaignStore } from '../../src';
import { fakeContext, type FakeContextOptions } from './fake-context';

const folder = mkdtempSync(join(tmpdir(), 'tc-trigger-'));
const filePath = join(folder, 'store.sqlite');
afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

const baseParameters = {
	campaignId: 'abandoned-cart',
	eventNames: 'Added to Cart, Session Ended',
	propertyFilters: { filter: [{ property: 'cart_value', operator: 'greaterThan', value: '100' }] },
	reEntry: 'oncePerPeriod',
	reEntryPeriod: 1,
	reEntryPeriodUnit: 'days',
	authentication: 'none',
	options: {},
};

async function post(body: unknown, overrides: Partial<FakeContextOptions> = {}) {
	const { context, response } = fakeContext({
		nodeType: new CampaignEventTrigger(),
		parameters: baseParameters,
		credentials: { campaignStoreApi: { backend: 'sqlite', filePath } },
		body: typeof body === 'string' ? body : JSON.stringify(body),
		...overrides,
	});
	const result = await new CampaignEventTrigger().webhook.call(
		context as unknown as IWebhookFunctions,
	);
	return { result, response };
}

async function recordedEvents(userId: string) {
	const store = new SqliteCampaignStore({ filePath });
	try {
		return await store.findEvents({ userId, names: [], after: 0 });
	} finally {
		await store.close();
	}
}

describe('Campaign Event Trigger node', () => {
	it('records a batch, answers 202 with counts and emits one item per user who entered', async () => {
		const { result, response } = await post({
			batch: [
				{
					userId: 'ana',
					event: 'Added to Cart',
					properties: { cart_value: 150, cart_id: 'c1' },
					messageId: 'm-ana-1',
				},
				{ userId: 'ben', event: 'Added to Cart', properties: { cart_value: 40 } },
				{ userId: 'cy', event: 'Opened App' },
			],
		});
		expect(response).toEqual({
			statusCode: 202,
			body: { accepted: 3, duplicates: 0, triggered: 1 },
		});
		expect(result.noWebhookResponse).toBe(true);
		expect(result.workflowData).toHaveLength(1);
		const items = result.workflowData![0];
		expect(items).toHaveLength(1);
		expect(items[0].json).toMatchObject({
			userId: 'ana',
			campaignId: 'abandoned-cart',
			event: {
				messageId: 'm-ana-1',
				name: 'Added to Cart',
				properties: { cart_value: 150, cart_id: 'c1' },
			},
			profile: null,
		});
		expect(await recordedEvents('ben')).toHaveLength(1);
		expect(await recordedEvents('cy')).toHaveLength(1);
	});

	it('starts no execution when nothing triggers, and re-entry blocks the same user within the period', async () => {
		const again = await post({
			userId: 'ana',
			event: 'Added to Cart',
			properties: { cart_value: 500 },
		});
		expect(again.response).toEqual({
			statusCode: 202,
			body: { accepted: 1, duplicates: 0, triggered: 0 },
		});
		expect(again.result).toEqual({ noWebhookResponse: true });
	});

	it('answers 400 naming the field and index, and still records and triggers the valid events', async () => {
		const { result, response } = await post({
			batch: [
				{ userId: 'dee', event: 'Added to Cart', properties: { cart_value: 101 } },
				{ userId: 'eve', properties: { cart_value: 300 } },
			],
		});
		expect(response.statusCode).toBe(400);
		expect(response.body).toMatchObject({
			field: 'batch[1].event',
			accepted: 1,
			triggered: 1,
			rejected: [{ index: 1, field: 'batch[1].event' }],
		});
		expect(String((response.body as { error: string }).error)).toMatch(
			/1 of 2 events rejected.*other 1 were recorded/,
		);
		expect(result.workflowData![0].map((item) => item.json.userId)).toEqual(['dee']);
		expect(await recordedEvents('dee')).toHaveLength(1);
	});

	it('answers 400 for malformed JSON and 413 for a batch over the maximum', async () => {
		expect((await post('{"userId": "x", ')).response).toMatchObject({
			statusCode: 400,
			body: { field: 'body' },
		});
		const tooBig = await post(
			{ batch: [1, 2, 3].map((i) => ({ userId: `u${i}`, event: 'Added to Cart' })) },
			{ parameters: { ...baseParameters, options: { maxBatchSize: 2 } } },
		);
		expect(tooBig.response).toMatchObject({ statusCode: 413, body: { maxBatchSize: 2 } });
		expect(tooBig.result).toEqual({ noWebhookResponse: true });
	});

	describe('HMAC authentication', () => {
		const secret = 'a-long-shared-secret-value';
		const parameters = { ...baseParameters, authentication: 'hmacSha256' };
		const credentials = {
			campaignStoreApi: { backend: 'sqlite', filePath },
			campaignWebhookHmacApi: {
				secret,
				headerName: 'X-Signature',
				timestampHeader: '',
				toleranceSeconds: 300,
			},
		};
		const body = JSON.stringify({
			userId: 'fay',
			event: 'Added to Cart',
			properties: { cart_value: 200 },
		});

		it('accepts a correctly signed body', async () => {
			const signature = createHmac('sha256', secret).update(body).digest('hex');
			const { response, result } = await post(body, {
				parameters,
				credentials,
				headers: { 'x-signature': `sha256=${signature}` },
			});
			expect(response.statusCode).toBe(202);
			expect(result.workflowData![0]).toHaveLength(1);
		});

		it('answers 401 and records nothing for a bad signature', async () => {
			const tampered = body.replace('fay', 'gus');
			const signature = createHmac('sha256', secret).update(body).digest('hex');
			const { response, result } = await post(tampered, {
				parameters,
				credentials,
				headers: { 'x-signature': signature },
			});
			expect(response).toEqual({ statusCode: 401, body: { error: 'Unauthorized: bad signature' } });
			expect(result).toEqual({ noWebhookResponse: true });
			expect(await recordedEvents('gus')).toEqual([]);
		});
	});

	it('answers 500 naming the credential when its Campaign Store credential cannot be read', async () => {
		const { result, response } = await post(
			{ userId: 'ivy', event: 'Added to Cart', properties: { cart_value: 500 } },
			{ credentials: { campaignStoreApi: undefined as unknown as Record<string, unknown> } },
		);
		expect(response.statusCode).toBe(500);
		expect(String((response.body as { error: string }).error)).toMatch(
			/^The campaign store is not set up correctly; nothing was recorded\. Cannot read the Campaign Store credential "campaignStoreApi": .*Open the node and select a Campaign Store credential again/,
		);
		expect(result).toEqual({ noWebhookResponse: true });
		expect(await recordedEvents('ivy')).toEqual([]);
	});

	it('answers 503 when the store it names is unreachable for now, 500 when it refuses the settings', async () => {
		const unreachable = await post(
			{ userId: 'ivy', event: 'Added to Cart', properties: { cart_value: 500 } },
			{
				credentials: {
					campaignStoreApi: {
						backend: 'postgres',
						host: '127.0.0.1',
						port: 1,
						database: 'test',
						user: 'postgres',
						ssl: 'disable',
					},
				},
			},
		);
		expect(unreachable.response.statusCode).toBe(503);
		expect(String((unreachable.response.body as { error: string }).error)).toMatch(
			/retry later\. Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/test/,
		);
		const missingDatabase = await post(
			{ userId: 'ivy', event: 'Added to Cart', properties: { cart_value: 500 } },
			{
				credentials: {
					campaignStoreApi: {
						backend: 'postgres',
						host: process.env.PGHOST ?? '127.0.0.1',
						port: Number(process.env.PGPORT ?? 5432),
						database: 'tc_no_such_database',
						user: process.env.PGUSER ?? 'postgres',
						ssl: 'disable',
					},
				},
			},
		);
		expect(missingDatabase.response.statusCode).toBe(500);
		expect(String((missingDatabase.response.body as { error: string }).error)).toMatch(
			/not set up correctly.*tc_no_such_database.*does not exist.*Check host, port, database/,
		);
	});

	it('answers a sender 500 naming the setting as the panel does when its settings cannot work', async () => {
		const { result, response } = await post(
			{ userId: 'x', event: 'Added to Cart' },
			{
				parameters: {
					...baseParameters,
					propertyFilters: { filter: [{ property: ' ', operator: 'equals', value: 'x' }] },
				},
			},
		);
		expect(response.statusCode).toBe(500);
		expect((response.body as { error: string }).error).toBe(
			'The Campaign Event Trigger "Node" is not set up correctly; nothing was recorded. Campaign Event Trigger settings: Property Filters › row 1: Property is empty — enter the event property to compare, e.g. cart_value.',
		);
		expect(result).toEqual({ noWebhookResponse: true });
		expect(await recordedEvents('x')).toEqual([]);
	});

	describe('when n8n publishes the workflow', () => {
		function hook(parameters: Record<string, unknown>) {
			const { context } = fakeContext({
				nodeType: new CampaignEventTrigger(),
				parameters,
				credentials: { campaignStoreApi: { backend: 'sqlite', filePath } },
			});
			return context as unknown as IHookFunctions;
		}
		const methods = new CampaignEventTrigger().webhookMethods.default;

		it('refuses an empty Property Filter property in the words of the panel', async () => {
			const context = hook({
				...baseParameters,
				propertyFilters: {
					filter: [
						{ property: 'cart_value', operator: 'greaterThan', value: '100' },
						{ property: '', operator: 'equals', value: 'x' },
					],
				},
			});
			for (const method of [methods.checkExists, methods.create]) {
				await expect(method.call(context)).rejects.toThrow(
					'Campaign Event Trigger settings: Property Filters › row 2: Property is empty — enter the event property to compare, e.g. cart_value.',
				);
			}
		});

		it('refuses an empty Campaign ID', async () => {
			await expect(
				methods.checkExists.call(hook({ ...baseParameters, campaignId: ' ' })),
			).rejects.toThrow(
				'Campaign Event Trigger settings: Campaign ID: is empty — give the campaign a stable ID, e.g. abandoned-cart.',
			);
		});

		it('accepts settings that work, registering nothing outside n8n', async () => {
			const context = hook(baseParameters);
			await expect(methods.checkExists.call(context)).resolves.toBe(true);
			await expect(methods.create.call(context)).resolves.toBe(true);
			await expect(methods.delete.call(context)).resolves.toBe(true);
		});
	});
});
