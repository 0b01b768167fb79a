import type { CapDecisionRecord, VariantFunnelCounts } from '../campaign-store';
import {
	EXIT_CODE_SQL,
	foldReportRows,
	type PreparedConversion,
	type PreparedReportQuery,
	type ReportRow,
	triggerMatch,
} from '../report-queries';
import type { EntryConversion } from '../user-records';
import type { PgQueryable } from './pg-types';

/** The property of an event row `alias`, as text, as `readProperty` finds it ($7 key, $8 path). */
const propertyOf = (alias: string) =>
	`coalesce(${alias}.properties ->> $7::text, ${alias}.properties #>> $8::text[])`;

/**
 * Whose entries a statement reads: a campaign's ($1) in [$2, $3), or one user's ($2), in one
 * campaign when $1 is not null ($3 then bounds nothing: pass the largest time).
 */
type Scope = 'campaign' | 'user';

/**
 * The report's conversion rule as a join of the measured entries `p` with the events `c` that
 * count as their conversion: used by the report and by a user's timeline alike.
 */
function conversionJoinSql(s: string, conversion: PreparedConversion): string {
	return `FROM measured AS p JOIN ${s}.events AS c ON c.user_id = p.user_id
			WHERE p.window_start IS NOT NULL
				AND c.name = ANY($4::text[])
				AND c.occurred_at > p.window_start
				AND c.occurred_at <= least(p.window_start + $5::bigint, $6::bigint)
				AND c.message_id <> p.trigger_message_id
				${
					conversion.property
						? `AND ${triggerMatch(propertyOf('c'), `(SELECT ${propertyOf('t')} FROM ${s}.events AS t WHERE t.message_id = p.trigger_message_id)`)}`
						: ''
				}`;
}

/**
 * The same rule as SQLite's (`sqlite-report.ts`): the entries' sends summed per entry, joined
 * to the entries, each with the start of its conversion window (null: not measured).
 * $4 event names, $5 window, $6 now, $7/$8 the property as a key and as a path.
 */
function measuredSql(s: string, conversion: PreparedConversion | undefined, scope: Scope): string {
	const start = `CASE
		WHEN p.messages_sent > 0 THEN ${conversion?.windowFrom === 'entry' ? 'p.triggered_at' : 'p.first_sent_at'}
		WHEN p.variant = 'control' THEN ${conversion?.windowFrom === 'entry' ? 'p.triggered_at' : 'p.held_out_at'}
	END`;
	const ofUser = '(user_id = $2::text AND ($1::text IS NULL OR campaign_id = $1::text))';
	const rowsOf = scope === 'user' ? ofUser : 'campaign_id = $1';
	const entriesOf =
		scope === 'user'
			? `e.user_id = $2::text AND ($1::text IS NULL OR e.campaign_id = $1::text) AND e.triggered_at < $3::bigint`
			: 'e.campaign_id = $1 AND e.triggered_at >= $2::bigint AND e.triggered_at < $3::bigint';
	return `WITH sent AS (
			SELECT entry_id,
				-- The variant of the first send that has one: a string minimum sorts no group.
				substr(min(lpad((reserved_at + 9007199254740991)::text, 20, '0') || variant COLLATE "C"), 21) AS variant,
				count(*) FILTER (WHERE state = 'sent') AS messages_sent,
				min(sent_at) FILTER (WHERE state = 'sent') AS first_sent_at,
				bool_or(state = 'failed') AS any_failed,
				min(reserved_at) FILTER (WHERE variant = 'control' AND state <> 'sent') AS held_out_at
			FROM ${s}.sends WHERE ${rowsOf} AND entry_id IS NOT NULL
			GROUP BY entry_id
		),
		refused AS (
			SELECT entry_id, bool_or(decision = 'capped') AS capped, bool_or(decision = 'deferred') AS deferred
			FROM ${s}.cap_decisions WHERE ${rowsOf} AND entry_id IS NOT NULL
			GROUP BY entry_id
		),
		per_entry AS (
			SELECT e.entry_id, e.user_id, e.triggered_at, e.trigger_message_id, e.state,
				${EXIT_CODE_SQL.postgres} AS exit_code,
				sd.variant, coalesce(sd.messages_sent, 0) AS messages_sent, sd.first_sent_at,
				coalesce(sd.any_failed, false) AS any_failed, sd.held_out_at,
				coalesce(r.capped, false) AS capped, coalesce(r.deferred, false) AS deferred
			FROM ${s}.campaign_entries AS e
				LEFT JOIN sent AS sd ON sd.entry_id = e.entry_id
				LEFT JOIN refused AS r ON r.entry_id = e.entry_id
			WHERE ${entriesOf}
		),
		measured AS (
			SELECT p.*, ${start} AS window_start FROM per_entry AS p
		)`;
}

