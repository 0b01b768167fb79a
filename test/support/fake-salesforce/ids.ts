/** Salesforce-like record ids: 3-char key prefix + 12-char base-62 sequence + 3-char case checksum. */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

const STANDARD_KEY_PREFIXES: Record<string, string> = {
	Account: '001',
	Contact: '003',
	Opportunity: '006',
	User: '005',
	Lead: '00Q',
	Task: '00T',
	Event: '00U',
	CampaignMember: '00v',
	Campaign: '701',
	Case: '500',
	Organization: '00D',
	BulkJob: '750',
	QueryCursor: '01g',
};

/** The 3-char suffix Salesforce derives from the case of the 15-char id. */
export function idChecksum(id15: string): string {
	let suffix = '';
	for (let block = 0; block < 3; block++) {
		let bits = 0;
		for (let position = 0; position < 5; position++) {
			const char = id15.charCodeAt(block * 5 + position);
			if (char >= 65 && char <= 90) bits |= 1 << position;
		}
		suffix += CHECKSUM_ALPHABET[bits];
	}
	return suffix;
}

function base62(value: number, width: number): string {
	let text = '';
	let rest = Math.floor(value);
	while (rest > 0) {
		text = BASE62[rest % 62] + text;
		rest = Math.floor(rest / 62);
	}
	return text.padStart(width, '0');
}

/** Deterministic 18-char id: base-62 text sorts like the sequence, as Salesforce ids roughly do. */
export function sequentialId(keyPrefix: string, sequence: number): string {
	const id15 = keyPrefix + base62(sequence, 12);
	return id15 + idChecksum(id15);
}

/** Inverse of sequentialId; undefined when the id does not carry this prefix. */
export function sequenceOfId(keyPrefix: string, id: string): number | undefined {
	if (id.length < 15 || !id.startsWith(keyPrefix)) return undefined;
	let value = 0;
	for (let position = 3; position < 15; position++) {
		const digit = BASE62.indexOf(id[position]);
		if (digit < 0) return undefined;
		value = value * 62 + digit;
	}
	return value;
}

/** Ids compare on their case-sensitive 15-char form (an 18-char id names the same record). */
export function id15(id: string): string {
	return id.length === 18 ? id.slice(0, 15) : id;
}

export function isWellFormedId(id: unknown): id is string {
	return (
		typeof id === 'string' && (id.length === 15 || id.length === 18) && /^[A-Za-z0-9]+$/.test(id)
	);
}

let customPrefixCounter = 0;

export function keyPrefixFor(objectName: string): string {
	const known = STANDARD_KEY_PREFIXES[objectName];
	if (known) return known;
	customPrefixCounter++;
	return 'a' + base62(customPrefixCounter, 2);
}

/** Id sequences for inserted rows start high so they never collide with generated rows. */
export const INSERTED_SEQUENCE_BASE = 62 ** 8;
