import { InvalidInputError } from '../../src/errors';
import {
	assertSoqlCondition,
	assertSoqlIdentifier,
	buildSegmentQuery,
	escapeSoqlLike,
	escapeSoqlString,
	soqlLiteral,
	type SegmentQuerySpec,
} from '../../src/salesforce/soql';

/** Runs `fn` and returns the InvalidInputError it throws (fails the test otherwise). */
function invalid(fn: () => unknown): InvalidInputError {
	try {
		fn();
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		return error as InvalidInputError;
	}
	throw new Error('expected an InvalidInputError');
}

describe('escapeSoqlString', () => {
	/** [input, escaped] — backslash is escaped before anything else. */
	const cases: Array<[string, string]> = [
		['plain', 'plain'],
		['', ''],
		["O'Brien", String.raw`O\'Brien`],
		["' OR Id != '", String.raw`\' OR Id != \'`],
		[String.raw`\' OR 1=1 --`, String.raw`\\\' OR 1=1 --`],
		[String.raw`C:\temp\new`, String.raw`C:\\temp\\new`],
		['\\', '\\\\'],
		["\\'", "\\\\\\'"],
		['a\nb', String.raw`a\nb`],
		["x'\n OR Name != '", String.raw`x\'\n OR Name != \'`],
		['a\r\nb', String.raw`a\r\nb`],
		['a\tb', String.raw`a\tb`],
		['a\bb', String.raw`a\bb`],
		['a\fb', String.raw`a\fb`],
		['say "hi"', String.raw`say \"hi\"`],
		['nul\u0000', String.raw`nul\u0000`],
		['vt\u000bx', String.raw`vt\u000bx`],
		['del\u007f', String.raw`del\u007f`],
		['100%_done', '100%_done'],
		['Zoë – 日本 🎉', 'Zoë – 日本 🎉'],
		['\u2019 OR \u02bc', '\u2019 OR \u02bc'],
		['\uff07 fullwidth quote', '\uff07 fullwidth quote'],
	];
	test.each(cases)('%j → %j', (input, expected) => {
		expect(escapeSoqlString(input)).toBe(expected);
	});

	test('an escaped value cannot close the literal', () => {
		for (const [input] of cases) {
			const literal = `'${escapeSoqlString(input)}'`;
			expect(() => assertSoqlCondition(`Name = ${literal}`)).not.toThrow();
		}
	});
});

describe('escapeSoqlLike', () => {
	const cases: Array<[string, string]> = [
		['100%', String.raw`100\%`],
		['first_name', String.raw`first\_name`],
		['%_%', String.raw`\%\_\%`],
		[String.raw`50\%`, String.raw`50\\\%`],
		["Bob's_%", String.raw`Bob\'s\_\%`],
		['a\nb%', String.raw`a\nb\%`],
		['plain', 'plain'],
	];
	test.each(cases)('%j → %j', (input, expected) => {
		expect(escapeSoqlLike(input)).toBe(expected);
	});
});

