/** Syntax tree of the SOQL subset. */

export interface FieldPath {
	/** As written, e.g. ['Account', 'Name']. */
	segments: string[];
	position: number;
}

export type Literal =
	| { kind: 'string'; value: string; likeSource: string; position: number }
	| { kind: 'number'; value: number; position: number }
	| { kind: 'boolean'; value: boolean; position: number }
	| { kind: 'null'; position: number }
	| { kind: 'date'; isoDate: string; position: number }
	| { kind: 'datetime'; ms: number; position: number }
	/** TODAY, NEXT_N_DAYS:3 and friends: a range of whole UTC days relative to the clock. */
	| { kind: 'dateLiteral'; name: string; n: number | undefined; position: number };

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
	| { kind: 'and' | 'or'; operands: Condition[] }
	| { kind: 'not'; operand: Condition }
	| { kind: 'compare'; field: FieldPath; operator: ComparisonOperator; value: Literal }
	| { kind: 'like'; field: FieldPath; pattern: Literal }
	| { kind: 'in'; field: FieldPath; negated: boolean; values: Literal[] }
	| { kind: 'semiJoin'; field: FieldPath; negated: boolean; query: SoqlQuery };

export interface OrderItem {
	field: FieldPath;
	descending: boolean;
	nullsLast: boolean;
}

export interface SoqlQuery {
	/** undefined for SELECT COUNT(). */
	fields: FieldPath[] | undefined;
	object: { name: string; position: number };
	where: Condition | undefined;
	orderBy: OrderItem[];
	limit: number | undefined;
	offset: number | undefined;
	source: string;
}
