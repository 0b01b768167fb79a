/**
 * The store's second interface, beside `CampaignStore`: segments synced from an outside
 * system (Salesforce). Both backends implement both interfaces on one object
 * ({@link CampaignStoreWithSegments}), so a sync's profile upserts and its membership share
 * the store's transactions; code that needs only one side asks for only that one.
 */
import type { CampaignStore, ProfileUpdate } from './campaign-store';

/**
 * Segments synced from an outside system (Salesforce): who is in each segment now, the
 * sync's high-water mark, and the entered/exited changes each committed sync produced.
 *
 * A sync stages what it reads page by page under its own `syncId` and changes membership
 * only in {@link SegmentStore.commitSegmentSync}, in one transaction: a sync that fails
 * midway leaves membership and mark as they were.
 */
export interface SegmentSyncState {
	segmentId: string;
	/** Hash of the segment definition the members were computed for. */
	definitionHash: string;
	/** Newest `SystemModstamp` (ms) a committed sync read; absent until one did. */
	mark?: number;
	/** Bumped by every commit; a commit whose `expectedVersion` differs is refused. */
	version: number;
	memberCount: number;
	/** Source-system time of the last committed sync. */
	lastSyncAt?: number;
	/** Source-system time of the last committed full (non-incremental) sync. */
	lastFullSyncAt?: number;
}

/** A record read by a sync that is in the segment now. */
export interface SegmentRecordRow {
	recordId: string;
	/** The campaign user the record maps to. */
	userId: string;
	/** The record's `SystemModstamp`, ms. */
	modstamp: number;
}

/** One page of a sync: written in one transaction. */
export interface SegmentSyncPage {
	segmentId: string;
	syncId: string;
	/** Profile upserts for the page's records (merge like {@link CampaignStore.upsertProfiles}). */
	profiles: ProfileUpdate[];
	/** Records that match the segment now. */
	matched: SegmentRecordRow[];
	/** Ids of records changed since the mark (matching or not); members among them that are not also `matched` exit (incremental syncs). */
	touched: string[];
	/** Ids of deleted records: members among them exit, even if also `matched`. */
	deleted: string[];
	now: number;
}

export interface SegmentCommitRequest {
	segmentId: string;
	syncId: string;
	/**
	 * `full`: the staged `matched` rows are the whole segment; every other member exits.
	 * `incremental`: members exit only when staged as deleted, or touched and not matched.
	 */
	mode: 'full' | 'incremental';
	/** The `version` of the state the sync started from (0 when there was none). */
	expectedVersion: number;
	definitionHash: string;
	/** New high-water mark; absent keeps the previous one. */
	mark?: number;
	/** Source-system time of this sync. */
	syncedAt: number;
	/** false: update membership without recording changes (start tracking silently). */
	recordChanges: boolean;
	now: number;
	/**
	 * A last page, staged inside the commit's own transaction (not at all on a conflict): a
	 * sync whose reads fit in one page then costs one transaction, not two.
	 */
	lastPage?: SegmentSyncPage;
}

export type SegmentCommitResult =
	| {
			outcome: 'committed';
			state: SegmentSyncState;
			entered: number;
			exited: number;
			/** Staged matched rows already members whose modstamp or user id changed. */
			updated: number;
	  }
	/** Another sync committed since `expectedVersion`: nothing was changed; the staging is dropped. */
	| { outcome: 'conflict'; state: SegmentSyncState | undefined };

export interface SegmentChange {
	/** Increasing per store; page with `afterSeq`. */
	seq: number;
	segmentId: string;
	syncId: string;
	recordId: string;
	userId: string;
	change: 'entered' | 'exited';
	/** Why a member exited: 'deleted', 'no_longer_matches'. */
	reason?: string;
	at: number;
}

export interface SegmentMember {
	segmentId: string;
	recordId: string;
	userId: string;
	modstamp: number;
	enteredAt: number;
}

/** A profile found by email, for matching a synced Salesforce record to an existing user. */
export interface EmailProfile {
	userId: string;
	/** The profile's external id `salesforce`: the Salesforce record it belongs to, if any. */
	salesforceId?: string;
}

export interface SegmentStore {
	/** Case-insensitive email → userId of existing profiles (for matching synced records). */
	findUserIdsByEmail(emails: string[]): Promise<Map<string, string>>;

	/**
	 * Every profile per lower-cased email, with the Salesforce record it belongs to (external
	 * id `salesforce`), most recently updated first (ties: the smallest user id). Emails
	 * without a profile are absent.
	 */
	findProfilesByEmail(emails: string[]): Promise<Map<string, EmailProfile[]>>;

	getSegmentState(segmentId: string): Promise<SegmentSyncState | undefined>;

	/**
	 * Stages one page of a running sync and upserts its profiles, in one transaction.
	 * Staging of other syncs is untouched; staging older than a day is pruned.
	 */
	stageSegmentPage(page: SegmentSyncPage): Promise<void>;

	/**
	 * Applies the sync's staging to membership, records entered/exited changes (when asked),
	 * sets the mark and bumps the version, all in one transaction; then drops the staging.
	 */
	commitSegmentSync(request: SegmentCommitRequest): Promise<SegmentCommitResult>;

	/** Drops a sync's staging without touching membership or mark. Idempotent. */
	abortSegmentSync(segmentId: string, syncId: string): Promise<void>;

	/** Changes of one segment with seq > afterSeq, oldest first; `syncId` narrows to one sync. */
	listSegmentChanges(query: {
		segmentId: string;
		syncId?: string;
		afterSeq?: number;
		limit?: number;
	}): Promise<SegmentChange[]>;

	/** Members ordered by recordId, after `afterRecordId`, at most `limit` (default 1,000). */
	listSegmentMembers(query: {
		segmentId: string;
		afterRecordId?: string;
		limit?: number;
	}): Promise<SegmentMember[]>;
}

/** What opening a store gives: both interfaces on one object, over one database. */
export type CampaignStoreWithSegments = CampaignStore & SegmentStore;