describe('soqlLiteral', () => {
	const valid: Array<[unknown, string]> = [
		['Acme', "'Acme'"],
		['', "''"],
		["' OR Id != '", String.raw`'\' OR Id != \''`],
		[String.raw`\' OR 1=1 --`, String.raw`'\\\' OR 1=1 --'`],
		['line1\nline2', String.raw`'line1\nline2'`],
		[0, '0'],
		[-0, '0'],
		[42, '42'],
		[-1.5, '-1.5'],
		[0.000001, '0.000001'],
		[123456789012345680000, '123456789012345680000'],
		[true, 'true'],
		[false, 'false'],
		[null, 'null'],
		[new Date('2026-03-01T12:00:00Z'), '2026-03-01T12:00:00Z'],
		[new Date('2026-03-01T12:00:00.999Z'), '2026-03-01T12:00:00Z'],
		[new Date('2026-03-01T14:30:05+02:00'), '2026-03-01T12:30:05Z'],
		[new Date(Date.UTC(1999, 11, 31, 23, 59, 59)), '1999-12-31T23:59:59Z'],
	];
	test.each(valid)('%p → %s', (value, expected) => {
		expect(soqlLiteral(value, 'filter.value')).toBe(expected);
	});

	const rejected: Array<[string, unknown, string]> = [
		[
			'NaN',
			NaN,
			'filter.value: NaN is not a SOQL value; pass a finite number, or leave the filter out.',
		],
		[
			'Infinity',
			Infinity,
			'filter.value: Infinity is not a SOQL value; pass a finite number, or leave the filter out.',
		],
		[
			'-Infinity',
			-Infinity,
			'filter.value: -Infinity is not a SOQL value; pass a finite number, or leave the filter out.',
		],
		[
			'1e21',
			1e21,
			'filter.value: 1e+21 would need exponent notation, which SOQL does not support; use a number between 1e-6 and 1e21 in magnitude, or 0.',
		],
		[
			'1e-7',
			1e-7,
			'filter.value: 1e-7 would need exponent notation, which SOQL does not support; use a number between 1e-6 and 1e21 in magnitude, or 0.',
		],
		[
			'object',
			{ $ne: 1 },
			'filter.value: is object, which has no SOQL literal form; pass a string, finite number, boolean, null or Date.',
		],
		[
			'array',
			['a', 'b'],
			'filter.value: is an array, which has no SOQL literal form; pass a string, finite number, boolean, null or Date.',
		],
		[
			'undefined',
			undefined,
			'filter.value: is undefined, which has no SOQL literal form; pass a string, finite number, boolean, null or Date.',
		],
		[
			'bigint',
			BigInt(5),
			'filter.value: is bigint, which has no SOQL literal form; pass a string, finite number, boolean, null or Date.',
		],
		[
			'invalid Date',
			new Date('not a date'),
			'filter.value: is an invalid or out-of-range date; pass a valid Date between the years 0000 and 9999.',
		],
		[
			'year 10000',
			new Date(Date.UTC(10000, 0, 1)),
			'filter.value: is an invalid or out-of-range date; pass a valid Date between the years 0000 and 9999.',
		],
	];
	test.each(rejected)('rejects %s', (_label, value, message) => {
		const error = invalid(() => soqlLiteral(value, 'filter.value'));
		expect(error.field).toBe('filter.value');
		expect(error.message).toBe(message);
	});
});

describe('assertSoqlIdentifier', () => {
	/** [name, allowRelationship] that must be accepted unchanged. */
	const valid: Array<[string, boolean]> = [
		['Name', false],
		['Id', false],
		['SystemModstamp', false],
		['Trial_End__c', false],
		['trial_end__C', false],
		['acme__Score__c', false],
		['acme__Member__c', false],
		['acme__Trial_End__c', false],
		['acme__Config__mdt', false],
		['Account__r', false],
		['External_Order__x', false],
		['Order_Event__e', false],
		['Setting__mdt', false],
		['Location__latitude__s', false],
		['AccountHistory', false],
		['Name2', false],
		['Account.Name', true],
		['Owner.Manager.Email', true],
		['Account__r.acme__Tier__c', true],
		['A.B.C.D.E.F', true],
		['Name', true],
	];
	test.each(valid)('accepts %s (allowRelationship=%p)', (name, allowRelationship) => {
		expect(assertSoqlIdentifier(name, 'fields[0]', { allowRelationship })).toBe(name);
	});

	const NOT_NAME =
		'is not a valid Salesforce API name; use letters, digits and single underscores, starting with a letter, with an optional namespace (ns__) and suffix (__c, __r, …), e.g. Trial_End__c or Account.Name.';
	const NO_DOTS =
		'is not a valid Salesforce API name here: relationship paths (with dots) are not allowed; enter a single API name such as Name or Trial_End__c.';
	const EMPTY =
		'is not a valid Salesforce API name; enter the API name from Setup → Object Manager, e.g. Name or Trial_End__c.';
	const TOO_DEEP =
		'is not a valid relationship path: SOQL allows at most five parent levels; shorten it, e.g. Account.Owner.Email.';

	/** [name, allowRelationship, message after "<field>: <json name> "] */
	const rejected: Array<[string, boolean, string]> = [
		['', false, EMPTY],
		['', true, EMPTY],
		['Account.Name', false, NO_DOTS],
		['Name; DELETE', false, NOT_NAME],
		['Name; DELETE', true, NOT_NAME],
		['Name)', true, NOT_NAME],
		['COUNT(Id)', true, NOT_NAME],
		['1Name', false, NOT_NAME],
		['_Name', false, NOT_NAME],
		['Name_', false, NOT_NAME],
		['Trial__End__c__c', false, NOT_NAME],
		['acme__Score', false, NOT_NAME],
		['Trial___c', false, NOT_NAME],
		['Name__zz', false, NOT_NAME],
		['a__b__c__d', false, NOT_NAME],
		['First Name', false, NOT_NAME],
		["Name'", false, NOT_NAME],
		['Name"', false, NOT_NAME],
		['Name--', false, NOT_NAME],
		['Name,Email', true, NOT_NAME],
		['Account.', true, NOT_NAME],
		['.Name', true, NOT_NAME],
		['Account..Name', true, NOT_NAME],
		['Näme', false, NOT_NAME],
		['Name\n', false, NOT_NAME],
		['A.B.C.D.E.F.G', true, TOO_DEEP],
		['N'.repeat(81), false, NOT_NAME],
	];
	test.each(rejected)('rejects %j (allowRelationship=%p)', (name, allowRelationship, message) => {
		const error = invalid(() => assertSoqlIdentifier(name, 'fields[2]', { allowRelationship }));
		expect(error.field).toBe('fields[2]');
		expect(error.message).toBe(`fields[2]: ${JSON.stringify(name)} ${message}`);
	});

	test('rejects a non-string passed from untyped code', () => {
		const error = invalid(() => assertSoqlIdentifier(42 as unknown as string, 'object'));
		expect(error.message).toBe(`object: 42 ${EMPTY}`);
	});
});

