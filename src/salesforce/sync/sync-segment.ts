/**
 * One sync of a Salesforce segment into the campaign store.
 *
 * Full sync: read every record of the segment. Incremental sync: read only what changed since
 * the store's mark (minus an overlap): one queryAll of every record changed or deleted
 * (members among them that no longer match, or are deleted, exit), then the records that
 * match now. Pages
 * are staged one transaction each, the last one inside the commit, so a small sync is one
 * transaction; membership and mark change only at the commit, so a sync that fails midway
 * changes neither. Reads above the bulk threshold go through Bulk API 2.0.
 */
import { randomUUID } from 'node:crypto';

import type { SegmentStore, SegmentSyncPage, SegmentSyncState } from '../../store/segment-store';
import type { SalesforceRecord, SalesforceRequester, SyncLogger } from '../api/types';
import { silentLogger } from '../api/types';
import { runBulkQuery } from '../bulk/bulk-query';
import { cachedFieldTypes } from '../describe';
import { fieldKind, getField, type FieldTypes } from '../records';
import { runRestQuery } from '../rest-query';
import { buildSegmentQuery, soqlLiteral } from '../soql';
import { mapRecords, type PendingClaims } from './map-records';
import {
	resolveSegmentDefinition,
	selectedFieldPaths,
	type ResolvedSegment,
	type SegmentDefinition,
} from './segment-definition';

/** The API layer as the sync uses it: `SalesforceApi` fits. */
export interface SyncApi extends SalesforceRequester {
	/** Total requests sent so far, for the report. */
	readonly callCount?: number;
	/** Salesforce's clock from the latest response's Date header. */
	serverTime?(): number | undefined;
	/** The org and API version, so describes are shared between syncs in this process. */
	orgScope?(): Promise<string>;
}

export interface SegmentSyncOptions {
	api: SyncApi;
	store: SegmentStore;
	definition: SegmentDefinition;
	/**
	 * On the segment's first sync: `enterAll` records every current member as entered;
	 * `trackOnly` only starts tracking (nobody is reported), so later syncs report changes.
	 */
	firstSync?: 'enterAll' | 'trackOnly';
	/** Read the whole segment even when an incremental read would do. */
	forceFull?: boolean;
	logger?: SyncLogger;
	/** Local clock, used for store bookkeeping and when Salesforce sent no Date header. */
	now?: () => number;
	/** Bulk job polling; tests pass a fast one. */
	sleep?: (ms: number) => Promise<void>;
	/** First wait between Bulk job status polls, ms (default 1 s, doubling up to 10 s). */
	bulkPollIntervalMs?: number;
	/** Records per staged page for Bulk reads (REST pages are Salesforce's, up to 2,000). */
	bulkBatchSize?: number;
}

export interface SegmentSyncReport {
	segmentId: string;
	syncId: string;
	mode: 'full' | 'incremental';
	/**
	 * When every sync of the segment reads it whole, why: a relative date, or a condition or
	 * mapped field on related records (see `fullResync` of the definition).
	 */
	fullReadReason?: string;
	/** How records were read: `bulk` when any read went above the bulk threshold. */
	via: 'rest' | 'bulk';
	/** `conflict`: another sync committed first; this one changed nothing. */
	outcome: 'committed' | 'conflict';
	entered: number;
	exited: number;
	updated: number;
	/** Records read from Salesforce (matching, changed and deleted). */
	recordsRead: number;
	memberCount: number;
	/** Requests this sync sent to Salesforce. */
	apiCalls: number;
	/** False on a first sync in `trackOnly` mode: changes were not recorded. */
	changesRecorded: boolean;
	/** Salesforce time of the sync, ISO. */
	syncedAt: string;
	/** High-water mark after the sync, ISO; absent when the segment has never had a record. */
	mark?: string;
	durationMs: number;
}

const PROGRESS_EVERY_RECORDS = 50_000;

/** `matched`: records of the segment; `changed`: ids of changed or deleted records. */
type ReadKind = 'matched' | 'changed';
/**
 * Records per staged page on Bulk reads. Smaller pages let each page's objects die young in
 * V8's heap instead of being promoted: measured at 200,000 records, 500 keeps the process
 * near 180 MB peak RSS where 2,000 reaches 310 MB, for about 1.5× the time.
 */
const DEFAULT_BULK_STAGE_BATCH = 500;

