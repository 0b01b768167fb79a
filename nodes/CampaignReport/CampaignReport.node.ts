import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import {
	buildCampaignReport,
	InvalidInputError,
	MAX_CONVERSION_WINDOW_MS,
	renderReportChart,
	variantLabel,
	type CampaignReport as Report,
	type ConversionRule,
	type VariantReport,
} from '../../src';
import { campaignStoreFor, testCampaignStoreCredential } from '../shared/campaign-store';
import { parseDateParameter, splitList } from '../shared/parameters';
import { campaignReportProperties } from './description';

const UNIT_MS = { hours: 3_600_000, days: 86_400_000 } as const;

export class CampaignReport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Report',
		name: 'campaignReport',
		icon: { light: 'file:campaignReport.svg', dark: 'file:campaignReport.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["campaignIds"]}}',
		description:
			'Did it work? Entered, exited, capped, sent, control and converted per variant, with the lift against control',
		defaults: { name: 'Campaign Report' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		credentials: [
			{
				name: 'campaignStoreApi',
				displayName: 'Campaign Store',
				required: false,
				testedBy: 'testCampaignStoreCredential',
			},
		],
		properties: campaignReportProperties,
	};

	methods = { credentialTest: { testCampaignStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const now = Date.now();
		const campaignIds = splitList(String(this.getNodeParameter('campaignIds', 0, '')));
		if (campaignIds.length === 0) {
			throw new NodeOperationError(
				this.getNode(),
				'Campaign IDs is empty: name at least one campaign, e.g. cart-recovery.',
			);
		}
		const conversion = readConversion(this);
		const zone = this.getTimezone();
		let from: number | undefined;
		let to: number | undefined;
		try {
			from = parseDateParameter(this.getNodeParameter('from', 0, ''), 'Entered From', zone);
			to = parseDateParameter(this.getNodeParameter('to', 0, ''), 'Entered Before', zone);
		} catch (error) {
			throw new NodeOperationError(this.getNode(), (error as Error).message);
		}
		const includeChart = this.getNodeParameter('includeChart', 0, true) as boolean;
		const store = await campaignStoreFor(this);
		const output: INodeExecutionData[] = [];
		for (const campaignId of campaignIds) {
			let report: Report;
			try {
				report = await buildCampaignReport(store, { campaignId, from, to, conversion, now });
			} catch (error) {
				throw new NodeOperationError(this.getNode(), error as Error, {
					description:
						error instanceof InvalidInputError ? `Fix the field ${error.field}.` : undefined,
				});
			}
			for (const row of report.variants)
				output.push({ json: rowJson(report, row, row.variant), pairedItem: { item: 0 } });
			// The report reads its parameters from the first item, so every row pairs with it.
			const total: INodeExecutionData = {
				json: rowJson(report, report.total, 'total'),
				pairedItem: { item: 0 },
			};
			if (includeChart) {
				const svg = renderReportChart(report);
				total.binary = {
					chart: await this.helpers.prepareBinaryData(
						Buffer.from(svg, 'utf8'),
						`campaign-report-${campaignId.replace(/[^\w.-]+/g, '_')}.svg`,
						'image/svg+xml',
					),
				};
			}
			output.push(total);
		}
		return [output];
	}
}

function readConversion(context: IExecuteFunctions): ConversionRule | undefined {
	if (!(context.getNodeParameter('measureConversions', 0, true) as boolean)) return undefined;
	const eventNames = splitList(String(context.getNodeParameter('conversionEvents', 0, '')));
	if (eventNames.length === 0) {
		throw new NodeOperationError(
			context.getNode(),
			'Conversion Events is empty: name the events that count as a conversion, e.g. Order Completed, or turn Measure Conversions off.',
		);
	}
	const unit = context.getNodeParameter('windowUnit', 0, 'days') as keyof typeof UNIT_MS;
	const amount = Number(context.getNodeParameter('windowAmount', 0, 7));
	const windowMs = Math.round(amount * (UNIT_MS[unit] ?? NaN));
	if (!(windowMs > 0) || windowMs > MAX_CONVERSION_WINDOW_MS) {
		throw new NodeOperationError(
			context.getNode(),
			`Conversion Window must be above 0 and at most 90 days (got ${amount} ${unit}).`,
		);
	}
	const matchProperty = String(context.getNodeParameter('matchProperty', 0, '')).trim();
	return {
		eventNames,
		matchProperty: matchProperty || undefined,
		windowMs,
		windowFrom: context.getNodeParameter('windowFrom', 0, 'send') as 'send' | 'entry',
	};
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One row of the report as a flat item: the counts, the rate, and the comparison with control. */
function rowJson(report: Report, row: VariantReport, variant: string | null): IDataObject {
	const c = row.vsControl;
	return {
		campaignId: report.campaignId,
		variant: variant === 'total' ? 'total' : variantLabel(variant),
		entered: row.entered,
		exited: row.exited,
		exitedByReason: row.exitedByReason,
		capped: row.capped,
		deferred: row.deferred,
		sent: row.sent,
		messagesSent: row.messagesSent,
		failed: row.failed,
		control: row.control,
		measured: row.measured,
		converted: row.converted,
		conversionRate: row.conversionRate,
		conversionRateLow: row.conversionRateInterval?.lower ?? null,
		conversionRateHigh: row.conversionRateInterval?.upper ?? null,
		lift: c?.lift ?? null,
		liftLow: c?.interval.lower ?? null,
		liftHigh: c?.interval.upper ?? null,
		relativeLift: c?.relativeLift ?? null,
		pValue: c?.pValue ?? null,
		verdict: c?.verdict ?? null,
		method: c ? `${c.intervalMethod}; p: ${c.testMethod}` : null,
		enteredFrom: iso(report.from),
		enteredBefore: iso(report.to),
		conversion: report.conversion
			? {
					events: report.conversion.eventNames,
					matchProperty: report.conversion.matchProperty ?? null,
					windowHours: report.conversion.windowMs / 3_600_000,
					windowFrom: report.conversion.windowFrom,
				}
			: null,
		reportedAt: iso(report.now),
	};
}
