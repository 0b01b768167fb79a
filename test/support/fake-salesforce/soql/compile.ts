/**
 * Turns a parsed query into closures over the store: field getters that follow references,
 * a row predicate with SOQL's null and case rules, and a sort comparator.
 */
import { id15 } from '../ids';
import type { ResolvedField, ResolvedObject } from '../schema';
import type { Store, StoredRecord, Table } from '../store';
import { DAY_MS, isoDateToDay } from '../values';
import type { Condition, FieldPath, Literal, SoqlQuery } from './ast';
import { queryErrorMessage, SalesforceApiError } from './errors';

/** A selected or filtered path, resolved against the schema. */
export interface ResolvedPath {
	/** Canonical segments, e.g. ['Account', 'Name']. */
	canonical: string[];
	/** The reference fields walked before the leaf, with the object each leads to. */
	hops: Array<{ field: ResolvedField; target: string }>;
	leaf: ResolvedField;
	get: (row: StoredRecord, seq: number) => unknown;
}

export interface CompiledQuery {
	table: Table;
	isCount: boolean;
	columns: ResolvedPath[];
	matches: (row: StoredRecord, seq: number) => boolean;
	orderKeys: Array<{ path: ResolvedPath; descending: boolean; nullsLast: boolean }>;
	limit: number | undefined;
	offset: number | undefined;
	source: string;
	/** From a top-level `SystemModstamp >= <datetime>` condition: rows older cannot match. */
	modstampFloor: number | undefined;
}

/** The floor a top-level `SystemModstamp >=|> <datetime>` conjunct puts on matching rows. */
function modstampFloorOf(condition: Condition | undefined): number | undefined {
	if (!condition) return undefined;
	if (condition.kind === 'and') {
		const floors = condition.operands.map(modstampFloorOf).filter((f) => f !== undefined);
		return floors.length > 0 ? Math.max(...(floors as number[])) : undefined;
	}
	if (
		condition.kind === 'compare' &&
		condition.field.segments.length === 1 &&
		condition.field.segments[0].toLowerCase() === 'systemmodstamp' &&
		(condition.operator === '>=' || condition.operator === '>') &&
		condition.value.kind === 'datetime'
	) {
		return condition.value.ms;
	}
	return undefined;
}

export interface CompileContext {
	store: Store;
	now: number;
}