interface SyncRun {
	api: SyncApi;
	store: SegmentStore;
	segment: ResolvedSegment;
	syncId: string;
	fieldTypes: FieldTypes;
	logger: SyncLogger;
	now: () => number;
	sleep?: (ms: number) => Promise<void>;
	bulkPollIntervalMs?: number;
	bulkBatchSize?: number;
	recordsRead: number;
	nextProgressAt: number;
	usedBulk: boolean;
	/** Records read but not yet staged: staged when more arrive, or committed with the sync. */
	held: SegmentSyncPage;
	heldRecords: number;
	/** Profiles claimed by the held records (see `mapRecords`): emptied when they are staged. */
	claims: PendingClaims;
	/** Salesforce's time before any read saw the data: the next mark. */
	syncedAt: number | undefined;
	/**
	 * Records a full read is expected to return: the members after the previous sync. Above
	 * the bulk threshold the read goes to Bulk at once; unknown (a first sync), the object's
	 * record count decides the same way (one cheap call, no query run); below, or with no
	 * count, the first REST page's `totalSize` decides.
	 */
	expectedFullRead: number | undefined;
}

/** Runs one sync of `definition` and commits it; see the module comment. */
export async function syncSegment(options: SegmentSyncOptions): Promise<SegmentSyncReport> {
	const segment = resolveSegmentDefinition(options.definition);
	const now = options.now ?? Date.now;
	const logger = options.logger ?? silentLogger;
	const { api, store } = options;
	const startedAt = now();
	const callsBefore = api.callCount ?? 0;

	const state = await store.getSegmentState(segment.segmentId);
	const mode = chooseMode(segment, state, options.forceFull === true);
	// Describe first (or its cached answer): it checks every field name before the store is
	// touched. A describe sent now also gives Salesforce's "now" for the sync in its Date
	// header; with a cached one, the first read's answer gives it (see readPages).
	const { types: fieldTypes, forget: forgetFieldTypes } = await cachedFieldTypes(
		api,
		await api.orgScope?.(),
		segment.object,
		selectedFieldPaths(segment),
		startedAt,
	);
	const described = (api.callCount ?? 0) > callsBefore;

	const syncId = randomUUID();
	const run: SyncRun = {
		api,
		store,
		segment,
		syncId,
		fieldTypes,
		logger,
		now,
		sleep: options.sleep,
		bulkPollIntervalMs: options.bulkPollIntervalMs,
		bulkBatchSize: options.bulkBatchSize,
		recordsRead: 0,
		nextProgressAt: PROGRESS_EVERY_RECORDS,
		usedBulk: false,
		held: emptyPage(segment.segmentId, syncId),
		heldRecords: 0,
		claims: new Map(),
		syncedAt: described ? api.serverTime?.() : undefined,
		expectedFullRead: state?.memberCount,
	};
	const fullReadReason = mode === 'full' ? segment.fullReadReason : undefined;
	const why = fullReadReason ? ` (every sync reads it whole: ${fullReadReason})` : '';
	logger.info(
		`Salesforce segment "${segment.segmentId}": ${mode} sync of ${segment.object} started${why}`,
		{
			syncId: run.syncId,
			mark: state?.mark === undefined ? undefined : new Date(state.mark).toISOString(),
		},
	);

	const changesRecorded = state !== undefined || options.firstSync !== 'trackOnly';
	let result;
	let syncedAt: number;
	try {
		if (mode === 'full') {
			await readInto(run, 'matched', fullReadQuery(segment), {
				expected: run.expectedFullRead,
				fullRead: true,
			});
		} else {
			await readChanges(run, incrementalReadQueries(segment, state!.mark!));
		}
		// No Date header anywhere (a server that sends none): the local time the sync began.
		syncedAt = run.syncedAt ?? startedAt;
		result = await store.commitSegmentSync({
			segmentId: segment.segmentId,
			syncId: run.syncId,
			mode,
			expectedVersion: state?.version ?? 0,
			definitionHash: segment.definitionHash,
			// Everything modified before the sync began was visible to its reads; later changes
			// (even ones a later page happened to show) are read again next time.
			mark: syncedAt,
			syncedAt,
			recordChanges: changesRecorded,
			now: now(),
			lastPage: run.heldRecords > 0 ? { ...run.held, now: now() } : undefined,
		});
	} catch (error) {
		forgetFieldTypes();
		await store.abortSegmentSync(segment.segmentId, run.syncId).catch(() => undefined);
		throw error;
	}

	const report: SegmentSyncReport = {
		segmentId: segment.segmentId,
		syncId: run.syncId,
		mode,
		...(fullReadReason ? { fullReadReason } : {}),
		via: run.usedBulk ? 'bulk' : 'rest',
		outcome: result.outcome,
		entered: result.outcome === 'committed' ? result.entered : 0,
		exited: result.outcome === 'committed' ? result.exited : 0,
		updated: result.outcome === 'committed' ? result.updated : 0,
		recordsRead: run.recordsRead,
		memberCount: result.state?.memberCount ?? 0,
		apiCalls: (api.callCount ?? 0) - callsBefore,
		changesRecorded,
		syncedAt: new Date(syncedAt).toISOString(),
		mark: result.state?.mark === undefined ? undefined : new Date(result.state.mark).toISOString(),
		durationMs: now() - startedAt,
	};
	if (result.outcome === 'conflict') {
		logger.warn(
			`Salesforce segment "${segment.segmentId}": another sync committed while this one ran; this one changed nothing and the next sync continues from the newer state`,
		);
	} else {
		logger.info(
			`Salesforce segment "${segment.segmentId}": ${report.entered} entered, ${report.exited} exited, ${report.updated} updated, ${report.memberCount} members (${report.recordsRead} records read via ${report.via}, ${report.apiCalls} API calls, ${report.durationMs} ms)`,
		);
	}
	return report;
}

