import { randomUUID } from 'node:crypto';

import {
	CampaignError,
	InvalidInputError,
	StoreConfigurationError,
	StoreUnavailableError,
} from '../../errors';
import type {
	CampaignEntry,
	CampaignEvent,
	CampaignReportQuery,
	CampaignStore,
	CancelStepsRequest,
	CapDecisionRecord,
	ClaimStepsRequest,
	ClaimedStep,
	EntryQuery,
	EventQuery,
	IngestRequest,
	IngestResult,
	ProfileUpdate,
	ScheduleStepRequest,
	ScheduleStepsResult,
	SendCompletion,
	SendCountRequest,
	SendCountResult,
	SendRecord,
	SendReservationRequest,
	SendReservationResult,
	StepClaim,
	UserProfile,
	VariantFunnelCounts,
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
	sendFromRow,
	type EntryRow,
	type EventRow,
	type ProfileRow,
	type SendRow,
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
import { erasePostgresUser, readPostgresUserRecords } from './postgres-user-records';
import type { PgClient, PgPool, PgQueryable, PgQueryResult } from './pg-types';
import {
	createPool,
	describeError,
	describePool,
	isSettingsFault,
	type PostgresConnectionOptions,
} from './postgres-connection';
import {
	cancelPostgresSteps,
	claimPostgresSteps,
	finishPostgresClaims,
	renewPostgresClaims,
	nextPostgresDueAt,
	postgresScheduleStatements,
	schedulePostgresSteps,
	type PostgresScheduleStatements,
} from './postgres-schedule';
import { countPostgresReport, recordPostgresCapDecisions } from './postgres-report';
import { migratePostgresSchema } from './postgres-schema';
import {
	commitPostgresSegmentSync,
	findPostgresProfilesByEmail,
	findPostgresUsersByEmail,
	getPostgresSegmentState,
	listPostgresSegmentChanges,
	listPostgresSegmentMembers,
	postgresSegmentStatements,
	stagePostgresSegmentPage,
	type PostgresSegmentStatements,
} from './postgres-segments';
import {
	NEEDS_READ_COMMITTED,
	postgresSendStatements,
	reservePostgresBatch,
	reservationFromRow,
	reserveSendValues,
	sendCountFromRow,
	sendCountValues,
	type ReserveSendRow,
	type SendCountRow,
} from './postgres-sends';
import {
	advisoryKey,
	namedStatement,
	postgresStatements,
	type PostgresStatements,
} from './postgres-sql';

export type { PostgresConnectionOptions } from './postgres-connection';

export interface PostgresStoreOptions {
	/** A pool the caller owns (a `pg.Pool`); the store leaves it open on close. */
	pool?: PgPool;
	/** Where to connect when no pool is given; the store then creates and owns its pool. */
	connection?: PostgresConnectionOptions;
	/** Schema of the store's tables, created when missing (default `triggered_campaigns`). */
	schema?: string;
	/** Connections in the store's own pool (default 10). */
	poolMax?: number;
}

type EntryRequest = NonNullable<IngestRequest['entry']>;

export const DEFAULT_POSTGRES_SCHEMA = 'triggered_campaigns';

/** Unquoted-identifier rules; `pg_` is reserved for PostgreSQL's own schemas. */
const SCHEMA_NAME = /^(?!pg_)[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Clamps a time bound into BIGINT range; `floor` keeps `>` and `<=` exact for fractions. */
const bigintBound = (ms: number): number =>
	Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, Math.floor(ms)));

/** Merges updates of the same user in order, as applying them one by one would. */
function foldProfileUpdates(updates: ProfileUpdate[]): ProfileUpdate[] {
	const byUser = new Map<string, ProfileUpdate>();
	for (const update of updates) {
		const earlier = byUser.get(update.userId);
		if (!earlier) {
			byUser.set(update.userId, update);
			continue;
		}
		byUser.set(update.userId, {
			userId: update.userId,
			email: update.email ?? earlier.email,
			phone: update.phone ?? earlier.phone,
			timeZone: update.timeZone ?? earlier.timeZone,
			unsubscribed: update.unsubscribed ?? earlier.unsubscribed,
			attributes: { ...earlier.attributes, ...update.attributes },
			externalIds: { ...earlier.externalIds, ...update.externalIds },
		});
	}
	return [...byUser.values()];
}

