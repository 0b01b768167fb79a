/**
 * The example workflow `examples/abandoned-cart.json`, imported as it is into a real n8n 2.41.0
 * (its Intercom credential is found by name, as n8n does on import) and run against the local
 * Intercom imitation. Every user's outcome is checked:
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
 *
 * Then `examples/trial-ending.json` against the fake Salesforce (its password credential, too, is
 * found by name): the Segment Trigger's poll at activation enters the Contacts whose trial ends
 * within three days and who have not converted; each waits in the schedule for the next weekday
 * morning (09:00-12:00) in their own zone. The users are placed in zones where it is not such a
 * morning now, so the test knows each one's instant whatever day it runs.
 *
 * Run: `npm run test:e2e -- test/e2e/examples.e2e.test.ts` (builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DateTime } from 'luxon';

import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8n,
	type ExecutionDetails,
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
} from './n8n-harness';
import { startIntercomImitation, type IntercomImitation } from '../send/support/intercom-imitation';
import { FakeSalesforce } from '../support/fake-salesforce';
import {
	defaultStorePath,
	describeRun,
	nodeOutput,
	postEvents,
	trackEvent,
	withLogTail,
	withSqliteStore,
} from './campaign-e2e-helpers';

const TOKEN = 'e2e-examples-intercom-token';
const EXAMPLE = path.join(packageRoot(), 'examples', 'abandoned-cart.json');
const TRIAL_EXAMPLE = path.join(packageRoot(), 'examples', 'trial-ending.json');
const SALESFORCE_APP = { clientId: 'e2e-examples-app', clientSecret: 'e2e-examples-app-secret' };
const SALESFORCE_USER = {
	username: 'integration@examples.e2e.example',
	password: 'e2e-pw',
	securityToken: 'E2ETOKEN',
};

/** The start of the example's next delivery window: weekdays 09:00-12:00 in `zone`, from `now`. */
function nextWeekdayMorning(now: number, zone: string): number {
	let day = DateTime.fromMillis(now, { zone }).startOf('day');
	for (let i = 0; i < 8; i++, day = day.plus({ days: 1 })) {
		const opens = day.set({ hour: 9 });
		if (day.weekday <= 5 && opens.toMillis() >= now) return opens.toMillis();
	}
	throw new Error(`no weekday morning within a week in ${zone}`);
}

/** Whether `now` is inside a weekday 09:00-12:00 in `zone`. */
const inMorningWindow = (now: number, zone: string): boolean => {
	const local = DateTime.fromMillis(now, { zone });
	return local.weekday <= 5 && local.hour >= 9 && local.hour < 12;
};
const CAMPAIGN = 'abandoned-cart';
const DAY = 86_400_000;

