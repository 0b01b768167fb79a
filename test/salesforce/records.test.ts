/** Record normalisation (REST JSON and Bulk CSV to one shape) and field kinds from describe. */
import { InvalidInputError } from '../../src/errors';
import { SalesforceApiError } from '../../src/salesforce/api/errors';
import type { ApiRequest, SalesforceRequester } from '../../src/salesforce/api/types';
import { closeMatches, describeFieldTypes } from '../../src/salesforce/describe';
import {
	coerceCsvRecord,
	fieldKind,
	flattenRestRecord,
	getField,
	normaliseDatetime,
	readModstamp,
	type FieldTypes,
} from '../../src/salesforce/records';

const types: FieldTypes = new Map([
	['id', 'string'],
	['email', 'string'],
	['seats__c', 'number'],
	['score__c', 'number'],
	['active__c', 'boolean'],
	['trial_end__c', 'string'],
	['last_login__c', 'datetime'],
	['account.name', 'string'],
	['account.owner.name', 'string'],
	['systemmodstamp', 'datetime'],
]);

describe('flattenRestRecord', () => {
	it('drops attributes and flattens nested relationships to dotted keys', () => {
		const flat = flattenRestRecord({
			attributes: { type: 'Contact', url: '/services/data/v62.0/sobjects/Contact/003' },
			Id: '003000000000001AAA',
			Seats__c: 5,
			Active__c: false,
			Email: null,
			Account: {
				attributes: { type: 'Account' },
				Name: 'Acme',
				Owner: { attributes: { type: 'User' }, Name: 'Olga' },
			},
		});
		expect(flat).toEqual({
			Id: '003000000000001AAA',
			Seats__c: 5,
			Active__c: false,
			Email: null,
			'Account.Name': 'Acme',
			'Account.Owner.Name': 'Olga',
		});
	});

	it('gives no keys for a null relationship, with or without field types', () => {
		const record = { attributes: {}, Id: '003', Email: null, Account: null };
		expect(flattenRestRecord(record)).toEqual({ Id: '003', Email: null });
		expect(flattenRestRecord(record, types)).toEqual({ Id: '003', Email: null });
		expect(flattenRestRecord({ Id: '003', Plan__r: null, Custom__c: null })).toEqual({
			Id: '003',
			Custom__c: null,
		});
		// A nested null relationship: its fields are simply absent.
		expect(flattenRestRecord({ Id: '003', Account: { Name: 'Acme', Owner: null } }, types)).toEqual(
			{ Id: '003', 'Account.Name': 'Acme' },
		);
	});

	it('normalises datetime fields and SystemModstamp to ISO instants', () => {
		const flat = flattenRestRecord(
			{
				Last_Login__c: '2026-11-23T10:00:00.000+0000',
				Trial_End__c: '2026-11-30',
				SystemModstamp: '2026-11-23T11:30:00.000+0100',
			},
			types,
		);
		expect(flat).toEqual({
			Last_Login__c: '2026-11-23T10:00:00.000Z',
			Trial_End__c: '2026-11-30',
			SystemModstamp: '2026-11-23T10:30:00.000Z',
		});
		// Without types, SystemModstamp is still normalised.
		expect(flattenRestRecord({ SystemModstamp: '2026-11-23T10:00:00.000+0000' })).toEqual({
			SystemModstamp: '2026-11-23T10:00:00.000Z',
		});
	});

	it('tolerates non-objects and skips child subquery arrays', () => {
		expect(flattenRestRecord(null)).toEqual({});
		expect(flattenRestRecord('x')).toEqual({});
		expect(flattenRestRecord({ Id: '1', Contacts: [{ Id: '2' }] })).toEqual({ Id: '1' });
	});
});

