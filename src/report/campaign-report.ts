import { InvalidInputError } from '../errors';
import type { CampaignStore, ConversionRule, VariantFunnelCounts } from '../store/campaign-store';
import {
	compareProportions,
	INTERVAL_METHOD,
	TEST_METHOD,
	wilsonInterval,
	type Interval,
	type ProportionComparison,
} from './statistics';

/**
 * The Campaign Report: a campaign's funnel per variant and control, counted in the store,
 * with each variant's conversion rate compared with the control group's.
 *
 * Attribution rule, one for every backend and every time the report runs: an entry converts
 * when a conversion event of its user occurs after the window's start (its first message
 * sent, or for a control user the moment they were held out; or its trigger, when the window
 * counts from the entry) and at most the window later. It counts once per entry, for the
 * variant (or control) its sends recorded. Conversions are computed from the recorded events
 * when the report runs, so events recorded before the rule was declared count as well.
 */
export interface CampaignReportRequest {
	campaignId: string;
	from?: number;
	to?: number;
	conversion?: ConversionRule;
	now: number;
}

export interface VariantReport extends VariantFunnelCounts {
	/** `converted / measured`; null when nobody was measured. */
	conversionRate: number | null;
	/** 95% Wilson interval of the conversion rate; null when nobody was measured. */
	conversionRateInterval: Interval | null;
	/** Against control; null for control itself, for entries with no variant, or without a control group. */
	vsControl: ProportionComparison | null;
}

export interface CampaignReport {
	campaignId: string;
	from: number | null;
	to: number | null;
	now: number;
	conversion: ConversionRule | null;
	/** Named variants, then `control`, then entries with no variant (variant null). */
	variants: VariantReport[];
	/** All of the campaign's entries in range. */
	total: VariantReport;
	methods: { interval: string; test: string; rateInterval: string };
}

const FUNNEL_FIELDS = [
	'entered',
	'exited',
	'capped',
	'deferred',
	'sent',
	'messagesSent',
	'failed',
	'control',
	'measured',
	'converted',
] as const;

function rateOf(counts: VariantFunnelCounts, withConversion: boolean) {
	if (!withConversion || counts.measured === 0)
		return { conversionRate: null, conversionRateInterval: null };
	return {
		conversionRate: counts.converted / counts.measured,
		conversionRateInterval: wilsonInterval(counts.converted, counts.measured),
	};
}

export async function buildCampaignReport(
	store: CampaignStore,
	request: CampaignReportRequest,
): Promise<CampaignReport> {
	if (typeof request.campaignId !== 'string' || request.campaignId.trim() === '') {
		throw new InvalidInputError('campaignId', 'is empty; name the campaign to report on.');
	}
	const campaignId = request.campaignId.trim();
	const counts = await store.countCampaignReport({
		campaignId,
		from: request.from,
		to: request.to,
		conversion: request.conversion,
		now: request.now,
	});
	const withConversion = request.conversion !== undefined;
	const control = counts.find((row) => row.variant === 'control');
	const variants: VariantReport[] = counts.map((row) => ({
		...row,
		...rateOf(row, withConversion),
		vsControl:
			withConversion && control && row.variant !== null && row.variant !== 'control'
				? compareProportions(row.converted, row.measured, control.converted, control.measured)
				: null,
	}));
	const total: VariantFunnelCounts = {
		variant: null,
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
	for (const row of counts) {
		for (const field of FUNNEL_FIELDS) total[field] += row[field];
		for (const [reason, n] of Object.entries(row.exitedByReason))
			total.exitedByReason[reason] = (total.exitedByReason[reason] ?? 0) + n;
	}
	return {
		campaignId,
		from: request.from ?? null,
		to: request.to ?? null,
		now: request.now,
		conversion: request.conversion ?? null,
		variants,
		total: { ...total, ...rateOf(total, withConversion), vsControl: null },
		methods: {
			interval: INTERVAL_METHOD,
			test: TEST_METHOD,
			rateInterval: 'Wilson score interval, 95%',
		},
	};
}

/** A variant's name for people: `(no message)` for entries that never reached one. */
export function variantLabel(variant: string | null): string {
	return variant ?? '(no message)';
}

const percent = (x: number | null | undefined, digits = 1) =>
	x === null || x === undefined ? '' : `${(x * 100).toFixed(digits)}%`;
const points = (x: number, digits = 1) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(digits)}`;

/** One line per variant, control and total: the table the demo prints. */
export function formatReportTable(report: CampaignReport): string {
	const header = [
		'variant',
		'entered',
		'exited',
		'capped',
		'deferred',
		'sent',
		'failed',
		'control',
		'converted',
		'rate',
		'lift vs control (95% CI)',
		'p',
		'verdict',
	];
	const rows = [...report.variants, { ...report.total, variant: 'total' }].map((row) => {
		const c = (row as VariantReport).vsControl;
		return [
			row.variant === 'total' ? 'total' : variantLabel(row.variant),
			String(row.entered),
			String(row.exited),
			String(row.capped),
			String(row.deferred),
			String(row.sent),
			String(row.failed),
			String(row.control),
			`${row.converted}/${row.measured}`,
			percent((row as VariantReport).conversionRate),
			c ? `${points(c.lift)} pt [${points(c.interval.lower)}, ${points(c.interval.upper)}]` : '',
			c?.pValue === null || c?.pValue === undefined ? '' : formatPValue(c.pValue),
			c?.verdict ?? '',
		];
	});
	const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i].length)));
	const line = (cells: string[]) =>
		cells
			.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
			.join('  ')
			.trimEnd();
	return [
		line(header),
		line(widths.map((w) => '-'.repeat(w))),
		...rows.map(line),
		...(Object.keys(report.total.exitedByReason).length > 0
			? [
					`Exited by reason: ${Object.entries(report.total.exitedByReason)
						.map(([reason, n]) => `${reason} ${n}`)
						.join(', ')}.`,
				]
			: []),
		`Lift: ${report.methods.interval}; p: ${report.methods.test}.`,
	].join('\n');
}

export function formatPValue(p: number): string {
	return p < 0.0001 ? '<0.0001' : p.toFixed(4);
}
