/**
 * The interface every step of a campaign talks to: events, profiles, entries, sends and the
 * per-user schedule. Synced segments have their own interface beside it (`segment-store.ts`).
 * Two backends implement both: embedded SQLite (`sqlite/`) and PostgreSQL (`postgres/`);
 * `test/store/` runs one conformance suite against both. Times are epoch milliseconds (UTC)
 * everywhere.
 */

/** A behavioural event as recorded: the Segment `track` shape, normalised. */
export interface CampaignEvent {
	/** Idempotency key: a repeated messageId is recorded once. */
	messageId: string;
	/** `userId`, or `anonymousId` when the event had no userId. */
	userId: string;
	name: string;
	occurredAt: number;
	receivedAt: number;
	properties: Record<string, unknown>;
	/** IANA zone from the event's `context.timezone`, when it had one. */
	timeZone?: string;
}

export interface UserProfile {
	userId: string;
	email?: string;
	phone?: string;
	timeZone?: string;
	unsubscribed: boolean;
	attributes: Record<string, unknown>;
	/** Ids of the same person in other systems, e.g. `{ salesforce: '003...' }`. */
	externalIds: Record<string, string>;
	updatedAt: number;
}

/** A partial profile: given fields replace, `attributes` and `externalIds` merge key by key. */
export interface ProfileUpdate {
	userId: string;
	email?: string;
	phone?: string;
	timeZone?: string;
	unsubscribed?: boolean;
	attributes?: Record<string, unknown>;
	externalIds?: Record<string, string>;
}

export type EntryState = 'active' | 'exited' | 'completed';

/** One user's journey through one campaign, started by one trigger event. */
export interface CampaignEntry {
	entryId: string;
	campaignId: string;
	userId: string;
	/** When the store accepted the entry. */
	enteredAt: number;
	/** When the trigger event occurred; re-eligibility and exception checks count from here. */
	triggeredAt: number;
	triggerMessageId: string;
	state: EntryState;
	exitedAt?: number;
	exitReason?: string;
}

/** Who may enter a campaign again after having entered it. */
export type ReEntryRule =
	| { mode: 'everyTime' }
	| { mode: 'once' }
	/** Two entries of one user are at least `periodMs` apart (by trigger time). */
	| { mode: 'oncePerPeriod'; periodMs: number };

export interface IngestRequest {
	events: CampaignEvent[];
	/** Enter users into a campaign, atomically with recording the events. */
	entry?: {
		campaignId: string;
		reEntry: ReEntryRule;
		/**
		 * Indexes into `events` of the events that match the campaign's trigger, in the order to
		 * enter them; events recorded before (by another campaign, or a retry) are candidates too.
		 */
		candidates: number[];
	};
	now: number;
}

export interface IngestResult {
	/** Per event of the request: true when recorded now, false when its messageId was already there. */
	recorded: boolean[];
	/** Entries created, each with the index of the event that triggered it. */
	entries: Array<{ eventIndex: number; entry: CampaignEntry }>;
	/** Candidate events that did not enter because of the re-entry rule. */
	notReEligible: number[];
	/**
	 * Candidate events that already entered the user into this campaign (a retry, or the same
	 * messageId twice in the batch): each event enters a campaign at most once.
	 */
	alreadyEntered: number[];
}

export interface EventQuery {
	userId: string;
	/** Event names to look for; empty means any name. */
	names: string[];
	/** Exclusive lower bound on occurredAt. */
	after: number;
	/** Inclusive upper bound on occurredAt, when given. */
	until?: number;
	/** At most this many events, oldest first (default 100). */
	limit?: number;
}

export type SendState = 'reserved' | 'sent' | 'failed' | 'released';

/** One message to one user from one campaign step: reserved by the Frequency Cap, then sent, failed or released. */
export interface SendRecord {
	/** Unique per (campaign, entry, step): the same send is never reserved or sent twice. */
	idempotencyKey: string;
	campaignId: string;
	stepId: string;
	entryId?: string;
	userId: string;
	channel: string;
	tags: string[];
	state: SendState;
	/** When the slot was taken; caps count sends by this time. */
	reservedAt: number;
	/** A reservation still `reserved` at this time stops counting and may be taken again. */
	expiresAt?: number;
	sentAt?: number;
	countsTowardCap: boolean;
	variant?: string;
	providerMessageId?: string;
	/** Hash of the rendered content that was sent. */
	contentHash?: string;
	error?: string;
}

