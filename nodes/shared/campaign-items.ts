import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import {
	readCampaignItem,
	resolveItemTimeZone,
	type CampaignItem,
	type CampaignStore,
	type UserProfile,
} from '../../src';
import { campaignStoreFor } from './campaign-store';
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

/**
 * What a campaign step starts with: its input, the store, and the campaign items read with
 * each user's zone (one profile query for all); bad items as {@link readCampaignItems} says.
 */
export async function openCampaignStep(
	context: IExecuteFunctions,
	options: { defaultTimeZone?: string; requireCampaign?: boolean } = {},
): Promise<{
	items: INodeExecutionData[];
	store: CampaignStore;
	read: ReadItem[];
	failed: INodeExecutionData[];
}> {
	const items = context.getInputData();
	const store = await campaignStoreFor(context);
	const profiles = await store.getProfiles(userIdsOf(items));
	const { read, failed } = readCampaignItems(context, items, profiles, options.defaultTimeZone, {
		requireCampaign: options.requireCampaign,
	});
	return { items, store, read, failed };
}
