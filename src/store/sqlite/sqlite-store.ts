import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';

import { SchemaVersionError, StoreConfigurationError, StoreUnavailableError } from '../../errors';
import {
	SCHEMA_VERSION,
	type CampaignEntry,
	type CampaignEvent,
	type CampaignStore,
	type CampaignReportQuery,
	type CancelStepsRequest,
	type CapDecisionRecord,
	type ClaimStepsRequest,
	type ClaimedStep,
	type EntryQuery,
	type EventQuery,
	type IngestRequest,
	type IngestResult,
	type ProfileUpdate,
	type ScheduleStepRequest,
	type ScheduleStepsResult,
	type SendCompletion,
	type SendCountRequest,
	type SendCountResult,
	type SendRecord,
	type SendReservationRequest,
	type SendReservationResult,
	type StepClaim,
	type UserProfile,
	type VariantFunnelCounts,
} from '../campaign-store';
import type {
	EmailProfile,
	SegmentChange,
	SegmentCommitRequest,
	SegmentCommitResult,
	SegmentMember,
	SegmentStore,
	SegmentSyncPage,
	SegmentSyncState,
} from '../segment-store';
import { blockingEntryRange, validCandidates } from '../re-entry';
import { checkCapDecisions, checkReportQuery } from '../report-queries';
import {
	entryFromRow,
	eventFromRow,
	profileFromRow,
	type EntryRow,
	type EventRow,
	type ProfileRow,
} from '../rows';
import {
	checkCancel,
	checkClaimRequest,
	checkClaims,
	checkLeaseUntil,
	checkResumePoint,
	prepareSteps,
} from '../scheduled-steps';
import { checkSegmentCommit } from '../segments';
import {
	checkCompletion,
	checkEntryQuery,
	checkExit,
	checkTime,
	prepareReservations,
	prepareSendCount,
} from '../send-requests';
import {
	checkUserId,
	checkUserRecordsQuery,
	type ErasureResult,
	type UserRecords,
	type UserRecordsQuery,
} from '../user-records';
import { eraseSqliteUser, readSqliteUserRecords } from './sqlite-user-records';
import {
	cancelSqliteSteps,
	claimSqliteSteps,
	finishSqliteClaims,
	renewSqliteClaims,
	nextSqliteDueAt,
	scheduleSqliteSteps,
} from './sqlite-schedule';
import { SQLITE_MIGRATIONS } from './sqlite-schema';
import {
	commitSqliteSegmentSync,
	dropSqliteStaging,
	findSqliteProfilesByEmail,
	findSqliteUsersByEmail,
	getSqliteSegmentState,
	listSqliteSegmentChanges,
	listSqliteSegmentMembers,
	stageSqliteSegmentPage,
} from './sqlite-segments';
import { countSqliteReport, recordSqliteCapDecisions } from './sqlite-report';
import {
	completeSqliteSend,
	countSqliteSends,
	getSqliteSend,
	reserveSqliteSends,
} from './sqlite-sends';

export interface SqliteStoreOptions {
	/** Path of the database file, or `:memory:`. */
	filePath: string;
	/** How long a writer waits for another process's transaction, in ms (default 5000). */
	busyTimeoutMs?: number;
}

/** SQLite's default: a checkpoint once the WAL holds 1,000 pages (4 MB). */
const WAL_AUTOCHECKPOINT_PAGES = 1000;
/** While a segment sync stages pages: at most 20,000 pages (80 MB) of WAL. */
const STAGING_WAL_AUTOCHECKPOINT_PAGES = 20_000;
/** After a checkpoint, the WAL file a sync grew shrinks back to this size on disk. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** Merges `update` into `base` (a new object), leaving out keys whose value is undefined. */
function mergeDefined<T>(
	base: Record<string, T> | undefined,
	update: Record<string, T> | undefined,
): Record<string, T> {
	// A plain loop: a segment sync merges every profile of a million-record page run.
	const merged: Record<string, T> = { ...base };
	if (update) {
		for (const key in update) {
			if (Object.prototype.hasOwnProperty.call(update, key) && update[key] !== undefined)
				merged[key] = update[key];
		}
	}
	return merged;
}

/** Loads `node:sqlite` lazily so that PostgreSQL users on an older Node never touch it. */
function loadSqlite(): typeof import('node:sqlite') {
	try {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		return require('node:sqlite') as typeof import('node:sqlite');
	} catch (cause) {
		throw new StoreConfigurationError(
			`The embedded SQLite store needs Node.js 22.13 or later (this is ${process.version}). Run n8n on a newer Node.js, or choose PostgreSQL in the Campaign Store credential.`,
			{ cause },
		);
	}
}

