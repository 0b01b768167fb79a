import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IExecuteFunctions } from 'n8n-workflow';

import { CampaignStore } from '../../nodes/CampaignStore/CampaignStore.node';
import { closeSharedCampaignStores, SqliteCampaignStore } from '../../src';
import { fakeContext } from './fake-context';

const folder = mkdtempSync(join(tmpdir(), 'tc-store-node-user-'));
const filePath = join(folder, 'store.sqlite');
const credentials = { campaignStoreApi: { backend: 'sqlite', filePath } };
afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

const T0 = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;

async function run(parameters: Record<string, unknown>, userIds: string[], continueOnFail = false) {
	const { context } = fakeContext({
		nodeType: new CampaignStore(),
		parameters,
		credentials,
		items: userIds.map((userId) => ({ json: { userId } })),
		continueOnFail,
	});
	const [output] = await new CampaignStore().execute.call(context as unknown as IExecuteFunctions);
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the items are read as loosely as a workflow reads them
	return output.map((item) => item.json as Record<string, any>);
}

/** A user who entered on a cart, was sent a message and bought the cart. */
async function seed(userId: string) {
	const store = new SqliteCampaignStore({ filePath });
	try {
		const cart = {
			messageId: `${userId}-cart`,
			userId,
			name: 'Added to Cart',
			occurredAt: T0,
			receivedAt: T0,
			properties: { cart_id: 'c1' },
		};
		const { entries } = await store.ingest({
			events: [cart],
			entry: { campaignId: 'cart', reEntry: { mode: 'everyTime' }, candidates: [0] },
			now: T0,
		});
		const entryId = entries[0].entry.entryId;
		await store.upsertProfiles([{ userId, email: `${userId}@example.com` }], T0);
		const key = `cart:${entryId}:send`;
		await store.reserveSends([
			{
				idempotencyKey: key,
				campaignId: 'cart',
				stepId: 'send',
				entryId,
				userId,
				channel: 'email',
				tags: [],
				now: T0 + HOUR,
				expiresAt: T0 + 2 * HOUR,
				countsTowardCap: true,
				limits: [],
			},
		]);
		await store.completeSend(key, {
			state: 'sent',
			at: T0 + HOUR,
			providerMessageId: 'p-1',
			variant: 'A',
			contentHash: 'h',
		});
		await store.ingest({
			events: [
				{
					...cart,
					messageId: `${userId}-order`,
					name: 'Order Completed',
					occurredAt: T0 + 2 * HOUR,
				},
			],
			now: T0 + 2 * HOUR,
		});
	} finally {
		await store.close();
	}
}

describe('Campaign Store node: a person', () => {
	it('gives the timeline of each user, with the conversion of the report rule', async () => {
		await seed('t1');
		const [timeline] = await run(
			{
				operation: 'getTimeline',
				userId: 't1',
				campaignId: 'cart',
				conversionEvents: 'Order Completed',
				conversionOptions: { matchProperty: 'cart_id' },
			},
			['t1'],
		);
		expect(timeline.decisions.map((d: { kind: string }) => d.kind)).toEqual([
			'eventRecorded',
			'entered',
			'sent',
			'eventRecorded',
			'converted',
		]);
		expect(timeline.decisions[2]).toMatchObject({
			variant: 'A',
			providerMessageId: 'p-1',
			contentHash: 'h',
		});
		expect(timeline.notes.length).toBeGreaterThan(0);
	});

	it('exports everything stored about a user in one JSON document', async () => {
		await seed('t2');
		const [document] = await run({ operation: 'exportUserData', userId: 't2' }, ['t2']);
		expect(document.profile.email).toBe('t2@example.com');
		expect(document.events).toHaveLength(2);
		expect(document.entries).toHaveLength(1);
		expect(document.sends[0].providerMessageId).toBe('p-1');
		expect(document.timeline.decisions.length).toBe(4);
	});

	it('erases a user and says what it removed; a second call removes nothing and says so', async () => {
		await seed('t3');
		const [first] = await run({ operation: 'eraseUser', userId: 't3' }, ['t3']);
		expect(first).toMatchObject({
			userId: 't3',
			erased: true,
			deleted: { profiles: 1 },
			anonymized: { campaign_entries: 1, sends: 1, events: 2 },
		});
		const [second] = await run({ operation: 'eraseUser', userId: 't3' }, ['t3']);
		expect(second).toMatchObject({
			erased: false,
			message: 'Nothing is stored for user t3: nothing was removed.',
		});
		const [document] = await run({ operation: 'exportUserData', userId: 't3' }, ['t3']);
		expect(document).toMatchObject({ profile: null, events: [], entries: [], sends: [] });
	});

	it('names the parameter of a bad window, per item', async () => {
		const output = await run(
			{
				operation: 'getTimeline',
				userId: 'x',
				conversionEvents: 'Order Completed',
				conversionOptions: { windowDays: 400 },
			},
			['x'],
			true,
		);
		expect(output[0].error).toMatch(/Window \(Days\)/);
	});
});
