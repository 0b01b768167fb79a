import { InvalidInputError } from '../errors';
import type {
	CancelStepsRequest,
	ClaimStepsRequest,
	ClaimedStep,
	ScheduleStepRequest,
	StepClaim,
} from './campaign-store';
import { checkTime } from './send-requests';

/**
 * What both backends share about the per-user schedule: input checks, the retention of
 * finished rows, and the row shape of `scheduled_steps`.
 */

/** Done and cancelled rows are kept this long after they finished, then pruned. */
export const FINISHED_STEPS_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Finished rows pruned by one call at most: a call never pays for a backlog all at once. */
export const PRUNE_CHUNK = 1000;
/** The largest claim page: a claim holds its rows (and their items) in memory. */
export const MAX_CLAIM_LIMIT = 10_000;

/** A prepared row: the request's fields checked, its payload as JSON text. */
export interface PreparedStep {
	campaignId: string;
	stepId: string;
	entryId: string;
	userId: string;
	dueAt: number;
	payload: string;
}

function text(value: unknown, field: string): string {
	if (typeof value !== 'string' || value === '') {
		throw new InvalidInputError(field, `must be a non-empty string, not ${JSON.stringify(value)}.`);
	}
	return value;
}

/** A NUL escaped in JSON text, unless its backslash is itself escaped. */
const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/;

/** The payload as JSON text; an object whose JSON PostgreSQL's JSONB can hold, as SQLite's text can. */
function payloadJson(value: unknown, field: string): string {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new InvalidInputError(
			field,
			'must be a JSON object (the item to carry), e.g. {"json": {}}.',
		);
	}
	let json: string;
	try {
		json = JSON.stringify(value);
	} catch (error) {
		throw new InvalidInputError(field, `cannot be written as JSON: ${(error as Error).message}.`);
	}
	if (ESCAPED_NUL.test(json)) {
		throw new InvalidInputError(
			field,
			'contains the character U+0000, which PostgreSQL cannot store in JSON; remove it from the item.',
		);
	}
	return json;
}

/** Checks every request before anything is written; the payloads come back as JSON text. */
export function prepareSteps(requests: ScheduleStepRequest[], now: number): PreparedStep[] {
	if (!Array.isArray(requests)) {
		throw new InvalidInputError('requests', 'must be an array of steps to schedule.');
	}
	checkTime(now, 'now');
	return requests.map((request, i) => {
		const at = (field: string) => `requests[${i}].${field}`;
		if (typeof request !== 'object' || request === null) {
			throw new InvalidInputError(`requests[${i}]`, 'must be an object.');
		}
		return {
			campaignId: text(request.campaignId, at('campaignId')),
			stepId: text(request.stepId, at('stepId')),
			entryId: text(request.entryId, at('entryId')),
			userId: text(request.userId, at('userId')),
			dueAt: checkTime(request.dueAt, at('dueAt')),
			payload: payloadJson(request.payload, at('payload')),
		};
	});
}

/** The idempotency key of a row, for matching what an insert returned to the requests. */
export const stepKey = (entryId: string, stepId: string, dueAt: number): string =>
	`${entryId}\u0000${stepId}\u0000${dueAt}`;

/** The index of the first request per key: later repeats in a batch are duplicates of it. */
export function firstOfEachKey(steps: PreparedStep[]): number[] {
	const seen = new Set<string>();
	const first: number[] = [];
	steps.forEach((step, index) => {
		const key = stepKey(step.entryId, step.stepId, step.dueAt);
		if (seen.has(key)) return;
		seen.add(key);
		first.push(index);
	});
	return first;
}

export function checkClaimRequest(request: ClaimStepsRequest): void {
	if (typeof request !== 'object' || request === null) {
		throw new InvalidInputError(
			'request',
			'must be an object with campaignId, stepId, now, limit and leaseMs.',
		);
	}
	text(request.campaignId, 'campaignId');
	text(request.stepId, 'stepId');
	checkTime(request.now, 'now');
	const { limit, leaseMs } = request;
	if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CLAIM_LIMIT) {
		throw new InvalidInputError(
			'limit',
			`must be a whole number from 1 to ${MAX_CLAIM_LIMIT}, not ${String(limit)}; claim larger backlogs page by page.`,
		);
	}
	if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) {
		throw new InvalidInputError(
			'leaseMs',
			`must be a whole number of milliseconds of at least 1, not ${String(leaseMs)}.`,
		);
	}
	checkTime(request.now + leaseMs, 'now + leaseMs');
}

