/**
 * The one interface every step of a campaign talks to. Two backends implement it:
 * embedded SQLite (`sqlite/`) and PostgreSQL (`postgres/`); `test/store/` runs one
 * conformance suite against both. Times are epoch milliseconds (UTC) everywhere.
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
		/** Indexes into `events` of the events that match the campaign's trigger, in the order to enter them. */
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

export type StoreBackend = 'sqlite' | 'postgres';

export interface CampaignStore {
	readonly backend: StoreBackend;

	/**
	 * Records events (a repeated messageId once) and, when asked, enters the candidate users
	 * into the campaign, applying the re-entry rule, in one transaction: either all of it is
	 * durable when the promise resolves, or none of it.
	 */
	ingest(request: IngestRequest): Promise<IngestResult>;

	/** Events of one user, oldest first: "did user U do event E after T". */
	findEvents(query: EventQuery): Promise<CampaignEvent[]>;

	upsertProfiles(updates: ProfileUpdate[], now: number): Promise<void>;

	/** Profiles by user id; unknown ids are absent from the map. */
	getProfiles(userIds: string[]): Promise<Map<string, UserProfile>>;

	getEntry(entryId: string): Promise<CampaignEntry | undefined>;

	/** Idempotent; closes connections and file handles. */
	close(): Promise<void>;
}

/** Schema version both backends create and check when they open. */
export const SCHEMA_VERSION = 1;
