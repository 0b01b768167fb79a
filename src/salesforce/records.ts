/**
 * One shape for a Salesforce record, however it was read: REST JSON nests relationship
 * fields (`Account: { Name }`), Bulk CSV dots them (`Account.Name`) and has only text. Both
 * become a flat record with dotted keys, typed values and datetimes as ISO instants, so a
 * segment read through REST or Bulk gives the same profiles.
 */
import type { SalesforceRecord } from './api/types';

export type FieldKind = 'boolean' | 'number' | 'string' | 'datetime';

/**
 * Field path as requested (`Account.Owner.Name`) → kind; from `describeFieldTypes`. Keys are
 * lower-case: look paths up with `fieldKind`, since Salesforce answers in its own spelling.
 */
export type FieldTypes = Map<string, FieldKind>;

type Value = SalesforceRecord[string];

const MODSTAMP = 'systemmodstamp';

/** The kind of a field path, case-insensitively; SystemModstamp is always a datetime. */
export function fieldKind(types: FieldTypes | undefined, path: string): FieldKind | undefined {
	const key = path.toLowerCase();
	if (key === MODSTAMP) return 'datetime';
	return types?.get(key);
}

/** `2026-11-23T10:00:00.000+0000` (REST) or `…Z` (Bulk) → `2026-11-23T10:00:00.000Z`. */
export function normaliseDatetime(value: string): string {
	const ms = parseSalesforceDatetime(value);
	return Number.isFinite(ms) ? new Date(ms).toISOString() : value;
}

/** Epoch ms of a Salesforce datetime; NaN when it is not one. */
function parseSalesforceDatetime(value: string): number {
	// Salesforce prints offsets without a colon (+0000), which Date.parse does not accept.
	// Normalised values end in Z: parse those without building a new string.
	if (value.endsWith('Z')) return Date.parse(value);
	return Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}

function flattenInto(
	target: SalesforceRecord,
	prefix: string,
	source: Record<string, unknown>,
	types: FieldTypes | undefined,
): void {
	for (const [key, value] of Object.entries(source)) {
		if (key === 'attributes') continue;
		const path = prefix + key;
		if (value === null) {
			// An empty relationship (`Account: null`) gives no keys; an empty field gives null.
			if (!isRelationshipKey(path, key, source, types)) target[path] = null;
		} else if (Array.isArray(value)) {
			// Child subquery results have no flat form; the sync never selects them.
			continue;
		} else if (typeof value === 'object') {
			flattenInto(target, `${path}.`, value as Record<string, unknown>, types);
		} else if (
			typeof value === 'string' ||
			typeof value === 'number' ||
			typeof value === 'boolean'
		) {
			target[path] =
				fieldKind(types, path) === 'datetime' && typeof value === 'string'
					? normaliseDatetime(value)
					: value;
		}
	}
}

/**
 * A REST query record → flat record. `attributes` is dropped, relationship objects become
 * dotted keys, and an empty relationship (`Account: null`) yields no keys at all: Bulk CSV
 * has `Account.Name` empty there, which `getField` callers read as null either way.
 * Datetime fields (by `types`, and SystemModstamp always) become ISO instants.
 */
export function flattenRestRecord(record: unknown, types?: FieldTypes): SalesforceRecord {
	const flat: SalesforceRecord = {};
	if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
		flattenInto(flat, '', record as Record<string, unknown>, types);
	}
	return flat;
}

/** Standard relationship names, for telling `Account: null` from `Email: null` without types. */
const STANDARD_RELATIONSHIPS = new Set(
	[
		'Account',
		'Campaign',
		'Case',
		'Contact',
		'CreatedBy',
		'Lead',
		'LastModifiedBy',
		'Manager',
		'MasterRecord',
		'Opportunity',
		'Owner',
		'Parent',
		'RecordType',
		'ReportsTo',
		'What',
		'Who',
	].map((name) => name.toLowerCase()),
);

/**
 * Whether a top-level REST key that is null is a relationship rather than a field. With field
 * types it is exact (a requested path goes through it); without, Salesforce's naming decides:
 * `__r`, a sibling lookup field (`AccountId`, `Owner__c`), or a standard relationship name.
 */
function isRelationshipKey(
	path: string,
	key: string,
	record: Record<string, unknown>,
	types: FieldTypes | undefined,
): boolean {
	const lowerPath = path.toLowerCase();
	if (types) {
		for (const typed of types.keys()) if (typed.startsWith(lowerPath + '.')) return true;
		if (types.has(lowerPath)) return false;
	}
	const lower = key.toLowerCase();
	if (lower.endsWith('__r')) return true;
	if (`${key}Id` in record || `${key}__c` in record) return true;
	return STANDARD_RELATIONSHIPS.has(lower);
}

/**
 * A Bulk CSV row → flat record with the same values a REST read gives: empty → null
 * (Bulk writes null as an empty field), booleans and numbers typed by `types`, datetimes
 * as ISO instants; everything else, dates included, stays text.
 */
export function coerceCsvRecord(row: Record<string, string>, types: FieldTypes): SalesforceRecord {
	const record: SalesforceRecord = {};
	for (const [key, text] of Object.entries(row)) {
		record[key] = coerceCsvValue(text, fieldKind(types, key));
	}
	return record;
}

/** One CSV field by its column's kind (see {@link coerceCsvRecord}). */
export function coerceCsvValue(text: string, kind: FieldKind | undefined): Value {
	if (text === '') return null;
	switch (kind) {
		case 'boolean':
			if (text === 'true') return true;
			if (text === 'false') return false;
			return text;
		case 'number': {
			const number = Number(text);
			return Number.isFinite(number) ? number : text;
		}
		case 'datetime':
			return normaliseDatetime(text);
		default:
			return text;
	}
}

/** A field by path, matching case-insensitively (Salesforce answers in its own spelling). */
export function getField(record: SalesforceRecord, path: string): Value | undefined {
	if (Object.prototype.hasOwnProperty.call(record, path)) return record[path];
	const wanted = path.toLowerCase();
	for (const key of Object.keys(record)) if (key.toLowerCase() === wanted) return record[key];
	return undefined;
}

/** The record's SystemModstamp in ms; 0 when it is missing or unreadable. */
export function readModstamp(record: SalesforceRecord): number {
	const value = getField(record, 'SystemModstamp');
	if (typeof value !== 'string') return 0;
	const ms = parseSalesforceDatetime(value);
	return Number.isFinite(ms) ? ms : 0;
}
