import { InvalidInputError } from '../errors';
import type {
	EmailProfile,
	SegmentChange,
	SegmentCommitRequest,
	SegmentMember,
	SegmentSyncPage,
	SegmentSyncState,
} from './segment-store';
import { checkTime } from './send-requests';

/**
 * What both backends share about synced segments: input checks, folding a page into one
 * staged row per record, the retention periods, and the row shapes of the segment tables.
 */

/** Staging of a sync that staged no page for this long is abandoned and pruned. */
export const STAGING_TTL_MS = 24 * 60 * 60 * 1000;
/** Changes are kept this long after they happened, for triggers that poll late. */
export const CHANGES_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** Page size of the list methods when the caller gives none. */
export const DEFAULT_SEGMENT_PAGE = 1000;

/** One record of a page as it is staged: flags merged, the newest matched row kept. */
export interface StagedRecord {
	recordId: string;
	/** Set when `matched`. */
	userId: string | null;
	modstamp: number | null;
	matched: boolean;
	touched: boolean;
	deleted: boolean;
}

function text(value: unknown, field: string): string {
	if (typeof value !== 'string' || value === '') {
		throw new InvalidInputError(field, `must be a non-empty string, not ${JSON.stringify(value)}.`);
	}
	return value;
}

/** Checks a page and folds repeats of a record into one row, as staging merges across pages. */
export function foldSegmentPage(page: SegmentSyncPage): StagedRecord[] {
	text(page.segmentId, 'segmentId');
	text(page.syncId, 'syncId');
	checkTime(page.now, 'now');
	const byId = new Map<string, StagedRecord>();
	const row = (recordId: unknown, field: string): StagedRecord => {
		const id = text(recordId, field);
		let staged = byId.get(id);
		if (!staged) {
			staged = {
				recordId: id,
				userId: null,
				modstamp: null,
				matched: false,
				touched: false,
				deleted: false,
			};
			byId.set(id, staged);
		}
		return staged;
	};
	for (const matched of page.matched) {
		const staged = row(matched.recordId, 'matched.recordId');
		const userId = text(matched.userId, 'matched.userId');
		const modstamp = checkTime(matched.modstamp, 'matched.modstamp');
		// The newest modstamp wins; on a tie the later row, as the later page would.
		if (!staged.matched || modstamp >= staged.modstamp!) {
			staged.userId = userId;
			staged.modstamp = modstamp;
		}
		staged.matched = true;
	}
	for (const id of page.touched) row(id, 'touched').touched = true;
	for (const id of page.deleted) row(id, 'deleted').deleted = true;
	// Record order: concurrent writers then lock staging rows in one order.
	return [...byId.values()].sort((a, b) =>
		a.recordId < b.recordId ? -1 : a.recordId > b.recordId ? 1 : 0,
	);
}

export function checkSegmentCommit(request: SegmentCommitRequest): void {
	text(request.segmentId, 'segmentId');
	text(request.syncId, 'syncId');
	if (request.mode !== 'full' && request.mode !== 'incremental') {
		throw new InvalidInputError(
			'mode',
			`must be 'full' or 'incremental', not ${String(request.mode)}.`,
		);
	}
	if (!Number.isSafeInteger(request.expectedVersion) || request.expectedVersion < 0) {
		throw new InvalidInputError(
			'expectedVersion',
			`must be a whole number of at least 0, not ${String(request.expectedVersion)}.`,
		);
	}
	if (typeof request.definitionHash !== 'string') {
		throw new InvalidInputError(
			'definitionHash',
			`must be a string, not ${String(request.definitionHash)}.`,
		);
	}
	if (request.mark !== undefined) checkTime(request.mark, 'mark');
	checkTime(request.syncedAt, 'syncedAt');
	checkTime(request.now, 'now');
	const last = request.lastPage;
	if (
		last !== undefined &&
		(last.segmentId !== request.segmentId || last.syncId !== request.syncId)
	) {
		throw new InvalidInputError(
			'lastPage',
			`belongs to segment ${JSON.stringify(last.segmentId)}, sync ${JSON.stringify(last.syncId)}; pass a page of the sync being committed.`,
		);
	}
}

