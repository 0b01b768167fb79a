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
import type { PgQueryable } from './pg-types';

/**
 * The segment statements of the PostgreSQL store, for one schema. A commit is a handful of
 * set-based statements over the sync's staging, so a sync of a million records never
 * passes through the process. `$1` is the segment and `$2` the sync throughout.
 */
export function postgresSegmentStatements(schema: string) {
	const s = `"${schema}"`;
	/** This sync's staged rows (alias `st`) that are in the segment now. */
	const stays = `st.segment_id = $1 AND st.sync_id = $2 AND st.matched AND NOT st.deleted`;
	/** Why a removed member (alias `m`) exits: staged as deleted, or no longer matching. */
	const reason = `CASE WHEN EXISTS (
			SELECT 1 FROM ${s}.segment_staging AS d
			WHERE d.segment_id = $1 AND d.sync_id = $2 AND d.record_id = m.record_id AND d.deleted
		) THEN 'deleted' ELSE 'no_longer_matches' END`;
	/** `$3` the time of the changes, `$4` whether to record them. */
	const logged = (change: 'entered' | 'exited', rows: string) =>
		`INSERT INTO ${s}.segment_changes (segment_id, sync_id, record_id, user_id, change, reason, at)
			SELECT $1, $2, c.record_id, c.user_id, '${change}', c.reason, $3::bigint
			FROM ${rows} AS c WHERE $4::boolean ORDER BY c.record_id`;
	const exits = {
		full: `DELETE FROM ${s}.segment_members AS m
			WHERE m.segment_id = $1 AND NOT EXISTS (
				SELECT 1 FROM ${s}.segment_staging AS st WHERE ${stays} AND st.record_id = m.record_id
			)
			RETURNING m.record_id, m.user_id, ${reason} AS reason`,
		incremental: `DELETE FROM ${s}.segment_members AS m USING ${s}.segment_staging AS st
			WHERE m.segment_id = $1 AND st.segment_id = $1 AND st.sync_id = $2 AND st.record_id = m.record_id
				AND (st.deleted OR (st.touched AND NOT st.matched))
			RETURNING m.record_id, m.user_id, CASE WHEN st.deleted THEN 'deleted' ELSE 'no_longer_matches' END AS reason`,
	};
	return {
		/**
		 * Serialises commits of one segment, also before its first state row exists. A
		 * statement after it (READ COMMITTED) sees the version the previous holder committed.
		 */
		lockSegment: 'SELECT pg_advisory_xact_lock(hashtextextended($2::text, $1::bigint))',

		getState: `SELECT * FROM ${s}.segment_state WHERE segment_id = $1`,

		/** One row per record (the page is folded first), in record order so writers lock alike. */
		stage: `INSERT INTO ${s}.segment_staging AS st
				(segment_id, sync_id, record_id, user_id, modstamp, matched, touched, deleted, staged_at)
			SELECT $1, $2, r.record_id, r.user_id, r.modstamp, r.matched, r.touched, r.deleted, $9
			FROM unnest($3::text[], $4::text[], $5::bigint[], $6::boolean[], $7::boolean[], $8::boolean[])
				AS r(record_id, user_id, modstamp, matched, touched, deleted)
			ORDER BY r.record_id COLLATE "C"
			ON CONFLICT (segment_id, sync_id, record_id) DO UPDATE SET
				user_id = CASE WHEN excluded.matched AND (NOT st.matched OR excluded.modstamp >= st.modstamp)
					THEN excluded.user_id ELSE st.user_id END,
				modstamp = CASE WHEN excluded.matched AND (NOT st.matched OR excluded.modstamp >= st.modstamp)
					THEN excluded.modstamp ELSE st.modstamp END,
				matched = st.matched OR excluded.matched,
				touched = st.touched OR excluded.touched,
				deleted = st.deleted OR excluded.deleted,
				staged_at = excluded.staged_at`,

		touchSync: `INSERT INTO ${s}.segment_syncs AS y (segment_id, sync_id, started_at, staged_at)
			VALUES ($1, $2, $3, $3)
			ON CONFLICT (segment_id, sync_id) DO UPDATE SET staged_at = greatest(y.staged_at, excluded.staged_at)`,

		/** Staging of syncs that staged nothing since `$1`: they failed without aborting. */
		pruneStaging: `WITH gone AS (
				DELETE FROM ${s}.segment_syncs WHERE staged_at < $1 RETURNING segment_id, sync_id
			)
			DELETE FROM ${s}.segment_staging AS st USING gone
			WHERE st.segment_id = gone.segment_id AND st.sync_id = gone.sync_id`,

		dropStaging: `WITH sync AS (
				DELETE FROM ${s}.segment_syncs WHERE segment_id = $1 AND sync_id = $2
			)
			DELETE FROM ${s}.segment_staging WHERE segment_id = $1 AND sync_id = $2`,

		/** Removes the exiting members of a mode and logs them; the count of rows removed. */
		exit: (mode: 'full' | 'incremental') => `WITH gone AS (${exits[mode]}),
			logged AS (${logged('exited', 'gone')})
			SELECT count(*) AS n FROM gone`,

		update: `UPDATE ${s}.segment_members AS m SET user_id = st.user_id, modstamp = st.modstamp
			FROM ${s}.segment_staging AS st
			WHERE m.segment_id = $1 AND ${stays} AND st.record_id = m.record_id
				AND (st.user_id <> m.user_id OR st.modstamp <> m.modstamp)`,

		/** Adds staged rows that are not members yet and logs them; `$3` is also their entered_at. */
		enter: `WITH added AS (
				INSERT INTO ${s}.segment_members (segment_id, record_id, user_id, modstamp, entered_at)
				SELECT $1, st.record_id, st.user_id, st.modstamp, $3::bigint
				FROM ${s}.segment_staging AS st
				WHERE ${stays} AND NOT EXISTS (
					SELECT 1 FROM ${s}.segment_members AS m WHERE m.segment_id = $1 AND m.record_id = st.record_id
				)
				RETURNING record_id, user_id, NULL::text AS reason
			),
			logged AS (${logged('entered', 'added')})
			SELECT count(*) AS n FROM added`,

		countMembers: `SELECT count(*) AS n FROM ${s}.segment_members WHERE segment_id = $1`,

		putState: `INSERT INTO ${s}.segment_state
				(segment_id, definition_hash, mark, version, member_count, last_sync_at, last_full_sync_at, committed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (segment_id) DO UPDATE SET
				definition_hash = excluded.definition_hash, mark = excluded.mark, version = excluded.version,
				member_count = excluded.member_count, last_sync_at = excluded.last_sync_at,
				last_full_sync_at = excluded.last_full_sync_at, committed_at = excluded.committed_at`,

		pruneChanges: `DELETE FROM ${s}.segment_changes WHERE at < $1`,

		listChanges: (bySync: boolean) =>
			`SELECT * FROM ${s}.segment_changes
			WHERE segment_id = $1 AND seq > $2 ${bySync ? 'AND sync_id = $4' : ''}
			ORDER BY seq LIMIT $3`,

		listMembers: `SELECT * FROM ${s}.segment_members WHERE segment_id = $1 AND record_id > $2
			ORDER BY record_id LIMIT $3`,

		/** Uses the expression index `profiles_email_lower`. */
		findByEmail: `SELECT user_id, email FROM ${s}.profiles WHERE lower(email) = ANY($1::text[])
			ORDER BY updated_at DESC, user_id COLLATE "C"`,

		findProfilesByEmail: `SELECT user_id, email, external_ids->>'salesforce' AS salesforce_id
			FROM ${s}.profiles WHERE lower(email) = ANY($1::text[])
			ORDER BY updated_at DESC, user_id COLLATE "C"`,
	};
}