describe('coerceCsvRecord', () => {
	it('types CSV text by field kind; empty is null; dates stay text', () => {
		const record = coerceCsvRecord(
			{
				Id: '003000000000001AAA',
				Email: '',
				Seats__c: '12',
				Score__c: '4.25',
				Active__c: 'true',
				Trial_End__c: '2026-11-30',
				Last_Login__c: '2026-11-23T10:00:00.000Z',
				'Account.Name': 'Acme, Inc.',
				'Account.Owner.Name': '',
				SystemModstamp: '2026-11-23T10:00:00.000+0000',
			},
			types,
		);
		expect(record).toEqual({
			Id: '003000000000001AAA',
			Email: null,
			Seats__c: 12,
			Score__c: 4.25,
			Active__c: true,
			Trial_End__c: '2026-11-30',
			Last_Login__c: '2026-11-23T10:00:00.000Z',
			'Account.Name': 'Acme, Inc.',
			'Account.Owner.Name': null,
			SystemModstamp: '2026-11-23T10:00:00.000Z',
		});
	});

	it('looks kinds up case-insensitively and keeps unreadable values as text', () => {
		const record = coerceCsvRecord(
			{ ACTIVE__C: 'false', seats__C: 'n/a', Unknown__c: '7', Active__c: 'maybe' },
			types,
		);
		expect(record).toEqual({
			ACTIVE__C: false,
			seats__C: 'n/a',
			Unknown__c: '7',
			Active__c: 'maybe',
		});
	});

	it('gives the same record as the REST read of the same row', () => {
		const rest = flattenRestRecord(
			{
				attributes: { type: 'Contact' },
				Id: '003',
				Email: null,
				Seats__c: 3,
				Active__c: true,
				Last_Login__c: '2026-11-23T10:00:00.000+0000',
				Account: { attributes: {}, Name: 'Zoë 東京', Owner: { Name: 'Ñandú' } },
			},
			types,
		);
		const bulk = coerceCsvRecord(
			{
				Id: '003',
				Email: '',
				Seats__c: '3',
				Active__c: 'true',
				Last_Login__c: '2026-11-23T10:00:00.000Z',
				'Account.Name': 'Zoë 東京',
				'Account.Owner.Name': 'Ñandú',
			},
			types,
		);
		expect(bulk).toEqual(rest);
	});
});

describe('helpers', () => {
	it('getField matches paths case-insensitively; missing is undefined', () => {
		const record = { 'Account.Name': 'Acme', Email: null };
		expect(getField(record, 'account.name')).toBe('Acme');
		expect(getField(record, 'Account.Name')).toBe('Acme');
		expect(getField(record, 'EMAIL')).toBeNull();
		expect(getField(record, 'Account.Owner.Name')).toBeUndefined();
		expect(getField(record, 'toString')).toBeUndefined();
	});

	it('readModstamp reads either spelling and format, 0 when missing', () => {
		expect(readModstamp({ SystemModstamp: '2026-11-23T10:00:00.000Z' })).toBe(
			Date.parse('2026-11-23T10:00:00Z'),
		);
		expect(readModstamp({ systemmodstamp: '2026-11-23T10:00:00.000+0000' })).toBe(
			Date.parse('2026-11-23T10:00:00Z'),
		);
		expect(readModstamp({})).toBe(0);
		expect(readModstamp({ SystemModstamp: 'garbage' })).toBe(0);
	});

	it('normaliseDatetime leaves non-datetimes alone', () => {
		expect(normaliseDatetime('2026-11-23T10:00:00.000-0500')).toBe('2026-11-23T15:00:00.000Z');
		expect(normaliseDatetime('not a date')).toBe('not a date');
	});

	it('fieldKind is case-insensitive and knows SystemModstamp', () => {
		expect(fieldKind(types, 'SEATS__C')).toBe('number');
		expect(fieldKind(undefined, 'SystemModstamp')).toBe('datetime');
		expect(fieldKind(types, 'Nope')).toBeUndefined();
	});
});

// ---- describe

const describes: Record<string, Array<Record<string, unknown>>> = {
	Contact: [
		{ name: 'Id', type: 'id' },
		{ name: 'Email', type: 'email' },
		{ name: 'Trial_End__c', type: 'date' },
		{ name: 'Trial_Status__c', type: 'picklist' },
		{ name: 'Last_Login__c', type: 'datetime' },
		{ name: 'Seats__c', type: 'double' },
		{ name: 'Active__c', type: 'boolean' },
		{ name: 'Employees__c', type: 'int' },
		{ name: 'SystemModstamp', type: 'datetime' },
		{ name: 'AccountId', type: 'reference', relationshipName: 'Account', referenceTo: ['Account'] },
	],
	Account: [
		{ name: 'Id', type: 'id' },
		{ name: 'Name', type: 'string' },
		{ name: 'AnnualRevenue', type: 'currency' },
		{ name: 'OwnerId', type: 'reference', relationshipName: 'Owner', referenceTo: ['User'] },
	],
	User: [
		{ name: 'Id', type: 'id' },
		{ name: 'Name', type: 'string' },
	],
};