/**
 * One cap rule as the store counts it: the user's counted sends with `reservedAt >= since`
 * that match the scope. A new send is allowed while the count is below `limit`.
 * Counted: `countsTowardCap`, and `sent`, or `reserved` with `expiresAt > now`.
 */
export interface SendCountLimit {
	ruleId: string;
	since: number;
	limit: number;
	/** Only this campaign's sends; absent: every campaign. */
	campaignId?: string;
	/** Only sends carrying this tag. */
	tag?: string;
	/** Only this channel; absent: any channel. */
	channel?: string;
}

export interface SendReservationRequest {
	idempotencyKey: string;
	campaignId: string;
	stepId: string;
	entryId?: string;
	userId: string;
	channel: string;
	tags: string[];
	now: number;
	expiresAt: number;
	countsTowardCap: boolean;
	/** All checked atomically with the reservation; empty for a send that bypasses caps. */
	limits: SendCountLimit[];
	/** No counted send (on `channel` when given, else any) with `reservedAt > now - gapMs`. */
	minGap?: { ruleId: string; gapMs: number; channel?: string };
	/** Count and check only, write nothing (quiet hours): a passing check answers `available`. */
	checkOnly?: boolean;
}

export interface LimitUsage {
	ruleId: string;
	/** Counted sends in the rule's window before this reservation. */
	count: number;
	limit: number;
	/**
	 * When the rule is exceeded (count >= limit): the counted sends' `reservedAt`, ascending,
	 * so the caller can tell when enough of them leave a rolling window. Empty otherwise.
	 */
	countedAt: number[];
}

/**
 * A read-only count of one user's sends, as `reserveSends` counts them for a reservation at
 * `now`, for asking "would this send be allowed?" without taking a slot (a dry run).
 */
export interface SendCountRequest {
	userId: string;
	now: number;
	limits: SendCountLimit[];
	/** No counted send (on `channel` when given, else any) with `reservedAt > now - gapMs`. */
	minGap?: { ruleId: string; gapMs: number; channel?: string };
}

export interface SendCountResult {
	usage: LimitUsage[];
	/** The limits reached (and the min-gap rule), as `reserveSends` would refuse them; empty: allowed. */
	violated: string[];
	/** With a refused min gap: the `reservedAt` of the latest counted send it measured from. */
	lastCountedAt?: number;
}

/** A user's entries into one campaign whose trigger time lies in (triggeredAfter, triggeredBefore). */
export interface EntryQuery {
	campaignId: string;
	userId: string;
	/** Exclusive lower bound on `triggeredAt`; absent: no bound. */
	triggeredAfter?: number;
	/** Exclusive upper bound on `triggeredAt`; absent: no bound. */
	triggeredBefore?: number;
	/** At most this many, latest trigger first (default 100). */
	limit?: number;
}

export type SendReservationResult =
	| { outcome: 'reserved'; send: SendRecord; usage: LimitUsage[] }
	/** Nothing written. `violated` names the limits (and the min-gap rule) that refused. */
	| {
			outcome: 'capped';
			usage: LimitUsage[];
			violated: string[];
			/** With a refused min gap: the `reservedAt` of the latest counted send it measured from. */
			lastCountedAt?: number;
	  }
	/** A `checkOnly` request that every limit allows; nothing written. */
	| { outcome: 'available'; usage: LimitUsage[] }
	/** The key is already sent, or reserved and not expired: never reserve or send it twice. */
	| { outcome: 'duplicate'; send: SendRecord };

export type SendCompletion =
	| {
			state: 'sent';
			at: number;
			providerMessageId?: string;
			variant?: string;
			contentHash?: string;
	  }
	/** `variant` records e.g. `control` for a control-group user who is never sent anything. */
	| { state: 'failed' | 'released'; at: number; error?: string; variant?: string };

/**
 * One user's next step of one campaign, kept in the store: n8n resumes a waiting execution
 * once for all its items, so users who should resume at different times cannot share one.
 * A step writes each user's next step here and ends; a resume trigger claims the rows that
 * are due and starts executions with their items.
 */
export interface ScheduleStepRequest {
	campaignId: string;
	/** The resume point: a name a resume trigger watches. */
	stepId: string;
	entryId: string;
	userId: string;
	/** When the step is due. */
	dueAt: number;
	/** The item to carry to the resumed step: a JSON object. */
	payload: Record<string, unknown>;
}

