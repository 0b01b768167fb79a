/** Tokens of the SOQL subset, with source positions for Salesforce-style error messages. */
import { malformedQuery } from './errors';

export type Token =
	| { kind: 'identifier'; text: string; position: number }
	| { kind: 'string'; value: string; likeSource: string; position: number; text: string }
	| { kind: 'number'; value: number; position: number; text: string }
	| { kind: 'date'; text: string; position: number }
	| { kind: 'datetime'; ms: number; position: number; text: string }
	| { kind: 'punctuation'; text: string; position: number }
	| { kind: 'end'; position: number; text: string };

const DATETIME_PATTERN =
	/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER_PATTERN = /^[+-]?(\d+(\.\d*)?|\.\d+)/;
const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/;
const PUNCTUATION = ['!=', '<>', '<=', '>=', '=', '<', '>', '(', ')', ',', ':'];

/** Plain escapes; \% and \_ only keep their meaning inside LIKE patterns. */
const STRING_ESCAPES: Record<string, string> = {
	n: '\n',
	r: '\r',
	t: '\t',
	b: '\b',
	f: '\f',
	'"': '"',
	"'": "'",
	'\\': '\\',
};

function regexEscape(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

export function tokenize(soql: string): Token[] {
	const tokens: Token[] = [];
	let position = 0;
	while (position < soql.length) {
		const rest = soql.slice(position);
		const whitespace = /^\s+/.exec(rest);
		if (whitespace) {
			position += whitespace[0].length;
			continue;
		}
		if (rest[0] === "'") {
			const token = readString(soql, position);
			tokens.push(token);
			position += token.text.length;
			continue;
		}
		const datetime = DATETIME_PATTERN.exec(rest);
		if (datetime) {
			const iso = datetime[0].replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
			const ms = Date.parse(iso);
			if (Number.isNaN(ms))
				throw malformedQuery(soql, position, `invalid datetime: ${datetime[0]}`);
			tokens.push({ kind: 'datetime', ms, position, text: datetime[0] });
			position += datetime[0].length;
			continue;
		}
		const date = DATE_PATTERN.exec(rest);
		if (date) {
			tokens.push({ kind: 'date', text: date[0], position });
			position += date[0].length;
			continue;
		}
		const number = NUMBER_PATTERN.exec(rest);
		if (number && (/\d/.test(rest[0]) || /^[+-.]\d/.test(rest))) {
			tokens.push({ kind: 'number', value: Number(number[0]), position, text: number[0] });
			position += number[0].length;
			continue;
		}
		const identifier = IDENTIFIER_PATTERN.exec(rest);
		if (identifier) {
			tokens.push({ kind: 'identifier', text: identifier[0], position });
			position += identifier[0].length;
			continue;
		}
		const punctuation = PUNCTUATION.find((candidate) => rest.startsWith(candidate));
		if (punctuation) {
			tokens.push({ kind: 'punctuation', text: punctuation, position });
			position += punctuation.length;
			continue;
		}
		throw malformedQuery(soql, position, `unexpected token: '${rest[0]}'`);
	}
	tokens.push({ kind: 'end', position: soql.length, text: '<EOF>' });
	return tokens;
}

function readString(soql: string, start: number): Token {
	let value = '';
	let likeSource = '';
	let position = start + 1;
	while (position < soql.length) {
		const char = soql[position];
		if (char === "'") {
			return {
				kind: 'string',
				value,
				likeSource,
				position: start,
				text: soql.slice(start, position + 1),
			};
		}
		if (char === '\\') {
			const next = soql[position + 1];
			if (next === '%' || next === '_') {
				value += next;
				likeSource += regexEscape(next);
			} else if (next !== undefined && next in STRING_ESCAPES) {
				value += STRING_ESCAPES[next];
				likeSource += regexEscape(STRING_ESCAPES[next]);
			} else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(soql.slice(position + 2, position + 6))) {
				const decoded = String.fromCharCode(parseInt(soql.slice(position + 2, position + 6), 16));
				value += decoded;
				likeSource += regexEscape(decoded);
				position += 4;
			} else {
				throw malformedQuery(
					soql,
					start,
					`Invalid string literal '${soql.slice(start + 1, position + 2)}'. Illegal escape sequence '\\${next ?? ''}'`,
				);
			}
			position += 2;
			continue;
		}
		value += char;
		likeSource += char === '%' ? '.*' : char === '_' ? '.' : regexEscape(char);
		position++;
	}
	throw malformedQuery(soql, start, `unexpected token: '${soql.slice(start)}'`);
}
