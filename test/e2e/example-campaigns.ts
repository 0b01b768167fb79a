/**
 * The example workflows of `examples/` run in a real n8n, and the outcome each user must get:
 * one set of checks for every way n8n runs (examples.e2e.test.ts: one n8n process with the
 * default SQLite store; examples-queue-mode.e2e.test.ts: main, workers and webhook process with
 * the PostgreSQL store).
 */
import { expect } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DateTime } from 'luxon';

import type { CampaignStore } from '../../src/store/campaign-store';
import type { IntercomImitation } from '../send/support/intercom-imitation';
import type { FakeSalesforce } from '../support/fake-salesforce';
import { describeRun, nodeOutput, postEvents, trackEvent } from './campaign-e2e-helpers';
import { createSalesforcePasswordCredential, startFakeSalesforceOrg } from './fake-salesforce-org';
import {
	packageRoot,
	type ExecutionDetails,
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
} from './n8n-harness';

export const INTERCOM_TOKEN = 'e2e-examples-intercom-token';
export const ABANDONED_CART = 'abandoned-cart';
const PKG = 'n8n-nodes-triggered-campaigns';
const DAY = 86_400_000;

type Item = { json: Record<string, unknown> };
/** Runs `fn` with the campaign store the n8n under test writes. */
export type StoreAccess = <T>(fn: (store: CampaignStore) => Promise<T>) => Promise<T>;

/** An example file as it is in the repository, with the id it is imported under. */
export function readExample(
	file: 'abandoned-cart.json' | 'trial-ending.json',
	id: string,
): WorkflowJson {
	const example = JSON.parse(
		fs.readFileSync(path.join(packageRoot(), 'examples', file), 'utf8'),
	) as WorkflowJson;
	return { ...example, id };
}

/** The package's node types that take a Campaign Store credential. */
const STORE_NODE_TYPES = [
	'campaignEventTrigger',
	'campaignDelay',
	'campaignResumeTrigger',
	'exceptionCheck',
	'frequencyCap',
	'sendMessage',
	'campaignStore',
	'campaignReport',
	'salesforceSegmentTrigger',
].map((type) => `${PKG}.${type}`);

/**
 * What the README asks of an admin in queue mode: the same Campaign Store credential (here one
 * on PostgreSQL) on every campaign node. Referenced by name, as the file references its other
 * credentials; nothing else in the workflow changes.
 */
export function withStoreCredential(workflow: WorkflowJson, credentialName: string): WorkflowJson {
	return {
		...workflow,
		nodes: workflow.nodes.map((node) =>
			STORE_NODE_TYPES.includes(node.type)
				? {
						...node,
						credentials: {
							...((node.credentials as Record<string, unknown> | undefined) ?? {}),
							campaignStoreApi: { id: null, name: credentialName },
						},
					}
				: node,
		),
	};
}

/** The Intercom credential both examples name, pointing at the imitation. */
export async function createIntercomCredential(
	n8n: N8nInstance,
	imitation: IntercomImitation,
): Promise<{ id: string; name: string }> {
	return await n8n.createCredential('Intercom Account', 'campaignIntercomApi', {
		accessToken: INTERCOM_TOKEN,
		region: 'us',
		baseUrl: imitation.baseUrl,
		apiVersion: '2.14',
		defaultAdminId: imitation.admins[0].id,
	});
}

/** Credential names linked on the saved workflow's nodes, per node name and credential type. */
export async function linkedCredentials(
	n8n: N8nInstance,
	workflowId: string,
): Promise<Record<string, Record<string, { id: string | null; name: string }>>> {
	const saved = await n8n.api<{
		nodes: Array<{
			name: string;
			credentials?: Record<string, { id: string | null; name: string }>;
		}>;
	}>('GET', `/api/v1/workflows/${workflowId}`);
	return Object.fromEntries(
		saved.nodes.filter((node) => node.credentials).map((node) => [node.name, node.credentials!]),
	);
}

