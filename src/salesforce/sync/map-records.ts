/**
 * Turns one page of Salesforce records into what the store stages: a membership row and a
 * profile update per record. The user id rule lives here (see {@link resolveUserId}).
 */
import { isKnownTimeZone } from '../../time/time-zone';
import type {
	CampaignStore,
	EmailProfile,
	ProfileUpdate,
	SegmentRecordRow,
} from '../../store/campaign-store';
import type { SalesforceRecord } from '../api/types';
import { getField, readModstamp } from '../records';
import type { ResolvedSegment } from './segment-definition';

/** Key of the Salesforce id in a profile's `externalIds`. */
export const SALESFORCE_EXTERNAL_ID = 'salesforce';

export interface MappedPage {
	matched: SegmentRecordRow[];
	profiles: ProfileUpdate[];
	/** Records whose time zone field held something that is not an IANA zone (left unset). */
	invalidTimeZones: number;
}

function text(value: unknown): string | undefined {
	if (value === null || value === undefined) return undefined;
	const result = typeof value === 'string' ? value.trim() : String(value);
	return result === '' ? undefined : result;
}

/**
 * Which person (Salesforce id) each user id of the profiles mapped but not yet written to the
 * store belongs to, so a later record sees the claim as it would in the store. The caller
 * keeps one per sync and clears it once the mapped profiles are staged.
 */
export type PendingClaims = Map<string, string>;

/**
 * The campaign user a record is:
 * 1. the user id field, when set;
 * 2. else, with email matching on, a profile with the same email that is this person's
 *    already (its external id `salesforce` is the person's id), or else one that is no
 *    Salesforce record's yet (someone who arrived through webhooks), which the record then
 *    claims: the first record read claims it (records are read oldest change first,
 *    `SystemModstamp, Id`, the same order through REST and Bulk, so page sizes do not matter);
 * 3. else the person's Salesforce id, so the same record always maps to the same user.
 * A profile that is another Salesforce record's is never matched by email: two records that
 * share an email stay two users, and neither's fields land on the other's profile.
 */
export function resolveUserId(
	record: SalesforceRecord,
	segment: ResolvedSegment,
	personId: string,
	profilesByEmail: ReadonlyMap<string, readonly EmailProfile[]>,
	claims: PendingClaims = new Map(),
): string {
	const fromField = segment.userId ? text(getField(record, segment.userId)) : undefined;
	if (fromField !== undefined) return fromField;
	if (segment.matchProfilesByEmail && segment.email) {
		const email = text(getField(record, segment.email))?.toLowerCase();
		const profiles = email === undefined ? [] : (profilesByEmail.get(email) ?? []);
		const owner = (profile: EmailProfile) => claims.get(profile.userId) ?? profile.salesforceId;
		const own = profiles.find((profile) => owner(profile) === personId);
		if (own !== undefined) return own.userId;
		const unclaimed = profiles.find((profile) => owner(profile) === undefined);
		if (unclaimed !== undefined) return unclaimed.userId;
	}
	return personId;
}

export async function mapRecords(
	records: readonly SalesforceRecord[],
	segment: ResolvedSegment,
	store: CampaignStore,
	claims: PendingClaims = new Map(),
): Promise<MappedPage> {
	let profilesByEmail: ReadonlyMap<string, readonly EmailProfile[]> = new Map();
	if (segment.matchProfilesByEmail && segment.email) {
		const emails = new Set<string>();
		for (const record of records) {
			const email = text(getField(record, segment.email));
			if (email !== undefined) emails.add(email.toLowerCase());
		}
		if (emails.size > 0) profilesByEmail = await store.findProfilesByEmail([...emails]);
	}
	const page: MappedPage = { matched: [], profiles: [], invalidTimeZones: 0 };
	for (const record of records) {
		const recordId = text(record.Id);
		if (recordId === undefined) continue;
		let personId = recordId;
		for (const path of segment.personIdFields) {
			const value = text(getField(record, path));
			if (value !== undefined) {
				personId = value;
				break;
			}
		}
		const userId = resolveUserId(record, segment, personId, profilesByEmail, claims);
		// The profile update below makes the user this person's (external id `salesforce`).
		if (!claims.has(userId)) claims.set(userId, personId);
		page.matched.push({ recordId, userId, modstamp: readModstamp(record) });

		const profile: ProfileUpdate = {
			userId,
			externalIds: { salesforce: personId } satisfies Record<typeof SALESFORCE_EXTERNAL_ID, string>,
		};
		const email = segment.email ? text(getField(record, segment.email)) : undefined;
		if (email !== undefined) profile.email = email;
		const phone = segment.phone ? text(getField(record, segment.phone)) : undefined;
		if (phone !== undefined) profile.phone = phone;
		const zone = segment.timeZone ? text(getField(record, segment.timeZone)) : undefined;
		if (zone !== undefined) {
			if (isKnownTimeZone(zone)) profile.timeZone = zone;
			else page.invalidTimeZones++;
		}
		if (segment.attributes.length > 0) {
			const attributes: Record<string, unknown> = {};
			for (const [name, path] of segment.attributes)
				attributes[name] = getField(record, path) ?? null;
			profile.attributes = attributes;
		}
		page.profiles.push(profile);
	}
	return page;
}
