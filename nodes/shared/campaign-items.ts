import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import {
	readCampaignItem,
	resolveItemTimeZone,
	type CampaignItem,
	type UserProfile,
} from '../../src';
import { itemError } from './node-errors';

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
			failed.push(itemError(context, error, itemIndex, input));
		}
	});
	return { read, failed };
}

/** User ids of the items that have one, for one profile query per execution. */
export function userIdsOf(items: INodeExecutionData[]): string[] {
	return items
		.map((input) => input.json.userId)
		.filter((userId): userId is string => typeof userId === 'string' && userId !== '');
}
