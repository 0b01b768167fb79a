import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { CampaignEventTrigger } from '../../nodes/CampaignEventTrigger/CampaignEventTrigger.node';
import { CampaignDelay } from '../../nodes/CampaignDelay/CampaignDelay.node';
import { CampaignStore } from '../../nodes/CampaignStore/CampaignStore.node';
import { ExceptionCheck } from '../../nodes/ExceptionCheck/ExceptionCheck.node';
import { FrequencyCap } from '../../nodes/FrequencyCap/FrequencyCap.node';
import { SendMessage } from '../../nodes/SendMessage/SendMessage.node';
import { closeSharedCampaignStores, getSharedCampaignStore } from '../../src';
import { fakeContext } from './fake-context';

const HOUR = 3_600_000;
const folder = mkdtempSync(join(tmpdir(), 'tc-dry-run-node-'));
const filePath = join(folder, 'store.sqlite');
const credentials = { campaignStoreApi: { backend: 'sqlite', filePath } };
const store = () => getSharedCampaignStore({ backend: 'sqlite', filePath });
afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

type Items = Array<{ json: Record<string, unknown> }>;
async function run(parameters: Record<string, unknown>, items: Items, continueOnFail = false) {
	const { context } = fakeContext({
		nodeType: new CampaignStore(),
		parameters: { operation: 'dryRun', ...parameters },
		credentials,
		items,
		continueOnFail,
	});
	const [output] = await new CampaignStore().execute.call(context as unknown as IExecuteFunctions);
	return output;
}

/** Every row of every table of the store's file, sorted. */
function rows(): Record<string, string[]> {
	const db = new DatabaseSync(filePath, { readOnly: true });
	try {
		const tables = db
			.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
			.all() as Array<{ name: string }>;
		return Object.fromEntries(
			tables.map(({ name }) => [
				name,
				db
					.prepare(`SELECT * FROM "${name}"`)
					.all()
					.map((row) => JSON.stringify(row))
					.sort(),
			]),
		);
	} finally {
		db.close();
	}
}

/** The campaign as its nodes would be configured, in the nodes' own parameter names. */
const campaign = {
	campaignId: 'abandoned-cart',
	eventNames: 'Added to Cart',
	propertyFilters: { filter: [{ property: 'value', operator: 'greaterThan', value: '50' }] },
	reEntry: 'oncePerPeriod',
	reEntryPeriod: 24,
	reEntryPeriodUnit: 'hours',
	includeDelay: true,
	mode: 'afterEvent',
	amount: 30,
	unit: 'minutes',
	includeExceptionCheck: true,
	exceptionEvents: 'Order Completed',
	matchProperty: 'cart_id',
	includeFrequencyCap: true,
	channel: 'email',
	rules: {
		rule: [{ maxMessages: 2, window: 'rolling', amount: 1, unit: 'days', scope: 'all' }],
	},
	quietHours: false,
	includeSend: true,
	variants: {
		variant: [{ name: 'A', weight: 1, body: 'Your cart {{ event.properties.cart_id }}' }],
	},
};

async function sentAt(userId: string, at: number) {
	const key = `k-${randomUUID()}`;
	const target = await store();
	await target.reserveSends([
		{
			idempotencyKey: key,
			campaignId: 'other',
			stepId: 's',
			userId,
			channel: 'email',
			tags: [],
			now: at,
			expiresAt: at + HOUR,
			countsTowardCap: true,
			limits: [],
		},
	]);
	await target.completeSend(key, { state: 'sent', at });
}

