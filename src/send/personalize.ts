import { Drop, Liquid, toValue, type Template } from 'liquidjs';

import { InvalidInputError } from '../errors';
import type { UserProfile } from '../store/campaign-store';

/**
 * Message personalization with Liquid (liquidjs): subjects, bodies, URLs, headers and the
 * HTTP channel's JSON body are templates rendered against one context per user and send.
 */

/**
 * The user a message goes to: the identity fields, then every profile attribute flattened
 * next to them, so `{{ user.first_name }}` reads the `first_name` attribute.
 *
 * The identity fields always come from the profile's own fields (or the item's user id): an
 * attribute called `id`, `email`, `phone` or `timeZone` never shadows them and is reachable
 * only as `profile.attributes.email`. Absent values are absent (not `null`), so that
 * strict variables report them.
 */
export interface PersonalizationUser {
	id: string;
	email?: string;
	phone?: string;
	/** IANA zone, e.g. `Europe/Berlin`: `{{ event.occurredAt | date: "%H:%M", user.timeZone }}`. */
	timeZone?: string;
	[attribute: string]: unknown;
}

/** The stored profile as the store holds it, with `updatedAt` as an ISO string for `date`. */
export interface PersonalizationProfile {
	userId: string;
	email?: string;
	phone?: string;
	timeZone?: string;
	unsubscribed: boolean;
	attributes: Record<string, unknown>;
	/** e.g. `{{ profile.externalIds.intercom }}`. */
	externalIds: Record<string, string>;
	updatedAt?: string;
}

/**
 * What templates can read. Two views of the profile, on purpose:
 *
 * - `user.*`: the short form for message copy: `user.id`, `user.email`, `user.phone`,
 *   `user.timeZone` and every attribute flattened (`user.plan`, `user.first_name`);
 * - `profile.*`: the stored profile unchanged: `profile.attributes.plan`,
 *   `profile.externalIds.salesforce`, `profile.unsubscribed`. Absent when the user has no
 *   stored profile, so `profile.attributes.plan` is then an undefined variable.
 *
 * `event` is the trigger event (`event.properties.cart_id`), `occurredAt` an ISO-8601 UTC
 * string that the `date` filter reads (dates print in UTC unless the filter names a zone).
 * `message` is set for the HTTP channel's body and holds the rendered message
 * (`{{ message.body }}`). Build it with {@link buildPersonalizationContext}.
 */
export interface PersonalizationContext {
	user: PersonalizationUser;
	profile?: PersonalizationProfile;
	event: { name?: string; properties: Record<string, unknown>; occurredAt?: string };
	campaign: { id: string; entryId?: string };
	variant: { name?: string };
	message?: { subject?: string; body?: string; headline?: string; imageUrl?: string };
}

export interface RenderOptions {
	/** A variable the context lacks fails the render instead of printing nothing. */
	strictVariables: boolean;
	/** The parameter the template came from, named in errors, e.g. `Body` or `variants[1].subject`. */
	field: string;
}

const IDENTITY_FIELDS = new Set(['id', 'email', 'phone', 'timeZone']);

/**
 * The context for one user and send. `event.occurredAt` may be epoch milliseconds or an ISO
 * string; the profile's `updatedAt` (epoch ms) becomes an ISO string.
 */
export function buildPersonalizationContext(input: {
	userId: string;
	profile?: Partial<UserProfile>;
	event?: { name?: string; properties?: Record<string, unknown>; occurredAt?: number | string };
	campaignId: string;
	entryId?: string;
	variant?: string;
	message?: PersonalizationContext['message'];
}): PersonalizationContext {
	const { profile } = input;
	const user: PersonalizationUser = { id: input.userId };
	for (const [name, value] of Object.entries(profile?.attributes ?? {})) {
		if (!IDENTITY_FIELDS.has(name) && name !== '__proto__') user[name] = value;
	}
	if (profile?.email !== undefined) user.email = profile.email;
	if (profile?.phone !== undefined) user.phone = profile.phone;
	if (profile?.timeZone !== undefined) user.timeZone = profile.timeZone;

	const context: PersonalizationContext = {
		user,
		event: { properties: input.event?.properties ?? {} },
		campaign: { id: input.campaignId },
		variant: {},
	};
	if (profile) {
		context.profile = {
			userId: profile.userId ?? input.userId,
			unsubscribed: profile.unsubscribed === true,
			attributes: profile.attributes ?? {},
			externalIds: profile.externalIds ?? {},
		};
		if (profile.email !== undefined) context.profile.email = profile.email;
		if (profile.phone !== undefined) context.profile.phone = profile.phone;
		if (profile.timeZone !== undefined) context.profile.timeZone = profile.timeZone;
		if (profile.updatedAt !== undefined) {
			context.profile.updatedAt = new Date(profile.updatedAt).toISOString();
		}
	}
	if (input.event?.name !== undefined) context.event.name = input.event.name;
	const occurredAt = input.event?.occurredAt;
	if (occurredAt !== undefined) {
		context.event.occurredAt =
			typeof occurredAt === 'number' ? new Date(occurredAt).toISOString() : occurredAt;
	}
	if (input.entryId !== undefined) context.campaign.entryId = input.entryId;
	if (input.variant !== undefined) context.variant.name = input.variant;
	if (input.message !== undefined) context.message = input.message;
	return context;
}