/**
 * The query of a full read. Its order matters only when records claim profiles by email
 * (the first record read claims one, see `resolveUserId`): then oldest change first.
 * Otherwise it is left to Salesforce, which lets a Bulk job split the read into primary-key
 * chunks, and returns records about in Id order, the order of the store's keys, so staging
 * them writes each page of the store's indexes about once instead of once per page of records.
 */
export function fullReadQuery(definition: SegmentDefinition | ResolvedSegment): string {
	const segment = resolved(definition);
	return buildSegmentQuery({
		object: segment.object,
		fields: selectedFieldPaths(segment),
		where: segment.where,
		unordered: !claimsByEmail(segment),
	});
}

/** The two queries of an incremental read, in the order `readChanges` sends them. */
export interface IncrementalReadQueries {
	/** Sent as a `queryAll`: the ids of every record changed or deleted since the start. */
	changed: string;
	/** Sent as a `query`: the records that match now among those changed since the start. */
	matched: string;
}

/**
 * The queries of an incremental sync from the store's `mark` (the previous sync's): both read
 * from the mark less the segment's overlap on. Exported so that a caller (the benchmark's
 * baseline) can send exactly what a sync sends.
 */
export function incrementalReadQueries(
	definition: SegmentDefinition | ResolvedSegment,
	mark: number,
): IncrementalReadQueries {
	const segment = resolved(definition);
	const modstampSince = new Date(mark - segment.overlapMs);
	return {
		// Without a condition every live record matches, so only deletes are read.
		changed: buildSegmentQuery({
			object: segment.object,
			fields: [],
			where: segment.where === undefined ? 'IsDeleted = true' : undefined,
			modstampSince,
			includeDeleted: true,
		}),
		matched: buildSegmentQuery({
			object: segment.object,
			fields: selectedFieldPaths(segment),
			where: segment.where,
			modstampSince,
		}),
	};
}

function resolved(definition: SegmentDefinition | ResolvedSegment): ResolvedSegment {
	return 'definitionHash' in definition ? definition : resolveSegmentDefinition(definition);
}

/** Whether records may claim existing profiles by email, which makes the read order matter. */
function claimsByEmail(segment: ResolvedSegment): boolean {
	return segment.matchProfilesByEmail && segment.email !== undefined;
}

/**
 * Whether the next sync of `definition` reads the whole segment (`full`) or only what changed:
 * the same choice `syncSegment` makes, for callers that run large reads elsewhere.
 */
export async function plannedSyncMode(
	store: SegmentStore,
	definition: SegmentDefinition,
	forceFull = false,
): Promise<'full' | 'incremental'> {
	const segment = resolveSegmentDefinition(definition);
	return chooseMode(segment, await store.getSegmentState(segment.segmentId), forceFull);
}

function chooseMode(
	segment: ResolvedSegment,
	state: SegmentSyncState | undefined,
	forceFull: boolean,
): 'full' | 'incremental' {
	if (forceFull || segment.alwaysFull) return 'full';
	if (state === undefined || state.mark === undefined) return 'full';
	// A changed definition (condition, mapping) makes the stored membership meaningless.
	if (state.definitionHash !== segment.definitionHash) return 'full';
	return 'incremental';
}

