/**
 * The Salesforce calls the activity writer makes: sObject Collections writes (up to 200
 * records, results per record in order), paged SOQL queries, and turning a failed request
 * into per-record errors.
 */
import type { ApiRequest, ApiResponse, HttpMethod, SalesforceRequester } from '../api/types';
import { restQueryPages } from '../rest-query';

/** Salesforce's limit for one sObject Collections request. */
export const MAX_COLLECTION_RECORDS = 200;

/** One error as reported to the caller, e.g. `{ code: 'INVALID_FIELD', message, fields }`. */
export interface RecordError {
	code: string;
	message: string;
	fields?: string[];
}

/** One record's outcome in a collections response. */
export interface CollectionRecordResult {
	id?: string;
	success: boolean;
	/** Upserts only: true when the record was inserted, false when an existing one was updated. */
	created?: boolean;
	errors: RecordError[];
}

/** A requester that counts the requests sent through it, for the summary log. */
export class CountingRequester implements SalesforceRequester {
	private sent = 0;

	constructor(private readonly api: SalesforceRequester) {}

	get apiVersion(): string {
		return this.api.apiVersion;
	}

	/** Requests sent through this wrapper (retries inside the API layer not included). */
	get calls(): number {
		return this.sent;
	}

	async request(request: ApiRequest): Promise<ApiResponse> {
		this.sent++;
		return await this.api.request(request);
	}
}

export function chunk<T>(values: readonly T[], size = MAX_COLLECTION_RECORDS): T[][] {
	const chunks: T[][] = [];
	for (let start = 0; start < values.length; start += size) {
		chunks.push(values.slice(start, start + size));
	}
	return chunks;
}

/**
 * Sends one sObject Collections write with `allOrNone: false` and returns the per-record
 * results in the order of `records`. Throws when the whole request fails (the API layer's
 * error) or the response does not have one result per record.
 */
export async function sendCollection(
	api: SalesforceRequester,
	request: { method: HttpMethod; path: string; records: object[]; retrySafe: boolean },
): Promise<CollectionRecordResult[]> {
	const response = await api.request({
		method: request.method,
		path: request.path,
		body: { allOrNone: false, records: request.records },
		retrySafe: request.retrySafe,
	});
	const body = response.json;
	if (!Array.isArray(body) || body.length !== request.records.length) {
		const got = Array.isArray(body) ? `${body.length} results` : typeof body;
		throw new UnexpectedResponseError(
			`${request.method} ${request.path} answered with ${got} for ${request.records.length} records; expected one result per record.`,
		);
	}
	return body.map(readRecordResult);
}

class UnexpectedResponseError extends Error {
	readonly errorCode = 'UNEXPECTED_RESPONSE';
}

function readRecordResult(raw: unknown): CollectionRecordResult {
	const entry = isObject(raw) ? raw : {};
	const errors = Array.isArray(entry.errors) ? entry.errors.map(readSalesforceError) : [];
	return {
		id: typeof entry.id === 'string' ? entry.id : undefined,
		success: entry.success === true,
		created: typeof entry.created === 'boolean' ? entry.created : undefined,
		errors:
			entry.success === true || errors.length > 0
				? errors
				: [{ code: 'UNKNOWN_ERROR', message: 'Salesforce reported a failure without details.' }],
	};
}

/** Reads `{statusCode|errorCode, message, fields}` as Salesforce reports a record error. */
function readSalesforceError(raw: unknown): RecordError {
	const entry = isObject(raw) ? raw : {};
	const code = entry.statusCode ?? entry.errorCode;
	const error: RecordError = {
		code: typeof code === 'string' ? code : 'UNKNOWN_ERROR',
		message: typeof entry.message === 'string' ? entry.message : 'No message given.',
	};
	if (Array.isArray(entry.fields)) {
		error.fields = entry.fields.filter((field): field is string => typeof field === 'string');
	}
	return error;
}

/** Runs `soql` and returns every record (the REST pager's pages, joined). */
export async function queryAllPages(
	api: SalesforceRequester,
	soql: string,
): Promise<Array<Record<string, unknown>>> {
	const records: Array<Record<string, unknown>> = [];
	for await (const page of restQueryPages(api, soql)) {
		for (const record of page.records) records.push(record);
	}
	return records;
}

/**
 * The errors to report for every record of a request that failed as a whole: Salesforce's
 * own error list when the API layer kept it, else one error with the error's code and message.
 */
export function errorsFromFailure(error: unknown, context: string): RecordError[] {
	const details = isObject(error) ? error : {};
	const listed = [details.errors, details.body, details.json].find(Array.isArray);
	if (listed !== undefined && listed.length > 0) {
		return listed.map(readSalesforceError).map((entry) => ({
			...entry,
			message: `${context}: ${entry.message}`,
		}));
	}
	const code = [details.errorCode, details.code].find(
		(value): value is string => typeof value === 'string' && value !== '',
	);
	const message = error instanceof Error ? error.message : String(error);
	// SalesforceApiError's message already names the status; other errors may carry it alone.
	const status =
		typeof details.status === 'number' && !message.includes(String(details.status))
			? ` (HTTP ${details.status})`
			: '';
	return [{ code: code ?? 'REQUEST_FAILED', message: `${context}${status}: ${message}` }];
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