export interface ScheduleStepsResult {
	/**
	 * Per request: true when scheduled now, false when a row of the same (entryId, stepId,
	 * dueAt) was already there (a re-run of the same execution, or a repeat in the batch).
	 */
	scheduled: boolean[];
}

export type ScheduledStepState = 'scheduled' | 'claimed' | 'done' | 'cancelled';

/** A row a claim took: it is the claimer's until `leaseUntil`, then claimable again. */
export interface ClaimedStep {
	/** The row's id: increasing in insertion order; decimal digits. */
	id: string;
	campaignId: string;
	stepId: string;
	entryId: string;
	userId: string;
	dueAt: number;
	payload: Record<string, unknown>;
	/** Claims of this row so far, this one included. */
	attempts: number;
	/** Proves this claim when completing or releasing; a later claim of the row gets a new one. */
	claimToken: string;
	leaseUntil: number;
	/** When the row was scheduled. */
	scheduledAt: number;
}

export interface ClaimStepsRequest {
	campaignId: string;
	stepId: string;
	now: number;
	/** At most this many rows (1 to 10,000): a claim holds a bounded page in memory. */
	limit: number;
	/** How long the claim is the claimer's; afterwards another claim may take the row again. */
	leaseMs: number;
}

/** A claim to complete or give back: the row and the token its claim returned. */
export interface StepClaim {
	id: string;
	claimToken: string;
}

/** Whose open steps to cancel: a user's, optionally narrowed to one campaign or one entry. */
export interface CancelStepsRequest {
	userId: string;
	campaignId?: string;
	entryId?: string;
}

/** A Frequency Cap refusal, kept for the Campaign Report: who was capped or deferred, and when. */
export interface CapDecisionRecord {
	campaignId: string;
	stepId: string;
	entryId?: string;
	userId: string;
	decision: 'capped' | 'deferred';
	/** The rules that refused, e.g. `1`, `minGap`, `quietHours`. */
	rules: string[];
	at: number;
}

/**
 * When a user of a campaign converted: one of `eventNames` occurred after the window's start
 * and at most `windowMs` later (and no later than the report's `now`). A conversion counts
 * once per campaign entry.
 */
export interface ConversionRule {
	eventNames: string[];
	/**
	 * A property (a key, or a dotted path) the conversion event must share with the entry's
	 * trigger event, e.g. `cart_id`: the same cart that was abandoned is the one bought. A trigger
	 * event without the property lets any conversion event count (as the Exception Check does).
	 */
	matchProperty?: string;
	windowMs: number;
	/**
	 * `send`: from the entry's first message sent, or, for a control-group user, from the
	 * moment the Send Message step held them out (their key's reservation time). `entry`: from
	 * the trigger event, for every user.
	 */
	windowFrom: 'send' | 'entry';
}

/** Which entries a report counts: one campaign's entries whose trigger occurred in [from, to). */
export interface CampaignReportQuery {
	campaignId: string;
	/** Inclusive lower bound on the entry's `triggeredAt`; absent: from the first entry. */
	from?: number;
	/** Exclusive upper bound on the entry's `triggeredAt`; absent: no bound. */
	to?: number;
	/** Absent: nothing converts (the report shows the funnel only). */
	conversion?: ConversionRule;
	/** Conversions are counted up to this instant. */
	now: number;
}

/**
 * One group of a campaign's entries, by the variant their sends recorded: a variant name,
 * `control`, or null for entries that never reached a send decision (exited or capped first).
 * Every number counts entries, except `messagesSent`.
 */
export interface VariantFunnelCounts {
	variant: string | null;
	entered: number;
	exited: number;
	/** Exited entries by the reason's code, the part before the first `:` (e.g. `exceptionEvent`). */
	exitedByReason: Record<string, number>;
	/** Entries the Frequency Cap refused at least once as capped / as deferred. */
	capped: number;
	deferred: number;
	/** Entries with at least one message sent. */
	sent: number;
	messagesSent: number;
	/** Entries with a failed message and none sent. */
	failed: number;
	/** Entries held out as the control group (and sent nothing). */
	control: number;
	/** Entries whose conversion is measured: `sent` ones, and `control` ones. */
	measured: number;
	/** Measured entries that converted inside their window. */
	converted: number;
}

