import type {
	LimitUsage,
	SendCountResult,
	SendReservationRequest,
	SendReservationResult,
} from '../campaign-store';
import { sendFromRow, type SendRow } from '../rows';
import {
	COUNTED_COLUMNS_TAGS_AS_TEXT,
	decideBatch,
	recentSendsBound,
	REUSE_KEY_ROW,
	type CountedRow,
} from '../send-decisions';
import { reservedSend, type PreparedCount, type PreparedReservation } from '../send-requests';
import type { PgQueryable } from './pg-types';
import { namedStatement } from './postgres-sql';

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

/**
 * A reservation's conflict clause on PostgreSQL: a live row of the key is left alone (the key
 * of another user's request, reserved meanwhile under that user's lock), so the INSERT writes
 * nothing for it and the request answers as a duplicate.
 */
export const REUSE_NOT_LIVE_KEY_ROW = `${REUSE_KEY_ROW}
	WHERE NOT ${live('s', 'excluded.reserved_at')}`;

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
		${REUSE_NOT_LIVE_KEY_ROW}
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
 * Schema 2 to 7's frequency-cap decisions in one call (schema 8 decides a single request with
 * `reserve_send`; the function stays for processes of the earlier version during an upgrade):
 * locks the stripes of the batch's users in key order, then decides the requests wave by wave
 * (a request comes in a later wave than every earlier request of its user or its key),
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

/**
 * One frequency-cap decision in one call with typed arguments (schema 8): lock the user's
 * stripe (as `reserve_sends` does), read the key's row, count the user's sends per limit and
 * the min gap, and write the reservation. No JSON in, little out: `counts` per limit, in
 * order; `counted_at` (JSON, per limit, the counted times when the limit is reached);
 * `last_at` (the min gap's latest counted send); `send` (the key's row, for a duplicate).
 * A reservation comes without its record, which is the request's (`reservedSend`). The same
 * settings as `reserve_sends`, for the same reasons.
 */
export const RESERVE_SEND_FUNCTION = `CREATE FUNCTION reserve_send(lock_seed bigint, send_key text,
	send_campaign_id text, send_step_id text, send_entry_id text, send_user_id text, send_channel text,
	send_tags jsonb, now_ms bigint, send_expires_at bigint, send_counts boolean, check_only boolean,
	rule_since bigint[], rule_limit bigint[], rule_campaign_id text[], rule_tag text[], rule_channel text[],
	gap_after bigint, gap_channel text,
	OUT outcome text, OUT counts integer[], OUT counted_at jsonb, OUT last_at bigint, OUT send jsonb)
	LANGUAGE plpgsql VOLATILE
	SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan SET jit = off AS $body$
DECLARE
	duplicate boolean;
	reached boolean;
	written boolean;
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'reserve_send needs READ COMMITTED, not %', current_setting('transaction_isolation')
			USING ERRCODE = '${NEEDS_READ_COMMITTED}';
	END IF;
	PERFORM pg_advisory_xact_lock(hashtextextended(
		'sends' || chr(31) || (hashtextextended(send_user_id, 0) & ${SEND_LOCK_STRIPES - 1})::text, lock_seed));
	SELECT to_jsonb(s), ${live('s', 'now_ms')} INTO send, duplicate
	FROM sends AS s WHERE s.idempotency_key = send_key;
	IF duplicate THEN
		outcome := 'duplicate';
		RETURN;
	END IF;
	send := NULL;
	SELECT coalesce(array_agg(c.n ORDER BY l.ord), '{}'),
		coalesce(jsonb_agg(CASE WHEN c.n >= l.lim THEN coalesce(to_jsonb(c.times), '[]') ELSE '[]'::jsonb END ORDER BY l.ord), '[]'),
		coalesce(bool_or(c.n >= l.lim), false)
	INTO counts, counted_at, reached
	FROM unnest(rule_since, rule_limit, rule_campaign_id, rule_tag, rule_channel)
		WITH ORDINALITY AS l(since, lim, campaign_id, tag, channel, ord)
	CROSS JOIN LATERAL (
		SELECT count(*)::integer AS n, array_agg(s.reserved_at ORDER BY s.reserved_at) AS times
		FROM sends AS s
		WHERE s.user_id = send_user_id AND s.counts_toward_cap AND ${live('s', 'now_ms')}
			AND s.reserved_at >= l.since
			AND (l.campaign_id IS NULL OR s.campaign_id = l.campaign_id)
			AND (l.channel IS NULL OR s.channel = l.channel)
			AND (l.tag IS NULL OR s.tags ? l.tag)
	) AS c;
	IF gap_after IS NOT NULL THEN
		SELECT max(s.reserved_at) INTO last_at
		FROM sends AS s
		WHERE s.user_id = send_user_id AND s.counts_toward_cap AND ${live('s', 'now_ms')}
			AND s.reserved_at > gap_after AND (gap_channel IS NULL OR s.channel = gap_channel);
	END IF;
	IF reached OR last_at IS NOT NULL THEN
		outcome := 'capped';
		RETURN;
	END IF;
	IF check_only THEN
		outcome := 'available';
		RETURN;
	END IF;
	-- A new key, or the row of a failed, released or expired one: that row is reused.
	INSERT INTO sends AS s (idempotency_key, campaign_id, step_id, entry_id, user_id, channel, tags,
		state, reserved_at, expires_at, sent_at, counts_toward_cap, variant, provider_message_id, error)
	VALUES (send_key, send_campaign_id, send_step_id, send_entry_id, send_user_id, send_channel, send_tags,
		'reserved', now_ms, send_expires_at, NULL, send_counts, NULL, NULL, NULL)
	${REUSE_NOT_LIVE_KEY_ROW}
	RETURNING true INTO written;
	IF written THEN
		outcome := 'reserved';
	ELSE
		-- The key of another user's request, reserved under that user's lock meanwhile.
		outcome := 'duplicate';
		SELECT to_jsonb(s) INTO send FROM sends AS s WHERE s.idempotency_key = send_key;
	END IF;
END
$body$`;