/**
 * One statement: the measured entries joined with the conversion events of their users,
 * grouped by (variant, exit code). $1 campaign, $2 from, $3 to.
 */
function reportSql(schema: string, conversion: PreparedConversion | undefined): string {
	const s = `"${schema}"`;
	// A set-based join of the measured entries with the conversion events (a hash join, not a
	// lookup per entry): each converted entry once.
	const converted = conversion
		? `,
		converted AS (
			SELECT DISTINCT p.entry_id
			${conversionJoinSql(s, conversion)}
		)`
		: '';
	return `${measuredSql(s, conversion, 'campaign')}${converted}
		SELECT p.variant, p.exit_code,
			count(*) AS entered,
			count(*) FILTER (WHERE p.state = 'exited') AS exited,
			count(*) FILTER (WHERE p.capped) AS capped,
			count(*) FILTER (WHERE p.deferred) AS deferred,
			count(*) FILTER (WHERE p.messages_sent > 0) AS sent,
			sum(p.messages_sent) AS messages_sent,
			count(*) FILTER (WHERE p.messages_sent = 0 AND p.any_failed) AS failed,
			count(*) FILTER (WHERE p.messages_sent = 0 AND p.variant = 'control') AS control,
			count(*) FILTER (WHERE p.window_start IS NOT NULL) AS measured,
			${conversion ? 'count(cv.entry_id)' : '0'} AS converted
		FROM measured AS p ${conversion ? 'LEFT JOIN converted AS cv ON cv.entry_id = p.entry_id' : ''}
		GROUP BY p.variant, p.exit_code`;
}

/**
 * One user's converted entries under the report's rule (the same measured entries and the same
 * join as `countPostgresReport`), each with the first event that converted it.
 */
export async function findPostgresConversions(
	db: PgQueryable,
	schema: string,
	query: { userId: string; campaignId?: string; conversion: PreparedConversion; now: number },
): Promise<EntryConversion[]> {
	const s = `"${schema}"`;
	const conversion = query.conversion;
	const sql = `${measuredSql(s, conversion, 'user')}
		SELECT DISTINCT ON (p.entry_id) p.entry_id, c.message_id
		${conversionJoinSql(s, conversion)}
		ORDER BY p.entry_id, c.occurred_at, c.id`;
	const values: unknown[] = [
		query.campaignId ?? null,
		query.userId,
		Number.MAX_SAFE_INTEGER,
		conversion.eventNames,
		conversion.windowMs,
		query.now,
	];
	if (conversion.property) values.push(conversion.property.key, conversion.property.path);
	const { rows } = await db.query<{ entry_id: string; message_id: string }>(sql, values);
	return rows.map((row) => ({ entryId: row.entry_id, messageId: row.message_id }));
}

export async function countPostgresReport(
	db: PgQueryable,
	schema: string,
	query: PreparedReportQuery,
): Promise<VariantFunnelCounts[]> {
	const conversion = query.conversion;
	// The server counts the parameters the text uses: pass exactly those.
	const values: unknown[] = [query.campaignId, query.from, query.to];
	if (conversion) values.push(conversion.eventNames, conversion.windowMs, query.now);
	if (conversion?.property) values.push(conversion.property.key, conversion.property.path);
	const { rows } = await db.query<ReportRow>(reportSql(schema, conversion), values);
	return foldReportRows(rows);
}

export async function recordPostgresCapDecisions(
	db: PgQueryable,
	schema: string,
	decisions: CapDecisionRecord[],
): Promise<void> {
	await db.query(
		`INSERT INTO "${schema}".cap_decisions (campaign_id, step_id, entry_id, user_id, decision, rules, decided_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::bigint[])`,
		[
			decisions.map((d) => d.campaignId),
			decisions.map((d) => d.stepId),
			decisions.map((d) => d.entryId ?? null),
			decisions.map((d) => d.userId),
			decisions.map((d) => d.decision),
			decisions.map((d) => JSON.stringify(d.rules)),
			decisions.map((d) => d.at),
		],
	);
}
