/** CSV the way Bulk API 2.0 writes it: LF line endings, comma delimiter, nulls as empty fields. */

/** Salesforce quotes every non-null value; quotes inside are doubled. */
export function csvField(value: string | null): string {
	if (value === null) return '';
	return '"' + value.replace(/"/g, '""') + '"';
}

export function csvLine(values: Array<string | null>): string {
	return values.map(csvField).join(',') + '\n';
}