/** What to read about one user: every campaign, or one. */
export interface UserRecordsQuery {
	userId: string;
	campaignId?: string;
	/** The report's conversion rule; absent: no conversions are looked up. */
	conversion?: ConversionRule;
	/** Conversions are counted up to this instant, as in the report. */
	now: number;
}

/** One `scheduled_steps` row of the user: the due time a step (Delay, Frequency Cap) set. */
export interface UserScheduledStep {
	campaignId: string;
	stepId: string;
	entryId: string;
	dueAt: number;
	state: 'scheduled' | 'claimed' | 'done' | 'cancelled';
	attempts: number;
	createdAt: number;
	updatedAt: number;
}

export interface UserSegmentMembership {
	segmentId: string;
	recordId: string;
	enteredAt: number;
}

/** An entry the report's conversion rule counts as converted, and the first event that did it. */
export interface EntryConversion {
	entryId: string;
	messageId: string;
}

/** Everything the store holds about one user, oldest first in every list. */
export interface UserRecords {
	userId: string;
	campaignId?: string;
	profile?: UserProfile;
	events: CampaignEvent[];
	entries: CampaignEntry[];
	sends: SendRecord[];
	capDecisions: CapDecisionRecord[];
	scheduledSteps: UserScheduledStep[];
	segmentMemberships: UserSegmentMembership[];
	conversions: EntryConversion[];
}

/** The tables an erasure touches, in the order it reports them. */
export const ERASED_TABLES = [
	'events',
	'profiles',
	'campaign_entries',
	'sends',
	'cap_decisions',
	'scheduled_steps',
	'segment_members',
	'segment_staging',
	'segment_changes',
] as const;
export type ErasedTable = (typeof ERASED_TABLES)[number];

/**
 * What an erasure did per table: rows `deleted`, and rows `anonymized`, i.e. kept for the
 * campaign's aggregate counts under an unlinkable tombstone id with their personal content
 * removed (see `eraseUser`).
 */
export interface ErasureResult {
	userId: string;
	/** False when the store held nothing about the user (e.g. a second call): nothing changed. */
	found: boolean;
	deleted: Record<ErasedTable, number>;
	anonymized: Record<'events' | 'campaign_entries' | 'sends' | 'cap_decisions', number>;
	erasedAt: number;
}

export type StoreBackend = 'sqlite' | 'postgres';

export interface CampaignStore {
	readonly backend: StoreBackend;

	/**
	 * Records events (a repeated messageId once) and, when asked, enters the candidate users
	 * into the campaign, applying the re-entry rule, in one transaction: either all of it is
	 * durable when the promise resolves, or none of it. Recording is idempotent per messageId,
	 * entering per (campaign, messageId): several campaigns can start from the same event.
	 */
	ingest(request: IngestRequest): Promise<IngestResult>;

	/** Events of one user, oldest first: "did user U do event E after T". */
	findEvents(query: EventQuery): Promise<CampaignEvent[]>;

	upsertProfiles(updates: ProfileUpdate[], now: number): Promise<void>;

	/** Profiles by user id; unknown ids are absent from the map. */
	getProfiles(userIds: string[]): Promise<Map<string, UserProfile>>;

	getEntry(entryId: string): Promise<CampaignEntry | undefined>;

	/** A user's entries into one campaign, latest trigger first (e.g. which entry blocks re-entry). */
	findEntries(query: EntryQuery): Promise<CampaignEntry[]>;

	/**
	 * Marks an active entry exited (exception event, campaign ended, unsubscribed). Returns the
	 * entry as stored afterwards; an entry that was not active is returned unchanged.
	 */
	exitEntry(entryId: string, reason: string, at: number): Promise<CampaignEntry | undefined>;

	/**
	 * Frequency cap decisions: for each request in order, in ONE transaction that serialises
	 * against every other reservation of the same user (several n8n workers at once): count,
	 * check, and reserve the slot or refuse. A key that exists as `failed`, `released` or an
	 * expired reservation is reserved again (its row is reused); `sent` or a live reservation is a duplicate.
	 */
	reserveSends(requests: SendReservationRequest[]): Promise<SendReservationResult[]>;

