/**
 * Turns one page of Salesforce records into what the store stages: a membership row and a
 * profile update per record. The user id rule lives here (see {@link resolveUserId}).
 */
import { isKnownTimeZone } from '../../time/time-zone';
import type { ProfileUpdate } from '../../store/campaign-store';
import type { SegmentRecordRow, SegmentStore } from '../../store/segment-store';
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
 * The campaign user a record is: the user id field when set; else, with email matching on,
 * the user of an existing profile with the same email (someone who arrived through webhooks);
 * else the person's Salesforce id, so the same record always maps to the same user.
 */
export function resolveUserId(
	record: SalesforceRecord,
	segment: ResolvedSegment,
	personId: string,
	usersByEmail: ReadonlyMap<string, string>,
): string {
	const fromField = segment.userId ? text(getField(record, segment.userId)) : undefined;
	if (fromField !== undefined) return fromField;
	if (segment.matchProfilesByEmail && segment.email) {
		const email = text(getField(record, segment.email))?.toLowerCase();
		const known = email === undefined ? undefined : usersByEmail.get(email);
		if (known !== undefined) return known;
	}
	return personId;
}

export async function mapRecords(
	records: readonly SalesforceRecord[],
	segment: ResolvedSegment,
	store: SegmentStore,
): Promise<MappedPage> {
	let usersByEmail: ReadonlyMap<string, string> = new Map();
	if (segment.matchProfilesByEmail && segment.email) {
		const emails = new Set<string>();
		for (const record of records) {
			const email = text(getField(record, segment.email));
			if (email !== undefined) emails.add(email.toLowerCase());
		}
		if (emails.size > 0) usersByEmail = await store.findUserIdsByEmail([...emails]);
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
		const userId = resolveUserId(record, segment, personId, usersByEmail);
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
