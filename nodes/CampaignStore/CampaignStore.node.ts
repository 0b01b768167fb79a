import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import type { CampaignEvent, ProfileUpdate, UserProfile } from '../../src';
import { campaignStoreFor, testCampaignStoreCredential } from '../shared/campaign-store';
import { optionNameExpression } from '../shared/descriptions';
import { toNodeError } from '../shared/node-errors';
import { readDefaultTimeZone } from '../shared/parameters';
import { campaignStoreProperties } from './description';
import { dryRunItem } from './dry-run';
import { readEvent, readProfileUpdate, readUserId } from './read-parameters';
import { isUserDataOperation, runUserDataOperation } from './user-data';
import { userDataProperties, type UserDataOperation } from './user-data-description';

type Operation = 'recordEvent' | 'upsertProfile' | 'getProfile' | 'dryRun' | UserDataOperation;

export class CampaignStore implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Store',
		name: 'campaignStore',
		icon: { light: 'file:campaignStore.svg', dark: 'file:campaignStore.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: `={{ ${optionNameExpression(campaignStoreProperties, 'operation')} }}`,
		description:
			'Record events and keep user profiles for triggered campaigns; dry-run a user, show, export or erase their data',
		defaults: { name: 'Campaign Store' },
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
		properties: [...campaignStoreProperties, ...userDataProperties],
	};

	methods = { credentialTest: { testCampaignStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as Operation;
		const items = this.getInputData();
		const now = Date.now();
		const store = await campaignStoreFor(this);
		const output: INodeExecutionData[] = [];
		const failed = (itemIndex: number, error: Error): void => {
			if (!this.continueOnFail()) throw toNodeError(this, error, { itemIndex });
			output.push({ json: { error: error.message }, pairedItem: { item: itemIndex } });
		};

		if (operation === 'dryRun') {
			// Reads only: each item is one question about one user.
			const defaultTimeZone = readDefaultTimeZone(this);
			for (const itemIndex of items.keys()) {
				try {
					const result = await dryRunItem(this, store, itemIndex, defaultTimeZone, now);
					output.push({ json: result as unknown as IDataObject, pairedItem: { item: itemIndex } });
				} catch (error) {
					failed(itemIndex, error as Error);
				}
			}
		} else if (operation === 'recordEvent') {
			// Validate every item first and record them all in one transaction.
			const events: Array<{ itemIndex: number; event: CampaignEvent }> = [];
			items.forEach((_, itemIndex) => {
				try {
					events.push({ itemIndex, event: readEvent(this, itemIndex, now) });
				} catch (error) {
					failed(itemIndex, error as Error);
				}
			});
			const result = await store.ingest({ events: events.map(({ event }) => event), now });
			events.forEach(({ itemIndex, event }, index) => {
				output.push({
					json: {
						recorded: result.recorded[index],
						duplicate: !result.recorded[index],
						messageId: event.messageId,
						userId: event.userId,
						event: event.name,
						occurredAt: new Date(event.occurredAt).toISOString(),
					},
					pairedItem: { item: itemIndex },
				});
			});
		} else if (operation === 'upsertProfile') {
			const updates: Array<{ itemIndex: number; update: ProfileUpdate }> = [];
			items.forEach((_, itemIndex) => {
				try {
					updates.push({ itemIndex, update: readProfileUpdate(this, itemIndex) });
				} catch (error) {
					failed(itemIndex, error as Error);
				}
			});
			await store.upsertProfiles(
				updates.map(({ update }) => update),
				now,
			);
			const profiles = await store.getProfiles(updates.map(({ update }) => update.userId));
			for (const { itemIndex, update } of updates) {
				output.push({
					json: profileJson(profiles.get(update.userId)),
					pairedItem: { item: itemIndex },
				});
			}
		} else if (isUserDataOperation(operation)) {
			// One person per item: a timeline, an export or an erasure (each its own transaction).
			for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
				try {
					const json = await runUserDataOperation(this, operation, store, itemIndex, now);
					output.push({ json, pairedItem: { item: itemIndex } });
				} catch (error) {
					failed(itemIndex, error as Error);
				}
			}
		} else {
			const userIds = items.map((_, itemIndex) => readUserId(this, itemIndex));
			const profiles = await store.getProfiles(userIds);
			userIds.forEach((userId, itemIndex) => {
				const profile = profiles.get(userId);
				output.push({
					json: profile ? { found: true, ...profileJson(profile) } : { found: false, userId },
					pairedItem: { item: itemIndex },
				});
			});
		}
		// Failed items were pushed first; give the items back in input order.
		const itemIndexOf = (item: INodeExecutionData) => (item.pairedItem as { item: number }).item;
		return [output.sort((a, b) => itemIndexOf(a) - itemIndexOf(b))];
	}
}

function profileJson(profile: UserProfile | undefined): IDataObject {
	if (!profile) return {};
	return {
		userId: profile.userId,
		email: profile.email ?? null,
		phone: profile.phone ?? null,
		timeZone: profile.timeZone ?? null,
		unsubscribed: profile.unsubscribed,
		attributes: profile.attributes as IDataObject,
		externalIds: profile.externalIds,
		updatedAt: new Date(profile.updatedAt).toISOString(),
	};
}
