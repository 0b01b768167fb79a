/**
 * A REST query read one page at a time: `/query` (or `/queryAll`, which includes deleted and
 * archived rows), then each `nextRecordsUrl` until `done`. Never jsforce's autoFetch, which
 * keeps every record in memory and stops silently at maxFetch (10,000 by default).
 */
import type { SalesforceRecord, SalesforceRequester } from './api/types';
import { flattenRestRecord, type FieldTypes } from './records';

export interface RestQueryOptions {
	/** Use `/queryAll`: deleted and archived rows too. */
	all?: boolean;
	/** Records per page asked for (Sforce-Query-Options batchSize, clamped to 200..2000). */
	batchSize?: number;
	/** Normalises datetime fields to ISO instants and tells null relationships from fields. */
	fieldTypes?: FieldTypes;
}

export interface RestQueryPage {
	records: SalesforceRecord[];
	/** The query's total row count, as Salesforce reports it on every page. */
	totalSize: number;
}

interface QueryResponse {
	totalSize?: number;
	done?: boolean;
	nextRecordsUrl?: string | null;
	records?: unknown[];
}

const MIN_BATCH_SIZE = 200;
const MAX_BATCH_SIZE = 2_000;

/** One page as Salesforce sent it: records unflattened (relationships nested). */
export interface RawQueryPage {
	records: Array<Record<string, unknown>>;
	/** The query's total row count, as Salesforce reports it on every page. */
	totalSize: number;
}

/**
 * The REST query pager: `/query` (or `/queryAll`), then each `nextRecordsUrl` until `done`,
 * one page in memory at a time. Every paged SOQL read of the code base goes through it.
 */
export async function* restQueryPages(
	api: SalesforceRequester,
	soql: string,
	options: Pick<RestQueryOptions, 'all' | 'batchSize'> = {},
): AsyncGenerator<RawQueryPage> {
	const headers: Record<string, string> = {};
	if (options.batchSize !== undefined) {
		const size = Math.max(
			MIN_BATCH_SIZE,
			Math.min(MAX_BATCH_SIZE, Math.floor(options.batchSize) || MAX_BATCH_SIZE),
		);
		headers['Sforce-Query-Options'] = `batchSize=${size}`;
	}
	let response = await api.request({
		method: 'GET',
		path: options.all ? '/queryAll' : '/query',
		query: { q: soql },
		headers,
		soql,
	});
	for (;;) {
		const page = (isObject(response.json) ? response.json : {}) as QueryResponse;
		const records = (Array.isArray(page.records) ? page.records : []).filter(isObject);
		yield { records, totalSize: page.totalSize ?? records.length };
		if (page.done !== false || typeof page.nextRecordsUrl !== 'string') return;
		// nextRecordsUrl is a path from the instance root (/services/data/vXX.X/query/01g…-2000).
		response = await api.request({ method: 'GET', path: page.nextRecordsUrl, headers, soql });
	}
}

/** A REST query's pages with each record flattened to one level (see `records.ts`). */
export async function* runRestQuery(
	api: SalesforceRequester,
	soql: string,
	options: RestQueryOptions = {},
): AsyncGenerator<RestQueryPage> {
	for await (const page of restQueryPages(api, soql, options)) {
		yield {
			records: page.records.map((record) => flattenRestRecord(record, options.fieldTypes)),
			totalSize: page.totalSize,
		};
	}
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