/**
 * The change reads of an incremental sync (see {@link incrementalReadQueries}): first
 * (queryAll) every record changed or deleted, so members that stopped matching or were
 * deleted exit; then the records that match now. In this order a record edited between the
 * two reads cannot exit while it still matches: if the first read saw it changed, its stamp is
 * at least as recent when the second runs, so the second sees it too when it matches. (The
 * other order exited such a record, seen changed but not matching, and entered it again on the
 * next sync.) An edit that makes a member stop matching between the reads is seen by the next
 * sync, whose mark is no later than this sync's first read.
 */
async function readChanges(run: SyncRun, queries: IncrementalReadQueries): Promise<void> {
	await readInto(run, 'changed', queries.changed, { all: true });
	await readInto(run, 'matched', queries.matched);
}

/** Reads one query page by page (REST, or Bulk above the threshold) and stages each page. */
async function readInto(
	run: SyncRun,
	kind: ReadKind,
	soql: string,
	options: { all?: boolean; expected?: number; fullRead?: boolean } = {},
): Promise<void> {
	const pages = readPages(run, soql, options.all === true, options.expected, options.fullRead);
	for await (const records of pages) {
		await stagePage(run, kind, records);
	}
}

/**
 * Sets the sync's Salesforce time from the answer to a request sent at `sentAt` (local): its
 * Date less the round trip, so no later than when Salesforce began the read.
 */
function noteSyncedAt(run: SyncRun, sentAt: number): void {
	if (run.syncedAt !== undefined) return;
	const answeredAt = run.api.serverTime?.();
	if (answeredAt !== undefined) run.syncedAt = answeredAt - (run.now() - sentAt);
}

async function* readPages(
	run: SyncRun,
	soql: string,
	all: boolean,
	expected: number | undefined,
	fullRead = false,
): AsyncGenerator<SalesforceRecord[]> {
	const { bulkThreshold } = run.segment;
	if (expected !== undefined && expected > bulkThreshold) {
		// Known to be large: straight to Bulk, no REST page read and thrown away.
		yield* readBulk(run, soql, all, `${expected} records to read`);
		return;
	}
	if (expected === undefined && fullRead) {
		// A first full read: when the whole object is known to be large, straight to Bulk too.
		// The REST page that would tell the segment's size costs the org a run of the whole
		// query first (a million-record first sync spent a sixth of its time on it).
		const objectSize = await objectRecordCount(run, run.segment.object);
		if (objectSize !== undefined && objectSize > bulkThreshold) {
			yield* readBulk(run, soql, all, `${run.segment.object} holds about ${objectSize} records`);
			return;
		}
	}
	const rest = runRestQuery(run.api, soql, { all, fieldTypes: run.fieldTypes });
	const sentAt = run.now();
	const first = await rest.next();
	noteSyncedAt(run, sentAt);
	if (first.done) return;
	if (first.value.totalSize > bulkThreshold) {
		// Larger than expected (an incremental read of a mass update, a segment that grew).
		await rest.return(undefined);
		yield* readBulk(run, soql, all, `${first.value.totalSize} records to read`);
		return;
	}
	yield first.value.records;
	for await (const page of rest) yield page.records;
}

/**
 * The object's record count from the REST API's Record Count resource (`/limits/recordCount`,
 * API 40.0 and later): an estimate Salesforce refreshes now and then, cheap to ask, no query
 * run. Undefined when Salesforce does not list the object or the request fails: the caller
 * then reads a REST page as before.
 */
async function objectRecordCount(run: SyncRun, object: string): Promise<number | undefined> {
	try {
		const response = await run.api.request({
			method: 'GET',
			path: '/limits/recordCount',
			query: { sObjects: object },
		});
		const listed = (response.json as { sObjects?: Array<{ name?: unknown; count?: unknown }> })
			?.sObjects;
		const entry = Array.isArray(listed)
			? listed.find((candidate) => candidate.name === object)
			: undefined;
		return typeof entry?.count === 'number' ? entry.count : undefined;
	} catch (error) {
		run.logger.debug(
			`Salesforce segment "${run.segment.segmentId}": the record count of ${object} is not available (${String(error)}); its first REST page decides between REST and Bulk`,
		);
		return undefined;
	}
}

function readBulk(
	run: SyncRun,
	soql: string,
	all: boolean,
	/** Why the read is large, e.g. `250000 records to read`. */
	size: string,
): AsyncGenerator<SalesforceRecord[]> {
	run.usedBulk = true;
	run.logger.info(
		`Salesforce segment "${run.segment.segmentId}": ${size}, above the bulk threshold of ${run.segment.bulkThreshold}: using Bulk API 2.0`,
	);
	const sentAt = run.now();
	return runBulkQuery(run.api, soql, {
		operation: all ? 'queryAll' : 'query',
		fieldTypes: run.fieldTypes,
		batchSize: run.bulkBatchSize ?? DEFAULT_BULK_STAGE_BATCH,
		logger: run.logger,
		sleep: run.sleep,
		pollIntervalMs: run.bulkPollIntervalMs,
		// The job's snapshot is taken after it is created: its answer's Date is early enough.
		onJobCreated: () => noteSyncedAt(run, sentAt),
	});
}