function describeApi(): SalesforceRequester & { requests: ApiRequest[] } {
	const requests: ApiRequest[] = [];
	return {
		apiVersion: '62.0',
		requests,
		request(request) {
			requests.push(request);
			const match = /^\/sobjects\/([^/]+)\/describe$/.exec(request.path);
			const object = match && Object.keys(describes).find((name) => name === match[1]);
			if (!object) {
				return Promise.reject(
					new SalesforceApiError(
						404,
						'NOT_FOUND',
						'The requested resource does not exist',
						`GET ${request.path}`,
					),
				);
			}
			return Promise.resolve({
				status: 200,
				headers: {},
				json: { name: object, fields: describes[object] },
			});
		},
	};
}

describe('describeFieldTypes', () => {
	it('maps describe types to kinds, following relationships, each object described once', async () => {
		const api = describeApi();
		const kinds = await describeFieldTypes(api, 'Contact', [
			'Email',
			'trial_end__c',
			'Last_Login__c',
			'Seats__c',
			'Active__c',
			'Employees__c',
			'Account.Name',
			'Account.AnnualRevenue',
			'Account.Owner.Name',
		]);
		expect(Object.fromEntries(kinds)).toEqual({
			id: 'string',
			isdeleted: 'boolean',
			systemmodstamp: 'datetime',
			email: 'string',
			trial_end__c: 'string',
			last_login__c: 'datetime',
			seats__c: 'number',
			active__c: 'boolean',
			employees__c: 'number',
			'account.name': 'string',
			'account.annualrevenue': 'number',
			'account.owner.name': 'string',
		});
		expect(api.requests.map((request) => request.path)).toEqual([
			'/sobjects/Contact/describe',
			'/sobjects/Account/describe',
			'/sobjects/User/describe',
		]);
	});

	it('reuses a cache passed in across calls', async () => {
		const api = describeApi();
		const cache = new Map();
		await describeFieldTypes(api, 'Contact', ['Account.Name'], cache);
		await describeFieldTypes(api, 'Contact', ['Email', 'Account.Owner.Name'], cache);
		expect(api.requests).toHaveLength(3);
	});

	it('names an unknown field with its close matches', async () => {
		const error = await describeFieldTypes(describeApi(), 'Contact', ['Trial_End_c']).catch(
			(caught: unknown) => caught,
		);
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).field).toBe('fields');
		expect((error as Error).message).toBe(
			"fields: 'Trial_End_c' is not a field of Contact; did you mean Trial_End__c?",
		);
		await expect(describeFieldTypes(describeApi(), 'Contact', ['Trial'])).rejects.toThrow(
			/did you mean Trial_End__c, Trial_Status__c\?/,
		);
		await expect(describeFieldTypes(describeApi(), 'Contact', ['Xyzzy'])).rejects.toThrow(
			/'Xyzzy' is not a field of Contact; check the API name/,
		);
	});

	it('names unknown relationship paths and fields of related objects', async () => {
		await expect(describeFieldTypes(describeApi(), 'Contact', ['Acount.Name'])).rejects.toThrow(
			"fields: 'Acount.Name': 'Acount' is not a relationship of Contact; did you mean Account?",
		);
		await expect(describeFieldTypes(describeApi(), 'Contact', ['AccountId.Name'])).rejects.toThrow(
			/'AccountId' is not a relationship of Contact; did you mean Account\?/,
		);
		await expect(
			describeFieldTypes(describeApi(), 'Contact', ['Account.Owner.Nam']),
		).rejects.toThrow(
			"fields: 'Account.Owner.Nam': 'Nam' is not a field of User; did you mean Name?",
		);
	});

	it('rejects an unknown object as an object error', async () => {
		const error = await describeFieldTypes(describeApi(), 'Contcat', ['Email']).catch(
			(caught: unknown) => caught,
		);
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).field).toBe('object');
		expect((error as Error).message).toMatch(/Contcat is not an object/);
	});

	it('passes other API errors through', async () => {
		const api: SalesforceRequester = {
			apiVersion: '62.0',
			request: () =>
				Promise.reject(new SalesforceApiError(500, 'UNKNOWN_EXCEPTION', 'boom', 'GET /x')),
		};
		await expect(describeFieldTypes(api, 'Contact', [])).rejects.toBeInstanceOf(SalesforceApiError);
	});

	it('closeMatches ranks exact-but-for-underscores first and caps at five', () => {
		expect(closeMatches('trialend__c', ['Trial_End_Date__c', 'Trial_End__c'])).toEqual([
			'Trial_End__c',
			'Trial_End_Date__c',
		]);
		const many = ['A1', 'A2', 'A3', 'A4', 'A5', 'A6'];
		expect(closeMatches('a', many)).toHaveLength(5);
	});
});