	/**
	 * Counts a user's sends per limit and checks the min gap exactly as `reserveSends` would,
	 * reading only: nothing is written or locked, so the answer may be stale by the time a
	 * real reservation runs.
	 */
	countSends(request: SendCountRequest): Promise<SendCountResult>;

	/** Commits or gives back a reservation; returns the record afterwards (undefined: unknown key). */
	completeSend(idempotencyKey: string, completion: SendCompletion): Promise<SendRecord | undefined>;

	getSend(idempotencyKey: string): Promise<SendRecord | undefined>;

	/**
	 * Schedules users' next steps in ONE transaction. Idempotent per (entryId, stepId, dueAt):
	 * a re-run of the same execution schedules nothing twice, while the same entry may be
	 * scheduled again at the same step with another due time (a user deferred again loops
	 * back to the same resume point while their previous claim is still open). Done and
	 * cancelled rows older than a week are pruned here, a bounded chunk per call.
	 */
	scheduleSteps(requests: ScheduleStepRequest[], now: number): Promise<ScheduleStepsResult>;

	/**
	 * Atomically claims at most `limit` rows of a resume point that are due (`dueAt <= now`):
	 * scheduled, or claimed with a lease that has run out. Oldest due first (then insertion
	 * order). Each claimed row gets `leaseUntil = now + leaseMs`, a fresh claim token and one
	 * more attempt. Concurrent claimers (several n8n processes) never get the same row while
	 * its lease runs. The cost follows the due rows, not the table.
	 */
	claimDueSteps(request: ClaimStepsRequest): Promise<ClaimedStep[]>;

	/**
	 * Marks claimed rows done. A row whose token no longer matches (its lease ran out and
	 * another claim took it, or it was cancelled) is left alone. Returns how many were completed.
	 */
	completeSteps(claims: StepClaim[], now: number): Promise<number>;

	/**
	 * Gives claims back (e.g. the execution could not be started): the rows are scheduled
	 * again at their due time, so the next claim takes them at once. Returns how many.
	 */
	releaseSteps(claims: StepClaim[], now: number): Promise<number>;

	/**
	 * Extends claims whose execution is still running to `leaseUntil`, so that no other claim
	 * takes their rows meanwhile. A claim whose token no longer matches is left alone. Returns
	 * how many were extended.
	 */
	renewStepLeases(claims: StepClaim[], leaseUntil: number, now: number): Promise<number>;

	/** Cancels a user's scheduled and claimed rows (the user exited); returns how many. */
	cancelScheduledSteps(request: CancelStepsRequest, now: number): Promise<number>;

	/**
	 * The earliest instant at which a claim of this resume point could return a row: the
	 * first scheduled `dueAt` or the first lease to run out; undefined when there is none.
	 * A resume trigger sleeps until then.
	 */
	nextScheduledDueAt(query: { campaignId: string; stepId: string }): Promise<number | undefined>;

	/**
	 * Records Frequency Cap refusals (capped or deferred), for the Campaign Report. Append
	 * only: a user refused twice is two rows, and the report counts entries.
	 */
	recordCapDecisions(decisions: CapDecisionRecord[]): Promise<void>;

	/**
	 * A campaign's funnel per variant (and control) with conversions, counted in the store with
	 * set-based aggregate queries: nothing per entry comes back to the caller. Conversions are
	 * computed from the recorded events when asked, so a rule declared today counts events
	 * recorded before it.
	 */
	countCampaignReport(query: CampaignReportQuery): Promise<VariantFunnelCounts[]>;

	/**
	 * Everything the store holds about one user (optionally one campaign's part), read in one
	 * transaction, with the entries the report's conversion rule counts as converted: the
	 * material of the user's timeline and of an export.
	 */
	readUserRecords(query: UserRecordsQuery): Promise<UserRecords>;

	/**
	 * Erases one user in ONE transaction: profile, scheduled steps and segment rows deleted;
	 * entries, sends, cap decisions and the events a conversion could count kept under a random
	 * tombstone user id, with new ids and no personal content (properties pseudonymized with a
	 * key thrown away, provider ids, content hashes and errors removed), so that the campaign
	 * report's counts do not change. A second call finds nothing (`found: false`).
	 */
	eraseUser(userId: string, now: number): Promise<ErasureResult>;

	/** Idempotent; closes connections and file handles. */
	close(): Promise<void>;
}

/** Schema version both backends create and check when they open. */
export const SCHEMA_VERSION = 8;
