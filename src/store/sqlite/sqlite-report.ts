import type { StatementSync } from 'node:sqlite';

import type { CapDecisionRecord, VariantFunnelCounts } from '../campaign-store';
import type { EntryConversion } from '../user-records';
import {
	EXIT_CODE_SQL,
	foldReportRows,
	type PreparedConversion,
	type PreparedReportQuery,
	type ReportRow,
	triggerMatch,
} from '../report-queries';

/** The store's cache of prepared statements. */
type Statements = (sql: string) => StatementSync;

/** `$."key"` and `$."a"."b"`: the property as one key and as a dotted path. */
const jsonPath = (parts: string[]) => `$${parts.map((part) => `."${part}"`).join('')}`;

/** The property of an event row `alias`, as text, as `readProperty` finds it. */
const propertyOf = (alias: string) =>
	`CAST(coalesce(json_extract(${alias}.properties, $keyPath), json_extract(${alias}.properties, $dotPath)) AS TEXT)`;

/** Whose entries a statement reads: a campaign's in a time range, or one user's (in one campaign). */
type Scope = { user: false } | { user: true; campaign: boolean };

/**
 * The report's conversion rule: the events of the entry's user that count as its conversion
 * (`p` is a measured entry). Used by the report and by a user's timeline alike.
 */
function conversionEventsSql(conversion: PreparedConversion): string {
	return `FROM events AS c
			WHERE c.user_id = p.user_id
				AND c.name IN (SELECT value FROM json_each($names))
				AND c.occurred_at > p.window_start
				AND c.occurred_at <= min(p.window_start + $windowMs, $now)
				AND c.message_id <> p.trigger_message_id
				${
					conversion.property
						? `AND ${triggerMatch(propertyOf('c'), `(SELECT ${propertyOf('t')} FROM events AS t WHERE t.message_id = p.trigger_message_id)`)}`
						: ''
				}`;
}

/**
 * The campaign's entries in range (or the user's entries), each with its sends and cap
 * decisions summed and the start of its conversion window (null: not measured). Sends are read
 * in (campaign, entry) order from their index, so the per-entry sums need no sort.
 */
function measuredSql(conversion: PreparedConversion | undefined, scope: Scope): string {
	const start = `CASE
		WHEN p.messages_sent > 0 THEN ${conversion?.windowFrom === 'entry' ? 'p.triggered_at' : 'p.first_sent_at'}
		WHEN p.variant = 'control' THEN ${conversion?.windowFrom === 'entry' ? 'p.triggered_at' : 'p.held_out_at'}
	END`;
	const campaignOfUser = scope.user && scope.campaign ? 'AND campaign_id = $campaign' : '';
	const sendsOf = scope.user ? `user_id = $user ${campaignOfUser}` : 'campaign_id = $campaign';
	const decisionsOf = scope.user ? 'd.campaign_id = e.campaign_id' : 'd.campaign_id = $campaign';
	const entriesOf = scope.user
		? `e.user_id = $user ${campaignOfUser.replace('campaign_id', 'e.campaign_id')}`
		: 'e.campaign_id = $campaign AND e.triggered_at >= $from AND e.triggered_at < $to';
	return `WITH sent AS (
			SELECT entry_id,
				substr(min(CASE WHEN variant IS NOT NULL
					THEN printf('%020d', reserved_at + 9007199254740991) || variant END), 21) AS variant,
				sum(state = 'sent') AS messages_sent,
				min(CASE WHEN state = 'sent' THEN sent_at END) AS first_sent_at,
				max(state = 'failed') AS any_failed,
				min(CASE WHEN variant = 'control' AND state <> 'sent' THEN reserved_at END) AS held_out_at
			FROM sends WHERE ${sendsOf} AND entry_id IS NOT NULL
			GROUP BY entry_id
		),
		per_entry AS (
			SELECT e.entry_id, e.user_id, e.triggered_at, e.trigger_message_id, e.state,
				${EXIT_CODE_SQL.sqlite} AS exit_code,
				s.variant, coalesce(s.messages_sent, 0) AS messages_sent, s.first_sent_at,
				coalesce(s.any_failed, 0) AS any_failed, s.held_out_at,
				EXISTS (SELECT 1 FROM cap_decisions AS d WHERE ${decisionsOf}
					AND d.entry_id = e.entry_id AND d.decision = 'capped') AS capped,
				EXISTS (SELECT 1 FROM cap_decisions AS d WHERE ${decisionsOf}
					AND d.entry_id = e.entry_id AND d.decision = 'deferred') AS deferred
			FROM campaign_entries AS e LEFT JOIN sent AS s ON s.entry_id = e.entry_id
			WHERE ${entriesOf}
		),
		measured AS (
			SELECT p.*, ${start} AS window_start FROM per_entry AS p
		)`;
}

