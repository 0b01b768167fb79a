/**
 * The Bulk API 2.0 query driver against the fake Salesforce through the real API client:
 * locator paging, CSV edge cases, equality with the REST read, failures, backoff, cleanup.
 */
import { SalesforceApi } from '../../src/salesforce/api/salesforce-api';
import type {
	ApiRequest,
	ApiResponse,
	SalesforceRecord,
	SalesforceRequester,
	SyncLogger,
} from '../../src/salesforce/api/types';
import { clearSalesforceTokenCache, passwordSession } from '../../src/salesforce/auth/sessions';
import {
	BulkQueryFailedError,
	runBulkQuery,
	type BulkQueryOptions,
} from '../../src/salesforce/bulk/bulk-query';
import { describeFieldTypes } from '../../src/salesforce/describe';
import { getField, type FieldTypes } from '../../src/salesforce/records';
import { runRestQuery } from '../../src/salesforce/rest-query';
import { FakeSalesforce, type FakeSalesforceOptions } from '../support/fake-salesforce';

delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

const T0 = Date.parse('2026-11-23T09:00:00Z');
const APP = { clientId: 'bulk-test-app', clientSecret: 'bulk-test-secret' };
const USER = { username: 'bulk@acme.example', password: 'pw' };
const CONTACTS = 50;

const FIELDS = [
	'Id',
	'FirstName',
	'Email',
	'Notes__c',
	'Seats__c',
	'Score__c',
	'Active__c',
	'Trial_End__c',
	'Last_Login__c',
	'Account.Name',
	'Account.Owner.Name',
	'SystemModstamp',
];
const SOQL = `SELECT ${FIELDS.join(', ')} FROM Contact ORDER BY Id`;

const TRICKY_NAMES = [
	'Zoë 東京 Ñandú',
	'Comma, "Quoted"',
	'multi\nline\r\nnote',
	'"starts and ends with quotes"',
	'🙂',
];

let fake: FakeSalesforce;
let api: SalesforceApi;
let contactIds: string[];

async function startFake(options: FakeSalesforceOptions = {}): Promise<void> {
	clearSalesforceTokenCache();
	fake = await FakeSalesforce.start({ now: T0, ...options });
	fake.addConnectedApp(APP);
	fake.addUser(USER);
	fake.defineObject({ name: 'User', fields: { Name: { type: 'string' } } });
	fake.defineObject({
		name: 'Account',
		fields: {
			Name: { type: 'string' },
			OwnerId: { type: 'reference', referenceTo: 'User', relationshipName: 'Owner' },
		},
	});
	fake.defineObject({
		name: 'Contact',
		fields: {
			FirstName: { type: 'string' },
			Email: { type: 'email' },
			Notes__c: { type: 'textarea', filterable: false },
			Seats__c: { type: 'int' },
			Score__c: { type: 'double' },
			Active__c: { type: 'boolean' },
			Trial_End__c: { type: 'date' },
			Last_Login__c: { type: 'datetime' },
			AccountId: { type: 'reference', referenceTo: 'Account', relationshipName: 'Account' },
		},
	});
	const owner = fake.insert('User', { Name: 'Olga Ölund' });
	const accounts = [
		fake.insert('Account', { Name: 'Acme, Inc. "東京"', OwnerId: owner }),
		fake.insert('Account', { Name: 'No Owner Ltd' }),
	];
	contactIds = [];
	for (let index = 0; index < CONTACTS; index++) {
		contactIds.push(
			fake.insert('Contact', {
				FirstName: TRICKY_NAMES[index % TRICKY_NAMES.length] + ` ${index}`,
				Email: index % 4 === 0 ? null : `user${index}@example.com`,
				Notes__c: index % 3 === 0 ? null : `note, ${index}\n"second" line`,
				Seats__c: index % 6 === 0 ? null : index,
				Score__c: index % 7 === 0 ? null : index / 4,
				Active__c: index % 2 === 0,
				Trial_End__c: index % 5 === 0 ? null : '2026-12-0' + (1 + (index % 9)),
				Last_Login__c: index % 8 === 0 ? null : T0 - index * 3_600_000,
				AccountId: index % 5 === 0 ? null : accounts[index % 2],
			}),
		);
	}
	api = new SalesforceApi({
		session: passwordSession({ loginUrl: fake.url, ...APP, ...USER }),
		apiVersion: '62.0',
	});
}

afterEach(async () => {
	await fake.close();
});