/**
 * The store for n8n queue mode: several processes share one PostgreSQL database. Each
 * ingest is one transaction; entering users serialises per campaign and user (in stripes)
 * on advisory locks, so concurrent batches apply the re-entry rule as if they had run one
 * after another. Frequency-cap decisions serialise per user (in stripes) the same way, in
 * the schema's `reserve_sends` function (`postgres-sends.ts`).
 */
export class PostgresCampaignStore implements CampaignStore, SegmentStore {
	readonly backend = 'postgres' as const;
	readonly schema: string;
	private readonly pool: PgPool;
	private readonly ownsPool: boolean;
	/** `host:port/database`, for error messages. */
	private readonly location: string;
	private readonly sql: PostgresStatements;
	/** The recording path's statements, prepared once per connection. */
	private readonly ingestSql: Record<
		'insertEvents' | 'lockEntries' | 'findEnteredOrBlocked' | 'insertEntries',
		{ name: string; text: string }
	>;
	private readonly sendSql: ReturnType<typeof postgresSendStatements>;
	private readonly segmentSql: PostgresSegmentStatements;
	private readonly scheduleSql: PostgresScheduleStatements;
	private readonly entryLockSeed: string;
	private readonly sendLockSeed: string;
	private readonly segmentLockSeed: string;
	/** Set once the pool's connections turn out not to default to READ COMMITTED. */
	private reserveInTransaction = false;
	private opening: Promise<void> | undefined;
	private closed = false;

	constructor(options: PostgresStoreOptions) {
		const schema = options.schema ?? DEFAULT_POSTGRES_SCHEMA;
		if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
			throw new InvalidInputError(
				'schema',
				`"${String(schema)}" is not a usable PostgreSQL schema name. Use 1 to 63 letters, digits and underscores, starting with a letter or underscore and not with "pg_".`,
			);
		}
		this.schema = schema;
		this.sql = postgresStatements(schema);
		const named = (
			name: 'insertEvents' | 'lockEntries' | 'findEnteredOrBlocked' | 'insertEntries',
		) => namedStatement(schema, name, this.sql[name]);
		this.ingestSql = {
			insertEvents: named('insertEvents'),
			lockEntries: named('lockEntries'),
			findEnteredOrBlocked: named('findEnteredOrBlocked'),
			insertEntries: named('insertEntries'),
		};
		this.sendSql = postgresSendStatements(schema);
		this.segmentSql = postgresSegmentStatements(schema);
		this.scheduleSql = postgresScheduleStatements(schema);
		this.entryLockSeed = advisoryKey('n8n-nodes-triggered-campaigns', 'campaign_entries', schema);
		this.sendLockSeed = advisoryKey('n8n-nodes-triggered-campaigns', 'sends', schema);
		this.segmentLockSeed = advisoryKey('n8n-nodes-triggered-campaigns', 'segments', schema);

