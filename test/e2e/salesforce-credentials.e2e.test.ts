/**
 * This package's Salesforce credentials that no other e2e file runs, inside a real n8n 2.41.0,
 * against the fake Salesforce this test process runs on 127.0.0.1 (reached through each
 * credential's My Domain URL):
 *
 * 1. Campaign Salesforce JWT API (certificate, no password): n8n's credential test logs in and
 *    reports the API usage; Webhook → Salesforce Campaign Activity with it logs a Task.
 * 2. Campaign Salesforce OAuth2 API, the node's default Authentication, connected as a user
 *    does it: n8n's `GET /rest/oauth2-credential/auth` gives the authorize URL (PKCE, the
 *    credential's scope and `prompt=login`), the browser follows it to the fake's authorize
 *    page, which redirects to n8n's callback; n8n exchanges the code (with the PKCE verifier)
 *    and stores the token. Then Campaign Activity with that credential logs a Task; after the
 *    org has expired every session, the next run still logs its Task: n8n refreshes the token
 *    with the refresh token it stored.
 * 3. Salesforce Segment Trigger (its default version, 2) with the segment "Members of a
 *    Salesforce Campaign", Member Statuses "Responded", through the JWT credential: the poll at
 *    activation ("Emit All Current Members") enters the responding member only, by the App User
 *    ID on its Contact.
 *
 * Run: `npm run build && npx jest --config jest.e2e.config.js --runInBand test/e2e/salesforce-credentials.e2e.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { FakeSalesforce } from '../support/fake-salesforce';
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
import { endE2eFile, describeRun, postEvents, seconds, withLogTail } from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const ACTIVITY = 'Salesforce Campaign Activity';
const APP = { clientId: 'e2e-credentials-app', clientSecret: 'e2e-credentials-app-secret' };
const USER = { username: 'integration@credentials.e2e.example', password: 'e2e-pw' };
const KEY_FIELD = 'Campaign_Message_Key__c';

const keys = generateKeyPairSync('rsa', {
	modulusLength: 2048,
	publicKeyEncoding: { type: 'spki', format: 'pem' },
	privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** Webhook (answers with the activity's items) → Salesforce Campaign Activity with one credential. */