/** Records every streamed response body, to see that early exit destroys it. */
function watchingStreams(inner: SalesforceRequester): SalesforceRequester & {
	responses: ApiResponse[];
} {
	const responses: ApiResponse[] = [];
	return {
		apiVersion: inner.apiVersion,
		responses,
		async request(request: ApiRequest) {
			const response = await inner.request(request);
			if (response.stream) responses.push(response);
			return response;
		},
	};
}

function recordingLogger(): SyncLogger & { lines: Array<[string, string, unknown]> } {
	const lines: Array<[string, string, unknown]> = [];
	return {
		lines,
		debug: (message, meta) => lines.push(['debug', message, meta]),
		info: (message, meta) => lines.push(['info', message, meta]),
		warn: (message, meta) => lines.push(['warn', message, meta]),
	};
}

const instantSleep = () => Promise.resolve();

async function readBulk(
	soql: string,
	options: Omit<BulkQueryOptions, 'fieldTypes'> & { fieldTypes?: FieldTypes },
	requester: SalesforceRequester = api,
): Promise<{ records: SalesforceRecord[]; batches: number[] }> {
	const fieldTypes = options.fieldTypes ?? (await describeFieldTypes(api, 'Contact', FIELDS));
	const records: SalesforceRecord[] = [];
	const batches: number[] = [];
	for await (const batch of runBulkQuery(requester, soql, {
		sleep: instantSleep,
		...options,
		fieldTypes,
	})) {
		batches.push(batch.length);
		records.push(...batch);
	}
	return { records, batches };
}

/** The requested paths of a record, a missing one (REST's null relationship) as null. */
function project(record: SalesforceRecord, paths: string[]): SalesforceRecord {
	return Object.fromEntries(paths.map((path) => [path, getField(record, path) ?? null]));
}

const bulkRequests = (part: string) =>
	fake.requests.filter((request) => request.path.includes(part));

