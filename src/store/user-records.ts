import { createHmac, randomBytes, randomUUID } from 'node:crypto';

import { InvalidInputError } from '../errors';
import {
	ERASED_TABLES,
	type ErasedTable,
	type ErasureResult,
	type UserRecordsQuery,
} from './campaign-store';

export type {
	EntryConversion,
	ErasedTable,
	ErasureResult,
	UserRecords,
	UserRecordsQuery,
	UserScheduledStep,
	UserSegmentMembership,
} from './campaign-store';
import {
	checkConversionRule,
	MAX_CONVERSION_WINDOW_MS,
	type PreparedConversion,
} from './report-queries';
import { checkTime } from './send-requests';

export function checkUserRecordsQuery(query: UserRecordsQuery): {
	userId: string;
	campaignId?: string;
	conversion?: PreparedConversion;
	now: number;
} {
	const userId = checkUserId(query?.userId);
	const campaignId = query.campaignId?.trim() ? query.campaignId.trim() : undefined;
	return {
		userId,
		campaignId,
		conversion: query.conversion ? checkConversionRule(query.conversion) : undefined,
		now: checkTime(query.now, 'now'),
	};
}

export function checkUserId(userId: unknown): string {
	if (typeof userId !== 'string' || userId.trim() === '') {
		throw new InvalidInputError(
			'userId',
			`must be a non-empty string, not ${JSON.stringify(userId)}.`,
		);
	}
	return userId;
}

export function emptyErasure(userId: string, erasedAt: number): ErasureResult {
	return {
		userId,
		found: false,
		deleted: Object.fromEntries(ERASED_TABLES.map((table) => [table, 0])) as Record<
			ErasedTable,
			number
		>,
		anonymized: { events: 0, campaign_entries: 0, sends: 0, cap_decisions: 0 },
		erasedAt,
	};
}

/**
 * How one user's rows are kept for the report, decided before the transaction writes: a random
 * tombstone user id, new random ids for every entry, event and send key (the old ones appear in
 * execution logs beside the user id), and the span of events a conversion rule could ever count.
 */
export interface ErasurePlan {
	tombstoneUserId: string;
	entryIds: Map<string, string>;
	messageIds: Map<string, string>;
	/** Events in [from, to] are kept, pseudonymized; the others are deleted. */
	keepEvents: { from: number; to: number } | undefined;
	pseudonymize: (properties: Record<string, unknown>) => Record<string, unknown>;
	newKey: () => string;
}

/**
 * The user's entries need their trigger events (a conversion's Match Property compares with
 * them) and the events a conversion window could hold: the window opens at the trigger or the
 * first send, at most 90 days long. Events outside that span can never count and are deleted.
 */
export function planErasure(
	entries: Array<{ entryId: string; triggeredAt: number }>,
	lastSentAt: number | undefined,
): ErasurePlan {
	const key = randomBytes(32);
	const keepEvents = entries.length
		? {
				from: Math.min(...entries.map((entry) => entry.triggeredAt)),
				to:
					Math.max(lastSentAt ?? 0, ...entries.map((entry) => entry.triggeredAt)) +
					MAX_CONVERSION_WINDOW_MS,
			}
		: undefined;
	return {
		tombstoneUserId: `erased:${randomUUID()}`,
		entryIds: new Map(entries.map((entry) => [entry.entryId, randomUUID()])),
		messageIds: new Map(),
		keepEvents,
		pseudonymize: (properties) => pseudonymizeValue(key, properties) as Record<string, unknown>,
		newKey: () => `erased:${randomUUID()}`,
	};
}

/**
 * Strings and numbers become a keyed hash of their text, with a key that is thrown away after
 * the erasure: equal values stay equal (a Match Property still matches the same cart) and
 * nothing can be read back. Names of properties, booleans and nulls stay.
 */
function pseudonymizeValue(key: Buffer, value: unknown): unknown {
	if (Array.isArray(value)) return value.map((item) => pseudonymizeValue(key, item));
	if (value !== null && typeof value === 'object') {
		return Object.fromEntries(
			Object.entries(value).map(([name, item]) => [name, pseudonymizeValue(key, item)]),
		);
	}
	if (typeof value === 'string' || typeof value === 'number') {
		return `erased:${createHmac('sha256', key).update(String(value)).digest('hex').slice(0, 24)}`;
	}
	return value;
}