		if (options.pool) {
			this.pool = options.pool;
			this.ownsPool = false;
			this.location = describePool(options.pool);
		} else if (options.connection) {
			({ pool: this.pool, location: this.location } = createPool(
				options.connection,
				options.poolMax,
			));
			this.ownsPool = true;
		} else {
			throw new InvalidInputError(
				'connection',
				'give either a connection pool or the host, port, database, user and password to connect with.',
			);
		}
	}

	/** Connects and brings the schema up to date, once per store; later calls share that work. */
	open(): Promise<void> {
		this.opening ??= this.migrate().catch((error: unknown) => {
			this.opening = undefined;
			throw error;
		});
		return this.opening;
	}

	private async migrate(): Promise<void> {
		try {
			await this.transaction((client) => migratePostgresSchema(client, this.schema));
		} catch (cause) {
			if (cause instanceof CampaignError) throw cause;
			const StoreError = isSettingsFault(cause) ? StoreConfigurationError : StoreUnavailableError;
			throw new StoreError(
				`Cannot prepare the schema "${this.schema}" of the campaign store in PostgreSQL at ${this.location}: ${describeError(cause)}. Check that the user in the Campaign Store credential may create schemas and tables in this database, or have an administrator create the schema and grant that user all rights on it.`,
				{ cause },
			);
		}
	}

	private async connect(): Promise<PgClient> {
		if (this.closed) throw new StoreUnavailableError('This campaign store has been closed.');
		try {
			return await this.pool.connect();
		} catch (cause) {
			const StoreError = isSettingsFault(cause) ? StoreConfigurationError : StoreUnavailableError;
			throw new StoreError(
				`Cannot connect to PostgreSQL at ${this.location}: ${describeError(cause)}. Check host, port, database, user and password in the Campaign Store credential.`,
				{ cause },
			);
		}
	}

	/** Work on one pooled connection; a single statement is a transaction of its own. */
	private async withClient<T>(work: (client: PgClient) => Promise<T>): Promise<T> {
		const client = await this.connect();
		try {
			return await work(client);
		} finally {
			client.release();
		}
	}

	private async query<Row>(text: string, values: unknown[]): Promise<Row[]> {
		return this.withClient(async (client) => (await client.query<Row>(text, values)).rows);
	}

	/**
	 * READ COMMITTED whatever the server's default: a statement that follows an advisory
	 * lock must see what the previous holder of the lock committed.
	 */
	private async transaction<T>(work: (client: PgClient) => Promise<T>): Promise<T> {
		const client = await this.connect();
		let broken: Error | undefined;
		try {
			await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
			const result = await work(client);
			await client.query('COMMIT');
			return result;
		} catch (error) {
			try {
				await client.query('ROLLBACK');
			} catch (rollbackError) {
				broken = rollbackError as Error;
			}
			throw error;
		} finally {
			client.release(broken);
		}
	}

	async ingest(request: IngestRequest): Promise<IngestResult> {
		await this.open();
		const entry = request.entry;
		const nothing = { entries: [], notReEligible: [], alreadyEntered: [] };
		if (request.events.length === 0) return { recorded: [], ...nothing };
		if (!entry || entry.candidates.length === 0) {
			// One statement, so no BEGIN and COMMIT round trips.
			const recorded = await this.withClient((client) => this.record(client, request.events));
			return { recorded, ...nothing };
		}
		return this.transaction(async (client) => {
			const recorded = await this.record(client, request.events);
			return { recorded, ...(await this.enter(client, request, entry)) };
		});
	}

	/** Inserts the events in one statement; true for each one recorded now. */
	private async record(db: PgQueryable, events: CampaignEvent[]): Promise<boolean[]> {
		// Within a batch, the first event with a messageId is the one that can be recorded.
		const firstIndex = new Map<string, number>();
		events.forEach((event, index) => {
			if (!firstIndex.has(event.messageId)) firstIndex.set(event.messageId, index);
		});
		const distinct = [...firstIndex.values()].map((index) => events[index]);
		const { rows } = await db.query<{ message_id: string }>({
			...this.ingestSql.insertEvents,
			values: [
				distinct.map((event) => event.messageId),
				distinct.map((event) => event.userId),
				distinct.map((event) => event.name),
				distinct.map((event) => event.occurredAt),
				distinct.map((event) => event.receivedAt),
				distinct.map((event) => event.timeZone ?? null),
				distinct.map((event) => JSON.stringify(event.properties)),
			],
		});
		const inserted = new Set(rows.map((row) => row.message_id));
		return events.map(
			(event, index) => firstIndex.get(event.messageId) === index && inserted.has(event.messageId),
		);
	}

	/**
	 * Enters the candidates in order: each event at most once per campaign, then the re-entry
	 * rule. It locks the users first and reads their entries in later statements, which
	 * therefore see every entry committed by a concurrent transaction that held a lock before.
	 */
	private async enter(
		client: PgClient,
		{ events, now }: IngestRequest,
		entry: EntryRequest,
	): Promise<Pick<IngestResult, 'entries' | 'notReEligible' | 'alreadyEntered'>> {
		const result: Pick<IngestResult, 'entries' | 'notReEligible' | 'alreadyEntered'> = {
			entries: [],
			notReEligible: [],
			alreadyEntered: [],
		};
		const valid = validCandidates(entry.candidates, events.length);
		await client.query({
			...this.ingestSql.lockEntries,
			values: [entry.campaignId, valid.map((i) => events[i].userId), this.entryLockSeed],
		});
		// One round trip answers both checks for every candidate (the lock above came first).
		const ranges = valid.map((i) => blockingEntryRange(entry.reEntry, events[i].occurredAt));
		const { rows: found } = await client.query<{ ord: string; entered: boolean; blocked: boolean }>(
			{
				...this.ingestSql.findEnteredOrBlocked,
				values: [
					entry.campaignId,
					valid.map((i) => events[i].messageId),
					valid.map((i) => events[i].userId),
					ranges.map((range) => range?.after ?? null),
					ranges.map((range) => range?.before ?? null),
				],
			},
		);
		const enteredInStore = new Set<number>();
		/** Indexes in `valid` that an entry already in the store blocks. */
		const blockedByStore = new Set<number>();
		for (const row of found) {
			const position = Number(row.ord) - 1;
			if (row.entered) enteredInStore.add(position);
			if (row.blocked) blockedByStore.add(position);
		}
		// An event enters once: already in the store, or earlier in this batch.
		const seen = new Set<string>();
		/** Positions in `valid` still to decide. */
		const candidates: number[] = [];
		valid.forEach((eventIndex, position) => {
			const messageId = events[eventIndex].messageId;
			if (enteredInStore.has(position) || seen.has(messageId)) {
				result.alreadyEntered.push(eventIndex);
				return;
			}
			seen.add(messageId);
			candidates.push(position);
		});

		// Entries of this batch block later candidates of the same user, as in SQLite.
		const enteredNow = new Map<string, CampaignEntry[]>();
		for (const position of candidates) {
			const eventIndex = valid[position];
			const event = events[eventIndex];
			const range = ranges[position];
			const earlier = enteredNow.get(event.userId) ?? [];
			const blocked =
				range !== undefined &&
				(blockedByStore.has(position) ||
					earlier.some((e) => e.triggeredAt > range.after && e.triggeredAt < range.before));
			if (blocked) {
				result.notReEligible.push(eventIndex);
				continue;
			}
			const created: CampaignEntry = {
				entryId: randomUUID(),
				campaignId: entry.campaignId,
				userId: event.userId,
				enteredAt: now,
				triggeredAt: event.occurredAt,
				triggerMessageId: event.messageId,
				state: 'active',
			};
			enteredNow.set(event.userId, [...earlier, created]);
			result.entries.push({ eventIndex, entry: created });
		}

		if (result.entries.length > 0) {
			const created = result.entries.map((e) => e.entry);
			await client.query({
				...this.ingestSql.insertEntries,
				values: [
					entry.campaignId,
					now,
					created.map((e) => e.entryId),
					created.map((e) => e.userId),
					created.map((e) => e.triggeredAt),
					created.map((e) => e.triggerMessageId),
				],
			});
		}
		return result;
	}

	async findEvents(query: EventQuery): Promise<CampaignEvent[]> {
		await this.open();
		const byName = query.names.length > 0;
		const values: unknown[] = [
			query.userId,
			bigintBound(query.after),
			bigintBound(query.until ?? Number.MAX_SAFE_INTEGER),
			// A negative limit means none, as in SQLite (LIMIT NULL).
			query.limit === undefined ? 100 : query.limit < 0 ? null : query.limit,
		];
		if (byName) values.push(query.names);
		const rows = await this.query<EventRow>(this.sql.findEvents(byName), values);
		return rows.map(eventFromRow);
	}

	async upsertProfiles(updates: ProfileUpdate[], now: number): Promise<void> {
		await this.open();
		if (updates.length === 0) return;
		await this.withClient((client) => this.writeProfiles(client, updates, now));
	}

	/** The one statement of `upsertProfiles`, on the caller's connection or transaction. */
	private async writeProfiles(db: PgQueryable, updates: ProfileUpdate[], now: number) {
		if (updates.length === 0) return;
		const folded = foldProfileUpdates(updates);
		await db.query(this.sql.upsertProfiles, [
			folded.map((u) => u.userId),
			folded.map((u) => u.email ?? null),
			folded.map((u) => u.phone ?? null),
			folded.map((u) => u.timeZone ?? null),
			folded.map((u) => u.unsubscribed ?? null),
			folded.map((u) => JSON.stringify(u.attributes ?? {})),
			folded.map((u) => JSON.stringify(u.externalIds ?? {})),
			now,
			folded.filter((u) => u.unsubscribed !== undefined).map((u) => u.userId),
		]);
	}

	async getProfiles(userIds: string[]): Promise<Map<string, UserProfile>> {
		await this.open();
		const profiles = new Map<string, UserProfile>();
		const wanted = [...new Set(userIds)];
		if (wanted.length === 0) return profiles;
		const rows = await this.query<ProfileRow>(this.sql.getProfiles, [wanted]);
		const byId = new Map(rows.map((row) => [row.user_id, row]));
		// In the order asked for, like the SQLite store.
		for (const userId of wanted) {
			const row = byId.get(userId);
			if (row) profiles.set(userId, profileFromRow(row));
		}
		return profiles;
	}

	async findEntries(query: EntryQuery): Promise<CampaignEntry[]> {
		const checked = checkEntryQuery(query);
		await this.open();
		const rows = await this.query<EntryRow>(this.sql.findEntries, [
			checked.campaignId,
			checked.userId,
			checked.triggeredAfter,
			checked.triggeredBefore,
			checked.limit,
		]);
		return rows.map(entryFromRow);
	}

	async getEntry(entryId: string): Promise<CampaignEntry | undefined> {
		await this.open();
		const [row] = await this.query<EntryRow>(this.sql.getEntry, [entryId]);
		return row && entryFromRow(row);
	}

	async exitEntry(entryId: string, reason: string, at: number): Promise<CampaignEntry | undefined> {
		checkExit(entryId, reason, at);
		await this.open();
		const [row] = await this.query<EntryRow>(this.sendSql.exitEntry, [entryId, reason, at]);
		return row && entryFromRow(row);
	}

	/**
	 * A single decision: one call of the schema's `reserve_send` function (typed arguments, a
	 * statement each connection prepares once), on its own a transaction, so one round trip. The function needs READ COMMITTED; on a pool whose
	 * connections default to another level, it runs in an explicit transaction. A batch:
	 * a few set-based statements in one transaction (`reservePostgresBatch`).
	 */
	async countSends(request: SendCountRequest): Promise<SendCountResult> {
		const prepared = prepareSendCount(request);
		await this.open();
		const [row] = await this.query<SendCountRow>(
			this.sendSql.countSends,
			sendCountValues(prepared),
		);
		return sendCountFromRow(row, prepared);
	}

	async reserveSends(requests: SendReservationRequest[]): Promise<SendReservationResult[]> {
		const prepared = prepareReservations(requests);
		await this.open();
		if (prepared.length === 0) return [];
		if (prepared.length > 1) {
			return this.transaction((client) =>
				reservePostgresBatch(client, this.sendSql, this.sendLockSeed, prepared),
			);
		}
		const query = {
			...this.sendSql.reserveSend,
			values: reserveSendValues(this.sendLockSeed, prepared[0]),
		};
		const call = (db: PgQueryable) => db.query<ReserveSendRow>(query);
		let result: PgQueryResult<ReserveSendRow> | undefined;
		if (!this.reserveInTransaction) {
			try {
				result = await this.withClient(call);
			} catch (error) {
				if ((error as { code?: string }).code !== NEEDS_READ_COMMITTED) throw error;
				this.reserveInTransaction = true;
			}
		}
		result ??= await this.transaction(call);
		return [reservationFromRow(result.rows[0], prepared[0])];
	}

	async completeSend(
		idempotencyKey: string,
		completion: SendCompletion,
	): Promise<SendRecord | undefined> {
		checkCompletion(idempotencyKey, completion);
		await this.open();
		const [row] =
			completion.state === 'sent'
				? await this.query<SendRow>(this.sendSql.completeSent, [
						idempotencyKey,
						completion.at,
						completion.providerMessageId ?? null,
						completion.variant ?? null,
						completion.contentHash ?? null,
					])
				: await this.query<SendRow>(this.sendSql.giveBack, [
						idempotencyKey,
						completion.state,
						completion.error ?? null,
						completion.variant ?? null,
					]);
		return row && sendFromRow(row);
	}

	async getSend(idempotencyKey: string): Promise<SendRecord | undefined> {
		await this.open();
		const [row] = await this.query<SendRow>(this.sendSql.getSend, [idempotencyKey]);
		return row && sendFromRow(row);
	}

	async findUserIdsByEmail(emails: string[]): Promise<Map<string, string>> {
		await this.open();
		return this.withClient((client) => findPostgresUsersByEmail(client, this.segmentSql, emails));
	}

	async findProfilesByEmail(emails: string[]): Promise<Map<string, EmailProfile[]>> {
		await this.open();
		return this.withClient((client) =>
			findPostgresProfilesByEmail(client, this.segmentSql, emails),
		);
	}

	async getSegmentState(segmentId: string): Promise<SegmentSyncState | undefined> {
		await this.open();
		return this.withClient((client) => getPostgresSegmentState(client, this.segmentSql, segmentId));
	}

	async stageSegmentPage(page: SegmentSyncPage): Promise<void> {
		await this.open();
		await this.transaction(async (client) => {
			await this.writeProfiles(client, page.profiles, page.now);
			await stagePostgresSegmentPage(client, this.segmentSql, page);
		});
	}

	async commitSegmentSync(request: SegmentCommitRequest): Promise<SegmentCommitResult> {
		checkSegmentCommit(request);
		await this.open();
		return this.transaction((client) =>
			commitPostgresSegmentSync(
				client,
				this.segmentSql,
				this.segmentLockSeed,
				request,
				async (page) => {
					await this.writeProfiles(client, page.profiles, page.now);
					await stagePostgresSegmentPage(client, this.segmentSql, page);
				},
			),
		);
	}

	async abortSegmentSync(segmentId: string, syncId: string): Promise<void> {
		await this.open();
		await this.query(this.segmentSql.dropStaging, [segmentId, syncId]);
	}

	async listSegmentChanges(query: {
		segmentId: string;
		syncId?: string;
		afterSeq?: number;
		limit?: number;
	}): Promise<SegmentChange[]> {
		await this.open();
		return this.withClient((client) => listPostgresSegmentChanges(client, this.segmentSql, query));
	}

	async listSegmentMembers(query: {
		segmentId: string;
		afterRecordId?: string;
		limit?: number;
	}): Promise<SegmentMember[]> {
		await this.open();
		return this.withClient((client) => listPostgresSegmentMembers(client, this.segmentSql, query));
	}

	async scheduleSteps(requests: ScheduleStepRequest[], now: number): Promise<ScheduleStepsResult> {
		const steps = prepareSteps(requests, now);
		await this.open();
		if (steps.length === 0) return { scheduled: [] };
		return {
			scheduled: await this.withClient((client) =>
				schedulePostgresSteps(client, this.scheduleSql, steps, now),
			),
		};
	}

	async claimDueSteps(request: ClaimStepsRequest): Promise<ClaimedStep[]> {
		checkClaimRequest(request);
		await this.open();
		const token = randomUUID();
		return this.withClient((client) =>
			claimPostgresSteps(client, this.scheduleSql, request, token),
		);
	}

	async completeSteps(claims: StepClaim[], now: number): Promise<number> {
		const sorted = checkClaims(claims, now);
		await this.open();
		if (sorted.length === 0) return 0;
		return this.withClient((client) =>
			finishPostgresClaims(client, this.scheduleSql, 'complete', sorted, now),
		);
	}

	async releaseSteps(claims: StepClaim[], now: number): Promise<number> {
		const sorted = checkClaims(claims, now);
		await this.open();
		if (sorted.length === 0) return 0;
		return this.withClient((client) =>
			finishPostgresClaims(client, this.scheduleSql, 'release', sorted, now),
		);
	}

	async renewStepLeases(claims: StepClaim[], leaseUntil: number, now: number): Promise<number> {
		const sorted = checkClaims(claims, now);
		checkLeaseUntil(leaseUntil, now);
		await this.open();
		if (sorted.length === 0) return 0;
		return this.withClient((client) =>
			renewPostgresClaims(client, this.scheduleSql, sorted, leaseUntil, now),
		);
	}

	async cancelScheduledSteps(request: CancelStepsRequest, now: number): Promise<number> {
		checkCancel(request, now);
		await this.open();
		return this.withClient((client) => cancelPostgresSteps(client, this.scheduleSql, request, now));
	}

	async nextScheduledDueAt(query: {
		campaignId: string;
		stepId: string;
	}): Promise<number | undefined> {
		checkResumePoint(query);
		await this.open();
		return this.withClient((client) => nextPostgresDueAt(client, this.scheduleSql, query));
	}

	async recordCapDecisions(decisions: CapDecisionRecord[]): Promise<void> {
		checkCapDecisions(decisions);
		await this.open();
		if (decisions.length === 0) return;
		await this.withClient((client) => recordPostgresCapDecisions(client, this.schema, decisions));
	}

	async countCampaignReport(query: CampaignReportQuery): Promise<VariantFunnelCounts[]> {
		const prepared = checkReportQuery(query);
		await this.open();
		// A report joins whole campaigns: hash and merge joins, whatever the (possibly stale)
		// statistics say; a nested loop over a misestimated aggregate costs quadratic time.
		return this.transaction(async (client) => {
			await client.query('SET LOCAL enable_nestloop = off');
			// Hash joins of a million entries fit in memory instead of spilling in batches.
			await client.query("SET LOCAL work_mem = '256MB'");
			return countPostgresReport(client, this.schema, prepared);
		});
	}

	async readUserRecords(query: UserRecordsQuery): Promise<UserRecords> {
		const prepared = checkUserRecordsQuery(query);
		await this.open();
		return this.withClient(async (client) => {
			// One snapshot for every list.
			await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
			try {
				return await readPostgresUserRecords(client, this.schema, prepared);
			} finally {
				await client.query('COMMIT');
			}
		});
	}

	async eraseUser(userId: string, now: number): Promise<ErasureResult> {
		const user = checkUserId(userId);
		checkTime(now, 'now');
		await this.open();
		return this.transaction((client) => erasePostgresUser(client, this.schema, user, now));
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		if (this.ownsPool) await this.pool.end();
	}
}

/** Creates a store, connects and migrates; fails with StoreUnavailableError or SchemaVersionError. */
export async function openPostgresStore(
	options: PostgresStoreOptions,
): Promise<PostgresCampaignStore> {
	const store = new PostgresCampaignStore(options);
	try {
		await store.open();
	} catch (error) {
		await store.close();
		throw error;
	}
	return store;
}
