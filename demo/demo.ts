/**
 * `npm run demo`: the abandoned-cart campaign in-process on the embedded SQLite store, through
 * the same engine calls the n8n nodes make, on a fixed clock: trigger → 30-minute delay →
 * exception on purchase of the same cart → cap of 3 per week and quiet hours 21:00–09:00 in
 * each user's time zone → Send Message through Intercom (a local imitation of its API), with an
 * A/B test. It prints what happened to each user and why, and every request Intercom received.
 * Then the Salesforce trial story (see trial-journey.ts).
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DateTime } from 'luxon';

import { fetchTransport } from '../test/send/support/fetch-transport';
import { runReports } from './report';
import { runTimelines } from './timeline';
import { runTrialJourney } from './trial-journey';
import { startIntercomImitation } from '../test/send/support/intercom-imitation';
import {
	afterRefusal,
	applyFrequencyCap,
	assignVariant,
	buildPersonalizationContext,
	createIntercomChannel,
	deliverCampaignItem,
	checkExceptions,
	computeResumeAt,
	frequencyCapField,
	handleEventRequest,
	quietHoursToWindow,
	readCampaignItem,
	readCapHandOff,
	renderTemplate,
	resolveItemTimeZone,
	resumedItemJson,
	scheduleRequestFor,
	SqliteCampaignStore,
	triggeredEntryToJson,
	type CampaignSendRequest,
	type CampaignStore,
	type CapRequest,
	type DelaySpec,
	type ExceptionRule,
	type FrequencyPolicy,
	type TriggerRule,
	type WebhookAuth,
} from '../src';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A Tuesday evening in Europe, afternoon in the Americas. */
const T0 = Date.parse('2026-03-10T19:40:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const at = (offset: number) => iso(T0 + offset);

const rule: TriggerRule = {
	campaignId: 'abandoned-cart',
	eventNames: ['Added to Cart'],
	propertyFilters: [{ property: 'cart_value', operator: 'greaterThan', value: '100' }],
	startsAt: T0 - DAY,
	reEntry: { mode: 'oncePerPeriod', periodMs: DAY },
};
const delay: DelaySpec = { mode: 'afterEvent', amount: 30, unit: 'minutes' };
/** The Campaign Delay's Resume Point, which the Campaign Resume Trigger watches. */
const RESUME_POINT = 'after-30-min';
const exception: ExceptionRule = {
	exceptionEvents: ['Order Completed'],
	matchProperty: 'cart_id',
	exitWhenUnsubscribed: true,
};
const policy: FrequencyPolicy = {
	rules: [
		{
			id: '3-per-week',
			limit: 3,
			window: { kind: 'rolling', ms: 7 * DAY },
			scope: { kind: 'all' },
			channel: 'any',
		},
	],
	deliveryWindow: quietHoursToWindow('21:00', '09:00', []),
	outsideWindow: 'defer',
	important: false,
	importantCounts: true,
	reservationTtlMs: HOUR,
};
const VARIANTS = [
	{ name: 'A', weight: 1 },
	{ name: 'B', weight: 1 },
];
const TEMPLATES: Record<string, string> = {
	A: '<p>You left {{ event.properties.cart_id }} in your cart. It is still there for you.</p>',
	B: '<p>Still thinking it over? Cart {{ event.properties.cart_id }} is waiting, {{ user.name | default: "friend" }}.</p>',
};
const auth: WebhookAuth = {
	type: 'hmacSha256',
	headerName: 'X-Signature',
	secret: 'demo-shared-secret-0123456789',
};

const zones: Record<string, string> = {
	ana: 'Europe/Berlin',
	fay: 'America/New_York',
	gus: 'America/Chicago',
	hana: 'America/Los_Angeles',
};
const cart = (
	userId: string,
	id: string,
	value: number | string,
	minutesAgo: number,
	messageId?: string,
) => ({
	userId,
	event: 'Added to Cart',
	messageId,
	timestamp: at(-minutesAgo * MINUTE),
	properties: { cart_id: id, cart_value: value },
	context: { timezone: zones[userId] },
});
const batch = [
	cart('ana', 'A1', 150, 5, 'ana-1'),
	cart('ben', 'B1', 40, 20),
	{
		userId: 'chen',
		event: 'Opened App',
		timestamp: at(-HOUR),
		context: { timezone: 'Asia/Shanghai' },
	},
	cart('ana', 'A2', 220, 2),
	{ ...cart('dev', 'D1', 300, 0), timestamp: at(-30 * HOUR) },
	{ userId: 'eli', properties: { cart_value: 120 } },
	cart('fay', 'F1', '180.00', 30),
	cart('gus', 'G1', 300, 10),
	cart('hana', 'H1', 120, 20),
];

const local = (ms: number, userId: string) =>
	DateTime.fromMillis(ms, { zone: zones[userId] ?? 'UTC' }).toFormat("ccc HH:mm 'in' z");
const sign = (body: string) => ({
	'x-signature': createHmac('sha256', 'demo-shared-secret-0123456789').update(body).digest('hex'),
});

async function post(
	store: CampaignStore,
	label: string,
	payload: unknown,
	headers?: Record<string, string>,
	now = T0,
) {
	const body = JSON.stringify(payload);
	const response = await handleEventRequest({
		rawBody: Buffer.from(body),
		headers: headers ?? sign(body),
		auth,
		rule,
		maxBatchSize: 1000,
		store: async () => store,
		now,
	});
	console.log(`POST ${label} → ${response.status} ${JSON.stringify(response.body)}`);
	return response;
}

async function main(): Promise<void> {
	const folder = mkdtempSync(join(tmpdir(), 'triggered-campaigns-demo-'));
	// A local imitation of Intercom's API (documented requests and answers), so nothing leaves this machine.
	const imitation = await startIntercomImitation();
	for (const userId of Object.keys(zones))
		imitation.addContact({ external_id: userId, email: `${userId}@example.com`, role: 'user' });
	const intercom = createIntercomChannel({
		accessToken: imitation.accessToken,
		region: 'us',
		baseUrl: imitation.baseUrl,
		defaultAdminId: imitation.admins[0].id,
		messageType: 'inapp',
		lookup: 'externalId',
	});
	const store = new SqliteCampaignStore({ filePath: join(folder, 'triggered-campaigns.sqlite') });
	console.log(`Campaign store: embedded SQLite at ${store.options.filePath}`);
	console.log(`Clock: ${iso(T0)} (fixed, so the story is the same every run)\n`);
	console.log(
		'Campaign "abandoned-cart": trigger "Added to Cart" with cart_value > 100, each user at most once per 24 h;\n' +
			'wait 30 min after the event; exit on "Order Completed" of the same cart; at most 3 messages per 7 days\n' +
			"across all campaigns; quiet hours 21:00–09:00 in each user's time zone (deferred, not dropped).\n",
	);

	// hana already got three messages from other campaigns this week.
	for (const [i, daysAgo] of [1, 2, 3].entries()) {
		const key = `welcome:hana:${i}`;
		await store.reserveSends([
			{
				idempotencyKey: key,
				campaignId: 'welcome',
				stepId: 'send',
				userId: 'hana',
				channel: 'email',
				tags: [],
				now: T0 - daysAgo * DAY,
				expiresAt: T0,
				countsTowardCap: true,
				limits: [],
			},
		]);
		await store.completeSend(key, { state: 'sent', at: T0 - daysAgo * DAY });
	}

	console.log('1. Trigger');
	await post(
		store,
		'batch of 9 events with a forged signature',
		{ batch },
		{ 'x-signature': 'deadbeef' },
	);
	console.log('   nothing recorded, nothing triggered');
	const response = await post(store, 'batch of 9 events, signed', { batch });
	const lines: Array<[number, string]> = [];
	for (const entered of response.triggered) {
		lines.push([
			entered.position,
			`✔ ${entered.entry.userId} entered with cart ${String(entered.event.properties.cart_id)} (value ${String(entered.event.properties.cart_value)})`,
		]);
	}
	for (const skipped of response.outcome?.skipped ?? [])
		lines.push([skipped.position, `· ${skipped.userId} did not enter: ${skipped.reason}`]);
	for (const rejected of response.outcome?.rejected ?? [])
		lines.push([rejected.index ?? 0, `✘ rejected: ${rejected.message}`]);
	for (const [position, line] of lines.sort((a, b) => a[0] - b[0]))
		console.log(`   #${position} ${line}`);
	await post(store, 'the first event again (a retry, same messageId)', { batch: [batch[0]] });
	console.log('   recorded once, triggers nothing\n');

	// While the delay runs, gus buys the cart he left.
	await post(
		store,
		"gus's Order Completed for cart G1 (5 min later)",
		{
			userId: 'gus',
			event: 'Order Completed',
			timestamp: at(5 * MINUTE),
			properties: { cart_id: 'G1' },
		},
		undefined,
		T0 + 5 * MINUTE,
	);

	console.log(
		'\n2. Campaign Delay, per user: the execution of the batch writes each user to the schedule and ends',
	);
	// As the Campaign Delay node does: every item of the trigger's execution, one transaction.
	const { scheduled } = await store.scheduleSteps(
		response.triggered.map((entered) => {
			const json = triggeredEntryToJson(entered);
			const dueAt = computeResumeAt(
				delay,
				{ triggeredAt: entered.entry.triggeredAt, timeZone: zoneOf(json) },
				T0,
			);
			return scheduleRequestFor(readCampaignItem(json), RESUME_POINT, dueAt, json);
		}),
		T0,
	);
	console.log(
		`   ${scheduled.length} users scheduled at "${RESUME_POINT}", each due 30 min after their own event`,
	);

	console.log(
		'\n3. Campaign Resume Trigger → exception check → frequency cap → send (the clock moves to each due time;\n' +
			'   each claim of due users is one execution, as in n8n)',
	);
	const delivered: string[] = [];
	for (;;) {
		const next = await store.nextScheduledDueAt({
			campaignId: rule.campaignId,
			stepId: RESUME_POINT,
		});
		if (next === undefined) break;
		const now = next;
		const claimed = await store.claimDueSteps({
			campaignId: rule.campaignId,
			stepId: RESUME_POINT,
			now,
			limit: 1000,
			leaseMs: 30_000,
		});
		for (const step of claimed) await resumeUser(resumedItemJson(step, now), now);
		await store.completeSteps(
			claimed.map(({ id, claimToken }) => ({ id, claimToken })),
			now,
		);
	}

	async function resumeUser(json: Record<string, unknown>, now: number): Promise<void> {
		const item = readCampaignItem(json);
		const who = `${item.userId} (${local(now, item.userId)})`;
		const exited = await checkExceptions(
			store,
			item,
			exception,
			now,
			(await store.getProfiles([item.userId])).get(item.userId),
		);
		if (exited.exited) {
			console.log(`   ${iso(now)} ✘ ${who} exits: ${exited.detail}`);
			return;
		}
		const request: CapRequest = {
			idempotencyKey: `${item.campaignId}:${item.entryId}:cap`,
			campaignId: item.campaignId,
			stepId: 'cap',
			entryId: item.entryId,
			userId: item.userId,
			channel: 'in_app',
			tags: ['promo'],
			timeZone: zoneOf(json),
			now,
		};
		const [decision] = await applyFrequencyCap(store, policy, [request]);
		if (decision.decision !== 'allowed') {
			// Deferred users go back to the schedule (Frequency Cap: "Deferred Users: Go Back to
			// the Campaign Schedule"); capped ones leave the campaign here.
			// As the Frequency Cap node does: the refusal is kept for the Campaign Report.
			await store.recordCapDecisions([
				{
					campaignId: item.campaignId,
					stepId: 'cap',
					entryId: item.entryId,
					userId: item.userId,
					decision: decision.decision,
					rules: decision.rules,
					at: now,
				},
			]);
			const next = afterRefusal(decision, { deferred: true, capped: false });
			const then =
				next.kind === 'schedule'
					? ` → scheduled again for ${local(next.at, item.userId)}`
					: next.kind === 'exit'
						? ' → exits: the campaign ends first'
						: '';
			console.log(`   ${iso(now)} ⏸ ${who} ${decision.decision}: ${decision.reason}${then}`);
			if (next.kind === 'schedule')
				await store.scheduleSteps(
					[
						scheduleRequestFor(item, RESUME_POINT, next.at, {
							...json,
							frequencyCap: { decision: decision.decision },
						}),
					],
					now,
				);
			return;
		}
		// Send Message: personalise, pick the A/B variant, send through Intercom, commit the slot.
		const choice = assignVariant({
			campaignId: item.campaignId,
			userId: item.userId,
			variants: VARIANTS,
			controlShare: 0,
		});
		const variant = choice.kind === 'variant' ? choice.name : 'control';
		const personalization = buildPersonalizationContext({
			userId: item.userId,
			event: { name: item.event?.name, properties: item.event?.properties },
			campaignId: item.campaignId,
			variant,
		});
		// The cap's decision travels on the item, and the send takes its reservation over.
		const capped = { ...json, frequencyCap: frequencyCapField(decision, request) };
		const sending: CampaignSendRequest = {
			store,
			item,
			capHandOff: readCapHandOff(capped),
			executionId: 'demo',
			stepId: 'send',
			channelName: '',
			defaultChannelName: 'in_app',
			tags: ['promo'],
			reservationTtlMs: HOUR,
			choice,
			render: async (idempotencyKey) => ({
				idempotencyKey,
				userId: item.userId,
				externalIds: {},
				body: await renderTemplate(TEMPLATES[variant], personalization, {
					strictVariables: true,
					field: 'Body',
				}),
				variant,
			}),
			channel: intercom,
			transport: fetchTransport,
			now: () => now,
		};
		const { result } = await deliverCampaignItem(sending);
		if (result.status !== 'sent') throw new Error(`send failed: ${JSON.stringify(result)}`);
		delivered.push(item.userId);
		console.log(
			`   ${iso(now)} ✉ ${who} sent (variant ${variant}, slot ${decision.usage[0]?.count + 1} of 3 this week), Intercom message ${result.providerMessageId}:`,
		);
		console.log(
			`        ${result.request.method} ${result.request.url} ${JSON.stringify(result.request.body)}`,
		);

		// A re-run of the same execution: the key is sent, so nothing goes out again.
		const { result: again } = await deliverCampaignItem(sending);
		console.log(
			`        re-run of the same step → ${again.status}; Intercom received ${imitation.requestsTo('POST /messages').length} message(s) so far`,
		);
	}
	console.log(`\nDelivered to ${delivered.join(', ')}; every other user above says why not.`);
	await imitation.close();
	await runTrialJourney(store);
	await runReports(store, T0 + 8 * DAY);
	await runTimelines(store, T0 + 8 * DAY);
	await store.close();
	rmSync(folder, { recursive: true, force: true });
}

function zoneOf(json: Record<string, unknown>): string {
	return resolveItemTimeZone(readCampaignItem(json), undefined, undefined).zone;
}

main().catch((error) => {
	console.error(error);
	process.exitCode = 1;
});
