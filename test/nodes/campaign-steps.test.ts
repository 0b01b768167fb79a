import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IExecuteFunctions, INodeExecutionData, INodeType } from 'n8n-workflow';

import { CampaignDelay } from '../../nodes/CampaignDelay/CampaignDelay.node';
import { ExceptionCheck } from '../../nodes/ExceptionCheck/ExceptionCheck.node';
import { FrequencyCap } from '../../nodes/FrequencyCap/FrequencyCap.node';
import { closeSharedCampaignStores, SqliteCampaignStore, type CampaignEntry } from '../../src';
import { fakeContext } from './fake-context';

const folder = mkdtempSync(join(tmpdir(), 'tc-steps-'));
const filePath = join(folder, 'store.sqlite');
const credentials = { campaignStoreApi: { backend: 'sqlite', filePath } };
afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function withStore<T>(work: (store: SqliteCampaignStore) => Promise<T>): Promise<T> {
	const store = new SqliteCampaignStore({ filePath });
	try {
		return await work(store);
	} finally {
		await store.close();
	}
}

/** Enters users into a campaign the way the trigger does, and returns their items. */
async function enter(
	campaignId: string,
	users: Array<{
		userId: string;
		occurredAt: number;
		properties?: Record<string, unknown>;
		timeZone?: string;
	}>,
): Promise<Array<{ json: Record<string, unknown> }>> {
	return await withStore(async (store) => {
		const events = users.map((user, i) => ({
			messageId: `${campaignId}-${user.userId}-${i}-${user.occurredAt}`,
			userId: user.userId,
			name: 'Added to Cart',
			occurredAt: user.occurredAt,
			receivedAt: user.occurredAt,
			properties: user.properties ?? {},
			timeZone: user.timeZone,
		}));
		const result = await store.ingest({
			events,
			entry: { campaignId, reEntry: { mode: 'everyTime' }, candidates: events.map((_, i) => i) },
			now: Date.now(),
		});
		return result.entries.map(({ eventIndex, entry }) => ({
			json: {
				userId: entry.userId,
				campaignId,
				entryId: entry.entryId,
				triggeredAt: iso(entry.triggeredAt),
				event: {
					name: 'Added to Cart',
					properties: events[eventIndex].properties,
					timeZone: events[eventIndex].timeZone ?? null,
				},
				profile: null,
			},
		}));
	});
}

type Node = INodeType & {
	execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]>;
};
async function run(
	node: Node,
	parameters: Record<string, unknown>,
	items: Array<{ json: Record<string, unknown> }>,
) {
	const { context, response } = fakeContext({
		nodeType: node,
		parameters,
		credentials,
		items,
		nodeId: 'step-node',
	});
	const outputs = await node.execute.call(context as unknown as IExecuteFunctions);
	return { outputs, waitTill: response.waitTill };
}

