/** An error the REST API reports as `[{errorCode, message}]` with an HTTP status. */
export class SalesforceApiError extends Error {
	constructor(
		readonly status: number,
		readonly errorCode: string,
		message: string,
	) {
		super(message);
	}
}

/** Salesforce prefixes query errors with the statement, a caret and the row/column. */
export function queryErrorMessage(soql: string, position: number, detail: string): string {
	const lineStart = soql.lastIndexOf('\n', position - 1) + 1;
	const row = soql.slice(0, lineStart).split('\n').length;
	const column = position - lineStart + 1;
	const line = soql.slice(lineStart).split('\n')[0];
	return `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`;
}

export function malformedQuery(soql: string, position: number, detail: string): SalesforceApiError {
	return new SalesforceApiError(400, 'MALFORMED_QUERY', queryErrorMessage(soql, position, detail));
}