/**
 * Records held before they are staged. Small reads (an incremental sync of a few thousand
 * changes) then commit in the sync's one transaction; Bulk pages are staged as they come,
 * since holding more keeps their objects alive into V8's old generation.
 */
const MAX_HELD_RECORDS = 5_000;

function emptyPage(segmentId: string, syncId: string): SegmentSyncPage {
	return { segmentId, syncId, profiles: [], matched: [], touched: [], deleted: [], now: 0 };
}

async function stagePage(run: SyncRun, kind: ReadKind, records: SalesforceRecord[]): Promise<void> {
	if (records.length === 0) return;
	const holdLimit = run.usedBulk ? 0 : MAX_HELD_RECORDS;
	if (run.heldRecords > 0 && run.heldRecords + records.length > holdLimit) await stageHeld(run);
	const held = run.held;
	if (kind === 'matched') {
		const mapped = await mapRecords(records, run.segment, run.store, run.claims, (userIds) =>
			userIdsHeldByRecords(run, userIds),
		);
		for (const row of mapped.matched) held.matched.push(row);
		for (const profile of mapped.profiles) held.profiles.push(profile);
		if (mapped.invalidTimeZones > 0) {
			run.logger.warn(
				`Salesforce segment "${run.segment.segmentId}": ${mapped.invalidTimeZones} records have a ${run.segment.timeZone} value that is not an IANA time zone (e.g. "Europe/Berlin"); their profiles keep their previous zone`,
			);
		}
	} else {
		// queryAll returns changed and deleted rows together; IsDeleted tells them apart.
		for (const record of records) {
			(record.IsDeleted === true ? held.deleted : held.touched).push(String(record.Id));
		}
	}
	run.heldRecords += records.length;
	if (run.heldRecords > holdLimit) await stageHeld(run);
	run.recordsRead += records.length;
	if (run.recordsRead >= run.nextProgressAt) {
		run.nextProgressAt += PROGRESS_EVERY_RECORDS;
		run.logger.info(
			`Salesforce segment "${run.segment.segmentId}": ${run.recordsRead} records read so far`,
		);
	}
}

/** User ids per query of {@link userIdsHeldByRecords}: keeps the statement short. */
const HELD_CHECK_CHUNK = 200;

/**
 * Which of `userIds` a record of the segment holds in its user id field (one small REST query
 * per 200): such a profile is that record's even before it is read, so no other record joins
 * it by email. Asked only for profiles a record could join by email (no Salesforce record's
 * yet), which after the first sync are the few users new from webhooks.
 */
async function userIdsHeldByRecords(run: SyncRun, userIds: string[]): Promise<ReadonlySet<string>> {
	const { segment } = run;
	const held = new Set<string>();
	const field = segment.userId;
	if (field === undefined) return held;
	const kind = fieldKind(run.fieldTypes, field);
	let literals: string[];
	if (kind === undefined || kind === 'string') {
		literals = userIds.map((userId) => soqlLiteral(userId, 'userId'));
	} else if (kind === 'number') {
		literals = userIds.filter((userId) => /^-?\d+(?:\.\d+)?$/.test(userId));
	} else {
		return held;
	}
	for (let start = 0; start < literals.length; start += HELD_CHECK_CHUNK) {
		const condition = `${field} IN (${literals.slice(start, start + HELD_CHECK_CHUNK).join(', ')})`;
		const soql = buildSegmentQuery({
			object: segment.object,
			fields: [field],
			where: segment.where === undefined ? condition : `(${segment.where}) AND ${condition}`,
		});
		for await (const page of runRestQuery(run.api, soql, { fieldTypes: run.fieldTypes })) {
			for (const record of page.records) {
				const value = getField(record, field);
				if (value !== null && value !== undefined) held.add(String(value).trim());
			}
		}
	}
	return held;
}

async function stageHeld(run: SyncRun): Promise<void> {
	const page = { ...run.held, now: run.now() };
	run.held = emptyPage(run.segment.segmentId, run.syncId);
	run.heldRecords = 0;
	await run.store.stageSegmentPage(page);
	// The store now holds these profiles, and with them their claims.
	run.claims.clear();
}
