import {
	NodeApiError,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type IPollFunctions,
	type ITriggerFunctions,
	type IWebhookFunctions,
	type JsonObject,
} from 'n8n-workflow';

import { CampaignError, InvalidInputError } from '../../src';

/** Any n8n context: only its node is read. */
type NodeContext = Pick<IExecuteFunctions | IPollFunctions | ITriggerFunctions | IWebhookFunctions, 'getNode'>;

export interface NodeErrorOptions {
	itemIndex?: number;
	/** Put before an invalid setting's message, e.g. "Frequency Cap settings". */
	settings?: string;
	/** The description of an invalid setting's error when no parameter label applies. */
	settingsHint?: string;
	/** Engine field paths → parameter names, for "Check the … parameter". */
	fieldLabels?: Record<string, string>;
	/** What the labels name: default "parameter". */
	fieldKind?: string;
	/** Shown under a query Salesforce rejected (the message has the SOQL). */
	queryDescription?: string;
}

/**
 * The one mapping of engine errors (src/errors.ts) to n8n's: invalid input as
 * NodeOperationError naming the parameter (or the item's field), the Salesforce API's errors as
 * NodeApiError with the HTTP status, any other error as NodeOperationError. Errors that already
 * are n8n's pass through.
 */
export function toNodeError(
	context: NodeContext,
	error: unknown,
	options: NodeErrorOptions = {},
): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	const node = context.getNode();
	const { itemIndex } = options;
	if (error instanceof InvalidInputError) {
		const label = fieldLabel(error.field, options.fieldLabels);
		return new NodeOperationError(
			node,
			options.settings ? `${options.settings}: ${error.message}` : error.message,
			{
				itemIndex,
				description: label
					? `Check the "${label}" ${options.fieldKind ?? 'parameter'}.`
					: itemIndex !== undefined
						? `Check "${error.field}" of item ${itemIndex}.`
						: options.settingsHint,
			},
		);
	}
	if (error instanceof CampaignError && error.code.startsWith('salesforce')) {
		const status = (error as { status?: unknown }).status;
		const soql = (error as { soql?: unknown }).soql;
		return new NodeApiError(node, { code: error.code, message: error.message } as JsonObject, {
			message: error.message,
			description: typeof soql === 'string' ? options.queryDescription : undefined,
			httpCode: typeof status === 'number' ? String(status) : undefined,
			itemIndex,
		});
	}
	return new NodeOperationError(node, error instanceof Error ? error : String(error), {
		itemIndex,
	});
}

/**
 * A failed item: with "continue on fail", the item with the error's message (on the output the
 * caller picks); otherwise the node fails with {@link toNodeError}.
 */
export function itemError(
	context: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
	input: INodeExecutionData,
): INodeExecutionData {
	if (!context.continueOnFail()) throw toNodeError(context, error, { itemIndex });
	return {
		json: { ...input.json, error: (error as Error).message },
		pairedItem: { item: itemIndex },
	};
}

/** The parameter an engine field path comes from (`source.where` → "Condition (SOQL WHERE)"). */
function fieldLabel(field: string, labels: Record<string, string> = {}): string | undefined {
	if (labels[field]) return labels[field];
	const prefix = Object.keys(labels)
		.filter((key) => key.endsWith('.') && field.startsWith(key))
		.sort((a, b) => b.length - a.length)[0];
	return prefix ? labels[prefix] : undefined;
}
