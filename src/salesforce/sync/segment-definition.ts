/**
 * What a Salesforce segment is: which records (an object with a condition, or a Campaign's
 * members), how a record becomes a campaign user's profile, and how it is synced.
 * `resolveSegmentDefinition` checks everything before any API call and derives the SOQL parts.
 */
import { createHash } from 'node:crypto';

import { InvalidInputError } from '../../errors';
import { assertSoqlCondition, assertSoqlIdentifier, escapeSoqlString } from '../soql';

export type SegmentSource =
	/** Records of one object (Contact, Lead, any custom object) matching a SOQL condition. */
	| { kind: 'records'; object: string; where?: string }
	/** Members of a Salesforce Campaign (CampaignMember rows), optionally only some statuses. */
	| { kind: 'campaignMembers'; campaignId: string; statuses?: string[] };

/** Field API names (relationship paths allowed, e.g. `Account.Name`) read into the profile. */
export interface SegmentFieldMapping {
	/** Field holding the campaign user id (e.g. `External_User_Id__c`). See {@link resolveUserId}. */
	userId?: string;
	/** Default `Email` on Contact, Lead and CampaignMember. */
	email?: string;
	/** Default `Phone` on Contact, Lead and CampaignMember. */
	phone?: string;
	/** Field holding an IANA time zone, e.g. `Time_Zone__c`. */
	timeZone?: string;
	/** Profile attribute name → field, e.g. `{ trialEndsOn: 'Trial_End__c', company: 'Account.Name' }`. */
	attributes?: Record<string, string>;
}

export interface SegmentDefinition {
	/** Stable name of the segment in the store; membership and mark are kept under it. */
	segmentId: string;
	source: SegmentSource;
	fields?: SegmentFieldMapping;
	/**
	 * When the user id field is empty: use the user id of an existing profile with the same
	 * email (webhook users), else the Salesforce id. Default true.
	 */
	matchProfilesByEmail?: boolean;
	/** Above this many records a read goes through Bulk API 2.0 (default 10,000). */
	bulkThreshold?: number;
	/** Incremental reads start this long before the mark (default 5 minutes). */
	overlapMs?: number;
	/**
	 * `auto` (default): re-read the whole segment on each sync when its condition uses a relative
	 * date literal (TODAY, NEXT_N_DAYS:3, …), since time alone changes who is in it, or when the
	 * condition or a mapped field reads related records (`Account.Industry`, a subquery such as
	 * `Id IN (SELECT ContactId FROM CampaignMember)`, a Campaign member's Contact or Lead fields),
	 * since their changes leave the record's own SystemModstamp alone; otherwise read only what
	 * changed. `always`: every sync is a full read. `changesOnly`: never re-read (conditions and
	 * fields on related records then stay as they were until the record itself changes).
	 */
	fullResync?: 'auto' | 'always' | 'changesOnly';
}

export const DEFAULT_BULK_THRESHOLD = 10_000;
export const DEFAULT_OVERLAP_MS = 5 * 60_000;

export interface ResolvedSegment {
	segmentId: string;
	object: string;
	/** The user's condition plus the source's own (Campaign id, statuses); undefined = none. */
	where?: string;
	/** Fields holding the person's Salesforce id, first non-empty wins (`Id`; `ContactId`, `LeadId`). */
	personIdFields: string[];
	/** Field paths read into the profile. */
	userId?: string;
	email?: string;
	phone?: string;
	timeZone?: string;
	attributes: Array<[name: string, path: string]>;
	matchProfilesByEmail: boolean;
	bulkThreshold: number;
	overlapMs: number;
	/** True when every sync must re-read the whole segment. */
	alwaysFull: boolean;
	/** Why every sync re-reads the whole segment, for the log; set when `alwaysFull`. */
	fullReadReason?: string;
	/** Changes when anything that decides membership or profile content changes. */
	definitionHash: string;
}

const OBJECTS_WITH_CONTACT_FIELDS = new Set(['contact', 'lead', 'campaignmember']);
const SALESFORCE_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/**
 * Relative date literals (SOQL reference "Date Formats and Date Literals"): a condition using
 * one selects different records tomorrow without any record changing.
 */
const RELATIVE_DATE_LITERAL =
	/\b(?:TODAY|YESTERDAY|TOMORROW|(?:LAST|THIS|NEXT)_(?:WEEK|MONTH|QUARTER|YEAR|FISCAL_QUARTER|FISCAL_YEAR|90_DAYS)|(?:LAST|NEXT)_N_[A-Z_]+:\d+|N_[A-Z_]+_AGO:\d+)\b/i;

/** True when the condition (outside string literals) uses a relative date literal. */
export function usesRelativeDateLiteral(condition: string | undefined): boolean {
	if (!condition) return false;
	const withoutLiterals = condition.replace(/'(?:\\.|[^'\\])*'/g, "''");
	return RELATIVE_DATE_LITERAL.test(withoutLiterals);
}

