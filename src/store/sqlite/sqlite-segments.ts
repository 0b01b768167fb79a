import type { StatementSync } from 'node:sqlite';

import type {
	EmailProfile,
	SegmentChange,
	SegmentCommitRequest,
	SegmentCommitResult,
	SegmentMember,
	SegmentSyncPage,
	SegmentSyncState,
} from '../segment-store';
import {
	CHANGES_TTL_MS,
	STAGING_TTL_MS,
	emailKeys,
	foldSegmentPage,
	nextSegmentState,
	pageLimit,
	profilesByEmail,
	segmentChangeFromRow,
	segmentMemberFromRow,
	segmentStateFromRow,
	usersByEmail,
	type SegmentChangeRow,
	type SegmentMemberRow,
	type SegmentStateRow,
} from '../segments';

/** The store's cache of prepared statements. */
type Statements = (sql: string) => StatementSync;

/** This sync's staged rows that are in the segment now. */
const STAYS = `s.segment_id = $segment AND s.sync_id = $sync AND s.matched = 1 AND s.deleted = 0`;

/** Members that exit, per mode; `segment_members` unaliased, as SQLite's DELETE wants. */
const EXITS = {
	full: `segment_members.segment_id = $segment AND NOT EXISTS (
		SELECT 1 FROM segment_staging AS s WHERE ${STAYS} AND s.record_id = segment_members.record_id)`,
	incremental: `segment_members.segment_id = $segment AND segment_members.record_id IN (
		SELECT s.record_id FROM segment_staging AS s
		WHERE s.segment_id = $segment AND s.sync_id = $sync AND (s.deleted = 1 OR (s.touched = 1 AND s.matched = 0)))`,
};

const ENTERS = `${STAYS} AND NOT EXISTS (
	SELECT 1 FROM segment_members AS m WHERE m.segment_id = s.segment_id AND m.record_id = s.record_id)`;

