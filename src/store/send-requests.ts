import { InvalidInputError } from '../errors';
import type {
	EntryQuery,
	SendCompletion,
	SendCountRequest,
	SendRecord,
	SendReservationRequest,
} from './campaign-store';

/** A cap rule with its bound as both backends compare it: a whole millisecond in BIGINT range. */
export interface PreparedLimit {
	ruleId: string;
	/** Counted sends with `reservedAt >= since`. */
	since: number;
	limit: number;
	campaignId?: string;
	tag?: string;
	channel?: string;
}

/** A checked reservation request, the same for both backends, so that they decide alike. */
export interface PreparedReservation {
	request: SendReservationRequest;
	limits: PreparedLimit[];
	/** A counted send (on `channel` when given) with `reservedAt > after` refuses the request. */
	minGap?: { ruleId: string; after: number; channel?: string };
}

const SEND_STATES = ['sent', 'failed', 'released'] as const;

/** Whole milliseconds within the safe-integer range: `ceil` for a `>=` bound, `floor` for `>`. */
const bound = (ms: number, round: (x: number) => number): number =>
	Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, round(ms)));

/** A field's name, built only when it is wrong: checking a batch builds no strings. */
type FieldName = string | (() => string);
const nameOf = (field: FieldName): string => (typeof field === 'string' ? field : field());

function text(value: unknown, field: FieldName): string {
	if (typeof value !== 'string' || value === '') {
		throw new InvalidInputError(
			nameOf(field),
			`must be a non-empty string, not ${JSON.stringify(value)}.`,
		);
	}
	return value;
}

function optionalText(value: unknown, field: FieldName): string | undefined {
	return value === undefined || value === null ? undefined : text(value, field);
}

/** A time the store keeps: epoch milliseconds as a whole number. */
export function checkTime(value: unknown, field: FieldName): number {
	if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
		throw new InvalidInputError(
			nameOf(field),
			`must be a whole number of milliseconds since the epoch, not ${String(value)}.`,
		);
	}
	return value;
}

function number(value: unknown, field: FieldName, { min = -Infinity, whole = false } = {}): number {
	if (
		typeof value !== 'number' ||
		Number.isNaN(value) ||
		value < min ||
		(whole && !Number.isSafeInteger(value))
	) {
		const what = whole ? 'a whole number' : 'a number';
		const atLeast = min === -Infinity ? '' : ` of at least ${min}`;
		throw new InvalidInputError(nameOf(field), `must be ${what}${atLeast}, not ${String(value)}.`);
	}
	return value;
}

/** Checks every request before anything is written, and fixes the bounds both backends query. */
export function prepareReservations(requests: SendReservationRequest[]): PreparedReservation[] {
	if (!Array.isArray(requests)) {
		throw new InvalidInputError('requests', 'must be an array of send reservation requests.');
	}
	return requests.map((request, i) => {
		// Checked without field names first, so that a batch builds no names and no closures;
		// a request that fails is checked again with them, for an error that names the field.
		try {
			return prepareReservation(request);
		} catch (error) {
			if (!(error instanceof InvalidInputError)) throw error;
			return prepareReservation(request, (field) => `requests[${i}].${field}`);
		}
	});
}

/** `at` names a field for an error; without it, errors carry no field name. */
function prepareReservation(
	request: SendReservationRequest,
	at?: (field: string) => string,
): PreparedReservation {
	const name = (field: string): string => (at ? at(field) : '');
	text(request.idempotencyKey, at ? at('idempotencyKey') : '');
	text(request.campaignId, at ? at('campaignId') : '');
	text(request.stepId, at ? at('stepId') : '');
	text(request.userId, at ? at('userId') : '');
	text(request.channel, at ? at('channel') : '');
	optionalText(request.entryId, at ? at('entryId') : '');
	if (!Array.isArray(request.tags)) throw new InvalidInputError(name('tags'), 'must be an array.');
	for (let t = 0; t < request.tags.length; t++) {
		text(request.tags[t], at ? at(`tags[${t}]`) : '');
	}
	checkTime(request.now, at ? at('now') : '');
	checkTime(request.expiresAt, at ? at('expiresAt') : '');
	if (typeof request.countsTowardCap !== 'boolean') {
		throw new InvalidInputError(name('countsTowardCap'), 'must be true or false.');
	}
	if (typeof request.checkOnly !== 'boolean' && request.checkOnly !== undefined) {
		throw new InvalidInputError(name('checkOnly'), 'must be true or false.');
	}
	const { limits, minGap } = prepareCount(request, at);
	return minGap ? { request, limits, minGap } : { request, limits };
}