/**
 * Fields of CampaignMember that Salesforce derives from the member's Contact or Lead (read-only
 * there): an edit of the person changes them without touching the member's SystemModstamp.
 */
const CAMPAIGN_MEMBER_PERSON_FIELDS = new Set(
	[
		'City',
		'CompanyOrAccount',
		'Country',
		'Description',
		'DoNotCall',
		'Email',
		'Fax',
		'FirstName',
		'HasOptedOutOfEmail',
		'HasOptedOutOfFax',
		'LastName',
		'LeadSource',
		'MobilePhone',
		'Name',
		'Phone',
		'PostalCode',
		'Salutation',
		'State',
		'Street',
		'Title',
	].map((name) => name.toLowerCase()),
);

/** A relationship path (`Account.Industry`, `Owner.Manager.Email`), not part of a number or date. */
const RELATIONSHIP_PATH = /(?<![A-Za-z0-9_.:-])[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+/g;
/** A subquery (semi-join or anti-join) and the object it reads. */
const SUBQUERY = /\(\s*SELECT\b[^()]*?\bFROM\s+([A-Za-z][A-Za-z0-9_]*)/gi;
const WORD_TOKEN = /(?<![A-Za-z0-9_.])[A-Za-z][A-Za-z0-9_]*(?![A-Za-z0-9_.])/g;

/**
 * What in a condition (outside string literals) reads records other than the segment's own:
 * relationship paths (`Account.Industry`), subqueries (`Id IN (SELECT ContactId FROM
 * CampaignMember …)`, as "a subquery on CampaignMember"), and on CampaignMember the fields it
 * takes from the Contact or Lead. Changes of those records leave the record's SystemModstamp
 * alone, so a sync that reads only changed records would miss them. Empty when none.
 */
export function relatedRecordReferences(condition: string | undefined, object?: string): string[] {
	if (!condition) return [];
	const withoutLiterals = condition.replace(/'(?:\\.|[^'\\])*'/g, "''");
	const found = new Set<string>();
	for (const match of withoutLiterals.matchAll(SUBQUERY)) found.add(`a subquery on ${match[1]}`);
	for (const match of withoutLiterals.matchAll(RELATIONSHIP_PATH)) found.add(match[0]);
	if (object?.toLowerCase() === 'campaignmember') {
		for (const match of withoutLiterals.matchAll(WORD_TOKEN)) {
			if (CAMPAIGN_MEMBER_PERSON_FIELDS.has(match[0].toLowerCase())) found.add(match[0]);
		}
	}
	return [...found];
}

/** Mapped field paths that read related records (see {@link relatedRecordReferences}). */
function relatedFieldPaths(object: string, paths: readonly string[]): string[] {
	const personFields = object.toLowerCase() === 'campaignmember';
	return paths.filter(
		(path) =>
			path.includes('.') || (personFields && CAMPAIGN_MEMBER_PERSON_FIELDS.has(path.toLowerCase())),
	);
}

/** Why every sync of a segment must read it whole under `fullResync: 'auto'`, if it must. */
function fullReadReason(
	object: string,
	userCondition: string | undefined,
	mappedPaths: readonly string[],
): string | undefined {
	if (usesRelativeDateLiteral(userCondition)) {
		return 'the condition uses a relative date literal (TODAY, NEXT_N_DAYS:n, …), so time alone changes who is in it';
	}
	const inCondition = relatedRecordReferences(userCondition, object);
	if (inCondition.length > 0) {
		return `the condition reads related records (${inCondition.join(', ')}), whose changes leave the ${object}'s SystemModstamp alone`;
	}
	const inFields = relatedFieldPaths(object, mappedPaths);
	if (inFields.length > 0) {
		return `mapped fields read related records (${inFields.join(', ')}), whose changes leave the ${object}'s SystemModstamp alone`;
	}
	return undefined;
}

function mapped(
	value: unknown,
	field: string,
	defaultPath: string | undefined,
): string | undefined {
	if (value === undefined || value === null || value === '') return defaultPath;
	if (typeof value !== 'string') {
		throw new InvalidInputError(field, 'must be a field API name, e.g. Email or Account.Name.');
	}
	return assertSoqlIdentifier(value.trim(), field, { allowRelationship: true });
}

function positiveInteger(value: unknown, field: string, fallback: number): number {
	if (value === undefined) return fallback;
	if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
		throw new InvalidInputError(
			field,
			`must be a whole number of at least 0, got ${String(value)}.`,
		);
	}
	return value;
}

