import { InvalidInputError } from '../../src/errors';
import {
	FILTER_OPERATORS,
	evaluatePropertyFilter,
	readProperty,
	validatePropertyFilter,
	type FilterOperator,
	type PropertyFilter,
} from '../../src/trigger/property-filter';

type Value = PropertyFilter['value'];

const check = (
	property: string,
	operator: FilterOperator,
	value: Value,
	properties: Record<string, unknown>,
) => evaluatePropertyFilter({ property, operator, value }, properties);

const passes = (operator: FilterOperator, actual: unknown, value: Value) =>
	check('p', operator, value, actual === undefined ? {} : { p: actual }).passed;

describe('readProperty', () => {
	const properties = {
		plan: 'pro',
		cart: { total: 99.5, items: [{ sku: 'A-1' }, { sku: 'B-2' }], owner: null },
		'cart.total': 'literal wins',
		'a.b': { c: 'literal then path' },
		zero: 0,
		empty: '',
		nothing: null,
	};

	test.each<[string, unknown]>([
		['plan', 'pro'],
		['cart.items.1.sku', 'B-2'],
		['cart.items.0', { sku: 'A-1' }],
		['cart.total', 'literal wins'],
		['cart.owner', null],
		['cart.owner.name', undefined],
		['cart.missing', undefined],
		['cart.total.deeper', undefined],
		['plan.length', undefined],
		['missing', undefined],
		['missing.deeper', undefined],
		['zero', 0],
		['empty', ''],
		['nothing', null],
	])('reads %j as %j', (path, expected) => {
		expect(readProperty(properties, path)).toEqual(expected);
	});

	it('prefers an exact key with a dot over the path', () => {
		expect(readProperty({ 'a.b': 1, a: { b: 2 } }, 'a.b')).toBe(1);
		expect(readProperty({ a: { b: 2 } }, 'a.b')).toBe(2);
	});

	it('does not combine a dotted key with a further path', () => {
		// `a.b.c` is not a key, and `a` does not exist, so there is nothing to read.
		expect(readProperty(properties, 'a.b.c')).toBeUndefined();
	});
});

