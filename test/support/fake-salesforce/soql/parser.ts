/** Recursive-descent parser for the SOQL subset (see README in index.ts for what is covered). */
import type {
	ComparisonOperator,
	Condition,
	FieldPath,
	Literal,
	OrderItem,
	SoqlQuery,
} from './ast';
import { malformedQuery } from './errors';
import { tokenize, type Token } from './lexer';

const DATE_LITERALS_WITHOUT_N = new Set([
	'TODAY',
	'YESTERDAY',
	'TOMORROW',
	'LAST_WEEK',
	'THIS_WEEK',
	'NEXT_WEEK',
	'LAST_MONTH',
	'THIS_MONTH',
	'NEXT_MONTH',
]);
const DATE_LITERALS_WITH_N = new Set(['NEXT_N_DAYS', 'LAST_N_DAYS', 'N_DAYS_AGO']);
const RESERVED = new Set([
	'SELECT',
	'FROM',
	'WHERE',
	'AND',
	'OR',
	'NOT',
	'IN',
	'LIKE',
	'ORDER',
	'BY',
	'LIMIT',
	'OFFSET',
	'ASC',
	'DESC',
	'NULLS',
	'FIRST',
	'LAST',
	'NULL',
	'TRUE',
	'FALSE',
	'GROUP',
	'HAVING',
	'WITH',
	'FOR',
	'USING',
]);

export function parseSoql(soql: string): SoqlQuery {
	const parser = new Parser(soql, tokenize(soql));
	const query = parser.parseQuery();
	parser.expectEnd();
	return query;
}

class Parser {
	private cursor = 0;

	constructor(
		private readonly source: string,
		private readonly tokens: Token[],
	) {}

	private peek(offset = 0): Token {
		return this.tokens[Math.min(this.cursor + offset, this.tokens.length - 1)];
	}

	private next(): Token {
		const token = this.peek();
		if (token.kind !== 'end') this.cursor++;
		return token;
	}

	private tokenText(token: Token): string {
		switch (token.kind) {
			case 'identifier':
			case 'punctuation':
			case 'end':
			case 'string':
			case 'number':
			case 'datetime':
			case 'date':
				return token.text;
		}
	}

	private unexpected(token: Token = this.peek()): Error {
		return malformedQuery(
			this.source,
			token.position,
			`unexpected token: '${this.tokenText(token)}'`,
		);
	}

	private isKeyword(word: string, offset = 0): boolean {
		const token = this.peek(offset);
		return token.kind === 'identifier' && token.text.toUpperCase() === word;
	}

	private acceptKeyword(word: string): boolean {
		if (!this.isKeyword(word)) return false;
		this.cursor++;
		return true;
	}

	private expectKeyword(word: string): void {
		if (!this.acceptKeyword(word)) throw this.unexpected();
	}

	private isPunctuation(text: string): boolean {
		const token = this.peek();
		return token.kind === 'punctuation' && token.text === text;
	}

	private expectPunctuation(text: string): void {
		if (!this.isPunctuation(text)) throw this.unexpected();
		this.cursor++;
	}

	expectEnd(): void {
		if (this.peek().kind !== 'end') throw this.unexpected();
	}

	parseQuery(): SoqlQuery {
		this.expectKeyword('SELECT');
		let fields: FieldPath[] | undefined;
		if (
			this.isKeyword('COUNT') &&
			this.peek(1).kind === 'punctuation' &&
			this.peek(1).text === '('
		) {
			this.cursor += 2;
			if (!this.isPunctuation(')')) {
				throw malformedQuery(
					this.source,
					this.peek().position,
					'Aggregate functions such as COUNT(field) are not supported by this fake; use COUNT()',
				);
			}
			this.cursor++;
		} else {
			fields = [this.parseFieldPath()];
			while (this.isPunctuation(',')) {
				this.cursor++;
				fields.push(this.parseFieldPath());
			}
		}
		this.expectKeyword('FROM');
		const objectToken = this.next();
		if (objectToken.kind !== 'identifier' || objectToken.text.includes('.')) {
			throw this.unexpected(objectToken);
		}
		const query: SoqlQuery = {
			fields,
			object: { name: objectToken.text, position: objectToken.position },
			where: undefined,
			orderBy: [],
			limit: undefined,
			offset: undefined,
			source: this.source,
		};
		if (this.acceptKeyword('WHERE')) query.where = this.parseOr();
		if (this.acceptKeyword('ORDER')) {
			this.expectKeyword('BY');
			query.orderBy.push(this.parseOrderItem());
			while (this.isPunctuation(',')) {
				this.cursor++;
				query.orderBy.push(this.parseOrderItem());
			}
		}
		if (this.acceptKeyword('LIMIT')) query.limit = this.parseNonNegativeInteger();
		if (this.acceptKeyword('OFFSET')) query.offset = this.parseNonNegativeInteger();
		return query;
	}

