/**
 * Checks of the Salesforce Campaign Activity input. Options that are wrong throw before any
 * call (they would fail every item); an item that is wrong fails alone, with an error naming
 * its field, and is never sent.
 */
import { InvalidInputError } from '../../errors';
import { assertSoqlIdentifier } from '../soql';
import type { RecordError } from './collections';
import { isRecordId, personObjectFromId, recordIdKey } from './salesforce-ids';
import type { ActivityWriteOptions } from './activity-types';

/** A value Salesforce accepts in a JSON record body. */
export type FieldValue = string | number | boolean | null;

export type IdempotencyMode = ActivityWriteOptions['idempotency'];

export interface ResolvedActivityOptions {
	idempotency: IdempotencyMode;
	personObject?: string;
}

/** An item that passed the checks, in the shape the writer sends. */
export interface PreparedActivity {
	/** Position in the caller's list. */
	index: number;
	whoId: string;
	/** `whoId` for comparisons (see {@link recordIdKey}). */
	whoKey: string;
	idempotencyKey: string;
	/** Task fields to write (without `attributes`). */
	task: Record<string, FieldValue>;
	recordUpdate?: { object: string; fields: Record<string, FieldValue> };
	campaignMember?: { campaignId: string; campaignKey: string; status: string };
}

export type PreparedOutcome =
	| { ok: true; activity: PreparedActivity }
	| { ok: false; errors: RecordError[] };

const SUBJECT_MAX = 255;
const DESCRIPTION_MAX = 32_000;
/** External ID text fields hold at most 255 characters. */
const KEY_MAX = 255;
const DEFAULT_STATUS = 'Completed';
const DEFAULT_PRIORITY = 'Normal';
/** Task fields the item sets through its own options; taskFields must not set them again. */
const TASK_FIELDS_SET_BY_OPTIONS = [
	'Id',
	'WhoId',
	'WhatId',
	'Subject',
	'Description',
	'ActivityDate',
	'Status',
	'Priority',
];

const DESCRIPTION_KEY_LINE = /^\[campaign-message-key: (.*)\]$/;

/** The Description line that carries `key` in `descriptionKey` mode. */
export function descriptionKeyLine(key: string): string {
	return `[campaign-message-key: ${key}]`;
}

/** The keys written into a Task Description by {@link descriptionKeyLine} (any line, so edits below it do not hide it). */
export function readDescriptionKeys(description: unknown): string[] {
	if (typeof description !== 'string') return [];
	const keys: string[] = [];
	for (const line of description.split(/\r\n|\r|\n/)) {
		const match = DESCRIPTION_KEY_LINE.exec(line.trim());
		if (match) keys.push(match[1]);
	}
	return keys;
}

/** Checks the options; throws {@link InvalidInputError} naming the option. */
export function resolveActivityOptions(options: ActivityWriteOptions): ResolvedActivityOptions {
	if (!isPlainObject(options)) {
		throw new InvalidInputError('options', 'must be an object with api and idempotency.');
	}
	const api: unknown = options.api;
	if (
		typeof api !== 'object' ||
		api === null ||
		typeof (api as { request?: unknown }).request !== 'function'
	) {
		throw new InvalidInputError('api', 'must be a Salesforce API client (SalesforceApi).');
	}
	const idempotency: unknown = options.idempotency;
	let resolved: IdempotencyMode;
	if (isPlainObject(idempotency) && idempotency.mode === 'externalIdField') {
		const field = idempotency.field;
		if (typeof field !== 'string' || field === '') {
			throw new InvalidInputError(
				'idempotency.field',
				'enter the API name of a Text field on Task marked External ID and Unique, e.g. Campaign_Message_Key__c.',
			);
		}
		assertSoqlIdentifier(field, 'idempotency.field');
		if (TASK_FIELDS_SET_BY_OPTIONS.some((name) => sameName(name, field))) {
			throw new InvalidInputError(
				'idempotency.field',
				`${field} is a standard Task field the activity sets itself; use a custom External ID field such as Campaign_Message_Key__c.`,
			);
		}
		resolved = { mode: 'externalIdField', field };
	} else if (isPlainObject(idempotency) && idempotency.mode === 'descriptionKey') {
		resolved = { mode: 'descriptionKey' };
	} else {
		throw new InvalidInputError(
			'idempotency',
			"must be { mode: 'externalIdField', field: '<Task External ID field>' } or { mode: 'descriptionKey' }.",
		);
	}
	let personObject: string | undefined;
	if (options.personObject !== undefined && options.personObject !== '') {
		personObject = assertSoqlIdentifier(options.personObject, 'personObject');
	}
	return { idempotency: resolved, personObject };
}

