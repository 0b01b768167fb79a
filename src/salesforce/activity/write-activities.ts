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
import type { ActivityItem, ActivityResult, ActivityWriteOptions } from './activity-types';
import { soqlLiteral } from '../soql';
import {
	prepareActivity,
	readDescriptionKeys,
	resolveActivityOptions,
	type FieldValue,
	type PreparedActivity,
	type PreparedOutcome,
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

export type { ActivityItem, ActivityResult, ActivityWriteOptions } from './activity-types';

/** A later item with the key of an earlier one: written once, reported as the leader's duplicate. */
interface RepeatedKey {
	activity: PreparedActivity;
	leader: PreparedActivity;
}

/** What became of an item's Task. */
type TaskOutcome =
	| { outcome: 'created' | 'duplicate'; taskId: string }
	| { outcome: 'failed'; errors: RecordError[] };

/** What became of a follow-up (record update, CampaignMember status) of an item. */
interface FollowUp<Status extends string> {
	status: Status;
	/** Already prefixed with what they are about. */
	errors: RecordError[];
}

/**
 * Writes one Task per item (see the module comment) and returns one result per item, in the
 * order of `items`. Throws {@link InvalidInputError} for wrong options before any call; a wrong
 * item, or one Salesforce rejects, fails alone. Requests that fail as a whole fail the items
 * they carried; the call itself does not throw for them.
 *
 * Each step returns the outcomes of the items it handled, by item index; the results are
 * built from them once, at the end.
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

	const prepared = items.map((item, index) => prepareActivity(item, index, settings));
	const activities = prepared.flatMap((outcome) => (outcome.ok ? [outcome.activity] : []));

	const { leaders, repeats, conflicts } = splitRepeatedKeys(activities);
	const leaderOutcomes =
		settings.idempotency.mode === 'externalIdField'
			? await upsertTasks(api, leaders, settings.idempotency.field, logger)
			: await createTasksOnce(api, leaders, logger);
	const taskOutcomes = new Map<number, TaskOutcome>([
		...conflicts,
		...leaderOutcomes,
		...repeatOutcomes(repeats, leaderOutcomes),
	]);

	const written = activities.filter(
		(activity) => taskOutcomes.get(activity.index)?.outcome !== 'failed',
	);
	const recordUpdates = await updatePersonRecords(api, written, logger);
	const memberUpdates = await updateCampaignMembers(api, written, logger);

	const results = items.map((item, index) =>
		mergeResult(item, {
			prepared: prepared[index],
			task: taskOutcomes.get(index),
			recordUpdate: recordUpdates.get(index),
			campaignMember: memberUpdates.get(index),
		}),
	);
	logSummary(logger, results, apiCallCount(options.api, callsBefore) ?? api.calls);
	return results;
}

/**
 * One item's result from what each step reported for it. Errors come in step order: the
 * Task's (or the input's), then the record update's, then the CampaignMember status's.
 * Follow-ups asked for on an item whose Task failed were not attempted: `skipped`.
 */
function mergeResult(
	item: unknown,
	parts: {
		prepared: PreparedOutcome;
		task: TaskOutcome | undefined;
		recordUpdate: FollowUp<'updated' | 'failed'> | undefined;
		campaignMember: FollowUp<'updated' | 'notAMember' | 'failed'> | undefined;
	},
): ActivityResult {
	const fields = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
	const result: ActivityResult = {
		idempotencyKey: typeof fields.idempotencyKey === 'string' ? fields.idempotencyKey : '',
		whoId: typeof fields.whoId === 'string' ? fields.whoId : '',
		outcome: 'failed',
	};
	const errors: RecordError[] = [];
	const { prepared, task } = parts;
	if (!prepared.ok) errors.push(...prepared.errors);
	else if (task?.outcome === 'failed') errors.push(...task.errors);
	else if (task !== undefined) {
		result.outcome = task.outcome;
		result.taskId = task.taskId;
	}
	if (result.outcome === 'failed') {
		if (fields.recordUpdate !== undefined && fields.recordUpdate !== null) {
			result.recordUpdate = 'skipped';
		}
		if (fields.campaignMemberStatus !== undefined && fields.campaignMemberStatus !== null) {
			result.campaignMemberStatus = 'skipped';
		}
	} else {
		if (parts.recordUpdate) {
			result.recordUpdate = parts.recordUpdate.status;
			errors.push(...parts.recordUpdate.errors);
		}
		if (parts.campaignMember) {
			result.campaignMemberStatus = parts.campaignMember.status;
			errors.push(...parts.campaignMember.errors);
		}
	}
	if (errors.length > 0) result.errors = errors;
	return result;
}

/**
 * The first item with a key is written; later ones for the same person repeat it. The same key
 * for another person fails (`conflicts`).
 */
function splitRepeatedKeys(activities: PreparedActivity[]): {
	leaders: PreparedActivity[];
	repeats: RepeatedKey[];
	conflicts: Map<number, TaskOutcome>;
} {
	const leaderByKey = new Map<string, PreparedActivity>();
	const leaders: PreparedActivity[] = [];
	const repeats: RepeatedKey[] = [];
	const conflicts = new Map<number, TaskOutcome>();
	for (const activity of activities) {
		const leader = leaderByKey.get(activity.idempotencyKey);
		if (leader === undefined) {
			leaderByKey.set(activity.idempotencyKey, activity);
			leaders.push(activity);
		} else if (leader.whoKey !== activity.whoKey) {
			// One message has one recipient: the same key for another person is an input mistake.
			conflicts.set(activity.index, {
				outcome: 'failed',
				errors: [
					{
						code: 'INVALID_INPUT',
						message: `idempotencyKey: item ${leader.index} uses the same key for another person (${leader.whoId}); each message needs its own key.`,
						fields: ['idempotencyKey'],
					},
				],
			});
		} else {
			repeats.push({ activity, leader });
		}
	}
	return { leaders, repeats, conflicts };
}

/** A repeat shares its leader's fate: the leader's errors, or a duplicate of its Task. */
function repeatOutcomes(
	repeats: RepeatedKey[],
	leaderOutcomes: Map<number, TaskOutcome>,
): Array<[number, TaskOutcome]> {
	return repeats.map(({ activity, leader }) => {
		const outcome = leaderOutcomes.get(leader.index);
		if (outcome === undefined || outcome.outcome === 'failed') {
			return [activity.index, { outcome: 'failed', errors: outcome?.errors ?? [] }];
		}
		return [activity.index, { outcome: 'duplicate', taskId: outcome.taskId }];
	});
}

function taskRecord(activity: PreparedActivity): Record<string, unknown> {
	return { attributes: { type: 'Task' }, ...activity.task };
}

function taskOutcome(outcome: CollectionRecordResult): TaskOutcome {
	if (outcome.success && outcome.id !== undefined) {
		// `created: false` means the upsert found the Task a previous run wrote.
		return { outcome: outcome.created === false ? 'duplicate' : 'created', taskId: outcome.id };
	}
	return { outcome: 'failed', errors: outcome.errors };
}

/** Writes Tasks 200 per call; a failed call fails its items with `failure` and the rest go on. */
async function writeTaskBatches(
	api: SalesforceRequester,
	activities: PreparedActivity[],
	logger: SyncLogger,
	write: {
		method: 'POST' | 'PATCH';
		path: string;
		retrySafe: boolean;
		action: string;
		failure: string;
	},
): Promise<Map<number, TaskOutcome>> {
	const outcomes = new Map<number, TaskOutcome>();
	for (const batch of chunk(activities)) {
		let answers: CollectionRecordResult[];
		try {
			answers = await sendCollection(api, {
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
			for (const activity of batch) outcomes.set(activity.index, { outcome: 'failed', errors });
			continue;
		}
		batch.forEach((activity, position) =>
			outcomes.set(activity.index, taskOutcome(answers[position])),
		);
	}
	return outcomes;
}

/** `externalIdField` mode: upserts are safe to repeat, so the API layer may retry them. */
async function upsertTasks(
	api: SalesforceRequester,
	activities: PreparedActivity[],
	field: string,
	logger: SyncLogger,
): Promise<Map<number, TaskOutcome>> {
	return await writeTaskBatches(api, activities, logger, {
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
	logger: SyncLogger,
): Promise<Map<number, TaskOutcome>> {
	const { found, pending } = await findLoggedTasks(api, activities, logger);
	const created = await writeTaskBatches(api, pending, logger, {
		method: 'POST',
		path: '/composite/sobjects',
		retrySafe: false,
		action: 'create',
		failure:
			'Task create request failed (if Salesforce received it, the next run finds these Tasks and reports them as duplicates)',
	});
	return new Map([...found, ...created]);
}

/**
 * The activities whose key is in a Task of the same person created in the last 30 days
 * (duplicates) or whose check failed (`found`), and the others (`pending`, in item order).
 * Description is not filterable in SOQL, so the keys are matched here.
 */
async function findLoggedTasks(
	api: SalesforceRequester,
	activities: PreparedActivity[],
	logger: SyncLogger,
): Promise<{ found: Map<number, TaskOutcome>; pending: PreparedActivity[] }> {
	const byPerson = groupBy(activities, (activity) => activity.whoKey);
	const found = new Map<number, TaskOutcome>();
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
			for (const activity of batch) found.set(activity.index, { outcome: 'failed', errors });
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
			if (taskId === undefined) pending.push(activity);
			else found.set(activity.index, { outcome: 'duplicate', taskId });
		}
	}
	return { found, pending: pending.sort((a, b) => a.index - b.index) };
}

function personKey(whoKey: string, key: string): string {
	return `${whoKey}\n${key}`;
}

/** One merged update per person (later items win per field), 200 per call, per object type. */
async function updatePersonRecords(
	api: SalesforceRequester,
	written: PreparedActivity[],
	logger: SyncLogger,
): Promise<Map<number, FollowUp<'updated' | 'failed'>>> {
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
	const outcomes = new Map<number, FollowUp<'updated' | 'failed'>>();
	const byObject = groupBy([...updates.values()], (update) => update.object);
	for (const [object, objectUpdates] of byObject) {
		const patched = await patchRecords(
			api,
			objectUpdates.map((update) => ({
				record: { attributes: { type: object }, Id: update.id, ...update.fields },
				activities: update.activities,
			})),
			logger,
			`${object} record update`,
		);
		for (const { activity, status, errors } of patched) {
			outcomes.set(activity.index, {
				status,
				errors: withContext(errors, `Record update of ${object} ${activity.whoId}`),
			});
		}
	}
	return outcomes;
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
	logger: SyncLogger,
): Promise<Map<number, FollowUp<'updated' | 'notAMember' | 'failed'>>> {
	const outcomes = new Map<number, FollowUp<'updated' | 'notAMember' | 'failed'>>();
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
					outcomes.set(activity.index, { status: 'failed', errors });
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
					outcomes.set(activity.index, { status: 'notAMember', errors: [] });
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
	const patched = await patchRecords(
		api,
		[...memberUpdates.values()].map((update) => ({
			record: {
				attributes: { type: 'CampaignMember' },
				Id: update.memberId,
				Status: update.status,
			},
			activities: update.activities,
		})),
		logger,
		'CampaignMember status update',
	);
	for (const { activity, status, errors } of patched) {
		outcomes.set(activity.index, {
			status,
			errors: withContext(
				errors,
				`CampaignMember status in Campaign ${activity.campaignMember?.campaignId ?? ''}`,
			),
		});
	}
	return outcomes;
}

interface MemberUpdate {
	memberId: string;
	status: string;
	activities: PreparedActivity[];
}

/**
 * Updates records by id, 200 per call. Setting the same values again is harmless, so the API
 * layer may retry these. Returns the outcome for every activity behind every record.
 */
async function patchRecords(
	api: SalesforceRequester,
	updates: Array<{ record: Record<string, unknown>; activities: PreparedActivity[] }>,
	logger: SyncLogger,
	what: string,
): Promise<
	Array<{ activity: PreparedActivity; status: 'updated' | 'failed'; errors: RecordError[] }>
> {
	const outcomes: Array<{
		activity: PreparedActivity;
		status: 'updated' | 'failed';
		errors: RecordError[];
	}> = [];
	for (const batch of chunk(updates)) {
		let answers: CollectionRecordResult[];
		try {
			answers = await sendCollection(api, {
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
				for (const activity of update.activities) {
					outcomes.push({ activity, status: 'failed', errors });
				}
			}
			continue;
		}
		batch.forEach((update, position) => {
			const answer = answers[position];
			for (const activity of update.activities) {
				outcomes.push({
					activity,
					status: answer.success ? 'updated' : 'failed',
					errors: answer.success ? [] : answer.errors,
				});
			}
		});
	}
	return outcomes;
}

function withContext(errors: RecordError[], context: string): RecordError[] {
	return errors.map((error) => ({ ...error, message: `${context}: ${error.message}` }));
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
