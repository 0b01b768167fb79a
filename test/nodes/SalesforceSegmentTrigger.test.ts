/**
 * The Salesforce Segment Trigger node's poll() against the in-process fake Salesforce and a
 * SQLite campaign store: first poll (enter all / only track), entered and exited items, quiet
 * polls, manual-mode preview, settings errors, and each way of authenticating.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	NodeHelpers,
	type ICredentialTestFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { CampaignEventTrigger } from '../../nodes/CampaignEventTrigger/CampaignEventTrigger.node';
import { SalesforceSegmentTrigger } from '../../nodes/SalesforceSegmentTrigger/SalesforceSegmentTrigger.node';
import { closeSharedCampaignStores, SqliteCampaignStore } from '../../src';
import { clearSalesforceTokenCache } from '../../src/salesforce/auth/sessions';
import { FakeSalesforce } from '../support/fake-salesforce';
import { APP, credentialsFor, salesforceContext, setUpOrg, USER } from './SalesforceContext';
import { fakeLegacyRequest, type HelperRequest } from './fake-context';

delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-23T09:00:00Z');
const day = (offset: number) => new Date(T0 + offset * DAY).toISOString().slice(0, 10);

const folder = mkdtempSync(join(tmpdir(), 'tc-sf-trigger-'));
const filePath = join(folder, 'store.sqlite');
const storeCredential = { campaignStoreApi: { backend: 'sqlite', filePath } };

let fake: FakeSalesforce;
let workflowCounter = 0;

beforeEach(async () => {
	clearSalesforceTokenCache();
	fake = await FakeSalesforce.start({ now: T0 });
	setUpOrg(fake);
	fake.defineObject({
		name: 'Contact',
		fields: {
			FirstName: { type: 'string' },
			LastName: { type: 'string' },
			Email: { type: 'email' },
			Phone: { type: 'phone' },
			App_User_Id__c: { type: 'string' },
			Time_Zone__c: { type: 'string' },
			Trial_End__c: { type: 'date' },
			IsConverted__c: { type: 'boolean' },
		},
	});
});

afterEach(async () => {
	await fake.close();
});

afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

function addContact(index: number, fields: Record<string, unknown> = {}): string {
	return fake.insert('Contact', {
		FirstName: `User${index}`,
		LastName: 'Trial',
		Email: `user${index}@example.com`,
		App_User_Id__c: `u${index}`,
		Time_Zone__c: 'Europe/Berlin',
		Trial_End__c: day(2),
		IsConverted__c: false,
		...fields,
	});
}

const baseParameters = {
	authentication: 'campaignPassword',
	campaignId: 'trial-ending',
	segmentSource: 'records',
	object: 'Contact',
	condition: 'Trial_End__c = NEXT_N_DAYS:3 AND IsConverted__c = false',
	userIdField: 'App_User_Id__c',
	emailField: '',
	phoneField: '',
	timeZoneField: 'Time_Zone__c',
	attributes: { attribute: [{ name: 'trialEndsOn', field: 'Trial_End__c' }] },
	emit: 'entered',
	firstPoll: 'enterAll',
	options: {},
};

/** A trigger as one node of one workflow: each call of `poll` is one poll of that node. */
function trigger(
	parameters: Record<string, unknown> = {},
	options: {
		credentials?: Record<string, Record<string, unknown>>;
		workflowId?: string;
		typeVersion?: number;
	} = {},
) {
	const workflowId = options.workflowId ?? `wf-${++workflowCounter}`;
	const node = new SalesforceSegmentTrigger();
	const credentials = options.credentials ?? {
		campaignSalesforcePasswordApi: credentialsFor(fake).campaignSalesforcePasswordApi,
	};
	const run = async (mode: 'trigger' | 'manual' = 'trigger') => {
		const { poll } = salesforceContext({
			nodeType: new SalesforceSegmentTrigger(),
			parameters: { ...baseParameters, ...parameters },
			credentials: { ...credentials, ...storeCredential },
			mode,
			workflowId,
			nodeId: 'trigger-node',
			typeVersion: options.typeVersion,
		});
		return await node.poll.call(poll);
	};
	return { run, segmentId: `n8n:${workflowId}:trigger-node` };
}

