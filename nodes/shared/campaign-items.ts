import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import {
	InvalidInputError,
	readCampaignItem,
	resolveItemTimeZone,
	type CampaignItem,
	type UserProfile,
} from '../../src';

export interface ReadItem {
	itemIndex: number;
	item: CampaignItem;
	/** The user's zone, and where it came from (profile, event, campaign, utc). */
	timeZone: string;
	timeZoneSource: string;
	profile?: UserProfile;
}

/**
 * Reads the campaign fields and the user's zone of every input item. A bad item fails the
 * node naming the item and the field, or, with "continue on fail", becomes an error item.
 */
export function readCampaignItems(
	context: IExecuteFunctions,
	items: INodeExecutionData[],
	profiles: Map<string, UserProfile>,
	defaultTimeZone: string | undefined,
	options: { requireCampaign?: boolean } = {},
): { read: ReadItem[]; failed: INodeExecutionData[] } {
	const read: ReadItem[] = [];
	const failed: INodeExecutionData[] = [];
	items.forEach((input, itemIndex) => {
		try {
			const item = readCampaignItem(input.json, options);
			const profile = profiles.get(item.userId);
			const zone = resolveItemTimeZone(item, profile?.timeZone, defaultTimeZone);
			read.push({ itemIndex, item, timeZone: zone.zone, timeZoneSource: zone.source, profile });
		} catch (error) {
			failed.push(itemError(context, error as Error, itemIndex, input));
		}
	});
	return { read, failed };
}

/** The item for a failure with "continue on fail"; otherwise throws NodeOperationError. */
export function itemError(
	context: IExecuteFunctions,
	error: Error,
	itemIndex: number,
	input: INodeExecutionData,
): INodeExecutionData {
	if (!context.continueOnFail()) {
		throw new NodeOperationError(context.getNode(), error, {
			itemIndex,
			description:
				error instanceof InvalidInputError
					? `Check "${error.field}" of item ${itemIndex}.`
					: undefined,
		});
	}
	return { json: { ...input.json, error: error.message }, pairedItem: { item: itemIndex } };
}

/** User ids of the items that have one, for one profile query per execution. */
export function userIdsOf(items: INodeExecutionData[]): string[] {
	return items
		.map((input) => input.json.userId)
		.filter((userId): userId is string => typeof userId === 'string' && userId !== '');
}