/** The limits and min gap of a reservation or a count, checked, with the bounds both backends query. */
function prepareCount(
	request: Pick<SendReservationRequest, 'limits' | 'minGap' | 'now'>,
	at?: (field: string) => string,
): Omit<PreparedReservation, 'request'> {
	if (!Array.isArray(request.limits)) {
		throw new InvalidInputError(at ? at('limits') : '', 'must be an array (empty to bypass caps).');
	}
	const limits = request.limits.map((limit, l): PreparedLimit => {
		const field = (name: string): string => (at ? at(`limits[${l}].${name}`) : '');
		return {
			ruleId: text(limit.ruleId, field('ruleId')),
			since: bound(number(limit.since, field('since')), Math.ceil),
			limit: number(limit.limit, field('limit'), { min: 0, whole: true }),
			campaignId: optionalText(limit.campaignId, field('campaignId')),
			tag: optionalText(limit.tag, field('tag')),
			channel: optionalText(limit.channel, field('channel')),
		};
	});
	const gap = request.minGap;
	if (gap === undefined || gap === null) return { limits };
	const gapMs = number(gap.gapMs, at ? at('minGap.gapMs') : '', { min: 0 });
	return {
		limits,
		minGap: {
			ruleId: text(gap.ruleId, at ? at('minGap.ruleId') : ''),
			after: bound(request.now - gapMs, Math.floor),
			channel: optionalText(gap.channel, at ? at('minGap.channel') : ''),
		},
	};
}

/** A checked read-only count request (`countSends`). */
export interface PreparedCount {
	userId: string;
	now: number;
	limits: PreparedLimit[];
	minGap?: PreparedReservation['minGap'];
}

export function prepareSendCount(request: SendCountRequest): PreparedCount {
	if (typeof request !== 'object' || request === null) {
		throw new InvalidInputError('request', 'must be a send count request.');
	}
	const at = (field: string) => `request.${field}`;
	text(request.userId, at('userId'));
	checkTime(request.now, at('now'));
	return { userId: request.userId, now: request.now, ...prepareCount(request, at) };
}

/** Checks an entry query; the bounds default to no bound, the limit to 100. */
export function checkEntryQuery(query: EntryQuery): Required<EntryQuery> {
	text(query?.campaignId, 'campaignId');
	text(query.userId, 'userId');
	const limit = query.limit ?? 100;
	number(limit, 'limit', { min: 1, whole: true });
	return {
		campaignId: query.campaignId,
		userId: query.userId,
		triggeredAfter:
			query.triggeredAfter === undefined
				? Number.MIN_SAFE_INTEGER
				: bound(number(query.triggeredAfter, 'triggeredAfter'), Math.floor),
		triggeredBefore:
			query.triggeredBefore === undefined
				? Number.MAX_SAFE_INTEGER
				: bound(number(query.triggeredBefore, 'triggeredBefore'), Math.ceil),
		limit,
	};
}

export function checkCompletion(idempotencyKey: string, completion: SendCompletion): void {
	text(idempotencyKey, 'idempotencyKey');
	if (!SEND_STATES.includes(completion?.state)) {
		throw new InvalidInputError(
			'completion.state',
			`must be one of ${SEND_STATES.join(', ')}, not ${JSON.stringify(completion?.state)}.`,
		);
	}
	checkTime(completion.at, 'completion.at');
	if (completion.state === 'sent') {
		optionalText(completion.providerMessageId, 'completion.providerMessageId');
		optionalText(completion.variant, 'completion.variant');
	} else {
		if (completion.error !== undefined && typeof completion.error !== 'string') {
			throw new InvalidInputError('completion.error', 'must be a string when given.');
		}
	}
}

export function checkExit(entryId: string, reason: string, at: number): void {
	text(entryId, 'entryId');
	if (typeof reason !== 'string') throw new InvalidInputError('reason', 'must be a string.');
	checkTime(at, 'at');
}

/** The record a reservation writes: the request's fields, reserved now, with no outcome yet. */
export function reservedSend(request: SendReservationRequest): SendRecord {
	return {
		idempotencyKey: request.idempotencyKey,
		campaignId: request.campaignId,
		stepId: request.stepId,
		entryId: request.entryId ?? undefined,
		userId: request.userId,
		channel: request.channel,
		tags: [...request.tags],
		state: 'reserved',
		reservedAt: request.now,
		expiresAt: request.expiresAt,
		sentAt: undefined,
		countsTowardCap: request.countsTowardCap,
		variant: undefined,
		providerMessageId: undefined,
		error: undefined,
	};
}
