import { randomUUID } from 'node:crypto';

import { CampaignError, InvalidInputError } from '../errors';
import type { CampaignEvent } from '../store/campaign-store';
import { parseIsoInstant } from '../time/iso-instant';
import { assertTimeZone } from '../time/time-zone';

/**
 * Turns a webhook body into events: one Segment `track` call, or `{ "batch": [...] }`.
 * A bad event in a batch is rejected on its own (by index); the others go on.
 */

export const DEFAULT_MAX_BATCH_SIZE = 1000;
const MAX_NAME_LENGTH = 200;
export interface RejectedEvent {
	/** Position in the batch; absent for a single event. */
	index?: number;
	field: string;
	message: string;
}

export interface ParsedEvents {
	events: CampaignEvent[];
	/** For each event, its position in the request (0 for a single event). */
	positions: number[];
	rejected: RejectedEvent[];
	isBatch: boolean;
}

/** The request holds more events than allowed; the trigger answers 413. */
export class BatchTooLargeError extends CampaignError {
	constructor(
		readonly size: number,
		readonly maxBatchSize: number,
	) {
		super(
			'batch_too_large',
			`batch: has ${size} events, more than the maximum of ${maxBatchSize}. Split it into smaller batches or raise "Max Batch Size".`,
		);
	}
}

export function parseJsonBody(raw: string | Buffer): unknown {
	const text = typeof raw === 'string' ? raw : raw.toString('utf8');
	if (text.trim() === '') throw new InvalidInputError('body', 'is empty; send a JSON object.');
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new InvalidInputError('body', `is not valid JSON (${(error as Error).message}).`);
	}
}

const isObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses a body; throws InvalidInputError when the body as a whole is unusable. */
export function parseEventPayload(
	body: unknown,
	options: { now: number; maxBatchSize?: number },
): ParsedEvents {
	if (!isObject(body)) {
		throw new InvalidInputError(
			'body',
			'must be a JSON object: one event ({"userId", "event", ...}) or {"batch": [...]}.',
		);
	}
	const parsed: ParsedEvents = {
		events: [],
		positions: [],
		rejected: [],
		isBatch: 'batch' in body,
	};
	if (!parsed.isBatch) {
		parsed.events.push(parseTrackEvent(body, '', options.now));
		parsed.positions.push(0);
		return parsed;
	}
	const batch = body.batch;
	if (!Array.isArray(batch)) throw new InvalidInputError('batch', 'must be an array of events.');
	const max = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
	if (batch.length > max) throw new BatchTooLargeError(batch.length, max);
	batch.forEach((raw, index) => {
		try {
			parsed.events.push(parseTrackEvent(raw, `batch[${index}].`, options.now));
			parsed.positions.push(index);
		} catch (error) {
			if (!(error instanceof InvalidInputError)) throw error;
			parsed.rejected.push({ index, field: error.field, message: error.message });
		}
	});
	return parsed;
}

function optionalText(
	raw: Record<string, unknown>,
	key: string,
	field: string,
): string | undefined {
	const value = raw[key];
	if (value === undefined || value === null) return undefined;
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	if (typeof value !== 'string') {
		throw new InvalidInputError(`${field}${key}`, `must be a string, not ${describeType(value)}.`);
	}
	if (value.includes('\u0000')) {
		throw new InvalidInputError(`${field}${key}`, 'contains a NUL character (\\u0000); remove it.');
	}
	const trimmed = value.trim();
	if (trimmed.length > MAX_NAME_LENGTH) {
		throw new InvalidInputError(`${field}${key}`, `is longer than ${MAX_NAME_LENGTH} characters.`);
	}
	return trimmed === '' ? undefined : trimmed;
}

function describeType(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'an array';
	return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** One Segment `track` call; `field` prefixes error paths (e.g. `batch[2].`). */
export function parseTrackEvent(raw: unknown, field: string, now: number): CampaignEvent {
	const where = field === '' ? 'body' : field.slice(0, -1);
	if (!isObject(raw)) throw new InvalidInputError(where, 'must be an event object.');
	if (raw.type !== undefined && raw.type !== 'track') {
		throw new InvalidInputError(
			`${field}type`,
			`must be "track" (got ${JSON.stringify(raw.type)}).`,
		);
	}
	const userId = optionalText(raw, 'userId', field) ?? optionalText(raw, 'anonymousId', field);
	if (userId === undefined) {
		throw new InvalidInputError(
			`${field}userId`,
			'is required: give "userId" (or "anonymousId" for a visitor not yet known).',
		);
	}
	const name = optionalText(raw, 'event', field);
	if (name === undefined) {
		throw new InvalidInputError(
			`${field}event`,
			'is required: the event name, e.g. "Added to Cart".',
		);
	}
	const properties = raw.properties ?? {};
	if (!isObject(properties)) {
		throw new InvalidInputError(
			`${field}properties`,
			`must be an object, not ${describeType(properties)}.`,
		);
	}
	if (JSON.stringify(properties).includes('\\u0000')) {
		throw new InvalidInputError(
			`${field}properties`,
			'contains a NUL character (\\u0000), which the campaign store cannot keep; remove it.',
		);
	}
	const context = raw.context ?? {};
	if (!isObject(context)) {
		throw new InvalidInputError(
			`${field}context`,
			`must be an object, not ${describeType(context)}.`,
		);
	}
	const timeZone = optionalText(context, 'timezone', `${field}context.`);
	if (timeZone !== undefined) assertTimeZone(timeZone, `${field}context.timezone`);

	return {
		messageId: optionalText(raw, 'messageId', field) ?? randomUUID(),
		userId,
		name,
		occurredAt: parseTimestamp(raw.timestamp, `${field}timestamp`) ?? now,
		receivedAt: now,
		properties,
		timeZone,
	};
}

function parseTimestamp(value: unknown, field: string): number | undefined {
	if (value === undefined || value === null) return undefined;
	const time = typeof value === 'string' ? parseIsoInstant(value) : undefined;
	if (time === undefined) {
		throw new InvalidInputError(
			field,
			`must be an ISO 8601 date-time with a time zone offset, e.g. "2026-03-01T12:00:00Z" (got ${JSON.stringify(value)}).`,
		);
	}
	return time;
}
