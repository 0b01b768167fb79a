/**
 * The engine of the "Salesforce Campaign Activity" node: after messages were sent, log each one
 * as a Task on the person (Contact or Lead), and optionally set a field on the person's record
 * and their CampaignMember status.
 *
 * Writes go through sObject Collections, 200 records per call, `allOrNone: false`, so one bad
 * record fails only its own item. A retried write never creates a second Task: either the Task
 * is upserted by an External ID field holding the message's idempotency key, or the key is
 * written into the Description and looked for before creating (see {@link ActivityWriteOptions}).
 */
import { InvalidInputError } from '../../errors';
import type { SalesforceRequester, SyncLogger } from '../api/types';
import { silentLogger } from '../api/types';
import { soqlLiteral } from '../soql';
import {
	prepareActivity,
	readDescriptionKeys,
	resolveActivityOptions,
	type FieldValue,
	type PreparedActivity,
} from './activity-input';
import {
	chunk,
	CountingRequester,
	errorsFromFailure,
	queryAllPages,
	sendCollection,
	type CollectionRecordResult,
	type RecordError,
} from './collections';
import { recordIdKey } from './salesforce-ids';

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

/** A later item with the key of an earlier one: written once, reported as the leader's duplicate. */
interface RepeatedKey {
	activity: PreparedActivity;
	leader: PreparedActivity;
}

/**
 * Writes one Task per item (see the module comment) and returns one result per item, in the
 * order of `items`. Throws {@link InvalidInputError} for wrong options before any call; a wrong
 * item, or one Salesforce rejects, fails alone. Requests that fail as a whole fail the items
 * they carried; the call itself does not throw for them.
 */
export async function writeActivities(
	items: ActivityItem[],
	options: ActivityWriteOptions,
): Promise<ActivityResult[]> {
	const settings = resolveActivityOptions(options);
	if (!Array.isArray(items)) {
		throw new InvalidInputError('items', 'must be a list of activities.');
	}
	const logger = options.logger ?? silentLogger;
	const api = new CountingRequester(options.api);
	const callsBefore = apiCallCount(options.api);

	const results: ActivityResult[] = items.map(initialResult);
	const activities: PreparedActivity[] = [];
	items.forEach((item, index) => {
		const prepared = prepareActivity(item, index, settings);
		if (prepared.ok) activities.push(prepared.activity);
		else results[index].errors = prepared.errors;
	});

	const { leaders, repeats } = splitRepeatedKeys(activities, results);
	if (settings.idempotency.mode === 'externalIdField') {
		await upsertTasks(api, leaders, settings.idempotency.field, results, logger);
	} else {
		await createTasksOnce(api, leaders, results, logger);
	}
	settleRepeats(repeats, results);

	const written = activities.filter((activity) => results[activity.index].outcome !== 'failed');
	await updatePersonRecords(api, written, results, logger);
	await updateCampaignMembers(api, written, results, logger);
	markSkippedFollowUps(items, results);

	logSummary(logger, results, apiCallCount(options.api, callsBefore) ?? api.calls);
	return results;
}

function initialResult(item: unknown): ActivityResult {
	const fields = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
	return {
		idempotencyKey: typeof fields.idempotencyKey === 'string' ? fields.idempotencyKey : '',
		whoId: typeof fields.whoId === 'string' ? fields.whoId : '',
		outcome: 'failed',
	};
}