describe('runBulkQuery', () => {
	it('reads every page by locator and gives the same records as the REST read', async () => {
		await startFake();
		const logger = recordingLogger();
		const { records, batches } = await readBulk(SOQL, {
			maxRecordsPerPage: 7,
			batchSize: 5,
			logger,
		});

		expect(records).toHaveLength(CONTACTS);
		expect(records.map((record) => record.Id)).toEqual([...contactIds].sort());
		expect(Math.max(...batches)).toBeLessThanOrEqual(5);

		const pages = bulkRequests('/results');
		expect(pages).toHaveLength(Math.ceil(CONTACTS / 7));
		expect(pages[0].path).toMatch(/maxRecords=7$/);
		for (const page of pages.slice(1)) expect(page.path).toMatch(/maxRecords=7&locator=\w+/);

		const fieldTypes = await describeFieldTypes(api, 'Contact', FIELDS);
		const rest: SalesforceRecord[] = [];
		for await (const page of runRestQuery(api, SOQL, { fieldTypes })) rest.push(...page.records);
		expect(rest).toHaveLength(CONTACTS);
		expect(records.map((record) => project(record, FIELDS))).toEqual(
			rest.map((record) => project(record, FIELDS)),
		);
		// Bulk gives every column; nothing beyond them.
		expect(Object.keys(records[0]).sort()).toEqual([...FIELDS].sort());

		const jobId = (
			logger.lines.find(([, message]) => message.includes('created'))![2] as {
				jobId: string;
			}
		).jobId;
		expect(jobId).toMatch(/^750/);
		expect(logger.lines).toContainEqual([
			'info',
			`Salesforce bulk query job ${jobId}: read ${CONTACTS} records in 8 results page(s)`,
			{ jobId, records: CONTACTS, pages: 8 },
		]);
	});

	it('types values, keeps tricky text and gives relationship columns', async () => {
		await startFake();
		const { records } = await readBulk(SOQL, { maxRecordsPerPage: 7 });
		const byId = new Map(records.map((record) => [record.Id, record]));

		const first = byId.get(contactIds[0])!;
		expect(first).toMatchObject({
			FirstName: 'Zoë 東京 Ñandú 0',
			Email: null,
			Notes__c: null,
			Seats__c: null,
			Score__c: null,
			Active__c: true,
			Trial_End__c: null,
			Last_Login__c: null,
			'Account.Name': null,
			'Account.Owner.Name': null,
			SystemModstamp: new Date(T0).toISOString(),
		});
		expect(byId.get(contactIds[1])).toMatchObject({
			FirstName: 'Comma, "Quoted" 1',
			Email: 'user1@example.com',
			Notes__c: 'note, 1\n"second" line',
			Seats__c: 1,
			Score__c: 0.25,
			Active__c: false,
			Trial_End__c: '2026-12-02',
			Last_Login__c: new Date(T0 - 3_600_000).toISOString(),
			'Account.Name': 'No Owner Ltd',
			'Account.Owner.Name': null,
		});
		expect(byId.get(contactIds[2])).toMatchObject({
			FirstName: 'multi\nline\r\nnote 2',
			'Account.Name': 'Acme, Inc. "東京"',
			'Account.Owner.Name': 'Olga Ölund',
		});
		expect(byId.get(contactIds[3])!.FirstName).toBe('"starts and ends with quotes" 3');
		expect(byId.get(contactIds[4])!.FirstName).toBe('🙂 4');
	});

	it('polls with exponential backoff up to the maximum interval', async () => {
		await startFake({ bulkPollsUntilComplete: 7 });
		const sleeps: number[] = [];
		const { records } = await readBulk(SOQL, {
			sleep: (ms) => {
				sleeps.push(ms);
				return Promise.resolve();
			},
		});
		expect(records).toHaveLength(CONTACTS);
		expect(sleeps).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
		expect(bulkRequests('/jobs/query/').filter((request) => request.method === 'GET')).toHaveLength(
			7 + 1,
		);

		sleeps.length = 0;
		await readBulk(SOQL, {
			pollIntervalMs: 250,
			maxPollIntervalMs: 1_500,
			sleep: (ms) => {
				sleeps.push(ms);
				return Promise.resolve();
			},
		});
		expect(sleeps).toEqual([250, 500, 1_000, 1_500, 1_500, 1_500]);
	});

	it("surfaces a failed job's errorMessage with the SOQL, and leaves the job alone", async () => {
		await startFake();
		fake.failBulkJob('Query timeout: the query took longer than 10 minutes');
		const error = await readBulk(SOQL, {}).catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(BulkQueryFailedError);
		expect(error).toMatchObject({ code: 'salesforce_bulk_failed', reason: 'failed' });
		expect((error as Error).message).toMatch(
			/^Salesforce bulk query job 750\w+ ended Failed: Query timeout: the query took longer than 10 minutes\nSOQL: SELECT Id, FirstName/,
		);
		expect(fake.requests.filter((request) => ['PATCH', 'DELETE'].includes(request.method))).toEqual(
			[],
		);
	});

	it('gives up after the timeout, naming the job, and aborts it', async () => {
		await startFake({ bulkPollsUntilComplete: 1_000 });
		const error = await readBulk(SOQL, { timeoutMs: 20_000 }).catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(BulkQueryFailedError);
		const { jobId } = error as BulkQueryFailedError;
		expect(error).toMatchObject({ reason: 'timeout' });
		expect((error as Error).message).toContain(
			`Salesforce bulk query job ${jobId} did not complete within 20 s (still InProgress`,
		);
		expect(bulkRequests(`/jobs/query/${jobId}`).at(-1)).toMatchObject({
			method: 'PATCH',
			status: 200,
		});
	});

	it('queryAll sees deleted rows; query does not', async () => {
		await startFake();
		for (const id of contactIds.slice(0, 3)) fake.delete('Contact', id);
		const soql = 'SELECT Id, IsDeleted FROM Contact';
		const fieldTypes = await describeFieldTypes(api, 'Contact', ['Id', 'IsDeleted']);

		const live = await readBulk(soql, { fieldTypes });
		expect(live.records).toHaveLength(CONTACTS - 3);
		expect(live.records.every((record) => record.IsDeleted === false)).toBe(true);

		const all = await readBulk(soql, { fieldTypes, operation: 'queryAll' });
		expect(all.records).toHaveLength(CONTACTS);
		expect(
			all.records
				.filter((record) => record.IsDeleted === true)
				.map((record) => record.Id)
				.sort(),
		).toEqual(contactIds.slice(0, 3).sort());
	});

	it('on early exit destroys the response stream, reads no further page and cleans the job up', async () => {
		await startFake();
		const requester = watchingStreams(api);
		const fieldTypes = await describeFieldTypes(api, 'Contact', FIELDS);
		const logger = recordingLogger();
		for await (const batch of runBulkQuery(requester, SOQL, {
			fieldTypes,
			maxRecordsPerPage: 20,
			batchSize: 5,
			sleep: instantSleep,
			logger,
		})) {
			expect(batch).toHaveLength(5);
			break;
		}
		expect(requester.responses).toHaveLength(1);
		expect(requester.responses[0].stream!.destroyed).toBe(true);
		expect(bulkRequests('/results')).toHaveLength(1);
		// The job was complete (it cannot be aborted then), so its stored results are deleted.
		const last = fake.requests.at(-1)!;
		expect(last).toMatchObject({ method: 'DELETE', status: 204 });
		expect(last.path).toMatch(/^\/services\/data\/v62\.0\/jobs\/query\/750\w+$/);
		expect(logger.lines.some(([, message]) => /stopped early; job deleted/.test(message))).toBe(
			true,
		);
	});

	it('cleans up as well when the consumer throws', async () => {
		await startFake();
		const fieldTypes = await describeFieldTypes(api, 'Contact', FIELDS);
		await expect(
			(async () => {
				for await (const batch of runBulkQuery(api, SOQL, {
					fieldTypes,
					batchSize: 10,
					sleep: instantSleep,
				})) {
					if (batch.length > 0) throw new Error('store is down');
				}
			})(),
		).rejects.toThrow('store is down');
		expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', status: 204 });
	});

	it('aborts a running job when the signal fires while polling', async () => {
		await startFake({ bulkPollsUntilComplete: 50 });
		const controller = new AbortController();
		let sleeps = 0;
		const error = await readBulk(SOQL, {
			signal: controller.signal,
			sleep: () => {
				if (++sleeps === 2) controller.abort(new Error('workflow stopped'));
				return Promise.resolve();
			},
		}).catch((caught: unknown) => caught);
		expect((error as Error).message).toBe('workflow stopped');
		const last = fake.requests.at(-1)!;
		expect(last).toMatchObject({ method: 'PATCH', status: 200 });
		expect(bulkRequests('/results')).toHaveLength(0);
	});

	it('ignores a failing cleanup and still reports the original error', async () => {
		await startFake({ bulkPollsUntilComplete: 50 });
		fake.failNext(
			{ method: 'PATCH' },
			{ status: 500, body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'x' }] },
		);
		const logger = recordingLogger();
		const error = await readBulk(SOQL, { timeoutMs: 2_500, logger }).catch(
			(caught: unknown) => caught,
		);
		expect(error).toMatchObject({ reason: 'timeout' });
		expect(
			logger.lines.some(
				([level, message]) => level === 'warn' && /Could not clean up/.test(message),
			),
		).toBe(true);
	});

	it('ends at a missing locator header and ignores Sforce-NumberOfRecords', async () => {
		const requests: ApiRequest[] = [];
		const pages: Array<{ headers: Record<string, string>; csv: string }> = [
			{ headers: { 'sforce-locator': 'PAGE2', 'sforce-numberofrecords': '0' }, csv: '"Id"\n"a"\n' },
			{ headers: {}, csv: '"Id"\n"b"\n"c"\n' },
		];
		const scripted: SalesforceRequester = {
			apiVersion: '62.0',
			request(request): Promise<ApiResponse> {
				requests.push(request);
				if (request.method === 'POST')
					return Promise.resolve({ status: 200, headers: {}, json: { id: '750X' } });
				if (request.path === '/jobs/query/750X')
					return Promise.resolve({ status: 200, headers: {}, json: { state: 'JobComplete' } });
				const page = pages.shift()!;
				// A requester that did not stream gives the text; the driver reads that as well.
				return Promise.resolve({ status: 200, headers: page.headers, text: page.csv });
			},
		};
		const records: SalesforceRecord[] = [];
		for await (const batch of runBulkQuery(scripted, 'SELECT Id FROM Contact', {
			fieldTypes: new Map(),
			maxRecordsPerPage: 1,
			sleep: instantSleep,
		}))
			records.push(...batch);
		expect(records).toEqual([{ Id: 'a' }, { Id: 'b' }, { Id: 'c' }]);
		expect(requests[0]).toMatchObject({
			method: 'POST',
			path: '/jobs/query',
			body: { operation: 'query', query: 'SELECT Id FROM Contact' },
			retrySafe: true,
		});
		expect(requests.slice(2)).toEqual([
			expect.objectContaining({
				path: '/jobs/query/750X/results',
				query: { maxRecords: 1, locator: undefined },
				headers: { Accept: 'text/csv' },
				stream: true,
			}),
			expect.objectContaining({ query: { maxRecords: 1, locator: 'PAGE2' } }),
		]);
	});
});