/**
 * One statement: the measured entries, a conversion looked up per measured entry on `events
 * (user_id, name, occurred_at)`, grouped by (variant, exit code).
 */
function reportSql(conversion: PreparedConversion | undefined): string {
	const converted = conversion ? `EXISTS (SELECT 1 ${conversionEventsSql(conversion)})` : '0';
	return `${measuredSql(conversion, { user: false })}
		SELECT p.variant, p.exit_code,
			count(*) AS entered,
			sum(p.state = 'exited') AS exited,
			sum(p.capped) AS capped,
			sum(p.deferred) AS deferred,
			sum(p.messages_sent > 0) AS sent,
			sum(p.messages_sent) AS messages_sent,
			sum(p.messages_sent = 0 AND p.any_failed) AS failed,
			sum(p.messages_sent = 0 AND p.variant = 'control') AS control,
			sum(p.window_start IS NOT NULL) AS measured,
			sum(p.window_start IS NOT NULL AND ${converted}) AS converted
		FROM measured AS p
		GROUP BY p.variant, p.exit_code`;
}

/** The conversion parameters of both statements. */
function conversionParameters(
	conversion: PreparedConversion,
	now: number,
): Record<string, string | number> {
	const parameters: Record<string, string | number> = {
		names: JSON.stringify(conversion.eventNames),
		windowMs: conversion.windowMs,
		now,
	};
	if (conversion.property) {
		parameters.keyPath = jsonPath([conversion.property.key]);
		parameters.dotPath = jsonPath(conversion.property.path);
	}
	return parameters;
}

/**
 * One user's converted entries under the report's rule (the same measured entries and the same
 * conversion events as `countSqliteReport`), each with the first event that converted it.
 */
export function findSqliteConversions(
	statement: Statements,
	query: { userId: string; campaignId?: string; conversion: PreparedConversion; now: number },
): EntryConversion[] {
	const sql = `${measuredSql(query.conversion, { user: true, campaign: query.campaignId !== undefined })}
		SELECT p.entry_id AS entry_id,
			(SELECT c.message_id ${conversionEventsSql(query.conversion)}
				ORDER BY c.occurred_at, c.id LIMIT 1) AS message_id
		FROM measured AS p WHERE p.window_start IS NOT NULL`;
	const parameters: Record<string, string | number> = {
		user: query.userId,
		...conversionParameters(query.conversion, query.now),
	};
	if (query.campaignId !== undefined) parameters.campaign = query.campaignId;
	const rows = statement(sql).all(parameters) as Array<{
		entry_id: string;
		message_id: string | null;
	}>;
	return rows
		.filter((row) => row.message_id !== null)
		.map((row) => ({ entryId: row.entry_id, messageId: row.message_id! }));
}

export function countSqliteReport(
	statement: Statements,
	query: PreparedReportQuery,
): VariantFunnelCounts[] {
	const conversion = query.conversion;
	const parameters: Record<string, string | number | null> = {
		campaign: query.campaignId,
		from: query.from,
		to: query.to,
		...(conversion ? conversionParameters(conversion, query.now) : {}),
	};
	const rows = statement(reportSql(conversion)).all(parameters) as unknown as ReportRow[];
	return foldReportRows(rows);
}

export function recordSqliteCapDecisions(
	statement: Statements,
	decisions: CapDecisionRecord[],
): void {
	const insert = statement(
		`INSERT INTO cap_decisions (campaign_id, step_id, entry_id, user_id, decision, rules, decided_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?)`,
	);
	for (const decision of decisions) {
		insert.run(
			decision.campaignId,
			decision.stepId,
			decision.entryId ?? null,
			decision.userId,
			decision.decision,
			JSON.stringify(decision.rules),
			decision.at,
		);
	}
}
