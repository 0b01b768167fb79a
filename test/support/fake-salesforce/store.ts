/**
 * Record storage. A table is `generatedCount` rows produced on demand by a generator, plus
 * inserted rows, plus per-row change history. Every write gets a sequence number so that
 * query cursors and bulk jobs can read rows as they were when they were opened.
 */
import { id15, INSERTED_SEQUENCE_BASE, keyPrefixFor, sequenceOfId, sequentialId } from './ids';
import {
	READ_ONLY_FIELDS,
	resolveSchema,
	type FakeObjectSchema,
	type ResolvedObject,
} from './schema';
import { formatRestValue, normalizeValue } from './values';

export type StoredRecord = Record<string, unknown>;

export type RowGenerator = (index: number) => Record<string, unknown>;

/** Changes a generated row for the `version`-th bulk modification that hits it. */
export type RowMutator = (row: StoredRecord, index: number, version: number) => void;

export interface GeneratedObjectOptions {
	/** Fast inverse of the generator's ids; without it the first lookup scans all rows once. */
	indexOfId?: (id: string) => number | undefined;
	mutate?: RowMutator;
}

interface RowChange {
	seq: number;
	fields: StoredRecord;
}

interface BulkModification {
	seq: number;
	at: number;
	/** Fraction of rows hit, 0..1. */
	fraction: number;
	seed: number;
}

export class StoreError extends Error {}

export class Table {
	readonly schema: ResolvedObject;
	readonly keyPrefix: string;
	private generatedCount = 0;
	private generate: RowGenerator | undefined;
	private generatedOptions: GeneratedObjectOptions = {};
	private insertedCount = 0;
	private readonly changes = new Map<number, RowChange[]>();
	private readonly indexById15 = new Map<string, number>();
	private generatedIndexById15: Map<string, number> | undefined;
	private readonly modifications: BulkModification[] = [];
	/** Generated rows by their generated SystemModstamp: Salesforce indexes it, so may the fake. */
	private stampIndex: { stamps: Float64Array; order: Uint32Array } | undefined;

	constructor(schema: FakeObjectSchema) {
		this.schema = resolveSchema(schema);
		this.keyPrefix = keyPrefixFor(schema.name);
	}

	get name(): string {
		return this.schema.name;
	}

	size(): number {
		return this.generatedCount + this.insertedCount;
	}

	setGenerator(count: number, generate: RowGenerator, options: GeneratedObjectOptions): void {
		this.generatedCount = count;
		this.generate = generate;
		this.generatedOptions = options;
		// Built now, like an index that exists before anyone queries: a timed read never pays for it.
		this.stampIndex = undefined;
		this.buildStampIndex();
	}

	private buildStampIndex(): { stamps: Float64Array; order: Uint32Array } {
		if (!this.stampIndex) {
			const stamps = new Float64Array(this.generatedCount);
			for (let index = 0; index < this.generatedCount; index++) {
				stamps[index] = Number(this.generatedRow(index).SystemModstamp);
			}
			const order = new Uint32Array(this.generatedCount);
			for (let index = 0; index < order.length; index++) order[index] = index;
			order.sort((a, b) => stamps[a] - stamps[b]);
			this.stampIndex = { stamps, order };
		}
		return this.stampIndex;
	}

	/** The row as of write sequence `seq`; undefined if it did not exist yet. */
	rowAt(index: number, seq = Number.POSITIVE_INFINITY): StoredRecord | undefined {
		const changes = this.changes.get(index);
		let row: StoredRecord;
		if (index < this.generatedCount) {
			row = this.generatedRow(index);
			if (this.modifications.length === 0 && !changes) return row;
			this.applyHistory(row, index, changes, seq);
			return row;
		}
		if (!changes || changes[0].seq > seq) return undefined;
		row = {};
		this.applyHistory(row, index, changes, seq);
		return row;
	}

	private generatedRow(index: number): StoredRecord {
		const raw = this.generate!(index);
		const row: StoredRecord = { ...raw };
		for (const name of this.schema.datetimeFields) {
			const value = row[name];
			if (value !== undefined && typeof value !== 'number') {
				row[name] = normalizeValue(this.schema.fieldByLowerName.get(name.toLowerCase())!, value);
			}
		}
		for (const name of this.schema.dateFields) {
			const value = row[name];
			if (value !== undefined && typeof value !== 'string') {
				row[name] = normalizeValue(this.schema.fieldByLowerName.get(name.toLowerCase())!, value);
			}
		}
		row.IsDeleted ??= false;
		row.CreatedDate ??= row.SystemModstamp;
		row.LastModifiedDate ??= row.SystemModstamp;
		return row;
	}

