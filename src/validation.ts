import { InvalidInputError } from './errors';

/** A JSON object from a parameter that may hold JSON text or an object already. */
export function parseJsonObject(value: unknown, field: string): Record<string, unknown> {
	let parsed = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value.trim() === '' ? '{}' : value);
		} catch (error) {
			throw new InvalidInputError(field, `is not valid JSON (${(error as Error).message}).`);
		}
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw new InvalidInputError(field, 'must be a JSON object, e.g. {"plan": "trial"}.');
	}
	return parsed as Record<string, unknown>;
}

/** Trimmed non-empty text, or an error naming the field with a hint of what to give. */
export function requireText(value: unknown, field: string, hint: string): string {
	const text = value === undefined || value === null ? '' : String(value).trim();
	if (!text) throw new InvalidInputError(field, `is empty; ${hint}`);
	return text;
}
