/**
 * The Salesforce Campaign Activity node's execute() against the in-process fake Salesforce:
 * items become Tasks, a retry finds them (duplicates, no new Tasks), bad items leave on Failed,
 * and the optional record field and Campaign member status updates.
 */
import type { INodeExecutionData } from 'n8n-workflow';

import { SalesforceCampaignActivity } from '../../nodes/SalesforceCampaignActivity/SalesforceCampaignActivity.node';
import { clearSalesforceTokenCache } from '../../src/salesforce/auth/sessions';
import { FakeSalesforce } from '../support/fake-salesforce';
import { credentialsFor, salesforceContext, setUpOrg } from './SalesforceContext';

delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

const T0 = Date.parse('2026-11-23T09:00:00Z');
const KEY_FIELD = 'Campaign_Message_Key__c';

let fake: FakeSalesforce;
let contacts: string[];
let campaign: string;

beforeEach(async () => {
	clearSalesforceTokenCache();
	fake = await FakeSalesforce.start({ now: T0 });
	setUpOrg(fake);
	fake.defineObject({
		name: 'Contact',
		fields: {
			LastName: { type: 'string' },
			Email: { type: 'email' },
			Last_Campaign_Message__c: { type: 'date' },
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
	fake.defineObject({ name: 'Campaign', fields: { Name: { type: 'string' } } });
	fake.defineObject({
		name: 'CampaignMember',
		fields: {
			CampaignId: { type: 'reference', referenceTo: 'Campaign', relationshipName: 'Campaign' },
			ContactId: { type: 'reference', referenceTo: 'Contact', relationshipName: 'Contact' },
			LeadId: { type: 'string' },
			Status: { type: 'picklist' },
		},
	});
	contacts = [1, 2, 3].map((i) =>
		fake.insert('Contact', { LastName: `User${i}`, Email: `user${i}@example.com` }),
	);
	campaign = fake.insert('Campaign', { Name: 'Trial ending' });
});

afterEach(async () => {
	await fake.close();
});

/** Item JSON as the tests read it: nested, loosely typed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** Items as Campaign Send Message puts them on "Sent". */
function sentItems(count = 3): Array<{ json: Record<string, unknown> }> {
	return contacts.slice(0, count).map((contactId, index) => ({
		json: {
			userId: `u${index + 1}`,
			campaignId: 'trial-ending',
			entryId: `entry-${index + 1}`,
			profile: { externalIds: { salesforce: contactId } },
			send: {
				status: 'sent',
				idempotencyKey: `trial-ending:entry-${index + 1}:send-step`,
				rendered: { subject: null, body: `Hi u${index + 1}` },
			},
		},
	}));
}

/** n8n resolves each item's expressions; here the defaults' expressions, in plain code. */
const perItem =
	(items: Array<{ json: Json }>, read: (json: Json) => unknown) => (itemIndex: unknown) =>
		read(items[Number(itemIndex)].json);

function parametersFor(items: Array<{ json: Json }>, overrides: Record<string, unknown> = {}) {
	return {
		authentication: 'campaignPassword',
		whoId: perItem(items, (json) => json.profile?.externalIds?.salesforce),
		subject: perItem(items, (json) => `Campaign message: ${String(json.campaignId)}`),
		description: perItem(items, (json) => json.send?.rendered?.body ?? ''),
		activityDate: '2026-11-23',
		status: 'Completed',
		idempotencyKey: perItem(items, (json) => json.send?.idempotencyKey ?? json.entryId),
		duplicateCheck: 'externalIdField',
		externalIdField: KEY_FIELD,
		options: {},
		...overrides,
	};
}

async function execute(
	items: Array<{ json: Json }>,
	overrides: Record<string, unknown> = {},
	options: { continueOnFail?: boolean; credentials?: Record<string, Record<string, unknown>> } = {},
): Promise<INodeExecutionData[][]> {
	const { execute: context } = salesforceContext({
		nodeType: new SalesforceCampaignActivity(),
		parameters: parametersFor(items, overrides),
		credentials: options.credentials ?? {
			campaignSalesforcePasswordApi: credentialsFor(fake).campaignSalesforcePasswordApi,
		},
		items,
		continueOnFail: options.continueOnFail,
	});
	return await new SalesforceCampaignActivity().execute.call(context);
}

const activityOf = (item: INodeExecutionData) => item.json.salesforceActivity as Json;

describe("Salesforce requests go through n8n's HTTP helper (n8n's proxy settings apply)", () => {
	it.each(['campaignSalesforcePasswordApi', 'campaignSalesforceJwtApi'] as const)(
		'%s: the login and every API call are sent with helpers.httpRequest',
		async (type) => {
			const items = sentItems(2);
			const { execute: context, helperRequests } = salesforceContext({
				nodeType: new SalesforceCampaignActivity(),
				parameters: parametersFor(items, {
					authentication: type === 'campaignSalesforceJwtApi' ? 'campaignJwt' : 'campaignPassword',
				}),
				credentials: { [type]: credentialsFor(fake)[type] },
				items,
			});
			const before = fake.requests.length;
			const [logged] = await new SalesforceCampaignActivity().execute.call(context);
			expect(logged).toHaveLength(2);
			const reached = fake.requests.slice(before).map((r) => `${r.method} ${r.path}`);
			const viaHelper = helperRequests.map((r) => {
				const url = new URL(r.url);
				return `${r.method} ${url.pathname}${url.search}`;
			});
			expect(helperRequests.every((r) => r.helper === 'httpRequest')).toBe(true);
			expect(viaHelper).toEqual(reached);
			expect(reached[0]).toBe('POST /services/oauth2/token');
			expect(reached.length).toBeGreaterThan(1);
		},
	);
});

/** The error a promise rejects with; fails the test when it resolves. */
async function failure(promise: Promise<unknown>): Promise<Error & { description?: string }> {
	try {
		await promise;
	} catch (error) {
		return error as Error & { description?: string };
	}
	throw new Error('expected the node to fail');
}

describe('Salesforce Campaign Activity', () => {
	it('logs one completed Task per sent message on the Contact, with the send key in the External ID field', async () => {
		const [logged, failed] = await execute(sentItems());
		expect(failed).toEqual([]);
		expect(logged).toHaveLength(3);
		expect(logged.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(activityOf(logged[0])).toMatchObject({
			outcome: 'created',
			taskId: expect.stringMatching(/^00T/),
			errors: [],
		});
		// The item keeps what it had.
		expect(logged[0].json).toMatchObject({ userId: 'u1', send: { status: 'sent' } });

		const tasks = fake.records('Task');
		expect(tasks).toHaveLength(3);
		const task = tasks.find((t) => t.WhoId === contacts[0])!;
		expect(task).toMatchObject({
			Subject: 'Campaign message: trial-ending',
			Description: 'Hi u1',
			ActivityDate: '2026-11-23',
			Status: 'Completed',
			[KEY_FIELD]: 'trial-ending:entry-1:send-step',
		});
	});

	it('writes no second Task when the same messages are logged again (a retried execution)', async () => {
		await execute(sentItems());
		const [logged, failed] = await execute(sentItems());
		expect(failed).toEqual([]);
		expect(logged.map((item) => activityOf(item).outcome)).toEqual([
			'duplicate',
			'duplicate',
			'duplicate',
		]);
		expect(fake.records('Task')).toHaveLength(3);
	});

	it('finds earlier Tasks by the key line in the description when there is no External ID field', async () => {
		const first = await execute(sentItems(2), { duplicateCheck: 'descriptionKey' });
		expect(first[0].map((item) => activityOf(item).outcome)).toEqual(['created', 'created']);
		const again = await execute(sentItems(3), { duplicateCheck: 'descriptionKey' });
		expect(again[0].map((item) => activityOf(item).outcome)).toEqual([
			'duplicate',
			'duplicate',
			'created',
		]);
		expect(activityOf(again[0][0]).taskId).toBe(activityOf(first[0][0]).taskId);
		const tasks = fake.records('Task');
		expect(tasks).toHaveLength(3);
		expect(String(tasks[0].Description)).toContain('[campaign-message-key: ');
	});

	it('writes 250 items in two collection requests of at most 200, with one login', async () => {
		const items = Array.from({ length: 250 }, (_, index) => ({
			json: {
				userId: `u${index}`,
				campaignId: 'trial-ending',
				profile: { externalIds: { salesforce: contacts[index % 3] } },
				send: { status: 'sent', idempotencyKey: `trial-ending:e${index}:send-step` },
			},
		}));
		const tokensBefore = fake.tokenRequestCount();
		const [logged, failed] = await execute(items);
		expect(failed).toEqual([]);
		expect(logged).toHaveLength(250);
		expect(fake.records('Task')).toHaveLength(250);
		expect(fake.tokenRequestCount() - tokensBefore).toBe(1);
		const writes = fake.requests.filter((request) => request.path.includes('/composite/sobjects'));
		expect(writes).toHaveLength(2);
	});

	it('sends items Salesforce cannot log to Failed with the reason, and logs the others', async () => {
		const items = sentItems();
		(items[1].json.profile as Json).externalIds.salesforce = 'not-an-id';
		delete (items[2].json as Json).profile;
		const [logged, failed] = await execute(items);
		expect(logged.map((item) => item.json.userId)).toEqual(['u1']);
		expect(failed.map((item) => item.json.userId)).toEqual(['u2', 'u3']);
		expect(failed.map((item) => item.pairedItem)).toEqual([{ item: 1 }, { item: 2 }]);
		expect(activityOf(failed[0])).toMatchObject({
			outcome: 'failed',
			taskId: null,
			errors: [expect.objectContaining({ message: expect.stringContaining('whoId') })],
		});
		expect(fake.records('Task')).toHaveLength(1);
	});

	it("also sets a field on the Contact and the person's Campaign member status", async () => {
		fake.insert('CampaignMember', { CampaignId: campaign, ContactId: contacts[0], Status: 'Sent' });
		const [logged] = await execute(sentItems(2), {
			options: {
				recordField: 'Last_Campaign_Message__c',
				recordFieldValue: '2026-11-23',
				salesforceCampaignId: campaign,
				campaignMemberStatus: 'Responded',
			},
		});
		expect(logged).toHaveLength(2);
		expect(activityOf(logged[0])).toMatchObject({
			recordUpdate: 'updated',
			campaignMemberStatus: 'updated',
		});
		expect(activityOf(logged[1])).toMatchObject({
			recordUpdate: 'updated',
			campaignMemberStatus: 'notAMember',
		});
		const contact = fake.records('Contact').find((c) => c.Id === contacts[0])!;
		expect(contact.Last_Campaign_Message__c).toBe('2026-11-23');
		expect(fake.records('CampaignMember')[0].Status).toBe('Responded');
	});

	it('names the External ID Field parameter when it is empty', async () => {
		const error = await failure(execute(sentItems(1), { externalIdField: '' }));
		expect(error).toBeInstanceOf(Error);
		expect(error.description).toContain('External ID Field');
	});

	it('with "continue on fail", sends every item to Failed when the settings are wrong', async () => {
		const [logged, failed] = await execute(
			sentItems(2),
			{ externalIdField: '' },
			{ continueOnFail: true },
		);
		expect(logged).toEqual([]);
		expect(failed).toHaveLength(2);
		expect(failed[0].json.error).toMatch(/idempotency\.field/);
	});

	it('fails with the login error when Salesforce refuses the login; with "continue on fail" the items go to Failed', async () => {
		const credentials = credentialsFor(fake);
		const wrong = {
			credentials: {
				campaignSalesforcePasswordApi: {
					...credentials.campaignSalesforcePasswordApi,
					password: 'wrong',
				},
			},
		};
		const error = await failure(execute(sentItems(2), {}, wrong));
		expect(error.constructor.name).toBe('NodeApiError');
		expect(error.message).toMatch(/Salesforce login .* failed/);

		const [logged, failed] = await execute(sentItems(2), {}, { ...wrong, continueOnFail: true });
		expect(logged).toEqual([]);
		expect(failed).toHaveLength(2);
		expect(activityOf(failed[0])).toMatchObject({
			outcome: 'failed',
			errors: [expect.objectContaining({ code: 'salesforce_auth' })],
		});
		expect(fake.records('Task')).toHaveLength(0);
	});

	it("logs through n8n's built-in Salesforce JWT credential", async () => {
		const [logged] = await execute(
			sentItems(1),
			{ authentication: 'salesforceJwt' },
			{ credentials: { salesforceJwtApi: credentialsFor(fake).salesforceJwtApi } },
		);
		expect(activityOf(logged[0]).outcome).toBe('created');
	});
});