describe('Campaign Delay node, per user through the schedule', () => {
	it('schedules each user at their own time and holds nobody; a re-run schedules nothing twice', async () => {
		const now = Date.now();
		const items = await enter('delay-schedule', [
			{ userId: 's1', occurredAt: now - 10 * MINUTE },
			{ userId: 's2', occurredAt: now - 29 * MINUTE, timeZone: 'Asia/Tokyo' },
		]);
		const parameters = {
			waitHow: 'schedule',
			resumePoint: 'after-30-min',
			mode: 'afterEvent',
			amount: 30,
			unit: 'minutes',
		};
		const { outputs, waitTill } = await run(new CampaignDelay(), parameters, items);
		expect(waitTill).toBeUndefined();
		expect(outputs[0].map((item) => item.json)).toEqual([
			{
				userId: 's1',
				campaignId: 'delay-schedule',
				entryId: items[0].json.entryId,
				schedule: {
					resumePoint: 'after-30-min',
					dueAt: iso(now + 20 * MINUTE),
					status: 'scheduled',
				},
			},
			{
				userId: 's2',
				campaignId: 'delay-schedule',
				entryId: items[1].json.entryId,
				schedule: { resumePoint: 'after-30-min', dueAt: iso(now + MINUTE), status: 'scheduled' },
			},
		]);
		const again = await run(new CampaignDelay(), parameters, items);
		expect(
			again.outputs[0].map((item) => (item.json.schedule as { status: string }).status),
		).toEqual(['alreadyScheduled', 'alreadyScheduled']);
		// The store holds each user's item, due at their own time: s2 first.
		await withStore(async (store) => {
			const due = await store.claimDueSteps({
				campaignId: 'delay-schedule',
				stepId: 'after-30-min',
				now: now + 20 * MINUTE,
				limit: 10,
				leaseMs: MINUTE,
			});
			expect(due.map((step) => [step.userId, step.dueAt])).toEqual([
				['s2', now + MINUTE],
				['s1', now + 20 * MINUTE],
			]);
			expect(due[1].payload).toMatchObject({
				userId: 's1',
				entryId: items[0].json.entryId,
				delay: { resumeAt: iso(now + 20 * MINUTE), timeZone: 'UTC', timeZoneSource: 'utc' },
			});
			expect(due[0].payload).toMatchObject({ delay: { timeZone: 'Asia/Tokyo' } });
		});
	});

	it('names the field when an item has no campaign entry to schedule', async () => {
		await expect(
			run(
				new CampaignDelay(),
				{ waitHow: 'schedule', resumePoint: 'p', mode: 'afterEvent', amount: 1, unit: 'minutes' },
				[{ json: { userId: 'x', campaignId: 'c', triggeredAt: iso(Date.now()) } }],
			),
		).rejects.toThrow(
			/entryId: is missing on the item; the schedule keeps each user's step per campaign entry/,
		);
		await expect(
			run(
				new CampaignDelay(),
				{ waitHow: 'schedule', resumePoint: ' ', mode: 'afterEvent', amount: 1, unit: 'minutes' },
				[{ json: { userId: 'x', campaignId: 'c', entryId: 'e', triggeredAt: iso(Date.now()) } }],
			),
		).rejects.toThrow(/^Resume Point is empty/);
	});
});

describe('Campaign Default Time Zone', () => {
	it('is checked when the node runs, even when every user has a zone of their own', async () => {
		const items = await enter('zone-typo', [
			{ userId: 'z1', occurredAt: Date.now(), timeZone: 'Europe/Berlin' },
		]);
		const typo = { defaultTimeZone: 'Europe/Berln' };
		await expect(
			run(
				new CampaignDelay(),
				{
					waitHow: 'schedule',
					resumePoint: 'p',
					mode: 'afterEvent',
					amount: 1,
					unit: 'minutes',
					...typo,
				},
				items,
			),
		).rejects.toThrow(/^Campaign Default Time Zone: "Europe\/Berln" is not a known IANA time zone/);
		await expect(run(new FrequencyCap(), { ...capParameters, ...typo }, items)).rejects.toThrow(
			/^Campaign Default Time Zone: "Europe\/Berln" is not a known IANA time zone/,
		);
	});
});

describe('Campaign Delay node', () => {
	it('waits until each trigger event + duration with n8n waiting, and a late execution waits less', async () => {
		const now = Date.now();
		const items = await enter('delay-1', [
			{ userId: 'd1', occurredAt: now - 10 * MINUTE },
			{ userId: 'd2', occurredAt: now - 29 * MINUTE },
		]);
		const { outputs, waitTill } = await run(
			new CampaignDelay(),
			{ mode: 'afterEvent', amount: 30, unit: 'minutes' },
			items,
		);
		// Both leave when the later one is due: nobody early.
		expect(waitTill?.getTime()).toBe(now + 20 * MINUTE);
		expect(outputs).toHaveLength(1);
		expect(outputs[0].map((item) => item.json.userId)).toEqual(['d1', 'd2']);
		const annotation = { resumeAt: iso(now + MINUTE), timeZone: 'UTC', timeZoneSource: 'utc' };
		expect(outputs[0][1].json.delay).toEqual(annotation);
		// n8n passes the saved input on after a wait, so the annotation is on the input item too.
		expect(items[1].json.delay).toEqual(annotation);
	});

	it('continues at once when past due, and waits for the local window in the event zone', async () => {
		const now = Date.now();
		const [past] = await enter('delay-3', [{ userId: 'p1', occurredAt: now - 3 * 60 * MINUTE }]);
		const due = await run(
			new CampaignDelay(),
			{ mode: 'afterEvent', amount: 30, unit: 'minutes' },
			[past],
		);
		expect(due.waitTill).toBeUndefined();
		expect(due.outputs[0]).toHaveLength(1);

		const [inKathmandu] = await enter('delay-4', [
			{ userId: 'k1', occurredAt: now, timeZone: 'Asia/Kathmandu' },
		]);
		const windowed = await run(
			new CampaignDelay(),
			{
				mode: 'nextWindow',
				windowStart: '09:00',
				windowEnd: '09:01',
				windowDays: [],
			},
			[inKathmandu],
		);
		const resumeAt = Date.parse(
			String((windowed.outputs[0][0].json.delay as { resumeAt: string }).resumeAt),
		);
		const local = new Intl.DateTimeFormat('en-GB', {
			timeZone: 'Asia/Kathmandu',
			hour: '2-digit',
			minute: '2-digit',
		}).format(resumeAt);
		expect(local).toBe('09:00');
		expect((windowed.outputs[0][0].json.delay as { timeZoneSource: string }).timeZoneSource).toBe(
			'event',
		);
	});

	it('fails naming the item and field when the trigger time is missing', async () => {
		await expect(
			run(new CampaignDelay(), { mode: 'afterEvent', amount: 1, unit: 'minutes' }, [
				{ json: { userId: 'x' } },
			]),
		).rejects.toThrow(/triggeredAt: is missing on the item/);
	});
});

