import { readFileSync } from 'node:fs';

import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Validates HTTP requests (and responses) against an OpenAPI 3.0 description with Ajv: the
 * operation must exist, its header parameters and security must be met, and the JSON body
 * must match the operation's schema, `$ref`s resolved.
 *
 * OpenAPI 3.0 schemas are not quite JSON Schema; `toJsonSchema` bridges the one difference
 * that changes what validates, `nullable`, and the draft-4 boolean `exclusiveMinimum/Maximum`.
 * Annotations (`example`, `x-*`, ...) are ignored by Ajv in non-strict mode.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OpenApiDocument = Record<string, any>;

type Schema = Record<string, unknown>;

const ROOT_ID = 'openapi-document';

export function loadOpenApi(file: string): OpenApiDocument {
	return parse(readFileSync(file, 'utf8')) as OpenApiDocument;
}

const isObject = (value: unknown): value is Schema =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions']);
const SCHEMA_VALUES = new Set(['items', 'additionalProperties', 'not']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf']);
const DROPPED = new Set(['nullable', 'example', 'discriminator', 'xml', 'externalDocs']);

/** One OpenAPI 3.0 Schema Object as JSON Schema (draft-07), local `$ref`s made absolute. */
export function toJsonSchema(schema: unknown): unknown {
	if (!isObject(schema)) return schema;
	const out: Schema = {};
	for (const [key, value] of Object.entries(schema)) {
		if (DROPPED.has(key) || key.startsWith('x-')) continue;
		if (SCHEMA_MAPS.has(key) && isObject(value)) {
			out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v)]));
		} else if (SCHEMA_VALUES.has(key)) {
			out[key] = toJsonSchema(value);
		} else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
			out[key] = value.map(toJsonSchema);
		} else if (key === '$ref' && typeof value === 'string' && value.startsWith('#/')) {
			out[key] = `${ROOT_ID}${value}`;
		} else {
			out[key] = value;
		}
	}
	for (const bound of ['Minimum', 'Maximum'] as const) {
		const flag = out[`exclusive${bound}`];
		if (typeof flag === 'boolean') {
			const limit = out[bound.toLowerCase()];
			delete out[`exclusive${bound}`];
			if (flag && typeof limit === 'number') {
				out[`exclusive${bound}`] = limit;
				delete out[bound.toLowerCase()];
			}
		}
	}
	if (schema.nullable === true) {
		if (typeof out.type === 'string') {
			out.type = [out.type, 'null'];
			if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
		} else if (!Array.isArray(out.type)) {
			return { anyOf: [out, { type: 'null' }] };
		}
	}
	return out;
}

export interface ValidatedRequest {
	method: string;
	/** The path after the server's base URL, without a query string. */
	path: string;
	headers: Record<string, string>;
	body?: unknown;
}

export interface OpenApiOperation {
	path: string;
	method: string;
	operationId?: string;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	operation: Record<string, any>;
}

const describeErrors = (where: string, errors: ErrorObject[] | null | undefined): string[] =>
	(errors ?? []).map(
		(e) =>
			`${where}${e.instancePath || '/'} ${e.message ?? 'is invalid'}${
				e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''
			}`,
	);

export class OpenApiValidator {
	private readonly ajv: Ajv;
	private readonly compiled = new Map<unknown, ValidateFunction>();

	constructor(readonly document: OpenApiDocument) {
		this.ajv = new Ajv({ strict: false, allErrors: true });
		addFormats(this.ajv);
		const schemas = (document.components?.schemas ?? {}) as Record<string, unknown>;
		this.ajv.addSchema(
			{
				$id: ROOT_ID,
				components: {
					schemas: Object.fromEntries(
						Object.entries(schemas).map(([name, schema]) => [name, toJsonSchema(schema)]),
					),
				},
			},
			ROOT_ID,
		);
	}

	/** The operation for a method and a concrete path: literal paths before templated ones. */
	operation(method: string, path: string): OpenApiOperation | undefined {
		const m = method.toLowerCase();
		const paths = (this.document.paths ?? {}) as Record<string, Record<string, unknown>>;
		const templates = Object.keys(paths).sort(
			(a, b) => Number(a.includes('{')) - Number(b.includes('{')),
		);
		for (const template of templates) {
			const pattern = new RegExp(
				`^${template
					.split(/\{[^}]+\}/)
					.map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
					.join('[^/]+')}$`,
			);
			const operation = paths[template][m];
			if (pattern.test(path) && isObject(operation)) {
				return {
					path: template,
					method: m,
					operationId: operation.operationId as string | undefined,
					operation,
				};
			}
		}
		return undefined;
	}