/** The first item with a key is written; later ones for the same person repeat it. */
function splitRepeatedKeys(
	activities: PreparedActivity[],
	results: ActivityResult[],
): { leaders: PreparedActivity[]; repeats: RepeatedKey[] } {
	const leaderByKey = new Map<string, PreparedActivity>();
	const leaders: PreparedActivity[] = [];
	const repeats: RepeatedKey[] = [];
	for (const activity of activities) {
		const leader = leaderByKey.get(activity.idempotencyKey);
		if (leader === undefined) {
			leaderByKey.set(activity.idempotencyKey, activity);
			leaders.push(activity);
		} else if (leader.whoKey !== activity.whoKey) {
			// One message has one recipient: the same key for another person is an input mistake.
			results[activity.index].errors = [
				{
					code: 'INVALID_INPUT',
					message: `idempotencyKey: item ${leader.index} uses the same key for another person (${leader.whoId}); each message needs its own key.`,
					fields: ['idempotencyKey'],
				},
			];
		} else {
			repeats.push({ activity, leader });
		}
	}
	return { leaders, repeats };
}

function settleRepeats(repeats: RepeatedKey[], results: ActivityResult[]): void {
	for (const { activity, leader } of repeats) {
		const leaderResult = results[leader.index];
		const result = results[activity.index];
		if (leaderResult.outcome === 'failed') {
			result.errors = leaderResult.errors;
		} else {
			result.outcome = 'duplicate';
			result.taskId = leaderResult.taskId;
		}
	}
}

function taskRecord(activity: PreparedActivity): Record<string, unknown> {
	return { attributes: { type: 'Task' }, ...activity.task };
}

function applyTaskOutcome(result: ActivityResult, outcome: CollectionRecordResult): void {
	if (outcome.success && outcome.id !== undefined) {
		// `created: false` means the upsert found the Task a previous run wrote.
		result.outcome = outcome.created === false ? 'duplicate' : 'created';
		result.taskId = outcome.id;
	} else {
		result.errors = outcome.errors;
	}
}

/** Writes Tasks 200 per call; a failed call fails its items with `failure` and the rest go on. */
async function writeTaskBatches(
	api: SalesforceRequester,
	activities: PreparedActivity[],
	results: ActivityResult[],
	logger: SyncLogger,
	write: {
		method: 'POST' | 'PATCH';
		path: string;
		retrySafe: boolean;
		action: string;
		failure: string;
	},
): Promise<void> {
	for (const batch of chunk(activities)) {
		let outcomes: CollectionRecordResult[];
		try {
			outcomes = await sendCollection(api, {
				method: write.method,
				path: write.path,
				records: batch.map(taskRecord),
				retrySafe: write.retrySafe,
			});
		} catch (error) {
			const errors = errorsFromFailure(error, write.failure);
			logger.warn(`Salesforce Campaign Activity: a Task ${write.action} request failed`, {
				items: batch.length,
				error: errors[0].message,
			});
			for (const activity of batch) results[activity.index].errors = errors;
			continue;
		}
		batch.forEach((activity, position) =>
			applyTaskOutcome(results[activity.index], outcomes[position]),
		);
	}
}

/** `externalIdField` mode: upserts are safe to repeat, so the API layer may retry them. */
async function upsertTasks(
	api: SalesforceRequester,
	activities: PreparedActivity[],
	field: string,
	results: ActivityResult[],
	logger: SyncLogger,
): Promise<void> {
	await writeTaskBatches(api, activities, results, logger, {
		method: 'PATCH',
		path: `/composite/sobjects/Task/${field}`,
		retrySafe: true,
		action: 'upsert',
		failure: 'Task upsert request failed (running the same items again is safe)',
	});
}

/**
 * `descriptionKey` mode: report Tasks a previous run already wrote, create the rest. The create
 * is sent once (`retrySafe: false`): after a lost response only the next run's check can tell
 * whether Salesforce created the Tasks.
 */
async function createTasksOnce(
	api: SalesforceRequester,
	activities: PreparedActivity[],
	results: ActivityResult[],
	logger: SyncLogger,
): Promise<void> {
	const pending = await findLoggedTasks(api, activities, results, logger);
	await writeTaskBatches(api, pending, results, logger, {
		method: 'POST',
		path: '/composite/sobjects',
		retrySafe: false,
		action: 'create',
		failure:
			'Task create request failed (if Salesforce received it, the next run finds these Tasks and reports them as duplicates)',
	});
}