	/** Applies bulk modifications and explicit changes up to `seq`, in write order. */
	private applyHistory(
		row: StoredRecord,
		index: number,
		changes: RowChange[] | undefined,
		seq: number,
	): void {
		let changeIndex = 0;
		let version = 0;
		const isGenerated = index < this.generatedCount;
		for (const modification of this.modifications) {
			if (modification.seq > seq) break;
			if (!isGenerated || !hitsRow(modification, index)) continue;
			while (
				changes &&
				changeIndex < changes.length &&
				changes[changeIndex].seq < modification.seq
			) {
				Object.assign(row, changes[changeIndex++].fields);
			}
			version++;
			this.generatedOptions.mutate?.(row, index, version);
			row.SystemModstamp = modification.at;
			row.LastModifiedDate = modification.at;
		}
		while (changes && changeIndex < changes.length && changes[changeIndex].seq <= seq) {
			Object.assign(row, changes[changeIndex++].fields);
		}
	}

	indexOfId(id: string): number | undefined {
		const key = id15(id);
		const inserted = this.indexById15.get(key);
		if (inserted !== undefined) return inserted;
		if (this.generatedCount === 0) return undefined;
		if (this.generatedOptions.indexOfId) {
			// Trusted as the generator's exact inverse: verifying would generate every parent twice.
			const index = this.generatedOptions.indexOfId(id);
			return index === undefined || index < 0 || index >= this.generatedCount ? undefined : index;
		}
		if (!this.generatedIndexById15) {
			this.generatedIndexById15 = new Map();
			for (let index = 0; index < this.generatedCount; index++) {
				this.generatedIndexById15.set(id15(String(this.generate!(index).Id)), index);
			}
		}
		return this.generatedIndexById15.get(key);
	}

	insert(fields: StoredRecord, now: number, seq: number): string {
		const index = this.generatedCount + this.insertedCount;
		const id = sequentialId(this.keyPrefix, INSERTED_SEQUENCE_BASE + this.insertedCount);
		const row: StoredRecord = {};
		// Checkboxes are never null in Salesforce: unset means false.
		for (const field of this.schema.fields)
			row[field.name] = field.type === 'boolean' ? false : null;
		Object.assign(row, this.normalizeFields(fields, true), {
			Id: id,
			IsDeleted: false,
			CreatedDate: now,
			LastModifiedDate: now,
			SystemModstamp: now,
		});
		this.insertedCount++;
		this.indexById15.set(id15(id), index);
		this.changes.set(index, [{ seq, fields: row }]);
		return id;
	}

	update(index: number, fields: StoredRecord, now: number, seq: number): void {
		const normalized = this.normalizeFields(fields, false);
		this.pushChange(index, { ...normalized, LastModifiedDate: now, SystemModstamp: now }, seq);
	}

	markDeleted(index: number, now: number, seq: number): void {
		this.pushChange(index, { IsDeleted: true, SystemModstamp: now }, seq);
	}

	private pushChange(index: number, fields: StoredRecord, seq: number): void {
		const list = this.changes.get(index);
		if (list) list.push({ seq, fields });
		else this.changes.set(index, [{ seq, fields }]);
	}

	/**
	 * Row indexes that may have `SystemModstamp >= floor` (a superset, ascending), without
	 * reading every row: generated rows whose generated stamp is at or after `floor` (from a
	 * sorted index built when the rows are defined), rows with explicit changes, rows hit by a bulk
	 * modification made at or after `floor`, and inserted rows. Undefined for a table without
	 * generated rows, where a plain scan is as cheap.
	 */
	candidatesModifiedSince(floor: number): Uint32Array | undefined {
		if (this.generatedCount === 0) return undefined;
		const { stamps, order } = this.buildStampIndex();
		let low = 0;
		let high = order.length;
		while (low < high) {
			const middle = (low + high) >>> 1;
			if (stamps[order[middle]] < floor) low = middle + 1;
			else high = middle;
		}
		const candidates = new Set<number>();
		for (let position = low; position < order.length; position++) candidates.add(order[position]);
		for (const index of this.changes.keys()) candidates.add(index);
		for (const modification of this.modifications) {
			if (modification.at < floor) continue;
			for (let index = 0; index < this.generatedCount; index++) {
				if (hitsRow(modification, index)) candidates.add(index);
			}
		}
		for (let index = this.generatedCount; index < this.size(); index++) candidates.add(index);
		return Uint32Array.from(candidates).sort();
	}