export function compileQuery(query: SoqlQuery, context: CompileContext): CompiledQuery {
	const table = context.store.table(query.object.name);
	if (!table) {
		throw new SalesforceApiError(
			400,
			'INVALID_TYPE',
			queryErrorMessage(
				query.source,
				query.object.position,
				`sObject type '${query.object.name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
			),
		);
	}
	const resolve = (path: FieldPath) => resolvePath(context.store, table.schema, path, query.source);
	const columns = (query.fields ?? []).map(resolve);
	const seen = new Set<string>();
	for (const [position, column] of columns.entries()) {
		const key = column.canonical.join('.').toLowerCase();
		if (seen.has(key)) {
			throw new SalesforceApiError(
				400,
				'INVALID_FIELD',
				queryErrorMessage(
					query.source,
					query.fields![position].position,
					`duplicate field selected: ${column.canonical.join('.')}`,
				),
			);
		}
		seen.add(key);
	}
	const orderKeys = query.orderBy.map((item) => ({
		path: resolve(item.field),
		descending: item.descending,
		nullsLast: item.nullsLast,
	}));
	const matches = query.where
		? compileCondition(query.where, context, table.schema, query.source)
		: () => true;
	return {
		table,
		isCount: query.fields === undefined,
		columns,
		matches,
		orderKeys,
		limit: query.limit,
		offset: query.offset,
		source: query.source,
		modstampFloor: modstampFloorOf(query.where),
	};
}

function resolvePath(
	store: Store,
	root: ResolvedObject,
	path: FieldPath,
	source: string,
): ResolvedPath {
	let object = root;
	const hops: ResolvedPath['hops'] = [];
	const canonical: string[] = [];
	for (const [position, segment] of path.segments.entries()) {
		const isLeaf = position === path.segments.length - 1;
		if (isLeaf) {
			const leaf = object.fieldByLowerName.get(segment.toLowerCase());
			if (!leaf) {
				const written = path.segments.join('.');
				throw new SalesforceApiError(
					400,
					'INVALID_FIELD',
					queryErrorMessage(
						source,
						path.position,
						`No such column '${segment}' on entity '${object.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
					) + (written !== segment ? '' : ''),
				);
			}
			canonical.push(leaf.name);
			return { canonical, hops, leaf, get: makeGetter(store, hops, leaf.name) };
		}
		const reference = object.relationshipByLowerName.get(segment.toLowerCase());
		const target = reference?.referenceTo ? store.table(reference.referenceTo) : undefined;
		if (!reference || !target) {
			throw new SalesforceApiError(
				400,
				'INVALID_FIELD',
				queryErrorMessage(
					source,
					path.position,
					`Didn't understand relationship '${segment}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
				),
			);
		}
		canonical.push(reference.relationshipName!);
		hops.push({ field: reference, target: target.name });
		object = target.schema;
	}
	throw new Error('unreachable: empty field path');
}

function makeGetter(
	store: Store,
	hops: ResolvedPath['hops'],
	leafName: string,
): (row: StoredRecord, seq: number) => unknown {
	if (hops.length === 0) return (row) => row[leafName] ?? null;
	return (row, seq) => {
		let current: StoredRecord | undefined = row;
		for (const hop of hops) {
			const id = current[hop.field.name];
			if (typeof id !== 'string') return null;
			current = store.lookup(hop.target, id, seq);
			if (!current) return null;
		}
		return current[leafName] ?? null;
	};
}

/** Resolves the parent record a relationship column hangs off (for JSON nesting). */
export function parentRecord(
	store: Store,
	row: StoredRecord,
	hops: ResolvedPath['hops'],
	depth: number,
	seq: number,
): StoredRecord | undefined {
	let current: StoredRecord | undefined = row;
	for (let index = 0; index < depth; index++) {
		const id = current[hops[index].field.name];
		if (typeof id !== 'string') return undefined;
		current = store.lookup(hops[index].target, id, seq);
		if (!current) return undefined;
	}
	return current;
}

type Comparable = string | number | boolean;
type Range = { start: number; end: number };

const STRING_TYPES = new Set(['string', 'email', 'phone', 'picklist', 'textarea']);
const NUMBER_TYPES = new Set(['int', 'double', 'currency', 'percent']);

function compileCondition(
	condition: Condition,
	context: CompileContext,
	object: ResolvedObject,
	source: string,
): (row: StoredRecord, seq: number) => boolean {
	switch (condition.kind) {
		case 'and': {
			const parts = condition.operands.map((operand) =>
				compileCondition(operand, context, object, source),
			);
			return (row, seq) => parts.every((part) => part(row, seq));
		}
		case 'or': {
			const parts = condition.operands.map((operand) =>
				compileCondition(operand, context, object, source),
			);
			return (row, seq) => parts.some((part) => part(row, seq));
		}
		case 'not': {
			const inner = compileCondition(condition.operand, context, object, source);
			return (row, seq) => !inner(row, seq);
		}
		case 'like': {
			const path = filterablePath(context, object, condition.field, source);
			if (
				!STRING_TYPES.has(path.leaf.type) &&
				path.leaf.type !== 'id' &&
				path.leaf.type !== 'reference'
			) {
				throw new SalesforceApiError(
					400,
					'INVALID_QUERY_FILTER_OPERATOR',
					queryErrorMessage(
						source,
						condition.field.position,
						`invalid operator on ${path.leaf.type} field: LIKE`,
					),
				);
			}
			const pattern = condition.pattern as Extract<Literal, { kind: 'string' }>;
			const regex = new RegExp(`^${pattern.likeSource}$`, 'is');
			return (row, seq) => {
				const value = path.get(row, seq);
				return typeof value === 'string' && regex.test(value);
			};
		}
		case 'compare': {
			const path = filterablePath(context, object, condition.field, source);
			const { operator } = condition;
			if (condition.value.kind === 'null') {
				if (operator !== '=' && operator !== '!=') return () => false;
				return (row, seq) => (path.get(row, seq) === null) === (operator === '=');
			}
			const toKey = keyFunction(path.leaf);
			const literal = literalKey(path.leaf, condition.value, context.now, source);
			if (typeof literal === 'object') {
				const { start, end } = literal;
				return (row, seq) => {
					const value = path.get(row, seq);
					if (value === null) return operator === '!=';
					const key = toKey(value) as number;
					switch (operator) {
						case '=':
							return key >= start && key < end;
						case '!=':
							return key < start || key >= end;
						case '<':
							return key < start;
						case '<=':
							return key < end;
						case '>':
							return key >= end;
						case '>=':
							return key >= start;
					}
				};
			}
			return (row, seq) => {
				const value = path.get(row, seq);
				if (value === null) return operator === '!=';
				const key = toKey(value);
				switch (operator) {
					case '=':
						return key === literal;
					case '!=':
						return key !== literal;
					case '<':
						return key < literal;
					case '<=':
						return key <= literal;
					case '>':
						return key > literal;
					case '>=':
						return key >= literal;
				}
			};
		}
		case 'in': {
			const path = filterablePath(context, object, condition.field, source);
			const toKey = keyFunction(path.leaf);
			const includesNull = condition.values.some((value) => value.kind === 'null');
			const keys = new Set<Comparable>();
			const ranges: Range[] = [];
			for (const value of condition.values) {
				if (value.kind === 'null') continue;
				const key = literalKey(path.leaf, value, context.now, source);
				if (typeof key === 'object') ranges.push(key);
				else keys.add(key);
			}
			const negated = condition.negated;
			return (row, seq) => {
				const value = path.get(row, seq);
				let found: boolean;
				if (value === null) found = includesNull;
				else {
					const key = toKey(value);
					found =
						keys.has(key) ||
						ranges.some((range) => (key as number) >= range.start && (key as number) < range.end);
				}
				return found !== negated;
			};
		}
		case 'semiJoin': {
			const path = filterablePath(context, object, condition.field, source);
			if (path.leaf.type !== 'id' && path.leaf.type !== 'reference') {
				throw new SalesforceApiError(
					400,
					'MALFORMED_QUERY',
					queryErrorMessage(
						source,
						condition.field.position,
						'semi join sub-selects are only supported on Id or reference fields',
					),
				);
			}
			const inner = compileQuery(condition.query, context);
			if (
				inner.isCount ||
				inner.columns.length !== 1 ||
				!['id', 'reference'].includes(inner.columns[0].leaf.type)
			) {
				throw new SalesforceApiError(
					400,
					'MALFORMED_QUERY',
					queryErrorMessage(
						source,
						condition.query.object.position,
						'semi join sub-select must select exactly one Id or reference field',
					),
				);
			}
			// The inner set is computed once per evaluation snapshot, on first use.
			let cached: { seq: number; ids: Set<string> } | undefined;
			const innerIds = (seq: number): Set<string> => {
				if (cached && cached.seq === seq) return cached.ids;
				const ids = new Set<string>();
				const column = inner.columns[0];
				const size = inner.table.size();
				for (let index = 0; index < size; index++) {
					const row = inner.table.rowAt(index, seq);
					if (!row || row.IsDeleted === true || !inner.matches(row, seq)) continue;
					const id = column.get(row, seq);
					if (typeof id === 'string') ids.add(id15(id));
				}
				cached = { seq, ids };
				return ids;
			};
			const negated = condition.negated;
			return (row, seq) => {
				const value = path.get(row, seq);
				const found = typeof value === 'string' && innerIds(seq).has(id15(value));
				return found !== negated;
			};
		}
	}
}

function filterablePath(
	context: CompileContext,
	object: ResolvedObject,
	field: FieldPath,
	source: string,
): ResolvedPath {
	const path = resolvePath(context.store, object, field, source);
	if (!path.leaf.filterable) {
		throw new SalesforceApiError(
			400,
			'INVALID_FIELD',
			queryErrorMessage(
				source,
				field.position,
				`field '${path.leaf.name}' can not be filtered in a query call`,
			),
		);
	}
	return path;
}

/** Stored value → comparable key: case-folded text, 15-char ids, day numbers for dates. */
function keyFunction(field: ResolvedField): (value: unknown) => Comparable {
	if (field.type === 'id' || field.type === 'reference') return (value) => id15(String(value));
	if (field.type === 'date') return (value) => isoDateToDay(String(value));
	if (STRING_TYPES.has(field.type)) return (value) => String(value).toLowerCase();
	return (value) => value as Comparable;
}

function typeMismatch(
	field: ResolvedField,
	literal: Literal,
	source: string,
	expected: string,
): SalesforceApiError {
	const quoted = literal.kind === 'string' ? ' and should not be enclosed in quotes' : '';
	return new SalesforceApiError(
		400,
		'INVALID_FIELD',
		queryErrorMessage(
			source,
			literal.position,
			`value of filter criterion for field '${field.name}' must be of type ${expected}${quoted}`,
		),
	);
}

function literalKey(
	field: ResolvedField,
	literal: Literal,
	now: number,
	source: string,
): Comparable | Range {
	switch (field.type) {
		case 'id':
		case 'reference':
			if (literal.kind !== 'string') throw typeMismatch(field, literal, source, 'id');
			if (!/^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/.test(literal.value)) {
				throw new SalesforceApiError(
					400,
					'INVALID_QUERY_FILTER_OPERATOR',
					queryErrorMessage(source, literal.position, `invalid ID field: ${literal.value}`),
				);
			}
			return id15(literal.value);
		case 'boolean':
			if (literal.kind !== 'boolean') throw typeMismatch(field, literal, source, 'boolean');
			return literal.value;
		case 'date':
			if (literal.kind === 'date') return isoDateToDay(literal.isoDate);
			if (literal.kind === 'dateLiteral') return dayRange(literal, now);
			throw typeMismatch(field, literal, source, 'date');
		case 'datetime': {
			if (literal.kind === 'datetime') return literal.ms;
			if (literal.kind === 'dateLiteral') {
				const days = dayRange(literal, now);
				return { start: days.start * DAY_MS, end: days.end * DAY_MS };
			}
			throw typeMismatch(field, literal, source, 'dateTime');
		}
		default:
			if (NUMBER_TYPES.has(field.type)) {
				if (literal.kind !== 'number') throw typeMismatch(field, literal, source, 'number');
				return literal.value;
			}
			if (literal.kind !== 'string') throw typeMismatch(field, literal, source, 'string');
			return literal.value.toLowerCase();
	}
}

/** Relative date literals as [start, end) in UTC day numbers (the fake org's time zone is UTC). */
function dayRange(literal: Extract<Literal, { kind: 'dateLiteral' }>, now: number): Range {
	const today = Math.floor(now / DAY_MS);
	const n = literal.n ?? 0;
	// Day 0 (1970-01-01) was a Thursday; weeks start on Sunday as in the en_US locale.
	const weekStart = today - ((today + 4) % 7);
	const date = new Date(today * DAY_MS);
	const monthStart = (offset: number) =>
		Math.floor(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1) / DAY_MS);
	switch (literal.name) {
		case 'TODAY':
			return { start: today, end: today + 1 };
		case 'YESTERDAY':
			return { start: today - 1, end: today };
		case 'TOMORROW':
			return { start: today + 1, end: today + 2 };
		case 'NEXT_N_DAYS':
			return { start: today + 1, end: today + 1 + n };
		case 'LAST_N_DAYS':
			return { start: today - n, end: today + 1 };
		case 'N_DAYS_AGO':
			return { start: today - n, end: today - n + 1 };
		case 'LAST_WEEK':
			return { start: weekStart - 7, end: weekStart };
		case 'THIS_WEEK':
			return { start: weekStart, end: weekStart + 7 };
		case 'NEXT_WEEK':
			return { start: weekStart + 7, end: weekStart + 14 };
		case 'LAST_MONTH':
			return { start: monthStart(-1), end: monthStart(0) };
		case 'THIS_MONTH':
			return { start: monthStart(0), end: monthStart(1) };
		case 'NEXT_MONTH':
			return { start: monthStart(1), end: monthStart(2) };
		default:
			throw new Error(`unsupported date literal ${literal.name}`);
	}
}

export { keyFunction, type Comparable };
