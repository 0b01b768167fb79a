/** Object schemas as the fake stores them, with the system fields Salesforce always has. */

export type FakeFieldType =
	| 'id'
	| 'string'
	| 'email'
	| 'phone'
	| 'boolean'
	| 'int'
	| 'double'
	| 'currency'
	| 'percent'
	| 'date'
	| 'datetime'
	| 'reference'
	| 'picklist'
	| 'textarea';

export interface FakeFieldSchema {
	type: FakeFieldType;
	referenceTo?: string;
	relationshipName?: string;
	/** Default true; false for long text areas, which SOQL cannot filter on. */
	filterable?: boolean;
}

export interface FakeObjectSchema {
	name: string;
	fields: Record<string, FakeFieldSchema>;
}

export interface ResolvedField {
	name: string;
	type: FakeFieldType;
	referenceTo?: string;
	relationshipName?: string;
	filterable: boolean;
	nillable: boolean;
	updateable: boolean;
}

export interface ResolvedObject {
	name: string;
	fields: ResolvedField[];
	fieldByLowerName: Map<string, ResolvedField>;
	/** Lower-case relationship name → the reference field that carries it. */
	relationshipByLowerName: Map<string, ResolvedField>;
	dateFields: string[];
	datetimeFields: string[];
}

const SYSTEM_FIELDS: Record<string, FakeFieldSchema> = {
	Id: { type: 'id' },
	IsDeleted: { type: 'boolean' },
	CreatedDate: { type: 'datetime' },
	LastModifiedDate: { type: 'datetime' },
	SystemModstamp: { type: 'datetime' },
};

export const READ_ONLY_FIELDS = new Set(Object.keys(SYSTEM_FIELDS));

function defaultRelationshipName(fieldName: string): string | undefined {
	if (fieldName.endsWith('__c')) return fieldName.slice(0, -3) + '__r';
	if (fieldName.length > 2 && fieldName.endsWith('Id')) return fieldName.slice(0, -2);
	return undefined;
}

export function resolveSchema(schema: FakeObjectSchema): ResolvedObject {
	const allFields = { ...SYSTEM_FIELDS, ...schema.fields };
	const fields: ResolvedField[] = Object.entries(allFields).map(([name, field]) => ({
		name,
		type: name === 'Id' ? 'id' : field.type,
		referenceTo: field.type === 'reference' ? field.referenceTo : undefined,
		relationshipName:
			field.type === 'reference'
				? (field.relationshipName ?? defaultRelationshipName(name))
				: undefined,
		filterable: field.filterable ?? true,
		nillable: !(name in SYSTEM_FIELDS) && field.type !== 'boolean',
		updateable: !(name in SYSTEM_FIELDS),
	}));
	const resolved: ResolvedObject = {
		name: schema.name,
		fields,
		fieldByLowerName: new Map(fields.map((field) => [field.name.toLowerCase(), field])),
		relationshipByLowerName: new Map(),
		dateFields: fields.filter((field) => field.type === 'date').map((field) => field.name),
		datetimeFields: fields.filter((field) => field.type === 'datetime').map((field) => field.name),
	};
	for (const field of fields) {
		if (field.relationshipName) {
			resolved.relationshipByLowerName.set(field.relationshipName.toLowerCase(), field);
		}
	}
	return resolved;
}
