/**
 * Salesforce record ids as the activity writer uses them: format checks and comparison.
 */

const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** True for a 15- or 18-character record id. */
export function isRecordId(value: unknown): value is string {
	return typeof value === 'string' && RECORD_ID.test(value);
}

/**
 * The case-sensitive 15-character form, for comparing ids: Salesforce returns 18-character
 * ids while callers may pass either form, and the first 15 characters identify the record.
 */
export function recordIdKey(id: string): string {
	return id.slice(0, 15);
}

/** The sObject type implied by a standard key prefix (`003` Contact, `00Q` Lead), if any. */
export function personObjectFromId(id: string): string | undefined {
	const prefix = id.slice(0, 3);
	if (prefix === '003') return 'Contact';
	if (prefix === '00Q') return 'Lead';
	return undefined;
}
