import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IExecuteFunctions } from 'n8n-workflow';

import { CampaignStore } from '../../nodes/CampaignStore/CampaignStore.node';
import { closeSharedCampaignStores } from '../../src';
import { fakeContext } from './fake-context';

const folder = mkdtempSync(join(tmpdir(), 'tc-store-node-'));
const credentials = {
	campaignStoreApi: { backend: 'sqlite', filePath: join(folder, 'store.sqlite') },
};
afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

type Items = Array<{ json: Record<string, unknown> }>;
/** Parameters may be per item: a function of the item index. */
async function run(parameters: Record<string, unknown>, items: Items, continueOnFail = false) {
	const { context } = fakeContext({
		nodeType: new CampaignStore(),
		parameters,
		credentials,
		items,
		continueOnFail,
	});
	return await new CampaignStore().execute.call(context as unknown as IExecuteFunctions);
}

describe('Campaign Store node', () => {
	const items: Items = [{ json: { id: 'u1' } }, { json: { id: 'u2' } }];

	it('records events from fields once per messageId, one item per input item', async () => {
		const parameters = {
			operation: 'recordEvent',
			input: 'fields',
			userId: (i: number) => items[i].json.id,
			eventName: 'Order Completed',
			properties: '{"cart_id": "c1", "total": 99.5}',
			eventFields: (i: number) => ({ messageId: `order-${i}`, timestamp: '2026-03-01T12:00:00Z' }),
		};
		const [first] = await run(parameters, items);
		expect(first.map((item) => item.json)).toEqual([
			{
				recorded: true,
				duplicate: false,
				messageId: 'order-0',
				userId: 'u1',
				event: 'Order Completed',
				occurredAt: '2026-03-01T12:00:00.000Z',
			},
			{
				recorded: true,
				duplicate: false,
				messageId: 'order-1',
				userId: 'u2',
				event: 'Order Completed',
				occurredAt: '2026-03-01T12:00:00.000Z',
			},
		]);
		expect(first.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		const [again] = await run(parameters, items);
		expect(again.map((item) => item.json.duplicate)).toEqual([true, true]);
	});

	it('records a Segment track JSON item', async () => {
		const [out] = await run(
			{
				operation: 'recordEvent',
				input: 'json',
				eventJson: { userId: 'u3', event: 'Opened App', messageId: 'open-1' },
			},
			[{ json: {} }],
		);
		expect(out[0].json).toMatchObject({
			recorded: true,
			userId: 'u3',
			event: 'Opened App',
			messageId: 'open-1',
		});
	});

	it('fails the item naming the field, and records nothing when not continuing on fail', async () => {
		const parameters = {
			operation: 'recordEvent',
			input: 'fields',
			userId: (i: number) => ['u4', ''][i],
			eventName: 'Order Completed',
			properties: '{}',
			eventFields: { messageId: 'never-recorded' },
		};
		await expect(run(parameters, items)).rejects.toThrow(/User ID: is empty; map the user ID/);
		const [out] = await run(
			{ ...parameters, eventFields: (i: number) => ({ messageId: `partial-${i}` }) },
			items,
			true,
		);
		expect(out.map((item) => item.json)).toEqual([
			expect.objectContaining({ recorded: true, messageId: 'partial-0' }),
			{ error: 'User ID: is empty; map the user ID, e.g. {{ $json.userId }}.' },
		]);
		const [bad] = await run(
			{ ...parameters, userId: 'u5', properties: '{oops' },
			[{ json: {} }],
			true,
		);
		expect(String(bad[0].json.error)).toMatch(/^Properties: is not valid JSON/);
	});

	it('upserts and reads profiles', async () => {
		const [upserted] = await run(
			{
				operation: 'upsertProfile',
				userId: 'ana',
				profileFields: {
					email: 'ana@example.com',
					timeZone: 'Asia/Kolkata',
					attributes: '{"plan":"trial"}',
					externalIds: '{"salesforce":"003A"}',
				},
			},
			[{ json: {} }],
		);
		expect(upserted[0].json).toMatchObject({
			userId: 'ana',
			email: 'ana@example.com',
			timeZone: 'Asia/Kolkata',
			unsubscribed: false,
			attributes: { plan: 'trial' },
			externalIds: { salesforce: '003A' },
		});
		const [read] = await run(
			{ operation: 'getProfile', userId: (i: number) => ['ana', 'nobody'][i] },
			items,
		);
		expect(read[0].json).toMatchObject({ found: true, email: 'ana@example.com' });
		expect(read[1].json).toEqual({ found: false, userId: 'nobody' });
		await expect(
			run({ operation: 'upsertProfile', userId: 'ana', profileFields: { timeZone: 'Mars/Base' } }, [
				{ json: {} },
			]),
		).rejects.toThrow(/Time Zone: "Mars\/Base" is not a known IANA time zone/);
	});
});