const SQL = {
	getState: 'SELECT * FROM segment_state WHERE segment_id = ?',
	stage: `INSERT INTO segment_staging
			(segment_id, sync_id, record_id, user_id, modstamp, matched, touched, deleted, staged_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
		ON CONFLICT (segment_id, sync_id, record_id) DO UPDATE SET
			user_id = CASE WHEN excluded.matched = 1 AND (segment_staging.matched = 0 OR excluded.modstamp >= segment_staging.modstamp)
				THEN excluded.user_id ELSE segment_staging.user_id END,
			modstamp = CASE WHEN excluded.matched = 1 AND (segment_staging.matched = 0 OR excluded.modstamp >= segment_staging.modstamp)
				THEN excluded.modstamp ELSE segment_staging.modstamp END,
			matched = max(segment_staging.matched, excluded.matched),
			touched = max(segment_staging.touched, excluded.touched),
			deleted = max(segment_staging.deleted, excluded.deleted),
			staged_at = excluded.staged_at`,
	touchSync: `INSERT INTO segment_syncs (segment_id, sync_id, started_at, staged_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (segment_id, sync_id) DO UPDATE SET staged_at = max(segment_syncs.staged_at, excluded.staged_at)`,
	/** Staging of syncs that staged nothing for a day: they failed without aborting. */
	pruneStaging: `DELETE FROM segment_staging WHERE (segment_id, sync_id) IN (
		SELECT segment_id, sync_id FROM segment_syncs WHERE staged_at < ?)`,
	pruneSyncs: 'DELETE FROM segment_syncs WHERE staged_at < ?',
	dropStaging: 'DELETE FROM segment_staging WHERE segment_id = ? AND sync_id = ?',
	dropSync: 'DELETE FROM segment_syncs WHERE segment_id = ? AND sync_id = ?',
	logEntered: `INSERT INTO segment_changes (segment_id, sync_id, record_id, user_id, change, reason, at)
		SELECT s.segment_id, s.sync_id, s.record_id, s.user_id, 'entered', NULL, $now
		FROM segment_staging AS s WHERE ${ENTERS} ORDER BY s.record_id`,
	logExited: (mode: 'full' | 'incremental') =>
		`INSERT INTO segment_changes (segment_id, sync_id, record_id, user_id, change, reason, at)
		SELECT segment_members.segment_id, $sync, segment_members.record_id, segment_members.user_id, 'exited',
			CASE WHEN EXISTS (
				SELECT 1 FROM segment_staging AS d WHERE d.segment_id = $segment AND d.sync_id = $sync
					AND d.record_id = segment_members.record_id AND d.deleted = 1
			) THEN 'deleted' ELSE 'no_longer_matches' END,
			$now
		FROM segment_members WHERE ${EXITS[mode]} ORDER BY segment_members.record_id`,
	exit: (mode: 'full' | 'incremental') => `DELETE FROM segment_members WHERE ${EXITS[mode]}`,
	update: `UPDATE segment_members SET user_id = s.user_id, modstamp = s.modstamp
		FROM segment_staging AS s
		WHERE segment_members.segment_id = $segment AND ${STAYS} AND s.record_id = segment_members.record_id
			AND (s.user_id <> segment_members.user_id OR s.modstamp <> segment_members.modstamp)`,
	enter: `INSERT INTO segment_members (segment_id, record_id, user_id, modstamp, entered_at)
		SELECT s.segment_id, s.record_id, s.user_id, s.modstamp, $now FROM segment_staging AS s WHERE ${ENTERS}`,
	countMembers: 'SELECT count(*) AS n FROM segment_members WHERE segment_id = ?',
	putState: `INSERT INTO segment_state (segment_id, definition_hash, mark, version, member_count, last_sync_at, last_full_sync_at, committed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (segment_id) DO UPDATE SET
			definition_hash = excluded.definition_hash, mark = excluded.mark, version = excluded.version,
			member_count = excluded.member_count, last_sync_at = excluded.last_sync_at,
			last_full_sync_at = excluded.last_full_sync_at, committed_at = excluded.committed_at`,
	pruneChanges: 'DELETE FROM segment_changes WHERE at < ?',
	listChanges: (bySync: boolean) =>
		`SELECT * FROM segment_changes WHERE segment_id = ? ${bySync ? 'AND sync_id = ?' : ''} AND seq > ?
		ORDER BY seq LIMIT ?`,
	listMembers: `SELECT * FROM segment_members WHERE segment_id = ? AND record_id > ?
		ORDER BY record_id LIMIT ?`,
	/** Matches the expression index `profiles_email_lower`; one JSON parameter for any number of emails. */
	findByEmail: `SELECT user_id, email FROM profiles
		WHERE lower(email) IN (SELECT value FROM json_each(?))
		ORDER BY updated_at DESC, user_id`,
	findProfilesByEmail: `SELECT user_id, email, json_extract(external_ids, '$.salesforce') AS salesforce_id
		FROM profiles WHERE lower(email) IN (SELECT value FROM json_each(?))
		ORDER BY updated_at DESC, user_id`,
};

export function findSqliteUsersByEmail(
	statement: Statements,
	emails: string[],
): Map<string, string> {
	const wanted = emailKeys(emails);
	if (wanted.length === 0) return new Map();
	const rows = statement(SQL.findByEmail).all(JSON.stringify(wanted)) as Array<{
		user_id: string;
		email: string;
	}>;
	return usersByEmail(rows, wanted);
}

export function findSqliteProfilesByEmail(
	statement: Statements,
	emails: string[],
): Map<string, EmailProfile[]> {
	const wanted = emailKeys(emails);
	if (wanted.length === 0) return new Map();
	const rows = statement(SQL.findProfilesByEmail).all(JSON.stringify(wanted)) as Array<{
		user_id: string;
		email: string;
		salesforce_id: string | null;
	}>;
	return profilesByEmail(rows, wanted);
}

export function getSqliteSegmentState(
	statement: Statements,
	segmentId: string,
): SegmentSyncState | undefined {
	const row = statement(SQL.getState).get(segmentId) as SegmentStateRow | undefined;
	return row && segmentStateFromRow(row);
}