/* ------------------------------------------------------------------------------------------ */
/* Time zones                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** A zone whose local hour now is in `hours`; the list spans every offset from -10 to +13. */
export function zoneWhere(hours: (hour: number) => boolean, now: number): string {
	const zones = [
		'Pacific/Honolulu',
		'America/Los_Angeles',
		'America/Chicago',
		'America/New_York',
		'America/Sao_Paulo',
		'Atlantic/Azores',
		'Europe/London',
		'Europe/Berlin',
		'Europe/Athens',
		'Asia/Dubai',
		'Asia/Karachi',
		'Asia/Dhaka',
		'Asia/Bangkok',
		'Asia/Shanghai',
		'Asia/Tokyo',
		'Australia/Brisbane',
		'Pacific/Noumea',
		'Pacific/Auckland',
		'Pacific/Tongatapu',
	];
	const zone = zones.find((z) => hours(DateTime.fromMillis(now, { zone: z }).hour));
	if (!zone) throw new Error('no zone with such an hour now');
	return zone;
}

/** Well inside the day (10:00-19:59): a run of a few minutes cannot reach quiet hours. */
export const dayZoneAt = (now: number) => zoneWhere((hour) => hour >= 10 && hour < 20, now);

/** The start of the trial example's next delivery window: weekdays 09:00-12:00 in `zone`. */
function nextWeekdayMorning(now: number, zone: string): number {
	let day = DateTime.fromMillis(now, { zone }).startOf('day');
	for (let i = 0; i < 8; i++, day = day.plus({ days: 1 })) {
		const opens = day.set({ hour: 9 });
		if (day.weekday <= 5 && opens.toMillis() >= now) return opens.toMillis();
	}
	throw new Error(`no weekday morning within a week in ${zone}`);
}

const inMorningWindow = (now: number, zone: string): boolean => {
	const local = DateTime.fromMillis(now, { zone });
	return local.weekday <= 5 && local.hour >= 9 && local.hour < 12;
};

/* ------------------------------------------------------------------------------------------ */
/* examples/abandoned-cart.json                                                                 */
/* ------------------------------------------------------------------------------------------ */

export const abandonedCartUsers = {
	sent: 'ex-sent',
	bought: 'ex-bought',
	otherCart: 'ex-other-cart',
	cheap: 'ex-cheap',
	night: 'ex-night',
	capped: 'ex-capped',
};

/** Three messages this week from another campaign: the example's cap (3 per 7 days) is reached. */
export async function giveThreeMessagesThisWeek(
	store: CampaignStore,
	userId: string,
	now: number,
): Promise<void> {
	for (let n = 0; n < 3; n++) {
		const at = now - (n + 1) * DAY;
		const key = `earlier-campaign:${userId}:${n}`;
		await store.reserveSends([
			{
				idempotencyKey: key,
				campaignId: 'earlier-campaign',
				stepId: 'send',
				userId,
				channel: 'in_app',
				tags: [],
				now: at,
				expiresAt: at + 3_600_000,
				countsTowardCap: true,
				limits: [],
			},
		]);
		await store.completeSend(key, { state: 'sent', at });
	}
}

/** The two webhooks of the abandoned-cart example. */
export function abandonedCartUrls(webhooks: PublishedWorkflow['webhooks']): {
	orderUrl: string;
	cartUrl: string;
} {
	const orderUrl = webhooks.find((hook) => hook.node === 'Order Webhook')?.url;
	const cartUrl = webhooks.find((hook) => hook.node === 'Campaign Event Trigger')?.url;
	expect({ orderUrl: typeof orderUrl, cartUrl: typeof cartUrl }).toEqual({
		orderUrl: 'string',
		cartUrl: 'string',
	});
	return { orderUrl: orderUrl!, cartUrl: cartUrl! };
}