/** Checks one item and builds what is sent for it; collects every problem, not only the first. */
export function prepareActivity(
	item: unknown,
	index: number,
	options: ResolvedActivityOptions,
): PreparedOutcome {
	if (!isPlainObject(item)) {
		return {
			ok: false,
			errors: [invalid('item', 'must be an object with whoId, subject and idempotencyKey.')],
		};
	}
	const errors: RecordError[] = [];
	const mode = options.idempotency;

	const whoId = item.whoId;
	if (!isRecordId(whoId)) {
		errors.push(
			invalid(
				'whoId',
				`${describe(whoId)} is not a Contact or Lead id; use its 15- or 18-character id.`,
			),
		);
	}
	const subject = item.subject;
	if (typeof subject !== 'string' || subject.trim() === '') {
		errors.push(invalid('subject', 'is required; enter the Task subject, e.g. "Email: Welcome".'));
	} else if (subject.length > SUBJECT_MAX) {
		errors.push(
			invalid(
				'subject',
				`has ${subject.length} characters; Task.Subject holds at most ${SUBJECT_MAX}.`,
			),
		);
	}
	const key = item.idempotencyKey;
	if (typeof key !== 'string' || key.trim() === '') {
		errors.push(
			invalid(
				'idempotencyKey',
				"is required; pass the send's idempotency key (unique per message).",
			),
		);
	} else if (key.length > KEY_MAX) {
		errors.push(
			invalid('idempotencyKey', `has ${key.length} characters; at most ${KEY_MAX} are allowed.`),
		);
	} else if (/[\r\n]/.test(key)) {
		errors.push(invalid('idempotencyKey', 'must be a single line; remove the line breaks.'));
	}

	const description = optionalString(item, 'description', errors);
	if (description !== undefined && typeof key === 'string') {
		const written =
			mode.mode === 'descriptionKey' ? withDescriptionKey(description, key) : description;
		if (written.length > DESCRIPTION_MAX) {
			errors.push(
				invalid(
					'description',
					`has ${written.length} characters${mode.mode === 'descriptionKey' ? ' with the message key line' : ''}; Task.Description holds at most ${DESCRIPTION_MAX}.`,
				),
			);
		}
	}
	const activityDate = optionalString(item, 'activityDate', errors);
	if (activityDate !== undefined && !isCalendarDate(activityDate)) {
		errors.push(
			invalid(
				'activityDate',
				`${describe(activityDate)} is not a date; use YYYY-MM-DD, e.g. 2026-11-23.`,
			),
		);
	}
	const status = optionalString(item, 'status', errors, { nonEmpty: true });
	const priority = optionalString(item, 'priority', errors, { nonEmpty: true });
	const whatId = item.whatId;
	if (whatId !== undefined && whatId !== null && whatId !== '' && !isRecordId(whatId)) {
		errors.push(
			invalid('whatId', `${describe(whatId)} is not a record id; use a 15- or 18-character id.`),
		);
	}

	const reservedTaskFields =
		mode.mode === 'externalIdField'
			? [...TASK_FIELDS_SET_BY_OPTIONS, mode.field]
			: TASK_FIELDS_SET_BY_OPTIONS;
	const extraTaskFields = readFieldMap(item.taskFields, 'taskFields', reservedTaskFields, errors);
	const recordUpdate = readRecordUpdate(item, whoId, options, errors);
	const campaignMember = readCampaignMemberStatus(item.campaignMemberStatus, errors);

	if (errors.length > 0) return { ok: false, errors };

	const idempotencyKey = key as string;
	const task: Record<string, FieldValue> = {
		WhoId: whoId as string,
		Subject: subject as string,
		Status: status ?? DEFAULT_STATUS,
		Priority: priority ?? DEFAULT_PRIORITY,
	};
	if (mode.mode === 'descriptionKey') {
		task.Description = withDescriptionKey(description, idempotencyKey);
	} else {
		task[mode.field] = idempotencyKey;
		if (description !== undefined) task.Description = description;
	}
	if (activityDate !== undefined) task.ActivityDate = activityDate;
	if (typeof whatId === 'string' && whatId !== '') task.WhatId = whatId;
	Object.assign(task, extraTaskFields);

	return {
		ok: true,
		activity: {
			index,
			whoId: whoId as string,
			whoKey: recordIdKey(whoId as string),
			idempotencyKey,
			task,
			recordUpdate,
			campaignMember,
		},
	};
}

function withDescriptionKey(description: string | undefined, key: string): string {
	const line = descriptionKeyLine(key);
	return description === undefined || description === '' ? line : `${description}\n\n${line}`;
}

