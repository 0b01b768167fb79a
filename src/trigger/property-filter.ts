import { InvalidInputError } from '../errors';
import { parseIsoInstant } from '../time/iso-instant';

/**
 * Conditions on an event's properties, e.g. `cart_value greaterThan 100`. Numbers (and
 * numeric strings) compare as numbers, ISO dates as instants, everything else as text.
 */
export const FILTER_OPERATORS = [
	'equals',
	'notEquals',
	'greaterThan',
	'greaterThanOrEqual',
	'lessThan',
	'lessThanOrEqual',
	'contains',
	'inList',
	'exists',
	'notExists',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** The operators as the node panel names them; errors use these words. */
export const FILTER_OPERATOR_NAMES: Record<FilterOperator, string> = {
	equals: 'Equals',
	notEquals: 'Not Equals',
	greaterThan: 'Greater Than',
	greaterThanOrEqual: 'Greater Than or Equal',
	lessThan: 'Less Than',
	lessThanOrEqual: 'Less Than or Equal',
	contains: 'Contains',
	inList: 'Is in List',
	exists: 'Exists',
	notExists: 'Does Not Exist',
};

export interface PropertyFilter {
	/** Property name; a dotted path reaches into objects (`cart.total`). */
	property: string;
	operator: FilterOperator;
	/** Ignored by exists / notExists; for inList, the allowed values. */
	value?: string | number | boolean | Array<string | number | boolean>;
}

export type FilterResult = { passed: true } | { passed: false; reason: string };

/**
 * Checks a filter's shape once, when the campaign is configured. `field` is the filter's path
 * (`propertyFilters[0]`); `label` is how the panel shows it (`Property Filters › row 1`) and
 * starts every message, followed by the parameter names the panel shows (Property, Operator,
 * Value).
 */
export function validatePropertyFilter(filter: PropertyFilter, field: string, label = field): void {
	if (!filter.property?.trim()) {
		throw new InvalidInputError(
			`${field}.property`,
			'Property is empty — enter the event property to compare, e.g. cart_value.',
			label,
		);
	}
	if (!FILTER_OPERATORS.includes(filter.operator)) {
		throw new InvalidInputError(
			`${field}.operator`,
			`Operator "${String(filter.operator)}" is not one of ${Object.values(FILTER_OPERATOR_NAMES).join(', ')}.`,
			label,
		);
	}
	const operatorName = FILTER_OPERATOR_NAMES[filter.operator];
	const needsValue = ['equals', 'notEquals', 'contains', 'inList'].includes(filter.operator);
	const value = filter.value;
	if (
		needsValue &&
		(value === undefined || value === '' || (Array.isArray(value) && !value.length))
	) {
		throw new InvalidInputError(
			`${field}.value`,
			`Value is empty — "${operatorName}" needs a value to compare with.`,
			label,
		);
	}
	if (filter.operator.endsWith('Than') || filter.operator.endsWith('OrEqual')) {
		if (comparable(filter.value) === undefined) {
			throw new InvalidInputError(
				`${field}.value`,
				`Value must be a number or an ISO date for "${operatorName}" (got ${JSON.stringify(filter.value)}).`,
				label,
			);
		}
	}
}

/** Reads `a.b.c`; an exact key with dots wins over the path. Only own properties count. */
export function readProperty(properties: Record<string, unknown>, path: string): unknown {
	if (Object.hasOwn(properties, path)) return properties[path];
	let current: unknown = properties;
	for (const part of path.split('.')) {
		if (typeof current !== 'object' || current === null || !Object.hasOwn(current, part)) {
			return undefined;
		}
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}

const NUMERIC = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i;

/**
 * A number for numbers, numeric strings and ISO dates (epoch ms; a date-time needs an offset,
 * a plain date is 00:00 UTC); undefined otherwise.
 */
function comparable(value: unknown): number | undefined {
	if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
	if (typeof value !== 'string') return undefined;
	if (NUMERIC.test(value)) return Number(value);
	return parseIsoInstant(value.trim(), { allowDate: true });
}

function looselyEqual(actual: unknown, expected: unknown): boolean {
	const a = comparable(actual);
	const b = comparable(expected);
	if (a !== undefined && b !== undefined) return a === b;
	if (typeof actual === 'boolean' || typeof expected === 'boolean') {
		return String(actual).toLowerCase() === String(expected).toLowerCase();
	}
	return typeof actual !== 'object' && String(actual) === String(expected);
}

const show = (value: unknown) => (value === undefined ? 'missing' : JSON.stringify(value));

export function evaluatePropertyFilter(
	filter: PropertyFilter,
	properties: Record<string, unknown>,
): FilterResult {
	const actual = readProperty(properties, filter.property);
	const present = actual !== undefined && actual !== null;
	const fail = (expectation: string): FilterResult => ({
		passed: false,
		reason: `property "${filter.property}" (${show(actual)}) ${expectation}`,
	});
	const expected = filter.value;
	switch (filter.operator) {
		case 'exists':
			return present ? { passed: true } : fail('does not exist');
		case 'notExists':
			return present ? fail('exists') : { passed: true };
		case 'equals':
			return present && looselyEqual(actual, expected)
				? { passed: true }
				: fail(`does not equal ${show(expected)}`);
		case 'notEquals':
			return present && looselyEqual(actual, expected)
				? fail(`equals ${show(expected)}`)
				: { passed: true };
		case 'contains': {
			const contained = Array.isArray(actual)
				? actual.some((item) => looselyEqual(item, expected))
				: typeof actual === 'string' && actual.includes(String(expected));
			return contained ? { passed: true } : fail(`does not contain ${show(expected)}`);
		}
		case 'inList': {
			const list = Array.isArray(expected) ? expected : [expected];
			return present && list.some((item) => looselyEqual(actual, item))
				? { passed: true }
				: fail(`is not in ${show(list)}`);
		}
		default: {
			const a = comparable(actual);
			const b = comparable(expected);
			if (a === undefined || b === undefined) return fail('is not a number or date to compare');
			const holds = {
				greaterThan: a > b,
				greaterThanOrEqual: a >= b,
				lessThan: a < b,
				lessThanOrEqual: a <= b,
			}[filter.operator];
			const words = {
				greaterThan: 'greater than',
				greaterThanOrEqual: 'greater than or equal to',
				lessThan: 'less than',
				lessThanOrEqual: 'less than or equal to',
			}[filter.operator];
			return holds ? { passed: true } : fail(`is not ${words} ${show(expected)}`);
		}
	}
}
