/**
 * Field kinds for a sync's selected fields, from the object's describe (and, for relationship
 * paths, the related objects'). Also the first check of every name: an unknown field is an
 * error naming it, with the close matches, before anything is read.
 */
import { InvalidInputError } from '../errors';
import { SalesforceApiError } from './api/errors';
import type { SalesforceRequester } from './api/types';
import type { FieldKind, FieldTypes } from './records';

/** The parts of a describe's field the sync needs. */
export interface DescribedField {
	name: string;
	type: string;
	relationshipName?: string | null;
	referenceTo?: string[];
}

/** Object name (lower-case) → its fields; pass one in to share describes between calls. */
export type DescribeCache = Map<string, DescribedField[]>;

const NUMBER_TYPES = new Set(['int', 'double', 'currency', 'percent', 'long']);
const MAX_SUGGESTIONS = 5;

export function fieldKindOfType(type: string): FieldKind {
	if (type === 'boolean') return 'boolean';
	if (NUMBER_TYPES.has(type)) return 'number';
	if (type === 'datetime') return 'datetime';
	return 'string';
}

/**
 * Names close to a mistyped one, case-insensitively and ignoring underscores (the usual
 * mistake is `Trial_End_c` for `Trial_End__c`): equal first, then prefixes, then contains,
 * then small typos (`Acount`).
 */
export function closeMatches(name: string, candidates: string[]): string[] {
	// `Trial_End_c`, `trial_end__c` and `TrialEnd` all squash to `trialend`.
	const squash = (text: string) =>
		text
			.toLowerCase()
			.replace(/_+[a-z]$/, '')
			.replace(/_/g, '');
	const wanted = squash(name);
	if (wanted === '') return [];
	const ranked: Array<{ candidate: string; rank: number }> = [];
	for (const candidate of candidates) {
		const squashed = squash(candidate);
		let rank: number | undefined;
		if (squashed === wanted) rank = 0;
		else if (squashed.startsWith(wanted) || wanted.startsWith(squashed)) rank = 1;
		else if (squashed.includes(wanted) || wanted.includes(squashed)) rank = 2;
		else if (editDistance(squashed, wanted) <= Math.max(1, Math.floor(wanted.length / 4))) rank = 3;
		if (rank !== undefined && squashed.length > 1) ranked.push({ candidate, rank });
	}
	return ranked
		.sort((a, b) => a.rank - b.rank)
		.slice(0, MAX_SUGGESTIONS)
		.map((entry) => entry.candidate);
}

/** Levenshtein distance, for the short names of one object's fields. */
function editDistance(a: string, b: string): number {
	let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
	for (let i = 1; i <= a.length; i++) {
		const current = [i];
		for (let j = 1; j <= b.length; j++) {
			const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
			current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
		}
		previous = current;
	}
	return previous[b.length];
}

function suggestion(near: string[], otherwise: string): string {
	return near.length > 0 ? `; did you mean ${near.join(', ')}?` : `; ${otherwise}`;
}

/**
 * Describes `object` and each object a relationship path goes through (each once per call, or
 * once per `cache`), and returns the kind of every path in `fieldPaths` plus Id,
 * SystemModstamp and IsDeleted. Throws InvalidInputError('object') for an unknown object and
 * InvalidInputError('fields') naming the path and the close matches for an unknown field.
 */
export async function describeFieldTypes(
	api: SalesforceRequester,
	object: string,
	fieldPaths: string[],
	cache: DescribeCache = new Map(),
): Promise<FieldTypes> {
	const describe = async (name: string, inputField: string): Promise<DescribedField[]> => {
		const cached = cache.get(name.toLowerCase());
		if (cached) return cached;
		let fields: DescribedField[];
		try {
			const response = await api.request({
				method: 'GET',
				path: `/sobjects/${encodeURIComponent(name)}/describe`,
			});
			fields = (response.json as { fields?: DescribedField[] } | undefined)?.fields ?? [];
		} catch (error) {
			if (
				error instanceof SalesforceApiError &&
				(error.status === 404 || error.errorCode === 'NOT_FOUND')
			) {
				throw new InvalidInputError(
					inputField,
					`${name} is not an object in this org (or the user cannot see it); use the object's API name, e.g. Contact, Lead or Trial__c.`,
				);
			}
			throw error;
		}
		cache.set(name.toLowerCase(), fields);
		return fields;
	};

	const types: FieldTypes = new Map([
		['id', 'string'],
		['systemmodstamp', 'datetime'],
		['isdeleted', 'boolean'],
	]);
	await describe(object, 'object');
	for (const path of fieldPaths) {
		const segments = path.split('.');
		const quoted = (segment: string) =>
			segments.length === 1 ? `'${path}'` : `'${path}': '${segment}'`;
		let current = object;
		for (let index = 0; index < segments.length; index++) {
			const fields = await describe(current, 'fields');
			const segment = segments[index];
			const wanted = segment.toLowerCase();
			if (index === segments.length - 1) {
				const field = fields.find((candidate) => candidate.name.toLowerCase() === wanted);
				if (!field) {
					const near = closeMatches(
						segment,
						fields.map((candidate) => candidate.name),
					);
					throw new InvalidInputError(
						'fields',
						`${quoted(segment)} is not a field of ${current}${suggestion(near, 'check the API name in Setup → Object Manager (custom fields end in __c).')}`,
					);
				}
				types.set(path.toLowerCase(), fieldKindOfType(field.type));
			} else {
				const reference = fields.find(
					(candidate) => candidate.relationshipName?.toLowerCase() === wanted,
				);
				if (!reference?.referenceTo?.length) {
					const near = closeMatches(
						segment,
						fields.flatMap((candidate) =>
							candidate.relationshipName ? [candidate.relationshipName] : [],
						),
					);
					throw new InvalidInputError(
						'fields',
						`${quoted(segment)} is not a relationship of ${current}${suggestion(near, 'use the relationship name (Account, not AccountId; Owner__r for a custom lookup Owner__c).')}`,
					);
				}
				current = reference.referenceTo[0];
			}
		}
	}
	return types;
}

/**
 * Field kinds already described in this process, per org, API version, object and field list.
 * A poll a minute would otherwise spend half its requests on describe. Entries expire, and a
 * failed sync forgets its entry, so a renamed field gets the describe's "did you mean" again.
 */
const FIELD_TYPES_TTL_MS = 10 * 60_000;
const describedFieldTypes = new Map<string, { types: FieldTypes; expiresAt: number }>();

/** `describeFieldTypes` through the process cache when `scope` (org and version) is known. */
export async function cachedFieldTypes(
	api: SalesforceRequester,
	scope: string | undefined,
	object: string,
	fieldPaths: string[],
	now: number,
): Promise<{ types: FieldTypes; forget: () => void }> {
	const key =
		scope === undefined ? undefined : `${scope}|${object}|${fieldPaths.join(',')}`.toLowerCase();
	const forget = () => {
		if (key !== undefined) describedFieldTypes.delete(key);
	};
	const hit = key === undefined ? undefined : describedFieldTypes.get(key);
	if (hit && hit.expiresAt > now) return { types: hit.types, forget };
	const types = await describeFieldTypes(api, object, fieldPaths);
	if (key !== undefined)
		describedFieldTypes.set(key, { types, expiresAt: now + FIELD_TYPES_TTL_MS });
	return { types, forget };
}

/** Forgets every cached describe (tests; a process that changed the org's schema). */
export function clearDescribeCache(): void {
	describedFieldTypes.clear();
}