describe('assertSoqlCondition', () => {
	const accepted: Array<[string, string]> = [
		["Status__c = 'Active'", "Status__c = 'Active'"],
		["  Status__c = 'Active'  ", "Status__c = 'Active'"],
		[String.raw`Name = 'it\'s ; LIMIT 5'`, String.raw`Name = 'it\'s ; LIMIT 5'`],
		// Doubled quotes are two adjacent literals in SOQL; the checker skips both.
		["Name = 'it''s ; LIMIT 5'", "Name = 'it''s ; LIMIT 5'"],
		[
			"Description = 'ORDER BY Name -- FROM x /* ) ( \"'",
			"Description = 'ORDER BY Name -- FROM x /* ) ( \"'",
		],
		[
			String.raw`Name LIKE 'Ter\%\_' AND Path__c = 'C:\\temp'`,
			String.raw`Name LIKE 'Ter\%\_' AND Path__c = 'C:\\temp'`,
		],
		[String.raw`Name = 'caf\u00e9'`, String.raw`Name = 'caf\u00e9'`],
		[
			"(Amount__c > 10 OR Tier__c IN ('Gold', 'Silver')) AND IsActive__c = true",
			"(Amount__c > 10 OR Tier__c IN ('Gold', 'Silver')) AND IsActive__c = true",
		],
		[
			"Id IN (SELECT ContactId FROM CampaignMember WHERE CampaignId = '701000000000001')",
			"Id IN (SELECT ContactId FROM CampaignMember WHERE CampaignId = '701000000000001')",
		],
		['CreatedDate > 2026-01-01T00:00:00Z', 'CreatedDate > 2026-01-01T00:00:00Z'],
		['CreatedDate = LAST_N_DAYS:30', 'CreatedDate = LAST_N_DAYS:30'],
		[
			'Limit__c > 5 AND Account.Order_By__c != null',
			'Limit__c > 5 AND Account.Order_By__c != null',
		],
		["Status__c = 'A'\n\tAND Score__c >= -5", "Status__c = 'A'\n\tAND Score__c >= -5"],
	];
	test.each(accepted)('accepts %j', (condition, expected) => {
		expect(assertSoqlCondition(condition)).toBe(expected);
	});

	/** [condition, message] */
	const rejected: Array<[string, string]> = [
		[
			"Name = 'x'; DELETE FROM Contact",
			"where: found ';' at character 11; a filter is a single condition; remove the semicolon.",
		],
		[
			"Name = 'x' LIMIT 1",
			'where: found LIMIT at character 12; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			"Name = 'x' limit 1",
			'where: found LIMIT at character 12; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			'IsActive__c = true OFFSET 10',
			'where: found OFFSET at character 20; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			'IsActive__c = true ORDER BY Name',
			'where: found ORDER BY at character 20; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			'IsActive__c = true order\n  by Name',
			'where: found ORDER BY at character 20; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			'IsActive__c = true GROUP BY Name',
			'where: found GROUP BY at character 20; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			'IsActive__c = true FOR UPDATE',
			'where: found FOR UPDATE at character 20; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			'Id IN (SELECT ContactId FROM CampaignMember LIMIT 5)',
			'where: found LIMIT at character 45; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			'IsActive__c = true FROM Lead',
			'where: found FROM outside parentheses at character 20; write only the condition after WHERE; a subquery must be in parentheses, e.g. Id IN (SELECT ContactId FROM CampaignMember).',
		],
		[
			'Id IN SELECT Id FROM Lead',
			'where: found SELECT outside parentheses at character 7; write only the condition after WHERE; a subquery must be in parentheses, e.g. Id IN (SELECT ContactId FROM CampaignMember).',
		],
		[
			"Name = 'x') OR (Name != 'y'",
			"where: found a ')' without a matching '(' at character 11; remove it or add the missing (.",
		],
		[
			"(Name = 'x' OR Name = 'y'",
			"where: found a '(' that is never closed at character 1; add the missing ) or remove it.",
		],
		[
			"Name = 'x",
			"where: found a string literal that is never closed at character 8; close it with ' (write a quote inside a literal as \\').",
		],
		[
			"Name = 'it''s",
			"where: found a string literal that is never closed at character 12; close it with ' (write a quote inside a literal as \\').",
		],
		[
			String.raw`Name = '\' OR 1=1 --`,
			"where: found a string literal that is never closed at character 8; close it with ' (write a quote inside a literal as \\').",
		],
		[
			String.raw`Name = 'C:\temp\x'`,
			String.raw`where: found an invalid escape \x at character 16; inside a literal use \\ for a backslash, \' for a quote, or \n, \r, \t, \b, \f, \", \_, \%, \uXXXX.`,
		],
		[
			String.raw`Name = 'bad \u12'`,
			String.raw`where: found an invalid escape \u at character 13; inside a literal use \\ for a backslash, \' for a quote, or \n, \r, \t, \b, \f, \", \_, \%, \uXXXX.`,
		],
		[
			'Name = "Acme"',
			"where: found a double quote (\") at character 8; SOQL strings use single quotes, e.g. Name = 'Acme'.",
		],
		[
			"Name = 'x' --\nOR Name != null",
			"where: found '--' at character 12; SOQL has no comments; remove it.",
		],
		["Name = 'x' /* c */", "where: found '/*' at character 12; SOQL has no comments; remove it."],
		[
			"Name = 'x'\nLIMIT 1",
			'where: found LIMIT at character 12; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
	];
	test.each(rejected)('rejects %j', (condition, message) => {
		const error = invalid(() => assertSoqlCondition(condition));
		expect(error.field).toBe('where');
		expect(error.message).toBe(message);
	});
});

describe('buildSegmentQuery', () => {
	const since = new Date('2026-03-01T12:00:00.250Z');
	const cases: Array<[string, SegmentQuerySpec, string]> = [
		[
			'fields only',
			{ object: 'Contact', fields: ['Email', 'FirstName'] },
			'SELECT Id, SystemModstamp, Email, FirstName FROM Contact ORDER BY SystemModstamp, Id',
		],
		[
			'no fields',
			{ object: 'Lead', fields: [] },
			'SELECT Id, SystemModstamp FROM Lead ORDER BY SystemModstamp, Id',
		],
		[
			'unordered, as a full read whose order does not matter',
			{ object: 'Contact', fields: ['Email'], where: 'Email != null', unordered: true },
			'SELECT Id, SystemModstamp, Email FROM Contact WHERE (Email != null)',
		],
		[
			'dedupes case-insensitively, including Id and SystemModstamp',
			{
				object: 'Contact',
				fields: ['Email', 'id', 'EMAIL', 'SystemModstamp', 'Account.Name', 'account.name'],
			},
			'SELECT Id, SystemModstamp, Email, Account.Name FROM Contact ORDER BY SystemModstamp, Id',
		],
		[
			'where only',
			{ object: 'Contact', fields: ['Email'], where: "  Status__c = 'Active' OR Score__c > 5 " },
			"SELECT Id, SystemModstamp, Email FROM Contact WHERE (Status__c = 'Active' OR Score__c > 5) ORDER BY SystemModstamp, Id",
		],
		[
			'modstamp only',
			{ object: 'Contact', fields: ['Email'], modstampSince: since },
			'SELECT Id, SystemModstamp, Email FROM Contact WHERE SystemModstamp >= 2026-03-01T12:00:00Z ORDER BY SystemModstamp, Id',
		],
		[
			'where and modstamp, custom object, deleted rows, explicit order',
			{
				object: 'acme__Member__c',
				fields: ['acme__Email__c', 'Trial_End__c', 'Owner.Manager.Email'],
				where: "Trial_End__c >= TODAY AND Name != 'it\\'s'",
				modstampSince: since,
				includeDeleted: true,
				orderBy: 'SystemModstamp',
			},
			"SELECT Id, SystemModstamp, IsDeleted, acme__Email__c, Trial_End__c, Owner.Manager.Email FROM acme__Member__c WHERE (Trial_End__c >= TODAY AND Name != 'it\\'s') AND SystemModstamp >= 2026-03-01T12:00:00Z ORDER BY SystemModstamp, Id",
		],
		[
			'blank where is ignored',
			{ object: 'Contact', fields: ['Email'], where: '   ' },
			'SELECT Id, SystemModstamp, Email FROM Contact ORDER BY SystemModstamp, Id',
		],
		[
			'includeDeleted with IsDeleted also requested',
			{ object: 'Contact', fields: ['isdeleted', 'Email'], includeDeleted: true },
			'SELECT Id, SystemModstamp, IsDeleted, Email FROM Contact ORDER BY SystemModstamp, Id',
		],
	];
	test.each(cases)('%s', (_label, spec, expected) => {
		expect(buildSegmentQuery(spec)).toBe(expected);
	});

	const rejected: Array<[string, SegmentQuerySpec, string, string]> = [
		[
			'object with a relationship path',
			{ object: 'Account.Contacts', fields: [] },
			'object',
			'object: "Account.Contacts" is not a valid Salesforce API name here: relationship paths (with dots) are not allowed; enter a single API name such as Name or Trial_End__c.',
		],
		[
			'object injection',
			{ object: 'Contact WHERE Id != null', fields: [] },
			'object',
			'object: "Contact WHERE Id != null" is not a valid Salesforce API name; use letters, digits and single underscores, starting with a letter, with an optional namespace (ns__) and suffix (__c, __r, …), e.g. Trial_End__c or Account.Name.',
		],
		[
			'field injection',
			{ object: 'Contact', fields: ['Email', 'Name FROM User --'] },
			'fields[1]',
			'fields[1]: "Name FROM User --" is not a valid Salesforce API name; use letters, digits and single underscores, starting with a letter, with an optional namespace (ns__) and suffix (__c, __r, …), e.g. Trial_End__c or Account.Name.',
		],
		[
			'where injection',
			{ object: 'Contact', fields: [], where: "Name = 'x') OR (Id != null" },
			'where',
			"where: found a ')' without a matching '(' at character 11; remove it or add the missing (.",
		],
		[
			'where with LIMIT',
			{ object: 'Contact', fields: [], where: 'Id != null LIMIT 1' },
			'where',
			'where: found LIMIT at character 12; the sync sets the rest of the query itself; the filter may only contain conditions.',
		],
		[
			'invalid modstampSince',
			{ object: 'Contact', fields: [], modstampSince: new Date(NaN) },
			'modstampSince',
			'modstampSince: is an invalid or out-of-range date; pass a valid Date between the years 0000 and 9999.',
		],
		[
			'modstampSince as a string',
			{ object: 'Contact', fields: [], modstampSince: '2026-03-01' as unknown as Date },
			'modstampSince',
			'modstampSince: must be a Date; pass new Date(isoString).',
		],
		[
			'unsupported orderBy',
			{ object: 'Contact', fields: [], orderBy: 'Name' as unknown as 'SystemModstamp' },
			'orderBy',
			`orderBy: "Name" is not supported; use 'SystemModstamp' or leave it out.`,
		],
		[
			'unordered with an order',
			{ object: 'Contact', fields: [], orderBy: 'SystemModstamp', unordered: true },
			'unordered',
			'unordered: cannot be combined with orderBy; set one of them.',
		],
	];
	test.each(rejected)('rejects %s', (_label, spec, field, message) => {
		const error = invalid(() => buildSegmentQuery(spec));
		expect(error.field).toBe(field);
		expect(error.message).toBe(message);
	});
});