/**
 * Marks activities whose key is in a Task of the same person created in the last 30 days as
 * duplicates, and returns the others (in item order). Description is not filterable in SOQL,
 * so the keys are matched here.
 */
async function findLoggedTasks(
	api: SalesforceRequester,
	activities: PreparedActivity[],
	results: ActivityResult[],
	logger: SyncLogger,
): Promise<PreparedActivity[]> {
	const byPerson = groupBy(activities, (activity) => activity.whoKey);
	const pending: PreparedActivity[] = [];
	for (const people of chunk([...byPerson.values()])) {
		const ids = people.map((group) => soqlLiteral(group[0].whoId, 'whoId'));
		const soql = `SELECT Id, WhoId, Description FROM Task WHERE WhoId IN (${ids.join(', ')}) AND CreatedDate = LAST_N_DAYS:30`;
		const batch = people.flat();
		let tasks: Array<Record<string, unknown>>;
		try {
			tasks = await queryAllPages(api, soql);
		} catch (error) {
			// Creating without the check could log a message twice: fail these items instead.
			const errors = errorsFromFailure(
				error,
				'Looking for Tasks already logged failed, so none was created (run the items again)',
			);
			logger.warn('Salesforce Campaign Activity: the duplicate check failed', {
				items: batch.length,
				error: errors[0].message,
			});
			for (const activity of batch) results[activity.index].errors = errors;
			continue;
		}
		const loggedTaskIds = new Map<string, string>();
		for (const task of tasks) {
			if (typeof task.Id !== 'string' || typeof task.WhoId !== 'string') continue;
			for (const key of readDescriptionKeys(task.Description)) {
				const loggedKey = personKey(recordIdKey(task.WhoId), key);
				if (!loggedTaskIds.has(loggedKey)) loggedTaskIds.set(loggedKey, task.Id);
			}
		}
		for (const activity of batch) {
			const taskId = loggedTaskIds.get(personKey(activity.whoKey, activity.idempotencyKey));
			if (taskId === undefined) {
				pending.push(activity);
			} else {
				results[activity.index].outcome = 'duplicate';
				results[activity.index].taskId = taskId;
			}
		}
	}
	return pending.sort((a, b) => a.index - b.index);
}

function personKey(whoKey: string, key: string): string {
	return `${whoKey}\n${key}`;
}

/** One merged update per person (later items win per field), 200 per call, per object type. */
async function updatePersonRecords(
	api: SalesforceRequester,
	written: PreparedActivity[],
	results: ActivityResult[],
	logger: SyncLogger,
): Promise<void> {
	const updates = new Map<string, PersonUpdate>();
	for (const activity of written) {
		const recordUpdate = activity.recordUpdate;
		if (recordUpdate === undefined) continue;
		const updateKey = `${recordUpdate.object}\n${activity.whoKey}`;
		const update = updates.get(updateKey) ?? {
			object: recordUpdate.object,
			id: activity.whoId,
			fields: {},
			activities: [],
		};
		mergeFields(update.fields, recordUpdate.fields);
		update.activities.push(activity);
		updates.set(updateKey, update);
	}
	const byObject = groupBy([...updates.values()], (update) => update.object);
	for (const [object, objectUpdates] of byObject) {
		await patchRecords(
			api,
			objectUpdates.map((update) => ({
				record: { attributes: { type: object }, Id: update.id, ...update.fields },
				activities: update.activities,
			})),
			(activity, outcome, errors) => {
				const result = results[activity.index];
				result.recordUpdate = outcome;
				if (errors.length > 0) {
					addErrors(result, errors, `Record update of ${object} ${activity.whoId}`);
				}
			},
			logger,
			`${object} record update`,
		);
	}
}

interface PersonUpdate {
	object: string;
	id: string;
	fields: Record<string, FieldValue>;
	activities: PreparedActivity[];
}