/**
 * The one engine of the process. Choices:
 * - `lenientIf`: with strict variables, `{% if user.plan %}` and a leading
 *   `| default: "there"` still accept a missing variable (that is what they are for);
 * - `strictFilters`: a misspelt filter is a syntax error, not silently skipped;
 * - no file access: `include`, `render` and `layout` are removed and there are no template
 *   files, so a template cannot read the n8n host's files;
 * - dates print in UTC with English names unless the `date` filter names a zone;
 * - `json` prints any value as JSON text (`null` for a missing one).
 */
const engine = new Liquid({
	lenientIf: true,
	strictFilters: true,
	templates: {},
	timezoneOffset: 0,
	locale: 'en-US',
	parseLimit: 1_000_000,
	renderLimit: 2_000,
	memoryLimit: 100_000_000,
});
for (const tag of ['include', 'render', 'layout']) delete engine.tags[tag];
/** Liquid's own values (`nil`, `empty`, `blank`, `forloop`) as the plain values they stand for. */
const plain = (_key: string, value: unknown): unknown =>
	value instanceof Drop ? (toValue(value) as unknown) : value;
engine.registerFilter('json', (value: unknown, space?: number) => {
	const text = JSON.stringify(value === undefined ? null : value, plain, space);
	return text === undefined ? 'null' : text;
});

/** Parsed templates, least recently used first; templates are few and reused for every user. */
const templateCache = new Map<string, Template[]>();
export const TEMPLATE_CACHE_MAX_ENTRIES = 500;
/** Longer templates are parsed every time rather than held. */
const TEMPLATE_CACHE_MAX_LENGTH = 100_000;

/** How many parsed templates the process holds (at most {@link TEMPLATE_CACHE_MAX_ENTRIES}). */
export const templateCacheSize = (): number => templateCache.size;

function parse(template: string): Template[] {
	const cached = templateCache.get(template);
	if (cached) {
		templateCache.delete(template);
		templateCache.set(template, cached);
		return cached;
	}
	const parsed = engine.parse(template);
	if (template.length <= TEMPLATE_CACHE_MAX_LENGTH) {
		if (templateCache.size >= TEMPLATE_CACHE_MAX_ENTRIES) {
			templateCache.delete(templateCache.keys().next().value as string);
		}
		templateCache.set(template, parsed);
	}
	return parsed;
}

const hasLiquid = (text: string): boolean => text.includes('{{') || text.includes('{%');

interface LiquidFailure extends Error {
	originalError?: unknown;
	variableName?: string;
}

/** The variable a strict render missed, from liquidjs's error or its cause. */
function undefinedVariable(error: LiquidFailure): string | undefined {
	for (let e: LiquidFailure | undefined = error; e; e = e.originalError as LiquidFailure) {
		if (typeof e.variableName === 'string') return e.variableName;
		if (e.name === 'UndefinedVariableError' || e.name === 'InternalUndefinedVariableError') {
			const match = /undefined variable: ([^,]+)/.exec(e.message);
			if (match) return match[1].trim();
		}
	}
	return undefined;
}

const isLiquidError = (error: unknown): error is LiquidFailure =>
	error instanceof Error &&
	/^(TokenizationError|ParseError|RenderError|UndefinedVariableError|LiquidErrors|AssertionError)$/.test(
		error.name,
	);

function toInputError(error: unknown, field: string, where: string): unknown {
	if (!isLiquidError(error)) return error;
	const variable = undefinedVariable(error);
	if (variable !== undefined) {
		return new InvalidInputError(field, `undefined variable "${variable}"${where}`);
	}
	if (error.name === 'TokenizationError' || error.name === 'ParseError') {
		return new InvalidInputError(field, `template syntax error${where}: ${error.message}`);
	}
	return new InvalidInputError(field, `template error${where}: ${error.message}`);
}

