/**
 * Segment syncs on a worker thread: the thread opens its own connection to the store, takes
 * its tokens from the caller's session and sends back the report, its log lines and its
 * errors as the engine's own classes. Real threads, the fake Salesforce, real SQLite files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CampaignError, InvalidInputError, StoreUnavailableError } from '../../src/errors';
import { SalesforceApiError, SalesforceAuthError } from '../../src/salesforce/api/errors';
import { SalesforceApi } from '../../src/salesforce/api/salesforce-api';
import { clearSalesforceTokenCache, passwordSession } from '../../src/salesforce/auth/sessions';
import { pollSegment } from '../../src/salesforce/sync/poll-segment';
import type { SegmentDefinition } from '../../src/salesforce/sync/segment-definition';
import { plannedSyncMode, syncSegment } from '../../src/salesforce/sync/sync-segment';
import { syncSegmentOnThread } from '../../src/salesforce/sync/sync-thread';
import { deserializeError, serializeError } from '../../src/salesforce/sync/thread-messages';
import type { UserProfile } from '../../src/store/campaign-store';
import type { StoreConfig } from '../../src/store/open-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { FakeSalesforce } from '../support/fake-salesforce';
import { fetchTransport, type SalesforceTransport } from '../../src/salesforce/api/transport';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const APP = { clientId: 'thread-test-app', clientSecret: 'thread-test-secret' };
const USER = { username: 'ops@acme.example', password: 'pw' };

const DEFINITION: SegmentDefinition = {
	segmentId: 'trial-leads',
	source: { kind: 'records', object: 'Lead', where: "Status = 'Trial'" },
	fields: { email: 'Email', attributes: { company: 'Company' } },
};

let fake: FakeSalesforce;
let folder: string;
let storeConfig: StoreConfig;
let store: SqliteCampaignStore;

const session = () => passwordSession({ loginUrl: fake.url, ...APP, ...USER });

function collectingLogger() {
	const lines: string[] = [];
	const log = (message: string) => void lines.push(message);
	return { lines, logger: { debug: log, info: log, warn: log } };
}

beforeEach(async () => {
	clearSalesforceTokenCache();
	fake = await FakeSalesforce.start({ now: T0, queryPageSize: 200 });
	fake.addConnectedApp(APP);
	fake.addUser(USER);
	fake.defineObject({
		name: 'Lead',
		fields: {
			Email: { type: 'email' },
			Phone: { type: 'phone' },
			Company: { type: 'string' },
			Status: { type: 'picklist' },
		},
	});
	for (let i = 0; i < 450; i++) {
		fake.insert('Lead', {
			Email: `lead${i}@example.com`,
			Company: `Acme ${i}, "Intl"`,
			Status: i % 3 === 0 ? 'Open' : 'Trial',
		});
	}
	folder = mkdtempSync(join(tmpdir(), 'sync-thread-'));
	storeConfig = { backend: 'sqlite', filePath: join(folder, 'store.sqlite') };
	store = new SqliteCampaignStore({ filePath: storeConfig.filePath! });
});

afterEach(async () => {
	await store.close();
	await fake.close();
	rmSync(folder, { recursive: true, force: true });
});

describe('syncSegmentOnThread', () => {
	it('commits the same members and profiles as a sync on this thread, with one login and the log here', async () => {
		const callerSession = session();
		const { lines, logger } = collectingLogger();
		const report = await syncSegmentOnThread({
			storeConfig,
			session: callerSession,
			definition: DEFINITION,
			firstSync: 'enterAll',
			logger,
		});
		expect(report).toMatchObject({
			mode: 'full',
			outcome: 'committed',
			entered: 300,
			memberCount: 300,
		});
		expect(report.apiCalls).toBeGreaterThanOrEqual(3);
		expect(callerSession.loginCount).toBe(1);
		expect(lines.some((line) => line.includes('300 entered'))).toBe(true);

		// The same sync here, into a second file, gives the same members and profiles.
		const inline = new SqliteCampaignStore({ filePath: join(folder, 'inline.sqlite') });
		try {
			const api = new SalesforceApi({ session: callerSession, apiVersion: '62.0' });
			await syncSegment({ api, store: inline, definition: DEFINITION });
			const members = async (on: SqliteCampaignStore) =>
				(await on.listSegmentMembers({ segmentId: 'trial-leads', limit: 1000 })).map(
					(member) => `${member.recordId}:${member.userId}`,
				);
			expect(await members(store)).toEqual(await members(inline));
			const someUser = (await inline.listSegmentMembers({ segmentId: 'trial-leads', limit: 1 }))[0]
				.userId;
			const withoutTime = (profile: UserProfile | undefined) => ({ ...profile, updatedAt: 0 });
			const onThread = withoutTime((await store.getProfiles([someUser])).get(someUser));
			expect(onThread).toEqual(withoutTime((await inline.getProfiles([someUser])).get(someUser)));
			expect(onThread.attributes?.company).toMatch(/^Acme \d+, "Intl"$/);
		} finally {
			await inline.close();
		}
	});

	it("sends the thread's requests, Bulk results streamed, through the caller's transport", async () => {
		const viaFetch = fetchTransport();
		const sent: string[] = [];
		let chunksRead = 0;
		const transport: SalesforceTransport = async (request) => {
			sent.push(
				`${request.method} ${new URL(request.url).pathname} ${request.responseType ?? 'text'}`,
			);
			const response = await viaFetch(request);
			if (!response.stream) return response;
			// Count the chunks the thread pulls through this side.
			const counted = response.stream.map((chunk: Buffer) => {
				chunksRead++;
				return chunk;
			});
			return { ...response, stream: counted };
		};
		const callerSession = passwordSession({ loginUrl: fake.url, ...APP, ...USER, transport });
		const report = await syncSegmentOnThread({
			storeConfig,
			session: callerSession,
			transport,
			definition: { ...DEFINITION, bulkThreshold: 100 },
			bulkPollIntervalMs: 1,
		});
		expect(report).toMatchObject({ via: 'bulk', entered: 300, memberCount: 300 });
		expect(sent).toContain('POST /services/data/v62.0/jobs/query text');
		expect(sent.filter((line) => line.endsWith(' stream'))).toHaveLength(1);
		expect(chunksRead).toBeGreaterThan(0);
		// Every request that reached Salesforce, the login and the thread's, went through it.
		expect(sent).toHaveLength(fake.requests.length);
	});

	it('renews an expired session through the caller and completes', async () => {
		const callerSession = session();
		await callerSession.getToken();
		fake.expireSessionsAfter(2);
		const report = await syncSegmentOnThread({
			storeConfig,
			session: callerSession,
			definition: DEFINITION,
		});
		expect(report.memberCount).toBe(300);
		expect(fake.tokenRequestCount()).toBe(2);
	});

	it('rethrows an unknown field as InvalidInputError naming it, and changes nothing', async () => {
		const definition = { ...DEFINITION, fields: { attributes: { company: 'Compny' } } };
		const error = await syncSegmentOnThread({ storeConfig, session: session(), definition }).catch(
			(caught: unknown) => caught,
		);
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).field).toBe('fields');
		expect((error as Error).message).toMatch(/did you mean Company/);
		expect(await store.getSegmentState('trial-leads')).toBeUndefined();
	});

	it("rethrows a rejected query as SalesforceApiError with Salesforce's code and the SOQL", async () => {
		const definition = {
			...DEFINITION,
			source: { kind: 'records' as const, object: 'Lead', where: "Stage__c = 'Trial'" },
		};
		const error = await syncSegmentOnThread({ storeConfig, session: session(), definition }).catch(
			(caught: unknown) => caught,
		);
		expect(error).toBeInstanceOf(SalesforceApiError);
		expect((error as SalesforceApiError).errorCode).toBe('INVALID_FIELD');
		expect((error as SalesforceApiError).soql).toContain("Stage__c = 'Trial'");
	});

	it("rethrows the caller's failed login as SalesforceAuthError", async () => {
		const wrong = passwordSession({ loginUrl: fake.url, ...APP, ...USER, password: 'wrong' });
		const error = await syncSegmentOnThread({
			storeConfig,
			session: wrong,
			definition: DEFINITION,
		}).catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(SalesforceAuthError);
		expect((error as Error).message).toMatch(/Salesforce login/);
	});

	it('reports a thread that runs out of its heap, and changes nothing', async () => {
		// 40 records of 2 MB each: one REST page is more than the 64 MB heap allowed.
		const huge = 'x'.repeat(2 * 1024 * 1024);
		for (let i = 0; i < 40; i++) {
			fake.insert('Lead', { Email: `huge${i}@example.com`, Company: huge, Status: 'Trial' });
		}
		const error = await syncSegmentOnThread({
			storeConfig,
			session: session(),
			definition: DEFINITION,
			oldGenerationMb: 64,
		}).catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(CampaignError);
		expect((error as CampaignError).code).toBe('sync_thread_out_of_memory');
		expect((error as Error).message).toMatch(/64 MB heap.*as before the sync/);
		expect(await store.getSegmentState('trial-leads')).toBeUndefined();
	});

	it('refuses heap limits too small to start a thread, naming the option', async () => {
		for (const [field, limits] of [
			['oldGenerationMb', { oldGenerationMb: 2 }],
			['youngGenerationMb', { youngGenerationMb: 0.5 }],
		] as const) {
			const error = await syncSegmentOnThread({
				storeConfig,
				session: session(),
				definition: DEFINITION,
				...limits,
			}).catch((caught: unknown) => caught);
			expect(error).toBeInstanceOf(InvalidInputError);
			expect((error as InvalidInputError).field).toBe(field);
		}
	});

	it('refuses an in-memory SQLite store, naming storeConfig.filePath, before starting a thread', async () => {
		const error = await syncSegmentOnThread({
			storeConfig: { backend: 'sqlite', filePath: ':memory:' },
			session: session(),
			definition: DEFINITION,
		}).catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(InvalidInputError);
		expect((error as InvalidInputError).field).toBe('storeConfig.filePath');
	});

	it('rethrows a store the thread cannot open as StoreUnavailableError', async () => {
		const notAFolder = join(folder, 'not-a-folder');
		writeFileSync(notAFolder, '');
		const error = await syncSegmentOnThread({
			storeConfig: { backend: 'sqlite', filePath: join(notAFolder, 'store.sqlite') },
			session: session(),
			definition: DEFINITION,
		}).catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(StoreUnavailableError);
		expect((error as Error).message).toMatch(/not-a-folder/);
	});
});

describe('pollSegment with a sync thread', () => {
	it('runs the full first sync on the thread and the incremental ones here, reporting each entry once', async () => {
		const callerSession = session();
		const api = new SalesforceApi({ session: callerSession, apiVersion: '62.0' });
		const rule = {
			campaignId: 'trial-nudge',
			propertyFilters: [],
			reEntry: { mode: 'once' as const },
		};
		const options = {
			api,
			store,
			definition: DEFINITION,
			rule,
			thread: { storeConfig, session: callerSession },
		};

		expect(await plannedSyncMode(store, DEFINITION)).toBe('full');
		const first = await pollSegment({ ...options, firstSync: 'enterAll' });
		expect(first.report.mode).toBe('full');
		expect(first.entered).toHaveLength(300);
		// The thread's API calls are its own; this thread's client sent none.
		expect(api.callCount).toBe(0);

		expect(await plannedSyncMode(store, DEFINITION)).toBe('incremental');
		fake.advance(10 * 60_000);
		const quiet = await pollSegment(options);
		fake.advance(10 * 60_000);
		const id = fake.insert('Lead', { Email: 'new@example.com', Company: 'New', Status: 'Trial' });
		const next = await pollSegment(options);
		expect(quiet.report.mode).toBe('incremental');
		expect(next.report).toMatchObject({ mode: 'incremental', entered: 1 });
		expect(next.entered.map((entry) => entry.event.properties.salesforceRecordId)).toEqual([id]);
		expect(api.callCount).toBeGreaterThan(0);
		expect(callerSession.loginCount).toBe(1);
	});

	it('plans a full sync again when the definition changes or when asked', async () => {
		await syncSegment({
			api: new SalesforceApi({ session: session(), apiVersion: '62.0' }),
			store,
			definition: DEFINITION,
		});
		expect(await plannedSyncMode(store, DEFINITION)).toBe('incremental');
		expect(await plannedSyncMode(store, DEFINITION, true)).toBe('full');
		expect(
			await plannedSyncMode(store, { ...DEFINITION, fields: { attributes: { org: 'Company' } } }),
		).toBe('full');
	});
});

describe('errors across the thread boundary', () => {
	it('keep their class, fields and cause', () => {
		const cause = new SalesforceApiError(
			400,
			'MALFORMED_QUERY',
			'unexpected token',
			'GET /query',
			'SELECT',
		);
		const original = new StoreUnavailableError('Cannot open the store', { cause });
		const copy = deserializeError(structuredClone(serializeError(original)));
		expect(copy).toBeInstanceOf(StoreUnavailableError);
		expect(copy.message).toBe(original.message);
		expect((copy as StoreUnavailableError).code).toBe('store_unavailable');
		const copiedCause = (copy as { cause?: unknown }).cause;
		expect(copiedCause).toBeInstanceOf(SalesforceApiError);
		expect(copiedCause).toMatchObject({
			status: 400,
			errorCode: 'MALFORMED_QUERY',
			soql: 'SELECT',
		});
	});

	it('turn anything else into a plain Error with its text', () => {
		const copy = deserializeError(structuredClone(serializeError('socket hang up')));
		expect(copy).toBeInstanceOf(Error);
		expect(copy.message).toBe('socket hang up');
	});
});