/** Copies `source` into `target`, replacing a field given with other letter case. */
function mergeFields(target: Record<string, FieldValue>, source: Record<string, FieldValue>): void {
	for (const [name, value] of Object.entries(source)) {
		for (const existing of Object.keys(target)) {
			if (existing.toLowerCase() === name.toLowerCase()) delete target[existing];
		}
		target[name] = value;
	}
}

/**
 * Sets CampaignMember.Status: per Campaign, one query per 200 people finds the member ids, then
 * the updates are PATCHed 200 at a time. People not in the Campaign are `notAMember`.
 */
async function updateCampaignMembers(
	api: SalesforceRequester,
	written: PreparedActivity[],
	results: ActivityResult[],
	logger: SyncLogger,
): Promise<void> {
	const requested = written.filter((activity) => activity.campaignMember !== undefined);
	const byCampaign = groupBy(requested, (activity) => activity.campaignMember?.campaignKey ?? '');
	const memberUpdates = new Map<string, MemberUpdate>();
	for (const campaignActivities of byCampaign.values()) {
		const campaignId = campaignActivities[0].campaignMember?.campaignId ?? '';
		const byPerson = groupBy(campaignActivities, (activity) => activity.whoKey);
		for (const people of chunk([...byPerson.values()])) {
			const ids = people.map((group) => soqlLiteral(group[0].whoId, 'whoId')).join(', ');
			const soql = `SELECT Id, ContactId, LeadId FROM CampaignMember WHERE CampaignId = ${soqlLiteral(campaignId, 'campaignMemberStatus.campaignId')} AND (ContactId IN (${ids}) OR LeadId IN (${ids}))`;
			let members: Array<Record<string, unknown>>;
			try {
				members = await queryAllPages(api, soql);
			} catch (error) {
				const errors = errorsFromFailure(
					error,
					`CampaignMember status in Campaign ${campaignId}: the member lookup failed`,
				);
				logger.warn('Salesforce Campaign Activity: a CampaignMember lookup failed', {
					campaignId,
					error: errors[0].message,
				});
				for (const activity of people.flat()) {
					results[activity.index].campaignMemberStatus = 'failed';
					addErrors(results[activity.index], errors);
				}
				continue;
			}
			const memberIdByPerson = new Map<string, string>();
			for (const member of members) {
				if (typeof member.Id !== 'string') continue;
				for (const personId of [member.ContactId, member.LeadId]) {
					if (typeof personId === 'string') memberIdByPerson.set(recordIdKey(personId), member.Id);
				}
			}
			for (const activity of people.flat()) {
				const memberId = memberIdByPerson.get(activity.whoKey);
				if (memberId === undefined) {
					results[activity.index].campaignMemberStatus = 'notAMember';
					continue;
				}
				// Several messages to one member: the last item's status is the one that stays.
				const update = memberUpdates.get(memberId) ?? { memberId, status: '', activities: [] };
				update.status = activity.campaignMember?.status ?? update.status;
				update.activities.push(activity);
				memberUpdates.set(memberId, update);
			}
		}
	}
	await patchRecords(
		api,
		[...memberUpdates.values()].map((update) => ({
			record: {
				attributes: { type: 'CampaignMember' },
				Id: update.memberId,
				Status: update.status,
			},
			activities: update.activities,
		})),
		(activity, outcome, errors) => {
			const result = results[activity.index];
			result.campaignMemberStatus = outcome;
			if (errors.length > 0) {
				addErrors(
					result,
					errors,
					`CampaignMember status in Campaign ${activity.campaignMember?.campaignId ?? ''}`,
				);
			}
		},
		logger,
		'CampaignMember status update',
	);
}

interface MemberUpdate {
	memberId: string;
	status: string;
	activities: PreparedActivity[];
}

/**
 * Updates records by id, 200 per call. Setting the same values again is harmless, so the API
 * layer may retry these. `report` is called for every activity behind every record.
 */
