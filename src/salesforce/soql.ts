/**
 * Safe SOQL building for the Salesforce segment sync. Framework-free: no jsforce, no I/O.
 *
 * Rules (see docs "Quoted String Escape Sequences" in the SOQL and SOSL reference):
 * - Values are never spliced raw into a statement: strings go through {@link escapeSoqlString}
 *   (or {@link escapeSoqlLike} for `LIKE` patterns) inside single quotes, other values through
 *   {@link soqlLiteral}.
 * - Object and field names go through {@link assertSoqlIdentifier}, which rejects anything that
 *   is not a plain API name; a rejected name never reaches a query.
 * - The user-written `where` condition of {@link buildSegmentQuery} is checked by
 *   {@link assertSoqlCondition} so that it cannot change the structure of the statement.
 */
import { InvalidInputError } from '../errors';

/** Named escapes from the SOQL reference; other control characters become `\uXXXX`. */
const STRING_ESCAPES: Readonly<Record<string, string>> = {
	'\\': '\\\\',
	"'": "\\'",
	'"': '\\"',
	'\n': '\\n',
	'\r': '\\r',
	'\t': '\\t',
	'\b': '\\b',
	'\f': '\\f',
};

// eslint-disable-next-line no-control-regex
const STRING_SPECIALS = /[\\'"\n\r\t\b\f\u0000-\u001f\u007f]/g;
// eslint-disable-next-line no-control-regex
const LIKE_SPECIALS = /[\\'"\n\r\t\b\f\u0000-\u001f\u007f%_]/g;

function escapeChar(ch: string): string {
	const named = STRING_ESCAPES[ch];
	if (named !== undefined) return named;
	if (ch === '%' || ch === '_') return `\\${ch}`;
	return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Escapes `value` for use between single quotes in SOQL: backslash first (`\` → `\\`), then
 * `'` → `\'`, `"` → `\"`, newline, carriage return, tab, backspace/bell and form feed as `\n`,
 * `\r`, `\t`, `\b`, `\f`. Any other control character becomes a `\uXXXX` escape. Does not add
 * the quotes. Not for `LIKE` patterns: use {@link escapeSoqlLike} there.
 */
export function escapeSoqlString(value: string): string {
	return value.replace(STRING_SPECIALS, escapeChar);
}

/**
 * As {@link escapeSoqlString}, and also escapes the `LIKE` wildcards `%` → `\%` and `_` → `\_`,
 * so that the value matches literally. Add your own unescaped `%` around it for contains/prefix.
 */
export function escapeSoqlLike(value: string): string {
	return value.replace(LIKE_SPECIALS, escapeChar);
}

const DATETIME_LITERAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * Formats a JavaScript value as a SOQL literal:
 * - string → `'escaped'` ({@link escapeSoqlString});
 * - finite number → its decimal form (`42`, `-1.5`); numbers JavaScript would write in exponent
 *   notation (`1e21`, `1e-7`) are rejected, SOQL has no exponent form;
 * - boolean → `true` / `false`; null → `null`;
 * - valid Date → unquoted UTC dateTime literal `YYYY-MM-DDThh:mm:ssZ` (milliseconds dropped),
 *   years 0000–9999 only.
 *
 * Anything else (undefined, objects, arrays, NaN, Infinity, bigint, invalid dates) throws
 * {@link InvalidInputError} naming `field`.
 */
export function soqlLiteral(value: unknown, field: string): string {
	if (typeof value === 'string') return `'${escapeSoqlString(value)}'`;
	if (typeof value === 'boolean') return value ? 'true' : 'false';
	if (value === null) return 'null';
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) {
			throw new InvalidInputError(
				field,
				`${String(value)} is not a SOQL value; pass a finite number, or leave the filter out.`,
			);
		}
		const text = String(value);
		if (/e/i.test(text)) {
			throw new InvalidInputError(
				field,
				`${text} would need exponent notation, which SOQL does not support; use a number between 1e-6 and 1e21 in magnitude, or 0.`,
			);
		}
		return text;
	}
	if (value instanceof Date) {
		const time = value.getTime();
		const text = Number.isNaN(time) ? '' : value.toISOString().replace(/\.\d{3}Z$/, 'Z');
		if (!DATETIME_LITERAL.test(text)) {
			throw new InvalidInputError(
				field,
				'is an invalid or out-of-range date; pass a valid Date between the years 0000 and 9999.',
			);
		}
		return text;
	}
	const kind = Array.isArray(value) ? 'an array' : value === undefined ? 'undefined' : typeof value;
	throw new InvalidInputError(
		field,
		`is ${kind}, which has no SOQL literal form; pass a string, finite number, boolean, null or Date.`,
	);
}

/** Suffixes Salesforce appends to custom and special API names (case-insensitive in SOQL). */
const API_NAME_SUFFIXES = [
	'c',
	'r',
	'x',
	'e',
	'b',
	'mdt',
	's',
	'pc',
	'pr',
	'kav',
	'ka',
	'share',
	'history',
	'feed',
	'changeevent',
	'chn',
	'latitude__s',
	'longitude__s',
];

/** A word: letter first, then letters/digits, single underscores between them, none trailing. */
const WORD = '[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*';
/** `Name[__suffix]` or `namespace__Name__suffix`, e.g. `Name`, `Trial_End__c`, `acme__Score__c`. */
const SUFFIX = `__(?:${API_NAME_SUFFIXES.join('|')})`;
const API_NAME = new RegExp(`^(?:${WORD}(?:${SUFFIX})?|${WORD}__${WORD}${SUFFIX})$`, 'i');
/** Salesforce allows at most five parent levels in a relationship path. */
const MAX_RELATIONSHIP_SEGMENTS = 6;
const MAX_SEGMENT_LENGTH = 80;

function describeName(name: unknown): string {
	return typeof name === 'string' ? JSON.stringify(name) : String(name);
}

/**
 * Checks that `name` is a Salesforce object or field API name and returns it unchanged.
 *
 * A name is `Word[__suffix]` or `namespace__Word__suffix` (a namespace needs a suffix), where a
 * word starts with a letter, holds letters, digits and single underscores, and does not end in
 * `_`; the suffix is one of `__c`, `__r`,
 * `__x`, `__e`, `__b`, `__mdt`, `__s`, `__pc`, `__pr`, `__kav`, `__ka`, `__share`, `__history`,
 * `__feed`, `__changeevent`, `__chn`, `__latitude__s`, `__longitude__s`. Examples: `Name`,
 * `Trial_End__c`, `acme__Score__c`.
 *
 * With `allowRelationship`, dotted paths of up to six such names are allowed
 * (`Account.Name`, `Owner.Manager.Email`). Anything else — empty, spaces, quotes, parentheses,
 * semicolons, `--`, a leading digit, a dot without `allowRelationship` — throws
 * {@link InvalidInputError} naming `field` and the rejected name.
 */
export function assertSoqlIdentifier(
	name: string,
	field: string,
	options: { allowRelationship?: boolean } = {},
): string {
	const fail = (why: string): never => {
		throw new InvalidInputError(field, `${describeName(name)} is not a valid ${why}`);
	};
	if (typeof name !== 'string' || name === '') {
		return fail(
			'Salesforce API name; enter the API name from Setup → Object Manager, e.g. Name or Trial_End__c.',
		);
	}
	const segments = name.split('.');
	if (segments.length > 1 && !options.allowRelationship) {
		return fail(
			'Salesforce API name here: relationship paths (with dots) are not allowed; enter a single API name such as Name or Trial_End__c.',
		);
	}
	if (segments.length > MAX_RELATIONSHIP_SEGMENTS) {
		return fail(
			'relationship path: SOQL allows at most five parent levels; shorten it, e.g. Account.Owner.Email.',
		);
	}
	for (const segment of segments) {
		if (segment.length > MAX_SEGMENT_LENGTH || !API_NAME.test(segment)) {
			return fail(
				'Salesforce API name; use letters, digits and single underscores, starting with a letter, with an optional namespace (ns__) and suffix (__c, __r, …), e.g. Trial_End__c or Account.Name.',
			);
		}
	}
	return name;
}

/** Keywords (outside string literals) that would end or restructure the `WHERE` clause. */
const FORBIDDEN_SEQUENCES: ReadonlyArray<readonly string[]> = [
	['LIMIT'],
	['OFFSET'],
	['ORDER', 'BY'],
	['GROUP', 'BY'],
	['HAVING'],
	['FOR', 'UPDATE'],
	['FOR', 'VIEW'],
	['FOR', 'REFERENCE'],
	['UPDATE', 'TRACKING'],
	['UPDATE', 'VIEWSTAT'],
	['ALL', 'ROWS'],
	['WITH', 'SECURITY_ENFORCED'],
	['WITH', 'USER_MODE'],
	['WITH', 'SYSTEM_MODE'],
];

interface Word {
	upper: string;
	pos: number;
	depth: number;
	/** Only whitespace between the previous word and this one. */
	followsWord: boolean;
}

const VALID_ESCAPES = new Set([
	'n',
	'N',
	'r',
	'R',
	't',
	'T',
	'b',
	'B',
	'f',
	'F',
	'"',
	"'",
	'\\',
	'_',
	'%',
]);

/**
 * Checks a user-written SOQL condition (the part after `WHERE`) and returns it trimmed.
 *
 * Text inside single-quoted string literals is skipped; literals use backslash escapes
 * (`\'`, `\\`, `\n`, `\uXXXX`, …), not doubled quotes — `'it''s'` is read as two adjacent
 * literals. Outside literals the condition must not contain:
 * - an unterminated literal, an invalid backslash escape, or a double quote (`"`);
 * - unbalanced parentheses;
 * - `;`, `--`, `/*` or `*\/`;
 * - `LIMIT`, `OFFSET`, `ORDER BY`, `GROUP BY`, `HAVING`, `FOR UPDATE|VIEW|REFERENCE`,
 *   `UPDATE TRACKING|VIEWSTAT`, `ALL ROWS`, `WITH SECURITY_ENFORCED|USER_MODE|SYSTEM_MODE`
 *   at any depth;
 * - `SELECT` or `FROM` outside parentheses (a semi-join such as
 *   `Id IN (SELECT ContactId FROM CampaignMember)` is allowed).
 *
 * Otherwise throws {@link InvalidInputError} naming `field` (default `where`), what was found
 * and its 1-based character position.
 */
export function assertSoqlCondition(condition: string, field = 'where'): string {
	const fail = (what: string, pos: number, fix: string): never => {
		throw new InvalidInputError(field, `found ${what} at character ${pos + 1}; ${fix}`);
	};
	if (typeof condition !== 'string') {
		return fail('a non-string value', 0, "enter the condition as text, e.g. Status__c = 'Active'.");
	}
	const text = condition.trim();
	const words: Word[] = [];
	const openParens: number[] = [];
	let lastWordEnd = -1;
	let i = 0;
	while (i < text.length) {
		const ch = text[i];
		if (ch === "'") {
			const start = i;
			i++;
			for (;;) {
				if (i >= text.length) {
					return fail(
						'a string literal that is never closed',
						start,
						"close it with ' (write a quote inside a literal as \\').",
					);
				}
				const c = text[i];
				if (c === "'") break;
				if (c === '\\') {
					const next = text[i + 1] ?? '';
					if (next === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) {
						i += 6;
						continue;
					}
					if (!VALID_ESCAPES.has(next)) {
						return fail(
							`an invalid escape \\${next}`,
							i,
							'inside a literal use \\\\ for a backslash, \\\' for a quote, or \\n, \\r, \\t, \\b, \\f, \\", \\_, \\%, \\uXXXX.',
						);
					}
					i += 2;
					continue;
				}
				i++;
			}
			i++;
			lastWordEnd = -1;
			continue;
		}
		if (/[A-Za-z0-9_.]/.test(ch)) {
			const start = i;
			while (i < text.length && /[A-Za-z0-9_.]/.test(text[i])) i++;
			const followsWord = lastWordEnd >= 0 && /^\s*$/.test(text.slice(lastWordEnd, start));
			words.push({
				upper: text.slice(start, i).toUpperCase(),
				pos: start,
				depth: openParens.length,
				followsWord,
			});
			lastWordEnd = i;
			continue;
		}
		if (ch === ';') {
			return fail("';'", i, 'a filter is a single condition; remove the semicolon.');
		}
		if (ch === '"') {
			return fail('a double quote (")', i, "SOQL strings use single quotes, e.g. Name = 'Acme'.");
		}
		for (const marker of ['--', '/*', '*/']) {
			if (text.startsWith(marker, i)) {
				return fail(`'${marker}'`, i, 'SOQL has no comments; remove it.');
			}
		}
		if (ch === '(') openParens.push(i);
		if (ch === ')') {
			if (openParens.length === 0) {
				return fail("a ')' without a matching '('", i, 'remove it or add the missing (.');
			}
			openParens.pop();
		}
		if (!/\s/.test(ch)) lastWordEnd = -1;
		i++;
	}
	if (openParens.length > 0) {
		return fail(
			"a '(' that is never closed",
			openParens[openParens.length - 1],
			'add the missing ) or remove it.',
		);
	}
	for (let w = 0; w < words.length; w++) {
		const word = words[w];
		for (const sequence of FORBIDDEN_SEQUENCES) {
			const matches = sequence.every((part, k) => {
				const candidate = words[w + k];
				return (
					candidate !== undefined && candidate.upper === part && (k === 0 || candidate.followsWord)
				);
			});
			if (matches) {
				return fail(
					sequence.join(' '),
					word.pos,
					'the sync sets the rest of the query itself; the filter may only contain conditions.',
				);
			}
		}
		if ((word.upper === 'SELECT' || word.upper === 'FROM') && word.depth === 0) {
			return fail(
				`${word.upper} outside parentheses`,
				word.pos,
				'write only the condition after WHERE; a subquery must be in parentheses, e.g. Id IN (SELECT ContactId FROM CampaignMember).',
			);
		}
	}
	return text;
}

export interface SegmentQuerySpec {
	/** Object API name, e.g. `Contact` or `acme__Member__c`. */
	object: string;
	/** Field API names to select; relationship paths allowed. Deduplicated case-insensitively. */
	fields: string[];
	/** User-written SOQL condition, checked by {@link assertSoqlCondition}. Blank = none. */
	where?: string;
	/** Only records modified at or after this instant (`SystemModstamp >= …`). */
	modstampSince?: Date;
	/**
	 * Also select `IsDeleted`, so deleted rows can be told apart. SOQL itself cannot include
	 * deleted rows: run the query through the queryAll endpoint when this is set.
	 */
	includeDeleted?: boolean;
	/** The only supported order: `SystemModstamp, Id` (stable paging). */
	orderBy?: 'SystemModstamp';
	/**
	 * No `ORDER BY`: Salesforce returns the rows in the order it reads them, which for a Bulk
	 * API 2.0 job is what lets it split the read into primary-key chunks (an `ORDER BY` turns
	 * that off). For reads whose outcome does not depend on the order.
	 */
	unordered?: boolean;
}

/**
 * Builds the segment sync query:
 * `SELECT Id, SystemModstamp[, IsDeleted], <fields> FROM <object>
 *  [WHERE (<where>) AND SystemModstamp >= <dateTime>] ORDER BY SystemModstamp, Id`
 * (`ORDER BY` left out when `unordered`; on one line; the `WHERE` holds whichever of the condition and the modstamp filter apply).
 * Every name is checked with {@link assertSoqlIdentifier}, the condition with
 * {@link assertSoqlCondition}; fields are deduplicated case-insensitively (SOQL rejects
 * duplicates), keeping the first spelling. Throws {@link InvalidInputError} on bad input.
 */
export function buildSegmentQuery(spec: SegmentQuerySpec): string {
	const object = assertSoqlIdentifier(spec.object, 'object');
	if (spec.orderBy !== undefined && spec.orderBy !== 'SystemModstamp') {
		throw new InvalidInputError(
			'orderBy',
			`${describeName(spec.orderBy)} is not supported; use 'SystemModstamp' or leave it out.`,
		);
	}
	if (spec.unordered === true && spec.orderBy !== undefined) {
		throw new InvalidInputError('unordered', 'cannot be combined with orderBy; set one of them.');
	}
	if (!Array.isArray(spec.fields)) {
		throw new InvalidInputError('fields', 'must be a list of field API names, e.g. ["Email"].');
	}
	const selected = ['Id', 'SystemModstamp'];
	if (spec.includeDeleted) selected.push('IsDeleted');
	const seen = new Set(selected.map((name) => name.toLowerCase()));
	spec.fields.forEach((name, index) => {
		const checked = assertSoqlIdentifier(name, `fields[${index}]`, { allowRelationship: true });
		const key = checked.toLowerCase();
		if (seen.has(key)) return;
		seen.add(key);
		selected.push(checked);
	});

	const conditions: string[] = [];
	if (spec.where !== undefined && spec.where.trim() !== '') {
		conditions.push(`(${assertSoqlCondition(spec.where, 'where')})`);
	}
	if (spec.modstampSince !== undefined) {
		if (!(spec.modstampSince instanceof Date)) {
			throw new InvalidInputError('modstampSince', 'must be a Date; pass new Date(isoString).');
		}
		conditions.push(`SystemModstamp >= ${soqlLiteral(spec.modstampSince, 'modstampSince')}`);
	}
	const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
	const order = spec.unordered === true ? '' : ' ORDER BY SystemModstamp, Id';
	return `SELECT ${selected.join(', ')} FROM ${object}${where}${order}`;
}
