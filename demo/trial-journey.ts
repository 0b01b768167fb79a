/**
 * The demo's second story: trial users kept in Salesforce. A fake Salesforce (started
 * in-process, speaking the documented REST, Bulk and token wire format) holds Contacts with a
 * trial end date. The Salesforce segment "trial ends within 3 days" is synced into the store;
 * users who entered wait for 10:00–17:00 on a weekday in their own time zone, get an in-app
 * message through Intercom (a local imitation), and a Task is logged back on their Contact.
 * Two days later the segment is synced again: who left, who entered.
 */
import { DateTime } from 'luxon';

import { fetchTransport } from '../test/send/support/fetch-transport';
import { startIntercomImitation } from '../test/send/support/intercom-imitation';
import { FakeSalesforce } from '../test/support/fake-salesforce';
import {
	buildPersonalizationContext,
	computeResumeAt,
	createIntercomChannel,
	readCampaignItem,
	resumedItemJson,
	scheduleRequestFor,
	deliver,
	renderTemplate,
	triggeredEntryToJson,
	passwordSession,
	pollSegment,
	SalesforceApi,
	writeActivities,
	type CampaignStoreWithSegments,
	type DelaySpec,
	type SegmentDefinition,
} from '../src';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Monday 16 March 2026, 06:00 UTC: before the working day everywhere but Asia. */
const T1 = Date.parse('2026-03-16T06:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const dayOf = (offset: number) => iso(T1 + offset * DAY).slice(0, 10);

const APP = { clientId: 'demo-connected-app', clientSecret: 'demo-secret' };
const USER = {
	username: 'sales-ops@acme.example',
	password: 'demo-password',
	securityToken: 'TKN',
};

const segment: SegmentDefinition = {
	segmentId: 'trial-ends-within-3-days',
	source: {
		kind: 'records',
		object: 'Contact',
		where: 'Trial_End__c >= TODAY AND Trial_End__c <= NEXT_N_DAYS:3 AND Converted__c = false',
	},
	fields: {
		userId: 'App_User_Id__c',
		timeZone: 'Time_Zone__c',
		attributes: { firstName: 'FirstName', trialEndsOn: 'Trial_End__c', company: 'Account.Name' },
	},
};
const delay: DelaySpec = {
	mode: 'nextWindow',
	window: { start: '10:00', end: '17:00', weekdays: [1, 2, 3, 4, 5] },
};
/** The Campaign Delay's Resume Point, which the Campaign Resume Trigger of the journey watches. */
const RESUME_POINT = 'local-morning';
const CAMPAIGN_ID = 'trial-ending';
const TEMPLATE =
	'<p>Hi {{ user.firstName }}, your {{ user.company }} trial ends on {{ user.trialEndsOn }}. Book a 15-minute call to keep your workspace.</p>';

export async function runTrialJourney(store: CampaignStoreWithSegments): Promise<void> {
	console.log('\n4. Salesforce: the trial-ending journey');
	const salesforce = await FakeSalesforce.start({ now: T1 });
	const intercom = await startIntercomImitation();
	try {
		salesforce.addConnectedApp(APP);
		salesforce.addUser(USER);
		salesforce.defineObject({ name: 'Account', fields: { Name: { type: 'string' } } });
		salesforce.defineObject({
			name: 'Contact',
			fields: {
				FirstName: { type: 'string' },
				LastName: { type: 'string' },
				Email: { type: 'email' },
				Phone: { type: 'phone' },
				App_User_Id__c: { type: 'string' },
				Time_Zone__c: { type: 'string' },
				Trial_End__c: { type: 'date' },
				Converted__c: { type: 'boolean' },
				Last_Message_Date__c: { type: 'date' },
				AccountId: { type: 'reference', referenceTo: 'Account', relationshipName: 'Account' },
			},
		});
		salesforce.defineObject({
			name: 'Task',
			fields: {
				Subject: { type: 'string' },
				Description: { type: 'textarea', filterable: false },
				WhoId: { type: 'reference', referenceTo: 'Contact' },
				ActivityDate: { type: 'date' },
				Status: { type: 'picklist' },
				Priority: { type: 'picklist' },
			},
		});
		const account = salesforce.insert('Account', { Name: 'Müller & Söhne' });
		const trials = [
			['ines', 'Ines', 'Europe/Berlin', 1, false],
			['kwame', 'Kwame', 'America/New_York', 2, false],
			['hiro', 'Hiro', 'Asia/Tokyo', 3, false],
			['lena', 'Lena', 'Europe/Berlin', 5, false],
			['jose', 'José', 'America/Sao_Paulo', 2, true],
		] as const;
		for (const [userId, firstName, zone, endsIn, converted] of trials) {
			salesforce.insert('Contact', {
				FirstName: firstName,
				LastName: 'Trial',
				Email: `${userId}@example.com`,
				App_User_Id__c: userId,
				Time_Zone__c: zone,
				Trial_End__c: dayOf(endsIn),
				Converted__c: converted,
				AccountId: account,
			});
			intercom.addContact({ external_id: userId, email: `${userId}@example.com`, role: 'user' });
		}
		console.log(
			`   Salesforce (in-process fake at ${salesforce.url}): 5 trial Contacts; clock ${iso(T1)}\n` +
				`   segment: Contact WHERE ${segment.source.kind === 'records' ? segment.source.where : ''}`,
		);

		const api = new SalesforceApi({
			session: passwordSession({ loginUrl: salesforce.url, ...APP, ...USER }),
			apiVersion: '62.0',
		});
		const rule = {
			campaignId: CAMPAIGN_ID,
			propertyFilters: [],
			reEntry: { mode: 'once' as const },
		};
		const first = await pollSegment({
			api,
			store,
			definition: segment,
			rule,
			includeExited: true,
			now: () => T1,
		});
		console.log(
			`   sync 1 (${first.report.mode}, ${first.report.via}): ${first.report.entered} entered, ${first.report.exited} exited, ${first.report.apiCalls} API calls`,
		);

		const channel = createIntercomChannel({
			accessToken: intercom.accessToken,
			region: 'us',
			baseUrl: intercom.baseUrl,
			defaultAdminId: intercom.admins[0].id,
			messageType: 'inapp',
			lookup: 'externalId',
		});
		// The poll's one execution: Campaign Delay (per user) schedules each trial user at their own
		// local window; the Campaign Resume Trigger then releases them as each falls due.
		const entered = first.entered.sort((a, b) => a.entry.userId.localeCompare(b.entry.userId));
		await store.scheduleSteps(
			entered.map((user) => {
				const json = triggeredEntryToJson(user);
				const dueAt = computeResumeAt(delay, { timeZone: user.profile?.timeZone ?? 'UTC' }, T1);
				return scheduleRequestFor(readCampaignItem(json), RESUME_POINT, dueAt, json);
			}),
			T1,
		);
		console.log(
			`   the poll's execution scheduled ${entered.length} users at "${RESUME_POINT}", each at their own window`,
		);
		const sent: Array<{ whoId: string; key: string; userId: string; at: number }> = [];
		const due: Array<{ json: Record<string, unknown>; dueAt: number }> = [];
		for (;;) {
			const next = await store.nextScheduledDueAt({
				campaignId: CAMPAIGN_ID,
				stepId: RESUME_POINT,
			});
			if (next === undefined) break;
			const claimed = await store.claimDueSteps({
				campaignId: CAMPAIGN_ID,
				stepId: RESUME_POINT,
				now: next,
				limit: 1000,
				leaseMs: 30_000,
			});
			due.push(...claimed.map((step) => ({ json: resumedItemJson(step, next), dueAt: next })));
			await store.completeSteps(
				claimed.map(({ id, claimToken }) => ({ id, claimToken })),
				next,
			);
		}
		for (const { json, dueAt } of due) {
			const user = entered.find((candidate) => candidate.entry.entryId === json.entryId)!;
			const profile = user.profile!;
			const zone = profile.timeZone ?? 'UTC';
			const local = DateTime.fromMillis(dueAt, { zone }).toFormat("ccc HH:mm 'in' z");
			const key = `${user.entry.campaignId}:${user.entry.entryId}:send`;
			const result = await deliver({
				store,
				idempotencyKey: key,
				reservedByCap: false,
				campaignId: user.entry.campaignId,
				stepId: 'send',
				entryId: user.entry.entryId,
				userId: user.entry.userId,
				channelName: 'in_app',
				tags: ['lifecycle'],
				reservationTtlMs: HOUR,
				choice: { kind: 'variant', name: 'A' },
				render: async () => ({
					idempotencyKey: key,
					userId: user.entry.userId,
					externalIds: {},
					body: await renderTemplate(
						TEMPLATE,
						buildPersonalizationContext({
							userId: user.entry.userId,
							profile,
							event: user.event,
							campaignId: user.entry.campaignId,
							entryId: user.entry.entryId,
							variant: 'A',
						}),
						{
							strictVariables: true,
							field: 'Body',
						},
					),
					variant: 'A',
				}),
				channel,
				transport: fetchTransport,
				now: () => dueAt,
			});
			if (result.status !== 'sent') throw new Error(`send failed: ${JSON.stringify(result)}`);
			console.log(
				`   ✔ ${String(json.userId)} entered (trial ends ${String(profile.attributes.trialEndsOn)}, ${zone}) → ${dueAt <= T1 ? `inside the window now (${local})` : `resumed at ${local}`} → ✉ sent, Intercom message ${result.providerMessageId}`,
			);
			console.log(
				`        ${result.request.method} ${result.request.url} ${JSON.stringify(result.request.body)}`,
			);
			sent.push({
				whoId: profile.externalIds.salesforce,
				key,
				userId: user.entry.userId,
				at: dueAt,
			});
		}
		console.log('   · lena (trial ends in 5 days) and jose (converted) are not in the segment');

		const activities = sent.map((message) => ({
			whoId: message.whoId,
			subject: 'In-app message: trial ending',
			description: `Campaign trial-ending sent an in-app message to ${message.userId}.`,
			activityDate: iso(message.at).slice(0, 10),
			idempotencyKey: message.key,
			recordUpdate: { Last_Message_Date__c: iso(message.at).slice(0, 10) },
		}));
		const logged = await writeActivities(activities, {
			api,
			idempotency: { mode: 'descriptionKey' },
		});
		for (const [index, result] of logged.entries()) {
			console.log(
				`   ↩ Task ${result.taskId} logged on Contact ${result.whoId} (${sent[index].userId}): ${result.outcome}, Last_Message_Date__c ${result.recordUpdate}`,
			);
		}
		const again = await writeActivities(activities, {
			api,
			idempotency: { mode: 'descriptionKey' },
		});
		console.log(
			`   the same write retried → ${again.map((r) => r.outcome).join(', ')}; Salesforce holds ${salesforce.records('Task').length} Task(s)`,
		);

		salesforce.advance(2 * DAY);
		const later = await pollSegment({
			api,
			store,
			definition: segment,
			rule,
			includeExited: true,
			now: () => T1 + 2 * DAY,
		});
		console.log(
			`   sync 2, two days later (${later.report.mode}: the condition uses TODAY, so the whole segment is re-read): ${later.report.entered} entered, ${later.report.exited} exited`,
		);
		for (const exited of later.exited)
			console.log(`   ← ${exited.userId} left the segment (${exited.reason})`);
		for (const entered of later.entered) {
			console.log(
				`   → ${entered.entry.userId} entered (trial ends ${String(entered.profile?.attributes.trialEndsOn)})`,
			);
		}
	} finally {
		await intercom.close();
		await salesforce.close();
	}
}