async function patchRecords(
	api: SalesforceRequester,
	updates: Array<{ record: Record<string, unknown>; activities: PreparedActivity[] }>,
	report: (
		activity: PreparedActivity,
		outcome: 'updated' | 'failed',
		errors: RecordError[],
	) => void,
	logger: SyncLogger,
	what: string,
): Promise<void> {
	for (const batch of chunk(updates)) {
		let outcomes: CollectionRecordResult[];
		try {
			outcomes = await sendCollection(api, {
				method: 'PATCH',
				path: '/composite/sobjects',
				records: batch.map((update) => update.record),
				retrySafe: true,
			});
		} catch (error) {
			const errors = errorsFromFailure(error, 'the request failed');
			logger.warn(`Salesforce Campaign Activity: a ${what} request failed`, {
				records: batch.length,
				error: errors[0].message,
			});
			for (const update of batch) {
				for (const activity of update.activities) report(activity, 'failed', errors);
			}
			continue;
		}
		batch.forEach((update, position) => {
			const outcome = outcomes[position];
			for (const activity of update.activities) {
				report(
					activity,
					outcome.success ? 'updated' : 'failed',
					outcome.success ? [] : outcome.errors,
				);
			}
		});
	}
}

function addErrors(result: ActivityResult, errors: RecordError[], context?: string): void {
	const added = errors.map((error) =>
		context === undefined ? error : { ...error, message: `${context}: ${error.message}` },
	);
	result.errors = [...(result.errors ?? []), ...added];
}

/** Record and CampaignMember updates asked for on items whose Task failed were not attempted. */
function markSkippedFollowUps(items: unknown[], results: ActivityResult[]): void {
	results.forEach((result, index) => {
		if (result.outcome !== 'failed') return;
		const item = items[index];
		if (typeof item !== 'object' || item === null) return;
		const fields = item as Record<string, unknown>;
		if (fields.recordUpdate !== undefined && fields.recordUpdate !== null) {
			result.recordUpdate = 'skipped';
		}
		if (fields.campaignMemberStatus !== undefined && fields.campaignMemberStatus !== null) {
			result.campaignMemberStatus = 'skipped';
		}
	});
}

function logSummary(logger: SyncLogger, results: ActivityResult[], apiCalls: number): void {
	const count = (predicate: (result: ActivityResult) => boolean): number =>
		results.filter(predicate).length;
	const created = count((result) => result.outcome === 'created');
	const duplicates = count((result) => result.outcome === 'duplicate');
	const failed = count((result) => result.outcome === 'failed');
	logger.info(
		`Salesforce Campaign Activity: ${created} Tasks created, ${duplicates} duplicates, ${failed} failed (${apiCalls} API calls)`,
		{
			created,
			duplicates,
			failed,
			recordUpdates: {
				updated: count((result) => result.recordUpdate === 'updated'),
				failed: count((result) => result.recordUpdate === 'failed'),
			},
			campaignMemberStatus: {
				updated: count((result) => result.campaignMemberStatus === 'updated'),
				notAMember: count((result) => result.campaignMemberStatus === 'notAMember'),
				failed: count((result) => result.campaignMemberStatus === 'failed'),
			},
			apiCalls,
		},
	);
}

/**
 * The API layer's own request count (it includes its retries and session refreshes), or the
 * calls since `before`; undefined when the requester keeps no count.
 */
function apiCallCount(api: SalesforceRequester, before?: number): number | undefined {
	const count = (api as { callCount?: unknown }).callCount;
	if (typeof count !== 'number') return undefined;
	return before === undefined ? count : count - before;
}

function groupBy<T>(values: readonly T[], keyOf: (value: T) => string): Map<string, T[]> {
	const groups = new Map<string, T[]>();
	for (const value of values) {
		const key = keyOf(value);
		const group = groups.get(key);
		if (group) group.push(value);
		else groups.set(key, [value]);
	}
	return groups;
}
