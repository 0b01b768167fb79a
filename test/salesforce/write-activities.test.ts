import { InvalidInputError } from '../../src/errors';
import { SalesforceApi } from '../../src/salesforce/api/salesforce-api';
import type {
	ApiRequest,
	ApiResponse,
	SalesforceRequester,
	SyncLogger,
} from '../../src/salesforce/api/types';
import {
	writeActivities,
	type ActivityItem,
	type ActivityWriteOptions,
} from '../../src/salesforce/activity/write-activities';
import { clearSalesforceTokenCache, passwordSession } from '../../src/salesforce/auth/sessions';
import { FakeSalesforce } from '../support/fake-salesforce';

delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

const CONTACT_A = '003000000000001AAA';
const CONTACT_B = '003000000000002AAA';
const LEAD_C = '00Q000000000003AAA';
const CAMPAIGN = '701000000000001AAA';
const EXTERNAL_ID: ActivityWriteOptions['idempotency'] = {
	mode: 'externalIdField',
	field: 'Campaign_Message_Key__c',
};
const DESCRIPTION_KEY: ActivityWriteOptions['idempotency'] = { mode: 'descriptionKey' };

type SObject = Record<string, unknown>;
type Interceptor = (request: ApiRequest) => ApiResponse | Error | undefined;

/**
 * A small in-memory org behind the SalesforceRequester contract, for checking what the writer
 * sends and how it reads answers. Records carrying `Bad__c` are rejected per record with
 * INVALID_FIELD, as Salesforce rejects an unknown field.
 */
class MemoryOrg implements SalesforceRequester {
	readonly apiVersion = '62.0';
	readonly requests: ApiRequest[] = [];
	readonly tasks: SObject[] = [];
	readonly people = new Map<string, SObject>();
	readonly members: SObject[] = [];
	/** Query page size, to exercise nextRecordsUrl. */
	pageSize = 2000;
	private readonly interceptors: Interceptor[] = [];
	private readonly cursors = new Map<string, SObject[]>();
	private sequence = 0;

	constructor() {
		for (const id of [CONTACT_A, CONTACT_B, LEAD_C]) this.people.set(id, { Id: id });
	}

	/** The next request `matches` accepts is answered by `answer` instead. */
	interceptOnce(matches: (request: ApiRequest) => boolean, answer: ApiResponse | Error): void {
		let used = false;
		this.interceptors.push((request) => {
			if (used || !matches(request)) return undefined;
			used = true;
			return answer;
		});
	}

	newId(prefix: string): string {
		this.sequence++;
		return `${prefix}${String(this.sequence).padStart(12, '0')}XYZ`;
	}

	collectionCalls(): ApiRequest[] {
		return this.requests.filter((request) => request.path.startsWith('/composite/sobjects'));
	}

	queries(): string[] {
		return this.requests.filter((request) => request.method === 'GET').map((r) => r.soql ?? '');
	}

	async request(request: ApiRequest): Promise<ApiResponse> {
		this.requests.push(structuredClone(request));
		for (const interceptor of this.interceptors) {
			const answer = interceptor(request);
			if (answer instanceof Error) throw answer;
			if (answer) return answer;
		}
		if (request.method === 'GET') return this.query(request);
		const body = request.body as { allOrNone: boolean; records: SObject[] };
		expect(body.allOrNone).toBe(false);
		expect(body.records.length).toBeLessThanOrEqual(200);
		const upsert = /^\/composite\/sobjects\/Task\/(\w+)$/.exec(request.path);
		if (request.method === 'POST' && request.path === '/composite/sobjects') {
			return json(body.records.map((record) => this.create(record)));
		}
		if (request.method === 'PATCH' && upsert) {
			return json(body.records.map((record) => this.upsert(record, upsert[1])));
		}
		if (request.method === 'PATCH' && request.path === '/composite/sobjects') {
			return json(body.records.map((record) => this.update(record)));
		}
		throw new Error(`MemoryOrg: unexpected ${request.method} ${request.path}`);
	}

	private rejected(record: SObject): SObject | undefined {
		if (!('Bad__c' in record)) return undefined;
		return {
			success: false,
			errors: [
				{
					statusCode: 'INVALID_FIELD',
					message: "No such column 'Bad__c' on sobject",
					fields: ['Bad__c'],
				},
			],
		};
	}

	private create(record: SObject): SObject {
		const rejected = this.rejected(record);
		if (rejected) return rejected;
		const fields = withoutAttributes(record);
		const id = this.newId('00T');
		this.tasks.push({ ...fields, Id: id });
		return { id, success: true, errors: [] };
	}

	private upsert(record: SObject, field: string): SObject {
		const rejected = this.rejected(record);
		if (rejected) return rejected;
		const fields = withoutAttributes(record);
		const existing = this.tasks.find((task) => task[field] === record[field]);
		if (existing) {
			Object.assign(existing, fields);
			return { id: existing.Id, success: true, errors: [], created: false };
		}
		const id = this.newId('00T');
		this.tasks.push({ ...fields, Id: id });
		return { id, success: true, errors: [], created: true };
	}

	private update(record: SObject): SObject {
		const rejected = this.rejected(record);
		if (rejected) return rejected;
		const { attributes, Id, ...fields } = record as { attributes: { type: string }; Id: string };
		const target =
			attributes.type === 'CampaignMember'
				? this.members.find((member) => member.Id === Id)
				: this.people.get(Id);
		if (!target) {
			return {
				success: false,
				errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
			};
		}
		Object.assign(target, fields, { type: attributes.type });
		return { id: Id, success: true, errors: [] };
	}