/** Row ids are decimal digits (BIGINT in PostgreSQL, INTEGER in SQLite). */
const ROW_ID = /^[1-9][0-9]{0,17}$/;

/** Checks claims to complete or release; sorted by id, so concurrent writers lock rows in one order. */
export function checkClaims(claims: StepClaim[], now: number): StepClaim[] {
	if (!Array.isArray(claims)) {
		throw new InvalidInputError(
			'claims',
			'must be an array of {id, claimToken} from claimDueSteps.',
		);
	}
	checkTime(now, 'now');
	claims.forEach((claim, i) => {
		if (typeof claim !== 'object' || claim === null) {
			throw new InvalidInputError(`claims[${i}]`, 'must be an object with id and claimToken.');
		}
		if (typeof claim.id !== 'string' || !ROW_ID.test(claim.id)) {
			throw new InvalidInputError(
				`claims[${i}].id`,
				`must be the id of a claimed step (decimal digits), not ${JSON.stringify(claim.id)}.`,
			);
		}
		text(claim.claimToken, `claims[${i}].claimToken`);
	});
	return [...claims].sort(
		(a, b) => a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
	);
}

/** A renewed lease must end after `now`: a lease in the past would hand the rows to another claimer. */
export function checkLeaseUntil(leaseUntil: number, now: number): void {
	checkTime(leaseUntil, 'leaseUntil');
	if (leaseUntil <= now)
		throw new InvalidInputError(
			'leaseUntil',
			`must be after now (${new Date(now).toISOString()}), not ${new Date(leaseUntil).toISOString()}.`,
		);
}

export function checkCancel(request: CancelStepsRequest, now: number): void {
	if (typeof request !== 'object' || request === null) {
		throw new InvalidInputError('request', 'must be an object with userId.');
	}
	text(request.userId, 'userId');
	if (request.campaignId !== undefined) text(request.campaignId, 'campaignId');
	if (request.entryId !== undefined) text(request.entryId, 'entryId');
	checkTime(now, 'now');
}

export function checkResumePoint(query: { campaignId: string; stepId: string }): void {
	if (typeof query !== 'object' || query === null) {
		throw new InvalidInputError('query', 'must be an object with campaignId and stepId.');
	}
	text(query.campaignId, 'campaignId');
	text(query.stepId, 'stepId');
}

type Integer = number | string | bigint | null;

/** A `scheduled_steps` row; the payload is text from SQLite and parsed from PostgreSQL. */
export interface ScheduledStepRow {
	id: Integer;
	campaign_id: string;
	step_id: string;
	entry_id: string;
	user_id: string;
	due_at: Integer;
	payload: string | Record<string, unknown>;
	attempts: Integer;
	claim_token: string;
	lease_until: Integer;
	created_at: Integer;
}

export function claimedStepFromRow(row: ScheduledStepRow): ClaimedStep {
	return {
		id: String(row.id),
		campaignId: row.campaign_id,
		stepId: row.step_id,
		entryId: row.entry_id,
		userId: row.user_id,
		dueAt: Number(row.due_at),
		payload:
			typeof row.payload === 'string'
				? (JSON.parse(row.payload) as Record<string, unknown>)
				: row.payload,
		attempts: Number(row.attempts),
		claimToken: row.claim_token,
		leaseUntil: Number(row.lease_until),
		scheduledAt: Number(row.created_at),
	};
}

/** Claimed rows in due order, then insertion order: RETURNING promises no order. */
export function inDueOrder(steps: ClaimedStep[]): ClaimedStep[] {
	return steps.sort(
		(a, b) =>
			a.dueAt - b.dueAt || a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
	);
}
