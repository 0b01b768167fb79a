/** Conversions between what callers hand the fake and how it keeps and prints values. */
import type { ResolvedField } from './schema';

export const DAY_MS = 86_400_000;

/** Internal form: datetime → epoch ms, date → 'YYYY-MM-DD', numbers, booleans, strings, null. */
export function normalizeValue(field: ResolvedField, value: unknown): unknown {
	if (value === undefined || value === null || value === '') return null;
	switch (field.type) {
		case 'datetime':
			return toEpochMs(value, field.name);
		case 'date':
			return toIsoDate(value, field.name);
		case 'boolean':
			if (typeof value === 'boolean') return value;
			if (value === 'true' || value === 'false') return value === 'true';
			throw new TypeError(`Field ${field.name} expects a boolean, got ${JSON.stringify(value)}`);
		case 'int':
		case 'double':
		case 'currency':
		case 'percent': {
			const number = typeof value === 'number' ? value : Number(value);
			if (!Number.isFinite(number)) {
				throw new TypeError(`Field ${field.name} expects a number, got ${JSON.stringify(value)}`);
			}
			return field.type === 'int' ? Math.trunc(number) : number;
		}
		default:
			if (typeof value !== 'string') {
				throw new TypeError(`Field ${field.name} expects text, got ${JSON.stringify(value)}`);
			}
			return value;
	}
}

function toEpochMs(value: unknown, fieldName: string): number {
	if (typeof value === 'number') return value;
	if (value instanceof Date) return value.getTime();
	if (typeof value === 'string') {
		// Salesforce prints offsets without a colon (+0000); Date.parse wants +00:00.
		const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
		if (!Number.isNaN(ms)) return ms;
	}
	throw new TypeError(`Field ${fieldName} expects a datetime, got ${JSON.stringify(value)}`);
}

function toIsoDate(value: unknown, fieldName: string): string {
	if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
	if (value instanceof Date || typeof value === 'number') {
		return new Date(value).toISOString().slice(0, 10);
	}
	throw new TypeError(
		`Field ${fieldName} expects a date (YYYY-MM-DD), got ${JSON.stringify(value)}`,
	);
}

export function isoDateToDay(isoDate: string): number {
	return Math.floor(Date.parse(isoDate + 'T00:00:00Z') / DAY_MS);
}

/** REST JSON form: 2026-11-23T10:00:00.000+0000. */
export function formatRestDatetime(ms: number): string {
	return new Date(ms).toISOString().replace('Z', '+0000');
}

/** Bulk CSV form: 2026-11-23T10:00:00.000Z. */
export function formatCsvDatetime(ms: number): string {
	return new Date(ms).toISOString();
}

export function formatRestValue(field: ResolvedField, value: unknown): unknown {
	if (value === null || value === undefined) return null;
	if (field.type === 'datetime') return formatRestDatetime(value as number);
	return value;
}

export function formatCsvValue(field: ResolvedField, value: unknown): string | null {
	if (value === null || value === undefined) return null;
	if (field.type === 'datetime') return formatCsvDatetime(value as number);
	return String(value);
}
