/** REST query, queryAll and query-locator paging over snapshot cursors. */
import { sequentialId } from './ids';
import { compileQuery } from './soql/compile';
import { SalesforceApiError } from './soql/errors';
import { restProjector, runQuery, type QueryRun } from './soql/execute';
import { parseSoql } from './soql/parser';
import type { Store } from './store';

interface Cursor {
	run: QueryRun;
	pageSize: number;
}

/** Real orgs keep a handful of open cursors per user; old ones simply disappear. */
const MAX_OPEN_CURSORS = 200;

export class QueryCursors {
	private readonly cursors = new Map<string, Cursor>();
	private cursorCount = 0;

	constructor(
		private readonly store: Store,
		private readonly now: () => number,
	) {}

	query(
		soql: string,
		includeDeleted: boolean,
		pageSize: number,
		apiVersion: string,
	): Record<string, unknown> {
		if (!soql)
			throw new SalesforceApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
		const compiled = compileQuery(parseSoql(soql), { store: this.store, now: this.now() });
		const run = runQuery(compiled, this.store.seq, includeDeleted);
		if (compiled.isCount) return { totalSize: run.indexes.length, done: true, records: [] };
		const cursorId = sequentialId('01g', ++this.cursorCount);
		const cursor = { run, pageSize };
		if (run.indexes.length > pageSize) {
			this.cursors.set(cursorId, cursor);
			if (this.cursors.size > MAX_OPEN_CURSORS) {
				this.cursors.delete(this.cursors.keys().next().value!);
			}
		}
		return this.page(cursorId, cursor, 0, apiVersion);
	}

	/** GET /query/{cursorId}-{offset}. */
	more(locator: string, apiVersion: string): Record<string, unknown> {
		const match = /^(.+)-(\d+)$/.exec(locator);
		const cursor = match ? this.cursors.get(match[1]) : undefined;
		if (!match || !cursor) {
			throw new SalesforceApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
		}
		return this.page(match[1], cursor, Number(match[2]), apiVersion);
	}

	private page(
		cursorId: string,
		cursor: Cursor,
		offset: number,
		apiVersion: string,
	): Record<string, unknown> {
		const { run, pageSize } = cursor;
		const project = restProjector(this.store, run.compiled, apiVersion);
		const end = Math.min(run.indexes.length, offset + pageSize);
		const records: Array<Record<string, unknown>> = [];
		for (let position = offset; position < end; position++) {
			records.push(project(run.compiled.table.rowAt(run.indexes[position], run.seq)!, run.seq));
		}
		const done = end >= run.indexes.length;
		return {
			totalSize: run.indexes.length,
			done,
			...(done ? {} : { nextRecordsUrl: `/services/data/v${apiVersion}/query/${cursorId}-${end}` }),
			records,
		};
	}
}

/** Sforce-Query-Options: batchSize=N (Salesforce clamps it to 200..2000). */
export function pageSizeFromHeader(
	header: string | string[] | undefined,
	defaultSize: number,
): number {
	const text = Array.isArray(header) ? header.join(',') : (header ?? '');
	const match = /batchSize\s*=\s*(\d+)/i.exec(text);
	if (!match) return defaultSize;
	return Math.max(200, Math.min(2000, Number(match[1])));
}