async function render(
	template: string,
	context: PersonalizationContext,
	options: RenderOptions,
	where: string,
): Promise<string> {
	if (!hasLiquid(template)) return template;
	let parsed: Template[];
	try {
		parsed = parse(template);
	} catch (error) {
		throw toInputError(error, options.field, where);
	}
	try {
		const output: unknown = await engine.render(parsed, context, {
			strictVariables: options.strictVariables,
		});
		return String(output);
	} catch (error) {
		throw toInputError(error, options.field, where);
	}
}

/**
 * Renders one Liquid template (a subject, body, URL or header). Standard Liquid filters work
 * (`default`, `upcase`, `date`, `escape`, `url_encode`, ...) plus `json`.
 *
 * Errors are {@link InvalidInputError}s naming `options.field`:
 * `Body: undefined variable "event.properties.cart_id"` (strict variables only) or
 * `Body: template syntax error: output "{{ user.name" not closed, line:1, col:1`.
 */
export async function renderTemplate(
	template: string,
	context: PersonalizationContext,
	options: RenderOptions,
): Promise<string> {
	return await render(template, context, options, '');
}

/** A string value that is a single output ending in `| json`: it stands for a JSON value. */
const JSON_VALUE_LEAF =
	/^\s*\{\{-?(?:(?!\}\}|\{\{|\{%)[\s\S])*\|\s*json\s*(?::\s*\d+\s*)?-?\}\}\s*$/;

function pathOf(parent: string, key: string | number): string {
	if (typeof key === 'number') return `${parent}[${key}]`;
	if (/^[A-Za-z_$][\w$]*$/.test(key)) return parent ? `${parent}.${key}` : key;
	return `${parent}[${JSON.stringify(key)}]`;
}

/**
 * Renders the strings of an already parsed JSON value (see {@link renderJsonTemplate});
 * for a parameter n8n hands over as an object.
 */
export async function renderJsonValue(
	value: unknown,
	context: PersonalizationContext,
	options: RenderOptions,
	path = '',
): Promise<unknown> {
	if (typeof value === 'string') {
		const where = path ? ` (at ${path})` : '';
		const text = await render(value, context, options, where);
		if (text === value || !JSON_VALUE_LEAF.test(value)) return text;
		try {
			return JSON.parse(text) as unknown;
		} catch (error) {
			throw new InvalidInputError(
				options.field,
				`"| json" did not give JSON${where}: ${(error as Error).message}`,
			);
		}
	}
	if (Array.isArray(value)) {
		const items: unknown[] = [];
		for (let i = 0; i < value.length; i++) {
			items.push(await renderJsonValue(value[i], context, options, pathOf(path, i)));
		}
		return items;
	}
	if (typeof value === 'object' && value !== null) {
		const result: Record<string, unknown> = {};
		for (const [key, item] of Object.entries(value)) {
			const rendered = await renderJsonValue(item, context, options, pathOf(path, key));
			Object.defineProperty(result, key, {
				value: rendered,
				enumerable: true,
				writable: true,
				configurable: true,
			});
		}
		return result;
	}
	return value;
}

/**
 * Renders a JSON body template: the template must be JSON itself, and each of its string
 * values is a Liquid template rendered on its own (keys, numbers, booleans and null stay).
 *
 * Why not render the text and parse the result: values would land inside JSON text, so an
 * email, name or cart item holding `"`, `\` or a line break would break the body or inject
 * fields unless every single output remembered `| json`. Rendering string values after
 * parsing makes every inserted value a JavaScript string, escaped by the JSON encoder when
 * sent: there is nothing to forget.
 *
 * For a value that is not a string (a number, boolean, array or object), make the whole
 * string a single output ending in `| json`; it is replaced by that JSON value:
 *
 * ```json
 * { "to": "{{ user.phone }}", "text": "Hi {{ user.first_name | default: \"there\" }}",
 *   "amount": "{{ event.properties.total | json }}", "items": "{{ event.properties.items | json }}" }
 * ```
 *
 * An empty template gives `undefined` (no body). A template that is not JSON fails with an
 * {@link InvalidInputError} naming `options.field`; render errors also say where, e.g.
 * `Body Template: undefined variable "user.phone" (at to)`.
 */
export async function renderJsonTemplate(
	template: string,
	context: PersonalizationContext,
	options: RenderOptions,
): Promise<unknown> {
	if (template.trim() === '') return undefined;
	let parsed: unknown;
	try {
		parsed = JSON.parse(template);
	} catch (error) {
		throw new InvalidInputError(
			options.field,
			`is not valid JSON (${(error as Error).message}). Put Liquid inside JSON strings, e.g. {"text": "Hi {{ user.first_name }}", "count": "{{ event.properties.count | json }}"}.`,
		);
	}
	return await renderJsonValue(parsed, context, options);
}
