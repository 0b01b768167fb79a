/**
 * The Salesforce nodes inside a real n8n 2.41.0, against the fake Salesforce this test process
 * runs on 127.0.0.1 (n8n reaches it through the credentials' My Domain URL).
 *
 * Workflow: Salesforce Segment Trigger (our password credential, connected-app login) →
 * Salesforce Campaign Activity (n8n's BUILT-IN `salesforceJwtApi` credential) → NoOp on Logged
 * and on Failed.
 *
 * Polling sooner than the minute: n8n 2.41 refuses every poll cron that fires more than once a
 * minute ("The polling interval is too short. It has to be at least a minute." — n8n-workflow
 * `isSubMinuteCron`: any 6-field cron whose seconds field is not one number, so lists such as
 * `0,5,10 * * * * *` are refused too). But n8n polls once at every activation (to check the
 * trigger works; n8n-core ActiveWorkflowTriggers.activatePollTrigger) and emits what that poll
 * returns. So the test polls "now" by deactivating and activating the workflow through the
 * public API; the poll times stay "Every Minute".
 *
 * 1. Two trial Contacts exist at activation ("Emit All Current Members"): one execution enters
 *    both, and Campaign Activity logs one Task each through the built-in JWT credential.
 * 2. A poll without changes starts no execution. A third Contact joins: the next poll enters
 *    only that one; one more Task.
 * Also: the credential test of our password credential through n8n's REST endpoint.
 *
 * Run: `npm run build && npx jest --config jest.e2e.config.js --runInBand test/e2e/salesforce.e2e.test.ts`
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { FakeSalesforce } from '../support/fake-salesforce';
import {
	createSalesforcePasswordCredential,
	FAKE_SALESFORCE_APP as APP,
	FAKE_SALESFORCE_USER as USER,
	salesforcePasswordCredentialData,
	startFakeSalesforceOrg,
} from './fake-salesforce-org';
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
import {
	endE2eFile,
	describeRun,
	nodeOutput,
	nodeRunError,
	seconds,
	withLogTail,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const TRIGGER = 'Salesforce Segment Trigger';
const ACTIVITY = 'Salesforce Campaign Activity';
const LOGGED = 'Logged';
const FAILED = 'Failed';
const KEY_FIELD = 'Campaign_Message_Key__c';

const keys = generateKeyPairSync('rsa', {
	modulusLength: 2048,
	publicKeyEncoding: { type: 'spki', format: 'pem' },
	privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

function salesforceWorkflow(credentials: {
	password: { id: string; name: string };
	builtInJwt: { id: string; name: string };
}): WorkflowJson {
	return {
		id: 'e2eSalesforce001',
		name: 'e2e salesforce segment to activity',
		nodes: [
			{
				id: '5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e01',
				name: TRIGGER,
				type: `${PKG}.salesforceSegmentTrigger`,
				typeVersion: 1,
				position: [0, 0],
				parameters: {
					pollTimes: { item: [{ mode: 'everyMinute' }] },
					authentication: 'campaignPassword',
					campaignId: 'e2e-trial',
					segmentSource: 'records',
					object: 'Contact',
					condition: "Trial_Status__c = 'Trial'",
					userIdField: 'App_User_Id__c',
					timeZoneField: 'Time_Zone__c',
					attributes: { attribute: [{ name: 'plan', field: 'Plan__c' }] },
					emit: 'entered',
					firstPoll: 'enterAll',
					options: {},
				},
				credentials: { campaignSalesforcePasswordApi: credentials.password },
			},
			{
				id: '5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e02',
				name: ACTIVITY,
				type: `${PKG}.salesforceCampaignActivity`,
				typeVersion: 1,
				position: [260, 0],
				parameters: {
					authentication: 'salesforceJwt',
					// The defaults of the node, spelled out (Who ID from the trigger's profile).
					whoId: '={{ $json.profile.externalIds.salesforce }}',
					subject: '={{ "Campaign message: " + $json.campaignId }}',
					description: '={{ "Plan " + $json.profile.attributes.plan }}',
					activityDate: '={{ $today.toFormat("yyyy-MM-dd") }}',
					status: 'Completed',
					idempotencyKey: '={{ $json.send?.idempotencyKey ?? $json.entryId }}',
					duplicateCheck: 'externalIdField',
					externalIdField: KEY_FIELD,
					options: {},
				},
				credentials: { salesforceJwtApi: credentials.builtInJwt },
			},
			{
				id: '5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e03',
				name: LOGGED,
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [520, -120],
				parameters: {},
			},
			{
				id: '5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e04',
				name: FAILED,
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [520, 120],
				parameters: {},
			},
		],
		connections: {
			[TRIGGER]: { main: [to(ACTIVITY)] },
			[ACTIVITY]: { main: [to(LOGGED), to(FAILED)] },
		},
		settings: { executionOrder: 'v1' },
	};
}

const timings: Record<string, string> = {};
const evidence: string[] = [];

describe('Salesforce Segment Trigger → Salesforce Campaign Activity inside a real n8n 2.41.0', () => {
	let tmp: string;
	let n8n: N8nInstance | undefined;
	let fake: FakeSalesforce;
	let workflow: PublishedWorkflow;
	let passwordCredential: { id: string; name: string };
	const contacts: string[] = [];

	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);

	function addContact(index: number): string {
		const id = fake.insert('Contact', {
			LastName: `Trial ${index}`,
			Email: `user${index}@e2e.example`,
			App_User_Id__c: `u${index}`,
			Time_Zone__c: 'Europe/Berlin',
			Trial_Status__c: 'Trial',
			Plan__c: index % 2 === 0 ? 'team' : 'solo',
		});
		contacts.push(id);
		return id;
	}

	async function execution(count: number): Promise<ExecutionDetails> {
		const executions = await n8n!.waitForExecutions(workflow.id, { count, timeoutMs: 90_000 });
		expect(executions.length).toBeGreaterThanOrEqual(count);
		// Newest first: the `count`-th execution is at index length - count.
		return await n8n!.getExecution(executions[executions.length - count].id, true);
	}

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-salesforce-'));

		fake = await startFakeSalesforceOrg(
			[
				{
					name: 'Contact',
					fields: {
						LastName: { type: 'string' },
						Email: { type: 'email' },
						Phone: { type: 'phone' },
						App_User_Id__c: { type: 'string' },
						Time_Zone__c: { type: 'string' },
						Trial_Status__c: { type: 'picklist' },
						Plan__c: { type: 'string' },
					},
				},
				{
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
				},
			],
			{ publicKeyPem: keys.publicKey },
		);
		addContact(1);
		addContact(2);

		let t = Date.now();
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		await installPackageTarball(tgz, userFolder);
		timings.packAndInstall = seconds(Date.now() - t);

		t = Date.now();
		n8n = await startN8n({ userFolder, installation });
		timings.startN8n = seconds(Date.now() - t);

		t = Date.now();
		passwordCredential = await createSalesforcePasswordCredential(
			n8n,
			'e2e Salesforce password (fake org)',
			fake,
		);
		const builtInJwt = await n8n.api<{ id: string; name: string }>('POST', '/api/v1/credentials', {
			name: "e2e n8n's Salesforce JWT (fake org)",
			type: 'salesforceJwtApi',
			data: {
				environment: 'production',
				clientId: APP.clientId,
				username: USER.username,
				privateKey: keys.privateKey,
				myDomainUrl: fake.url,
			},
		});
		timings.credentials = seconds(Date.now() - t);

		t = Date.now();
		workflow = await n8n.importAndPublishWorkflow(
			salesforceWorkflow({
				password: { id: passwordCredential.id, name: passwordCredential.name },
				builtInJwt: { id: builtInJwt.id, name: builtInJwt.name },
			}),
		);
		timings.importAndPublish = seconds(Date.now() - t);
	});

	afterAll(async () => {
		const logPath = n8n?.logPath;
		await n8n?.stop();
		await fake?.close();
		endE2eFile('salesforce', {
			timings,
			logPath,
			evidence,
			extra: [
				`requests the fake Salesforce received: ${fake?.requests.length ?? 0} (token requests ${fake?.tokenRequestCount() ?? 0})`,
			],
			tmp,
		});
	});

	it(
		'n8n loads both nodes and the three credential types',
		logged(async () => {
			const types = await n8n!.rest<Array<{ name: string }>>('GET', '/types/nodes.json');
			expect(types.map((type) => type.name)).toEqual(
				expect.arrayContaining([
					`${PKG}.salesforceSegmentTrigger`,
					`${PKG}.salesforceCampaignActivity`,
				]),
			);
			const credentialTypes = await n8n!.rest<Array<{ name: string }>>(
				'GET',
				'/types/credentials.json',
			);
			expect(credentialTypes.map((type) => type.name)).toEqual(
				expect.arrayContaining([
					'campaignSalesforceOAuth2Api',
					'campaignSalesforcePasswordApi',
					'campaignSalesforceJwtApi',
				]),
			);
		}),
	);

	it(
		'the credential test of our password credential logs in and reports the API usage',
		logged(async () => {
			const answer = await n8n!.rest<{ data: { status: string; message: string } }>(
				'POST',
				'/rest/credentials/test',
				{
					credentials: {
						id: passwordCredential.id,
						name: passwordCredential.name,
						type: 'campaignSalesforcePasswordApi',
						data: salesforcePasswordCredentialData(fake),
					},
				},
			);
			evidence.push(`credential test: ${JSON.stringify(answer.data)}`);
			expect(answer.data).toEqual({
				status: 'OK',
				message: expect.stringMatching(/^Connected: [\d,]+ of 15,000 daily API requests used$/),
			});
		}),
	);

	it(
		'the poll at activation enters both trial Contacts; the activity logs a Task for each through the built-in JWT credential',
		logged(async () => {
			const run = await execution(1);
			evidence.push(`execution 1: ${describeRun(run)}`);
			expect(run.mode).toBe('trigger');
			const entered = nodeOutput(run, TRIGGER) ?? [];
			expect(entered.map((item) => item.json.userId).sort()).toEqual(['u1', 'u2']);
			expect(entered[0].json).toMatchObject({
				campaignId: 'e2e-trial',
				event: { name: 'Salesforce Segment Entered' },
				salesforce: { change: 'entered' },
			});
			const activityError = nodeRunError(run, ACTIVITY);
			evidence.push(
				`built-in salesforceJwtApi on a community node: ${activityError ? `REFUSED: ${JSON.stringify(activityError).slice(0, 600)}` : 'accepted'}`,
			);
			expect(activityError).toBeUndefined();
			const loggedItems = nodeOutput(run, ACTIVITY, 0) ?? [];
			expect(loggedItems).toHaveLength(2);
			expect(nodeOutput(run, ACTIVITY, 1)).toEqual([]);
			expect(
				loggedItems.map((item) => (item.json.salesforceActivity as { outcome: string }).outcome),
			).toEqual(['created', 'created']);
			const tasks = fake.records('Task');
			expect(tasks).toHaveLength(2);
			expect(tasks.map((task) => task.WhoId).sort()).toEqual([...contacts].sort());
			expect(tasks.map((task) => task.Description).sort()).toEqual(['Plan solo', 'Plan team']);
		}),
	);

	/** Deactivates and activates the workflow: n8n polls once at activation. */
	async function pollNow(): Promise<void> {
		await n8n!.deactivateWorkflow(workflow.id);
		await n8n!.activateWorkflow(workflow.id);
	}

	it(
		'a poll without changes starts no execution; a Contact who joins later enters at the next poll, alone',
		logged(async () => {
			await pollNow();
			await new Promise((resolve) => setTimeout(resolve, 5_000));
			expect(await n8n!.listExecutions(workflow.id)).toHaveLength(1);

			fake.advance(60_000);
			const newcomer = addContact(3);
			const started = Date.now();
			await pollNow();
			const run = await execution(2);
			timings.pollToExecution = seconds(Date.now() - started);
			evidence.push(`execution 2: ${describeRun(run)}`);
			expect((nodeOutput(run, TRIGGER) ?? []).map((item) => item.json.userId)).toEqual(['u3']);
			expect(nodeOutput(run, ACTIVITY, 0)).toHaveLength(1);
			const tasks = fake.records('Task');
			expect(tasks).toHaveLength(3);
			expect(tasks.filter((task) => task.WhoId === newcomer)).toHaveLength(1);
			// One login per credential in n8n's process: polls and items reuse the token.
			evidence.push(`token requests to the fake: ${fake.tokenRequestCount()}`);
			expect(fake.tokenRequestCount()).toBeLessThanOrEqual(3);
		}),
	);
});
