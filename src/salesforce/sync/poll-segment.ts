/**
 * What the Salesforce Segment Trigger does on each poll: sync the segment, then turn the
 * sync's changes into campaign entries. A user who entered the segment becomes a
 * `Salesforce Segment Entered` event, recorded once per change (its messageId is the change's
 * store sequence), so re-entry rules, campaign start/end and the other steps treat it exactly
 * like a webhook event.
 */
import { ingestEvents, type SkippedEvent, type TriggeredEntry } from '../../ingest/ingest-events';
import type { CampaignEvent } from '../../store/campaign-store';
import type { CampaignStoreWithSegments, SegmentChange } from '../../store/segment-store';
import type { TriggerRule } from '../../trigger/trigger-rule';
import {
	plannedSyncMode,
	syncSegment,
	type SegmentSyncOptions,
	type SegmentSyncReport,
} from './sync-segment';
import { syncSegmentOnThread, type SyncThreadOptions } from './sync-thread';

export const SEGMENT_ENTERED_EVENT = 'Salesforce Segment Entered';

export interface SegmentPollOptions extends SegmentSyncOptions {
	/** Entered users are recorded as events and enter the campaign: both interfaces. */
	store: CampaignStoreWithSegments;
	/** The campaign entered users join (re-entry, start/end apply); event names are ignored. */
	rule: Omit<TriggerRule, 'eventNames'>;
	/** Also return who exited the segment. */
	includeExited?: boolean;
	/**
	 * Run full syncs (which read the whole segment) on a worker thread with a capped heap; see
	 * `sync-thread.ts`. Incremental syncs read only the changes and stay on this thread.
	 */
	thread?: SyncThreadOptions;
}

export interface SegmentPollResult {
	report: SegmentSyncReport;
	/** Users who entered the segment and the campaign. */
	entered: TriggeredEntry[];
	/** Users who left the segment (when asked). */
	exited: SegmentChange[];
	/** Entered the segment but not the campaign (re-entry, campaign window), with the reason. */
	skipped: SkippedEvent[];
}

const CHANGE_PAGE = 5_000;

/** The store changes one committed sync produced, page by page. */
export async function* readSyncChanges(
	options: Pick<SegmentSyncOptions, 'store'>,
	report: SegmentSyncReport,
): AsyncGenerator<SegmentChange[]> {
	if (report.outcome !== 'committed' || !report.changesRecorded) return;
	let afterSeq = 0;
	for (;;) {
		const changes = await options.store.listSegmentChanges({
			segmentId: report.segmentId,
			syncId: report.syncId,
			afterSeq,
			limit: CHANGE_PAGE,
		});
		if (changes.length === 0) return;
		yield changes;
		afterSeq = changes[changes.length - 1].seq;
	}
}

/** The event a segment entry is recorded as. */
export function segmentEntryEvent(change: SegmentChange, receivedAt: number): CampaignEvent {
	return {
		messageId: `salesforce-segment:${change.segmentId}:${change.seq}`,
		userId: change.userId,
		name: SEGMENT_ENTERED_EVENT,
		occurredAt: change.at,
		receivedAt,
		properties: {
			segmentId: change.segmentId,
			salesforceRecordId: change.recordId,
			syncId: change.syncId,
		},
	};
}

async function runSync(options: SegmentPollOptions): Promise<SegmentSyncReport> {
	const { thread } = options;
	if (
		!thread ||
		(await plannedSyncMode(options.store, options.definition, options.forceFull)) !== 'full'
	) {
		return await syncSegment(options);
	}
	return await syncSegmentOnThread({
		...thread,
		definition: options.definition,
		apiVersion: options.api.apiVersion,
		firstSync: options.firstSync,
		forceFull: options.forceFull,
		bulkBatchSize: options.bulkBatchSize,
		bulkPollIntervalMs: options.bulkPollIntervalMs,
		logger: options.logger,
	});
}

export async function pollSegment(options: SegmentPollOptions): Promise<SegmentPollResult> {
	const report = await runSync(options);
	const now = options.now ?? Date.now;
	const rule: TriggerRule = { ...options.rule, eventNames: [SEGMENT_ENTERED_EVENT] };
	const result: SegmentPollResult = { report, entered: [], exited: [], skipped: [] };
	for await (const changes of readSyncChanges(options, report)) {
		const events: CampaignEvent[] = [];
		const receivedAt = now();
		for (const change of changes) {
			if (change.change === 'entered') events.push(segmentEntryEvent(change, receivedAt));
			else if (options.includeExited) result.exited.push(change);
		}
		if (events.length === 0) continue;
		const outcome = await ingestEvents(
			options.store,
			{ events, positions: events.map((_, index) => index), rejected: [], isBatch: true },
			rule,
			receivedAt,
		);
		result.entered.push(...outcome.triggered);
		result.skipped.push(...outcome.skipped);
	}
	return result;
}