/** A zone whose local hour now is in `hours`; the list spans every offset from -10 to +13. */
function zoneWhere(hours: (hour: number) => boolean, now: number): string {
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

type Item = { json: Record<string, unknown> };

describe('examples/abandoned-cart.json in a real n8n 2.41.0', () => {
	let tmp: string;
	let n8n: N8nInstance | undefined;
	let imitation: IntercomImitation;
	let workflow: PublishedWorkflow;
	let storePath: string;
	let salesforce: FakeSalesforce | undefined;
	const now = Date.now();
	// Well inside the day (10:00-19:59) and the night (22:00-06:59), so the run cannot cross 09:00 or 21:00.
	const dayZone = zoneWhere((hour) => hour >= 10 && hour < 20, now);
	const nightZone = zoneWhere((hour) => hour >= 22 || hour < 7, now);
	const users = {
		sent: 'ex-sent',
		bought: 'ex-bought',
		otherCart: 'ex-other-cart',
		cheap: 'ex-cheap',
		night: 'ex-night',
		capped: 'ex-capped',
	};
	const contactIds: Record<string, string> = {};
	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-examples-'));
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		storePath = defaultStorePath(userFolder);
		await installPackageTarball(tgz, userFolder);

		imitation = await startIntercomImitation({ accessToken: TOKEN });
		for (const userId of Object.values(users))
			contactIds[userId] = imitation.addContact({ external_id: userId, role: 'user' }).id;

		n8n = await startN8n({ userFolder, installation });
		// The example names its credential "Intercom Account"; n8n links it by name on import.
		await n8n.createCredential('Intercom Account', 'campaignIntercomApi', {
			accessToken: TOKEN,
			region: 'us',
			baseUrl: imitation.baseUrl,
			apiVersion: '2.14',
			defaultAdminId: imitation.admins[0].id,
		});
		const example = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as WorkflowJson;
		workflow = await n8n.importAndPublishWorkflow({ ...example, id: 'e2eExampleCart01' });
	}, 600_000);

	afterAll(async () => {
		await n8n?.stop();
		await imitation?.close();
		await salesforce?.close();
		if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it(
		'imports with every node known to n8n and its credential linked by name',
		logged(async () => {
			const saved = await n8n!.api<{ nodes: Array<{ name: string; type: string; credentials?: Record<string, { id: string | null; name: string }> }> }>(
				'GET',
				`/api/v1/workflows/${workflow.id}`,
			);
			const send = saved.nodes.find((node) => node.type.endsWith('.sendMessage'));
			expect(send?.credentials?.campaignIntercomApi).toMatchObject({ name: 'Intercom Account' });
			expect(send?.credentials?.campaignIntercomApi.id).toEqual(expect.any(String));
		}),
	);

	it(
		'sends each user what the campaign says, once: day users reminded, a buyer exits, a cheap cart never enters, a night user waits for 09:00 local, a user at the cap is capped',
		logged(async () => {
			// Three messages this week for the capped user, from another campaign.
			await withSqliteStore(storePath, async (store) => {
				for (let n = 0; n < 3; n++) {
					const at = now - (n + 1) * DAY;
					const key = `earlier-campaign:${users.capped}:${n}`;
					await store.reserveSends([
						{
							idempotencyKey: key,
							campaignId: 'earlier-campaign',
							stepId: 'send',
							userId: users.capped,
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
			});
			const orderUrl = workflow.webhooks.find((hook) => hook.node === 'Order Webhook')?.url;
			const cartUrl = workflow.webhooks.find((hook) => hook.node === 'Campaign Event Trigger')?.url;
			expect({ orderUrl: typeof orderUrl, cartUrl: typeof cartUrl }).toEqual({
				orderUrl: 'string',
				cartUrl: 'string',
			});

			// Purchases first (they happen after the carts were filled, 31 minutes ago).
			for (const [userId, cartId, orderId] of [
				[users.bought, 'cart-bought', 'order-1'],
				[users.otherCart, 'cart-older', 'order-2'],
			]) {
				const answer = await postEvents(orderUrl!, JSON.stringify({ userId, cart_id: cartId, orderId }));
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
				cartUrl!,
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
			const deadline = Date.now() + 120_000;
			let runs: ExecutionDetails[] = [];
			const outputsOf = (node: string, output: number) =>
				runs.flatMap((run) => (nodeOutput(run, node, output) ?? []) as Item[]).map((i) => i.json);
			const decided = () =>
				[
					...outputsOf('Campaign Exception Check', 1),
					...outputsOf('Campaign Frequency Cap', 0),
					...outputsOf('Campaign Frequency Cap', 1),
					...outputsOf('Campaign Frequency Cap', 2),
				].length;
			while (Date.now() < deadline) {
				const summaries = await n8n!.listExecutions(workflow.id);
				runs = await Promise.all(
					summaries
						.filter((e) => e.status !== 'running' && e.status !== 'new')
						.map((e) => n8n!.getExecution(e.id, true)),
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
			await withSqliteStore(storePath, async (store) => {
				const boughtEntry = entered.find((json) => json.userId === users.bought)!;
				expect(await store.getEntry(String(boughtEntry.entryId))).toMatchObject({
					campaignId: CAMPAIGN,
					state: 'exited',
					exitReason: expect.stringMatching(/^exceptionEvent: "Order Completed" with the same cart_id \(cart-bought\)/),
				});
			});
		}),
		300_000,
	);

	it(
		'trial-ending: the poll enters the Contacts whose trial ends within 3 days and who have not converted; each waits for the next weekday morning in their own zone',
		logged(async () => {
			salesforce = await FakeSalesforce.start();
			salesforce.addConnectedApp(SALESFORCE_APP);
			salesforce.addUser(SALESFORCE_USER);
			salesforce.defineObject({
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
			});
			const started = Date.now();
			// Two zones where it is not a weekday morning now (and will not be for the next minutes).
			const quiet = (zone: string) =>
				!inMorningWindow(started, zone) && !inMorningWindow(started + 15 * 60_000, zone);
			const zones = ['Asia/Tokyo', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'America/Los_Angeles'].filter(quiet);
			expect(zones.length).toBeGreaterThanOrEqual(2);
			const [zoneA, zoneB] = zones;
			const day = (days: number) =>
				DateTime.fromMillis(started, { zone: 'utc' }).plus({ days }).toISODate()!;
			const contact = (name: string, zone: string, trialEnd: string, converted: boolean) =>
				salesforce!.insert('Contact', {
					FirstName: name,
					LastName: 'Trial',
					Email: `${name.toLowerCase()}@trial.e2e.example`,
					Time_Zone__c: zone,
					Trial_End__c: trialEnd,
					Converted__c: converted,
				});
			contact('Cleo', zoneA, day(10), false); // trial ends later
			contact('Dan', zoneB, day(2), true); // converted already

			await n8n!.createCredential('Salesforce Integration User', 'campaignSalesforcePasswordApi', {
				environment: 'custom',
				myDomainUrl: salesforce.url,
				useSoapLogin: false,
				clientId: SALESFORCE_APP.clientId,
				clientSecret: SALESFORCE_APP.clientSecret,
				username: SALESFORCE_USER.username,
				password: SALESFORCE_USER.password,
				securityToken: SALESFORCE_USER.securityToken,
				apiVersion: '62.0',
			});
			const example = JSON.parse(fs.readFileSync(TRIAL_EXAMPLE, 'utf8')) as WorkflowJson;
			const trial = await n8n!.importAndPublishWorkflow({ ...example, id: 'e2eExampleTrial1' });
			// The example's first poll only starts tracking (its default): wait for it to commit.
			const tracked = Date.now() + 60_000;
			while (!n8n!.logTail(400).includes('full sync via rest') && Date.now() < tracked)
				await new Promise((resolve) => setTimeout(resolve, 500));
			expect(n8n!.logTail(400)).toContain('full sync via rest');

			// Two trials come to their last days; the example polls hourly, so n8n is restarted
			// (as an admin does) and polls again when it activates the workflow.
			const endsSoonA = contact('Ana', zoneA, day(2), false);
			const endsSoonB = contact('Ben', zoneB, day(1), false);
			await n8n!.restart();

			// The poll at activation: one execution, both new users through the Delay into the schedule.
			const deadline = Date.now() + 90_000;
			let delayed: Array<Record<string, unknown>> = [];
			let runs: ExecutionDetails[] = [];
			while (Date.now() < deadline) {
				runs = await Promise.all(
					(await n8n!.listExecutions(trial.id))
						.filter((e) => e.status !== 'running' && e.status !== 'new')
						.map((e) => n8n!.getExecution(e.id, true)),
				);
				delayed = runs.flatMap((run) =>
					((nodeOutput(run, 'Campaign Delay', 0) ?? []) as Item[]).map((item) => item.json),
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
			const trialMessages = imitation
				.requestsTo('POST /messages')
				.filter((request) => String(JSON.stringify(request.body)).includes('your trial ends'));
			expect(trialMessages).toEqual([]);
		}),
		300_000,
	);
});