describe('Exception Check node', () => {
	const parameters = {
		exceptionEvents: 'Order Completed',
		matchProperty: 'cart_id',
		withinAmount: 0,
		withinUnit: 'hours',
		exitWhenUnsubscribed: true,
	};

	it('lets a user who bought the same cart after the trigger exit, and marks the entry exited', async () => {
		const now = Date.now();
		const items = await enter('exc-1', [
			{ userId: 'e1', occurredAt: now - 30 * MINUTE, properties: { cart_id: 'A' } },
			{ userId: 'e2', occurredAt: now - 30 * MINUTE, properties: { cart_id: 'B' } },
		]);
		await withStore((store) =>
			store.ingest({
				events: [
					{
						messageId: 'buy-e1',
						userId: 'e1',
						name: 'Order Completed',
						occurredAt: now - 10 * MINUTE,
						receivedAt: now,
						properties: { cart_id: 'A' },
					},
					{
						messageId: 'buy-e2',
						userId: 'e2',
						name: 'Order Completed',
						occurredAt: now - 10 * MINUTE,
						receivedAt: now,
						properties: { cart_id: 'other' },
					},
				],
				now,
			}),
		);
		// Both users also wait at a later resume point (a deferred retry, a second message).
		await withStore((store) =>
			store.scheduleSteps(
				items.map((item) => ({
					campaignId: 'exc-1',
					stepId: 'reminder',
					entryId: String(item.json.entryId),
					userId: String(item.json.userId),
					dueAt: now + 60 * MINUTE,
					payload: item.json,
				})),
				now,
			),
		);
		const { outputs } = await run(new ExceptionCheck(), parameters, items);
		expect(outputs[0].map((item) => item.json.userId)).toEqual(['e2']);
		expect(outputs[1].map((item) => item.json.userId)).toEqual(['e1']);
		// Who exited has nothing left in the schedule; the other user still waits.
		const stillScheduled = await withStore((store) =>
			store.claimDueSteps({
				campaignId: 'exc-1',
				stepId: 'reminder',
				now: now + 60 * MINUTE,
				limit: 10,
				leaseMs: MINUTE,
			}),
		);
		expect(stillScheduled.map((step) => step.userId)).toEqual(['e2']);
		expect(outputs[1][0].json.exit).toMatchObject({
			reason: 'exceptionEvent',
			event: { name: 'Order Completed', messageId: 'buy-e1' },
		});
		const entry = await withStore((store) => store.getEntry(String(items[0].json.entryId)));
		expect(entry).toMatchObject<Partial<CampaignEntry>>({ state: 'exited' });
		expect(entry?.exitReason).toMatch(
			/^exceptionEvent: "Order Completed" with the same cart_id \(A\)/,
		);
	});

	it('reports the earliest exit by its own instant: a purchase before the campaign ended, or the end itself', async () => {
		const now = Date.now();
		const endedAt = now - 10 * MINUTE;
		const items = await enter('exc-end', [
			{ userId: 'g1', occurredAt: now - 60 * MINUTE, properties: { cart_id: 'G' } },
			{ userId: 'g2', occurredAt: now - 60 * MINUTE, properties: { cart_id: 'H' } },
		]);
		await withStore((store) =>
			store.ingest({
				events: [
					{
						messageId: 'buy-g1-before-end',
						userId: 'g1',
						name: 'Order Completed',
						occurredAt: now - 30 * MINUTE,
						receivedAt: now,
						properties: { cart_id: 'G' },
					},
				],
				now,
			}),
		);
		const { outputs } = await run(
			new ExceptionCheck(),
			{ ...parameters, campaignEndsAt: iso(endedAt) },
			items,
		);
		const exits = Object.fromEntries(
			outputs[1].map((item) => [
				item.json.userId,
				item.json.exit as { reason: string; at: string },
			]),
		);
		// g1 bought 20 minutes before the campaign ended: that is why they left.
		expect(exits.g1).toMatchObject({ reason: 'exceptionEvent', at: iso(now - 30 * MINUTE) });
		// g2 left when the campaign ended, not when this check happened to run.
		expect(exits.g2).toMatchObject({ reason: 'campaignEnded', at: iso(endedAt) });
	});

	it('lets unsubscribed users exit, using the stored profile', async () => {
		const items = await enter('exc-2', [{ userId: 'u-unsub', occurredAt: Date.now() }]);
		await withStore((store) =>
			store.upsertProfiles([{ userId: 'u-unsub', unsubscribed: true }], Date.now()),
		);
		const { outputs } = await run(new ExceptionCheck(), parameters, items);
		expect(outputs[1][0].json.exit).toMatchObject({ reason: 'unsubscribed' });
	});

	it('fails naming Exception Events when none are given, instead of letting everybody continue', async () => {
		const items = await enter('exc-none', [{ userId: 'n1', occurredAt: Date.now() }]);
		const failure = run(new ExceptionCheck(), { ...parameters, exceptionEvents: ' , ' }, items);
		await expect(failure).rejects.toThrow(
			'Exception Events: is empty — enter the events that make a user exit, e.g. Order Completed.',
		);
		await expect(failure).rejects.toMatchObject({
			description:
				'A user who did one of these events since the trigger leaves the campaign; the check needs at least one.',
		});
	});
});