/** Item JSON as the tests read it: nested, loosely typed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const jsonOf = (result: INodeExecutionData[][] | null) =>
	(result?.[0] ?? []).map((item) => item.json as Json);
const userIdsOf = (result: INodeExecutionData[][] | null) =>
	jsonOf(result)
		.map((json) => `${String(json.salesforce?.change)}:${String(json.userId)}`)
		.sort();

async function withStore<T>(fn: (store: SqliteCampaignStore) => Promise<T>): Promise<T> {
	const store = new SqliteCampaignStore({ filePath });
	try {
		return await fn(store);
	} finally {
		await store.close();
	}
}

/** The error a promise rejects with; fails the test when it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error & { description?: string }> {
	try {
		await promise;
	} catch (error) {
		return error as Error & { description?: string };
	}
	throw new Error('expected the node to fail');
}

describe('Salesforce Segment Trigger: polls', () => {
	it('emits every current member on the first poll with "Emit All Current Members", in the Campaign Event Trigger item shape', async () => {
		const ids = [addContact(1), addContact(2), addContact(3)];
		addContact(4, { IsConverted__c: true });
		addContact(5, { Trial_End__c: day(10) });
		const { run, segmentId } = trigger();

		const result = await run();
		expect(userIdsOf(result)).toEqual(['entered:u1', 'entered:u2', 'entered:u3']);
		const first = jsonOf(result).find((json) => json.userId === 'u1')!;
		expect(first).toMatchObject({
			userId: 'u1',
			campaignId: 'trial-ending',
			entryId: expect.any(String),
			event: { name: 'Salesforce Segment Entered', properties: { segmentId } },
			profile: {
				email: 'user1@example.com',
				timeZone: 'Europe/Berlin',
				attributes: { trialEndsOn: day(2) },
				externalIds: { salesforce: ids[0] },
			},
			salesforce: { recordId: ids[0], segmentId, change: 'entered' },
		});

		// Nothing changed in Salesforce: nothing to emit.
		expect(await run()).toBeNull();
	});

	it('only starts tracking on the first poll with "Only Start Tracking", then emits those who join', async () => {
		addContact(1);
		addContact(2);
		const { run } = trigger({ firstPoll: 'trackOnly' });
		expect(await run()).toBeNull();

		fake.advance(60_000);
		addContact(3);
		const second = await run();
		expect(userIdsOf(second)).toEqual(['entered:u3']);
		expect(await run()).toBeNull();
	});

	it('emits users who joined and, with "Entered and Exited", those who left with the reason', async () => {
		addContact(1);
		const leaving = addContact(2);
		const deleted = addContact(3);
		const { run, segmentId } = trigger({ emit: 'enteredAndExited' });
		expect(userIdsOf(await run())).toEqual(['entered:u1', 'entered:u2', 'entered:u3']);

		fake.advance(60_000);
		addContact(4);
		fake.update('Contact', leaving, { IsConverted__c: true });
		fake.delete('Contact', deleted);
		const result = await run();
		expect(userIdsOf(result)).toEqual(['entered:u4', 'exited:u2', 'exited:u3']);
		const exited = jsonOf(result).find((json) => json.userId === 'u2')!;
		expect(exited).toEqual({
			userId: 'u2',
			campaignId: 'trial-ending',
			change: 'exited',
			reason: expect.any(String),
			exitedAt: expect.any(String),
			salesforce: { recordId: leaving, segmentId, change: 'exited' },
		});
		expect(await run()).toBeNull();
	});

	it('does not emit exits with "Entered Only"', async () => {
		addContact(1);
		const leaving = addContact(2);
		const { run } = trigger();
		await run();
		fake.advance(60_000);
		fake.update('Contact', leaving, { IsConverted__c: true });
		expect(await run()).toBeNull();
	});

	it('reads the members of a Salesforce Campaign', async () => {
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
		const campaign = fake.insert('Campaign', { Name: 'Webinar' });
		const c1 = addContact(1);
		const c2 = addContact(2);
		fake.insert('CampaignMember', {
			CampaignId: campaign,
			ContactId: c1,
			Status: 'Responded',
			Email: 'user1@example.com',
		});
		fake.insert('CampaignMember', {
			CampaignId: campaign,
			ContactId: c2,
			Status: 'Sent',
			Email: 'user2@example.com',
		});
		const { run } = trigger({
			segmentSource: 'campaignMembers',
			salesforceCampaignId: campaign,
			memberStatuses: 'Responded',
			userIdField: 'Contact.App_User_Id__c',
			timeZoneField: '',
			attributes: {},
		});
		const result = await run();
		expect(userIdsOf(result)).toEqual(['entered:u1']);
		expect(jsonOf(result)[0].profile.externalIds.salesforce).toBe(c1);
	});

	it('keeps two triggers apart: each has its own membership', async () => {
		addContact(1);
		const a = trigger();
		const b = trigger();
		expect(a.segmentId).not.toBe(b.segmentId);
		expect(userIdsOf(await a.run())).toEqual(['entered:u1']);
		expect(userIdsOf(await b.run())).toEqual(['entered:u1']);
	});

	it('applies re-entry: "Once Ever" does not enter a user who leaves and joins again', async () => {
		const id = addContact(1);
		const { run } = trigger({
			campaignId: 'once-ever',
			options: { reEntry: 'once', fullResync: 'always' },
		});
		expect(userIdsOf(await run())).toEqual(['entered:u1']);
		fake.advance(60_000);
		fake.update('Contact', id, { IsConverted__c: true });
		expect(await run()).toBeNull();
		fake.advance(60_000);
		fake.update('Contact', id, { IsConverted__c: false });
		expect(await run()).toBeNull();
	});
});

describe('Salesforce Segment Trigger: the re-entry rule', () => {
	// Entries are timed by this process's clock when a sync reads changes only (a full read runs
	// on a thread of its own): move it and Salesforce's forward together.
	let clockShift = 0;
	beforeEach(() => {
		clockShift = 0;
		const realNow = Date.now.bind(Date);
		jest.spyOn(Date, 'now').mockImplementation(() => realNow() + clockShift);
	});
	afterEach(() => jest.restoreAllMocks());
	const advance = (ms: number) => {
		clockShift += ms;
		fake.advance(ms);
	};

	/** Leaves the segment, then joins it again, a minute apart. */
	const leaveAndRejoin = async (id: string, run: () => Promise<unknown>) => {
		advance(60_000);
		fake.update('Contact', id, { IsConverted__c: true });
		await run();
		advance(60_000);
		fake.update('Contact', id, { IsConverted__c: false });
	};

	it("has the Campaign Event Trigger's parameters in version 2", async () => {
		const id = addContact(1);
		const { run } = trigger(
			{
				campaignId: 'per-period-v2',
				reEntry: 'oncePerPeriod',
				reEntryPeriod: 3,
				reEntryPeriodUnit: 'minutes',
				options: { fullResync: 'changesOnly' },
			},
			{ typeVersion: 2 },
		);
		expect(userIdsOf(await run())).toEqual(['entered:u1']);
		await leaveAndRejoin(id, run);
		expect(await run()).toBeNull(); // 2 minutes after entering
		await leaveAndRejoin(id, run);
		expect(userIdsOf(await run())).toEqual(['entered:u1']); // 4 minutes after
	});

	it("reads a saved version 1 node's rule from Options, its period in hours", async () => {
		const id = addContact(1);
		const { run } = trigger({
			campaignId: 'per-period-v1',
			options: { reEntry: 'oncePerPeriod', reEntryPeriodHours: 1, fullResync: 'changesOnly' },
		});
		expect(userIdsOf(await run())).toEqual(['entered:u1']);
		await leaveAndRejoin(id, run);
		expect(await run()).toBeNull();
		advance(3_600_000);
		await leaveAndRejoin(id, run);
		expect(userIdsOf(await run())).toEqual(['entered:u1']);
	});

	it('keeps a saved version 1 rule in Options as n8n resolves the parameters, and shows version 2 the new ones', () => {
		const description = new SalesforceSegmentTrigger().description;
		const saved = {
			campaignId: 'c',
			reEntry: 'once',
			options: { reEntry: 'oncePerPeriod', reEntryPeriodHours: 2, fullResync: 'always' },
		};
		const resolve = (typeVersion: number) =>
			NodeHelpers.getNodeParameters(
				description.properties,
				saved,
				true,
				false,
				{ typeVersion },
				description,
			);
		expect(resolve(1)).toMatchObject({
			options: { reEntry: 'oncePerPeriod', reEntryPeriodHours: 2, fullResync: 'always' },
		});
		expect(resolve(1)).not.toHaveProperty('reEntry');
		const version2 = resolve(2)!;
		expect(version2).toMatchObject({ reEntry: 'once', options: { fullResync: 'always' } });
		expect(version2.options).not.toHaveProperty('reEntry');
		expect(version2.options).not.toHaveProperty('reEntryPeriodHours');
	});

	it('is one parameter shape in both triggers', () => {
		const shapeOf = (properties: INodeProperties[]) =>
			properties
				.filter((property) => property.name.startsWith('reEntry'))
				.map((property) => ({
					name: property.name,
					type: property.type,
					values: property.options?.map((option) => (option as { value: unknown }).value),
					shownFor: property.displayOptions?.show?.reEntry,
				}));
		const segment = new SalesforceSegmentTrigger().description;
		const event = new CampaignEventTrigger().description;
		expect(shapeOf(segment.properties)).toEqual(shapeOf(event.properties));
		expect(segment.defaultVersion).toBe(2);
	});
});

