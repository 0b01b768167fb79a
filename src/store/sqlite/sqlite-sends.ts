import type { StatementSync } from 'node:sqlite';

import type {
	SendCompletion,
	SendCountResult,
	SendRecord,
	SendReservationResult,
} from '../campaign-store';
import { sendFromRow, type SendRow } from '../rows';
import {
	COUNTED_COLUMNS,
	decideBatch,
	recentSendsBound,
	REUSE_KEY_ROW,
	type CountedRow,
} from '../send-decisions';
import type { PreparedCount, PreparedReservation } from '../send-requests';

/** The store's cache of prepared statements. */
type Statements = (sql: string) => StatementSync;

const SQL = {
	find: 'SELECT * FROM sends WHERE idempotency_key = ?',
	/** One key's row: a single decision reads it without a JSON array. */
	keyRow: 'SELECT * FROM sends WHERE idempotency_key = ?',
	/** The batch's keys' rows (JSON array of keys). */
	keyRows: `SELECT * FROM sends WHERE idempotency_key IN (SELECT value FROM json_each(?))`,
	/**
	 * The batch's users' sends that may count, from the earliest bound any request counts
	 * from; `sends_user_time` finds them user by user, whatever the table's statistics.
	 */
	userRows: `SELECT ${COUNTED_COLUMNS} FROM sends INDEXED BY sends_user_time
		WHERE user_id IN (SELECT value FROM json_each(?)) AND reserved_at >= ?
			AND counts_toward_cap = 1 AND state IN ('sent', 'reserved')`,
	/** One user's sends that may count, for a batch of one user. */
	userRowsOfOne: `SELECT ${COUNTED_COLUMNS} FROM sends INDEXED BY sends_user_time
		WHERE user_id = ? AND reserved_at >= ? AND counts_toward_cap = 1 AND state IN ('sent', 'reserved')`,
	/** A new key, or the row of a failed, released or expired one: that row is reused. */
	reserve: `INSERT INTO sends (idempotency_key, campaign_id, step_id, entry_id, user_id, channel, tags,
			state, reserved_at, expires_at, sent_at, counts_toward_cap, variant, provider_message_id, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'reserved', ?, ?, NULL, ?, NULL, NULL, NULL)
		${REUSE_KEY_ROW}`,
	/** A `sent` send is never changed again. */
	completeSent: `UPDATE sends SET state = 'sent', sent_at = ?, provider_message_id = ?, variant = ?,
			content_hash = ?, error = NULL
		WHERE idempotency_key = ? AND state <> 'sent' RETURNING *`,
	giveBack: `UPDATE sends SET state = ?, error = ?, variant = coalesce(?, variant)
		WHERE idempotency_key = ? AND state <> 'sent' RETURNING *`,
};

/**
 * A user's counted sends per limit and the min gap, as a reservation checks them; reads only.
 * The same decision as a check-only reservation (one read of the user's recent sends), so a
 * dry run and the Frequency Cap cannot disagree.
 */
export function countSqliteSends(statement: Statements, count: PreparedCount): SendCountResult {
	const prepared: PreparedReservation[] = [
		{
			request: {
				// No key is read: a count is never a duplicate.
				idempotencyKey: '',
				campaignId: '',
				stepId: '',
				userId: count.userId,
				channel: '',
				tags: [],
				now: count.now,
				expiresAt: count.now,
				countsTowardCap: true,
				limits: [],
				checkOnly: true,
			},
			limits: count.limits,
			minGap: count.minGap,
		},
	];
	const bound = recentSendsBound(prepared);
	const userRows = (
		bound === undefined ? [] : statement(SQL.userRowsOfOne).all(count.userId, bound)
	) as unknown as CountedRow[];
	const [result] = decideBatch(prepared, [], userRows, () => undefined);
	if (result.outcome === 'capped') {
		const { usage, violated, lastCountedAt } = result;
		return lastCountedAt === undefined ? { usage, violated } : { usage, violated, lastCountedAt };
	}
	if (result.outcome === 'available') return { usage: result.usage, violated: [] };
	throw new Error(`A send count cannot answer ${result.outcome}`);
}

/**
 * The decisions of `reserveSends`, in order; the caller runs them in one `BEGIN IMMEDIATE`
 * transaction, so the two reads and the writes see and change the file alone. One read of the
 * keys, one of the users' recent sends, then one prepared insert per reservation.
 */
export function reserveSqliteSends(
	statement: Statements,
	prepared: PreparedReservation[],
): SendReservationResult[] {
	const keys = [...new Set(prepared.map(({ request }) => request.idempotencyKey))];
	const users = [...new Set(prepared.map(({ request }) => request.userId))];
	const keyRows = (keys.length === 1
		? statement(SQL.keyRow).all(keys[0])
		: statement(SQL.keyRows).all(JSON.stringify(keys))) as unknown as SendRow[];
	const bound = recentSendsBound(prepared);
	const userRows = (bound === undefined
		? []
		: users.length === 1
			? statement(SQL.userRowsOfOne).all(users[0], bound)
			: statement(SQL.userRows).all(JSON.stringify(users), bound)) as unknown as CountedRow[];
	const reserve = statement(SQL.reserve);
	return decideBatch(prepared, keyRows, userRows, (request) => {
		// Positional parameters: no object per reservation, no lookup of names.
		reserve.run(
			request.idempotencyKey,
			request.campaignId,
			request.stepId,
			request.entryId ?? null,
			request.userId,
			request.channel,
			JSON.stringify(request.tags),
			request.now,
			request.expiresAt,
			request.countsTowardCap ? 1 : 0,
		);
	});
}

export function completeSqliteSend(
	statement: Statements,
	idempotencyKey: string,
	completion: SendCompletion,
): SendRecord | undefined {
	const updated =
		completion.state === 'sent'
			? statement(SQL.completeSent).get(
					completion.at,
					completion.providerMessageId ?? null,
					completion.variant ?? null,
					completion.contentHash ?? null,
					idempotencyKey,
				)
			: statement(SQL.giveBack).get(
					completion.state,
					completion.error ?? null,
					completion.variant ?? null,
					idempotencyKey,
				);
	const row = (updated ?? statement(SQL.find).get(idempotencyKey)) as SendRow | undefined;
	return row && sendFromRow(row);
}

export function getSqliteSend(
	statement: Statements,
	idempotencyKey: string,
): SendRecord | undefined {
	const row = statement(SQL.find).get(idempotencyKey) as SendRow | undefined;
	return row && sendFromRow(row);
}
