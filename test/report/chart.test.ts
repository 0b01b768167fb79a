import type { CampaignReport } from '../../src/report/campaign-report';
import { renderReportChart } from '../../src/report/chart';
import { compareProportions, wilsonInterval } from '../../src/report/statistics';

const counts = (variant: string | null, measured: number, converted: number) => ({
	variant,
	entered: measured + 10,
	exited: 5,
	exitedByReason: { exceptionEvent: 5 },
	capped: 3,
	deferred: 2,
	sent: variant === 'control' ? 0 : measured,
	messagesSent: variant === 'control' ? 0 : measured,
	failed: 2,
	control: variant === 'control' ? measured : 0,
	measured,
	converted,
	conversionRate: converted / measured,
	conversionRateInterval: wilsonInterval(converted, measured),
	vsControl: variant === 'control' ? null : compareProportions(converted, measured, 100, 1000),
});

const report: CampaignReport = {
	campaignId: 'spring <sale> & "friends"',
	from: null,
	to: null,
	now: Date.UTC(2026, 3, 1),
	conversion: { eventNames: ['Order Completed'], windowMs: 86_400_000, windowFrom: 'send' },
	variants: [counts('A', 1000, 110), counts('B', 1000, 150), counts('control', 1000, 100)],
	total: { ...counts(null, 3000, 360), vsControl: null },
	methods: { interval: 'Newcombe', test: 'z-test', rateInterval: 'Wilson' },
};

describe('report chart', () => {
	const svg = renderReportChart(report);

	it('is well-formed: no attribute twice in an element, every element closed, text escaped', () => {
		for (const tag of svg.match(/<[a-z]+\s[^>]*>/g) ?? []) {
			const names = [...tag.matchAll(/\s([a-z-]+)="/g)].map((m) => m[1]);
			expect(names).toEqual([...new Set(names)]);
		}
		const opened = (svg.match(/<text\b/g) ?? []).length;
		expect((svg.match(/<\/text>/g) ?? []).length).toBe(opened);
		expect(svg.trim().endsWith('</svg>')).toBe(true);
		expect(svg).toContain('Campaign spring &lt;sale&gt; &amp; &quot;friends&quot;');
		expect(svg).not.toContain('<sale>');
	});

	it('shows the funnel, each variant with its interval, and the methods', () => {
		expect(svg).toContain('Funnel (entries)');
		expect(svg).toContain('Converted');
		for (const variant of ['A', 'B', 'control']) expect(svg).toContain(`>${variant}</text>`);
		expect(svg).toMatch(/15\.0% {2}lift \+5\.0 pt \[\+?\d\.\d, \d\.\d\]/);
		expect(svg).toContain('Lift vs control: Newcombe; p: z-test.');
	});
});