describe('Salesforce Segment Trigger: manual mode ("Fetch Test Event")', () => {
	it('previews up to five members without changing the store, so the first real poll still emits them', async () => {
		for (let i = 1; i <= 7; i++) addContact(i);
		const { run, segmentId } = trigger();

		const preview = await run('manual');
		expect(preview![0]).toHaveLength(5);
		expect(jsonOf(preview)[0]).toMatchObject({
			campaignId: 'trial-ending',
			event: { name: 'Salesforce Segment Entered' },
			profile: { email: expect.stringMatching(/@example\.com$/) },
			salesforce: { segmentId, change: 'entered', preview: true, membersNow: 7 },
		});
		await withStore(async (store) => {
			expect(await store.getSegmentState(segmentId)).toBeUndefined();
			expect(await store.listSegmentMembers({ segmentId })).toEqual([]);
		});

		const polled = jsonOf(await run());
		expect(polled).toHaveLength(7);
		// The preview shows the item a poll emits: the same fields, down to the profile.
		const shape = (json: Record<string, unknown>) =>
			Object.fromEntries(
				Object.entries(json).map(([key, value]) => [
					key,
					value !== null && typeof value === 'object' ? Object.keys(value).sort() : typeof value,
				]),
			);
		const previewed = jsonOf(preview)[0];
		const previewRecord = { ...(previewed.salesforce as Record<string, unknown>) };
		delete previewRecord.preview;
		delete previewRecord.membersNow;
		expect(shape({ ...previewed, salesforce: previewRecord })).toEqual(shape(polled[0]));
	});

	it('says so when the segment is empty', async () => {
		const { run } = trigger();
		await expect(run('manual')).rejects.toThrow(/No Salesforce record is in the segment/);
	});
});

