import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import {
	exportUserData,
	InvalidInputError,
	readUserTimeline,
	requireText,
	type CampaignStore,
	type ConversionRule,
	type ErasureResult,
} from '../../src';
import { splitList } from '../shared/parameters';
import { USER_DATA_OPERATIONS, type UserDataOperation } from './user-data-description';

const DAY_MS = 86_400_000;

export const isUserDataOperation = (operation: string): operation is UserDataOperation =>
	(USER_DATA_OPERATIONS as readonly string[]).includes(operation);

function readConversion(context: IExecuteFunctions, itemIndex: number): ConversionRule | undefined {
	const eventNames = splitList(String(context.getNodeParameter('conversionEvents', itemIndex, '')));
	if (eventNames.length === 0) return undefined;
	const options = context.getNodeParameter('conversionOptions', itemIndex, {}) as IDataObject;
	const days = options.windowDays === undefined ? 7 : Number(options.windowDays);
	if (!(days > 0) || days > 90) {
		throw new InvalidInputError(
			'Conversion Options › Window (Days)',
			`must be above 0 and at most 90, not ${String(options.windowDays)}.`,
		);
	}
	const matchProperty = String(options.matchProperty ?? '').trim();
	return {
		eventNames,
		matchProperty: matchProperty || undefined,
		windowMs: Math.round(days * DAY_MS),
		windowFrom: options.windowFrom === 'entry' ? 'entry' : 'send',
	};
}

/** One item's operation about one person; throws the engine's errors, which the node maps per item. */
export async function runUserDataOperation(
	context: IExecuteFunctions,
	operation: UserDataOperation,
	store: CampaignStore,
	itemIndex: number,
	now: number,
): Promise<IDataObject> {
	const userId = requireText(
		context.getNodeParameter('userId', itemIndex, ''),
		'User ID',
		'map the user ID, e.g. {{ $json.userId }}.',
	);
	if (operation === 'eraseUser') return erasureJson(await store.eraseUser(userId, now));
	const request = {
		userId,
		campaignId: String(context.getNodeParameter('campaignId', itemIndex, '')).trim() || undefined,
		conversion: readConversion(context, itemIndex),
		now,
	};
	if (operation === 'exportUserData') {
		return JSON.parse(JSON.stringify(await exportUserData(store, request))) as IDataObject;
	}
	const timeline = await readUserTimeline(store, request);
	return JSON.parse(JSON.stringify(timeline)) as IDataObject;
}

function erasureJson(result: ErasureResult): IDataObject {
	const total = (counts: Record<string, number>) =>
		Object.values(counts).reduce((a, b) => a + b, 0);
	return {
		userId: result.userId,
		erased: result.found,
		message: result.found
			? `Erased user ${result.userId}: ${total(result.deleted)} rows deleted, ${total(result.anonymized)} kept for the campaign reports under a random ID with nothing personal.`
			: `Nothing is stored for user ${result.userId}: nothing was removed.`,
		deleted: result.deleted,
		anonymized: result.anonymized,
		erasedAt: new Date(result.erasedAt).toISOString(),
	};
}
