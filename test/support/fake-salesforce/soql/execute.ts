/**
 * Runs a compiled query over a table snapshot. Matching rows are kept as row indexes in a
 * typed array (4 bytes a row), so a million-row result costs megabytes, not gigabytes.
 */
import type { Store, StoredRecord } from '../store';
import { formatCsvValue, formatRestValue } from '../values';
import {
	keyFunction,
	parentRecord,
	type CompiledQuery,
	type Comparable,
	type ResolvedPath,
} from './compile';

export interface QueryRun {
	compiled: CompiledQuery;
	/** The write sequence the run reads at; later writes stay invisible to it. */
	seq: number;
	/** Matching row indexes in result order (after ORDER BY, OFFSET and LIMIT). */
	indexes: Uint32Array;
}

export function runQuery(compiled: CompiledQuery, seq: number, includeDeleted: boolean): QueryRun {
	const { table } = compiled;
	const size = table.size();
	let indexes = new Uint32Array(Math.min(size, 1024));
	let count = 0;
	// Like Salesforce's index on SystemModstamp: an incremental read costs what changed.
	const candidates =
		compiled.modstampFloor === undefined
			? undefined
			: table.candidatesModifiedSince(compiled.modstampFloor);
	const total = candidates ? candidates.length : size;
	for (let position = 0; position < total; position++) {
		const index = candidates ? candidates[position] : position;
		const row = table.rowAt(index, seq);
		if (!row) continue;
		if (!includeDeleted && row.IsDeleted === true) continue;
		if (!compiled.matches(row, seq)) continue;
		if (count === indexes.length) {
			const grown = new Uint32Array(indexes.length * 2);
			grown.set(indexes);
			indexes = grown;
		}
		indexes[count++] = index;
	}
	let result: Uint32Array = indexes.subarray(0, count);
	if (compiled.orderKeys.length > 0) result = sortIndexes(compiled, result, seq);
	const offset = compiled.offset ?? 0;
	const end =
		compiled.limit === undefined ? result.length : Math.min(result.length, offset + compiled.limit);
	// slice (not subarray) so the oversized growth buffer can be collected.
	return { compiled, seq, indexes: result.slice(Math.min(offset, result.length), end) };
}

/** Extracts each sort key once per row, then sorts positions against those columns. */
function sortIndexes(compiled: CompiledQuery, indexes: Uint32Array, seq: number): Uint32Array {
	const keyColumns = compiled.orderKeys.map((orderKey) => {
		const toKey = keyFunction(orderKey.path.leaf);
		const values: Array<Comparable | null> = new Array(indexes.length);
		for (let position = 0; position < indexes.length; position++) {
			const value = orderKey.path.get(compiled.table.rowAt(indexes[position], seq)!, seq);
			values[position] = value === null ? null : toKey(value);
		}
		return { values, descending: orderKey.descending, nullsLast: orderKey.nullsLast };
	});
	const positions = new Uint32Array(indexes.length);
	for (let position = 0; position < positions.length; position++) positions[position] = position;
	positions.sort((left, right) => {
		for (const column of keyColumns) {
			const a = column.values[left];
			const b = column.values[right];
			if (a === b) continue;
			if (a === null) return column.nullsLast ? 1 : -1;
			if (b === null) return column.nullsLast ? -1 : 1;
			const order = a < b ? -1 : 1;
			return column.descending ? -order : order;
		}
		return left - right;
	});
	const sorted = new Uint32Array(indexes.length);
	for (let position = 0; position < positions.length; position++)
		sorted[position] = indexes[positions[position]];
	return sorted;
}

interface ProjectionNode {
	object: string;
	entries: Array<
		| { kind: 'field'; name: string; column: ResolvedPath }
		| { kind: 'parent'; name: string; referenceField: string; target: string; node: ProjectionNode }
	>;
}

/** Builds REST JSON records: relationship columns nest under their relationship name. */
export function restProjector(
	store: Store,
	compiled: CompiledQuery,
	apiVersion: string,
): (row: StoredRecord, seq: number) => Record<string, unknown> {
	const root: ProjectionNode = { object: compiled.table.name, entries: [] };
	for (const column of compiled.columns) {
		let node = root;
		for (const hop of column.hops) {
			const name = hop.field.relationshipName!;
			let entry = node.entries.find(
				(candidate): candidate is Extract<ProjectionNode['entries'][number], { kind: 'parent' }> =>
					candidate.kind === 'parent' && candidate.name === name,
			);
			if (!entry) {
				entry = {
					kind: 'parent',
					name,
					referenceField: hop.field.name,
					target: hop.target,
					node: { object: hop.target, entries: [] },
				};
				node.entries.push(entry);
			}
			node = entry.node;
		}
		node.entries.push({ kind: 'field', name: column.leaf.name, column });
	}
	const render = (
		node: ProjectionNode,
		record: StoredRecord,
		seq: number,
	): Record<string, unknown> => {
		const output: Record<string, unknown> = {
			attributes: {
				type: node.object,
				url: `/services/data/v${apiVersion}/sobjects/${node.object}/${String(record.Id)}`,
			},
		};
		for (const entry of node.entries) {
			if (entry.kind === 'field') {
				output[entry.name] = formatRestValue(entry.column.leaf, record[entry.name] ?? null);
			} else {
				const id = record[entry.referenceField];
				const parent = typeof id === 'string' ? store.lookup(entry.target, id, seq) : undefined;
				output[entry.name] = parent ? render(entry.node, parent, seq) : null;
			}
		}
		return output;
	};
	return (row, seq) => render(root, row, seq);
}

export function csvHeader(compiled: CompiledQuery): string[] {
	return compiled.columns.map((column) => column.canonical.join('.'));
}

export function csvProjector(
	store: Store,
	compiled: CompiledQuery,
): (row: StoredRecord, seq: number) => Array<string | null> {
	return (row, seq) =>
		compiled.columns.map((column) =>
			formatCsvValue(
				column.leaf,
				column.hops.length === 0
					? (row[column.leaf.name] ?? null)
					: viaParent(store, row, column, seq),
			),
		);
}

function viaParent(store: Store, row: StoredRecord, column: ResolvedPath, seq: number): unknown {
	const parent = parentRecord(store, row, column.hops, column.hops.length, seq);
	return parent ? (parent[column.leaf.name] ?? null) : null;
}