describe('Salesforce Segment Trigger: errors', () => {
	it('names the condition parameter when the condition cannot be SOQL (checked before any call)', async () => {
		const { run } = trigger({ condition: "Trial_End__c = 'x" });
		const requestsBefore = fake.apiRequestCount();
		const error = await failure(run());
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toContain('source.where');
		expect(error.message).toContain('never closed');
		expect(error.description).toContain('Condition (SOQL WHERE)');
		expect(fake.apiRequestCount()).toBe(requestsBefore);
	});

	it('shows the SOQL and points at the condition when Salesforce rejects the query', async () => {
		const { run } = trigger({ condition: "Trial_End__c = = 'x'" });
		const error = await failure(run());
		expect(error.constructor.name).toBe('NodeApiError');
		expect(error.message).toMatch(/MALFORMED_QUERY/);
		expect(error.message).toContain('SOQL: SELECT');
		expect(error.description).toContain('Condition (SOQL WHERE)');
	});

	it("shows Salesforce's answer for a field the object does not have", async () => {
		const { run } = trigger({ userIdField: 'No_Such_Field__c' });
		await expect(run()).rejects.toThrow(/No_Such_Field__c/);
	});

	it('needs a Campaign ID', async () => {
		const { run } = trigger({ campaignId: '' });
		await expect(run()).rejects.toThrow(/^Campaign ID: is empty/);
	});

	it('fails with the login error when the password is wrong', async () => {
		const credentials = credentialsFor(fake);
		const { run } = trigger(
			{},
			{
				credentials: {
					campaignSalesforcePasswordApi: {
						...credentials.campaignSalesforcePasswordApi,
						password: 'wrong',
					},
				},
			},
		);
		const error = await failure(run());
		expect(error.constructor.name).toBe('NodeApiError');
		expect(error.message).toMatch(/authentication|password|invalid_grant/i);
	});
});