/** A Frequency Cap with one rule, 1 message per rolling day, no quiet hours. */
const capParameters = {
	channel: 'in_app',
	tags: 'promo',
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
	important: false,
	defaultTimeZone: '',
	reservationTtlMinutes: 60,
};

describe('Frequency Cap node', () => {
	const parameters = capParameters;

	it('allows the first message, caps the second with the next allowed time, and allows a re-run of the same step', async () => {
		const items = await enter('cap-1', [{ userId: 'c1', occurredAt: Date.now() }]);
		const first = await run(new FrequencyCap(), parameters, items);
		expect(first.outputs[0]).toHaveLength(1);
		const allowed = first.outputs[0][0].json.frequencyCap as Record<string, unknown>;
		expect(allowed).toMatchObject({
			decision: 'allowed',
			idempotencyKey: `cap-1:${items[0].json.entryId}:step-node`,
			state: 'reserved',
			alreadyReserved: false,
		});

		const again = await run(new FrequencyCap(), parameters, items);
		expect(again.outputs[0][0].json.frequencyCap).toMatchObject({ alreadyReserved: true });

		const [other] = await enter('cap-2', [{ userId: 'c1', occurredAt: Date.now() }]);
		const second = await run(new FrequencyCap(), parameters, [other]);
		expect(second.outputs[1]).toHaveLength(1);
		const capped = second.outputs[1][0].json.frequencyCap as {
			rules: string[];
			earliestAllowedAt: string;
			reason: string;
		};
		expect(capped.rules).toEqual(['1']);
		expect(Date.parse(capped.earliestAllowedAt)).toBe(
			Date.parse(String(allowed.reservedAt)) + 24 * 60 * MINUTE,
		);
		expect(capped.reason).toMatch(/^rule 1: 1 of 1 messages already/);
	});

	it('defers inside quiet hours without taking a slot', async () => {
		const now = new Date();
		const quietFrom = `${String(now.getUTCHours()).padStart(2, '0')}:00`;
		const quietUntil = `${String((now.getUTCHours() + 2) % 24).padStart(2, '0')}:00`;
		const items = await enter('cap-3', [{ userId: 'q1', occurredAt: Date.now() }]);
		const { outputs } = await run(
			new FrequencyCap(),
			{
				...parameters,
				quietHours: true,
				quietStart: quietFrom,
				quietEnd: quietUntil,
				deliveryDays: [],
				outsideWindow: 'defer',
			},
			items,
		);
		expect(outputs[2]).toHaveLength(1);
		expect(outputs[2][0].json.frequencyCap).toMatchObject({
			decision: 'deferred',
			rules: ['quietHours'],
		});
		const key = `cap-3:${items[0].json.entryId}:step-node`;
		expect(await withStore((store) => store.getSend(key))).toBeUndefined();
	});

	/** Quiet hours from the current UTC hour for two hours: now is inside them, in UTC. */
	function quietNow() {
		const now = new Date();
		const hour = now.getUTCHours();
		const quietEndsAt = Date.UTC(
			now.getUTCFullYear(),
			now.getUTCMonth(),
			now.getUTCDate(),
			hour + 2,
		);
		return {
			quietEndsAt,
			parameters: {
				...parameters,
				quietHours: true,
				quietStart: `${String(hour).padStart(2, '0')}:00`,
				quietEnd: `${String((hour + 2) % 24).padStart(2, '0')}:00`,
				deliveryDays: [],
				outsideWindow: 'defer',
			},
		};
	}

	it('hands deferred users back to the schedule at their next allowed time, with no loop to wire', async () => {
		const { quietEndsAt, parameters: quiet } = quietNow();
		const items = await enter('cap-5', [{ userId: 'r1', occurredAt: Date.now() }]);
		const scheduleBack = { ...quiet, deferredTo: 'schedule', resumePoint: 'after-delay' };
		const { outputs } = await run(new FrequencyCap(), scheduleBack, items);
		expect(outputs[0]).toEqual([]);
		expect(outputs[2]).toHaveLength(1);
		expect(outputs[2][0].json.schedule).toEqual({
			resumePoint: 'after-delay',
			dueAt: iso(quietEndsAt),
			status: 'scheduled',
		});
		const again = await run(new FrequencyCap(), scheduleBack, items);
		expect((again.outputs[2][0].json.schedule as { status: string }).status).toBe(
			'alreadyScheduled',
		);
		await withStore(async (store) => {
			const [step] = await store.claimDueSteps({
				campaignId: 'cap-5',
				stepId: 'after-delay',
				now: quietEndsAt,
				limit: 10,
				leaseMs: MINUTE,
			});
			expect(step).toMatchObject({ userId: 'r1', dueAt: quietEndsAt });
			expect(step.payload.frequencyCap).toMatchObject({
				decision: 'deferred',
				earliestAllowedAt: iso(quietEndsAt),
			});
		});
	});

	it('lets a deferred user exit when the campaign ends before any allowed time, in either mode', async () => {
		const { quietEndsAt, parameters: quiet } = quietNow();
		for (const deferredTo of ['output', 'schedule']) {
			const campaignId = `cap-6-${deferredTo}`;
			const items = await enter(campaignId, [{ userId: 'x1', occurredAt: Date.now() }]);
			const { outputs } = await run(
				new FrequencyCap(),
				{
					...quiet,
					deferredTo,
					resumePoint: 'after-delay',
					campaignEndsAt: iso(quietEndsAt - MINUTE),
				},
				items,
			);
			// Not on Deferred with earliestAllowedAt null (a Delay "Until a Date" would fail on it).
			expect(outputs[2]).toEqual([]);
			expect(outputs[1]).toHaveLength(1);
			expect(outputs[1][0].json.frequencyCap).toMatchObject({
				decision: 'deferred',
				earliestAllowedAt: null,
			});
			expect(outputs[1][0].json.exit).toMatchObject({
				reason: 'campaignEnded',
				detail: expect.stringMatching(
					/^campaignEnded: no send is allowed before the campaign ends/,
				),
			});
			const entry = await withStore((store) => store.getEntry(String(items[0].json.entryId)));
			expect(entry).toMatchObject({
				state: 'exited',
				exitReason: expect.stringMatching(/^campaignEnded: /),
			});
		}
	});

	it('refuses settings that cannot work, naming the field', async () => {
		const items = await enter('cap-4', [{ userId: 'z1', occurredAt: Date.now() }]);
		await expect(
			run(
				new FrequencyCap(),
				{
					...parameters,
					rules: {
						rule: [
							{
								maxMessages: 0,
								window: 'rolling',
								amount: 1,
								unit: 'days',
								scope: 'all',
								channelScope: 'any',
							},
						],
					},
				},
				items,
			),
		).rejects.toThrow(
			'Frequency Cap settings: rules[0].limit: must be a whole number of at least 1 (got 0).',
		);
	});
});
