import { InvalidInputError } from '../errors';
import type {
	CampaignReportQuery,
	CapDecisionRecord,
	ConversionRule,
	VariantFunnelCounts,
} from './campaign-store';
import { checkTime } from './send-requests';

/** The longest conversion window: 90 days after the send (or the entry). */
export const MAX_CONVERSION_WINDOW_MS = 90 * 24 * 60 * 60 * 1000;

const DECISIONS = ['capped', 'deferred'] as const;

function text(value: unknown, field: string): string {
	if (typeof value !== 'string' || value.trim() === '') {
		throw new InvalidInputError(field, `must be a non-empty string, not ${JSON.stringify(value)}.`);
	}
	return value;
}

export function checkCapDecisions(decisions: CapDecisionRecord[]): void {
	if (!Array.isArray(decisions)) {
		throw new InvalidInputError('decisions', 'must be an array of cap decisions.');
	}
	decisions.forEach((decision, i) => {
		const at = (field: string) => `decisions[${i}].${field}`;
		text(decision.campaignId, at('campaignId'));
		text(decision.stepId, at('stepId'));
		text(decision.userId, at('userId'));
		if (decision.entryId !== undefined && decision.entryId !== null)
			text(decision.entryId, at('entryId'));
		if (!DECISIONS.includes(decision.decision)) {
			throw new InvalidInputError(
				at('decision'),
				`must be capped or deferred, not ${JSON.stringify(decision.decision)}.`,
			);
		}
		if (!Array.isArray(decision.rules) || decision.rules.some((rule) => typeof rule !== 'string')) {
			throw new InvalidInputError(at('rules'), 'must be an array of rule ids.');
		}
		checkTime(decision.at, at('at'));
	});
}

/** A conversion rule the store can query: names, window bounds and the property's two paths. */
export interface PreparedConversion {
	eventNames: string[];
	windowMs: number;
	windowFrom: 'send' | 'entry';
	/** The property as one key, and as a dotted path: `readProperty` tries both, in that order. */
	property?: { key: string; path: string[] };
}

export function checkConversionRule(rule: ConversionRule): PreparedConversion {
	if (!Array.isArray(rule.eventNames) || rule.eventNames.length === 0) {
		throw new InvalidInputError(
			'conversion.eventNames',
			'name at least one conversion event, e.g. Order Completed.',
		);
	}
	const eventNames = rule.eventNames.map((name, i) =>
		text(name, `conversion.eventNames[${i}]`).trim(),
	);
	const windowMs = rule.windowMs;
	if (
		typeof windowMs !== 'number' ||
		!Number.isSafeInteger(windowMs) ||
		windowMs <= 0 ||
		windowMs > MAX_CONVERSION_WINDOW_MS
	) {
		throw new InvalidInputError(
			'conversion.windowMs',
			`must be whole milliseconds above 0 and at most 90 days (${MAX_CONVERSION_WINDOW_MS}), not ${String(windowMs)}.`,
		);
	}
	if (rule.windowFrom !== 'send' && rule.windowFrom !== 'entry') {
		throw new InvalidInputError(
			'conversion.windowFrom',
			`must be send or entry, not ${JSON.stringify(rule.windowFrom)}.`,
		);
	}
	const name = rule.matchProperty?.trim();
	if (!name) return { eventNames, windowMs, windowFrom: rule.windowFrom };
	const path = name.split('.');
	if (path.some((part) => part === '') || /["\\]/.test(name)) {
		throw new InvalidInputError(
			'conversion.matchProperty',
			`"${name}" is not a property name or dotted path (no empty parts, quotes or backslashes), e.g. cart_id or cart.id.`,
		);
	}
	return { eventNames, windowMs, windowFrom: rule.windowFrom, property: { key: name, path } };
}

export interface PreparedReportQuery {
	campaignId: string;
	from: number;
	to: number;
	now: number;
	conversion?: PreparedConversion;
}

export function checkReportQuery(query: CampaignReportQuery): PreparedReportQuery {
	const campaignId = text(query?.campaignId, 'campaignId');
	const now = checkTime(query.now, 'now');
	const from = query.from === undefined ? Number.MIN_SAFE_INTEGER : checkTime(query.from, 'from');
	const to = query.to === undefined ? Number.MAX_SAFE_INTEGER : checkTime(query.to, 'to');
	if (to <= from) {
		throw new InvalidInputError('to', 'must be later than from: the time range is empty.');
	}
	return {
		campaignId,
		from,
		to,
		now,
		conversion: query.conversion ? checkConversionRule(query.conversion) : undefined,
	};
}

/**
 * The conversion event's property equals the trigger event's; a trigger event without the
 * property lets any conversion event count, as in the Exception Check's Match Property. The
 * trigger's value is read a second time only when the first comparison is unknown.
 */
export const triggerMatch = (conversionValue: string, triggerValue: string): string =>
	`coalesce(${conversionValue} = ${triggerValue}, ${triggerValue} IS NULL)`;

/** The code of an exit reason: the part before the first `:`, e.g. `exceptionEvent`. */
export const EXIT_CODE_SQL = {
	sqlite: `CASE WHEN exit_reason IS NULL THEN NULL
		WHEN instr(exit_reason, ':') > 0 THEN substr(exit_reason, 1, instr(exit_reason, ':') - 1)
		ELSE exit_reason END`,
	postgres: `CASE WHEN exit_reason IS NULL THEN NULL ELSE split_part(exit_reason, ':', 1) END`,
};

/** One row of the report query: a (variant, exit code) group, numbers as either backend gives them. */
export interface ReportRow {
	variant: string | null;
	exit_code: string | null;
	entered: number | string | bigint;
	exited: number | string | bigint | null;
	capped: number | string | bigint | null;
	deferred: number | string | bigint | null;
	sent: number | string | bigint | null;
	messages_sent: number | string | bigint | null;
	failed: number | string | bigint | null;
	control: number | string | bigint | null;
	measured: number | string | bigint | null;
	converted: number | string | bigint | null;
}

const COUNT_COLUMNS = [
	['exited', 'exited'],
	['capped', 'capped'],
	['deferred', 'deferred'],
	['sent', 'sent'],
	['messages_sent', 'messagesSent'],
	['failed', 'failed'],
	['control', 'control'],
	['measured', 'measured'],
	['converted', 'converted'],
] as const;

/** Sums the (variant, exit code) rows into one row per variant: named variants, control, then none. */
export function foldReportRows(rows: ReportRow[]): VariantFunnelCounts[] {
	const byVariant = new Map<string | null, VariantFunnelCounts>();
	for (const row of rows) {
		let counts = byVariant.get(row.variant);
		if (!counts) {
			counts = {
				variant: row.variant,
				entered: 0,
				exited: 0,
				exitedByReason: {},
				capped: 0,
				deferred: 0,
				sent: 0,
				messagesSent: 0,
				failed: 0,
				control: 0,
				measured: 0,
				converted: 0,
			};
			byVariant.set(row.variant, counts);
		}
		counts.entered += Number(row.entered);
		for (const [column, field] of COUNT_COLUMNS) counts[field] += Number(row[column] ?? 0);
		const exited = Number(row.exited ?? 0);
		if (row.exit_code !== null && exited > 0) {
			counts.exitedByReason[row.exit_code] = (counts.exitedByReason[row.exit_code] ?? 0) + exited;
		}
	}
	const rank = (variant: string | null) => (variant === null ? 2 : variant === 'control' ? 1 : 0);
	return [...byVariant.values()].sort(
		(a, b) =>
			rank(a.variant) - rank(b.variant) || (a.variant ?? '').localeCompare(b.variant ?? '', 'en'),
	);
}
