/**
 * What the activity writer takes and gives back: its own file, so the input checks and the
 * writer both depend on it and not on each other.
 */
import type { SalesforceRequester, SyncLogger } from '../api/types';

export interface ActivityItem {
	/** Contact or Lead id (15/18 chars) the Task is about (Task.WhoId). */
	whoId: string;
	/** Task.Subject, at most 255 characters. */
	subject: string;
	description?: string;
	/** Task.ActivityDate, YYYY-MM-DD. */
	activityDate?: string;
	/** Default `Completed`. */
	status?: string;
	/** Default `Normal`. */
	priority?: string;
	whatId?: string;
	/** Extra Task fields, API name → value (names validated with assertSoqlIdentifier). */
	taskFields?: Record<string, unknown>;
	/** Unique per message (e.g. the send's idempotency key); a retried write never creates a second Task. */
	idempotencyKey: string;
	/** Optionally also set a field on the person's record, e.g. { Last_Message_Date__c: '2026-11-23' }. */
	recordUpdate?: Record<string, unknown>;
	/** Optionally set the person's CampaignMember status in this Campaign. */
	campaignMemberStatus?: { campaignId: string; status: string };
}

export interface ActivityWriteOptions {
	api: SalesforceRequester;
	/**
	 * How a retried write is recognised:
	 * - `{ mode: 'externalIdField', field: 'Campaign_Message_Key__c' }` (recommended: a Text
	 *   field on Task marked External ID + Unique): Tasks are upserted by that field via
	 *   `PATCH /composite/sobjects/Task/{field}` (retried safely), so a repeat updates the same
	 *   Task and is reported as a duplicate.
	 * - `{ mode: 'descriptionKey' }` (no org set-up): the key is written as the last line of the
	 *   Task's Description (`[campaign-message-key: <key>]`); before creating, the Tasks of the
	 *   same WhoIds created in the last 30 days are read and items whose key is found are
	 *   reported as duplicates with the existing Task id. The create is not retried
	 *   automatically, because a lost response could have created it: the next run's check
	 *   catches that.
	 */
	idempotency: { mode: 'externalIdField'; field: string } | { mode: 'descriptionKey' };
	/** sObject type of the person records for recordUpdate: default by id prefix (003 → Contact, 00Q → Lead); else required. */
	personObject?: string;
	logger?: SyncLogger;
}

export interface ActivityResult {
	idempotencyKey: string;
	whoId: string;
	outcome: 'created' | 'duplicate' | 'failed';
	taskId?: string;
	/**
	 * What went wrong, e.g. `[{ code: 'INVALID_FIELD', message: '...', fields: [...] }]`: the
	 * Task's errors when `outcome` is `failed` (`INVALID_INPUT` for input that was never sent);
	 * otherwise the errors of a failed record update or CampaignMember update, their messages
	 * starting with `Record update` / `CampaignMember status`.
	 */
	errors?: Array<{ code: string; message: string; fields?: string[] }>;
	/** Absent when not asked for; `skipped` when the Task failed. */
	recordUpdate?: 'updated' | 'failed' | 'skipped';
	/** Absent when not asked for; `skipped` when the Task failed. */
	campaignMemberStatus?: 'updated' | 'notAMember' | 'failed' | 'skipped';
}
