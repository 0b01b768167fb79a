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
import {
	defaultStorePath,
	nodeOutput,
	postEvents,
	trackEvent,
	withLogTail,
	withSqliteStore,
} from './campaign-e2e-helpers';

const TOKEN = 'e2e-examples-intercom-token';
const EXAMPLE = path.join(packageRoot(), 'examples', 'abandoned-cart.json');
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
});