/** Checks a definition and derives what a sync needs; throws {@link InvalidInputError} naming the field. */
export function resolveSegmentDefinition(definition: SegmentDefinition): ResolvedSegment {
	if (typeof definition?.segmentId !== 'string' || definition.segmentId.trim() === '') {
		throw new InvalidInputError('segmentId', 'must be a non-empty name, e.g. "trial-ending".');
	}
	const source = definition.source;
	let object: string;
	let where: string | undefined;
	let personIdFields: string[];
	let userCondition: string | undefined;
	if (source?.kind === 'records') {
		object = assertSoqlIdentifier(source.object, 'source.object');
		if (source.where !== undefined && source.where.trim() !== '') {
			userCondition = assertSoqlCondition(source.where, 'source.where');
			where = userCondition;
		}
		personIdFields = ['Id'];
	} else if (source?.kind === 'campaignMembers') {
		const campaignId = typeof source.campaignId === 'string' ? source.campaignId.trim() : '';
		if (!SALESFORCE_ID.test(campaignId)) {
			throw new InvalidInputError(
				'source.campaignId',
				`"${String(source.campaignId)}" is not a Salesforce id; copy the 15 or 18 character id from the Campaign's URL (it starts with 701).`,
			);
		}
		object = 'CampaignMember';
		const conditions = [`CampaignId = '${escapeSoqlString(campaignId)}'`];
		const statuses = source.statuses ?? [];
		if (!Array.isArray(statuses) || statuses.some((s) => typeof s !== 'string' || s === '')) {
			throw new InvalidInputError(
				'source.statuses',
				'must be a list of member status names, e.g. ["Sent", "Responded"].',
			);
		}
		if (statuses.length > 0) {
			conditions.push(`Status IN (${statuses.map((s) => `'${escapeSoqlString(s)}'`).join(', ')})`);
		}
		where = conditions.join(' AND ');
		personIdFields = ['ContactId', 'LeadId'];
	} else {
		throw new InvalidInputError(
			'source.kind',
			"must be 'records' (an object and a condition) or 'campaignMembers' (a Campaign id).",
		);
	}

	const fields = definition.fields ?? {};
	const withContactDefaults = OBJECTS_WITH_CONTACT_FIELDS.has(object.toLowerCase());
	const attributes: Array<[string, string]> = [];
	for (const [name, path] of Object.entries(fields.attributes ?? {})) {
		if (name.trim() === '') {
			throw new InvalidInputError(
				'fields.attributes',
				'an attribute name is empty; name each attribute, e.g. trialEndsOn.',
			);
		}
		const field = mapped(path, `fields.attributes.${name}`, undefined);
		if (field === undefined) {
			throw new InvalidInputError(
				`fields.attributes.${name}`,
				'enter the field API name to read, e.g. Trial_End__c.',
			);
		}
		attributes.push([name, field]);
	}

	const fullResync = definition.fullResync ?? 'auto';
	if (!['auto', 'always', 'changesOnly'].includes(fullResync)) {
		throw new InvalidInputError('fullResync', "must be 'auto', 'always' or 'changesOnly'.");
	}
	const resolved: Omit<ResolvedSegment, 'definitionHash' | 'alwaysFull'> = {
		segmentId: definition.segmentId.trim(),
		object,
		where,
		personIdFields,
		userId: mapped(fields.userId, 'fields.userId', undefined),
		email: mapped(fields.email, 'fields.email', withContactDefaults ? 'Email' : undefined),
		phone: mapped(fields.phone, 'fields.phone', withContactDefaults ? 'Phone' : undefined),
		timeZone: mapped(fields.timeZone, 'fields.timeZone', undefined),
		attributes,
		matchProfilesByEmail: definition.matchProfilesByEmail ?? true,
		bulkThreshold: positiveInteger(
			definition.bulkThreshold,
			'bulkThreshold',
			DEFAULT_BULK_THRESHOLD,
		),
		overlapMs: positiveInteger(definition.overlapMs, 'overlapMs', DEFAULT_OVERLAP_MS),
	};
	const reason =
		fullResync === 'always'
			? "fullResync is 'always' (Re-Read Whole Segment: Always)"
			: fullResync === 'auto'
				? fullReadReason(
						object,
						userCondition,
						selectedFieldPaths({ ...resolved, alwaysFull: false, definitionHash: '' }),
					)
				: undefined;
	const definitionHash = createHash('sha256')
		.update(
			JSON.stringify([
				resolved.object,
				resolved.where ?? '',
				resolved.personIdFields,
				resolved.userId,
				resolved.email,
				resolved.phone,
				resolved.timeZone,
				resolved.attributes,
				resolved.matchProfilesByEmail,
			]),
		)
		.digest('hex')
		.slice(0, 32);
	return {
		...resolved,
		alwaysFull: reason !== undefined,
		...(reason === undefined ? {} : { fullReadReason: reason }),
		definitionHash,
	};
}

/** Every field path a sync selects (besides Id and SystemModstamp, which the query adds). */
export function selectedFieldPaths(segment: ResolvedSegment): string[] {
	const paths = [...segment.personIdFields];
	for (const field of [segment.userId, segment.email, segment.phone, segment.timeZone]) {
		if (field) paths.push(field);
	}
	for (const [, path] of segment.attributes) paths.push(path);
	const seen = new Set<string>();
	return paths.filter((path) => {
		const key = path.toLowerCase();
		if (seen.has(key)) return false;
		seen.add(key);
		return true;
	});
}