/** The arguments of `reserve_send` after the lock seed, in order, for one checked request. */
export function reserveSendValues(
	lockSeed: string,
	{ request, limits, minGap }: PreparedReservation,
): unknown[] {
	return [
		lockSeed,
		request.idempotencyKey,
		request.campaignId,
		request.stepId,
		request.entryId ?? null,
		request.userId,
		request.channel,
		JSON.stringify(request.tags),
		request.now,
		request.expiresAt,
		request.countsTowardCap,
		request.checkOnly === true,
		limits.map((limit) => limit.since),
		limits.map((limit) => limit.limit),
		limits.map((limit) => limit.campaignId ?? null),
		limits.map((limit) => limit.tag ?? null),
		limits.map((limit) => limit.channel ?? null),
		minGap ? minGap.after : null,
		minGap?.channel ?? null,
	];
}

/** The row `reserve_send` returns. */
export interface ReserveSendRow {
	outcome: 'duplicate' | 'capped' | 'available' | 'reserved';
	counts: number[] | null;
	counted_at: number[][] | null;
	last_at: string | number | null;
	send: SendRow | null;
}

export function reservationFromRow(
	row: ReserveSendRow,
	{ request, limits, minGap }: PreparedReservation,
): SendReservationResult {
	if (row.outcome === 'duplicate') return { outcome: 'duplicate', send: sendFromRow(row.send!) };
	const usage = limits.map((limit, i): LimitUsage => {
		const count = row.counts![i];
		return {
			ruleId: limit.ruleId,
			count,
			limit: limit.limit,
			countedAt: count >= limit.limit ? row.counted_at![i] : [],
		};
	});
	if (row.outcome === 'reserved')
		return { outcome: 'reserved', send: reservedSend(request), usage };
	if (row.outcome === 'available') return { outcome: 'available', usage };
	const violated = usage.filter((u) => u.count >= u.limit).map((u) => u.ruleId);
	if (minGap && row.last_at !== null) {
		violated.push(minGap.ruleId);
		return { outcome: 'capped', usage, violated, lastCountedAt: Number(row.last_at) };
	}
	return { outcome: 'capped', usage, violated };
}

/** JSONB orders keys its own way; this gives them the SQLite store's order. */
const usageInOrder = (usage: LimitUsage[]): LimitUsage[] =>
	usage.map(({ ruleId, count, limit, countedAt }) => ({ ruleId, count, limit, countedAt }));

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

type SendStatements = ReturnType<typeof postgresSendStatements>;

const distinct = (values: string[]): string[] => [...new Set(values)];

/**
 * A batch's decisions in a few set-based statements, inside the caller's READ COMMITTED
 * transaction: lock the stripes of the batch's users (as `reserve_sends` does), read the
 * keys' rows and the users' recent sends (statements after the lock, so they see what the
 * previous holders committed), decide every request in order in memory, and write the
 * reservations in one INSERT. A key that another user's request reserved meanwhile (under
 * another lock) is not written: that request is a duplicate, as in `reserve_sends`.
 */
