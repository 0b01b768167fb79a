/**
 * The example workflows of `examples/` in queue mode: a real n8n 2.41.0 main (production webhooks
 * off), two `n8n worker` processes, one `n8n webhook` process, Redis on 127.0.0.1:6379, and
 * PostgreSQL for n8n and for the campaign store. The files are imported as they are, with the
 * one change the README asks of an admin in queue mode: a Campaign Store credential on
 * PostgreSQL on every campaign node (referenced by name, like the files' other credentials).
 *
 * 1. Every user's outcome, checked by the same functions as in one n8n process
 *    (`example-campaigns.ts`, used by examples.e2e.test.ts too); no SQLite file appears.
 * 2. The abandoned-cart example with a few hundred users, one worker SIGKILLed in the middle of
 *    the sends: n8n fails the dead worker's executions, the Campaign Resume Trigger gives their
 *    users back and the surviving worker sends them. Afterwards every eligible user got exactly
 *    one message, nobody got two, capped and buyers none, and every accepted event is recorded.
 *    The kill is placed while the victim's sends wait for Intercom's contact lookup, so none of
 *    its messages is in doubt (Intercom's `POST /messages` has no idempotency key: a message
 *    that reached Intercom in the milliseconds before the store recorded it would be sent again;
 *    queue-mode.e2e.test.ts shows that case with an HTTP provider and its Idempotency-Key).
 *    The figures are printed.
 *
 * Run: `npm run build && npx jest --config jest.e2e.config.js --runInBand test/e2e/examples-queue-mode.e2e.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Pool } from 'pg';

import {
	openPostgresStore,
	type PostgresCampaignStore,
} from '../../src/store/postgres/postgres-store';
import { startIntercomImitation, type IntercomImitation } from '../send/support/intercom-imitation';
import type { FakeSalesforce } from '../support/fake-salesforce';
import { postgresStoreCredentialData, testConnection } from '../support/postgres';
import { postEvents, postEventsRetryingUnavailable, trackEvent } from './campaign-e2e-helpers';
import {
	ABANDONED_CART,
	abandonedCartUrls,
	abandonedCartUsers,
	checkAbandonedCartOutcomes,
	checkTrialEndingOutcomes,
	createIntercomCredential,
	dayZoneAt,
	giveThreeMessagesThisWeek,
	INTERCOM_TOKEN,
	linkedCredentials,
	readExample,
	startTrialOrg,
	withStoreCredential,
	type StoreAccess,
} from './example-campaigns';
import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8nQueueMode,
	type N8nQueueCluster,
	type N8nSideProcess,
} from './n8n-harness';

const STORE_CREDENTIAL = 'Campaign Store (PostgreSQL)';
/** The worker-kill run: users whose cart is over 100, at the cap, who bought, under 100. */
const KILL_RUN = { eligible: 200, capped: 20, bought: 20, cheap: 20 };

/** The executions a worker's log says it started and has not finished. */
function runningExecutions(worker: N8nSideProcess): string[] {
	const log = worker.logTail(5000);
	const finished = new Set([...log.matchAll(/Worker finished execution (\d+)/g)].map((m) => m[1]));
	return [...log.matchAll(/Worker started execution (\d+)/g)]
		.map((m) => m[1])
		.filter((id) => !finished.has(id));
}

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

function countBy(values: string[]): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
	return counts;
}

