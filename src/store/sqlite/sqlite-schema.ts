/**
 * SQLite schema, one migration per schema version. Times are INTEGER epoch ms,
 * JSON columns are TEXT. Keep in step with `postgres/postgres-schema.ts` and docs/architecture.md.
 */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; statements: string[] }> = [
	{
		version: 1,
		statements: [
			`CREATE TABLE events (
				id INTEGER PRIMARY KEY,
				message_id TEXT NOT NULL UNIQUE,
				user_id TEXT NOT NULL,
				name TEXT NOT NULL,
				occurred_at INTEGER NOT NULL,
				received_at INTEGER NOT NULL,
				time_zone TEXT,
				properties TEXT NOT NULL
			)`,
			`CREATE INDEX events_user_name_time ON events (user_id, name, occurred_at)`,
			`CREATE TABLE profiles (
				user_id TEXT PRIMARY KEY,
				email TEXT,
				phone TEXT,
				time_zone TEXT,
				unsubscribed INTEGER NOT NULL DEFAULT 0,
				attributes TEXT NOT NULL DEFAULT '{}',
				external_ids TEXT NOT NULL DEFAULT '{}',
				updated_at INTEGER NOT NULL
			)`,
			`CREATE INDEX profiles_email ON profiles (email)`,
			`CREATE TABLE campaign_entries (
				entry_id TEXT PRIMARY KEY,
				campaign_id TEXT NOT NULL,
				user_id TEXT NOT NULL,
				entered_at INTEGER NOT NULL,
				triggered_at INTEGER NOT NULL,
				trigger_message_id TEXT NOT NULL,
				state TEXT NOT NULL CHECK (state IN ('active', 'exited', 'completed')),
				exited_at INTEGER,
				exit_reason TEXT
			)`,
			`CREATE INDEX campaign_entries_user ON campaign_entries (campaign_id, user_id, triggered_at)`,
			`CREATE TABLE sends (
				id INTEGER PRIMARY KEY,
				idempotency_key TEXT NOT NULL UNIQUE,
				campaign_id TEXT NOT NULL,
				step_id TEXT NOT NULL,
				entry_id TEXT,
				user_id TEXT NOT NULL,
				channel TEXT NOT NULL,
				tags TEXT NOT NULL DEFAULT '[]',
				state TEXT NOT NULL CHECK (state IN ('reserved', 'sent', 'failed', 'released')),
				reserved_at INTEGER NOT NULL,
				expires_at INTEGER,
				sent_at INTEGER,
				counts_toward_cap INTEGER NOT NULL DEFAULT 1,
				variant TEXT,
				provider_message_id TEXT,
				error TEXT
			)`,
			`CREATE INDEX sends_user_channel_time ON sends (user_id, channel, reserved_at)`,
			`CREATE INDEX sends_user_time ON sends (user_id, reserved_at)`,
		],
	},
	{
		// Version 2 adds PostgreSQL's reserve_sends function; SQLite decides in the store's code.
		version: 2,
		statements: [],
	},
	{
		// One event enters a user into a campaign once, however often it arrives.
		version: 3,
		statements: [
			`CREATE UNIQUE INDEX campaign_entries_trigger ON campaign_entries (campaign_id, trigger_message_id)`,
		],
	},
	{
		// What was sent: a hash of the rendered content, for audits and A/B analysis.
		version: 4,
		statements: ['ALTER TABLE sends ADD COLUMN content_hash TEXT'],
	},
	{
		// Segments synced from Salesforce: membership, staging of running syncs, and changes.
		version: 5,
		statements: [
			`CREATE INDEX profiles_email_lower ON profiles (lower(email))`,
			`CREATE TABLE segment_state (
				segment_id TEXT PRIMARY KEY,
				definition_hash TEXT NOT NULL,
				mark INTEGER,
				version INTEGER NOT NULL,
				member_count INTEGER NOT NULL,
				last_sync_at INTEGER,
				last_full_sync_at INTEGER,
				committed_at INTEGER NOT NULL
			)`,
			`CREATE TABLE segment_members (
				segment_id TEXT NOT NULL,
				record_id TEXT NOT NULL,
				user_id TEXT NOT NULL,
				modstamp INTEGER NOT NULL,
				entered_at INTEGER NOT NULL,
				PRIMARY KEY (segment_id, record_id)
			) WITHOUT ROWID`,
			`CREATE TABLE segment_syncs (
				segment_id TEXT NOT NULL,
				sync_id TEXT NOT NULL,
				started_at INTEGER NOT NULL,
				staged_at INTEGER NOT NULL,
				PRIMARY KEY (segment_id, sync_id)
			)`,
			`CREATE INDEX segment_syncs_staged_at ON segment_syncs (staged_at)`,
			`CREATE TABLE segment_staging (
				segment_id TEXT NOT NULL,
				sync_id TEXT NOT NULL,
				record_id TEXT NOT NULL,
				user_id TEXT,
				modstamp INTEGER,
				matched INTEGER NOT NULL DEFAULT 0,
				touched INTEGER NOT NULL DEFAULT 0,
				deleted INTEGER NOT NULL DEFAULT 0,
				staged_at INTEGER NOT NULL,
				PRIMARY KEY (segment_id, sync_id, record_id)
			) WITHOUT ROWID`,
			`CREATE TABLE segment_changes (
				seq INTEGER PRIMARY KEY AUTOINCREMENT,
				segment_id TEXT NOT NULL,
				sync_id TEXT NOT NULL,
				record_id TEXT NOT NULL,
				user_id TEXT NOT NULL,
				change TEXT NOT NULL CHECK (change IN ('entered', 'exited')),
				reason TEXT,
				at INTEGER NOT NULL
			)`,
			`CREATE INDEX segment_changes_segment ON segment_changes (segment_id, seq)`,
			`CREATE INDEX segment_changes_sync ON segment_changes (segment_id, sync_id, seq)`,
			`CREATE INDEX segment_changes_at ON segment_changes (at)`,
		],
	},
	{
		// Each user's next step of a campaign, claimed by a resume trigger when due.
		version: 6,
		statements: [
			`CREATE TABLE scheduled_steps (
				id INTEGER PRIMARY KEY,
				campaign_id TEXT NOT NULL,
				step_id TEXT NOT NULL,
				entry_id TEXT NOT NULL,
				user_id TEXT NOT NULL,
				due_at INTEGER NOT NULL,
				payload TEXT NOT NULL,
				state TEXT NOT NULL CHECK (state IN ('scheduled', 'claimed', 'done', 'cancelled')),
				attempts INTEGER NOT NULL DEFAULT 0,
				claim_token TEXT,
				lease_until INTEGER,
				created_at INTEGER NOT NULL,
				updated_at INTEGER NOT NULL
			)`,
			`CREATE UNIQUE INDEX scheduled_steps_once ON scheduled_steps (entry_id, step_id, due_at)`,
			// Every index ends with the rowid: due order, then insertion order, straight from the index.
			`CREATE INDEX scheduled_steps_due ON scheduled_steps (campaign_id, step_id, due_at)
				WHERE state = 'scheduled'`,
			`CREATE INDEX scheduled_steps_lease ON scheduled_steps (campaign_id, step_id, lease_until)
				WHERE state = 'claimed'`,
			`CREATE INDEX scheduled_steps_user ON scheduled_steps (user_id, campaign_id)
				WHERE state IN ('scheduled', 'claimed')`,
			`CREATE INDEX scheduled_steps_finished ON scheduled_steps (updated_at)
				WHERE state IN ('done', 'cancelled')`,
		],
	},
	{
		// The Campaign Report: Frequency Cap refusals, and a campaign's sends by entry.
		version: 7,
		statements: [
			`CREATE TABLE cap_decisions (
				id INTEGER PRIMARY KEY,
				campaign_id TEXT NOT NULL,
				step_id TEXT NOT NULL,
				entry_id TEXT,
				user_id TEXT NOT NULL,
				decision TEXT NOT NULL CHECK (decision IN ('capped', 'deferred')),
				rules TEXT NOT NULL DEFAULT '[]',
				decided_at INTEGER NOT NULL
			)`,
			`CREATE INDEX cap_decisions_entry ON cap_decisions (campaign_id, entry_id)`,
			`CREATE INDEX sends_campaign_entry ON sends (campaign_id, entry_id)`,
		],
	},
	{
		// One index less to write per reservation: every read of a user's sends goes through
		// sends_user_time; the channel is checked on the row.
		version: 8,
		statements: ['DROP INDEX sends_user_channel_time'],
	},
];
