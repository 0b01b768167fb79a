import { createHash } from 'node:crypto';

/** A signed 64-bit advisory-lock key, as text for a BIGINT parameter, derived from `parts`. */
export function advisoryKey(...parts: string[]): string {
	return createHash('sha256').update(parts.join('\u0000')).digest().readBigInt64BE(0).toString();
}

/**
 * A statement each connection prepares once and then only binds and runs: the name is
 * unique to the schema and the statement, and stays within PostgreSQL's 63 bytes.
 */
export function namedStatement(schema: string, name: string, text: string) {
	const tag = createHash('sha256').update(schema).digest('hex').slice(0, 16);
	return { name: `tc_${name}_${tag}`, text };
}

/** Locks per campaign for entering users; a power of two. */
export const ENTRY_LOCK_STRIPES = 64;

/**
 * The statements of the PostgreSQL store, for one schema. Batches travel as one array per
 * column and are unnested in a single statement; `schema` must be a checked identifier.
 */
export function postgresStatements(schema: string) {
	const s = `"${schema}"`;
	return {
		/**
		 * Ids follow the batch order (so that events of equal time keep their order, as in
		 * SQLite), but rows are inserted in message_id order: two transactions inserting
		 * overlapping batches then wait on each other in one order and cannot deadlock.
		 */
		insertEvents: `INSERT INTO ${s}.events (id, message_id, user_id, name, occurred_at, received_at, time_zone, properties)
			SELECT id, message_id, user_id, name, occurred_at, received_at, time_zone, properties
			FROM (
				SELECT nextval('${s}.events_id_seq') AS id, e.*
				FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::jsonb[])
					WITH ORDINALITY AS e(message_id, user_id, name, occurred_at, received_at, time_zone, properties, ord)
				ORDER BY e.ord
			) AS numbered
			ORDER BY message_id COLLATE "C"
			ON CONFLICT (message_id) DO NOTHING
			RETURNING message_id`,

		/**
		 * Serialises entering per (campaign, user stripe): users hash to one of
		 * ENTRY_LOCK_STRIPES stripes per campaign, so a transaction holds at most that many
		 * locks however large its batch (the server's lock table holds only about
		 * max_locks_per_transaction, 64, times max_connections locks in all). Locks are taken
		 * in key order, so two batches never wait on each other crosswise; PostgreSQL
		 * evaluates a volatile select list after ORDER BY. $3 seeds the keys with the schema.
		 */
		lockEntries: `SELECT pg_advisory_xact_lock(key)
			FROM (
				SELECT DISTINCT hashtextextended(
					$1::text || chr(31) || (hashtextextended(u.user_id, 0) & ${ENTRY_LOCK_STRIPES - 1})::text,
					$3::bigint
				) AS key
				FROM unnest($2::text[]) AS u(user_id)
			) AS keys
			ORDER BY key`,

		/**
		 * For each candidate (1-based ord): whether its event already entered the user into the
		 * campaign, and whether an entry of the user in the store blocks it ($4/$5 null: nothing
		 * blocks). Each check is a LATERAL probe with LIMIT 1, which PostgreSQL cannot flatten
		 * into a join: it runs as an index lookup per candidate whatever the table's statistics.
		 * On tables never analysed (autovacuum off), a join read every entry of the campaign.
		 */
		findEnteredOrBlocked: `SELECT c.ord, entered.hit IS NOT NULL AS entered, blocked.hit IS NOT NULL AS blocked
			FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS c(message_id, user_id, lo, hi, ord)
			LEFT JOIN LATERAL (
				SELECT 1 AS hit FROM ${s}.campaign_entries AS e
				WHERE e.campaign_id = $1 AND e.trigger_message_id = c.message_id
				LIMIT 1
			) AS entered ON true
			LEFT JOIN LATERAL (
				SELECT 1 AS hit FROM ${s}.campaign_entries AS e
				WHERE c.lo IS NOT NULL AND e.campaign_id = $1 AND e.user_id = c.user_id
					AND e.triggered_at > c.lo AND e.triggered_at < c.hi
				LIMIT 1
			) AS blocked ON true
			WHERE entered.hit IS NOT NULL OR blocked.hit IS NOT NULL`,

		insertEntries: `INSERT INTO ${s}.campaign_entries
				(entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id, state)
			SELECT e.entry_id, $1, e.user_id, $2, e.triggered_at, e.trigger_message_id, 'active'
			FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[])
				AS e(entry_id, user_id, triggered_at, trigger_message_id)`,

		findEvents: (byName: boolean) =>
			`SELECT message_id, user_id, name, occurred_at, received_at, time_zone, properties FROM ${s}.events
			WHERE user_id = $1 ${byName ? 'AND name = ANY($5::text[])' : ''} AND occurred_at > $2 AND occurred_at <= $3
			ORDER BY occurred_at, id LIMIT $4`,

		/**
		 * $9 lists the users whose update gives `unsubscribed`; the others keep theirs. Rows go
		 * in user_id order so that concurrent upserts lock profiles in one order.
		 */
		upsertProfiles: `INSERT INTO ${s}.profiles AS p
				(user_id, email, phone, time_zone, unsubscribed, attributes, external_ids, updated_at)
			SELECT u.user_id, u.email, u.phone, u.time_zone, coalesce(u.unsubscribed, false), u.attributes, u.external_ids, $8
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::jsonb[], $7::jsonb[])
				AS u(user_id, email, phone, time_zone, unsubscribed, attributes, external_ids)
			ORDER BY u.user_id COLLATE "C"
			ON CONFLICT (user_id) DO UPDATE SET
				email = coalesce(excluded.email, p.email),
				phone = coalesce(excluded.phone, p.phone),
				time_zone = coalesce(excluded.time_zone, p.time_zone),
				unsubscribed = CASE WHEN excluded.user_id = ANY($9::text[]) THEN excluded.unsubscribed ELSE p.unsubscribed END,
				attributes = p.attributes || excluded.attributes,
				external_ids = p.external_ids || excluded.external_ids,
				updated_at = excluded.updated_at`,

		getProfiles: `SELECT user_id, email, phone, time_zone, unsubscribed, attributes, external_ids, updated_at
			FROM ${s}.profiles WHERE user_id = ANY($1::text[])`,

		getEntry: `SELECT * FROM ${s}.campaign_entries WHERE entry_id = $1`,
		findEntries: `SELECT * FROM ${s}.campaign_entries
			WHERE campaign_id = $1 AND user_id = $2 AND triggered_at > $3 AND triggered_at < $4
			ORDER BY triggered_at DESC, entered_at DESC LIMIT $5`,
	};
}

export type PostgresStatements = ReturnType<typeof postgresStatements>;
