import type { CapDecisionRecord } from '../campaign-store';
import {
	entryFromRow,
	eventFromRow,
	profileFromRow,
	sendFromRow,
	type EntryRow,
	type EventRow,
	type ProfileRow,
	type SendRow,
} from '../rows';
import {
	emptyErasure,
	planErasure,
	type checkUserRecordsQuery,
	type ErasureResult,
	type UserRecords,
	type UserScheduledStep,
} from '../user-records';
import type { PgQueryable } from './pg-types';
import { findPostgresConversions } from './postgres-report';

interface CapDecisionRow {
	campaign_id: string;
	step_id: string;
	entry_id: string | null;
	user_id: string;
	decision: 'capped' | 'deferred';
	rules: string[];
	decided_at: string | number;
}

const decisionFromRow = (row: CapDecisionRow): CapDecisionRecord => ({
	campaignId: row.campaign_id,
	stepId: row.step_id,
	entryId: row.entry_id ?? undefined,
	userId: row.user_id,
	decision: row.decision,
	rules: row.rules,
	at: Number(row.decided_at),
});

/** Everything about one user; the caller runs it in one transaction (REPEATABLE READ). */
export async function readPostgresUserRecords(
	db: PgQueryable,
	schema: string,
	query: ReturnType<typeof checkUserRecordsQuery>,
): Promise<UserRecords> {
	const s = `"${schema}"`;
	const { userId, campaignId } = query;
	const ofUser = 'user_id = $1 AND ($2::text IS NULL OR campaign_id = $2::text)';
	const args = [userId, campaignId ?? null];
	const profile = await db.query<ProfileRow>(`SELECT * FROM ${s}.profiles WHERE user_id = $1`, [
		userId,
	]);
	const events = await db.query<EventRow>(
		`SELECT * FROM ${s}.events WHERE user_id = $1 ORDER BY occurred_at, id`,
		[userId],
	);
	const entries = await db.query<EntryRow>(
		`SELECT * FROM ${s}.campaign_entries WHERE ${ofUser} ORDER BY entered_at, triggered_at, entry_id`,
		args,
	);
	const sends = await db.query<SendRow>(
		`SELECT * FROM ${s}.sends WHERE ${ofUser} ORDER BY reserved_at, id`,
		args,
	);
	const decisions = await db.query<CapDecisionRow>(
		`SELECT * FROM ${s}.cap_decisions WHERE ${ofUser} ORDER BY decided_at, id`,
		args,
	);
	const steps = await db.query<Record<string, string | number>>(
		`SELECT campaign_id, step_id, entry_id, due_at, state, attempts, created_at, updated_at
		 FROM ${s}.scheduled_steps WHERE ${ofUser} ORDER BY created_at, id`,
		args,
	);
	const members = await db.query<{ segment_id: string; record_id: string; entered_at: string }>(
		`SELECT segment_id, record_id, entered_at FROM ${s}.segment_members WHERE user_id = $1
		 ORDER BY entered_at, segment_id`,
		[userId],
	);
	return {
		userId,
		campaignId,
		profile: profile.rows[0] ? profileFromRow(profile.rows[0]) : undefined,
		events: events.rows.map(eventFromRow),
		entries: entries.rows.map(entryFromRow),
		sends: sends.rows.map(sendFromRow),
		capDecisions: decisions.rows.map(decisionFromRow),
		scheduledSteps: steps.rows.map(
			(row): UserScheduledStep => ({
				campaignId: String(row.campaign_id),
				stepId: String(row.step_id),
				entryId: String(row.entry_id),
				dueAt: Number(row.due_at),
				state: row.state as UserScheduledStep['state'],
				attempts: Number(row.attempts),
				createdAt: Number(row.created_at),
				updatedAt: Number(row.updated_at),
			}),
		),
		segmentMemberships: members.rows.map((row) => ({
			segmentId: row.segment_id,
			recordId: row.record_id,
			enteredAt: Number(row.entered_at),
		})),
		conversions: query.conversion
			? (
					await findPostgresConversions(db, schema, {
						userId,
						campaignId,
						conversion: query.conversion,
						now: query.now,
					})
				).sort((a, b) => a.entryId.localeCompare(b.entryId))
			: [],
	};
}