describe('Campaign Store node: Dry Run', () => {
	it("walks the campaign's steps for each user and records nothing", async () => {
		const target = await store();
		await target.upsertProfiles([{ userId: 'u-ok', timeZone: 'Europe/Berlin' }], Date.now());
		const capped = 'u-capped';
		await sentAt(capped, Date.now() - 3 * HOUR);
		await sentAt(capped, Date.now() - 2 * HOUR);
		const before = rows();
		const started = Date.now();

		const output = await run(
			{
				...campaign,
				userId: (i: number) => ['u-ok', capped][i],
				properties: '{"cart_id": "c1", "value": 80}',
			},
			[{ json: {} }, { json: {} }],
		);

		expect(rows()).toEqual(before);
		const [ok, refused] = output.map((item) => item.json);
		expect(ok).toMatchObject({
			dryRun: true,
			userId: 'u-ok',
			campaignId: 'abandoned-cart',
			outcome: 'sends',
			timeZone: 'Europe/Berlin',
			timeZoneSource: 'profile',
		});
		const steps = ok.steps as Array<Record<string, unknown>>;
		expect(steps.map((step) => step.step)).toEqual([
			'trigger',
			'delay',
			'exceptionCheck',
			'frequencyCap',
			'send',
		]);
		expect(steps[0]).toMatchObject({ entered: true, event: { name: 'Added to Cart' } });
		const resumeAt = Date.parse(steps[1].resumeAt as string);
		expect(resumeAt - started).toBeGreaterThanOrEqual(30 * 60_000);
		expect(resumeAt - Date.now()).toBeLessThanOrEqual(30 * 60_000);
		expect(steps[1].resumeAtLocal).toMatch(/\+0[12]:00$/);
		expect(steps[4]).toMatchObject({
			variant: 'A',
			control: false,
			preview: { body: 'Your cart c1' },
		});

		expect(refused).toMatchObject({ outcome: 'capped' });
		const cap = (refused.steps as Array<Record<string, unknown>>)[3];
		expect(cap).toMatchObject({
			step: 'frequencyCap',
			decision: 'capped',
			rules: ['1'],
			usage: [{ ruleId: '1', count: 2, limit: 2 }],
		});
		// The older send leaves the rolling day first.
		const countedAt = (cap.usage as Array<{ countedAt: number[] }>)[0].countedAt;
		expect(cap.earliestAllowedAt).toBe(new Date(countedAt[0] + 24 * HOUR).toISOString());
	});

	it('says which entry blocks re-entry, and which goal event exits the user', async () => {
		const target = await store();
		const userId = `u-${randomUUID().slice(0, 8)}`;
		const now = Date.now();
		const { entries } = await target.ingest({
			events: [
				{
					messageId: randomUUID(),
					userId,
					name: 'Added to Cart',
					occurredAt: now - HOUR,
					receivedAt: now - HOUR,
					properties: {},
				},
				{
					messageId: randomUUID(),
					userId,
					name: 'Order Completed',
					occurredAt: now - 10 * 60_000,
					receivedAt: now - 10 * 60_000,
					properties: { cart_id: 'c1' },
				},
			],
			entry: { campaignId: 'abandoned-cart', reEntry: { mode: 'everyTime' }, candidates: [0] },
			now,
		});
		const before = rows();
		const [blocked] = await run({ ...campaign, userId, properties: '{"value": 80}' }, [
			{ json: {} },
		]);
		expect(blocked.json).toMatchObject({ outcome: 'notEntered' });
		expect((blocked.json.steps as unknown[])[0]).toMatchObject({
			entered: false,
			blockingEntry: { entryId: entries[0].entry.entryId, state: 'active' },
			eligibleAgainAt: new Date(now - HOUR + 24 * HOUR).toISOString(),
		});

		// The same trigger time as the stored entry's, under Every Time: the cart was bought since.
		const [exits] = await run(
			{
				...campaign,
				userId,
				reEntry: 'everyTime',
				properties: '{"cart_id": "c1", "value": 80}',
				testEventFields: { timestamp: new Date(now - HOUR).toISOString() },
			},
			[{ json: {} }],
		);
		expect(exits.json).toMatchObject({ outcome: 'exits' });
		expect((exits.json.steps as unknown[])[2]).toMatchObject({
			step: 'exceptionCheck',
			exits: true,
			reason: 'exceptionEvent',
			event: { name: 'Order Completed' },
		});
		expect(rows()).toEqual(before);
	});

	it('names the setting that is missing, per item with Continue On Fail', async () => {
		const output = await run(
			{
				...campaign,
				eventNames: (i: number) => ['', 'Added to Cart'][i],
				userId: (i: number) => ['u-1', ''][i],
			},
			[{ json: {} }, { json: {} }],
			true,
		);
		expect(output.map((item) => item.json.error)).toEqual([
			expect.stringMatching(/^Event Name: is empty/),
			expect.stringMatching(/^User ID: is empty/),
		]);
	});

	it("shows each step's settings as that step's node does, under the same names", () => {
		const dryRun = new CampaignStore().description.properties.filter((property) =>
			property.displayOptions?.show?.operation?.includes('dryRun'),
		);
		const withoutDisplay = (property: INodeProperties) => ({
			...property,
			displayOptions: undefined,
		});
		const mirrored = (
			node: { description: { properties: INodeProperties[] } },
			names: string[],
		) => {
			for (const name of names) {
				const own = node.description.properties.find((property) => property.name === name);
				const here = dryRun.find((property) => property.name === name);
				expect([name, here && withoutDisplay(here)]).toEqual([name, own && withoutDisplay(own)]);
			}
		};
		mirrored(new CampaignEventTrigger(), [
			'campaignId',
			'eventNames',
			'propertyFilters',
			'reEntry',
			'reEntryPeriod',
		]);
		mirrored(new CampaignDelay(), ['mode', 'amount', 'unit', 'date', 'windowStart', 'windowDays']);
		mirrored(new ExceptionCheck(), [
			'exceptionEvents',
			'matchProperty',
			'withinAmount',
			'campaignEndsAt',
		]);
		mirrored(new FrequencyCap(), [
			'channel',
			'tags',
			'rules',
			'minGapMinutes',
			'quietHours',
			'quietStart',
			'outsideWindow',
			'important',
		]);
		mirrored(new SendMessage(), ['variants']);
	});
});
