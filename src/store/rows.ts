import type {
	CampaignEntry,
	CampaignEvent,
	EntryState,
	SendRecord,
	SendState,
	UserProfile,
} from './campaign-store';

/**
 * Row shapes shared by both backends (same column names); JSON columns arrive as text
 * from SQLite and as parsed objects from PostgreSQL, BIGINT as a string from `pg`.
 */
type Json = string | Record<string, unknown> | unknown[] | null;
type Integer = number | string | bigint | null;

const toMs = (value: Integer): number => Number(value);
const toJson = <T>(value: Json, empty: T): T =>
	value === null ? empty : typeof value === 'string' ? (JSON.parse(value) as T) : (value as T);
const optional = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
const optionalMs = (value: Integer): number | undefined =>
	value === null ? undefined : toMs(value);

export interface EventRow {
	message_id: string;
	user_id: string;
	name: string;
	occurred_at: Integer;
	received_at: Integer;
	time_zone: string | null;
	properties: Json;
}

export function eventFromRow(row: EventRow): CampaignEvent {
	return {
		messageId: row.message_id,
		userId: row.user_id,
		name: row.name,
		occurredAt: toMs(row.occurred_at),
		receivedAt: toMs(row.received_at),
		properties: toJson(row.properties, {}),
		timeZone: optional(row.time_zone),
	};
}

export interface ProfileRow {
	user_id: string;
	email: string | null;
	phone: string | null;
	time_zone: string | null;
	unsubscribed: number | boolean;
	attributes: Json;
	external_ids: Json;
	updated_at: Integer;
}

export function profileFromRow(row: ProfileRow): UserProfile {
	return {
		userId: row.user_id,
		email: optional(row.email),
		phone: optional(row.phone),
		timeZone: optional(row.time_zone),
		unsubscribed: Boolean(row.unsubscribed),
		attributes: toJson(row.attributes, {}),
		externalIds: toJson(row.external_ids, {}),
		updatedAt: toMs(row.updated_at),
	};
}

export interface EntryRow {
	entry_id: string;
	campaign_id: string;
	user_id: string;
	entered_at: Integer;
	triggered_at: Integer;
	trigger_message_id: string;
	state: string;
	exited_at: Integer;
	exit_reason: string | null;
}

export function entryFromRow(row: EntryRow): CampaignEntry {
	return {
		entryId: row.entry_id,
		campaignId: row.campaign_id,
		userId: row.user_id,
		enteredAt: toMs(row.entered_at),
		triggeredAt: toMs(row.triggered_at),
		triggerMessageId: row.trigger_message_id,
		state: row.state as EntryState,
		exitedAt: optionalMs(row.exited_at),
		exitReason: optional(row.exit_reason),
	};
}

/** A `sends` row; from PostgreSQL it may also arrive as `to_jsonb(row)`, with numbers for BIGINT. */
export interface SendRow {
	idempotency_key: string;
	campaign_id: string;
	step_id: string;
	entry_id: string | null;
	user_id: string;
	channel: string;
	tags: Json;
	state: string;
	reserved_at: Integer;
	expires_at: Integer;
	sent_at: Integer;
	counts_toward_cap: number | boolean;
	variant: string | null;
	provider_message_id: string | null;
	content_hash?: string | null;
	error: string | null;
}

export function sendFromRow(row: SendRow): SendRecord {
	return {
		idempotencyKey: row.idempotency_key,
		campaignId: row.campaign_id,
		stepId: row.step_id,
		entryId: optional(row.entry_id),
		userId: row.user_id,
		channel: row.channel,
		tags: toJson<string[]>(row.tags, []),
		state: row.state as SendState,
		reservedAt: toMs(row.reserved_at),
		expiresAt: optionalMs(row.expires_at),
		sentAt: optionalMs(row.sent_at),
		countsTowardCap: Boolean(row.counts_toward_cap),
		variant: optional(row.variant),
		providerMessageId: optional(row.provider_message_id),
		contentHash: row.content_hash ? row.content_hash : undefined,
		error: optional(row.error),
	};
}
