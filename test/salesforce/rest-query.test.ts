/** REST query paging (query / queryMore / queryAll) against the fake through the real client. */
import { SalesforceApiError } from '../../src/salesforce/api/errors';
import { SalesforceApi } from '../../src/salesforce/api/salesforce-api';
import type { SalesforceRecord } from '../../src/salesforce/api/types';
import { clearSalesforceTokenCache, passwordSession } from '../../src/salesforce/auth/sessions';
import { describeFieldTypes } from '../../src/salesforce/describe';
import { runRestQuery, type RestQueryOptions } from '../../src/salesforce/rest-query';
import { FakeSalesforce, type FakeSalesforceOptions } from '../support/fake-salesforce';

delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

const T0 = Date.parse('2026-11-23T09:00:00Z');
const APP = { clientId: 'rest-test-app', clientSecret: 'rest-test-secret' };
const USER = { username: 'rest@acme.example', password: 'pw' };

let fake: FakeSalesforce;
let api: SalesforceApi;
let accountId: string;

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
			Email: { type: 'email' },
			Seats__c: { type: 'int' },
			Active__c: { type: 'boolean' },
			Last_Login__c: { type: 'datetime' },
			AccountId: { type: 'reference', referenceTo: 'Account', relationshipName: 'Account' },
		},
	});
	const owner = fake.insert('User', { Name: 'Olga' });
	accountId = fake.insert('Account', { Name: 'Zoë 東京 Ñandú', OwnerId: owner });
	api = new SalesforceApi({
		session: passwordSession({ loginUrl: fake.url, ...APP, ...USER }),
		apiVersion: '62.0',
	});
}

afterEach(async () => {
	await fake.close();
});

function addContacts(count: number): string[] {
	const ids: string[] = [];
	for (let index = 0; index < count; index++) {
		ids.push(
			fake.insert('Contact', {
				Email: `user${index}@example.com`,
				Seats__c: index,
				Active__c: index % 2 === 0,
			}),
		);
	}
	return ids;
}

async function readPages(
	soql: string,
	options: RestQueryOptions = {},
): Promise<{ pages: number[]; totals: number[]; records: SalesforceRecord[] }> {
	const pages: number[] = [];
	const totals: number[] = [];
	const records: SalesforceRecord[] = [];
	for await (const page of runRestQuery(api, soql, options)) {
		pages.push(page.records.length);
		totals.push(page.totalSize);
		records.push(...page.records);
	}
	return { pages, totals, records };
}

const queryRequests = () =>
	fake.requests.filter((request) => /\/services\/data\/v62\.0\/query/.test(request.path));

describe('runRestQuery', () => {
	it('pages through 5,001 rows 2,000 at a time, following nextRecordsUrl', async () => {
		await startFake({ queryPageSize: 500 });
		const ids = addContacts(5_001);
		const { pages, totals, records } = await readPages('SELECT Id, Seats__c FROM Contact', {
			batchSize: 2_000,
		});
		expect(pages).toEqual([2_000, 2_000, 1_001]);
		expect(totals).toEqual([5_001, 5_001, 5_001]);
		expect(records.map((record) => record.Id).sort()).toEqual([...ids].sort());
		expect(new Set(records.map((record) => record.Id)).size).toBe(5_001);
		const paths = queryRequests().map((request) => request.path);
		expect(paths[0]).toMatch(/^\/services\/data\/v62\.0\/query\?q=SELECT/);
		expect(paths.slice(1)).toEqual([
			expect.stringMatching(/^\/services\/data\/v62\.0\/query\/01g\w+-2000$/),
			expect.stringMatching(/^\/services\/data\/v62\.0\/query\/01g\w+-4000$/),
		]);
	});

	it('clamps batchSize to Salesforce’s 200..2000 and uses the org’s default without it', async () => {
		await startFake({ queryPageSize: 300 });
		addContacts(450);
		expect((await readPages('SELECT Id FROM Contact', { batchSize: 50 })).pages).toEqual([
			200, 200, 50,
		]);
		expect((await readPages('SELECT Id FROM Contact', { batchSize: 9_999 })).pages).toEqual([450]);
		expect((await readPages('SELECT Id FROM Contact')).pages).toEqual([300, 150]);
	});

	it('reads one page at a time: nothing is fetched before the consumer asks', async () => {
		await startFake({ queryPageSize: 200 });
		addContacts(1_000);
		const pages = runRestQuery(api, 'SELECT Id FROM Contact');
		const first = await pages.next();
		expect(first.value).toMatchObject({ totalSize: 1_000 });
		expect(queryRequests()).toHaveLength(1);
		await pages.next();
		expect(queryRequests()).toHaveLength(2);
		await pages.return(undefined);
		expect(queryRequests()).toHaveLength(2);
	});

	it('queryAll sees deleted rows; query does not', async () => {
		await startFake();
		const ids = addContacts(10);
		fake.delete('Contact', ids[2]);
		fake.delete('Contact', ids[7]);
		const live = await readPages('SELECT Id, IsDeleted FROM Contact');
		expect(live.records).toHaveLength(8);
		const all = await readPages('SELECT Id, IsDeleted FROM Contact', { all: true });
		expect(all.records).toHaveLength(10);
		expect(all.records.filter((record) => record.IsDeleted === true).map((r) => r.Id)).toEqual([
			ids[2],
			ids[7],
		]);
		expect(fake.requests.some((request) => request.path.includes('/queryAll?q='))).toBe(true);
	});

	it('flattens relationships, keeps REST types and normalises datetimes', async () => {
		await startFake();
		const withAccount = fake.insert('Contact', {
			Email: 'a@example.com',
			Seats__c: 3,
			Active__c: true,
			Last_Login__c: T0,
			AccountId: accountId,
		});
		const without = fake.insert('Contact', { Email: null, Seats__c: null, Active__c: false });
		const fields = [
			'Id',
			'Email',
			'Seats__c',
			'Active__c',
			'Last_Login__c',
			'Account.Name',
			'Account.Owner.Name',
			'SystemModstamp',
		];
		const fieldTypes = await describeFieldTypes(api, 'Contact', fields);
		const { records } = await readPages(`SELECT ${fields.join(', ')} FROM Contact ORDER BY Id`, {
			fieldTypes,
		});
		expect(records).toEqual([
			{
				Id: withAccount,
				Email: 'a@example.com',
				Seats__c: 3,
				Active__c: true,
				Last_Login__c: '2026-11-23T09:00:00.000Z',
				'Account.Name': 'Zoë 東京 Ñandú',
				'Account.Owner.Name': 'Olga',
				SystemModstamp: '2026-11-23T09:00:00.000Z',
			},
			{
				Id: without,
				Email: null,
				Seats__c: null,
				Active__c: false,
				Last_Login__c: null,
				SystemModstamp: '2026-11-23T09:00:00.000Z',
			},
		]);
	});

	it('shows the SOQL in a query error', async () => {
		await startFake();
		const soql = 'SELECT Id, Nope__c FROM Contact';
		const error = await readPages(soql).catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(SalesforceApiError);
		expect((error as Error).message).toContain(`SOQL: ${soql}`);
	});
});
