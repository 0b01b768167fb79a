import { formatPValue, variantLabel, type CampaignReport } from './campaign-report';

/**
 * The report as one SVG image: the campaign's funnel, and each variant's conversion rate with
 * its 95% interval beside the control group's. Plain string generation, no dependency; text
 * is escaped, sizes are fixed so the image pastes into a document as it is.
 */

const WIDTH = 820;
const LABEL_WIDTH = 150;
const VALUE_WIDTH = 250;
const BAR_AREA = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 40;
const ROW = 26;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const MAIN = '#2f6db5';
const MUTED = '#9aa5b1';
const CONTROL = '#c4622d';

export function escapeXml(text: string): string {
	return text
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&apos;');
}

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const fixed = (x: number) => x.toFixed(1);

/** A text element; 13 px unless `attributes` give a font size (an attribute may appear once). */
function text(x: number, y: number, content: string, attributes = ''): string {
	const size = /\bfont-size=/.test(attributes) ? '' : ' font-size="13"';
	return `<text x="${fixed(x)}" y="${fixed(y)}" ${FONT}${size} ${attributes}>${escapeXml(content)}</text>`;
}

function funnel(report: CampaignReport, top: number): { svg: string[]; height: number } {
	const t = report.total;
	const steps: Array<[string, number, boolean]> = [
		['Entered', t.entered, true],
		['Exited', t.exited, false],
		['Capped', t.capped, false],
		['Deferred', t.deferred, false],
		['Sent', t.sent, true],
		['Failed', t.failed, false],
		['Control (held out)', t.control, true],
		['Converted', t.converted, true],
	];
	const svg = [text(20, top + 16, 'Funnel (entries)', 'font-weight="bold" font-size="15"')];
	const max = Math.max(1, t.entered, ...steps.map(([, n]) => n));
	steps.forEach(([label, n, main], i) => {
		const y = top + 30 + i * ROW;
		const width = (n / max) * BAR_AREA;
		svg.push(text(20, y + 15, label));
		svg.push(
			`<rect x="${LABEL_WIDTH + 20}" y="${y + 3}" width="${fixed(Math.max(width, n > 0 ? 1 : 0))}" height="16" fill="${main ? MAIN : MUTED}"/>`,
		);
		const share = t.entered > 0 ? ` (${pct(n / t.entered)} of entered)` : '';
		svg.push(text(LABEL_WIDTH + 30 + width, y + 15, `${n.toLocaleString('en-US')}${share}`));
	});
	return { svg, height: 30 + steps.length * ROW + 10 };
}

function rates(report: CampaignReport, top: number): { svg: string[]; height: number } {
	const rows = report.variants.filter(
		(row) => row.variant !== null && row.conversionRateInterval !== null,
	);
	const title = report.conversion
		? `Conversion rate with 95% interval (${report.conversion.eventNames.join(', ')})`
		: 'Conversion rate: no conversion declared';
	const svg = [text(20, top + 16, title, 'font-weight="bold" font-size="15"')];
	if (rows.length === 0) {
		svg.push(text(20, top + 40, 'Nobody was measured yet.', `fill="${MUTED}"`));
		return { svg, height: 56 };
	}
	const upper = Math.max(...rows.map((row) => row.conversionRateInterval!.upper));
	// A round scale end: the next 5 percentage points above the highest interval.
	const scaleMax = Math.min(1, Math.max(0.05, Math.ceil(upper * 20 + 1e-9) / 20));
	const x = (rate: number) => LABEL_WIDTH + 20 + (rate / scaleMax) * BAR_AREA;
	const axisY = top + 30 + rows.length * ROW + 4;
	const control = rows.find((row) => row.variant === 'control');
	if (control) {
		const cx = x(control.conversionRate!);
		svg.push(
			`<line x1="${fixed(cx)}" y1="${top + 26}" x2="${fixed(cx)}" y2="${axisY}" stroke="${CONTROL}" stroke-dasharray="4 3"/>`,
		);
	}
	rows.forEach((row, i) => {
		const y = top + 30 + i * ROW + 11;
		const interval = row.conversionRateInterval!;
		const colour = row.variant === 'control' ? CONTROL : MAIN;
		svg.push(text(20, y + 4, variantLabel(row.variant)));
		svg.push(
			`<line x1="${fixed(x(interval.lower))}" y1="${y}" x2="${fixed(x(interval.upper))}" y2="${y}" stroke="${colour}" stroke-width="2"/>`,
			`<line x1="${fixed(x(interval.lower))}" y1="${y - 5}" x2="${fixed(x(interval.lower))}" y2="${y + 5}" stroke="${colour}" stroke-width="2"/>`,
			`<line x1="${fixed(x(interval.upper))}" y1="${y - 5}" x2="${fixed(x(interval.upper))}" y2="${y + 5}" stroke="${colour}" stroke-width="2"/>`,
			`<circle cx="${fixed(x(row.conversionRate!))}" cy="${y}" r="4.5" fill="${colour}"/>`,
		);
		const c = row.vsControl;
		const detail = c
			? `${pct(row.conversionRate!)}  lift ${c.lift >= 0 ? '+' : ''}${(c.lift * 100).toFixed(1)} pt [${(c.interval.lower * 100).toFixed(1)}, ${(c.interval.upper * 100).toFixed(1)}]${c.pValue === null ? '' : `, p ${formatPValue(c.pValue)}`}`
			: `${pct(row.conversionRate!)}  (${row.converted}/${row.measured})`;
		svg.push(text(WIDTH - VALUE_WIDTH - 10, y + 4, detail, 'font-size="12"'));
	});
	svg.push(
		`<line x1="${LABEL_WIDTH + 20}" y1="${axisY}" x2="${fixed(x(scaleMax))}" y2="${axisY}" stroke="#444"/>`,
	);
	for (let tick = 0; tick <= 4; tick++) {
		const rate = (scaleMax * tick) / 4;
		svg.push(
			`<line x1="${fixed(x(rate))}" y1="${axisY}" x2="${fixed(x(rate))}" y2="${axisY + 4}" stroke="#444"/>`,
			text(x(rate), axisY + 17, pct(rate, 1), 'font-size="11" text-anchor="middle"'),
		);
	}
	return { svg, height: axisY - top + 26 };
}

/** The funnel and the variants' conversion rates of a report, as an SVG document. */
export function renderReportChart(report: CampaignReport): string {
	const title = `Campaign ${report.campaignId}`;
	const range =
		report.from !== null || report.to !== null
			? `entries ${report.from === null ? 'from the start' : new Date(report.from).toISOString()} to ${report.to === null ? 'now' : new Date(report.to).toISOString()}`
			: 'all entries';
	const head = [
		text(20, 28, title, 'font-weight="bold" font-size="18"'),
		text(20, 48, range, `fill="#555" font-size="12"`),
	];
	const first = funnel(report, 60);
	const second = rates(report, 60 + first.height + 10);
	const footTop = 60 + first.height + 10 + second.height + 8;
	const foot = [
		text(
			20,
			footTop + 12,
			`Lift vs control: ${report.methods.interval}; p: ${report.methods.test}.`,
			'fill="#555" font-size="11"',
		),
	];
	const height = footTop + 24;
	return [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
		`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
		...head,
		...first.svg,
		...second.svg,
		...foot,
		'</svg>',
		'',
	].join('\n');
}