/**
 * Every user's outcome in the abandoned-cart example (the users of {@link abandonedCartUsers},
 * whose Intercom contacts are in `contactIds`):
 *
 * - a cart over 100 in a zone where it is day: one in-app message, naming the cart;
 * - the same, but the cart was bought (through the example's Order Webhook): exits, no message;
 * - a purchase of ANOTHER cart does not stop the reminder;
 * - a cart of 50: the property filter (cart value > 100) lets nobody in;
 * - a user in a zone where it is night (quiet hours 21:00-09:00 local): deferred to the
 *   schedule until 09:00 in their zone, no message;
 * - a user who got three messages this week: capped (3 per rolling 7 days), no message.
 *
 * The events are stamped 31 minutes ago, so the example's "30 minutes after the event" has
 * passed when they arrive and the Campaign Resume Trigger picks the users up at once.
 */
export async function checkAbandonedCartOutcomes(run: {
	/** Where executions are read (the main in queue mode). */
	n8n: N8nInstance;
	workflowId: string;
	orderUrl: string;
	cartUrl: string;
	imitation: IntercomImitation;
	contactIds: Record<string, string>;
	withStore: StoreAccess;
	timeoutMs?: number;
}): Promise<void> {
	const { n8n, imitation, contactIds } = run;
	const users = abandonedCartUsers;
	const now = Date.now();
	// Well inside the day (10:00-19:59) and the night (22:00-06:59), so the run cannot cross 09:00 or 21:00.
	const dayZone = dayZoneAt(now);
	const nightZone = zoneWhere((hour) => hour >= 22 || hour < 7, now);
	await run.withStore(async (store) => await giveThreeMessagesThisWeek(store, users.capped, now));

	// Purchases first (they happen after the carts were filled, 31 minutes ago).
	for (const [userId, cartId, orderId] of [
		[users.bought, 'cart-bought', 'order-1'],
		[users.otherCart, 'cart-older', 'order-2'],
	]) {
		const answer = await postEvents(
			run.orderUrl,
			JSON.stringify({ userId, cart_id: cartId, orderId }),
		);
		expect(answer.status).toBe(200);
	}

	const filled = new Date(now - 31 * 60_000).toISOString();
	const cart = (userId: string, cartId: string, value: number, timezone: string) =>
		trackEvent(
			userId,
			'Added to Cart',
			{ cart_id: cartId, cart_value: value },
			{ messageId: `ex-${userId}-${cartId}`, timestamp: filled, timezone },
		);
	const answer = await postEvents(
		run.cartUrl,
		JSON.stringify({
			batch: [
				cart(users.sent, 'cart-sent', 150, dayZone),
				cart(users.bought, 'cart-bought', 180, dayZone),
				cart(users.otherCart, 'cart-new', 120, dayZone),
				cart(users.cheap, 'cart-cheap', 50, dayZone),
				cart(users.night, 'cart-night', 200, nightZone),
				cart(users.capped, 'cart-capped', 300, dayZone),
			],
		}),
	);
	expect({ status: answer.status, body: answer.json }).toEqual({
		status: 202,
		body: { accepted: 6, duplicates: 0, triggered: 5 },
	});

	// The resume trigger checks every second: wait until every entered user has a decision.
	const deadline = Date.now() + (run.timeoutMs ?? 120_000);
	let runs: ExecutionDetails[] = [];
	const outputsOf = (node: string, output: number) =>
		runs
			.flatMap((execution) => (nodeOutput(execution, node, output) ?? []) as Item[])
			.map((i) => i.json);
	const decided = () =>
		[
			...outputsOf('Campaign Exception Check', 1),
			...outputsOf('Campaign Frequency Cap', 0),
			...outputsOf('Campaign Frequency Cap', 1),
			...outputsOf('Campaign Frequency Cap', 2),
		].length;
	while (Date.now() < deadline) {
		const summaries = await n8n.listExecutions(run.workflowId);
		runs = await Promise.all(
			summaries
				.filter((e) => e.status !== 'running' && e.status !== 'new')
				.map(async (e) => await n8n.getExecution(e.id, true)),
		);
		if (decided() >= 5 && imitation.requestsTo('POST /messages').length >= 2) break;
		await new Promise((resolve) => setTimeout(resolve, 1000));
	}

	const idsOf = (list: Array<Record<string, unknown>>) => list.map((json) => json.userId).sort();
	expect({
		exited: idsOf(outputsOf('Campaign Exception Check', 1)),
		allowed: idsOf(outputsOf('Campaign Frequency Cap', 0)),
		capped: idsOf(outputsOf('Campaign Frequency Cap', 1)),
		deferred: idsOf(outputsOf('Campaign Frequency Cap', 2)),
		sent: idsOf(outputsOf('Campaign Send Message', 0)),
	}).toEqual({
		exited: [users.bought],
		allowed: [users.otherCart, users.sent].sort(),
		capped: [users.capped],
		deferred: [users.night],
		sent: [users.otherCart, users.sent].sort(),
	});
	const [bought] = outputsOf('Campaign Exception Check', 1);
	expect(bought.exit).toMatchObject({ reason: 'exceptionEvent' });

	// Intercom got exactly two in-app messages, one per reminded user, naming their cart.
	const messages = imitation
		.requestsTo('POST /messages')
		.map((request) => request.body as { message_type: string; body: string; to: { id: string } });
	expect(
		messages
			.map((m) => ({ type: m.message_type, to: m.to.id, body: m.body }))
			.sort((a, b) => a.to.localeCompare(b.to)),
	).toEqual(
		[
			{ type: 'inapp', to: contactIds[users.sent], body: expect.stringContaining('cart-sent') },
			{ type: 'inapp', to: contactIds[users.otherCart], body: expect.stringContaining('cart-new') },
		].sort((a, b) => a.to.localeCompare(b.to)),
	);

	// The night user waits in the schedule until 09:00 in their own zone.
	const [night] = outputsOf('Campaign Frequency Cap', 2);
	const nextNine = DateTime.fromMillis(now, { zone: nightZone });
	const expectedDue = (nextNine.hour >= 9 ? nextNine.plus({ days: 1 }) : nextNine)
		.set({ hour: 9, minute: 0, second: 0, millisecond: 0 })
		.toMillis();
	expect(night.schedule).toMatchObject({ resumePoint: 'after-30-min' });
	expect(Date.parse(String((night.schedule as { dueAt: string }).dueAt))).toBe(expectedDue);

	// The trigger let in all but the cheap cart, and the store holds the buyer's exit.
	const entered = outputsOf('Campaign Event Trigger', 0);
	expect(idsOf(entered)).toEqual(
		[users.sent, users.bought, users.otherCart, users.night, users.capped].sort(),
	);
	await run.withStore(async (store) => {
		const boughtEntry = entered.find((json) => json.userId === users.bought)!;
		expect(await store.getEntry(String(boughtEntry.entryId))).toMatchObject({
			campaignId: ABANDONED_CART,
			state: 'exited',
			exitReason: expect.stringMatching(
				/^exceptionEvent: "Order Completed" with the same cart_id \(cart-bought\)/,
			),
		});
	});
}