export type PostgresSegmentStatements = ReturnType<typeof postgresSegmentStatements>;

export async function findPostgresUsersByEmail(
	db: PgQueryable,
	sql: PostgresSegmentStatements,
	emails: string[],
): Promise<Map<string, string>> {
	const wanted = emailKeys(emails);
	if (wanted.length === 0) return new Map();
	const { rows } = await db.query<{ user_id: string; email: string }>(sql.findByEmail, [wanted]);
	return usersByEmail(rows, wanted);
}

export async function findPostgresProfilesByEmail(
	db: PgQueryable,
	sql: PostgresSegmentStatements,
	emails: string[],
): Promise<Map<string, EmailProfile[]>> {
	const wanted = emailKeys(emails);
	if (wanted.length === 0) return new Map();
	const { rows } = await db.query<{ user_id: string; email: string; salesforce_id: string | null }>(
		sql.findProfilesByEmail,
		[wanted],
	);
	return profilesByEmail(rows, wanted);
}

export async function getPostgresSegmentState(
	db: PgQueryable,
	sql: PostgresSegmentStatements,
	segmentId: string,
): Promise<SegmentSyncState | undefined> {
	const { rows } = await db.query<SegmentStateRow>(sql.getState, [segmentId]);
	return rows[0] && segmentStateFromRow(rows[0]);
}

