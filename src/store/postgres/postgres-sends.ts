import type {
	LimitUsage,
	SendCountResult,
	SendReservationRequest,
	SendReservationResult,
} from '../campaign-store';
import { sendFromRow, type SendRow } from '../rows';
import { reservedSend, type PreparedCount, type PreparedReservation } from '../send-requests';

/**
 * Locks per store for reserving sends; a power of two. Users hash to one of these stripes,
 * so a batch holds at most this many advisory locks however many users it has (see
 * ENTRY_LOCK_STRIPES about the server's lock table). Part of `reserve_sends`: changing it
 * takes a migration that replaces the function, or processes of two versions would lock apart.
 */
export const SEND_LOCK_STRIPES = 64;

/** The SQLSTATE `reserve_sends` raises when called outside READ COMMITTED. */
export const NEEDS_READ_COMMITTED = 'TCRC1';

/** `sent`, or `reserved` and not expired at `now`: counted, and a duplicate for its key. */
const live = (row: string, now: string) =>
	`(${row}.state = 'sent' OR (${row}.state = 'reserved' AND coalesce(${row}.expires_at > ${now}, false)))`;

/** The user's sends that count toward caps at the request's time, for a request row `r`. */
const counted = `s.user_id = r.user_id AND s.counts_toward_cap AND ${live('s', 'r.now_ms')}`;

/**
 * The decisions of one wave: requests of distinct users and distinct keys, which cannot
 * affect one another, decided together in one statement, each request on its own through
 * LATERAL subqueries (joining sets of requests to each other would go quadratic). A
 * statement of a VOLATILE function takes a fresh snapshot under READ COMMITTED, so the counts
 * see every send committed by the previous holder of a lock, and the earlier waves' rows.
 * The second column counts the rows written, which tells whether any reservation was lost.
 */
const DECIDE_WAVE = `WITH decided AS (
		SELECT r.ord, r.key, r.check_only, e.send AS existing, coalesce(e.live, false) AS duplicate,
			u.usage, g.last_at,
			u.violated || CASE WHEN g.last_at IS NULL THEN '{}'::text[] ELSE ARRAY[r.req->'gap'->>'rule_id'] END
				AS violated,
			r.req, r.user_id, r.now_ms
		FROM (
			SELECT (x.value->>'ord')::integer AS ord, x.value AS req, x.value->>'key' AS key,
				x.value->>'user_id' AS user_id, (x.value->>'now')::bigint AS now_ms,
				(x.value->>'check_only')::boolean AS check_only
			FROM jsonb_array_elements(waves->wave) AS x(value)
		) AS r
		LEFT JOIN LATERAL (
			SELECT to_jsonb(s) AS send, ${live('s', 'r.now_ms')} AS live
			FROM sends AS s WHERE s.idempotency_key = r.key
		) AS e ON true
		CROSS JOIN LATERAL (
			SELECT
				coalesce(jsonb_agg(jsonb_build_object(
					'ruleId', l.value->>'rule_id',
					'count', c.n,
					'limit', (l.value->>'limit')::bigint,
					'countedAt', CASE WHEN c.n >= (l.value->>'limit')::bigint THEN c.times ELSE '[]'::jsonb END
				) ORDER BY l.ord), '[]'::jsonb) AS usage,
				coalesce(
					array_agg(l.value->>'rule_id' ORDER BY l.ord) FILTER (WHERE c.n >= (l.value->>'limit')::bigint),
					'{}'::text[]
				) AS violated
			FROM jsonb_array_elements(r.req->'limits') WITH ORDINALITY AS l(value, ord)
			CROSS JOIN LATERAL (
				SELECT count(*) AS n, coalesce(jsonb_agg(s.reserved_at ORDER BY s.reserved_at), '[]'::jsonb) AS times
				FROM sends AS s
				WHERE ${counted}
					AND s.reserved_at >= (l.value->>'since')::bigint
					AND (l.value->>'campaign_id' IS NULL OR s.campaign_id = l.value->>'campaign_id')
					AND (l.value->>'channel' IS NULL OR s.channel = l.value->>'channel')
					AND (l.value->>'tag' IS NULL OR s.tags ? (l.value->>'tag'))
			) AS c
			WHERE e.live IS NOT TRUE
		) AS u
		CROSS JOIN LATERAL (
			SELECT max(s.reserved_at) AS last_at
			FROM sends AS s
			WHERE e.live IS NOT TRUE AND jsonb_typeof(r.req->'gap') = 'object'
				AND ${counted}
				AND s.reserved_at > (r.req->'gap'->>'after')::bigint
				AND (r.req->'gap'->>'channel' IS NULL OR s.channel = r.req->'gap'->>'channel')
		) AS g
	),
	-- A new key, or the row of a failed, released or expired one: that row is reused.
	written AS (
		INSERT INTO sends AS s (idempotency_key, campaign_id, step_id, entry_id, user_id, channel, tags,
			state, reserved_at, expires_at, sent_at, counts_toward_cap, variant, provider_message_id, error)
		SELECT d.key, d.req->>'campaign_id', d.req->>'step_id', d.req->>'entry_id', d.user_id,
			d.req->>'channel', d.req->'tags', 'reserved', d.now_ms, (d.req->>'expires_at')::bigint, NULL,
			(d.req->>'counts')::boolean, NULL, NULL, NULL
		FROM decided AS d
		WHERE NOT d.duplicate AND cardinality(d.violated) = 0 AND NOT d.check_only
		ORDER BY d.key COLLATE "C"
		ON CONFLICT (idempotency_key) DO UPDATE SET
			campaign_id = excluded.campaign_id, step_id = excluded.step_id, entry_id = excluded.entry_id,
			user_id = excluded.user_id, channel = excluded.channel, tags = excluded.tags,
			state = 'reserved', reserved_at = excluded.reserved_at, expires_at = excluded.expires_at,
			sent_at = NULL, counts_toward_cap = excluded.counts_toward_cap,
			variant = NULL, provider_message_id = NULL, content_hash = NULL, error = NULL
		WHERE NOT ${live('s', 'excluded.reserved_at')}
		RETURNING 1
	)
	SELECT
		CASE
			WHEN d.duplicate THEN jsonb_build_object('ord', d.ord, 'outcome', 'duplicate', 'send', d.existing)
			WHEN cardinality(d.violated) > 0 THEN jsonb_build_object('ord', d.ord, 'outcome', 'capped',
				'usage', d.usage, 'violated', to_jsonb(d.violated), 'lastCountedAt', d.last_at)
			WHEN d.check_only THEN jsonb_build_object('ord', d.ord, 'outcome', 'available', 'usage', d.usage)
			ELSE jsonb_build_object('ord', d.ord, 'outcome', 'reserved', 'usage', d.usage,
				'key', d.key, 'user_id', d.user_id, 'now', d.now_ms)
		END,
		(SELECT count(*) FROM written)
	FROM decided AS d`;