	private parseNonNegativeInteger(): number {
		const token = this.next();
		if (token.kind !== 'number' || !Number.isInteger(token.value) || token.value < 0) {
			throw this.unexpected(token);
		}
		return token.value;
	}

	private parseFieldPath(): FieldPath {
		const token = this.next();
		if (token.kind !== 'identifier' || RESERVED.has(token.text.toUpperCase())) {
			throw this.unexpected(token);
		}
		return { segments: token.text.split('.'), position: token.position };
	}

	private parseOrderItem(): OrderItem {
		const field = this.parseFieldPath();
		let descending = false;
		if (this.acceptKeyword('DESC')) descending = true;
		else this.acceptKeyword('ASC');
		let nullsLast = descending;
		if (this.acceptKeyword('NULLS')) {
			if (this.acceptKeyword('LAST')) nullsLast = true;
			else if (this.acceptKeyword('FIRST')) nullsLast = false;
			else throw this.unexpected();
		}
		return { field, descending, nullsLast };
	}

	private parseOr(): Condition {
		const operands = [this.parseAnd()];
		while (this.acceptKeyword('OR')) operands.push(this.parseAnd());
		return operands.length === 1 ? operands[0] : { kind: 'or', operands };
	}

	private parseAnd(): Condition {
		const operands = [this.parseNot()];
		while (this.acceptKeyword('AND')) operands.push(this.parseNot());
		return operands.length === 1 ? operands[0] : { kind: 'and', operands };
	}

	private parseNot(): Condition {
		if (this.acceptKeyword('NOT')) return { kind: 'not', operand: this.parseNot() };
		if (this.isPunctuation('(')) {
			this.cursor++;
			const inner = this.parseOr();
			this.expectPunctuation(')');
			return inner;
		}
		return this.parsePredicate();
	}

	private parsePredicate(): Condition {
		const field = this.parseFieldPath();
		if (this.acceptKeyword('LIKE')) {
			const pattern = this.parseLiteral();
			if (pattern.kind !== 'string')
				throw malformedQuery(this.source, pattern.position, 'LIKE needs a string');
			return { kind: 'like', field, pattern };
		}
		let negated = false;
		if (this.isKeyword('NOT') && this.isKeyword('IN', 1)) {
			this.cursor++;
			negated = true;
		}
		if (this.acceptKeyword('IN')) {
			this.expectPunctuation('(');
			if (this.isKeyword('SELECT')) {
				const query = this.parseQuery();
				this.expectPunctuation(')');
				return { kind: 'semiJoin', field, negated, query };
			}
			const values = [this.parseLiteral()];
			while (this.isPunctuation(',')) {
				this.cursor++;
				values.push(this.parseLiteral());
			}
			this.expectPunctuation(')');
			return { kind: 'in', field, negated, values };
		}
		const operatorToken = this.next();
		if (
			operatorToken.kind !== 'punctuation' ||
			!['=', '!=', '<>', '<', '<=', '>', '>='].includes(operatorToken.text)
		) {
			throw this.unexpected(operatorToken);
		}
		const operator = (
			operatorToken.text === '<>' ? '!=' : operatorToken.text
		) as ComparisonOperator;
		return { kind: 'compare', field, operator, value: this.parseLiteral() };
	}

	private parseLiteral(): Literal {
		const token = this.next();
		switch (token.kind) {
			case 'string':
				return {
					kind: 'string',
					value: token.value,
					likeSource: token.likeSource,
					position: token.position,
				};
			case 'number':
				return { kind: 'number', value: token.value, position: token.position };
			case 'date':
				return { kind: 'date', isoDate: token.text, position: token.position };
			case 'datetime':
				return { kind: 'datetime', ms: token.ms, position: token.position };
			case 'identifier': {
				const word = token.text.toUpperCase();
				if (word === 'NULL') return { kind: 'null', position: token.position };
				if (word === 'TRUE' || word === 'FALSE') {
					return { kind: 'boolean', value: word === 'TRUE', position: token.position };
				}
				if (DATE_LITERALS_WITHOUT_N.has(word)) {
					return { kind: 'dateLiteral', name: word, n: undefined, position: token.position };
				}
				if (DATE_LITERALS_WITH_N.has(word)) {
					this.expectPunctuation(':');
					const n = this.next();
					if (n.kind !== 'number' || !Number.isInteger(n.value) || n.value < 0)
						throw this.unexpected(n);
					return { kind: 'dateLiteral', name: word, n: n.value, position: token.position };
				}
				throw this.unexpected(token);
			}
			default:
				throw this.unexpected(token);
		}
	}
}