describe('Salesforce Segment Trigger: credentials', () => {
	it('logs in with our JWT credential', async () => {
		addContact(1);
		const { run } = trigger(
			{ authentication: 'campaignJwt' },
			{ credentials: { campaignSalesforceJwtApi: credentialsFor(fake).campaignSalesforceJwtApi } },
		);
		expect(userIdsOf(await run())).toEqual(['entered:u1']);
		fake.advance(60_000);
		addContact(2);
		expect(userIdsOf(await run())).toEqual(['entered:u2']);
		// One token for the credential in this process: polls do not log in again.
		expect(fake.tokenRequestCount()).toBe(1);
	});

	it('names the credential field when the private key is not a PEM key', async () => {
		const { run } = trigger(
			{ authentication: 'campaignJwt' },
			{
				credentials: {
					campaignSalesforceJwtApi: {
						...credentialsFor(fake).campaignSalesforceJwtApi,
						privateKey: 'not a key',
					},
				},
			},
		);
		const error = await failure(run());
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toContain('privateKey');
		expect(error.description).toBe('Check the "Private Key" field of the Salesforce credential.');
	});

	it("logs in with n8n's built-in Salesforce JWT credential (clientId, environment, myDomainUrl)", async () => {
		addContact(1);
		const { run } = trigger(
			{ authentication: 'salesforceJwt' },
			{ credentials: { salesforceJwtApi: credentialsFor(fake).salesforceJwtApi } },
		);
		expect(userIdsOf(await run())).toEqual(['entered:u1']);
	});

	it('logs in with the legacy SOAP login when there is no connected app', async () => {
		addContact(1);
		const { campaignSalesforcePasswordApi } = credentialsFor(fake);
		const { run } = trigger(
			{},
			{
				credentials: {
					campaignSalesforcePasswordApi: {
						...campaignSalesforcePasswordApi,
						useSoapLogin: true,
						clientId: '',
						clientSecret: '',
					},
				},
			},
		);
		expect(userIdsOf(await run())).toEqual(['entered:u1']);
	});

	for (const type of ['salesforceOAuth2Api', 'campaignSalesforceOAuth2Api'] as const) {
		it(`uses the stored token of ${type} and lets n8n refresh and store it after a 401`, async () => {
			addContact(1);
			const refreshToken = fake.issueRefreshToken(APP.clientId, USER.username);
			const oauthData: Record<string, unknown> = {
				environment: 'production',
				apiVersion: '62.0',
				oauthTokenData: {
					access_token: 'expired-or-revoked-token',
					refresh_token: refreshToken,
					instance_url: fake.url,
				},
			};
			const node = new SalesforceSegmentTrigger();
			const { poll, oauth2 } = salesforceContext({
				nodeType: new SalesforceSegmentTrigger(),
				parameters: {
					...baseParameters,
					authentication: type === 'salesforceOAuth2Api' ? 'salesforceOAuth2' : 'campaignOAuth2',
				},
				credentials: { [type]: oauthData, ...storeCredential },
				workflowId: `wf-oauth-${type}`,
				nodeId: 'trigger-node',
				oauth2: {
					tokenUrl: `${fake.url}/services/oauth2/token`,
					clientId: APP.clientId,
					clientSecret: APP.clientSecret,
				},
			});
			const result = await node.poll.call(poll);
			expect(userIdsOf(result)).toEqual(['entered:u1']);
			expect(oauth2.refreshes).toBe(1);
			const stored = oauthData.oauthTokenData as Record<string, string>;
			expect(stored.access_token).not.toBe('expired-or-revoked-token');
			expect(stored.instance_url).toBe(fake.url);
		});
	}

	it("sends every Salesforce request of its polls, the sync thread's too, with n8n's httpRequest", async () => {
		for (let i = 1; i <= 3; i++) addContact(i);
		const node = new SalesforceSegmentTrigger();
		const sentViaHelper: string[] = [];
		const poll = async () => {
			const { poll: context, helperRequests } = salesforceContext({
				nodeType: new SalesforceSegmentTrigger(),
				parameters: { ...baseParameters, authentication: 'campaignJwt' },
				credentials: {
					campaignSalesforceJwtApi: credentialsFor(fake).campaignSalesforceJwtApi,
					...storeCredential,
				},
				workflowId: 'wf-helper',
				nodeId: 'trigger-node',
			});
			const result = await node.poll.call(context);
			for (const request of helperRequests) {
				expect(request.helper).toBe('httpRequest');
				sentViaHelper.push(`${request.method} ${new URL(request.url).pathname}`);
			}
			return result;
		};
		expect(userIdsOf(await poll())).toEqual(['entered:u1', 'entered:u2', 'entered:u3']);
		addContact(4);
		fake.advance(60_000);
		expect(userIdsOf(await poll())).toEqual(['entered:u4']);
		expect(sentViaHelper[0]).toBe('POST /services/oauth2/token');
		expect(sentViaHelper).toEqual(fake.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`));
	});

	it('tests the password and JWT credentials by reading the API limits', async () => {
		const node = new SalesforceSegmentTrigger();
		const test = node.methods.credentialTest.testSalesforceCredential;
		const credentials = credentialsFor(fake);
		const sent: HelperRequest[] = [];
		// A credential test gets only n8n's legacy request helper: the test goes through it.
		const context = {
			helpers: { request: fakeLegacyRequest(sent) },
		} as unknown as ICredentialTestFunctions;
		const wrong = await test.call(context, {
			id: '2',
			name: 'wrong',
			type: 'campaignSalesforcePasswordApi',
			data: { ...credentials.campaignSalesforcePasswordApi, password: 'nope' },
		});
		expect(wrong.status).toBe('Error');
		expect(wrong.message).toMatch(/Salesforce login .* failed/);
		for (const type of ['campaignSalesforcePasswordApi', 'campaignSalesforceJwtApi'] as const) {
			const result = await test.call(context, {
				id: '1',
				name: type,
				type,
				data: credentials[type],
			});
			expect(result).toEqual({
				status: 'OK',
				message: expect.stringMatching(/^Connected: [\d,]+ of 15,000 daily API requests used$/),
			});
		}
		expect(sent.map((request) => `${request.method} ${new URL(request.url).pathname}`)).toEqual([
			'POST /services/oauth2/token',
			'POST /services/oauth2/token',
			'GET /services/data/v62.0/limits',
			'POST /services/oauth2/token',
			'GET /services/data/v62.0/limits',
		]);
		expect(fake.requests).toHaveLength(sent.length);
	});
});
