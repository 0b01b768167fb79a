/**
 * Fake Salesforce for tests, the demo and benchmarks. Start one with FakeSalesforce.start(),
 * point jsforce (or any client) at `fake.url` as both login URL and instance URL.
 *
 * SOQL subset: SELECT fields (relationship paths like Account.Name) | COUNT() FROM object
 * [WHERE ...] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n].
 * Conditions: = != <> < <= > >= LIKE IN NOT IN AND OR NOT (), semi-joins
 * `Id IN (SELECT ContactId FROM CampaignMember WHERE ...)`; literals: strings with SOQL escapes,
 * numbers, true/false, null, dates, datetimes and TODAY, YESTERDAY, TOMORROW, LAST/THIS/NEXT_WEEK,
 * LAST/THIS/NEXT_MONTH, NEXT_N_DAYS:n, LAST_N_DAYS:n, N_DAYS_AGO:n (UTC days of the fake clock).
 * Not supported: aggregates other than COUNT(), GROUP BY, child subqueries, TYPEOF, WITH, FOR.
 */
export { FakeSalesforce } from './fake-salesforce';
export type {
	FailureMatch,
	FakeSalesforceOptions,
	InjectedResponse,
	RequestLogEntry,
} from './fake-salesforce';
export type { FakeFieldSchema, FakeFieldType, FakeObjectSchema } from './schema';
export type { GeneratedObjectOptions, RowGenerator, RowMutator } from './store';
export type { ConnectedApp, FakeUser } from './auth';
export { trialContacts, ACCOUNT_SCHEMA, CONTACT_SCHEMA } from './generators';
export type { GeneratedDataSet, TrialContactsOptions } from './generators';
export { sequentialId, sequenceOfId } from './ids';
export { DEFAULT_BULK_MAX_RECORDS } from './bulk';