	private query(request: ApiRequest): ApiResponse {
		const cursor = /\/query\/(\w+)$/.exec(request.path);
		let rows: SObject[];
		if (cursor) {
			rows = this.cursors.get(cursor[1]) ?? [];
		} else {
			const soql = String(request.query?.q);
			const inList = (column: string): string[] => {
				const match = new RegExp(`${column} IN \\(([^)]*)\\)`).exec(soql);
				return match ? [...match[1].matchAll(/'(\w+)'/g)].map((m) => m[1].slice(0, 15)) : [];
			};
			if (soql.includes('FROM Task')) {
				const who = new Set(inList('WhoId'));
				rows = this.tasks
					.filter((task) => who.has(String(task.WhoId).slice(0, 15)))
					.map((task) => ({ Id: task.Id, WhoId: task.WhoId, Description: task.Description }));
			} else if (soql.includes('FROM CampaignMember')) {
				const campaign = /CampaignId = '(\w+)'/.exec(soql)?.[1] ?? '';
				const people = new Set(inList('ContactId'));
				rows = this.members
					.filter((member) => member.CampaignId === campaign)
					.filter((member) =>
						[member.ContactId, member.LeadId].some(
							(id) => typeof id === 'string' && people.has(id.slice(0, 15)),
						),
					)
					.map(({ Id, ContactId, LeadId }) => ({ Id, ContactId, LeadId }));
			} else {
				throw new Error(`MemoryOrg: unexpected query ${soql}`);
			}
		}
		const page = rows.slice(0, this.pageSize);
		const rest = rows.slice(this.pageSize);
		if (rest.length === 0) return json({ totalSize: page.length, done: true, records: page });
		const next = `c${this.requests.length}`;
		this.cursors.set(next, rest);
		return json({
			totalSize: rows.length,
			done: false,
			records: page,
			nextRecordsUrl: `/services/data/v62.0/query/${next}`,
		});
	}
}

function withoutAttributes(record: SObject): SObject {
	const fields = { ...record };
	delete fields.attributes;
	return fields;
}

function json(body: unknown, status = 200): ApiResponse {
	return { status, headers: {}, json: body };
}

function item(overrides: Partial<ActivityItem> = {}): ActivityItem {
	return {
		whoId: CONTACT_A,
		subject: 'Email: Welcome',
		idempotencyKey: `key-${Math.random().toString(36).slice(2)}`,
		...overrides,
	};
}

function recordingLogger(): SyncLogger & { infos: Array<[string, unknown]> } {
	const infos: Array<[string, unknown]> = [];
	return {
		infos,
		debug: () => undefined,
		info: (message, meta) => void infos.push([message, meta]),
		warn: () => undefined,
	};
}

function bodyRecords(request: ApiRequest): SObject[] {
	return (request.body as { records: SObject[] }).records;
}

async function rejectsInvalidInput(promise: Promise<unknown>, field: string): Promise<void> {
	const error = await promise.then(
		() => undefined,
		(caught: unknown) => caught,
	);
	expect(error).toBeInstanceOf(InvalidInputError);
	expect((error as InvalidInputError).field).toBe(field);
}

describe('writeActivities: options', () => {
	it.each<[string, Partial<ActivityWriteOptions>, string]>([
		[
			'an external id field that is not an API name',
			{ idempotency: { mode: 'externalIdField', field: "Key__c'; --" } },
			'idempotency.field',
		],
		[
			'an empty external id field',
			{ idempotency: { mode: 'externalIdField', field: '' } },
			'idempotency.field',
		],
		[
			'a standard Task field as external id',
			{ idempotency: { mode: 'externalIdField', field: 'Subject' } },
			'idempotency.field',
		],
		['an unknown mode', { idempotency: { mode: 'subject' } as never }, 'idempotency'],
		[
			'a bad person object',
			{ idempotency: DESCRIPTION_KEY, personObject: 'Contact Person' },
			'personObject',
		],
	])('throws InvalidInputError before any call for %s', async (_label, overrides, field) => {
		const org = new MemoryOrg();
		await rejectsInvalidInput(
			writeActivities([item()], { api: org, idempotency: EXTERNAL_ID, ...overrides }),
			field,
		);
		expect(org.requests).toHaveLength(0);
	});

	it('throws when there is no API client or the items are not a list', async () => {
		await rejectsInvalidInput(
			writeActivities([item()], { api: undefined as never, idempotency: EXTERNAL_ID }),
			'api',
		);
		await rejectsInvalidInput(
			writeActivities({} as never, { api: new MemoryOrg(), idempotency: EXTERNAL_ID }),
			'items',
		);
	});

	it('makes no call and logs a zero summary for no items', async () => {
		const org = new MemoryOrg();
		const logger = recordingLogger();
		expect(await writeActivities([], { api: org, idempotency: EXTERNAL_ID, logger })).toEqual([]);
		expect(org.requests).toHaveLength(0);
		expect(logger.infos[0][1]).toMatchObject({ created: 0, duplicates: 0, failed: 0, apiCalls: 0 });
	});
});

