/**
 * Errors the engine throws. Each has a stable `code`; the n8n adapters map them to
 * NodeOperationError (or an HTTP status in the trigger) at the edge.
 */
export class CampaignError extends Error {
	constructor(
		readonly code: string,
		message: string,
	) {
		super(message);
		this.name = new.target.name;
	}
}

/**
 * An input value is wrong; `field` is its path, e.g. `batch[3].timestamp`, for programs. The
 * message starts with `label` when given: the words the node panel shows, e.g.
 * `Property Filters › row 1`, so a person can find the setting.
 */
export class InvalidInputError extends CampaignError {
	constructor(
		readonly field: string,
		message: string,
		readonly label?: string,
	) {
		super('invalid_input', `${label ?? field}: ${message}`);
	}
}

/** The store cannot be opened or reached; the message says what to fix. */
export class StoreUnavailableError extends CampaignError {
	constructor(message: string, options?: { cause?: unknown }, code = 'store_unavailable') {
		super(code, message);
		if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
	}
}

/**
 * The store's settings cannot work: an unreadable credential, a wrong password, a database or
 * schema that does not exist, missing rights, a Node.js or package version. Retrying the same
 * request does not help until someone changes the settings, which the message names; the
 * trigger answers 500 for it, and 503 only for a store that is unreachable for now.
 */
export class StoreConfigurationError extends StoreUnavailableError {
	constructor(message: string, options?: { cause?: unknown }, code = 'store_configuration') {
		super(message, options, code);
	}
}

/** The store was created by a newer version of this package. */
export class SchemaVersionError extends StoreConfigurationError {
	constructor(found: number, supported: number) {
		super(
			`The campaign store has schema version ${found}, but this version of n8n-nodes-triggered-campaigns supports up to ${supported}. Update the package on every n8n process (main and workers).`,
			undefined,
			'schema_version',
		);
	}
}
