/**
 * Each user at their own time, in a real n8n 2.41.0, with batches: the per-user schedule.
 *
 * Two campaigns, each: Campaign Event Trigger → Campaign Delay (per user, through the schedule)
 * and, on the same canvas, Campaign Resume Trigger → Send Message (HTTP channel, to a provider
 * imitation this test runs on 127.0.0.1, which notes when each message arrives).
 *
 * - "after the event": ONE webhook batch of 700 users whose events are spread over three
 *   minutes; each is due 220 s after their own event.
 * - "delivery window": ONE batch of 300 users in Tokyo, Berlin and New York; each zone's
 *   delivery window opens (in local time, per user from the event) at another minute of the
 *   test.
 *
 * So 1,000 users of two batches fall due over about three minutes. Halfway, n8n is stopped
 * (SIGTERM, as an admin does) and started again. Every user must be sent exactly once, never
 * before their own time; users due while n8n ran within 5 s of it (p99); users due while it
 * was down right after it is back, in due order. The lateness distribution is printed.
 *
 * First, the trial journey the same way: a Salesforce Segment Trigger (against the fake
 * Salesforce this test runs) enters three trial users in Tokyo, Berlin and New York in one
 * poll, one execution; each user's local morning window is placed a minute after the other's
 * (per user, from a Salesforce field), and each must be sent at their own window's start.
 *
 * Run: `npm run test:e2e -- test/e2e/resume-schedule.e2e.test.ts` (builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
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
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
	type WorkflowNode,
} from './n8n-harness';
import type { FakeSalesforce } from '../support/fake-salesforce';
import { createSalesforcePasswordCredential, startFakeSalesforceOrg } from './fake-salesforce-org';
import {
	postEvents,
	startRecordingProvider,
	trackEvent,
	withLogTail,
	type RecordingProvider,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const AFTER_EVENT_USERS = 700;
const WINDOW_USERS = 300;
const DELAY_SECONDS = 220;
const SPREAD_MS = 180_000;
const ZONES = ['Asia/Tokyo', 'Europe/Berlin', 'America/New_York'];
const P99_LIMIT_MS = 5_000;

const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

function node(
	name: string,
	type: string,
	position: [number, number],
	parameters: Record<string, unknown>,
	extra: Partial<WorkflowNode> = {},
): WorkflowNode {
	return {
		id: randomUUID(),
		name,
		type: type.includes('.') ? type : `${PKG}.${type}`,
		typeVersion: 1,
		position,
		parameters,
		...extra,
	};
}

/** Trigger → Delay (per user) | Resume Trigger → Send Message (HTTP) → Sent. */
function campaignWorkflow(
	id: string,
	campaignId: string,
	delay: Record<string, unknown>,
	providerUrl: string,
): WorkflowJson {
	return {
		id,
		name: `e2e per-user schedule: ${campaignId}`,
		nodes: [
			node(
				'Trigger',
				'campaignEventTrigger',
				[0, 0],
				{ campaignId, eventNames: 'Trial Started', reEntry: 'everyTime', options: {} },
				{ webhookId: randomUUID() },
			),
			node(
				'Delay',
				'campaignDelay',
				[240, 0],
				{ waitHow: 'schedule', resumePoint: 'due', ...delay },
				{ typeVersion: 2 },
			),
			node('Resume', 'campaignResumeTrigger', [0, 240], {
				campaignId,
				resumePoint: 'due',
				options: { pollSeconds: 1, batchSize: 1000, maxInFlight: 2 },
			}),
			node('Send Message', 'sendMessage', [240, 240], {
				channel: 'http',
				httpMethod: 'POST',
				httpUrl: providerUrl,
				httpAuthentication: 'none',
				httpBody:
					'{"to": "{{ user.id }}", "campaign": "{{ campaign.id }}", "text": "{{ message.body }}"}',
				body: 'Your moment, {{ user.id }}',
				options: {},
			}),
			node('Sent', 'n8n-nodes-base.noOp', [480, 200], {}),
			node('Failed', 'n8n-nodes-base.noOp', [480, 320], {}),
		],
		connections: {
			Trigger: { main: [to('Delay')] },
			Resume: { main: [to('Send Message')] },
			'Send Message': { main: [to('Sent'), to('Failed')] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/** Salesforce Segment Trigger → Delay (per user, local window from the record) | Resume → Send. */
function trialWorkflow(
	credential: { id: string; name: string },
	providerUrl: string,
): WorkflowJson {
	const campaign = campaignWorkflow(
		'e2eResumeTrial01',
		'e2e-resume-trial',
		{
			mode: 'nextWindow',
			windowStart: '={{ $json.profile.attributes.windowOpens }}',
			windowEnd: '={{ $json.profile.attributes.windowCloses }}',
		},
		providerUrl,
	);
	campaign.nodes[0] = node(
		'Trigger',
		'salesforceSegmentTrigger',
		[0, 0],
		{
			pollTimes: { item: [{ mode: 'everyMinute' }] },
			authentication: 'campaignPassword',
			campaignId: 'e2e-resume-trial',
			segmentSource: 'records',
			object: 'Contact',
			condition: "Trial_Status__c = 'Trial'",
			userIdField: 'App_User_Id__c',
			timeZoneField: 'Time_Zone__c',
			attributes: {
				attribute: [
					{ name: 'windowOpens', field: 'Window_Opens__c' },
					{ name: 'windowCloses', field: 'Window_Closes__c' },
				],
			},
			emit: 'entered',
			firstPoll: 'enterAll',
			options: {},
		},
		{ credentials: { campaignSalesforcePasswordApi: credential } },
	);
	return campaign;
}

const quantile = (sorted: number[], q: number) =>
	sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

describe('each user at their own time through the schedule, in a real n8n 2.41.0', () => {
	let tmp: string;
	let n8n: N8nInstance | undefined;
	let provider: RecordingProvider;
	let salesforce: FakeSalesforce | undefined;
	let afterEvent: PublishedWorkflow;
	let inWindow: PublishedWorkflow;
	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-resume-'));
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		await installPackageTarball(tgz, userFolder);
		provider = await startRecordingProvider();
		n8n = await startN8n({ userFolder, installation });
	});

	afterAll(async () => {
		await n8n?.stop();
		await provider?.close();
		await salesforce?.close();
		if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it(
		'sends trial users of one Salesforce poll in three zones each at their own local window',
		logged(async () => {
			salesforce = await startFakeSalesforceOrg([
				{
					name: 'Contact',
					fields: {
						LastName: { type: 'string' },
						Email: { type: 'email' },
						Phone: { type: 'phone' },
						App_User_Id__c: { type: 'string' },
						Time_Zone__c: { type: 'string' },
						Trial_Status__c: { type: 'picklist' },
						Window_Opens__c: { type: 'string' },
						Window_Closes__c: { type: 'string' },
					},
				},
			]);
			const start = Date.now();
			const due = new Map<string, number>();
			ZONES.forEach((zone, i) => {
				// Each user's morning window opens a minute after the previous one's.
				const opensAt = DateTime.fromMillis(start + 20_000 + i * 60_000)
					.setZone(zone)
					.startOf('minute')
					.plus({ minutes: 1 });
				const userId = `trial-${zone.split('/')[1].toLowerCase()}`;
				due.set(userId, opensAt.toMillis());
				salesforce!.insert('Contact', {
					LastName: userId,
					Email: `${userId}@e2e.example`,
					App_User_Id__c: userId,
					Time_Zone__c: zone,
					Trial_Status__c: 'Trial',
					Window_Opens__c: opensAt.toFormat('HH:mm'),
					Window_Closes__c: opensAt.plus({ hours: 2 }).toFormat('HH:mm'),
				});
			});
			const credential = await createSalesforcePasswordCredential(
				n8n!,
				'e2e Salesforce password (fake org)',
				salesforce,
			);
			// Activation polls once: one execution enters all three users.
			const trial = await n8n!.importAndPublishWorkflow(
				trialWorkflow({ id: credential.id, name: credential.name }, provider.url),
			);
			const sentTo = () => provider.requests.filter((r) => String(r.body.to).startsWith('trial-'));
			const deadline = Math.max(...due.values()) + 30_000;
			while (sentTo().length < due.size && Date.now() < deadline)
				await new Promise((resolve) => setTimeout(resolve, 500));
			const [poll] = (await n8n!.listExecutions(trial.id)).filter(
				(execution) => execution.mode === 'trigger',
			);
			const report = [...due].map(([userId, dueAt]) => {
				const arrivals = sentTo().filter((r) => r.body.to === userId);
				return {
					userId,
					windowOpens: new Date(dueAt).toISOString(),
					sentAt: arrivals.map((r) => new Date(r.at).toISOString()),
					lateByMs: arrivals.map((r) => r.at - dueAt),
				};
			});
			console.log(`Salesforce trial users, one poll:\n${JSON.stringify(report, null, 2)}`);
			expect(poll).toBeDefined();
			for (const user of report) {
				expect(user.lateByMs).toHaveLength(1);
				expect(user.lateByMs[0]).toBeGreaterThanOrEqual(0);
				expect(user.lateByMs[0]).toBeLessThanOrEqual(P99_LIMIT_MS);
			}
		}),
		10 * 60_000,
	);

	it(
		'sends 1,000 users of two batches each once, at their own time, and those due during a restart right after it',
		logged(async () => {
			afterEvent = await n8n!.importAndPublishWorkflow(
				campaignWorkflow(
					'e2eResumeAfter01',
					'e2e-resume-after-event',
					{ mode: 'afterEvent', amount: DELAY_SECONDS, unit: 'seconds' },
					provider.url,
				),
			);
			inWindow = await n8n!.importAndPublishWorkflow(
				campaignWorkflow(
					'e2eResumeWindow1',
					'e2e-resume-window',
					{
						mode: 'nextWindow',
						windowStart: '={{ $json.event.properties.windowOpens }}',
						windowEnd: '={{ $json.event.properties.windowCloses }}',
					},
					provider.url,
				),
			);
			const start = Date.now();
			const due = new Map<string, number>();

			// 700 users, events spread over three minutes, each due 220 s after their event.
			const afterEventBatch = Array.from({ length: AFTER_EVENT_USERS }, (_, i) => {
				const occurredAt =
					start - DELAY_SECONDS * 1000 + 20_000 + Math.round((i * SPREAD_MS) / AFTER_EVENT_USERS);
				const userId = `a${i}`;
				due.set(userId, occurredAt + DELAY_SECONDS * 1000);
				return trackEvent(
					userId,
					'Trial Started',
					{},
					{
						messageId: `resume-a-${i}`,
						timestamp: new Date(occurredAt).toISOString(),
					},
				);
			});
			// 300 users in three zones; each zone's window opens at another whole minute of the test.
			const windowBatch = Array.from({ length: WINDOW_USERS }, (_, i) => {
				const zone = ZONES[i % ZONES.length];
				const opensAt = DateTime.fromMillis(start + 50_000 + (i % ZONES.length) * 60_000)
					.setZone(zone)
					.startOf('minute')
					.plus({ minutes: 1 });
				const userId = `w${i}`;
				due.set(userId, opensAt.toMillis());
				return trackEvent(
					userId,
					'Trial Started',
					{
						windowOpens: opensAt.toFormat('HH:mm'),
						windowCloses: opensAt.plus({ hours: 1 }).toFormat('HH:mm'),
					},
					{ messageId: `resume-w-${i}`, timezone: zone },
				);
			});

			const [a, w] = await Promise.all([
				postEvents(afterEvent.webhooks[0].url, JSON.stringify({ batch: afterEventBatch })),
				postEvents(inWindow.webhooks[0].url, JSON.stringify({ batch: windowBatch })),
			]);
			expect(a).toMatchObject({ status: 202, json: { triggered: AFTER_EVENT_USERS } });
			expect(w).toMatchObject({ status: 202, json: { triggered: WINDOW_USERS } });

			// Halfway through, an admin restarts n8n.
			await new Promise((resolve) =>
				setTimeout(resolve, Math.max(0, start + 110_000 - Date.now())),
			);
			const { stoppedAt, readyAt } = await n8n!.restart({ downMs: 3000 });

			const lastDue = Math.max(...due.values());
			const deadline = lastDue + 60_000;
			while (
				new Set(provider.requests.map((r) => r.body.to)).size < due.size &&
				Date.now() < deadline
			)
				await new Promise((resolve) => setTimeout(resolve, 500));
			// A moment more, to see any second message.
			await new Promise((resolve) => setTimeout(resolve, 5_000));

			const arrivals = new Map<string, number[]>();
			for (const request of provider.requests.filter(
				(r) => !String(r.body.to).startsWith('trial-'),
			)) {
				const userId = String(request.body.to);
				arrivals.set(userId, [...(arrivals.get(userId) ?? []), request.at]);
			}
			const lost = [...due.keys()].filter((userId) => !arrivals.has(userId));
			const twice = [...arrivals.entries()].filter(([, times]) => times.length > 1).map(([u]) => u);
			const early = [...arrivals.entries()].filter(([u, [at]]) => at < due.get(u)!).map(([u]) => u);

			// Users due while n8n ran vs. due while it was stopped or starting again (the trigger
			// is active a few seconds after n8n answers ready).
			const outageFrom = stoppedAt - 30_000; // SIGTERM lets running executions finish first
			const outageTo = readyAt + 15_000;
			const running: number[] = [];
			const arrivalIndex = new Map(provider.requests.map((r, index) => [String(r.body.to), index]));
			const outage: Array<{ userId: string; due: number; at: number }> = [];
			for (const [userId, dueAt] of due) {
				const at = arrivals.get(userId)?.[0];
				if (at === undefined) continue;
				if (dueAt >= outageFrom && dueAt <= outageTo) outage.push({ userId, due: dueAt, at });
				else running.push(at - dueAt);
			}
			running.sort((x, y) => x - y);
			const outageLateness = outage.map((o) => o.at - o.due).sort((x, y) => x - y);
			const report = {
				users: due.size,
				sent: arrivals.size,
				lost: lost.length,
				sentTwice: twice.length,
				early: early.length,
				restart: { stoppedAfterS: (stoppedAt - start) / 1000, downS: (readyAt - stoppedAt) / 1000 },
				dueWhileRunning: {
					users: running.length,
					latenessMs: {
						p50: quantile(running, 0.5),
						p90: quantile(running, 0.9),
						p99: quantile(running, 0.99),
						max: running[running.length - 1],
					},
				},
				dueAroundRestart: {
					users: outage.length,
					latenessMs: {
						p50: quantile(outageLateness, 0.5),
						max: outageLateness[outageLateness.length - 1],
					},
					// Each campaign's resume trigger keeps its own order (the two run side by side).
					sentAfterReadyInDueOrder: ['a', 'w'].every((campaign) =>
						outage
							.filter((o) => o.due < readyAt && o.userId.startsWith(campaign))
							.sort((x, y) => arrivalIndex.get(x.userId)! - arrivalIndex.get(y.userId)!)
							.every((o, i, list) => i === 0 || list[i - 1].due <= o.due),
					),
				},
			};
			console.log(`per-user schedule e2e:\n${JSON.stringify(report, null, 2)}`);

			expect({ lost, twice, early }).toEqual({ lost: [], twice: [], early: [] });
			expect(report.dueWhileRunning.latenessMs.p99).toBeLessThanOrEqual(P99_LIMIT_MS);
			expect(report.dueAroundRestart.sentAfterReadyInDueOrder).toBe(true);
			for (const o of outage.filter((x) => x.due >= stoppedAt && x.due < readyAt))
				expect(o.at).toBeGreaterThanOrEqual(readyAt);
		}),
		10 * 60_000,
	);
});
