import type { StatementSync } from 'node:sqlite';

import type { CapDecisionRecord, VariantFunnelCounts } from '../campaign-store';
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

/**
 * One statement: the campaign's entries in range, each with its sends and cap decisions
 * summed, then a conversion looked up per measured entry on `events (user_id, name,
 * occurred_at)`, grouped by (variant, exit code). Sends are read in (campaign, entry) order
 * from their index, so the per-entry sums need no sort.
 */
function reportSql(conversion: PreparedConversion | undefined): string {
	const start = `CASE
		WHEN p.messages_sent > 0 THEN ${conversion?.windowFrom === 'entry' ? 'p.triggered_at' : 'p.first_sent_at'}
		WHEN p.variant = 'control' THEN ${conversion?.windowFrom === 'entry' ? 'p.triggered_at' : 'p.held_out_at'}
	END`;
	const converted = conversion
		? `EXISTS (
			SELECT 1 FROM events AS c
			WHERE c.user_id = p.user_id
				AND c.name IN (SELECT value FROM json_each($names))
				AND c.occurred_at > p.window_start
				AND c.occurred_at <= min(p.window_start + $windowMs, $now)
				AND c.message_id <> p.trigger_message_id
				${
					conversion.property
						? `AND ${triggerMatch(propertyOf('c'), `(SELECT ${propertyOf('t')} FROM events AS t WHERE t.message_id = p.trigger_message_id)`)}`
						: ''
				}
		)`
		: '0';
	return `WITH sent AS (
			SELECT entry_id,
				substr(min(CASE WHEN variant IS NOT NULL
					THEN printf('%020d', reserved_at + 9007199254740991) || variant END), 21) AS variant,
				sum(state = 'sent') AS messages_sent,
				min(CASE WHEN state = 'sent' THEN sent_at END) AS first_sent_at,
				max(state = 'failed') AS any_failed,
				min(CASE WHEN variant = 'control' AND state <> 'sent' THEN reserved_at END) AS held_out_at
			FROM sends WHERE campaign_id = $campaign AND entry_id IS NOT NULL
			GROUP BY entry_id
		),
		per_entry AS (
			SELECT e.entry_id, e.user_id, e.triggered_at, e.trigger_message_id, e.state,
				${EXIT_CODE_SQL.sqlite} AS exit_code,
				s.variant, coalesce(s.messages_sent, 0) AS messages_sent, s.first_sent_at,
				coalesce(s.any_failed, 0) AS any_failed, s.held_out_at,
				EXISTS (SELECT 1 FROM cap_decisions AS d WHERE d.campaign_id = $campaign
					AND d.entry_id = e.entry_id AND d.decision = 'capped') AS capped,
				EXISTS (SELECT 1 FROM cap_decisions AS d WHERE d.campaign_id = $campaign
					AND d.entry_id = e.entry_id AND d.decision = 'deferred') AS deferred
			FROM campaign_entries AS e LEFT JOIN sent AS s ON s.entry_id = e.entry_id
			WHERE e.campaign_id = $campaign AND e.triggered_at >= $from AND e.triggered_at < $to
		),
		measured AS (
			SELECT p.*, ${start} AS window_start FROM per_entry AS p
		)
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

export function countSqliteReport(
	statement: Statements,
	query: PreparedReportQuery,
): VariantFunnelCounts[] {
	const conversion = query.conversion;
	const parameters: Record<string, string | number | null> = {
		campaign: query.campaignId,
		from: query.from,
		to: query.to,
	};
	if (conversion) {
		parameters.names = JSON.stringify(conversion.eventNames);
		parameters.windowMs = conversion.windowMs;
		parameters.now = query.now;
		if (conversion.property) {
			parameters.keyPath = jsonPath([conversion.property.key]);
			parameters.dotPath = jsonPath(conversion.property.path);
		}
	}
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