/**
 * The default store: one SQLite file in WAL mode. Writers serialise on `BEGIN IMMEDIATE`,
 * which makes every transaction atomic across the processes sharing the file.
 */
export class SqliteCampaignStore implements CampaignStore, SegmentStore {
	readonly backend = 'sqlite' as const;
	private readonly db: DatabaseSync;
	private readonly statements = new Map<string, StatementSync>();
	private closed = false;

	constructor(readonly options: SqliteStoreOptions) {
		const { DatabaseSync } = loadSqlite();
		if (options.filePath !== ':memory:') {
			try {
				mkdirSync(dirname(options.filePath), { recursive: true });
			} catch (cause) {
				throw new StoreConfigurationError(
					`Cannot create the folder of the SQLite store ${options.filePath}: ${(cause as Error).message}. Choose a writable file path in the Campaign Store credential.`,
					{ cause },
				);
			}
		}
		try {
			this.db = new DatabaseSync(options.filePath);
			this.db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
			this.db.exec('PRAGMA journal_mode = WAL');
			// FULL: a committed event survives a power cut, which NORMAL does not promise in WAL mode.
			this.db.exec('PRAGMA synchronous = FULL');
			this.db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
			this.migrate();
		} catch (cause) {
			if (cause instanceof SchemaVersionError) throw cause;
			// A lock held by another process passes; a file that is not a database, or that this
			// process may not write, stays so until someone changes the path or the file.
			const StoreError = /\b(locked|busy)\b/i.test((cause as Error).message)
				? StoreUnavailableError
				: StoreConfigurationError;
			throw new StoreError(
				`Cannot open the SQLite store ${options.filePath}: ${(cause as Error).message}. Check that the file is writable and not corrupted, or choose another path in the Campaign Store credential.`,
				{ cause },
			);
		}
	}

	private migrate(): void {
		this.transaction(() => {
			this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
			const row = this.db.prepare('SELECT max(version) AS version FROM schema_version').get() as {
				version: number | null;
			};
			const current = row.version ?? 0;
			if (current > SCHEMA_VERSION) throw new SchemaVersionError(current, SCHEMA_VERSION);
			for (const migration of SQLITE_MIGRATIONS) {
				if (migration.version <= current) continue;
				for (const statement of migration.statements) this.db.exec(statement);
				this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(migration.version);
			}
		});
	}