/** A list page size: the default when absent, never negative. */
export function pageLimit(limit: number | undefined): number {
	if (limit === undefined) return DEFAULT_SEGMENT_PAGE;
	return Math.max(0, Math.floor(limit));
}

/** The state a commit writes, from the state it found. */
export function nextSegmentState(
	request: SegmentCommitRequest,
	previous: SegmentSyncState | undefined,
	memberCount: number,
): SegmentSyncState {
	const state: SegmentSyncState = {
		segmentId: request.segmentId,
		definitionHash: request.definitionHash,
		mark: request.mark ?? previous?.mark,
		version: (previous?.version ?? 0) + 1,
		memberCount,
		lastSyncAt: request.syncedAt,
		lastFullSyncAt: request.mode === 'full' ? request.syncedAt : previous?.lastFullSyncAt,
	};
	return state;
}

/** Lower-cased, distinct, non-empty emails to look up. */
export function emailKeys(emails: string[]): string[] {
	return [
		...new Set(emails.filter((e) => typeof e === 'string' && e !== '').map((e) => e.toLowerCase())),
	];
}

/**
 * Profiles found by email, newest first: the first row per lower-cased email wins, so a
 * shared email maps to the most recently updated profile (ties: the smallest user id).
 */
export function usersByEmail(
	rows: Array<{ user_id: string; email: string }>,
	wanted: string[],
): Map<string, string> {
	const asked = new Set(wanted);
	const found = new Map<string, string>();
	for (const row of rows) {
		const key = row.email.toLowerCase();
		if (asked.has(key) && !found.has(key)) found.set(key, row.user_id);
	}
	return found;
}

/** Profiles per lower-cased email, in the rows' order (newest first). */
export function profilesByEmail(
	rows: Array<{ user_id: string; email: string; salesforce_id: string | null }>,
	wanted: string[],
): Map<string, EmailProfile[]> {
	const asked = new Set(wanted);
	const found = new Map<string, EmailProfile[]>();
	for (const row of rows) {
		const key = row.email.toLowerCase();
		if (!asked.has(key)) continue;
		const profile: EmailProfile = { userId: row.user_id };
		if (typeof row.salesforce_id === 'string' && row.salesforce_id !== '') {
			profile.salesforceId = row.salesforce_id;
		}
		const list = found.get(key);
		if (list) list.push(profile);
		else found.set(key, [profile]);
	}
	return found;
}

type Integer = number | string | bigint | null;
const optionalMs = (value: Integer): number | undefined =>
	value === null ? undefined : Number(value);

export interface SegmentStateRow {
	segment_id: string;
	definition_hash: string;
	mark: Integer;
	version: Integer;
	member_count: Integer;
	last_sync_at: Integer;
	last_full_sync_at: Integer;
}

export function segmentStateFromRow(row: SegmentStateRow): SegmentSyncState {
	return {
		segmentId: row.segment_id,
		definitionHash: row.definition_hash,
		mark: optionalMs(row.mark),
		version: Number(row.version),
		memberCount: Number(row.member_count),
		lastSyncAt: optionalMs(row.last_sync_at),
		lastFullSyncAt: optionalMs(row.last_full_sync_at),
	};
}

export interface SegmentChangeRow {
	seq: Integer;
	segment_id: string;
	sync_id: string;
	record_id: string;
	user_id: string;
	change: string;
	reason: string | null;
	at: Integer;
}

export function segmentChangeFromRow(row: SegmentChangeRow): SegmentChange {
	return {
		seq: Number(row.seq),
		segmentId: row.segment_id,
		syncId: row.sync_id,
		recordId: row.record_id,
		userId: row.user_id,
		change: row.change as SegmentChange['change'],
		reason: row.reason === null ? undefined : row.reason,
		at: Number(row.at),
	};
}

export interface SegmentMemberRow {
	segment_id: string;
	record_id: string;
	user_id: string;
	modstamp: Integer;
	entered_at: Integer;
}

export function segmentMemberFromRow(row: SegmentMemberRow): SegmentMember {
	return {
		segmentId: row.segment_id,
		recordId: row.record_id,
		userId: row.user_id,
		modstamp: Number(row.modstamp),
		enteredAt: Number(row.entered_at),
	};
}
