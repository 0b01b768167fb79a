/** sObject Collections (create, update, upsert by external id) and single-record sObject calls. */
import { isWellFormedId } from './ids';
import { SalesforceApiError } from './soql/errors';
import { FieldError, type Store, type Table } from './store';
import { formatRestDatetime, formatRestValue } from './values';

export interface SaveResult {
	id: string | null;
	success: boolean;
	errors: Array<{ statusCode: string; message: string; fields: string[] }>;
	created?: boolean;
}

type InputRecord = Record<string, unknown> & { attributes?: { type?: string } };

const MAX_COLLECTION_SIZE = 200;

export class RecordWriter {
	constructor(
		private readonly store: Store,
		private readonly now: () => number,
	) {}

	/** POST composite/sobjects. */
	createMany(body: unknown): SaveResult[] {
		const { records, allOrNone } = this.collection(body);
		return this.applyAll(records, allOrNone, (record) => {
			const table = this.tableOf(record);
			if (record.Id !== undefined) {
				throw new FieldError(
					'INVALID_FIELD_FOR_INSERT_UPDATE',
					'cannot specify Id in an insert call',
					'Id',
				);
			}
			const fields = table.normalizeFields(record, true);
			return () => ({ id: this.insert(table, fields), success: true, errors: [] });
		});
	}

	/** PATCH composite/sobjects (by Id). */
	updateMany(body: unknown): SaveResult[] {
		const { records, allOrNone } = this.collection(body);
		return this.applyAll(records, allOrNone, (record) => {
			const table = this.tableOf(record);
			const index = this.existingIndex(table, record.Id);
			const fields = table.normalizeFields(record, false);
			return () => {
				this.store.seq++;
				table.update(index, fields, this.now(), this.store.seq);
				return { id: String(table.rowAt(index)!.Id), success: true, errors: [] };
			};
		});
	}

	/** PATCH composite/sobjects/{Object}/{ExternalIdField}. */
	upsertMany(objectName: string, externalIdField: string, body: unknown): SaveResult[] {
		const table = this.store.table(objectName);
		if (!table)
			throw new SalesforceApiError(404, 'NOT_FOUND', `The requested resource does not exist`);
		const field = table.schema.fieldByLowerName.get(externalIdField.toLowerCase());
		if (!field) {
			throw new SalesforceApiError(
				404,
				'NOT_FOUND',
				`Provided external ID field does not exist or is not accessible: ${externalIdField}`,
			);
		}
		const { records, allOrNone } = this.collection(body);
		return this.applyAll(records, allOrNone, (record) => {
			if (this.tableOf(record) !== table) {
				throw new FieldError('INVALID_TYPE', `Record type must be ${table.name}`, 'attributes');
			}
			const key = record[field.name];
			if (key === undefined || key === null || key === '') {
				throw new FieldError('MISSING_ARGUMENT', `${field.name} not specified`, field.name);
			}
			const matches = this.findByField(table, field.name, key);
			if (matches.length > 1) {
				throw new FieldError(
					'DUPLICATE_EXTERNAL_ID',
					`${field.name}: more than one record found for external id field: ${matches.length} records`,
					field.name,
				);
			}
			const fields = table.normalizeFields(record, false);
			if (matches.length === 0) {
				return () => ({ id: this.insert(table, fields), success: true, errors: [], created: true });
			}
			const [index] = matches;
			return () => {
				this.store.seq++;
				table.update(index, fields, this.now(), this.store.seq);
				return { id: String(table.rowAt(index)!.Id), success: true, errors: [], created: false };
			};
		});
	}

	/** POST sobjects/{Object}. */
	createOne(objectName: string, body: unknown): SaveResult {
		const table = this.requireObject(objectName);
		const fields = this.asSingleError(() => table.normalizeFields(body as InputRecord, true));
		return { id: this.insert(table, fields), success: true, errors: [] };
	}

	/** PATCH sobjects/{Object}/{Id}. */
	updateOne(objectName: string, id: string, body: unknown): void {
		const table = this.requireObject(objectName);
		const index = this.asSingleError(() => this.existingIndex(table, id));
		const fields = this.asSingleError(() => table.normalizeFields(body as InputRecord, false));
		this.store.seq++;
		table.update(index, fields, this.now(), this.store.seq);
	}

	/** DELETE sobjects/{Object}/{Id}. */
	deleteOne(objectName: string, id: string): void {
		const table = this.requireObject(objectName);
		const index = this.asSingleError(() => this.existingIndex(table, id));
		this.store.seq++;
		table.markDeleted(index, this.now(), this.store.seq);
	}

	/** GET sobjects/{Object}/{Id}: all fields. */
	read(objectName: string, id: string, apiVersion: string): Record<string, unknown> {
		const table = this.requireObject(objectName);
		const index = table.indexOfId(id);
		const row = index === undefined ? undefined : table.rowAt(index);
		if (!row || row.IsDeleted === true) {
			throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
		}
		const output: Record<string, unknown> = {
			attributes: {
				type: table.name,
				url: `/services/data/v${apiVersion}/sobjects/${table.name}/${String(row.Id)}`,
			},
		};
		for (const field of table.schema.fields)
			output[field.name] = formatRestValue(field, row[field.name] ?? null);
		return output;
	}