/**
 * Frequency-cap decisions in one call, so one round trip: locks the stripes of the batch's
 * users in key order, then decides the requests wave by wave (`reservationPayload` groups
 * them: a request comes in a later wave than every earlier request of its user or its key),
 * so each sees the reservations of the requests before it. Created with the store's
 * `search_path`, and with generic plans: the planner learns nothing from the JSON that it
 * could use, and planning on each call costs about as much as a decision. JIT off: the
 * planner's row guesses for JSON arrays make these statements look expensive, and compiling
 * them took about 30 ms per call, far more than running them. One JSON result
 * per request, with its `ord`, in no particular order; a reservation comes without its
 * record, which is the request's (`reservedSend`).
 */
export const RESERVE_SENDS_FUNCTION = `CREATE FUNCTION reserve_sends(lock_seed bigint, waves jsonb)
	RETURNS SETOF jsonb LANGUAGE plpgsql VOLATILE
	SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan SET jit = off AS $body$
DECLARE
	decision jsonb;
	decisions jsonb[];
	reserved integer;
	written bigint;
	i integer;
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'reserve_sends needs READ COMMITTED, not %', current_setting('transaction_isolation')
			USING ERRCODE = '${NEEDS_READ_COMMITTED}';
	END IF;
	PERFORM pg_advisory_xact_lock(stripes.key)
	FROM (
		SELECT DISTINCT hashtextextended(
			'sends' || chr(31) || (hashtextextended(x.value->>'user_id', 0) & ${SEND_LOCK_STRIPES - 1})::text,
			lock_seed
		) AS key
		FROM jsonb_array_elements(waves) AS w(requests), jsonb_array_elements(w.requests) AS x(value)
	) AS stripes
	ORDER BY stripes.key;

	FOR wave IN 0..jsonb_array_length(waves) - 1 LOOP
		decisions := '{}';
		reserved := 0;
		written := 0;
		FOR decision, written IN ${DECIDE_WAVE}
		LOOP
			decisions := array_append(decisions, decision);
			IF decision->>'outcome' = 'reserved' THEN
				reserved := reserved + 1;
			END IF;
		END LOOP;
		FOR i IN 1..coalesce(array_length(decisions, 1), 0) LOOP
			decision := decisions[i];
			-- Fewer rows written than reserved: the key of another user's request, reserved
			-- under that user's lock meanwhile. Such a request is a duplicate.
			IF written < reserved AND decision->>'outcome' = 'reserved' AND NOT EXISTS (
				SELECT 1 FROM sends AS s
				WHERE s.idempotency_key = decision->>'key' AND s.state = 'reserved'
					AND s.user_id = decision->>'user_id' AND s.reserved_at = (decision->>'now')::bigint
			) THEN
				decision := jsonb_build_object('ord', decision->'ord', 'outcome', 'duplicate',
					'send', (SELECT to_jsonb(s) FROM sends AS s WHERE s.idempotency_key = decision->>'key'));
			END IF;
			RETURN NEXT decision;
		END LOOP;
	END LOOP;
END
$body$`;