	private statement(sql: string): StatementSync {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql);
			this.statements.set(sql, statement);
		}
		return statement;
	}

	private transaction<T>(work: () => T): T {
		this.db.exec('BEGIN IMMEDIATE');
		try {
			const result = work();
			this.db.exec('COMMIT');
			return result;
		} catch (error) {
			this.db.exec('ROLLBACK');
			throw error;
		}
	}

	async ingest(request: IngestRequest): Promise<IngestResult> {
		return this.transaction(() => {
			const insertEvent = this.statement(
				`INSERT INTO events (message_id, user_id, name, occurred_at, received_at, time_zone, properties)
				 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
			);
			const recorded = request.events.map(
				(event) =>
					insertEvent.run(
						event.messageId,
						event.userId,
						event.name,
						event.occurredAt,
						event.receivedAt,
						event.timeZone ?? null,
						JSON.stringify(event.properties),
					).changes === 1,
			);
			const result: IngestResult = { recorded, entries: [], notReEligible: [], alreadyEntered: [] };
			const entry = request.entry;
			if (!entry) return result;

			const findBlocking = this.statement(
				`SELECT 1 FROM campaign_entries WHERE campaign_id = ? AND user_id = ?
				 AND triggered_at > ? AND triggered_at < ? LIMIT 1`,
			);
			const insertEntry = this.statement(
				`INSERT INTO campaign_entries (entry_id, campaign_id, user_id, entered_at, triggered_at, trigger_message_id, state)
				 VALUES (?, ?, ?, ?, ?, ?, 'active')`,
			);
			const findEntered = this.statement(
				'SELECT 1 FROM campaign_entries WHERE campaign_id = ? AND trigger_message_id = ?',
			);
			for (const eventIndex of validCandidates(entry.candidates, request.events.length)) {
				const event = request.events[eventIndex];
				if (findEntered.get(entry.campaignId, event.messageId)) {
					result.alreadyEntered.push(eventIndex);
					continue;
				}
				const range = blockingEntryRange(entry.reEntry, event.occurredAt);
				if (range && findBlocking.get(entry.campaignId, event.userId, range.after, range.before)) {
					result.notReEligible.push(eventIndex);
					continue;
				}
				const created: CampaignEntry = {
					entryId: randomUUID(),
					campaignId: entry.campaignId,
					userId: event.userId,
					enteredAt: request.now,
					triggeredAt: event.occurredAt,
					triggerMessageId: event.messageId,
					state: 'active',
				};
				insertEntry.run(
					created.entryId,
					created.campaignId,
					created.userId,
					created.enteredAt,
					created.triggeredAt,
					created.triggerMessageId,
				);
				result.entries.push({ eventIndex, entry: created });
			}
			return result;
		});
	}

	async findEvents(query: EventQuery): Promise<CampaignEvent[]> {
		const names = query.names;
		const nameFilter = names.length ? `AND name IN (${names.map(() => '?').join(', ')})` : '';
		const rows = this.db
			.prepare(
				`SELECT message_id, user_id, name, occurred_at, received_at, time_zone, properties FROM events
				 WHERE user_id = ? ${nameFilter} AND occurred_at > ? AND occurred_at <= ?
				 ORDER BY occurred_at, id LIMIT ?`,
			)
			.all(
				query.userId,
				...names,
				query.after,
				query.until ?? Number.MAX_SAFE_INTEGER,
				query.limit ?? 100,
			) as unknown as EventRow[];
		return rows.map(eventFromRow);
	}

	async upsertProfiles(updates: ProfileUpdate[], now: number): Promise<void> {
		this.transaction(() => this.writeProfiles(updates, now));
	}

	/** The body of `upsertProfiles`, inside the caller's transaction. */
	private writeProfiles(updates: ProfileUpdate[], now: number): void {
		const read = this.statement(
			'SELECT email, attributes, external_ids FROM profiles WHERE user_id = ?',
		);
		const insert = this.statement(
			`INSERT INTO profiles (user_id, email, phone, time_zone, unsubscribed, attributes, external_ids, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		);
		// Two updates: one that leaves email alone, so a profile whose email did not change (most
		// of a segment re-sync) does not rewrite its entries in both email indexes.
		const updateColumns = `phone = coalesce(?, phone), time_zone = coalesce(?, time_zone),
			unsubscribed = coalesce(?, unsubscribed), attributes = ?, external_ids = ?, updated_at = ?`;
		const update = this.statement(`UPDATE profiles SET ${updateColumns} WHERE user_id = ?`);
		const updateWithEmail = this.statement(
			`UPDATE profiles SET email = ?, ${updateColumns} WHERE user_id = ?`,
		);
		for (const profile of updates) {
			const existing = read.get(profile.userId) as
				| { email: string | null; attributes: string; external_ids: string }
				| undefined;
			// Keys given as undefined are not given: they keep the stored value, as in PostgreSQL.
			const attributes = mergeDefined(
				existing ? (JSON.parse(existing.attributes) as Record<string, unknown>) : undefined,
				profile.attributes,
			);
			const externalIds = mergeDefined(
				existing ? (JSON.parse(existing.external_ids) as Record<string, string>) : undefined,
				profile.externalIds,
			);
			const unsubscribed = profile.unsubscribed === undefined ? null : Number(profile.unsubscribed);
			if (!existing) {
				insert.run(
					profile.userId,
					profile.email ?? null,
					profile.phone ?? null,
					profile.timeZone ?? null,
					unsubscribed ?? 0,
					JSON.stringify(attributes),
					JSON.stringify(externalIds),
					now,
				);
				continue;
			}
			const values = [
				profile.phone ?? null,
				profile.timeZone ?? null,
				unsubscribed,
				JSON.stringify(attributes),
				JSON.stringify(externalIds),
				now,
				profile.userId,
			] as const;
			const newEmail = profile.email ?? null;
			if (newEmail !== null && newEmail !== existing.email) {
				updateWithEmail.run(newEmail, ...values);
			} else {
				update.run(...values);
			}
		}
	}

	async getProfiles(userIds: string[]): Promise<Map<string, UserProfile>> {
		const profiles = new Map<string, UserProfile>();
		const select = this.statement(
			`SELECT user_id, email, phone, time_zone, unsubscribed, attributes, external_ids, updated_at
			 FROM profiles WHERE user_id = ?`,
		);
		for (const userId of new Set(userIds)) {
			const row = select.get(userId) as ProfileRow | undefined;
			if (row) profiles.set(userId, profileFromRow(row));
		}
		return profiles;
	}

	async getEntry(entryId: string): Promise<CampaignEntry | undefined> {
		const row = this.statement('SELECT * FROM campaign_entries WHERE entry_id = ?').get(entryId) as
			| EntryRow
			| undefined;
		return row && entryFromRow(row);
	}

	async findEntries(query: EntryQuery): Promise<CampaignEntry[]> {
		const checked = checkEntryQuery(query);
		const rows = this.statement(
			`SELECT * FROM campaign_entries WHERE campaign_id = ? AND user_id = ?
			 AND triggered_at > ? AND triggered_at < ? ORDER BY triggered_at DESC, entered_at DESC LIMIT ?`,
		).all(
			checked.campaignId,
			checked.userId,
			checked.triggeredAfter,
			checked.triggeredBefore,
			checked.limit,
		) as unknown as EntryRow[];
		return rows.map(entryFromRow);
	}

	async exitEntry(entryId: string, reason: string, at: number): Promise<CampaignEntry | undefined> {
		checkExit(entryId, reason, at);
		const exited = this.statement(
			`UPDATE campaign_entries SET state = 'exited', exited_at = ?, exit_reason = ?
			 WHERE entry_id = ? AND state = 'active' RETURNING *`,
		).get(at, reason, entryId) as EntryRow | undefined;
		return exited ? entryFromRow(exited) : this.getEntry(entryId);
	}

	async countSends(request: SendCountRequest): Promise<SendCountResult> {
		const prepared = prepareSendCount(request);
		return countSqliteSends((sql) => this.statement(sql), prepared);
	}

	async reserveSends(requests: SendReservationRequest[]): Promise<SendReservationResult[]> {
		const prepared = prepareReservations(requests);
		if (prepared.length === 0) return [];
		return this.transaction(() => reserveSqliteSends((sql) => this.statement(sql), prepared));
	}

	async completeSend(
		idempotencyKey: string,
		completion: SendCompletion,
	): Promise<SendRecord | undefined> {
		checkCompletion(idempotencyKey, completion);
		return completeSqliteSend((sql) => this.statement(sql), idempotencyKey, completion);
	}

	async getSend(idempotencyKey: string): Promise<SendRecord | undefined> {
		return getSqliteSend((sql) => this.statement(sql), idempotencyKey);
	}

	async findUserIdsByEmail(emails: string[]): Promise<Map<string, string>> {
		return findSqliteUsersByEmail((sql) => this.statement(sql), emails);
	}

	async findProfilesByEmail(emails: string[]): Promise<Map<string, EmailProfile[]>> {
		return findSqliteProfilesByEmail((sql) => this.statement(sql), emails);
	}

	async getSegmentState(segmentId: string): Promise<SegmentSyncState | undefined> {
		return getSqliteSegmentState((sql) => this.statement(sql), segmentId);
	}

	async stageSegmentPage(page: SegmentSyncPage): Promise<void> {
		// Staging pages need not survive a power loss: a sync whose staging is lost commits
		// nothing and the next sync reads the same records again. Skipping the fsync of each
		// page (WAL with synchronous=NORMAL still survives a crash of the process) makes a
		// million-record sync several times faster; the commit itself is synced as always.
		// Checkpoints come less often too: each copies the pages of the WAL back into the file
		// and syncs it, and staged pages touch profile and index pages at random, so every
		// 4 MB window holds most of them again; every 80 MB copies each far fewer times
		// (a 100,000-record sync, runs taking turns: 6.9–9.5 s → 5.4–6.4 s). Other writes keep the default.
		this.db.exec(
			`PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = ${STAGING_WAL_AUTOCHECKPOINT_PAGES}`,
		);
		try {
			this.transaction(() => {
				stageSqliteSegmentPage((sql) => this.statement(sql), page);
				this.writeProfiles(page.profiles, page.now);
			});
		} finally {
			this.db.exec(
				`PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`,
			);
		}
	}

	async commitSegmentSync(request: SegmentCommitRequest): Promise<SegmentCommitResult> {
		checkSegmentCommit(request);
		const statement = (sql: string) => this.statement(sql);
		return this.transaction(() =>
			commitSqliteSegmentSync(statement, request, (page) => {
				stageSqliteSegmentPage(statement, page);
				this.writeProfiles(page.profiles, page.now);
			}),
		);
	}

	async abortSegmentSync(segmentId: string, syncId: string): Promise<void> {
		this.transaction(() => dropSqliteStaging((sql) => this.statement(sql), segmentId, syncId));
	}

	async listSegmentChanges(query: {
		segmentId: string;
		syncId?: string;
		afterSeq?: number;
		limit?: number;
	}): Promise<SegmentChange[]> {
		return listSqliteSegmentChanges((sql) => this.statement(sql), query);
	}

	async listSegmentMembers(query: {
		segmentId: string;
		afterRecordId?: string;
		limit?: number;
	}): Promise<SegmentMember[]> {
		return listSqliteSegmentMembers((sql) => this.statement(sql), query);
	}

	async scheduleSteps(requests: ScheduleStepRequest[], now: number): Promise<ScheduleStepsResult> {
		const steps = prepareSteps(requests, now);
		if (steps.length === 0) return { scheduled: [] };
		return {
			scheduled: this.transaction(() =>
				scheduleSqliteSteps((sql) => this.statement(sql), steps, now),
			),
		};
	}

	async claimDueSteps(request: ClaimStepsRequest): Promise<ClaimedStep[]> {
		checkClaimRequest(request);
		const token = randomUUID();
		return this.transaction(() => claimSqliteSteps((sql) => this.statement(sql), request, token));
	}

	async completeSteps(claims: StepClaim[], now: number): Promise<number> {
		const sorted = checkClaims(claims, now);
		if (sorted.length === 0) return 0;
		return this.transaction(() =>
			finishSqliteClaims((sql) => this.statement(sql), 'complete', sorted, now),
		);
	}

	async releaseSteps(claims: StepClaim[], now: number): Promise<number> {
		const sorted = checkClaims(claims, now);
		if (sorted.length === 0) return 0;
		return this.transaction(() =>
			finishSqliteClaims((sql) => this.statement(sql), 'release', sorted, now),
		);
	}

	async renewStepLeases(claims: StepClaim[], leaseUntil: number, now: number): Promise<number> {
		const sorted = checkClaims(claims, now);
		checkLeaseUntil(leaseUntil, now);
		if (sorted.length === 0) return 0;
		return this.transaction(() =>
			renewSqliteClaims((sql) => this.statement(sql), sorted, leaseUntil, now),
		);
	}

	async cancelScheduledSteps(request: CancelStepsRequest, now: number): Promise<number> {
		checkCancel(request, now);
		return cancelSqliteSteps((sql) => this.statement(sql), request, now);
	}

	async nextScheduledDueAt(query: {
		campaignId: string;
		stepId: string;
	}): Promise<number | undefined> {
		checkResumePoint(query);
		return nextSqliteDueAt((sql) => this.statement(sql), query);
	}

	async recordCapDecisions(decisions: CapDecisionRecord[]): Promise<void> {
		checkCapDecisions(decisions);
		if (decisions.length === 0) return;
		this.transaction(() => recordSqliteCapDecisions((sql) => this.statement(sql), decisions));
	}

	async countCampaignReport(query: CampaignReportQuery): Promise<VariantFunnelCounts[]> {
		const prepared = checkReportQuery(query);
		// A report reads a whole campaign: with the default 2 MB page cache, a million entries
		// thrash it. A larger cache and in-memory sorts for this query only.
		const { cache_size: cacheSize } = this.db.prepare('PRAGMA cache_size').get() as {
			cache_size: number;
		};
		this.db.exec('PRAGMA cache_size = -131072');
		this.db.exec('PRAGMA temp_store = MEMORY');
		try {
			return countSqliteReport((sql) => this.statement(sql), prepared);
		} finally {
			this.db.exec(`PRAGMA cache_size = ${Number(cacheSize)}`);
			this.db.exec('PRAGMA temp_store = DEFAULT');
		}
	}

	async readUserRecords(query: UserRecordsQuery): Promise<UserRecords> {
		const prepared = checkUserRecordsQuery(query);
		// A read transaction: the lists come from one snapshot of the file.
		this.db.exec('BEGIN');
		try {
			return readSqliteUserRecords((sql) => this.statement(sql), prepared);
		} finally {
			this.db.exec('COMMIT');
		}
	}

	async eraseUser(userId: string, now: number): Promise<ErasureResult> {
		const user = checkUserId(userId);
		checkTime(now, 'now');
		return this.transaction(() => eraseSqliteUser((sql) => this.statement(sql), user, now));
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		this.db.close();
	}
}
