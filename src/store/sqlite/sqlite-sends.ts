import type { StatementSync } from 'node:sqlite';

import type {
	LimitUsage,
	SendCompletion,
	SendCountResult,
	SendRecord,
	SendReservationResult,
} from '../campaign-store';
import { sendFromRow, type SendRow } from '../rows';
import type { PreparedCount, PreparedLimit, PreparedReservation } from '../send-requests';

/** The store's cache of prepared statements. */
type Statements = (sql: string) => StatementSync;

/** The user's sends that count toward caps at `$now`: `sent`, or `reserved` and not expired. */
const COUNTED = `user_id = $user AND counts_toward_cap = 1
	AND (state = 'sent' OR (state = 'reserved' AND expires_at > $now))`;

const IN_LIMIT = `${COUNTED} AND reserved_at >= $since
	AND ($campaign IS NULL OR campaign_id = $campaign)
	AND ($channel IS NULL OR channel = $channel)
	AND ($tag IS NULL OR EXISTS (SELECT 1 FROM json_each(sends.tags) WHERE json_each.value = $tag))`;

const SQL = {
	find: 'SELECT * FROM sends WHERE idempotency_key = ?',
	count: `SELECT count(*) AS n FROM sends WHERE ${IN_LIMIT}`,
	countedAt: `SELECT reserved_at FROM sends WHERE ${IN_LIMIT} ORDER BY reserved_at`,
	lastInGap: `SELECT max(reserved_at) AS last FROM sends
		WHERE ${COUNTED} AND reserved_at > $after AND ($channel IS NULL OR channel = $channel)`,
	/** A new key, or the row of a failed, released or expired one: that row is reused. */
	reserve: `INSERT INTO sends (idempotency_key, campaign_id, step_id, entry_id, user_id, channel, tags,
			state, reserved_at, expires_at, sent_at, counts_toward_cap, variant, provider_message_id, error)
		VALUES ($key, $campaign, $step, $entry, $user, $channel, $tags,
			'reserved', $now, $expires, NULL, $counts, NULL, NULL, NULL)
		ON CONFLICT (idempotency_key) DO UPDATE SET
			campaign_id = excluded.campaign_id, step_id = excluded.step_id, entry_id = excluded.entry_id,
			user_id = excluded.user_id, channel = excluded.channel, tags = excluded.tags,
			state = 'reserved', reserved_at = excluded.reserved_at, expires_at = excluded.expires_at,
			sent_at = NULL, counts_toward_cap = excluded.counts_toward_cap,
			variant = NULL, provider_message_id = NULL, content_hash = NULL, error = NULL
		RETURNING *`,
	/** A `sent` send is never changed again. */
	completeSent: `UPDATE sends SET state = 'sent', sent_at = ?, provider_message_id = ?, variant = ?,
			content_hash = ?, error = NULL
		WHERE idempotency_key = ? AND state <> 'sent' RETURNING *`,
	giveBack: `UPDATE sends SET state = ?, error = ?, variant = coalesce(?, variant)
		WHERE idempotency_key = ? AND state <> 'sent' RETURNING *`,
};

const isLive = (row: SendRow, now: number): boolean =>
	row.state === 'sent' ||
	(row.state === 'reserved' && row.expires_at !== null && Number(row.expires_at) > now);

function usageOf(
	statement: Statements,
	user: string,
	now: number,
	limit: PreparedLimit,
): LimitUsage {
	const filter = {
		user,
		now,
		since: limit.since,
		campaign: limit.campaignId ?? null,
		channel: limit.channel ?? null,
		tag: limit.tag ?? null,
	};
	const { n } = statement(SQL.count).get(filter) as { n: number };
	const countedAt =
		n >= limit.limit
			? (statement(SQL.countedAt).all(filter) as Array<{ reserved_at: number }>).map((row) =>
					Number(row.reserved_at),
				)
			: [];
	return { ruleId: limit.ruleId, count: n, limit: limit.limit, countedAt };
}

/** A user's counted sends per limit and the min gap, as a reservation checks them; reads only. */
export function countSqliteSends(statement: Statements, count: PreparedCount): SendCountResult {
	const { userId: user, now, limits, minGap } = count;
	const usage = limits.map((limit) => usageOf(statement, user, now, limit));
	const violated = usage.filter((u) => u.count >= u.limit).map((u) => u.ruleId);
	if (minGap) {
		const { last } = statement(SQL.lastInGap).get({
			user,
			now,
			after: minGap.after,
			channel: minGap.channel ?? null,
		}) as { last: number | null };
		if (last !== null) {
			violated.push(minGap.ruleId);
			return { usage, violated, lastCountedAt: Number(last) };
		}
	}
	return { usage, violated };
}

/** The decisions of `reserveSends`, in order; the caller runs them in one `BEGIN IMMEDIATE` transaction. */
export function reserveSqliteSends(
	statement: Statements,
	prepared: PreparedReservation[],
): SendReservationResult[] {
	return prepared.map(({ request, limits, minGap }): SendReservationResult => {
		const { now, userId: user } = request;
		const existing = statement(SQL.find).get(request.idempotencyKey) as SendRow | undefined;
		if (existing && isLive(existing, now)) {
			return { outcome: 'duplicate', send: sendFromRow(existing) };
		}
		const { usage, violated, lastCountedAt } = countSqliteSends(statement, {
			userId: user,
			now,
			limits,
			minGap,
		});
		if (violated.length > 0) {
			return lastCountedAt === undefined
				? { outcome: 'capped', usage, violated }
				: { outcome: 'capped', usage, violated, lastCountedAt };
		}
		if (request.checkOnly) return { outcome: 'available', usage };
		const row = statement(SQL.reserve).get({
			key: request.idempotencyKey,
			campaign: request.campaignId,
			step: request.stepId,
			entry: request.entryId ?? null,
			user,
			channel: request.channel,
			tags: JSON.stringify(request.tags),
			now,
			expires: request.expiresAt,
			counts: request.countsTowardCap ? 1 : 0,
		}) as unknown as SendRow;
		return { outcome: 'reserved', send: sendFromRow(row), usage };
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
