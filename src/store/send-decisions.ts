import type { LimitUsage, SendReservationRequest, SendReservationResult } from './campaign-store';
import { sendFromRow, type SendRow } from './rows';
import type { PreparedLimit, PreparedReservation } from './send-requests';

/**
 * Frequency-cap decisions for a whole batch in memory, from one read of the batch's keys and
 * one read of its users' sends that may count (`recentSendsBound`). The caller holds the
 * users' locks (or the database's write lock) from before that read until the reservations
 * are written, so nothing else changes these rows meanwhile. Requests are decided in order:
 * each sees the reservations of the requests before it, exactly as if it ran on its own.
 */

/** The columns the counting reads of a user's sends; a key's row is read whole. */
export const COUNTED_COLUMNS =
	'idempotency_key, user_id, campaign_id, channel, tags, state, reserved_at, expires_at, counts_toward_cap';
/**
 * The same with the tags as JSON text (PostgreSQL's JSONB would come parsed): most rows are
 * never asked for their tags, and those that are decode them once (`tagsOf`).
 */
export const COUNTED_COLUMNS_TAGS_AS_TEXT = COUNTED_COLUMNS.replace('tags', 'tags::text AS tags');
/**
 * The conflict clause of a reservation's INSERT, the same on both stores: the key's stored row
 * (failed, released or expired) takes the request's fields, reserved, with no outcome yet.
 * PostgreSQL follows it with a `WHERE` that leaves a live row alone (`REUSE_NOT_LIVE_KEY_ROW`);
 * SQLite decides under its write lock, where a live row is a duplicate before anything is written.
 */
export const REUSE_KEY_ROW = `ON CONFLICT (idempotency_key) DO UPDATE SET
	campaign_id = excluded.campaign_id, step_id = excluded.step_id, entry_id = excluded.entry_id,
	user_id = excluded.user_id, channel = excluded.channel, tags = excluded.tags,
	state = 'reserved', reserved_at = excluded.reserved_at, expires_at = excluded.expires_at,
	sent_at = NULL, counts_toward_cap = excluded.counts_toward_cap,
	variant = NULL, provider_message_id = NULL, content_hash = NULL, error = NULL`;
export type CountedRow = Pick<
	SendRow,
	| 'idempotency_key'
	| 'user_id'
	| 'campaign_id'
	| 'channel'
	| 'tags'
	| 'state'
	| 'reserved_at'
	| 'expires_at'
	| 'counts_toward_cap'
>;

/** A send as the decisions read it, with its JSON decoded once. */
interface KnownSend {
	/** The whole row: for a key of the batch, which may answer as a duplicate. */
	row?: SendRow;
	userId: string;
	campaignId: string;
	channel: string;
	/** The stored JSON of the tags, decoded on the first tag limit that asks (`tagsOf`). */
	storedTags: SendRow['tags'] | readonly string[];
	tags?: readonly string[];
	state: string;
	reservedAt: number;
	expiresAt: number | null;
	counts: boolean;
}

const toNumber = (value: SendRow['reserved_at']): number | null =>
	value === null || value === undefined ? null : Number(value);

function tagsOf(send: KnownSend): readonly string[] {
	if (send.tags === undefined) {
		const stored = send.storedTags;
		const tags = typeof stored === 'string' ? (JSON.parse(stored) as unknown) : stored;
		send.tags = Array.isArray(tags) ? (tags as string[]) : [];
	}
	return send.tags;
}

function known(row: CountedRow, whole?: SendRow): KnownSend {
	return {
		row: whole,
		userId: row.user_id,
		campaignId: row.campaign_id,
		channel: row.channel,
		storedTags: row.tags,
		state: row.state,
		reservedAt: Number(row.reserved_at),
		expiresAt: toNumber(row.expires_at),
		counts: row.counts_toward_cap === true || Number(row.counts_toward_cap) === 1,
	};
}

/** The row a reservation writes: the request's fields, reserved at its `now`, with no outcome yet. */
export function reservationRow(request: SendReservationRequest): SendRow {
	return {
		idempotency_key: request.idempotencyKey,
		campaign_id: request.campaignId,
		step_id: request.stepId,
		entry_id: request.entryId ?? null,
		user_id: request.userId,
		channel: request.channel,
		tags: [...request.tags],
		state: 'reserved',
		reserved_at: request.now,
		expires_at: request.expiresAt,
		sent_at: null,
		counts_toward_cap: request.countsTowardCap,
		variant: null,
		provider_message_id: null,
		content_hash: null,
		error: null,
	};
}