export async function reservePostgresBatch(
	db: PgQueryable,
	sql: SendStatements,
	lockSeed: string,
	prepared: PreparedReservation[],
): Promise<SendReservationResult[]> {
	const users = distinct(prepared.map(({ request }) => request.userId));
	await db.query({ ...sql.lockSendStripes, values: [users, lockSeed] });
	const keyRows = (
		await db.query<SendRow>(sql.keyRows, [
			distinct(prepared.map(({ request }) => request.idempotencyKey)),
		])
	).rows;
	const bound = recentSendsBound(prepared);
	const userRows =
		bound === undefined
			? []
			: (await db.query<CountedRow>({ ...sql.userRows, values: [users, bound] })).rows;
	// A key reserved twice in the batch (the first reservation expired by the second's time):
	// the row holds the later one, as if each had been written in turn.
	const toWrite = new Map<string, SendReservationRequest>();
	const results = decideBatch(prepared, keyRows, userRows, (request) =>
		toWrite.set(request.idempotencyKey, request),
	);
	if (toWrite.size === 0) return results;
	const rows = [...toWrite.values()];
	const column = <T>(pick: (request: SendReservationRequest) => T) => rows.map(pick);
	const written = await db.query<{ idempotency_key: string }>({
		...sql.writeReservations,
		values: [
			column((r) => r.idempotencyKey),
			column((r) => r.campaignId),
			column((r) => r.stepId),
			column((r) => r.entryId ?? null),
			column((r) => r.userId),
			column((r) => r.channel),
			column((r) => JSON.stringify(r.tags)),
			column((r) => r.now),
			column((r) => r.expiresAt),
			column((r) => r.countsTowardCap),
		],
	});
	if (written.rows.length === toWrite.size) return results;
	const writtenKeys = new Set(written.rows.map((row) => row.idempotency_key));
	const lost = [...toWrite.keys()].filter((key) => !writtenKeys.has(key));
	const current = new Map(
		(await db.query<SendRow>(sql.keyRows, [lost])).rows.map((row) => [row.idempotency_key, row]),
	);
	return results.map((result, i) => {
		const row = current.get(prepared[i].request.idempotencyKey);
		return result.outcome === 'reserved' && row
			? { outcome: 'duplicate', send: sendFromRow(row) }
			: result;
	});
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
	const named = (name: string, text: string) => namedStatement(schema, name, text);
	return {
		reserveSend: named(
			'reserve_send',
			`SELECT * FROM ${s}.reserve_send($1::bigint, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::bigint,
				$10::bigint, $11::boolean, $12::boolean, $13::bigint[], $14::bigint[], $15::text[], $16::text[],
				$17::text[], $18::bigint, $19)`,
		),
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
		/** The stripes of the users ($1), in key order, as `reserve_sends` takes them. */
		lockSendStripes: named(
			'lock_send_stripes',
			`SELECT pg_advisory_xact_lock(stripes.key)
			FROM (
				SELECT DISTINCT hashtextextended(
					'sends' || chr(31) || (hashtextextended(u.user_id, 0) & ${SEND_LOCK_STRIPES - 1})::text,
					$2::bigint
				) AS key
				FROM unnest($1::text[]) AS u(user_id)
			) AS stripes
			ORDER BY stripes.key`,
		),
		/**
		 * The keys' rows, key by key through the unique index. `OFFSET 0` keeps the planner from
		 * turning the loop into a hash join over the whole table, which it picks when the table
		 * was never analysed (it then guesses a handful of rows). Not prepared by name: a
		 * prepared `*` fails once a migration adds a column ("cached plan must not change result type").
		 */
		keyRows: `SELECT s.* FROM unnest($1::text[]) AS k(key)
			CROSS JOIN LATERAL (SELECT * FROM ${s}.sends WHERE idempotency_key = k.key OFFSET 0) AS s`,
		/**
		 * The users' sends that may count from $2 on, user by user through `sends_user_time`
		 * (`OFFSET 0` as for `keyRows`): a loop of index scans whatever the statistics say.
		 */
		userRows: named(
			'send_user_rows',
			`SELECT s.* FROM unnest($1::text[]) AS u(user_id)
			CROSS JOIN LATERAL (
				SELECT ${COUNTED_COLUMNS_TAGS_AS_TEXT} FROM ${s}.sends
				WHERE user_id = u.user_id AND reserved_at >= $2::bigint
					AND counts_toward_cap AND state IN ('sent', 'reserved')
				OFFSET 0
			) AS s`,
		),
		/**
		 * The batch's reservations in one statement, in key order as `reserve_sends` writes
		 * them; a key reserved meanwhile under another user's lock is left alone and not returned.
		 */
		writeReservations: named(
			'write_reservations',
			`INSERT INTO ${s}.sends AS s (idempotency_key, campaign_id, step_id, entry_id,
				user_id, channel, tags, state, reserved_at, expires_at, sent_at, counts_toward_cap,
				variant, provider_message_id, error)
			SELECT r.key, r.campaign_id, r.step_id, r.entry_id, r.user_id, r.channel, r.tags::jsonb,
				'reserved', r.now_ms, r.expires_at, NULL, r.counts, NULL, NULL, NULL
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::bigint[], $9::bigint[], $10::boolean[])
				AS r(key, campaign_id, step_id, entry_id, user_id, channel, tags, now_ms, expires_at, counts)
			ORDER BY r.key COLLATE "C"
			${REUSE_NOT_LIVE_KEY_ROW}
			RETURNING s.idempotency_key`,
		),
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
