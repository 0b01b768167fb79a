/**
 * Built-in generated data sets. Row i is a pure function of (seed, i, base time), so a
 * million contacts cost no memory until something reads them.
 */
import { sequenceOfId, sequentialId } from './ids';
import type { FakeObjectSchema } from './schema';
import { hash32, type GeneratedObjectOptions, type RowGenerator } from './store';
import { DAY_MS } from './values';

export interface GeneratedDataSet {
	schema: FakeObjectSchema;
	count: number;
	generate: RowGenerator;
	options: GeneratedObjectOptions;
}

export interface TrialContactsOptions {
	count: number;
	seed?: number;
	/** Accounts the contacts spread over; default count / 10 (at least 1). */
	accountCount?: number;
	/** The clock when the data set is defined: stamps lie in the 90 days before it, trial ends ±30 days around it. */
	now: number;
}

const TIME_ZONES = [
	'America/New_York',
	'America/Chicago',
	'America/Denver',
	'America/Los_Angeles',
	'America/Sao_Paulo',
	'Europe/London',
	'Europe/Berlin',
	'Europe/Paris',
	'Asia/Tokyo',
	'Asia/Kolkata',
	'Asia/Singapore',
	'Australia/Sydney',
	'Pacific/Auckland',
	'Africa/Johannesburg',
];
const FIRST_NAMES = [
	'Ana',
	'Bo',
	'Chloé',
	'Dmitri',
	'Eun-ji',
	'Farid',
	'Greta',
	'Hiro',
	'Ines',
	'José',
	'Kwame',
	'Lena',
	'Zoë',
];
const LAST_NAMES = [
	'Ng',
	'Okafor',
	"O'Brien",
	'Müller',
	'Silva',
	'Tanaka',
	'Kowalski',
	'Smith, Jr.',
	'García',
	'Novak',
	'Haddad',
];
const ACCOUNT_WORDS = [
	'Acme',
	'Globex',
	'Initech',
	'Umbrella',
	'Stark',
	'Wayne',
	'Tyrell',
	'Hooli',
	'東京 Trading',
	'Soylent',
];

export const CONTACT_SCHEMA: FakeObjectSchema = {
	name: 'Contact',
	fields: {
		FirstName: { type: 'string' },
		LastName: { type: 'string' },
		Email: { type: 'email' },
		Phone: { type: 'phone' },
		Time_Zone__c: { type: 'picklist' },
		Trial_End__c: { type: 'date' },
		AccountId: { type: 'reference', referenceTo: 'Account', relationshipName: 'Account' },
	},
};

export const ACCOUNT_SCHEMA: FakeObjectSchema = {
	name: 'Account',
	fields: { Name: { type: 'string' }, Industry: { type: 'picklist' } },
};

function pick<T>(list: T[], hash: number): T {
	return list[hash % list.length];
}

/** Contacts on trials plus the Accounts they belong to; returns [accounts, contacts]. */
export function trialContacts(options: TrialContactsOptions): [GeneratedDataSet, GeneratedDataSet] {
	const seed = options.seed ?? 1;
	const accountCount = Math.max(1, options.accountCount ?? Math.floor(options.count / 10));
	// Whole seconds, so many rows share a SystemModstamp (the tie case incremental sync must handle).
	const base = Math.floor(options.now / 1000) * 1000;
	const stampWindowSeconds = 90 * 86_400;
	const today = Math.floor(options.now / DAY_MS);
	const accounts: GeneratedDataSet = {
		schema: ACCOUNT_SCHEMA,
		count: accountCount,
		generate: (index) => {
			const hash = hash32(index, seed ^ 0x5bd1e995);
			return {
				Id: sequentialId('001', index),
				Name: `${pick(ACCOUNT_WORDS, hash)} ${index}`,
				Industry: pick(['Technology', 'Retail', 'Finance', 'Health'], hash >>> 8),
				SystemModstamp: base - 100 * DAY_MS,
			};
		},
		options: { indexOfId: (id) => sequenceOfId('001', id) },
	};
	const contacts: GeneratedDataSet = {
		schema: CONTACT_SCHEMA,
		count: options.count,
		generate: (index) => {
			const hash = hash32(index, seed);
			const hash2 = hash32(index, seed ^ 0x27d4eb2f);
			const firstName = pick(FIRST_NAMES, hash);
			const lastName = pick(LAST_NAMES, hash >>> 4);
			return {
				Id: sequentialId('003', index),
				FirstName: firstName,
				LastName: lastName,
				Email: `contact${index}@example.com`,
				Phone: hash2 % 5 === 0 ? null : `+1-555-${String(hash2 % 10_000).padStart(4, '0')}`,
				Time_Zone__c: pick(TIME_ZONES, hash >>> 12),
				Trial_End__c: new Date((today - 30 + (hash2 % 61)) * DAY_MS).toISOString().slice(0, 10),
				AccountId: sequentialId('001', hash % accountCount),
				SystemModstamp: base - (hash2 % stampWindowSeconds) * 1000,
			};
		},
		options: {
			indexOfId: (id) => sequenceOfId('003', id),
			// A modification extends the trial by a week and changes the phone number.
			mutate: (row, index, version) => {
				if (typeof row.Trial_End__c === 'string') {
					const day = Math.floor(Date.parse(row.Trial_End__c + 'T00:00:00Z') / DAY_MS) + 7;
					row.Trial_End__c = new Date(day * DAY_MS).toISOString().slice(0, 10);
				}
				row.Phone = `+1-555-${String((index + version) % 10_000).padStart(4, '0')}`;
			},
		},
	};
	return [accounts, contacts];
}

export const BUILT_IN_GENERATORS = { trialContacts };