	/** Marks `percent`% of generated rows (chosen by seed) modified at `at`, storing nothing per row. */
	modifyPercent(percent: number, seed: number, at: number, seq: number): number {
		const modification = { seq, at, fraction: percent / 100, seed: seed >>> 0 };
		this.modifications.push(modification);
		let hits = 0;
		// Counting is cheap relative to a query and lets callers check the share they asked for.
		for (let index = 0; index < this.generatedCount; index++) {
			if (hitsRow(modification, index)) hits++;
		}
		return hits;
	}

	/** Validates names and types against the schema; throws StoreError with a Salesforce-like code. */
	normalizeFields(fields: StoredRecord, forInsert: boolean): StoredRecord {
		const normalized: StoredRecord = {};
		for (const [name, value] of Object.entries(fields)) {
			if (name === 'attributes') continue;
			const field = this.schema.fieldByLowerName.get(name.toLowerCase());
			if (!field) {
				throw new FieldError(
					'INVALID_FIELD',
					`No such column '${name}' on sobject of type ${this.name}`,
					name,
				);
			}
			if (READ_ONLY_FIELDS.has(field.name)) {
				if (field.name === 'Id' && !forInsert) continue;
				throw new FieldError(
					'INVALID_FIELD_FOR_INSERT_UPDATE',
					`Unable to create/update fields: ${field.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
					field.name,
				);
			}
			try {
				normalized[field.name] = normalizeValue(field, value);
			} catch {
				throw new FieldError(
					'INVALID_TYPE_ON_FIELD_IN_RECORD',
					`${field.name}: value not of required type: ${JSON.stringify(value)}`,
					field.name,
				);
			}
		}
		return normalized;
	}

	/** Current rows (deleted included) in REST JSON value form. */
	snapshotRows(): StoredRecord[] {
		const rows: StoredRecord[] = [];
		for (let index = 0; index < this.size(); index++) {
			const row = this.rowAt(index)!;
			const printed: StoredRecord = {};
			for (const field of this.schema.fields) {
				if (field.name in row) printed[field.name] = formatRestValue(field, row[field.name]);
			}
			rows.push(printed);
		}
		return rows;
	}
}

export class FieldError extends StoreError {
	constructor(
		readonly statusCode: string,
		message: string,
		readonly field: string,
	) {
		super(message);
	}
}

function hitsRow(modification: BulkModification, index: number): boolean {
	return hash32(index, modification.seed) / 4294967296 < modification.fraction;
}

/** A small integer hash (splitmix-like), deterministic across processes. */
export function hash32(value: number, seed: number): number {
	let x = (Math.imul(value ^ 0x9e3779b9, 0x85ebca6b) ^ seed) >>> 0;
	x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
	x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
	return (x ^ (x >>> 16)) >>> 0;
}

export class Store {
	private readonly tables = new Map<string, Table>();
	/** Write sequence: bumped by every write, read by cursors for snapshots. */
	seq = 0;

	define(schema: FakeObjectSchema): Table {
		const table = new Table(schema);
		this.tables.set(schema.name.toLowerCase(), table);
		return table;
	}

	table(name: string): Table | undefined {
		return this.tables.get(name.toLowerCase());
	}

	requireTable(name: string): Table {
		const table = this.table(name);
		if (!table) throw new StoreError(`Unknown object ${name}; call defineObject first`);
		return table;
	}

	allTables(): Table[] {
		return [...this.tables.values()];
	}

	requireIndex(table: Table, id: string): number {
		const index = table.indexOfId(id);
		if (index === undefined) throw new StoreError(`No ${table.name} with Id ${id}`);
		return index;
	}

	/** Looks a record up by id across tables (for reference fields); undefined if absent then. */
	lookup(objectName: string | undefined, id: string, seq: number): StoredRecord | undefined {
		const table = objectName ? this.table(objectName) : this.tableForId(id);
		if (!table) return undefined;
		const index = table.indexOfId(id);
		return index === undefined ? undefined : table.rowAt(index, seq);
	}

	private tableForId(id: string): Table | undefined {
		return this.allTables().find((table) => id.startsWith(table.keyPrefix));
	}
}

export { sequenceOfId };