/** One wave (from 0) after the latest earlier request of the same user or the same key. */
function nextWave(
	waveOfUser: Map<string, number>,
	waveOfKey: Map<string, number>,
	userId: string,
	key: string,
): number {
	const wave = 1 + Math.max(waveOfUser.get(userId) ?? -1, waveOfKey.get(key) ?? -1);
	waveOfUser.set(userId, wave);
	waveOfKey.set(key, wave);
	return wave;
}

/** The requests as the JSON `reserve_sends` reads: an array of waves, each an array of requests. */
export function reservationPayload(prepared: PreparedReservation[]): string {
	const waveOfUser = new Map<string, number>();
	const waveOfKey = new Map<string, number>();
	const waves: object[][] = [];
	prepared.forEach(({ request, limits, minGap }, ord) => {
		const wave = nextWave(waveOfUser, waveOfKey, request.userId, request.idempotencyKey);
		(waves[wave] ??= []).push({
			ord,
			key: request.idempotencyKey,
			campaign_id: request.campaignId,
			step_id: request.stepId,
			entry_id: request.entryId ?? null,
			user_id: request.userId,
			channel: request.channel,
			tags: request.tags,
			now: request.now,
			expires_at: request.expiresAt,
			counts: request.countsTowardCap,
			check_only: request.checkOnly === true,
			limits: limits.map((limit) => ({
				rule_id: limit.ruleId,
				since: limit.since,
				limit: limit.limit,
				campaign_id: limit.campaignId ?? null,
				tag: limit.tag ?? null,
				channel: limit.channel ?? null,
			})),
			gap: minGap
				? { rule_id: minGap.ruleId, after: minGap.after, channel: minGap.channel ?? null }
				: null,
		});
	});
	return JSON.stringify(waves);
}

/** One result of `reserve_sends`; `ord` is the request's index. */
export type ReservationJson = { ord: number } & (
	| { outcome: 'duplicate'; send: SendRow }
	| { outcome: 'reserved'; usage: LimitUsage[] }
	| { outcome: 'available'; usage: LimitUsage[] }
	| { outcome: 'capped'; usage: LimitUsage[]; violated: string[]; lastCountedAt: number | null }
);

/** JSONB orders keys its own way; this gives them the SQLite store's order. */
const usageInOrder = (usage: LimitUsage[]): LimitUsage[] =>
	usage.map(({ ruleId, count, limit, countedAt }) => ({ ruleId, count, limit, countedAt }));

export function reservationFromJson(
	json: ReservationJson,
	request: SendReservationRequest,
): SendReservationResult {
	switch (json.outcome) {
		case 'duplicate':
			return { outcome: 'duplicate', send: sendFromRow(json.send) };
		case 'reserved':
			return { outcome: 'reserved', send: reservedSend(request), usage: usageInOrder(json.usage) };
		case 'available':
			return { outcome: 'available', usage: usageInOrder(json.usage) };
		case 'capped': {
			const { violated, lastCountedAt } = json;
			const usage = usageInOrder(json.usage);
			return lastCountedAt === null
				? { outcome: 'capped', usage, violated }
				: { outcome: 'capped', usage, violated, lastCountedAt };
		}
	}
}

/** The row of `countSends`: the usage as JSON, the latest counted send inside the min gap. */
export interface SendCountRow {
	usage: LimitUsage[];
	last_at: string | number | null;
}