function activityWorkflow(
	name: string,
	authentication: string,
	credentials: Record<string, { id: string; name: string }>,
): WorkflowJson {
	return {
		name,
		nodes: [
			{
				id: randomUUID(),
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: randomUUID(),
				parameters: {
					httpMethod: 'POST',
					path: `e2e-${authentication}`,
					responseMode: 'lastNode',
					responseData: 'allEntries',
					options: {},
				},
			},
			{
				id: randomUUID(),
				name: ACTIVITY,
				type: `${PKG}.salesforceCampaignActivity`,
				typeVersion: 1,
				position: [260, 0],
				parameters: {
					authentication,
					whoId: '={{ $json.body.contactId }}',
					subject: '={{ "Campaign message: " + $json.body.campaign }}',
					status: 'Completed',
					idempotencyKey: '={{ $json.body.key }}',
					duplicateCheck: 'externalIdField',
					externalIdField: KEY_FIELD,
					options: {},
				},
				credentials,
			},
		],
		connections: { Webhook: { main: [[{ node: ACTIVITY, type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

const timings: Record<string, string> = {};
const evidence: string[] = [];

describe("This package's Salesforce JWT and OAuth2 credentials inside a real n8n 2.41.0", () => {
	let tmp: string;
	let n8n: N8nInstance | undefined;
	let fake: FakeSalesforce;
	let contactId: string;
	let salesforceCampaignId: string;
	const memberContacts: string[] = [];
	let jwtCredential: { id: string; name: string };
	let oauthCredential: { id: string; name: string };
	const workflows: Record<string, PublishedWorkflow> = {};

	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);

	/** Runs one activity workflow for one key; returns the item it answered and the execution. */
	async function logActivity(
		workflow: string,
		key: string,
	): Promise<{ item: Record<string, unknown>; execution: ExecutionDetails }> {
		const published = workflows[workflow];
		const before = (await n8n!.listExecutions(published.id)).length;
		const answer = await postEvents(
			published.webhooks[0].url,
			JSON.stringify({ contactId, campaign: workflow, key }),
		);
		const [summary] = await n8n!.waitForExecutions(published.id, {
			count: before + 1,
			timeoutMs: 60_000,
		});
		const execution = await n8n!.getExecution(summary.id, true);
		evidence.push(`${workflow} ${key}: ${describeRun(execution).replace(/\n\s*/g, '; ')}`);
		if (answer.status !== 200 || execution.status !== 'success') {
			throw new Error(
				`HTTP ${answer.status} ${answer.text.slice(0, 800)}\n${describeRun(execution)}`,
			);
		}
		const items = JSON.parse(answer.text) as Array<Record<string, unknown>>;
		expect(items).toHaveLength(1);
		return { item: items[0], execution };
	}

	const taskOf = (key: string) => fake.records('Task').find((task) => task[KEY_FIELD] === key);

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-salesforce-credentials-'));

		fake = await FakeSalesforce.start();
		fake.addConnectedApp({ ...APP, publicKeyPem: keys.publicKey });
		fake.addUser(USER);
		fake.defineObject({
			name: 'Contact',
			fields: {
				LastName: { type: 'string' },
				Email: { type: 'email' },
				App_User_Id__c: { type: 'string' },
			},
		});
		fake.defineObject({ name: 'Campaign', fields: { Name: { type: 'string' } } });
		fake.defineObject({
			name: 'CampaignMember',
			fields: {
				CampaignId: { type: 'reference', referenceTo: 'Campaign', relationshipName: 'Campaign' },
				ContactId: { type: 'reference', referenceTo: 'Contact', relationshipName: 'Contact' },
				LeadId: { type: 'string' },
				Status: { type: 'picklist' },
				Email: { type: 'email' },
				Phone: { type: 'phone' },
			},
		});
		fake.defineObject({
			name: 'Task',
			fields: {
				WhoId: { type: 'reference', referenceTo: 'Contact', relationshipName: 'Who' },
				WhatId: { type: 'string' },
				Subject: { type: 'string' },
				Description: { type: 'textarea', filterable: false },
				ActivityDate: { type: 'date' },
				Status: { type: 'picklist' },
				Priority: { type: 'picklist' },
				[KEY_FIELD]: { type: 'string' },
			},
		});
		contactId = fake.insert('Contact', { LastName: 'Credentials', Email: 'c@e2e.example' });
		salesforceCampaignId = fake.insert('Campaign', { Name: 'Webinar' });
		for (const [index, status] of [
			[1, 'Responded'],
			[2, 'Sent'],
		] as const) {
			const member = fake.insert('Contact', {
				LastName: `Member ${index}`,
				Email: `member${index}@e2e.example`,
				App_User_Id__c: `cm${index}`,
			});
			memberContacts.push(member);
			fake.insert('CampaignMember', {
				CampaignId: salesforceCampaignId,
				ContactId: member,
				Status: status,
				Email: `member${index}@e2e.example`,
			});
		}

		let t = Date.now();
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		await installPackageTarball(tgz, userFolder);
		timings.packAndInstall = seconds(Date.now() - t);

		t = Date.now();
		n8n = await startN8n({ userFolder, installation });
		timings.startN8n = `${seconds(Date.now() - t)} (spawn -> ready ${seconds(n8n.startupMs)})`;

		t = Date.now();
		jwtCredential = await n8n.createCredential(
			'e2e Campaign Salesforce JWT (fake org)',
			'campaignSalesforceJwtApi',
			{
				environment: 'custom',
				myDomainUrl: fake.url,
				consumerKey: APP.clientId,
				username: USER.username,
				privateKey: keys.privateKey,
				apiVersion: '62.0',
			},
		);
		oauthCredential = await n8n.createCredential(
			'e2e Campaign Salesforce OAuth2 (fake org)',
			'campaignSalesforceOAuth2Api',
			{
				environment: 'custom',
				myDomainUrl: fake.url,
				clientId: APP.clientId,
				clientSecret: APP.clientSecret,
				apiVersion: '62.0',
			},
		);
		workflows.jwt = await n8n.importAndPublishWorkflow(
			activityWorkflow('e2e activity with JWT', 'campaignJwt', {
				campaignSalesforceJwtApi: jwtCredential,
			}),
			{ via: 'api' },
		);
		workflows.oauth2 = await n8n.importAndPublishWorkflow(
			activityWorkflow('e2e activity with OAuth2', 'campaignOAuth2', {
				campaignSalesforceOAuth2Api: oauthCredential,
			}),
			{ via: 'api' },
		);
		timings.credentialsAndWorkflows = seconds(Date.now() - t);
	});

	afterAll(async () => {
		const logPath = n8n?.logPath;
		await n8n?.stop();
		await fake?.close();
		endE2eFile('salesforce-credentials', {
			timings,
			logPath,
			evidence,
			extra: [
				`requests the fake Salesforce received: ${JSON.stringify(fake?.requests.map((r) => `${r.method} ${r.path.split('?')[0]} ${r.status}`))}`,
			],
			tmp,
		});
	});

	it(
		'Salesforce Segment Trigger (version 2) on the members of a Salesforce Campaign enters the responding member at activation',
		logged(async () => {
			const t = Date.now();
			const published = await n8n!.importAndPublishWorkflow(
				{
					name: 'e2e campaign members segment',
					nodes: [
						{
							id: randomUUID(),
							name: 'Segment',
							type: `${PKG}.salesforceSegmentTrigger`,
							typeVersion: 2,
							position: [0, 0],
							parameters: {
								pollTimes: { item: [{ mode: 'everyMinute' }] },
								authentication: 'campaignJwt',
								campaignId: 'e2e-webinar',
								segmentSource: 'campaignMembers',
								salesforceCampaignId,
								memberStatuses: 'Responded',
								userIdField: 'Contact.App_User_Id__c',
								emit: 'entered',
								firstPoll: 'enterAll',
								options: {},
							},
							credentials: { campaignSalesforceJwtApi: jwtCredential },
						},
						{
							id: randomUUID(),
							name: 'Entered',
							type: 'n8n-nodes-base.noOp',
							typeVersion: 1,
							position: [260, 0],
							parameters: {},
						},
					],
					connections: { Segment: { main: [[{ node: 'Entered', type: 'main', index: 0 }]] } },
					settings: { executionOrder: 'v1' },
				},
				{ via: 'api' },
			);
			const [summary] = await n8n!.waitForExecutions(published.id, {
				count: 1,
				timeoutMs: 90_000,
			});
			const execution = await n8n!.getExecution(summary.id, true);
			timings.segmentActivationToExecution = seconds(Date.now() - t);
			evidence.push(`campaign members: ${describeRun(execution).replace(/\n\s*/g, '; ')}`);
			expect(execution.status).toBe('success');
			const entered = (execution.data?.resultData.runData.Entered?.[0]?.data?.main[0] ?? []).map(
				(item) => item.json,
			);
			expect(entered).toEqual([
				expect.objectContaining({
					userId: 'cm1',
					campaignId: 'e2e-webinar',
					profile: expect.objectContaining({
						email: 'member1@e2e.example',
						externalIds: expect.objectContaining({ salesforce: memberContacts[0] }),
					}),
				}),
			]);
			await n8n!.deactivateWorkflow(published.id);
		}),
	);

	it(
		"the JWT credential's test logs in with the certificate and reports the API usage",
		logged(async () => {
			const answer = await n8n!.rest<{ data: { status: string; message: string } }>(
				'POST',
				'/rest/credentials/test',
				{
					credentials: {
						id: jwtCredential.id,
						name: jwtCredential.name,
						type: 'campaignSalesforceJwtApi',
						data: {
							environment: 'custom',
							myDomainUrl: fake.url,
							consumerKey: APP.clientId,
							username: USER.username,
							privateKey: keys.privateKey,
							apiVersion: '62.0',
						},
					},
				},
			);
			evidence.push(`JWT credential test: ${JSON.stringify(answer.data)}`);
			expect(answer.data).toEqual({
				status: 'OK',
				message: expect.stringMatching(/^Connected: [\d,]+ of [\d,]+ daily API requests used$/),
			});
		}),
	);

	it(
		'Salesforce Campaign Activity with the JWT credential logs a Task on the Contact',
		logged(async () => {
			const { item } = await logActivity('jwt', 'e2e-jwt-1');
			expect(item.salesforceActivity).toMatchObject({
				outcome: 'created',
				whoId: contactId,
				idempotencyKey: 'e2e-jwt-1',
			});
			expect(taskOf('e2e-jwt-1')).toMatchObject({
				Id: (item.salesforceActivity as Record<string, unknown>).taskId,
				WhoId: contactId,
				Subject: 'Campaign message: jwt',
				Status: 'Completed',
			});
		}),
	);

	it(
		'the OAuth2 credential connects through n8n: authorize URL with PKCE, the redirect to the callback, the code exchanged for a token',
		logged(async () => {
			const t = Date.now();
			const auth = await n8n!.browserRequest(
				`/rest/oauth2-credential/auth?id=${encodeURIComponent(oauthCredential.id)}`,
			);
			const authText = await auth.text();
			if (auth.status !== 200)
				throw new Error(`GET /rest/oauth2-credential/auth: ${auth.status} ${authText}`);
			const authorizeUrl = new URL((JSON.parse(authText) as { data: string }).data);
			evidence.push(`authorize URL: ${authorizeUrl.toString()}`);
			expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(
				`${fake.url}/services/oauth2/authorize`,
			);
			expect(Object.fromEntries(authorizeUrl.searchParams)).toMatchObject({
				client_id: APP.clientId,
				response_type: 'code',
				scope: 'api refresh_token',
				prompt: 'login',
				code_challenge_method: 'S256',
				code_challenge: expect.stringMatching(/^[\w-]{43}$/),
				redirect_uri: `${n8n!.baseUrl}/rest/oauth2-credential/callback`,
			});
			// n8n may bind the flow to this browser with a cookie; the callback carries it back.
			const flowCookies = auth.headers.getSetCookie().map((cookie) => cookie.split(';')[0]);

			// The browser at Salesforce: the user logs in and allows access.
			fake.approveAuthorizationAs(USER.username);
			const atSalesforce = await fetch(authorizeUrl, { redirect: 'manual' });
			expect(atSalesforce.status).toBe(302);
			const callback = new URL(atSalesforce.headers.get('location')!);
			expect(callback.searchParams.get('code')).toBeTruthy();

			const tokenRequestsBefore = fake.tokenRequestCount();
			const back = await n8n!.browserRequest(`${callback.pathname}${callback.search}`, flowCookies);
			const page = await back.text();
			evidence.push(`callback: HTTP ${back.status}, ${page.length} characters`);
			expect(back.status).toBe(200);
			expect(page).not.toMatch(/error/i);
			expect(fake.tokenRequestCount()).toBe(tokenRequestsBefore + 1);
			timings.oauth2Connect = seconds(Date.now() - t);
		}),
	);

	it(
		'Salesforce Campaign Activity with the connected OAuth2 credential logs a Task, and still does after the org expired every session',
		logged(async () => {
			const first = await logActivity('oauth2', 'e2e-oauth2-1');
			expect(first.item.salesforceActivity).toMatchObject({ outcome: 'created', whoId: contactId });
			expect(taskOf('e2e-oauth2-1')).toMatchObject({
				WhoId: contactId,
				Subject: 'Campaign message: oauth2',
			});

			fake.expireSessions();
			const tokenRequestsBefore = fake.tokenRequestCount();
			const second = await logActivity('oauth2', 'e2e-oauth2-2');
			expect(second.item.salesforceActivity).toMatchObject({
				outcome: 'created',
				whoId: contactId,
			});
			expect(taskOf('e2e-oauth2-2')).toMatchObject({ WhoId: contactId });
			// One refresh-token grant, made by n8n for the stored credential.
			expect(fake.tokenRequestCount()).toBe(tokenRequestsBefore + 1);
			expect(fake.records('Task').filter((task) => !task.IsDeleted)).toHaveLength(3);
		}),
	);
});