describe('examples in queue mode: main + 2 workers + webhook process + Redis, PostgreSQL store, in a real n8n 2.41.0', () => {
	const schema = `tc_e2e_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
	const admin = new Pool({ ...testConnection, max: 2 });
	let tmp: string;
	let userFolder: string;
	let cluster: N8nQueueCluster | undefined;
	let imitation: IntercomImitation;
	let salesforce: FakeSalesforce | undefined;
	let store: PostgresCampaignStore | undefined;
	let cart: { id: string; orderUrl: string; cartUrl: string };
	const contactIds: Record<string, string> = {};
	const withStore: StoreAccess = async (fn) => await fn(store!);

	const rows = async <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
		(await admin.query(sql, params)).rows as R[];

	/** Any failure carries the tail of every n8n process's log. */
	const logged = (fn: () => Promise<void>) => async () => {
		try {
			await fn();
		} catch (error) {
			if (error instanceof Error && cluster) error.message += `\n${cluster.logTails(40)}`;
			throw error;
		}
	};

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-examples-queue-'));
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		userFolder = path.join(tmp, 'user');
		await installPackageTarball(tgz, userFolder);

		imitation = await startIntercomImitation({ accessToken: INTERCOM_TOKEN });
		for (const userId of Object.values(abandonedCartUsers))
			contactIds[userId] = imitation.addContact({ external_id: userId, role: 'user' }).id;

		const started = Date.now();
		cluster = await startN8nQueueMode({ userFolder, installation, workers: 2 });
		console.log(
			`queue-mode cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s: main pid ${cluster.main.pid}, workers ${cluster.workers.map((w) => w.pid).join(', ')}, webhook ${cluster.webhook.pid}`,
		);
		await cluster.main.createCredential(
			STORE_CREDENTIAL,
			'campaignStoreApi',
			postgresStoreCredentialData(schema),
		);
		await createIntercomCredential(cluster.main, imitation);
		store = await openPostgresStore({ connection: testConnection, schema, poolMax: 2 });
		const published = await cluster.main.importAndPublishWorkflow(
			withStoreCredential(readExample('abandoned-cart.json', 'e2eQueueExCart01'), STORE_CREDENTIAL),
			{ timeoutMs: 120_000 },
		);
		cart = {
			id: published.id,
			...abandonedCartUrls(await cluster.webhookUrls(published.id)),
		};
	}, 10 * 60_000);

	afterAll(async () => {
		await cluster?.stop();
		await imitation?.close();
		await salesforce?.close();
		await store?.close();
		await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
		await admin.end();
		if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it(
		'imports with every node known to n8n, the Intercom and the PostgreSQL store credentials linked by name',
		logged(async () => {
			const linked = await linkedCredentials(cluster!.main, cart.id);
			expect(linked['Campaign Send Message']?.campaignIntercomApi).toEqual({
				id: expect.any(String),
				name: 'Intercom Account',
			});
			for (const node of [
				'Campaign Event Trigger',
				'Campaign Delay',
				'Campaign Resume Trigger',
				'Campaign Exception Check',
				'Campaign Frequency Cap',
				'Campaign Send Message',
				'Campaign Store',
			])
				expect({ node, store: linked[node]?.campaignStoreApi }).toEqual({
					node,
					store: { id: expect.any(String), name: STORE_CREDENTIAL },
				});
		}),
	);

	it(
		'abandoned-cart: each user gets what the campaign says, as in one n8n process, with the executions on the workers',
		logged(async () => {
			await checkAbandonedCartOutcomes({
				n8n: cluster!.main,
				workflowId: cart.id,
				orderUrl: cart.orderUrl,
				cartUrl: cart.cartUrl,
				imitation,
				contactIds,
				withStore,
				timeoutMs: 240_000,
			});
			// The store is PostgreSQL only: no process fell back to the default SQLite file.
			expect(fs.existsSync(path.join(userFolder, '.n8n', 'triggered-campaigns.sqlite'))).toBe(
				false,
			);
			// Every execution ran on a worker.
			const onWorkers = new Set(
				cluster!.workers.flatMap((worker) =>
					[...worker.logTail(5000).matchAll(/Worker started execution (\d+)/g)].map((m) => m[1]),
				),
			);
			const executions = await cluster!.main.listExecutions(cart.id);
			expect(executions.length).toBeGreaterThan(0);
			expect(executions.filter((e) => !onWorkers.has(String(e.id)))).toEqual([]);
		}),
		6 * 60_000,
	);

	it(
		'trial-ending: the poll enters the Contacts whose trial ends within 3 days; each waits for the next weekday morning in their own zone',
		logged(async () => {
			salesforce = await startTrialOrg();
			await checkTrialEndingOutcomes({
				n8n: cluster!.main,
				salesforce,
				imitation,
				workflow: withStoreCredential(
					readExample('trial-ending.json', 'e2eQueueExTrial1'),
					STORE_CREDENTIAL,
				),
				// The main polls; the workers and the webhook process keep running.
				restart: async () => await cluster!.main.restart(),
				timeoutMs: 180_000,
			});
			expect(fs.existsSync(path.join(userFolder, '.n8n', 'triggered-campaigns.sqlite'))).toBe(
				false,
			);
		}),
		6 * 60_000,
	);

	it(
		'abandoned-cart with 260 users, a worker SIGKILLed in the middle of the sends: every eligible user sent exactly once, capped users and buyers never, every event recorded',
		logged(async () => {
			const run = 'kill';
			const ids = (kind: string, count: number) =>
				Array.from({ length: count }, (_, i) => `${run}-${kind}-${i}`);
			const eligible = ids('send', KILL_RUN.eligible);
			const capped = ids('capped', KILL_RUN.capped);
			const bought = ids('bought', KILL_RUN.bought);
			const cheap = ids('cheap', KILL_RUN.cheap);
			const entering = [...eligible, ...capped, ...bought];
			const contactOf = new Map<string, string>();
			for (const userId of [...entering, ...cheap])
				contactOf.set(userId, imitation.addContact({ external_id: userId, role: 'user' }).id);
			const userOfContact = new Map([...contactOf].map(([user, contact]) => [contact, user]));
			const messagesTo = () =>
				imitation
					.requestsTo('POST /messages')
					.map((request) => userOfContact.get((request.body as { to: { id: string } }).to.id))
					.filter((user): user is string => user !== undefined);
			const sends = async () =>
				await rows<{ user_id: string; state: string; idempotency_key: string }>(
					`SELECT user_id, state, idempotency_key FROM "${schema}".sends WHERE campaign_id = $1 AND user_id LIKE $2`,
					[ABANDONED_CART, `${run}-%`],
				);
			const steps = async () =>
				await rows<{ user_id: string; state: string; attempts: number }>(
					`SELECT user_id, state, attempts FROM "${schema}".scheduled_steps WHERE campaign_id = $1 AND user_id LIKE $2`,
					[ABANDONED_CART, `${run}-%`],
				);

			const now = Date.now();
			const runStartedAt = now;
			for (const userId of capped) await giveThreeMessagesThisWeek(store!, userId, now);
			for (const [i, userId] of bought.entries()) {
				const answer = await postEvents(
					cart.orderUrl,
					JSON.stringify({ userId, cart_id: `cart-${userId}`, orderId: `${run}-order-${i}` }),
				);
				expect(answer.status).toBe(200);
			}

			// Every user due in a stream over a minute, starting once all are surely scheduled:
			// the resume trigger then runs many executions, on both workers.
			const zone = dayZoneAt(now);
			const dueFrom = now + 60_000;
			const spreadMs = 60_000 / entering.length;
			// The kinds interleaved, so that every execution carries some of each.
			const interleaved = eligible.flatMap((userId, i) =>
				[userId, capped[i], bought[i], cheap[i]].filter((u): u is string => u !== undefined),
			);
			const events = interleaved.map((userId, i) =>
				trackEvent(
					userId,
					'Added to Cart',
					{ cart_id: `cart-${userId}`, cart_value: cheap.includes(userId) ? 50 : 150 },
					{
						messageId: `${run}-cart-${userId}`,
						timestamp: new Date(dueFrom - 30 * 60_000 + Math.round(i * spreadMs)).toISOString(),
						timezone: zone,
					},
				),
			);
			const postedAt = Date.now();
			const answers = [];
			for (let i = 0; i < events.length; i += 20)
				answers.push(
					await postEventsRetryingUnavailable(
						cart.cartUrl,
						JSON.stringify({ batch: events.slice(i, i + 20) }),
					),
				);
			expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
			const accepted = answers.reduce((n, a) => n + Number(a.json?.accepted), 0);
			expect(accepted).toBe(events.length);

			// Orders recorded (their executions ran on the workers) and every entering user scheduled.
			const [recorded] = await (async () => {
				const deadline = Date.now() + 180_000;
				for (;;) {
					const counted = await rows<{ orders: string; scheduled: string }>(
						`SELECT (SELECT count(*) FROM "${schema}".events WHERE name = 'Order Completed' AND user_id LIKE $1) AS orders,
							(SELECT count(*) FROM "${schema}".scheduled_steps WHERE campaign_id = $2 AND user_id LIKE $1) AS scheduled`,
						[`${run}-%`, ABANDONED_CART],
					);
					if (
						(Number(counted[0].orders) === bought.length &&
							Number(counted[0].scheduled) === entering.length) ||
						Date.now() > deadline
					)
						return counted;
					await sleep(1000);
				}
			})();
			const scheduledInS = (Date.now() - postedAt) / 1000;
			expect({ orders: Number(recorded.orders), scheduled: Number(recorded.scheduled) }).toEqual({
				orders: bought.length,
				scheduled: entering.length,
			});

			// A third of the messages out, then the contact lookups are held: once every message
			// that reached Intercom is recorded as sent, one worker running the campaign is killed.
			const third = Math.floor(eligible.length / 3);
			const waitThird = Date.now() + 240_000;
			while (messagesTo().length < third && Date.now() < waitThird) await sleep(100);
			expect(messagesTo().length).toBeGreaterThanOrEqual(third);
			const releaseLookups = imitation.hold('POST /contacts/search');
			// Lookups recorded before the hold were answered; each must end in a recorded message.
			const lookedUp = imitation
				.requestsTo('POST /contacts/search')
				.map((request) => String((request.body as { query?: { value?: unknown } }).query?.value))
				.filter((userId) => userId.startsWith(`${run}-`));
			let victim: N8nSideProcess | undefined;
			let killed: { pid: number | undefined; killedAt: number } | undefined;
			try {
				const settleBy = Date.now() + 120_000;
				let lastCount = -1;
				let stableSince = Date.now();
				for (;;) {
					const count = messagesTo().length;
					const messaged = new Set(messagesTo());
					if (count !== lastCount) {
						lastCount = count;
						stableSince = Date.now();
					}
					const sentInStore = (await sends()).filter((s) => s.state === 'sent').length;
					victim = cluster!.workers.find((worker) => runningExecutions(worker).length > 0);
					if (
						Date.now() - stableSince >= 2000 &&
						sentInStore === count &&
						lookedUp.every((userId) => messaged.has(userId)) &&
						imitation.heldCount > 0 &&
						victim
					)
						break;
					if (Date.now() > settleBy)
						throw new Error(
							`no quiet moment to kill a worker: ${count} messages, ${sentInStore} sent in the store, ${imitation.heldCount} lookups held, ${lookedUp.filter((u) => !messaged.has(u)).length} looked up without a message, running ${cluster!.workers.map((w) => `${w.name}: ${runningExecutions(w).join(',')}`).join('; ')}`,
						);
					await sleep(250);
				}
				killed = await victim.kill();
			} finally {
				releaseLookups();
			}
			const messagesAtKill = messagesTo().length;
			const stepsAtKill = countBy((await steps()).map((s) => s.state));

			// n8n fails the dead worker's executions; the resume trigger gives their users back and
			// the surviving worker sends them.
			const recoverBy = Date.now() + 6 * 60_000;
			let stepStates: Record<string, number> = {};
			for (;;) {
				stepStates = countBy((await steps()).map((s) => s.state));
				const sentUsers = new Set(
					(await sends()).filter((s) => s.state === 'sent').map((s) => s.user_id),
				);
				const open = (stepStates.scheduled ?? 0) + (stepStates.claimed ?? 0);
				if (open === 0 && eligible.every((u) => sentUsers.has(u))) break;
				if (Date.now() > recoverBy) break;
				await sleep(1000);
			}
			const recoveredInS = (Date.now() - killed.killedAt) / 1000;
			await sleep(3000);

			const finalSends = await sends();
			const finalSteps = await steps();
			const messages = messagesTo();
			const messagesPerUser = countBy(messages);
			const sentPerUser = countBy(
				finalSends.filter((s) => s.state === 'sent').map((s) => s.user_id),
			);
			const executions = await cluster!.main.listExecutions(cart.id);
			const killRunExecutions = executions.filter(
				(e) => e.startedAt !== null && Date.parse(e.startedAt) >= runStartedAt,
			);
			const [eventsRecorded] = await rows<{ n: string }>(
				`SELECT count(*) AS n FROM "${schema}".events WHERE user_id LIKE $1`,
				[`${run}-%`],
			);
			const [exits] = await rows<{ n: string }>(
				`SELECT count(*) AS n FROM "${schema}".campaign_entries WHERE campaign_id = $1 AND user_id LIKE $2 AND state = 'exited' AND exit_reason LIKE 'exceptionEvent%'`,
				[ABANDONED_CART, `${run}-bought-%`],
			);
			const figures = {
				users: {
					eligible: eligible.length,
					capped: capped.length,
					bought: bought.length,
					cheap: cheap.length,
				},
				eventsPosted: events.length + bought.length,
				eventsAccepted: accepted + bought.length,
				eventsRecorded: Number(eventsRecorded.n),
				scheduledInS,
				killed: {
					worker: victim!.name,
					pid: killed.pid,
					afterPostingS: (killed.killedAt - postedAt) / 1000,
					messagesBefore: messagesAtKill,
					steps: stepsAtKill,
				},
				executions: countBy(killRunExecutions.map((e) => `${e.mode}:${e.status}`)),
				usersClaimedAgain: finalSteps.filter((s) => s.attempts > 1).length,
				recoveredInS,
				steps: countBy(finalSteps.map((s) => s.state)),
				messages: messages.length,
				sendsByState: countBy(finalSends.map((s) => s.state)),
				duplicateMessagesPerUser: Object.entries(messagesPerUser).filter(([, n]) => n > 1).length,
				duplicateSentPerUser: Object.entries(sentPerUser).filter(([, n]) => n > 1).length,
				lost: eligible.filter((u) => messagesPerUser[u] !== 1 || sentPerUser[u] !== 1).length,
				cappedOrBoughtMessaged: [...capped, ...bought, ...cheap].filter((u) => messagesPerUser[u])
					.length,
				boughtExited: Number(exits.n),
			};
			console.log(
				`queue mode, abandoned-cart example, a worker killed mid-run:\n${JSON.stringify(figures, null, 2)}`,
			);

			expect(cluster!.workers.filter((w) => w.running)).toHaveLength(1);
			// Every accepted event recorded (by the webhook process and the workers).
			expect(figures.eventsRecorded).toBe(figures.eventsAccepted);
			// The kill hit the campaign: the dead worker's executions were failed by n8n and their
			// users claimed again.
			expect(figures.executions['trigger:error'] ?? 0).toBeGreaterThan(0);
			expect(figures.usersClaimedAgain).toBeGreaterThan(0);
			// No loss, no duplicate: one message and one `sent` row per eligible user, none for the
			// others; every step finished, nothing left reserved.
			expect({
				steps: figures.steps,
				messages: figures.messages,
				sendsByState: figures.sendsByState,
				duplicateMessagesPerUser: figures.duplicateMessagesPerUser,
				duplicateSentPerUser: figures.duplicateSentPerUser,
				lost: figures.lost,
				cappedOrBoughtMessaged: figures.cappedOrBoughtMessaged,
				boughtExited: figures.boughtExited,
			}).toEqual({
				// A buyer's exit cancels their step.
				steps: { done: eligible.length + capped.length, cancelled: bought.length },
				messages: eligible.length,
				sendsByState: { sent: eligible.length },
				duplicateMessagesPerUser: 0,
				duplicateSentPerUser: 0,
				lost: 0,
				cappedOrBoughtMessaged: 0,
				boughtExited: bought.length,
			});
			expect(new Set(finalSends.map((s) => s.idempotency_key)).size).toBe(finalSends.length);
		}),
		15 * 60_000,
	);
});