/** The same erasure as SQLite's (`eraseSqliteUser`), inside the caller's transaction. */
export async function erasePostgresUser(
	db: PgQueryable,
	schema: string,
	userId: string,
	now: number,
): Promise<ErasureResult> {
	const s = `"${schema}"`;
	const result = emptyErasure(userId, now);
	const entries = await db.query<{
		entry_id: string;
		triggered_at: string;
		trigger_message_id: string;
	}>(
		`SELECT entry_id, triggered_at, trigger_message_id FROM ${s}.campaign_entries
		 WHERE user_id = $1 FOR UPDATE`,
		[userId],
	);
	const lastSent = await db.query<{ at: string | null }>(
		`SELECT max(sent_at) AS at FROM ${s}.sends WHERE user_id = $1`,
		[userId],
	);
	const plan = planErasure(
		entries.rows.map((row) => ({ entryId: row.entry_id, triggeredAt: Number(row.triggered_at) })),
		lastSent.rows[0]?.at == null ? undefined : Number(lastSent.rows[0].at),
	);
	const tomb = plan.tombstoneUserId;

	const events = await db.query<{
		id: string;
		message_id: string;
		occurred_at: string;
		properties: Record<string, unknown>;
	}>(
		`SELECT id, message_id, occurred_at, properties FROM ${s}.events WHERE user_id = $1 FOR UPDATE`,
		[userId],
	);
	const kept: Array<{ id: string; messageId: string; properties: string }> = [];
	const dropped: string[] = [];
	for (const event of events.rows) {
		const occurredAt = Number(event.occurred_at);
		const keep = plan.keepEvents;
		if (keep && occurredAt >= keep.from && occurredAt <= keep.to) {
			const messageId = plan.newKey();
			plan.messageIds.set(event.message_id, messageId);
			kept.push({
				id: event.id,
				messageId,
				properties: JSON.stringify(plan.pseudonymize(event.properties)),
			});
		} else {
			dropped.push(event.id);
		}
	}
	if (dropped.length) {
		await db.query(`DELETE FROM ${s}.events WHERE id = ANY($1::bigint[])`, [dropped]);
	}
	if (kept.length) {
		await db.query(
			`UPDATE ${s}.events AS e SET user_id = $1, message_id = k.message_id,
				properties = k.properties, time_zone = NULL
			 FROM unnest($2::bigint[], $3::text[], $4::jsonb[]) AS k(id, message_id, properties)
			 WHERE e.id = k.id`,
			[tomb, kept.map((k) => k.id), kept.map((k) => k.messageId), kept.map((k) => k.properties)],
		);
	}
	result.deleted.events = dropped.length;
	result.anonymized.events = kept.length;

	const oldEntryIds = entries.rows.map((row) => row.entry_id);
	const newEntryIds = oldEntryIds.map((id) => plan.entryIds.get(id)!);
	if (oldEntryIds.length) {
		const updated = await db.query(
			`UPDATE ${s}.campaign_entries AS e SET user_id = $1, entry_id = k.new_id,
				trigger_message_id = k.message_id
			 FROM unnest($2::text[], $3::text[], $4::text[]) AS k(old_id, new_id, message_id)
			 WHERE e.entry_id = k.old_id`,
			[
				tomb,
				oldEntryIds,
				newEntryIds,
				entries.rows.map((row) => plan.messageIds.get(row.trigger_message_id) ?? plan.newKey()),
			],
		);
		result.anonymized.campaign_entries = updated.rowCount ?? 0;
	}
	// Sends and cap decisions follow their entries' new ids (an unknown entry: none).
	const entryMap = `(SELECT k.new_id FROM unnest($2::text[], $3::text[]) AS k(old_id, new_id)
		WHERE k.old_id = t.entry_id)`;
	const sends = await db.query(
		`UPDATE ${s}.sends AS t SET user_id = $1, idempotency_key = 'erased:' || gen_random_uuid(),
			entry_id = ${entryMap}, provider_message_id = NULL, content_hash = NULL, error = NULL
		 WHERE t.user_id = $4`,
		[tomb, oldEntryIds, newEntryIds, userId],
	);
	result.anonymized.sends = sends.rowCount ?? 0;
	const decisions = await db.query(
		`UPDATE ${s}.cap_decisions AS t SET user_id = $1, entry_id = ${entryMap} WHERE t.user_id = $4`,
		[tomb, oldEntryIds, newEntryIds, userId],
	);
	result.anonymized.cap_decisions = decisions.rowCount ?? 0;

	// A segment loses the member: its count follows.
	await db.query(
		`UPDATE ${s}.segment_state AS st SET member_count = greatest(st.member_count - m.n, 0)
		 FROM (SELECT segment_id, count(*) AS n FROM ${s}.segment_members WHERE user_id = $1
			GROUP BY segment_id) AS m
		 WHERE st.segment_id = m.segment_id`,
		[userId],
	);
	for (const table of [
		'profiles',
		'scheduled_steps',
		'segment_members',
		'segment_staging',
		'segment_changes',
	] as const) {
		const deleted = await db.query(`DELETE FROM ${s}.${table} WHERE user_id = $1`, [userId]);
		result.deleted[table] = deleted.rowCount ?? 0;
	}
	result.found =
		Object.values(result.deleted).some((n) => n > 0) ||
		Object.values(result.anonymized).some((n) => n > 0);
	return result;
}