describe('writeActivities: item checks', () => {
	it.each<[string, Partial<ActivityItem> | Record<string, unknown>, string]>([
		['a malformed whoId', { whoId: '003-not-an-id' }, 'whoId'],
		['a missing subject', { subject: undefined }, 'subject'],
		['a blank subject', { subject: '   ' }, 'subject'],
		['a subject over 255 characters', { subject: 'x'.repeat(256) }, 'subject'],
		['an impossible date', { activityDate: '2026-02-30' }, 'activityDate'],
		['a date in another format', { activityDate: '23.11.2026' }, 'activityDate'],
		['a missing idempotency key', { idempotencyKey: '' }, 'idempotencyKey'],
		['a multi-line idempotency key', { idempotencyKey: 'a\nb' }, 'idempotencyKey'],
		['a malformed whatId', { whatId: 'nope' }, 'whatId'],
		['an empty status', { status: '' }, 'status'],
		[
			'a Task field name that is not an API name',
			{ taskFields: { 'Bad Field': 1 } },
			'taskFields.Bad Field',
		],
		[
			'a Task field the activity sets itself',
			{ taskFields: { subject: 'x' } },
			'taskFields.subject',
		],
		[
			'the external id field in taskFields',
			{ taskFields: { Campaign_Message_Key__c: 'x' } },
			'taskFields.Campaign_Message_Key__c',
		],
		[
			'an object as a Task field value',
			{ taskFields: { Note__c: { a: 1 } } },
			'taskFields.Note__c',
		],
		[
			'a record update field that is not an API name',
			{ recordUpdate: { 'x;y': 1 } },
			'recordUpdate.x;y',
		],
		[
			'a record update of an id with no known object',
			{ whoId: '001000000000001AAA', recordUpdate: { Foo__c: 1 } },
			'recordUpdate',
		],
		[
			'a campaign member status without a campaign id',
			{ campaignMemberStatus: { campaignId: '', status: 'Sent' } },
			'campaignMemberStatus.campaignId',
		],
		[
			'a campaign member status without a status',
			{ campaignMemberStatus: { campaignId: CAMPAIGN, status: '' } },
			'campaignMemberStatus.status',
		],
	])('fails only the item with %s, naming the field', async (_label, overrides, field) => {
		const org = new MemoryOrg();
		const bad = { ...item(), ...overrides } as ActivityItem;
		const good = item({ whoId: CONTACT_B });
		const results = await writeActivities([bad, good], { api: org, idempotency: EXTERNAL_ID });

		expect(results[0].outcome).toBe('failed');
		expect(results[0].taskId).toBeUndefined();
		expect(results[0].errors).toEqual([
			expect.objectContaining({ code: 'INVALID_INPUT', fields: [field] }),
		]);
		expect(results[0].errors?.[0].message.startsWith(`${field}:`)).toBe(true);
		expect(results[1]).toMatchObject({ outcome: 'created', whoId: CONTACT_B });
		expect(org.collectionCalls()).toHaveLength(1);
		expect(bodyRecords(org.collectionCalls()[0])).toHaveLength(1);
	});

	it('reports every problem of an item, and skips its follow-ups', async () => {
		const org = new MemoryOrg();
		const [result] = await writeActivities(
			[
				{
					whoId: 'x',
					subject: '',
					idempotencyKey: 'k',
					recordUpdate: { Foo__c: 1 },
					campaignMemberStatus: { campaignId: CAMPAIGN, status: 'Sent' },
				},
			],
			{ api: org, idempotency: EXTERNAL_ID },
		);
		expect(result.errors?.map((error) => error.fields?.[0])).toEqual(['whoId', 'subject']);
		expect(result).toMatchObject({ recordUpdate: 'skipped', campaignMemberStatus: 'skipped' });
		expect(org.requests).toHaveLength(0);
	});

	it('fails a non-object item without throwing', async () => {
		const results = await writeActivities([null as never, 'x' as never], {
			api: new MemoryOrg(),
			idempotency: EXTERNAL_ID,
		});
		expect(results.map((result) => result.outcome)).toEqual(['failed', 'failed']);
		expect(results[0]).toMatchObject({ whoId: '', idempotencyKey: '' });
	});
});

describe('writeActivities: externalIdField mode', () => {
	it('upserts by the external id field with defaults, 200 records per call', async () => {
		const org = new MemoryOrg();
		const items = Array.from({ length: 450 }, (_, index) =>
			item({ idempotencyKey: `send-${index}`, whoId: index % 2 ? CONTACT_A : LEAD_C }),
		);
		items[0] = {
			...items[0],
			description: 'Welcome email',
			activityDate: '2026-11-23',
			status: 'Sent',
			priority: 'High',
			whatId: CAMPAIGN,
			taskFields: { Channel__c: 'email', Opened__c: false },
		};
		const results = await writeActivities(items, { api: org, idempotency: EXTERNAL_ID });

		const calls = org.collectionCalls();
		expect(calls.map((call) => [call.method, call.path, call.retrySafe])).toEqual([
			['PATCH', '/composite/sobjects/Task/Campaign_Message_Key__c', true],
			['PATCH', '/composite/sobjects/Task/Campaign_Message_Key__c', true],
			['PATCH', '/composite/sobjects/Task/Campaign_Message_Key__c', true],
		]);
		expect(calls.map((call) => bodyRecords(call).length)).toEqual([200, 200, 50]);
		expect(bodyRecords(calls[0])[0]).toEqual({
			attributes: { type: 'Task' },
			WhoId: LEAD_C,
			Subject: 'Email: Welcome',
			Campaign_Message_Key__c: 'send-0',
			Description: 'Welcome email',
			ActivityDate: '2026-11-23',
			Status: 'Sent',
			Priority: 'High',
			WhatId: CAMPAIGN,
			Channel__c: 'email',
			Opened__c: false,
		});
		expect(bodyRecords(calls[0])[1]).toMatchObject({ Status: 'Completed', Priority: 'Normal' });
		expect(bodyRecords(calls[0])[1]).not.toHaveProperty('Description');
		expect(results.every((result) => result.outcome === 'created')).toBe(true);
		expect(new Set(results.map((result) => result.taskId)).size).toBe(450);
		expect(results[449]).toMatchObject({ idempotencyKey: 'send-449', whoId: CONTACT_A });
	});

	it('reports a Task the upsert found as a duplicate with its id', async () => {
		const org = new MemoryOrg();
		const first = await writeActivities([item({ idempotencyKey: 'k1' })], {
			api: org,
			idempotency: EXTERNAL_ID,
		});
		const again = await writeActivities([item({ idempotencyKey: 'k1' })], {
			api: org,
			idempotency: EXTERNAL_ID,
		});
		expect(again[0]).toMatchObject({ outcome: 'duplicate', taskId: first[0].taskId });
		expect(org.tasks).toHaveLength(1);
	});

	it('fails the items of a request that fails as a whole and goes on with the next batch', async () => {
		const org = new MemoryOrg();
		org.interceptOnce(
			(request) => request.method === 'PATCH',
			Object.assign(new Error('upstream failed'), {
				status: 500,
				errorCode: 'UNKNOWN_EXCEPTION',
			}),
		);
		const items = Array.from({ length: 201 }, (_, index) => item({ idempotencyKey: `k${index}` }));
		const results = await writeActivities(items, { api: org, idempotency: EXTERNAL_ID });
		expect(results.slice(0, 200).every((result) => result.outcome === 'failed')).toBe(true);
		expect(results[0].errors).toEqual([
			{
				code: 'UNKNOWN_EXCEPTION',
				message:
					'Task upsert request failed (running the same items again is safe) (HTTP 500): upstream failed',
			},
		]);
		expect(results[200].outcome).toBe('created');
	});

	it('fails items when the response does not have one result per record', async () => {
		const org = new MemoryOrg();
		org.interceptOnce((request) => request.method === 'PATCH', json([]));
		const results = await writeActivities([item()], { api: org, idempotency: EXTERNAL_ID });
		expect(results[0].errors?.[0].code).toBe('UNEXPECTED_RESPONSE');
	});
});