/** The staging part of `stageSegmentPage`; the caller upserts the profiles in the same transaction. */
export function stageSqliteSegmentPage(statement: Statements, page: SegmentSyncPage): void {
	const records = foldSegmentPage(page);
	const stage = statement(SQL.stage);
	for (const r of records) {
		// Positional: no parameter object per row on a million-record sync.
		stage.run(
			page.segmentId,
			page.syncId,
			r.recordId,
			r.userId,
			r.modstamp,
			Number(r.matched),
			Number(r.touched),
			Number(r.deleted),
			page.now,
		);
	}
	statement(SQL.touchSync).run(page.segmentId, page.syncId, page.now, page.now);
	const cutoff = page.now - STAGING_TTL_MS;
	statement(SQL.pruneStaging).run(cutoff);
	statement(SQL.pruneSyncs).run(cutoff);
}

export function dropSqliteStaging(statement: Statements, segmentId: string, syncId: string): void {
	statement(SQL.dropStaging).run(segmentId, syncId);
	statement(SQL.dropSync).run(segmentId, syncId);
}

/**
 * `commitSegmentSync` inside the caller's `BEGIN IMMEDIATE`, which serialises commits.
 * `stageLastPage` stages `request.lastPage` (with its profiles) once the version is checked.
 */
export function commitSqliteSegmentSync(
	statement: Statements,
	request: SegmentCommitRequest,
	stageLastPage: (page: SegmentSyncPage) => void,
): SegmentCommitResult {
	const { segmentId, syncId, mode, now } = request;
	const previous = getSqliteSegmentState(statement, segmentId);
	if ((previous?.version ?? 0) !== request.expectedVersion) {
		dropSqliteStaging(statement, segmentId, syncId);
		return { outcome: 'conflict', state: previous };
	}
	if (request.lastPage) stageLastPage(request.lastPage);
	const params = { segment: segmentId, sync: syncId, now };
	const withoutNow = { segment: segmentId, sync: syncId };
	// Logged before membership changes, selecting the rows the changes then touch; exits
	// first, as in PostgreSQL.
	if (request.recordChanges) {
		statement(SQL.logExited(mode)).run(params);
		statement(SQL.logEntered).run(params);
	}
	const exited = Number(statement(SQL.exit(mode)).run(withoutNow).changes);
	const updated = Number(statement(SQL.update).run(withoutNow).changes);
	const entered = Number(statement(SQL.enter).run(params).changes);
	const { n } = statement(SQL.countMembers).get(segmentId) as { n: number };
	const state = nextSegmentState(request, previous, Number(n));
	statement(SQL.putState).run(
		segmentId,
		state.definitionHash,
		state.mark ?? null,
		state.version,
		state.memberCount,
		state.lastSyncAt ?? null,
		state.lastFullSyncAt ?? null,
		now,
	);
	dropSqliteStaging(statement, segmentId, syncId);
	statement(SQL.pruneChanges).run(now - CHANGES_TTL_MS);
	return { outcome: 'committed', state, entered, exited, updated };
}

export function listSqliteSegmentChanges(
	statement: Statements,
	query: { segmentId: string; syncId?: string; afterSeq?: number; limit?: number },
): SegmentChange[] {
	const bySync = query.syncId !== undefined;
	const values = [query.segmentId, ...(bySync ? [query.syncId!] : [])];
	const rows = statement(SQL.listChanges(bySync)).all(
		...values,
		query.afterSeq ?? 0,
		pageLimit(query.limit),
	) as unknown as SegmentChangeRow[];
	return rows.map(segmentChangeFromRow);
}

export function listSqliteSegmentMembers(
	statement: Statements,
	query: { segmentId: string; afterRecordId?: string; limit?: number },
): SegmentMember[] {
	const rows = statement(SQL.listMembers).all(
		query.segmentId,
		query.afterRecordId ?? '',
		pageLimit(query.limit),
	) as unknown as SegmentMemberRow[];
	return rows.map(segmentMemberFromRow);
}