/* ------------------------------------------------------------------------------------------ */
/* examples/trial-ending.json                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** The Contact fields the trial-ending example reads. */
export async function startTrialOrg(): Promise<FakeSalesforce> {
	return await startFakeSalesforceOrg([
		{
			name: 'Contact',
			fields: {
				FirstName: { type: 'string' },
				LastName: { type: 'string' },
				Email: { type: 'email' },
				Phone: { type: 'phone' },
				Time_Zone__c: { type: 'string' },
				Trial_End__c: { type: 'date' },
				Converted__c: { type: 'boolean' },
			},
		},
	]);
}

/**
 * `examples/trial-ending.json` against the fake Salesforce (its password credential, too, is
 * found by name): the Segment Trigger's first poll only starts tracking; two trials then come
 * to their last days, and the poll at n8n's next start enters them (not the Contacts whose trial
 * ends later or who converted); each waits in the schedule for the next weekday morning
 * (09:00-12:00) in their own zone. The users are placed in zones where it is not such a morning
 * now, so the check knows each one's instant whatever day it runs.
 */
export async function checkTrialEndingOutcomes(run: {
	/** The process that runs the poll and answers the API (the main in queue mode). */
	n8n: N8nInstance;
	salesforce: FakeSalesforce;
	imitation: IntercomImitation;
	/** The example, as it is imported here. */
	workflow: WorkflowJson;
	/** Restarts the process that polls (an admin's restart: the poll at activation runs again). */
	restart: () => Promise<unknown>;
	timeoutMs?: number;
}): Promise<void> {
	const { n8n, salesforce } = run;
	const started = Date.now();
	// Two zones where it is not a weekday morning now (and will not be for the next minutes).
	const quiet = (zone: string) =>
		!inMorningWindow(started, zone) && !inMorningWindow(started + 15 * 60_000, zone);
	const zones = [
		'Asia/Tokyo',
		'Europe/Berlin',
		'America/New_York',
		'Australia/Sydney',
		'America/Los_Angeles',
	].filter(quiet);
	expect(zones.length).toBeGreaterThanOrEqual(2);
	const [zoneA, zoneB] = zones;
	const day = (days: number) =>
		DateTime.fromMillis(started, { zone: 'utc' }).plus({ days }).toISODate()!;
	const contact = (name: string, zone: string, trialEnd: string, converted: boolean) =>
		salesforce.insert('Contact', {
			FirstName: name,
			LastName: 'Trial',
			Email: `${name.toLowerCase()}@trial.e2e.example`,
			Time_Zone__c: zone,
			Trial_End__c: trialEnd,
			Converted__c: converted,
		});
	contact('Cleo', zoneA, day(10), false); // trial ends later
	contact('Dan', zoneB, day(2), true); // converted already

	await createSalesforcePasswordCredential(n8n, 'Salesforce Integration User', salesforce);
	const trial = await n8n.importAndPublishWorkflow(run.workflow, { timeoutMs: 120_000 });
	// The example's first poll only starts tracking (its default): wait for it to commit.
	const tracked = Date.now() + 60_000;
	while (!n8n.logTail(400).includes('full sync via rest') && Date.now() < tracked)
		await new Promise((resolve) => setTimeout(resolve, 500));
	expect(n8n.logTail(400)).toContain('full sync via rest');

	// Two trials come to their last days; the example polls hourly, so n8n is restarted
	// (as an admin does) and polls again when it activates the workflow.
	const endsSoonA = contact('Ana', zoneA, day(2), false);
	const endsSoonB = contact('Ben', zoneB, day(1), false);
	await run.restart();

	// The poll at activation: one execution, both new users through the Delay into the schedule.
	const deadline = Date.now() + (run.timeoutMs ?? 90_000);
	let delayed: Array<Record<string, unknown>> = [];
	let runs: ExecutionDetails[] = [];
	while (Date.now() < deadline) {
		runs = await Promise.all(
			(await n8n.listExecutions(trial.id))
				.filter((e) => e.status !== 'running' && e.status !== 'new')
				.map(async (e) => await n8n.getExecution(e.id, true)),
		);
		delayed = runs.flatMap((execution) =>
			((nodeOutput(execution, 'Campaign Delay', 0) ?? []) as Item[]).map((item) => item.json),
		);
		if (delayed.length >= 2) break;
		await new Promise((resolve) => setTimeout(resolve, 1000));
	}
	if (delayed.length < 2)
		throw new Error(
			`The trial workflow did not schedule both users:\n${runs.map(describeRun).join('\n')}`,
		);
	const byUser = new Map(delayed.map((json) => [String(json.userId), json]));
	expect([...byUser.keys()].sort()).toEqual([endsSoonA, endsSoonB].sort());
	for (const [userId, zone] of [
		[endsSoonA, zoneA],
		[endsSoonB, zoneB],
	]) {
		const json = byUser.get(userId)!;
		expect(json.schedule).toMatchObject({ resumePoint: 'local-morning' });
		expect(Date.parse(String((json.schedule as { dueAt: string }).dueAt))).toBe(
			nextWeekdayMorning(started, zone),
		);
	}
	// Nobody is due yet: Intercom got nothing from this campaign.
	const trialMessages = run.imitation
		.requestsTo('POST /messages')
		.filter((request) => String(JSON.stringify(request.body)).includes('your trial ends'));
	expect(trialMessages).toEqual([]);
}