/** The staging part of `stageSegmentPage`, inside the caller's transaction. */
export async function stagePostgresSegmentPage(
	db: PgQueryable,
	sql: PostgresSegmentStatements,
	page: SegmentSyncPage,
): Promise<void> {
	const records = foldSegmentPage(page);
	if (records.length > 0) {
		await db.query(sql.stage, [
			page.segmentId,
			page.syncId,
			records.map((r) => r.recordId),
			records.map((r) => r.userId),
			records.map((r) => r.modstamp),
			records.map((r) => r.matched),
			records.map((r) => r.touched),
			records.map((r) => r.deleted),
			page.now,
		]);
	}
	await db.query(sql.touchSync, [page.segmentId, page.syncId, page.now]);
	await db.query(sql.pruneStaging, [page.now - STAGING_TTL_MS]);
}

/**
 * `commitSegmentSync` inside the caller's READ COMMITTED transaction. `stageLastPage` stages
 * `request.lastPage` (with its profiles) once the lock is held and the version checked.
 */
export async function commitPostgresSegmentSync(
	db: PgQueryable,
	sql: PostgresSegmentStatements,
	lockSeed: string,
	request: SegmentCommitRequest,
	stageLastPage: (page: SegmentSyncPage) => Promise<void>,
): Promise<SegmentCommitResult> {
	const { segmentId, syncId, mode, now } = request;
	await db.query(sql.lockSegment, [lockSeed, segmentId]);
	const previous = await getPostgresSegmentState(db, sql, segmentId);
	if ((previous?.version ?? 0) !== request.expectedVersion) {
		await db.query(sql.dropStaging, [segmentId, syncId]);
		return { outcome: 'conflict', state: previous };
	}
	if (request.lastPage) await stageLastPage(request.lastPage);
	const logging = [segmentId, syncId, now, request.recordChanges];
	const count = (result: { rows: Array<{ n: string | number }> }) => Number(result.rows[0].n);
	// Exits first: their change rows come before the entries', as in SQLite.
	const exited = count(await db.query<{ n: string }>(sql.exit(mode), logging));
	const updated = (await db.query(sql.update, [segmentId, syncId])).rowCount ?? 0;
	const entered = count(await db.query<{ n: string }>(sql.enter, logging));
	const memberCount = count(await db.query<{ n: string }>(sql.countMembers, [segmentId]));
	const state = nextSegmentState(request, previous, memberCount);
	await db.query(sql.putState, [
		segmentId,
		state.definitionHash,
		state.mark ?? null,
		state.version,
		state.memberCount,
		state.lastSyncAt ?? null,
		state.lastFullSyncAt ?? null,
		now,
	]);
	await db.query(sql.dropStaging, [segmentId, syncId]);
	await db.query(sql.pruneChanges, [now - CHANGES_TTL_MS]);
	return { outcome: 'committed', state, entered, exited, updated };
}

export async function listPostgresSegmentChanges(
	db: PgQueryable,
	sql: PostgresSegmentStatements,
	query: { segmentId: string; syncId?: string; afterSeq?: number; limit?: number },
): Promise<SegmentChange[]> {
	const bySync = query.syncId !== undefined;
	const values: unknown[] = [query.segmentId, query.afterSeq ?? 0, pageLimit(query.limit)];
	if (bySync) values.push(query.syncId);
	const { rows } = await db.query<SegmentChangeRow>(sql.listChanges(bySync), values);
	return rows.map(segmentChangeFromRow);
}

export async function listPostgresSegmentMembers(
	db: PgQueryable,
	sql: PostgresSegmentStatements,
	query: { segmentId: string; afterRecordId?: string; limit?: number },
): Promise<SegmentMember[]> {
	const { rows } = await db.query<SegmentMemberRow>(sql.listMembers, [
		query.segmentId,
		query.afterRecordId ?? '',
		pageLimit(query.limit),
	]);
	return rows.map(segmentMemberFromRow);
}