function readRecordUpdate(
	item: Record<string, unknown>,
	whoId: unknown,
	options: ResolvedActivityOptions,
	errors: RecordError[],
): PreparedActivity['recordUpdate'] {
	if (item.recordUpdate === undefined || item.recordUpdate === null) return undefined;
	const fields = readFieldMap(item.recordUpdate, 'recordUpdate', ['Id'], errors);
	if (fields === undefined) return undefined;
	if (Object.keys(fields).length === 0) {
		errors.push(
			invalid(
				'recordUpdate',
				'has no fields; leave it out or add e.g. { Last_Message_Date__c: "2026-11-23" }.',
			),
		);
		return undefined;
	}
	if (!isRecordId(whoId)) return undefined;
	const object = options.personObject ?? personObjectFromId(whoId);
	if (object === undefined) {
		errors.push(
			invalid(
				'recordUpdate',
				`cannot tell the object of ${whoId} (not a Contact 003… or Lead 00Q… id); set the personObject option.`,
			),
		);
		return undefined;
	}
	return { object, fields };
}

function readCampaignMemberStatus(
	value: unknown,
	errors: RecordError[],
): PreparedActivity['campaignMember'] {
	if (value === undefined || value === null) return undefined;
	if (!isPlainObject(value)) {
		errors.push(invalid('campaignMemberStatus', 'must be { campaignId, status }.'));
		return undefined;
	}
	const { campaignId, status } = value;
	let ok = true;
	if (!isRecordId(campaignId)) {
		errors.push(
			invalid(
				'campaignMemberStatus.campaignId',
				`${describe(campaignId)} is not a Campaign id; use its 15- or 18-character id (701…).`,
			),
		);
		ok = false;
	}
	if (typeof status !== 'string' || status.trim() === '') {
		errors.push(
			invalid(
				'campaignMemberStatus.status',
				'is required; enter a member status of the Campaign, e.g. Responded.',
			),
		);
		ok = false;
	}
	if (!ok) return undefined;
	return {
		campaignId: campaignId as string,
		campaignKey: recordIdKey(campaignId as string),
		status: status as string,
	};
}

/** Reads `{ ApiName: value }`, checking names and values; undefined when absent or wrong. */
function readFieldMap(
	value: unknown,
	field: string,
	reserved: readonly string[],
	errors: RecordError[],
): Record<string, FieldValue> | undefined {
	if (value === undefined || value === null) return undefined;
	if (!isPlainObject(value)) {
		errors.push(invalid(field, 'must be an object of field API names to values.'));
		return undefined;
	}
	const fields: Record<string, FieldValue> = {};
	let ok = true;
	for (const [name, fieldValue] of Object.entries(value)) {
		const path = `${field}.${name}`;
		try {
			assertSoqlIdentifier(name, path);
		} catch (error) {
			if (!(error instanceof InvalidInputError)) throw error;
			errors.push({ code: 'INVALID_INPUT', message: error.message, fields: [path] });
			ok = false;
			continue;
		}
		if (reserved.some((reservedName) => sameName(reservedName, name))) {
			errors.push(invalid(path, `${name} is set by the activity itself; remove it from ${field}.`));
			ok = false;
			continue;
		}
		if (Object.keys(fields).some((seen) => sameName(seen, name))) {
			errors.push(invalid(path, `${name} is given twice (API names ignore case); keep one.`));
			ok = false;
			continue;
		}
		if (!isFieldValue(fieldValue)) {
			errors.push(
				invalid(
					path,
					`is ${Array.isArray(fieldValue) ? 'an array' : typeof fieldValue}; use a string, finite number, boolean or null (dates as YYYY-MM-DD text).`,
				),
			);
			ok = false;
			continue;
		}
		fields[name] = fieldValue;
	}
	return ok ? fields : undefined;
}

function optionalString(
	item: Record<string, unknown>,
	field: string,
	errors: RecordError[],
	options: { nonEmpty?: boolean } = {},
): string | undefined {
	const value = item[field];
	if (value === undefined || value === null) return undefined;
	if (typeof value !== 'string') {
		errors.push(invalid(field, `is ${typeof value}; pass text or leave it out.`));
		return undefined;
	}
	if (options.nonEmpty && value.trim() === '') {
		errors.push(invalid(field, 'is empty; enter a value or leave it out for the default.'));
		return undefined;
	}
	return value;
}

function isFieldValue(value: unknown): value is FieldValue {
	return (
		value === null ||
		typeof value === 'string' ||
		typeof value === 'boolean' ||
		(typeof value === 'number' && Number.isFinite(value))
	);
}

function isCalendarDate(value: string): boolean {
	const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
	if (!match) return false;
	const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
	const date = new Date(Date.UTC(year, month - 1, day));
	return (
		date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
	);
}

function invalid(field: string, message: string): RecordError {
	return { code: 'INVALID_INPUT', message: `${field}: ${message}`, fields: [field] };
}

function describe(value: unknown): string {
	if (typeof value === 'string') return JSON.stringify(value);
	return value === undefined ? 'undefined' : String(value);
}

function sameName(a: string, b: string): boolean {
	return a.toLowerCase() === b.toLowerCase();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