	/** GET sobjects/{Object}/deleted|updated?start=&end= (scans the table; fine for tests). */
	changedBetween(
		objectName: string,
		kind: 'deleted' | 'updated',
		url: URL,
	): Record<string, unknown> {
		const table = this.requireObject(objectName);
		const parse = (name: string): number => {
			const text = url.searchParams.get(name);
			const ms = text ? Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : Number.NaN;
			if (Number.isNaN(ms)) {
				throw new SalesforceApiError(
					400,
					'INVALID_REPLICATION_DATE',
					`${name} is required and must be a dateTime`,
				);
			}
			return ms;
		};
		const start = parse('start');
		const end = parse('end');
		const deletedRecords: Array<{ id: string; deletedDate: string }> = [];
		const ids: string[] = [];
		for (let index = 0; index < table.size(); index++) {
			const row = table.rowAt(index)!;
			const stamp = row.SystemModstamp as number;
			if (stamp < start || stamp > end) continue;
			if (kind === 'deleted' && row.IsDeleted === true) {
				deletedRecords.push({ id: String(row.Id), deletedDate: formatRestDatetime(stamp) });
			}
			if (kind === 'updated' && row.IsDeleted !== true) ids.push(String(row.Id));
		}
		const latestDateCovered = formatRestDatetime(Math.min(end, this.now()));
		return kind === 'deleted'
			? {
					deletedRecords,
					earliestDateAvailable: formatRestDatetime(this.now() - 15 * 86_400_000),
					latestDateCovered,
				}
			: { ids, latestDateCovered };
	}

	private insert(table: Table, fields: Record<string, unknown>): string {
		this.store.seq++;
		return table.insert(fields, this.now(), this.store.seq);
	}

	private requireObject(objectName: string): Table {
		const table = this.store.table(objectName);
		if (!table)
			throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
		return table;
	}

	private asSingleError<T>(action: () => T): T {
		try {
			return action();
		} catch (error) {
			if (error instanceof FieldError)
				throw new SalesforceApiError(400, error.statusCode, error.message);
			throw error;
		}
	}

	private collection(body: unknown): { records: InputRecord[]; allOrNone: boolean } {
		const request = (body ?? {}) as { records?: unknown; allOrNone?: unknown };
		if (!Array.isArray(request.records)) {
			throw new SalesforceApiError(
				400,
				'JSON_PARSER_ERROR',
				'records is required and must be an array',
			);
		}
		if (request.records.length > MAX_COLLECTION_SIZE) {
			throw new SalesforceApiError(
				400,
				'EXCEEDED_ID_LIMIT',
				`record limit reached. cannot submit more than ${MAX_COLLECTION_SIZE} records into this call`,
			);
		}
		return { records: request.records as InputRecord[], allOrNone: request.allOrNone === true };
	}

	private tableOf(record: InputRecord): Table {
		const type = record?.attributes?.type;
		const table = typeof type === 'string' ? this.store.table(type) : undefined;
		if (!table) {
			throw new FieldError(
				'INVALID_TYPE',
				typeof type === 'string'
					? `sObject type '${type}' is not supported.`
					: 'No SObject Type defined in attributes',
				'attributes',
			);
		}
		return table;
	}

	private existingIndex(table: Table, id: unknown): number {
		if (!isWellFormedId(id))
			throw new FieldError(
				'MALFORMED_ID',
				`${table.name} ID: id value of incorrect type: ${String(id)}`,
				'Id',
			);
		const index = table.indexOfId(id);
		const row = index === undefined ? undefined : table.rowAt(index);
		if (index === undefined || !row) {
			throw new FieldError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', 'Id');
		}
		if (row.IsDeleted === true)
			throw new FieldError('ENTITY_IS_DELETED', 'entity is deleted', 'Id');
		return index;
	}

	private findByField(table: Table, fieldName: string, value: unknown): number[] {
		const wanted = String(value).toLowerCase();
		const matches: number[] = [];
		for (let index = 0; index < table.size(); index++) {
			const row = table.rowAt(index)!;
			if (
				row.IsDeleted !== true &&
				row[fieldName] !== null &&
				String(row[fieldName]).toLowerCase() === wanted
			) {
				matches.push(index);
			}
		}
		return matches;
	}

	/**
	 * Validates every record first, then applies the valid ones. With allOrNone a single
	 * failure rolls everything back, as Salesforce reports it.
	 */
	private applyAll(
		records: InputRecord[],
		allOrNone: boolean,
		prepare: (record: InputRecord) => () => SaveResult,
	): SaveResult[] {
		const prepared = records.map((record): (() => SaveResult) | SaveResult => {
			try {
				return prepare(record);
			} catch (error) {
				if (!(error instanceof FieldError)) throw error;
				return {
					id: null,
					success: false,
					errors: [{ statusCode: error.statusCode, message: error.message, fields: [error.field] }],
				};
			}
		});
		const anyFailed = prepared.some((entry) => typeof entry !== 'function');
		if (allOrNone && anyFailed) {
			return prepared.map((entry) =>
				typeof entry === 'function'
					? {
							id: null,
							success: false,
							errors: [
								{
									statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
									message:
										'Record rolled back because not all records were valid and the request was using AllOrNone header',
									fields: [],
								},
							],
						}
					: entry,
			);
		}
		return prepared.map((entry) => (typeof entry === 'function' ? entry() : entry));
	}
}