	/** Validates a value against `#/components/schemas/<name>` or an inline OpenAPI schema. */
	validateSchema(schema: string | unknown, value: unknown, where = 'body'): string[] {
		const source = typeof schema === 'string' ? { $ref: `#/components/schemas/${schema}` } : schema;
		const key = typeof schema === 'string' ? schema : source;
		let validate = this.compiled.get(key);
		if (!validate) {
			validate = this.ajv.compile(toJsonSchema(source) as Schema);
			this.compiled.set(key, validate);
		}
		return validate(value) ? [] : describeErrors(where, validate.errors);
	}

	/** Everything wrong with a request, or [] when the description allows it. */
	validateRequest(request: ValidatedRequest): string[] {
		const found = this.operation(request.method, request.path);
		if (!found) return [`${request.method} ${request.path}: no such operation in the description`];
		const { operation } = found;
		const errors: string[] = [];
		const header = (name: string): string | undefined => {
			const key = Object.keys(request.headers).find((k) => k.toLowerCase() === name.toLowerCase());
			return key === undefined ? undefined : request.headers[key];
		};

		const pathItem = this.document.paths[found.path] as Schema;
		const parameters = [
			...((pathItem.parameters as Schema[] | undefined) ?? []),
			...((operation.parameters as Schema[] | undefined) ?? []),
		].map((p) => this.resolve(p));
		for (const parameter of parameters.filter((p) => p.in === 'header')) {
			const name = String(parameter.name);
			const value = header(name);
			if (value === undefined) {
				if (parameter.required === true) errors.push(`header ${name} is required`);
				continue;
			}
			if (parameter.schema) {
				errors.push(...this.validateSchema(parameter.schema, value, `header ${name}`));
			}
		}

		const security = (operation.security ?? this.document.security ?? []) as Array<
			Record<string, unknown>
		>;
		if (security.length > 0) {
			const schemes = (this.document.components?.securitySchemes ?? {}) as Record<string, Schema>;
			const met = security.some((requirement) =>
				Object.keys(requirement).every((name) => {
					const scheme = schemes[name];
					if (scheme?.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer') {
						return /^Bearer \S+$/.test(header('Authorization') ?? '');
					}
					if (scheme?.type === 'apiKey' && scheme.in === 'header') {
						return header(String(scheme.name)) !== undefined;
					}
					return false;
				}),
			);
			if (!met) errors.push(`security ${JSON.stringify(security)} is not met`);
		}

		const requestBody = operation.requestBody ? this.resolve(operation.requestBody) : undefined;
		if (request.body === undefined) {
			if (requestBody?.required === true) errors.push('the request body is required');
			return errors;
		}
		if (!requestBody) return [...errors, 'the operation takes no request body'];
		const mediaType = (header('Content-Type') ?? '').split(';')[0].trim().toLowerCase();
		const content = (requestBody.content ?? {}) as Record<string, Schema>;
		if (!content[mediaType]) {
			errors.push(`Content-Type "${mediaType}" is not one of ${Object.keys(content).join(', ')}`);
			return errors;
		}
		if (content[mediaType].schema) {
			errors.push(...this.validateSchema(content[mediaType].schema, request.body));
		}
		return errors;
	}

	/** Everything wrong with a JSON answer to an operation, by its documented status. */
	validateResponse(method: string, path: string, status: number, body: unknown): string[] {
		const found = this.operation(method, path);
		if (!found) return [`${method} ${path}: no such operation in the description`];
		const responses = (found.operation.responses ?? {}) as Record<string, unknown>;
		const documented =
			responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
		if (!documented) return [`${method} ${path}: status ${status} is not documented`];
		const schema = (this.resolve(documented).content as Record<string, Schema> | undefined)?.[
			'application/json'
		]?.schema;
		return schema ? this.validateSchema(schema, body, `response ${status}`) : [];
	}

	/** Follows a local `$ref` to a parameter, request body or response object. */
	private resolve(value: unknown): Schema {
		let current = value;
		for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
			if (hops > 10) throw new Error(`$ref loop at ${current.$ref}`);
			current = (current.$ref as string)
				.replace(/^#\//, '')
				.split('/')
				.map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
				.reduce<unknown>((node, part) => (isObject(node) ? node[part] : undefined), this.document);
		}
		if (!isObject(current)) throw new Error('unresolvable $ref');
		return current;
	}
}