describe('evaluatePropertyFilter: each operator passing and failing', () => {
	test.each<[FilterOperator, unknown, Value, boolean]>([
		// equals
		['equals', 'pro', 'pro', true],
		['equals', 'pro', 'team', false],
		['equals', 'Pro', 'pro', false],
		['equals', 100, '100', true],
		['equals', '100.0', 100, true],
		['equals', '1e3', 1000, true],
		['equals', -5, '-5', true],
		['equals', ' 42 ', 42, true],
		['equals', 0, '0', true],
		['equals', '', '', true],
		['equals', 'true', true, true],
		['equals', true, 'true', true],
		['equals', true, 'TRUE', true],
		['equals', 'False', false, true],
		['equals', false, true, false],
		['equals', 'yes', true, false],
		['equals', 1, true, false],
		['equals', { a: 1 }, '[object Object]', false],
		['equals', ['pro'], 'pro', false],
		['equals', null, 'null', false],
		['equals', undefined, 'pro', false],
		['equals', '2026-03-01T12:00:00Z', '2026-03-01T17:45:00+05:45', true],
		['equals', '2026-03-01T12:00:00Z', '2026-03-01T12:00:01Z', false],
		// notEquals
		['notEquals', 'pro', 'team', true],
		['notEquals', 'pro', 'pro', false],
		['notEquals', 100, '100.00', false],
		['notEquals', 'true', true, false],
		['notEquals', undefined, 'pro', true],
		['notEquals', null, 'pro', true],
		// greaterThan
		['greaterThan', 150, 100, true],
		['greaterThan', 100, 100, false],
		['greaterThan', '100', 99.5, true],
		['greaterThan', 99.4, '99.5', false],
		['greaterThan', '10', '9', true],
		['greaterThan', '1e3', 999, true],
		['greaterThan', '1E3', 1000, false],
		['greaterThan', -1, -2, true],
		['greaterThan', '-10', '-9', false],
		['greaterThan', '.5', 0.25, true],
		['greaterThan', '+7', 6, true],
		['greaterThan', '2026-03-02T00:00:00Z', '2026-03-01T23:59:59Z', true],
		// greaterThanOrEqual
		['greaterThanOrEqual', 100, 100, true],
		['greaterThanOrEqual', '100', '100.0', true],
		['greaterThanOrEqual', 99.99, 100, false],
		['greaterThanOrEqual', '2026-03-01T12:00:00Z', '2026-03-01T17:45:00+05:45', true],
		// lessThan
		['lessThan', 5, 10, true],
		['lessThan', 10, 10, false],
		['lessThan', '9', '10', true],
		['lessThan', -3.5, '-3', true],
		['lessThan', '2026-03-01T06:14:59Z', '2026-03-01T12:00:00+05:45', true],
		['lessThan', '2026-03-01T06:15:00Z', '2026-03-01T12:00:00+05:45', false],
		// lessThanOrEqual
		['lessThanOrEqual', 10, 10, true],
		['lessThanOrEqual', '10', 9, false],
		['lessThanOrEqual', '2026-03-01', '2026-03-01T00:00:00Z', true],
		// contains
		['contains', 'summer-sale-2026', 'sale', true],
		['contains', 'summer-sale-2026', 'SALE', false],
		['contains', 'summer-sale-2026', 2026, true],
		['contains', 'abc', '', true],
		['contains', ['red', 'green'], 'green', true],
		['contains', ['red', 'green'], 'blue', false],
		['contains', [1, 2, 3], '2', true],
		['contains', ['1', '2'], 2, true],
		['contains', [true], 'true', true],
		['contains', ['summer-sale'], 'sale', false],
		['contains', 12345, '23', false],
		['contains', { sale: true }, 'sale', false],
		['contains', undefined, 'sale', false],
		['contains', null, 'sale', false],
		// inList
		['inList', 'pro', ['free', 'pro', 'team'], true],
		['inList', 'enterprise', ['free', 'pro', 'team'], false],
		['inList', '2', [1, 2, 3], true],
		['inList', 2.5, ['1', '2'], false],
		['inList', 'true', [true], true],
		['inList', 'pro', 'pro', true],
		['inList', 'pro', 'team', false],
		['inList', undefined, ['pro'], false],
		['inList', null, ['null'], false],
		['inList', 'pro', [], false],
		// exists
		['exists', 'pro', undefined, true],
		['exists', 0, undefined, true],
		['exists', '', undefined, true],
		['exists', false, undefined, true],
		['exists', [], undefined, true],
		['exists', null, undefined, false],
		['exists', undefined, undefined, false],
		// notExists
		['notExists', undefined, undefined, true],
		['notExists', null, undefined, true],
		['notExists', 0, undefined, false],
		['notExists', '', undefined, false],
		['notExists', 'pro', undefined, false],
	])('%s: actual %j vs %j → passed %p', (operator, actual, value, expected) => {
		expect(passes(operator, actual, value)).toBe(expected);
	});

	it('covers every operator in the table above', () => {
		expect([...FILTER_OPERATORS].sort()).toEqual(
			[
				'contains',
				'equals',
				'exists',
				'greaterThan',
				'greaterThanOrEqual',
				'inList',
				'lessThan',
				'lessThanOrEqual',
				'notEquals',
				'notExists',
			].sort(),
		);
	});
});