describe('writeActivities: descriptionKey mode', () => {
	it('writes the key as the last Description line and creates without automatic retries', async () => {
		const org = new MemoryOrg();
		const results = await writeActivities(
			[
				item({ idempotencyKey: 'k1', description: 'Sent "Welcome"' }),
				item({ idempotencyKey: 'k2', whoId: LEAD_C }),
			],
			{ api: org, idempotency: DESCRIPTION_KEY },
		);
		expect(org.queries()).toEqual([
			`SELECT Id, WhoId, Description FROM Task WHERE WhoId IN ('${CONTACT_A}', '${LEAD_C}') AND CreatedDate = LAST_N_DAYS:30`,
		]);
		const [create] = org.collectionCalls();
		expect([create.method, create.path, create.retrySafe]).toEqual([
			'POST',
			'/composite/sobjects',
			false,
		]);
		expect(bodyRecords(create).map((record) => record.Description)).toEqual([
			'Sent "Welcome"\n\n[campaign-message-key: k1]',
			'[campaign-message-key: k2]',
		]);
		expect(results.map((result) => result.outcome)).toEqual(['created', 'created']);
	});

	it('reports Tasks a previous run logged as duplicates and does not create them again', async () => {
		const org = new MemoryOrg();
		org.pageSize = 1;
		org.tasks.push(
			{
				Id: '00T000000000900AAA',
				WhoId: CONTACT_A,
				Description: 'Other\n[campaign-message-key: old]',
			},
			{
				Id: '00T000000000901AAA',
				WhoId: CONTACT_A,
				Description: 'x\r\n[campaign-message-key: k1]\r\nedited later',
			},
			// The same key on another person's Task is not this message.
			{ Id: '00T000000000902AAA', WhoId: CONTACT_B, Description: '[campaign-message-key: k2]' },
		);
		const results = await writeActivities(
			[
				// A 15-character id matches the 18-character WhoId Salesforce returns.
				item({ idempotencyKey: 'k1', whoId: CONTACT_A.slice(0, 15) }),
				item({ idempotencyKey: 'k2' }),
			],
			{ api: org, idempotency: DESCRIPTION_KEY },
		);
		expect(results[0]).toMatchObject({ outcome: 'duplicate', taskId: '00T000000000901AAA' });
		expect(results[1].outcome).toBe('created');
		expect(bodyRecords(org.collectionCalls()[0])).toHaveLength(1);
		expect(org.queries().length).toBeGreaterThan(1); // paged through nextRecordsUrl
	});

	it('after a lost create response fails the items, and the next run finds the Tasks', async () => {
		const org = new MemoryOrg();
		// Salesforce created the Tasks, but the response never arrived.
		const realRequest = org.request.bind(org);
		let lose = true;
		const api: SalesforceRequester = {
			apiVersion: org.apiVersion,
			async request(request) {
				const response = await realRequest(request);
				if (lose && request.method === 'POST') {
					lose = false;
					throw new Error('socket hang up');
				}
				return response;
			},
		};
		const items = [item({ idempotencyKey: 'k1' }), item({ idempotencyKey: 'k2', whoId: LEAD_C })];
		const first = await writeActivities(items, { api, idempotency: DESCRIPTION_KEY });
		expect(first.map((result) => result.outcome)).toEqual(['failed', 'failed']);
		expect(first[0].errors?.[0]).toMatchObject({ code: 'REQUEST_FAILED' });
		expect(first[0].errors?.[0].message).toMatch(/next run finds these Tasks/);

		const second = await writeActivities(items, { api, idempotency: DESCRIPTION_KEY });
		expect(second.map((result) => result.outcome)).toEqual(['duplicate', 'duplicate']);
		expect(org.tasks).toHaveLength(2);
		expect(org.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
	});

	it('fails the items and creates nothing when the duplicate check fails', async () => {
		const org = new MemoryOrg();
		org.interceptOnce((request) => request.method === 'GET', new Error('connection reset'));
		const results = await writeActivities([item()], { api: org, idempotency: DESCRIPTION_KEY });
		expect(results[0].outcome).toBe('failed');
		expect(results[0].errors?.[0].message).toMatch(/none was created/);
		expect(org.collectionCalls()).toHaveLength(0);
	});
});

describe.each([
	['externalIdField', EXTERNAL_ID],
	['descriptionKey', DESCRIPTION_KEY],
])('writeActivities in %s mode', (_mode, idempotency) => {
	it('writes a key repeated within one call once and reports the repeat as its duplicate', async () => {
		const org = new MemoryOrg();
		const results = await writeActivities(
			[
				item({ idempotencyKey: 'same' }),
				item({ idempotencyKey: 'other', whoId: LEAD_C }),
				item({ idempotencyKey: 'same' }),
				item({ idempotencyKey: 'same', whoId: CONTACT_B }),
			],
			{ api: org, idempotency },
		);
		expect(org.tasks).toHaveLength(2);
		expect(results[0].outcome).toBe('created');
		expect(results[2]).toMatchObject({ outcome: 'duplicate', taskId: results[0].taskId });
		// The same key for someone else is a mistake, not a repeat.
		expect(results[3]).toMatchObject({ outcome: 'failed' });
		expect(results[3].errors?.[0]).toMatchObject({
			code: 'INVALID_INPUT',
			fields: ['idempotencyKey'],
		});
	});

	it('fails only the records Salesforce rejects, with its errors, and skips their follow-ups', async () => {
		const org = new MemoryOrg();
		const results = await writeActivities(
			[
				item({ idempotencyKey: 'ok-1', recordUpdate: { Last_Message_Date__c: '2026-11-23' } }),
				item({
					idempotencyKey: 'bad',
					whoId: CONTACT_B,
					taskFields: { Bad__c: 1 },
					recordUpdate: { Last_Message_Date__c: '2026-11-23' },
					campaignMemberStatus: { campaignId: CAMPAIGN, status: 'Sent' },
				}),
				item({ idempotencyKey: 'ok-2', whoId: LEAD_C }),
			],
			{ api: org, idempotency },
		);
		expect(results.map((result) => result.outcome)).toEqual(['created', 'failed', 'created']);
		expect(results[1]).toMatchObject({
			errors: [
				{
					code: 'INVALID_FIELD',
					message: "No such column 'Bad__c' on sobject",
					fields: ['Bad__c'],
				},
			],
			recordUpdate: 'skipped',
			campaignMemberStatus: 'skipped',
		});
		expect(results[0].recordUpdate).toBe('updated');
		expect(org.people.get(CONTACT_B)).not.toHaveProperty('Last_Message_Date__c');
	});

	it('updates the person records and CampaignMember statuses of written Tasks', async () => {
		const org = new MemoryOrg();
		org.members.push(
			{
				Id: '00v000000000001AAA',
				CampaignId: CAMPAIGN,
				ContactId: CONTACT_A,
				LeadId: null,
				Status: 'Sent',
			},
			{
				Id: '00v000000000002AAA',
				CampaignId: CAMPAIGN,
				ContactId: null,
				LeadId: LEAD_C,
				Status: 'Sent',
			},
		);
		const logger = recordingLogger();
		const results = await writeActivities(
			[
				item({
					idempotencyKey: 'a1',
					recordUpdate: { Last_Message_Date__c: '2026-11-22', Messages__c: 1 },
					campaignMemberStatus: { campaignId: CAMPAIGN, status: 'Opened' },
				}),
				item({
					idempotencyKey: 'a2',
					recordUpdate: { last_message_date__c: '2026-11-23' },
					campaignMemberStatus: { campaignId: CAMPAIGN, status: 'Responded' },
				}),
				item({
					idempotencyKey: 'c1',
					whoId: LEAD_C,
					recordUpdate: { Last_Message_Date__c: '2026-11-23' },
					campaignMemberStatus: { campaignId: CAMPAIGN.slice(0, 15), status: 'Responded' },
				}),
				item({
					idempotencyKey: 'b1',
					whoId: CONTACT_B,
					campaignMemberStatus: { campaignId: CAMPAIGN, status: 'Responded' },
				}),
			],
			{ api: org, idempotency, logger },
		);
		expect(results.map((result) => [result.recordUpdate, result.campaignMemberStatus])).toEqual([
			['updated', 'updated'],
			['updated', 'updated'],
			['updated', 'updated'],
			[undefined, 'notAMember'],
		]);
		// One merged update per person, later items winning; one PATCH per object type.
		expect(org.people.get(CONTACT_A)).toEqual({
			Id: CONTACT_A,
			type: 'Contact',
			Messages__c: 1,
			last_message_date__c: '2026-11-23',
		});
		expect(org.people.get(LEAD_C)).toMatchObject({
			type: 'Lead',
			Last_Message_Date__c: '2026-11-23',
		});
		expect(org.members.map((member) => member.Status)).toEqual(['Responded', 'Responded']);
		const memberQueries = org.queries().filter((soql) => soql.includes('CampaignMember'));
		const people = `'${CONTACT_A}', '${LEAD_C}', '${CONTACT_B}'`;
		expect(memberQueries).toEqual([
			`SELECT Id, ContactId, LeadId FROM CampaignMember WHERE CampaignId = '${CAMPAIGN}' AND (ContactId IN (${people}) OR LeadId IN (${people}))`,
		]);
		const updates = org
			.collectionCalls()
			.filter((call) => call.path === '/composite/sobjects' && call.method === 'PATCH');
		expect(updates.every((call) => call.retrySafe === true)).toBe(true);
		expect(
			updates.map((call) =>
				bodyRecords(call).map((record) => (record.attributes as { type: string }).type),
			),
		).toEqual([['Contact'], ['Lead'], ['CampaignMember', 'CampaignMember']]);
		expect(logger.infos).toHaveLength(1);
		expect(logger.infos[0][1]).toMatchObject({
			created: 4,
			duplicates: 0,
			failed: 0,
			recordUpdates: { updated: 3, failed: 0 },
			campaignMemberStatus: { updated: 3, notAMember: 1, failed: 0 },
			apiCalls: org.requests.length,
		});
	});

	it('completes the follow-ups of a rerun whose Task already exists', async () => {
		const org = new MemoryOrg();
		const first = await writeActivities([item({ idempotencyKey: 'k' })], { api: org, idempotency });
		const [again] = await writeActivities(
			[item({ idempotencyKey: 'k', recordUpdate: { Foo__c: 'x' } })],
			{ api: org, idempotency },
		);
		expect(again).toMatchObject({
			outcome: 'duplicate',
			taskId: first[0].taskId,
			recordUpdate: 'updated',
		});
		expect(org.people.get(CONTACT_A)).toMatchObject({ Foo__c: 'x' });
	});

	it('reports failed record updates with Salesforce errors, keeping the Task outcome', async () => {
		const org = new MemoryOrg();
		const results = await writeActivities(
			[
				item({ idempotencyKey: 'k1', recordUpdate: { Bad__c: 1 } }),
				item({ idempotencyKey: 'k2', whoId: LEAD_C, recordUpdate: { Fine__c: 1 } }),
			],
			{ api: org, idempotency, personObject: 'Contact' },
		);
		expect(results[0]).toMatchObject({
			outcome: 'created',
			recordUpdate: 'failed',
			errors: [
				{
					code: 'INVALID_FIELD',
					message: `Record update of Contact ${CONTACT_A}: No such column 'Bad__c' on sobject`,
				},
			],
		});
		// personObject applies to every person, whatever the id prefix.
		expect(results[1]).toMatchObject({ outcome: 'created', recordUpdate: 'updated' });
		expect(org.people.get(LEAD_C)).toMatchObject({ type: 'Contact' });
	});

	it('marks CampaignMember updates failed when the member lookup fails', async () => {
		const org = new MemoryOrg();
		org.interceptOnce(
			(request) => String(request.query?.q ?? '').includes('FROM CampaignMember'),
			new Error('timeout'),
		);
		const [result] = await writeActivities(
			[item({ campaignMemberStatus: { campaignId: CAMPAIGN, status: 'Sent' } })],
			{ api: org, idempotency },
		);
		expect(result).toMatchObject({ outcome: 'created', campaignMemberStatus: 'failed' });
		expect(result.errors?.[0].message).toMatch(/member lookup failed/);
	});
});

describe('writeActivities against the fake Salesforce', () => {
	const DAY_MS = 86_400_000;
	let fake: FakeSalesforce;
	let api: SalesforceApi;
	let contacts: string[];
	let lead: string;
	let campaign: string;

	async function startFake(queryPageSize?: number): Promise<void> {
		fake = await FakeSalesforce.start({ queryPageSize });
		const person = {
			LastName: { type: 'string' },
			Last_Message_Date__c: { type: 'date' },
		} as const;
		fake.defineObject({ name: 'Contact', fields: person });
		fake.defineObject({ name: 'Lead', fields: person });
		fake.defineObject({ name: 'Campaign', fields: { Name: { type: 'string' } } });
		fake.defineObject({
			name: 'CampaignMember',
			fields: {
				CampaignId: { type: 'reference', referenceTo: 'Campaign' },
				ContactId: { type: 'reference', referenceTo: 'Contact' },
				LeadId: { type: 'reference', referenceTo: 'Lead' },
				Status: { type: 'picklist' },
			},
		});
		fake.defineObject({
			name: 'Task',
			fields: {
				Subject: { type: 'string' },
				Description: { type: 'textarea', filterable: false },
				WhoId: { type: 'reference', referenceTo: 'Contact' },
				ActivityDate: { type: 'date' },
				Status: { type: 'picklist' },
				Priority: { type: 'picklist' },
				Campaign_Message_Key__c: { type: 'string' },
			},
		});
		fake.addConnectedApp({ clientId: 'activity-client', clientSecret: 'activity-secret' });
		fake.addUser({ username: 'ops@acme.com', password: 'pw', securityToken: 'tok' });
		api = new SalesforceApi({
			session: passwordSession({
				loginUrl: fake.url,
				clientId: 'activity-client',
				clientSecret: 'activity-secret',
				username: 'ops@acme.com',
				password: 'pw',
				securityToken: 'tok',
			}),
			sleep: async () => undefined,
		});
		contacts = Array.from({ length: 150 }, (_, index) =>
			fake.insert('Contact', { LastName: `Contact ${index}` }),
		);
		lead = fake.insert('Lead', { LastName: 'Lead' });
		campaign = fake.insert('Campaign', { Name: 'Trial nurture' });
	}

	afterEach(async () => {
		await fake?.close();
		clearSalesforceTokenCache();
	});

	/** 450 messages: three to each of 150 contacts. */
	function messages(): ActivityItem[] {
		return Array.from({ length: 450 }, (_, index) => ({
			whoId: contacts[index % 150],
			subject: `Email: step ${Math.floor(index / 150) + 1}`,
			activityDate: '2026-11-23',
			idempotencyKey: `send-${index}`,
		}));
	}

	function collectionCalls(method: string): number {
		return fake.requests.filter(
			(request) => request.method === method && request.path.includes('/composite/sobjects'),
		).length;
	}

	it.each([
		['externalIdField', EXTERNAL_ID, 'PATCH'],
		['descriptionKey', DESCRIPTION_KEY, 'POST'],
	] as const)(
		'%s: writes 450 Tasks in 3 collection calls, and a rerun creates none',
		async (_mode, idempotency, method) => {
			// A small page size makes the descriptionKey check read Tasks through nextRecordsUrl.
			await startFake(100);
			const logger = recordingLogger();
			const first = await writeActivities(messages(), { api, idempotency, logger });

			expect(first.every((result) => result.outcome === 'created')).toBe(true);
			expect(collectionCalls(method)).toBe(3);
			const tasks = fake.records('Task');
			expect(tasks).toHaveLength(450);
			expect(new Set(first.map((result) => result.taskId))).toEqual(
				new Set(tasks.map((task) => task.Id)),
			);
			const firstTask = tasks.find((task) => task.Id === first[0].taskId);
			expect(firstTask).toMatchObject({
				WhoId: contacts[0],
				Subject: 'Email: step 1',
				ActivityDate: '2026-11-23',
				Status: 'Completed',
				Priority: 'Normal',
			});
			if (idempotency.mode === 'descriptionKey') {
				expect(firstTask?.Description).toBe('[campaign-message-key: send-0]');
			} else {
				expect(firstTask?.Campaign_Message_Key__c).toBe('send-0');
			}
			expect(logger.infos[0][1]).toMatchObject({ created: 450, duplicates: 0, failed: 0 });

			const again = await writeActivities(messages(), { api, idempotency, logger });
			expect(again.map((result) => [result.outcome, result.taskId])).toEqual(
				first.map((result) => ['duplicate', result.taskId]),
			);
			expect(fake.records('Task')).toHaveLength(450);
			expect(logger.infos[1][1]).toMatchObject({ created: 0, duplicates: 450, failed: 0 });
			if (idempotency.mode === 'descriptionKey') {
				// The check found every key: nothing was posted the second time.
				expect(collectionCalls('POST')).toBe(3);
				// 450 Tasks of 150 people in pages of 100: read through nextRecordsUrl.
				expect(fake.requests.some((request) => /\/query\/[^?]+$/.test(request.path))).toBe(true);
			}
		},
	);

	it('descriptionKey: a create that fails is not retried, and the next run creates it once', async () => {
		await startFake();
		fake.failNext(
			{ method: 'POST', pathIncludes: '/composite/sobjects' },
			{ status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'try later' }] },
		);
		const items = messages().slice(0, 3);
		const first = await writeActivities(items, { api, idempotency: DESCRIPTION_KEY });
		expect(first.map((result) => result.outcome)).toEqual(['failed', 'failed', 'failed']);
		expect(first[0].errors?.[0].code).toBe('SERVER_UNAVAILABLE');
		expect(collectionCalls('POST')).toBe(1);

		const second = await writeActivities(items, { api, idempotency: DESCRIPTION_KEY });
		expect(second.map((result) => result.outcome)).toEqual(['created', 'created', 'created']);
		expect(fake.records('Task')).toHaveLength(3);
	});

	it('descriptionKey: after a response lost on the way back, the next run reports the Tasks', async () => {
		await startFake();
		// failNext answers instead of the org, so a loss after Salesforce saved the Tasks is
		// simulated in front of the client.
		let lose = true;
		const losingApi: SalesforceRequester = {
			apiVersion: api.apiVersion,
			request: async (request) => {
				const response = await api.request(request);
				if (lose && request.method === 'POST') {
					lose = false;
					throw new TypeError('fetch failed');
				}
				return response;
			},
		};
		const items = messages().slice(0, 3);
		const first = await writeActivities(items, { api: losingApi, idempotency: DESCRIPTION_KEY });
		expect(first.every((result) => result.outcome === 'failed')).toBe(true);
		expect(fake.records('Task')).toHaveLength(3);

		const second = await writeActivities(items, { api: losingApi, idempotency: DESCRIPTION_KEY });
		expect(second.map((result) => result.outcome)).toEqual(['duplicate', 'duplicate', 'duplicate']);
		expect(new Set(second.map((result) => result.taskId))).toEqual(
			new Set(fake.records('Task').map((task) => task.Id)),
		);
		expect(fake.records('Task')).toHaveLength(3);
	});

	it('descriptionKey: Tasks older than 30 days are outside the check', async () => {
		await startFake();
		const now = fake.now();
		fake.setNow(now - 31 * DAY_MS);
		fake.insert('Task', {
			WhoId: contacts[0],
			Subject: 'old',
			Description: '[campaign-message-key: send-0]',
		});
		fake.setNow(now - 29 * DAY_MS);
		const recent = fake.insert('Task', {
			WhoId: contacts[1],
			Subject: 'recent',
			Description: 'Sent by hand\n[campaign-message-key: send-1]',
		});
		fake.setNow(now);
		const results = await writeActivities(messages().slice(0, 2), {
			api,
			idempotency: DESCRIPTION_KEY,
		});
		expect(results[0].outcome).toBe('created');
		expect(results[1]).toMatchObject({ outcome: 'duplicate', taskId: recent });
	});

	it('externalIdField: a throttled upsert is retried by the API layer and writes each Task once', async () => {
		await startFake();
		fake.failNext(
			{ method: 'PATCH', pathIncludes: '/composite/sobjects/Task/' },
			{ status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'try later' }] },
		);
		const results = await writeActivities(messages().slice(0, 3), {
			api,
			idempotency: EXTERNAL_ID,
		});
		expect(results.map((result) => result.outcome)).toEqual(['created', 'created', 'created']);
		expect(collectionCalls('PATCH')).toBe(2);
		expect(fake.records('Task')).toHaveLength(3);
	});

	it('externalIdField: after a failed upsert, running the items again writes each Task once', async () => {
		await startFake();
		fake.failNext(
			{ method: 'PATCH', pathIncludes: '/composite/sobjects/Task/' },
			{ status: 500, body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'boom' }] },
		);
		const items = messages().slice(0, 3);
		const first = await writeActivities(items, { api, idempotency: EXTERNAL_ID });
		expect(first[0].errors?.[0]).toMatchObject({ code: 'UNKNOWN_EXCEPTION' });
		const second = await writeActivities(items, { api, idempotency: EXTERNAL_ID });
		const third = await writeActivities(items, { api, idempotency: EXTERNAL_ID });
		expect(second.map((result) => result.outcome)).toEqual(['created', 'created', 'created']);
		expect(third.map((result) => [result.outcome, result.taskId])).toEqual(
			second.map((result) => ['duplicate', result.taskId]),
		);
		expect(fake.records('Task')).toHaveLength(3);
	});

	it.each([
		['externalIdField', EXTERNAL_ID],
		['descriptionKey', DESCRIPTION_KEY],
	] as const)(
		'%s: per-record INVALID_FIELD errors fail only those items',
		async (_mode, idempotency) => {
			await startFake();
			const items = messages().slice(0, 4);
			items[1] = { ...items[1], taskFields: { Not_A_Field__c: 'x' } };
			items[2] = { ...items[2], taskFields: { Other_Missing__c: 1 } };
			const results = await writeActivities(items, { api, idempotency });
			expect(results.map((result) => result.outcome)).toEqual([
				'created',
				'failed',
				'failed',
				'created',
			]);
			expect(results[1].errors).toEqual([
				{
					code: 'INVALID_FIELD',
					message: "No such column 'Not_A_Field__c' on sobject of type Task",
					fields: ['Not_A_Field__c'],
				},
			]);
			expect(fake.records('Task')).toHaveLength(2);
		},
	);

	it.each([
		['externalIdField', EXTERNAL_ID],
		['descriptionKey', DESCRIPTION_KEY],
	] as const)(
		'%s: record updates and CampaignMember statuses land; a non-member is notAMember',
		async (_mode, idempotency) => {
			await startFake();
			const contactMember = fake.insert('CampaignMember', {
				CampaignId: campaign,
				ContactId: contacts[0],
				Status: 'Sent',
			});
			const leadMember = fake.insert('CampaignMember', {
				CampaignId: campaign,
				LeadId: lead,
				Status: 'Sent',
			});
			const followUps = {
				recordUpdate: { Last_Message_Date__c: '2026-11-23' },
				campaignMemberStatus: { campaignId: campaign, status: 'Responded' },
			};
			const items: ActivityItem[] = [
				{ whoId: contacts[0], subject: 'Email', idempotencyKey: 'm-1', ...followUps },
				{ whoId: lead, subject: 'Email', idempotencyKey: 'm-2', ...followUps },
				{ whoId: contacts[1], subject: 'Email', idempotencyKey: 'm-3', ...followUps },
			];
			const results = await writeActivities(items, { api, idempotency });
			expect(
				results.map((result) => [result.outcome, result.recordUpdate, result.campaignMemberStatus]),
			).toEqual([
				['created', 'updated', 'updated'],
				['created', 'updated', 'updated'],
				['created', 'updated', 'notAMember'],
			]);
			const byId = (object: string) =>
				new Map(fake.records(object).map((record) => [record.Id as string, record]));
			expect(byId('Contact').get(contacts[0])?.Last_Message_Date__c).toBe('2026-11-23');
			expect(byId('Contact').get(contacts[1])?.Last_Message_Date__c).toBe('2026-11-23');
			expect(byId('Lead').get(lead)?.Last_Message_Date__c).toBe('2026-11-23');
			expect(byId('Contact').get(contacts[2])?.Last_Message_Date__c ?? null).toBeNull();
			expect(byId('CampaignMember').get(contactMember)?.Status).toBe('Responded');
			expect(byId('CampaignMember').get(leadMember)?.Status).toBe('Responded');
			expect(fake.records('CampaignMember')).toHaveLength(2);
		},
	);

	it('reports a record update Salesforce rejects without failing the Task', async () => {
		await startFake();
		const [result] = await writeActivities(
			[
				{
					whoId: contacts[0],
					subject: 'Email',
					idempotencyKey: 'm-1',
					recordUpdate: { No_Such__c: 1 },
				},
			],
			{ api, idempotency: EXTERNAL_ID },
		);
		expect(result).toMatchObject({
			outcome: 'created',
			recordUpdate: 'failed',
			errors: [{ code: 'INVALID_FIELD', fields: ['No_Such__c'] }],
		});
		expect(fake.records('Task')).toHaveLength(1);
	});

	it('fails every item, naming the field, when the external id field does not exist', async () => {
		await startFake();
		const results = await writeActivities(messages().slice(0, 2), {
			api,
			idempotency: { mode: 'externalIdField', field: 'Missing_Key__c' },
		});
		expect(results.map((result) => result.outcome)).toEqual(['failed', 'failed']);
		expect(results[0].errors?.[0]).toMatchObject({ code: 'NOT_FOUND' });
		expect(results[0].errors?.[0].message).toMatch(/Missing_Key__c/);
		expect(fake.records('Task')).toHaveLength(0);
	});
});