/** `sent`, or `reserved` and not expired at `now`: counted, and a duplicate for its key. */
const isLive = (send: KnownSend, now: number): boolean =>
	send.state === 'sent' ||
	(send.state === 'reserved' && send.expiresAt !== null && send.expiresAt > now);

const inLimit = (send: KnownSend, limit: PreparedLimit): boolean =>
	send.reservedAt >= limit.since &&
	(limit.campaignId === undefined || send.campaignId === limit.campaignId) &&
	(limit.channel === undefined || send.channel === limit.channel) &&
	(limit.tag === undefined || tagsOf(send).includes(limit.tag));

/**
 * The earliest `reserved_at` any request of the batch counts from: the users' sends before it
 * cannot change a decision, so the read of the users' sends starts there. Undefined: no
 * request counts anything (all bypass the caps).
 */
export function recentSendsBound(prepared: PreparedReservation[]): number | undefined {
	let bound: number | undefined;
	for (const { limits, minGap } of prepared) {
		for (const limit of limits) bound = Math.min(bound ?? limit.since, limit.since);
		if (minGap) bound = Math.min(bound ?? minGap.after + 1, minGap.after + 1);
	}
	return bound;
}

/**
 * Decides the requests in order. `keyRows`: the stored rows of the batch's keys;
 * `userRows`: the batch's users' counted-state rows (`sent` or `reserved`, counting toward
 * caps) from `recentSendsBound` on. `reserve` writes one reservation (`reservationRow`); it
 * runs at once (SQLite) or records the row to write later (PostgreSQL).
 */
export function decideBatch(
	prepared: PreparedReservation[],
	keyRows: Iterable<SendRow>,
	userRows: Iterable<CountedRow>,
	reserve: (request: SendReservationRequest) => void,
): SendReservationResult[] {
	const byKey = new Map<string, KnownSend>();
	const byUser = new Map<string, Map<string, KnownSend>>();
	const userSends = (userId: string) => {
		let sends = byUser.get(userId);
		if (!sends) byUser.set(userId, (sends = new Map()));
		return sends;
	};
	for (const row of keyRows) byKey.set(row.idempotency_key, known(row, row));
	for (const row of userRows) {
		const send = byKey.get(row.idempotency_key) ?? known(row);
		userSends(send.userId).set(row.idempotency_key, send);
	}

	return prepared.map((reservation): SendReservationResult => {
		const { request, limits, minGap } = reservation;
		const { now, idempotencyKey: key } = request;
		const existing = byKey.get(key);
		if (existing && isLive(existing, now)) {
			return { outcome: 'duplicate', send: sendFromRow(existing.row!) };
		}
		const counted: KnownSend[] = [];
		for (const send of byUser.get(request.userId)?.values() ?? []) {
			if (send.counts && isLive(send, now)) counted.push(send);
		}
		const usage = limits.map((limit): LimitUsage => {
			const times: number[] = [];
			for (const send of counted) if (inLimit(send, limit)) times.push(send.reservedAt);
			const exceeded = times.length >= limit.limit;
			return {
				ruleId: limit.ruleId,
				count: times.length,
				limit: limit.limit,
				countedAt: exceeded ? times.sort((a, b) => a - b) : [],
			};
		});
		const violated = usage.filter((u) => u.count >= u.limit).map((u) => u.ruleId);
		let lastCountedAt: number | undefined;
		if (minGap) {
			for (const send of counted) {
				if (
					send.reservedAt > minGap.after &&
					(minGap.channel === undefined || send.channel === minGap.channel) &&
					(lastCountedAt === undefined || send.reservedAt > lastCountedAt)
				) {
					lastCountedAt = send.reservedAt;
				}
			}
			if (lastCountedAt !== undefined) violated.push(minGap.ruleId);
		}
		if (violated.length > 0) {
			return lastCountedAt === undefined
				? { outcome: 'capped', usage, violated }
				: { outcome: 'capped', usage, violated, lastCountedAt };
		}
		if (request.checkOnly) return { outcome: 'available', usage };

		// The key's row, if any, is replaced: it stops counting for its former user.
		if (existing) byUser.get(existing.userId)?.delete(key);
		reserve(request);
		const row = reservationRow(request);
		const send: KnownSend = {
			row,
			userId: request.userId,
			campaignId: request.campaignId,
			channel: request.channel,
			storedTags: request.tags,
			tags: request.tags,
			state: 'reserved',
			reservedAt: now,
			expiresAt: request.expiresAt,
			counts: request.countsTowardCap,
		};
		byKey.set(key, send);
		if (send.counts) userSends(send.userId).set(key, send);
		return { outcome: 'reserved', send: sendFromRow(row), usage };
	});
}