describe('evaluatePropertyFilter: reasons', () => {
	test.each<[PropertyFilter, Record<string, unknown>, string]>([
		[
			{ property: 'cart_value', operator: 'greaterThan', value: 100 },
			{ cart_value: 50 },
			'property "cart_value" (50) is not greater than 100',
		],
		[
			{ property: 'cart_value', operator: 'greaterThanOrEqual', value: '100' },
			{ cart_value: '99.9' },
			'property "cart_value" ("99.9") is not greater than or equal to "100"',
		],
		[
			{ property: 'age', operator: 'lessThan', value: 18 },
			{ age: 18 },
			'property "age" (18) is not less than 18',
		],
		[
			{ property: 'age', operator: 'lessThanOrEqual', value: 18 },
			{ age: 30 },
			'property "age" (30) is not less than or equal to 18',
		],
		[
			{ property: 'plan', operator: 'equals', value: 'pro' },
			{ plan: 'free' },
			'property "plan" ("free") does not equal "pro"',
		],
		[
			{ property: 'plan', operator: 'equals', value: 'pro' },
			{},
			'property "plan" (missing) does not equal "pro"',
		],
		[
			{ property: 'plan', operator: 'notEquals', value: 'pro' },
			{ plan: 'pro' },
			'property "plan" ("pro") equals "pro"',
		],
		[
			{ property: 'tags', operator: 'contains', value: 'vip' },
			{ tags: ['new', 'trial'] },
			'property "tags" (["new","trial"]) does not contain "vip"',
		],
		[
			{ property: 'plan', operator: 'inList', value: ['pro', 'team'] },
			{ plan: 'free' },
			'property "plan" ("free") is not in ["pro","team"]',
		],
		[
			{ property: 'plan', operator: 'inList', value: 'pro' },
			{ plan: 'free' },
			'property "plan" ("free") is not in ["pro"]',
		],
		[{ property: 'coupon', operator: 'exists' }, {}, 'property "coupon" (missing) does not exist'],
		[
			{ property: 'coupon', operator: 'exists' },
			{ coupon: null },
			'property "coupon" (null) does not exist',
		],
		[
			{ property: 'coupon', operator: 'notExists' },
			{ coupon: 'X1' },
			'property "coupon" ("X1") exists',
		],
		[
			{ property: 'cart.total', operator: 'greaterThan', value: 100 },
			{ cart: { total: 20 } },
			'property "cart.total" (20) is not greater than 100',
		],
	])('%j on %j fails: %s', (filter, properties, reason) => {
		expect(evaluatePropertyFilter(filter, properties)).toEqual({ passed: false, reason });
	});

	test.each<[FilterOperator, unknown, Value, string]>([
		['greaterThan', 'lots', 100, 'property "p" ("lots") is not a number or date to compare'],
		['greaterThan', undefined, 100, 'property "p" (missing) is not a number or date to compare'],
		['lessThan', null, 100, 'property "p" (null) is not a number or date to compare'],
		['lessThan', true, 1, 'property "p" (true) is not a number or date to compare'],
		['greaterThanOrEqual', '', 0, 'property "p" ("") is not a number or date to compare'],
		['lessThanOrEqual', '0x10', 100, 'property "p" ("0x10") is not a number or date to compare'],
		['greaterThan', [5], 1, 'property "p" ([5]) is not a number or date to compare'],
		[
			'greaterThan',
			'12 apples',
			1,
			'property "p" ("12 apples") is not a number or date to compare',
		],
		['greaterThan', 5, 'abc', 'property "p" (5) is not a number or date to compare'],
	])('%s fails for %j vs %j: not comparable', (operator, actual, value, reason) => {
		const properties = actual === undefined ? {} : { p: actual };
		expect(evaluatePropertyFilter({ property: 'p', operator, value }, properties)).toEqual({
			passed: false,
			reason,
		});
	});

	it('returns exactly { passed: true } when the filter holds', () => {
		expect(check('cart.total', 'greaterThan', 100, { cart: { total: '150' } })).toEqual({
			passed: true,
		});
	});
});

describe('evaluatePropertyFilter: paths', () => {
	it('reads a dotted path into nested objects', () => {
		expect(check('cart.total', 'greaterThanOrEqual', 99.5, { cart: { total: 99.5 } }).passed).toBe(
			true,
		);
		expect(
			check('cart.items.0.sku', 'equals', 'A-1', { cart: { items: [{ sku: 'A-1' }] } }).passed,
		).toBe(true);
	});

	it('lets a literal key containing a dot win over the path', () => {
		const properties = { 'cart.total': 5, cart: { total: 500 } };
		expect(check('cart.total', 'greaterThan', 100, properties)).toEqual({
			passed: false,
			reason: 'property "cart.total" (5) is not greater than 100',
		});
		expect(check('cart.total', 'lessThan', 10, properties).passed).toBe(true);
	});

	it('treats a path through a non-object as missing', () => {
		expect(check('plan.name', 'exists', undefined, { plan: 'pro' })).toEqual({
			passed: false,
			reason: 'property "plan.name" (missing) does not exist',
		});
	});
});