/** The parameters of `countSends`, in order. */
export function sendCountValues(count: PreparedCount): unknown[] {
	return [
		count.userId,
		count.now,
		JSON.stringify(
			count.limits.map((limit) => ({
				rule_id: limit.ruleId,
				since: limit.since,
				limit: limit.limit,
				campaign_id: limit.campaignId ?? null,
				tag: limit.tag ?? null,
				channel: limit.channel ?? null,
			})),
		),
		count.minGap !== undefined,
		count.minGap?.after ?? 0,
		count.minGap?.channel ?? null,
	];
}

export function sendCountFromRow(row: SendCountRow, count: PreparedCount): SendCountResult {
	const usage = usageInOrder(row.usage);
	const violated = usage.filter((u) => u.count >= u.limit).map((u) => u.ruleId);
	if (count.minGap && row.last_at !== null) {
		violated.push(count.minGap.ruleId);
		return { usage, violated, lastCountedAt: Number(row.last_at) };
	}
	return { usage, violated };
}

/** The statements for sends and exits, for one schema (a checked identifier). */
export function postgresSendStatements(schema: string) {
	const s = `"${schema}"`;
	/** The row an UPDATE changed, else the row as it is (a `sent` send or a non-active entry). */
	const updatedOrAsIs = (table: string, key: string, update: string) =>
		`WITH updated AS (${update} RETURNING *)
		SELECT * FROM updated
		UNION ALL
		SELECT * FROM ${s}.${table} WHERE ${key} = $1 AND NOT EXISTS (SELECT 1 FROM updated)`;
	return {
		reserveSends: `SELECT r FROM ${s}.reserve_sends($1::bigint, $2::jsonb) AS r`,
		/**
		 * `countSends`: the counts of DECIDE_WAVE for one user, read only. $1 user, $2 now,
		 * $3 the limits as JSON, $4 whether to check a min gap, $5 its bound, $6 its channel.
		 */
		countSends: `SELECT
				coalesce(jsonb_agg(jsonb_build_object(
					'ruleId', l.value->>'rule_id',
					'count', c.n,
					'limit', (l.value->>'limit')::bigint,
					'countedAt', CASE WHEN c.n >= (l.value->>'limit')::bigint THEN c.times ELSE '[]'::jsonb END
				) ORDER BY l.ord), '[]'::jsonb) AS usage,
				(SELECT max(s.reserved_at) FROM ${s}.sends AS s
					WHERE $4::boolean AND s.user_id = $1 AND s.counts_toward_cap AND ${live('s', '$2::bigint')}
						AND s.reserved_at > $5::bigint AND ($6::text IS NULL OR s.channel = $6::text)
				) AS last_at
			FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS l(value, ord)
			CROSS JOIN LATERAL (
				SELECT count(*) AS n, coalesce(jsonb_agg(s.reserved_at ORDER BY s.reserved_at), '[]'::jsonb) AS times
				FROM ${s}.sends AS s
				WHERE s.user_id = $1 AND s.counts_toward_cap AND ${live('s', '$2::bigint')}
					AND s.reserved_at >= (l.value->>'since')::bigint
					AND (l.value->>'campaign_id' IS NULL OR s.campaign_id = l.value->>'campaign_id')
					AND (l.value->>'channel' IS NULL OR s.channel = l.value->>'channel')
					AND (l.value->>'tag' IS NULL OR s.tags ? (l.value->>'tag'))
			) AS c`,
		getSend: `SELECT * FROM ${s}.sends WHERE idempotency_key = $1`,
		/** A `sent` send is never changed again. */
		completeSent: updatedOrAsIs(
			'sends',
			'idempotency_key',
			`UPDATE ${s}.sends SET state = 'sent', sent_at = $2, provider_message_id = $3, variant = $4,
				content_hash = $5, error = NULL
			WHERE idempotency_key = $1 AND state <> 'sent'`,
		),
		giveBack: updatedOrAsIs(
			'sends',
			'idempotency_key',
			`UPDATE ${s}.sends SET state = $2, error = $3, variant = coalesce($4, variant)
			WHERE idempotency_key = $1 AND state <> 'sent'`,
		),
		exitEntry: updatedOrAsIs(
			'campaign_entries',
			'entry_id',
			`UPDATE ${s}.campaign_entries SET state = 'exited', exited_at = $3, exit_reason = $2
			WHERE entry_id = $1 AND state = 'active'`,
		),
	};
}
