import type { StatementSync } from 'node:sqlite';

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
	type ErasureResult,
	type UserRecords,
	type UserScheduledStep,
	type checkUserRecordsQuery,
} from '../user-records';
import { findSqliteConversions } from './sqlite-report';

type Statements = (sql: string) => StatementSync;

interface CapDecisionRow {
	campaign_id: string;
	step_id: string;
	entry_id: string | null;
	user_id: string;
	decision: 'capped' | 'deferred';
	rules: string;
	decided_at: number;
}

export function capDecisionFromRow(row: CapDecisionRow): CapDecisionRecord {
	return {
		campaignId: row.campaign_id,
		stepId: row.step_id,
		entryId: row.entry_id ?? undefined,
		userId: row.user_id,
		decision: row.decision,
		rules: typeof row.rules === 'string' ? (JSON.parse(row.rules) as string[]) : row.rules,
		at: Number(row.decided_at),
	};
}

/** Everything about one user, read inside one transaction so the lists agree with each other. */
export function readSqliteUserRecords(
	statement: Statements,
	query: ReturnType<typeof checkUserRecordsQuery>,
): UserRecords {
	const { userId, campaignId } = query;
	const inCampaign = campaignId === undefined ? '' : 'AND campaign_id = ?';
	const args = campaignId === undefined ? [userId] : [userId, campaignId];
	const profile = statement('SELECT * FROM profiles WHERE user_id = ?').get(userId) as
		| ProfileRow
		| undefined;
	const events = statement('SELECT * FROM events WHERE user_id = ? ORDER BY occurred_at, id').all(
		userId,
	) as unknown as EventRow[];
	const entries = statement(
		`SELECT * FROM campaign_entries WHERE user_id = ? ${inCampaign} ORDER BY entered_at, triggered_at, entry_id`,
	).all(...args) as unknown as EntryRow[];
	const sends = statement(
		`SELECT * FROM sends WHERE user_id = ? ${inCampaign} ORDER BY reserved_at, id`,
	).all(...args) as unknown as SendRow[];
	const decisions = statement(
		`SELECT * FROM cap_decisions WHERE user_id = ? ${inCampaign} ORDER BY decided_at, id`,
	).all(...args) as unknown as CapDecisionRow[];
	const steps = statement(
		`SELECT campaign_id, step_id, entry_id, due_at, state, attempts, created_at, updated_at
		 FROM scheduled_steps WHERE user_id = ? ${inCampaign} ORDER BY created_at, id`,
	).all(...args) as Array<Record<string, string | number>>;
	const members = statement(
		'SELECT segment_id, record_id, entered_at FROM segment_members WHERE user_id = ? ORDER BY entered_at, segment_id',
	).all(userId) as Array<{ segment_id: string; record_id: string; entered_at: number }>;
	return {
		userId,
		campaignId,
		profile: profile ? profileFromRow(profile) : undefined,
		events: events.map(eventFromRow),
		entries: entries.map(entryFromRow),
		sends: sends.map(sendFromRow),
		capDecisions: decisions.map(capDecisionFromRow),
		scheduledSteps: steps.map(
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
		segmentMemberships: members.map((row) => ({
			segmentId: row.segment_id,
			recordId: row.record_id,
			enteredAt: Number(row.entered_at),
		})),
		conversions: query.conversion
			? findSqliteConversions(statement, {
					userId,
					campaignId,
					conversion: query.conversion,
					now: query.now,
				})
			: [],
	};
}

const changes = (result: { changes: number | bigint }) => Number(result.changes);

/**
 * Erases one user, inside the caller's transaction: profile, schedule rows and segment rows are
 * deleted; entries, sends and cap decisions, and the events a conversion could count, are kept
 * under a tombstone (see `planErasure`) so the campaign's counts do not change.
 */
export function eraseSqliteUser(statement: Statements, userId: string, now: number): ErasureResult {
	const result = emptyErasure(userId, now);
	const entries = statement(
		'SELECT entry_id, triggered_at, trigger_message_id FROM campaign_entries WHERE user_id = ?',
	).all(userId) as Array<{ entry_id: string; triggered_at: number; trigger_message_id: string }>;
	const lastSent = statement('SELECT max(sent_at) AS at FROM sends WHERE user_id = ?').get(
		userId,
	) as { at: number | null };
	const plan = planErasure(
		entries.map((row) => ({ entryId: row.entry_id, triggeredAt: Number(row.triggered_at) })),
		lastSent.at === null ? undefined : Number(lastSent.at),
	);
	const tomb = plan.tombstoneUserId;

	// Events: the span a conversion could count is kept, pseudonymized; the rest is deleted.
	const keep = plan.keepEvents;
	const events = statement(
		'SELECT id, message_id, occurred_at, properties FROM events WHERE user_id = ?',
	).all(userId) as Array<{
		id: number;
		message_id: string;
		occurred_at: number;
		properties: string;
	}>;
	const deleteEvent = statement('DELETE FROM events WHERE id = ?');
	const anonymizeEvent = statement(
		'UPDATE events SET user_id = ?, message_id = ?, properties = ?, time_zone = NULL WHERE id = ?',
	);
	for (const event of events) {
		const occurredAt = Number(event.occurred_at);
		if (keep && occurredAt >= keep.from && occurredAt <= keep.to) {
			const messageId = plan.newKey();
			plan.messageIds.set(event.message_id, messageId);
			const properties = plan.pseudonymize(JSON.parse(event.properties) as Record<string, unknown>);
			anonymizeEvent.run(tomb, messageId, JSON.stringify(properties), event.id);
			result.anonymized.events++;
		} else {
			deleteEvent.run(event.id);
			result.deleted.events++;
		}
	}

	const anonymizeEntry = statement(
		'UPDATE campaign_entries SET user_id = ?, entry_id = ?, trigger_message_id = ? WHERE entry_id = ?',
	);
	for (const entry of entries) {
		anonymizeEntry.run(
			tomb,
			plan.entryIds.get(entry.entry_id)!,
			plan.messageIds.get(entry.trigger_message_id) ?? plan.newKey(),
			entry.entry_id,
		);
		result.anonymized.campaign_entries++;
	}

	// Sends and cap decisions follow their entries' new ids; what was sent, to whom and why
	// it failed goes. The rows keep state, variant, channel, tags and instants.
	const sends = statement('SELECT id, entry_id FROM sends WHERE user_id = ?').all(userId) as Array<{
		id: number;
		entry_id: string | null;
	}>;
	const anonymizeSend = statement(
		`UPDATE sends SET user_id = ?, idempotency_key = ?, entry_id = ?, provider_message_id = NULL,
			content_hash = NULL, error = NULL WHERE id = ?`,
	);
	for (const send of sends) {
		const entryId = send.entry_id === null ? null : (plan.entryIds.get(send.entry_id) ?? null);
		anonymizeSend.run(tomb, plan.newKey(), entryId, send.id);
		result.anonymized.sends++;
	}
	const decisions = statement('SELECT id, entry_id FROM cap_decisions WHERE user_id = ?').all(
		userId,
	) as Array<{ id: number; entry_id: string | null }>;
	const anonymizeDecision = statement(
		'UPDATE cap_decisions SET user_id = ?, entry_id = ? WHERE id = ?',
	);
	for (const decision of decisions) {
		const entryId =
			decision.entry_id === null ? null : (plan.entryIds.get(decision.entry_id) ?? null);
		anonymizeDecision.run(tomb, entryId, decision.id);
		result.anonymized.cap_decisions++;
	}

	// A segment loses the member: its count follows.
	const memberships = statement(
		'SELECT segment_id, count(*) AS n FROM segment_members WHERE user_id = ? GROUP BY segment_id',
	).all(userId) as Array<{ segment_id: string; n: number }>;
	const lessMembers = statement(
		'UPDATE segment_state SET member_count = max(member_count - ?, 0) WHERE segment_id = ?',
	);
	for (const membership of memberships)
		lessMembers.run(Number(membership.n), membership.segment_id);

	for (const table of [
		'profiles',
		'scheduled_steps',
		'segment_members',
		'segment_staging',
		'segment_changes',
	] as const) {
		result.deleted[table] = changes(
			statement(`DELETE FROM ${table} WHERE user_id = ?`).run(userId),
		);
	}
	result.found =
		Object.values(result.deleted).some((n) => n > 0) ||
		Object.values(result.anonymized).some((n) => n > 0);
	return result;
}
