/**
 * Turns one page of Salesforce records into what the store stages: a membership row and a
 * profile update per record. The user id rule lives here (see {@link resolveUserId}).
 */
import { isKnownTimeZone } from '../../time/time-zone';
import type { ProfileUpdate } from '../../store/campaign-store';
import type { EmailProfile, SegmentRecordRow, SegmentStore } from '../../store/segment-store';
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
 * Which of these user ids a record of the segment holds in its user id field: such a profile
 * is that record's, and no other record joins it by email.
 */
export type HeldUserIds = (userIds: string[]) => Promise<ReadonlySet<string>>;

/** Owner of a profile held through a user id field by a record not read yet. */
const HELD_BY_USER_ID_FIELD = Symbol('held by a user id field');

/**
 * The campaign user a record is:
 * 1. the user id field, when set;
 * 2. else, with email matching on, a profile with the same email that is this person's
 *    already (its external id `salesforce` is the person's id), or else one that is no
 *    Salesforce record's yet (someone who arrived through webhooks), which the record then
 *    claims: the first record read claims it (records are read oldest change first,
 *    `SystemModstamp, Id`, the same order through REST and Bulk, so page sizes do not matter);
 * 3. else the person's Salesforce id, so the same record always maps to the same user.
 * A profile that is another Salesforce record's is never matched by email, nor one a record
 * of the segment names in its user id field (`held`): two records that share an email stay
 * two users, and neither's fields land on the other's profile.
 */
export function resolveUserId(
	record: SalesforceRecord,
	segment: ResolvedSegment,
	personId: string,
	profilesByEmail: ReadonlyMap<string, readonly EmailProfile[]>,
	claims: PendingClaims = new Map(),
	held: ReadonlySet<string> = new Set(),
): string {
	const fromField = segment.userId ? text(getField(record, segment.userId)) : undefined;
	if (fromField !== undefined) return fromField;
	if (segment.matchProfilesByEmail && segment.email) {
		const email = text(getField(record, segment.email))?.toLowerCase();
		const profiles = email === undefined ? [] : (profilesByEmail.get(email) ?? []);
		const owner = (profile: EmailProfile) =>
			claims.get(profile.userId) ??
			profile.salesforceId ??
			(held.has(profile.userId) ? HELD_BY_USER_ID_FIELD : undefined);
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
	store: SegmentStore,
	claims: PendingClaims = new Map(),
	heldUserIds?: HeldUserIds,
): Promise<MappedPage> {
	let profilesByEmail: ReadonlyMap<string, readonly EmailProfile[]> = new Map();
	let held: ReadonlySet<string> = new Set();
	if (segment.matchProfilesByEmail && segment.email) {
		const emails = new Set<string>();
		for (const record of records) {
			if (segment.userId && text(getField(record, segment.userId)) !== undefined) continue;
			const email = text(getField(record, segment.email));
			if (email !== undefined) emails.add(email.toLowerCase());
		}
		if (emails.size > 0) profilesByEmail = await store.findProfilesByEmail([...emails]);
		// Profiles a record could join by email: ask whether a record of the segment (maybe one
		// read later) names one of them in its user id field, so the outcome is the same
		// whichever of the two is read first.
		const unclaimed = new Set<string>();
		for (const profiles of profilesByEmail.values()) {
			for (const profile of profiles) {
				if (profile.salesforceId === undefined && !claims.has(profile.userId)) {
					unclaimed.add(profile.userId);
				}
			}
		}
		if (segment.userId && heldUserIds && unclaimed.size > 0) {
			held = await heldUserIds([...unclaimed]);
		}
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
		const userId = resolveUserId(record, segment, personId, profilesByEmail, claims, held);
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