describe('validatePropertyFilter', () => {
	test.each<[PropertyFilter]>([
		[{ property: 'plan', operator: 'equals', value: 'pro' }],
		[{ property: 'cart.total', operator: 'greaterThan', value: 100 }],
		[{ property: 'cart.total', operator: 'greaterThanOrEqual', value: '99.5' }],
		[{ property: 'n', operator: 'lessThan', value: '-1e3' }],
		[{ property: 'signed_up', operator: 'lessThanOrEqual', value: '2026-03-01T00:00:00Z' }],
		[{ property: 'coupon', operator: 'exists' }],
		[{ property: 'coupon', operator: 'notExists' }],
		[{ property: 'plan', operator: 'inList', value: ['pro', 'team'] }],
		[{ property: 'tags', operator: 'contains', value: 'vip' }],
	])('accepts %j', (filter) => {
		expect(() => validatePropertyFilter(filter, 'propertyFilters[0]')).not.toThrow();
	});

	test.each<[string, PropertyFilter, string, string]>([
		[
			'an empty property',
			{ property: '', operator: 'equals', value: 'x' },
			'propertyFilters[2].property',
			'Property Filters › row 3: Property is empty — enter the event property to compare, e.g. cart_value.',
		],
		[
			'a whitespace property',
			{ property: '   ', operator: 'exists' },
			'propertyFilters[2].property',
			'Property Filters › row 3: Property is empty — enter the event property to compare, e.g. cart_value.',
		],
		[
			'an unknown operator',
			{ property: 'plan', operator: 'between' as FilterOperator, value: 'x' },
			'propertyFilters[2].operator',
			'Property Filters › row 3: Operator "between" is not one of Equals, Not Equals, Greater Than, Greater Than or Equal, Less Than, Less Than or Equal, Contains, Is in List, Exists, Does Not Exist.',
		],
		[
			'a non-numeric value for greaterThan',
			{ property: 'cart_value', operator: 'greaterThan', value: 'abc' },
			'propertyFilters[2].value',
			'Property Filters › row 3: Value must be a number or an ISO date for "Greater Than" (got "abc").',
		],
		[
			'a boolean value for lessThanOrEqual',
			{ property: 'n', operator: 'lessThanOrEqual', value: true },
			'propertyFilters[2].value',
			'Property Filters › row 3: Value must be a number or an ISO date for "Less Than or Equal" (got true).',
		],
		[
			'an empty value for lessThan',
			{ property: 'n', operator: 'lessThan', value: '' },
			'propertyFilters[2].value',
			'Property Filters › row 3: Value must be a number or an ISO date for "Less Than" (got "").',
		],
		[
			'a list value for greaterThanOrEqual',
			{ property: 'n', operator: 'greaterThanOrEqual', value: [1] },
			'propertyFilters[2].value',
			'Property Filters › row 3: Value must be a number or an ISO date for "Greater Than or Equal" (got [1]).',
		],
	])('rejects %s', (_label, filter, field, message) => {
		let thrown: unknown;
		try {
			validatePropertyFilter(filter, 'propertyFilters[2]', 'Property Filters › row 3');
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(InvalidInputError);
		expect((thrown as InvalidInputError).field).toBe(field);
		expect((thrown as InvalidInputError).message).toBe(message);
	});
});

describe('fixed edge cases', () => {
	it('reads only own properties, never inherited members', () => {
		expect(evaluatePropertyFilter({ property: 'constructor', operator: 'exists' }, {})).toEqual({
			passed: false,
			reason: 'property "constructor" (missing) does not exist',
		});
		expect(evaluatePropertyFilter({ property: 'toString', operator: 'notExists' }, {})).toEqual({
			passed: true,
		});
		expect(readProperty({ a: {} }, 'a.hasOwnProperty')).toBeUndefined();
	});

	it('does not roll impossible dates over, and treats a date-time without offset as text', () => {
		expect(() =>
			validatePropertyFilter({ property: 'd', operator: 'lessThan', value: '2026-02-30' }, 'f'),
		).toThrow(/^f: Value must be a number or an ISO date/);
		expect(
			evaluatePropertyFilter(
				{ property: 'd', operator: 'equals', value: '2026-03-02' },
				{ d: '2026-02-30' },
			).passed,
		).toBe(false);
		expect(
			evaluatePropertyFilter(
				{ property: 'd', operator: 'equals', value: '2026-03-01T12:00:00Z' },
				{ d: '2026-03-01T12:00:00' },
			).passed,
		).toBe(false);
		expect(
			evaluatePropertyFilter(
				{ property: 'd', operator: 'lessThan', value: '2026-03-02' },
				{ d: '2026-03-01T23:59:59Z' },
			).passed,
		).toBe(true);
	});

	it('requires a value for operators that compare', () => {
		for (const [operator, name] of [
			['equals', 'Equals'],
			['notEquals', 'Not Equals'],
			['contains', 'Contains'],
			['inList', 'Is in List'],
		] as const) {
			expect(() => validatePropertyFilter({ property: 'p', operator }, 'f')).toThrow(
				`f: Value is empty — "${name}" needs a value to compare with.`,
			);
		}
		expect(() => validatePropertyFilter({ property: 'p', operator: 'exists' }, 'f')).not.toThrow();
	});
});
