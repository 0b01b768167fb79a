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

export async function* runRestQuery(
	api: SalesforceRequester,
	soql: string,
	options: RestQueryOptions = {},
): AsyncGenerator<RestQueryPage> {
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
		const page = (response.json ?? {}) as QueryResponse;
		const records = (page.records ?? []).map((record) =>
			flattenRestRecord(record, options.fieldTypes),
		);
		yield { records, totalSize: page.totalSize ?? records.length };
		if (page.done !== false || !page.nextRecordsUrl) return;
		// nextRecordsUrl is a path from the instance root (/services/data/vXX.X/query/01g…-2000).
		response = await api.request({ method: 'GET', path: page.nextRecordsUrl, headers, soql });
	}
}
