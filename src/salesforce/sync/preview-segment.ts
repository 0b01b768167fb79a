/**
 * A read-only look at a segment: its first members as they would be mapped, without touching
 * membership or the mark. The trigger's manual mode ("Fetch Test Event") uses it.
 */
import type { ProfileUpdate } from '../../store/campaign-store';
import type { SegmentStore } from '../../store/segment-store';
import { describeFieldTypes } from '../describe';
import { runRestQuery } from '../rest-query';
import { buildSegmentQuery } from '../soql';
import { mapRecords } from './map-records';
import {
	resolveSegmentDefinition,
	selectedFieldPaths,
	type SegmentDefinition,
} from './segment-definition';
import type { SyncApi } from './sync-segment';

export interface SegmentPreview {
	/** Members in the segment now, by Salesforce's count. */
	totalSize: number;
	members: Array<{ recordId: string; userId: string; profile: ProfileUpdate }>;
}

export async function previewSegment(options: {
	api: SyncApi;
	/** Used only to match emails to existing users; nothing is written. */
	store: SegmentStore;
	definition: SegmentDefinition;
	limit?: number;
}): Promise<SegmentPreview> {
	const segment = resolveSegmentDefinition(options.definition);
	const limit = Math.max(1, Math.min(options.limit ?? 5, 200));
	const fields = selectedFieldPaths(segment);
	const fieldTypes = await describeFieldTypes(options.api, segment.object, fields);
	const soql = buildSegmentQuery({ object: segment.object, fields, where: segment.where });
	const pages = runRestQuery(options.api, soql, { fieldTypes, batchSize: 200 });
	const first = await pages.next();
	await pages.return(undefined);
	if (first.done) return { totalSize: 0, members: [] };
	const records = first.value.records.slice(0, limit);
	const mapped = await mapRecords(records, segment, options.store);
	return {
		totalSize: first.value.totalSize,
		members: mapped.matched.map((row, index) => ({
			recordId: row.recordId,
			userId: row.userId,
			profile: mapped.profiles[index],
		})),
	};
}
