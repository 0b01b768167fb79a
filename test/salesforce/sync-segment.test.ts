/**
 * The segment sync end to end: the real API client and sessions against the fake Salesforce
 * (documented wire format), into a real SQLite store.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SalesforceApi } from '../../src/salesforce/api/salesforce-api';
import { clearSalesforceTokenCache, passwordSession } from '../../src/salesforce/auth/sessions';
import { clearDescribeCache } from '../../src/salesforce/describe';
import { pollSegment } from '../../src/salesforce/sync/poll-segment';
import { previewSegment } from '../../src/salesforce/sync/preview-segment';
import {
	DEFAULT_OVERLAP_MS,
	type SegmentDefinition,
} from '../../src/salesforce/sync/segment-definition';
import {
	fullReadQuery,
	incrementalReadQueries,
	syncSegment,
} from '../../src/salesforce/sync/sync-segment';
import type { CampaignStoreWithSegments } from '../../src/store/segment-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import { FakeSalesforce } from '../support/fake-salesforce';

delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;
delete process.env.http_proxy;
delete process.env.https_proxy;

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-23T09:00:00Z');
const APP = { clientId: 'sync-test-app', clientSecret: 'sync-test-secret' };
const USER = { username: 'ops@acme.example', password: 'pw', securityToken: 'TOKEN' };

let fake: FakeSalesforce;
let folder: string;
let store: CampaignStoreWithSegments;
let api: SalesforceApi;

const day = (offsetDays: number) => new Date(T0 + offsetDays * DAY).toISOString().slice(0, 10);

function trialDefinition(overrides: Partial<SegmentDefinition> = {}): SegmentDefinition {
	return {
		segmentId: 'trial-users',
		source: { kind: 'records', object: 'Contact', where: "Trial_Status__c = 'Trial'" },
		fields: {
			userId: 'App_User_Id__c',
			timeZone: 'Time_Zone__c',
			attributes: { trialEndsOn: 'Trial_End__c', seats: 'Seats__c' },
		},
		...overrides,
	};
}

/** The trial segment with the Account's name mapped too: a related record, read whole each sync. */
function withCompany(overrides: Partial<SegmentDefinition> = {}): SegmentDefinition {
	return trialDefinition({
		fields: {
			userId: 'App_User_Id__c',
			timeZone: 'Time_Zone__c',
			attributes: { trialEndsOn: 'Trial_End__c', company: 'Account.Name', seats: 'Seats__c' },
		},
		...overrides,
	});
}

function addContact(index: number, fields: Record<string, unknown> = {}): string {
	return fake.insert('Contact', {
		FirstName: `User${index}`,
		LastName: 'Trial',
		Email: `user${index}@example.com`,
		App_User_Id__c: `u${index}`,
		Time_Zone__c: index % 2 === 0 ? 'Europe/Berlin' : 'America/New_York',
		Trial_Status__c: 'Trial',
		Trial_End__c: day(10),
		Seats__c: index,
		AccountId: accountId,
		...fields,
	});
}

let accountId: string;

async function newApi(): Promise<SalesforceApi> {
	return new SalesforceApi({
		session: passwordSession({ loginUrl: fake.url, ...APP, ...USER }),
		apiVersion: '62.0',
	});
}

/** A fresh fake with Account and Contact and one Account; REST pages of `queryPageSize`. */
async function startFake(queryPageSize?: number): Promise<FakeSalesforce> {
	const started = await FakeSalesforce.start({ now: T0, queryPageSize });
	started.addConnectedApp(APP);
	started.addUser(USER);
	started.defineObject({
		name: 'Account',
		fields: { Name: { type: 'string' }, Industry: { type: 'picklist' } },
	});
	started.defineObject({
		name: 'Contact',
		fields: {
			FirstName: { type: 'string' },
			LastName: { type: 'string' },
			Email: { type: 'email' },
			Phone: { type: 'phone' },
			App_User_Id__c: { type: 'string' },
			Time_Zone__c: { type: 'string' },
			Trial_Status__c: { type: 'picklist' },
			Trial_End__c: { type: 'date' },
			Seats__c: { type: 'double' },
			AccountId: { type: 'reference', referenceTo: 'Account', relationshipName: 'Account' },
		},
	});
	accountId = started.insert('Account', { Name: 'Acme, "Intl" 東京' });
	return started;
}

beforeEach(async () => {
	clearSalesforceTokenCache();
	fake = await startFake();
	folder = mkdtempSync(join(tmpdir(), 'segment-sync-'));
	store = new SqliteCampaignStore({ filePath: join(folder, 'store.sqlite') });
	api = await newApi();
});

afterEach(async () => {
	await store.close();
	await fake.close();
	rmSync(folder, { recursive: true, force: true });
});

/** A fresh fake with 200-record REST pages (the smallest Salesforce allows) and a Lead object. */
async function restartWithLeads(): Promise<void> {
	await fake.close();
	fake = await FakeSalesforce.start({ now: T0, queryPageSize: 200 });
	fake.addConnectedApp(APP);
	fake.addUser(USER);
	fake.defineObject({
		name: 'Lead',
		fields: { Email: { type: 'email' }, Phone: { type: 'phone' } },
	});
}

async function memberIds(segmentId = 'trial-users'): Promise<string[]> {
	const members = await store.listSegmentMembers({ segmentId, limit: 100_000 });
	return members.map((member) => member.userId).sort();
}

async function changesOf(syncId: string) {
	return (await store.listSegmentChanges({ segmentId: 'trial-users', syncId, limit: 100_000 }))
		.map((change) => `${change.change}:${change.userId}${change.reason ? `:${change.reason}` : ''}`)
		.sort();
}

describe('full sync', () => {
	it('enters every matching record, with the profile mapped from Salesforce', async () => {
		for (let i = 0; i < 30; i++) addContact(i, i >= 20 ? { Trial_Status__c: 'Customer' } : {});
		const report = await syncSegment({ api, store, definition: withCompany() });

		expect(report).toMatchObject({
			outcome: 'committed',
			mode: 'full',
			via: 'rest',
			entered: 20,
			exited: 0,
			memberCount: 20,
			recordsRead: 20,
			changesRecorded: true,
		});
		expect(report.apiCalls).toBeGreaterThanOrEqual(2);
		expect(report.syncedAt).toBe(new Date(T0).toISOString());
		expect(await memberIds()).toHaveLength(20);
		expect(await changesOf(report.syncId)).toContain('entered:u3');

		const profile = (await store.getProfiles(['u3'])).get('u3')!;
		expect(profile).toMatchObject({
			email: 'user3@example.com',
			timeZone: 'America/New_York',
			attributes: { trialEndsOn: day(10), company: 'Acme, "Intl" 東京', seats: 3 },
		});
		expect(profile.externalIds.salesforce).toMatch(/^003/);
	});

	it('keeps records with equal SystemModstamp across a page boundary (none lost, none doubled)', async () => {
		await restartWithLeads();
		for (let i = 0; i < 450; i++) fake.insert('Lead', { Email: `lead${i}@example.com` });
		api = await newApi();

		const report = await syncSegment({
			api,
			store,
			definition: { segmentId: 'leads', source: { kind: 'records', object: 'Lead' } },
		});
		expect(report.entered).toBe(450);
		expect(report.recordsRead).toBe(450);
		const members = await store.listSegmentMembers({ segmentId: 'leads', limit: 1000 });
		expect(new Set(members.map((m) => m.recordId)).size).toBe(450);
	});

	it('reads through Bulk API 2.0 above the threshold and gets the same members and profiles as REST', async () => {
		for (let i = 0; i < 120; i++) addContact(i, { FirstName: `Zoë, "${i}"\nNew line` });
		const viaBulk = await syncSegment({
			api,
			store,
			definition: trialDefinition({ segmentId: 'bulk', bulkThreshold: 50 }),
			bulkBatchSize: 25,
			sleep: async () => undefined,
		});
		expect(viaBulk).toMatchObject({ via: 'bulk', entered: 120, recordsRead: 120 });
		const bulkProfiles = await store.getProfiles(['u7', 'u8']);

		const folder2 = mkdtempSync(join(tmpdir(), 'segment-sync-rest-'));
		const restStore = new SqliteCampaignStore({ filePath: join(folder2, 'store.sqlite') });
		try {
			const viaRest = await syncSegment({
				api,
				store: restStore,
				definition: trialDefinition({ segmentId: 'bulk' }),
			});
			expect(viaRest).toMatchObject({ via: 'rest', entered: 120 });
			const restProfiles = await restStore.getProfiles(['u7', 'u8']);
			for (const id of ['u7', 'u8']) {
				expect(bulkProfiles.get(id)!.attributes).toEqual(restProfiles.get(id)!.attributes);
				expect(bulkProfiles.get(id)!.externalIds).toEqual(restProfiles.get(id)!.externalIds);
			}
		} finally {
			await restStore.close();
			rmSync(folder2, { recursive: true, force: true });
		}
	});

	it('a segment known to be above the threshold goes to Bulk with no REST query before the job', async () => {
		for (let i = 0; i < 120; i++) addContact(i);
		const definition = trialDefinition({ segmentId: 'known-large', bulkThreshold: 50 });
		const options = { api, store, definition, sleep: async () => undefined };
		expect(await syncSegment(options)).toMatchObject({ via: 'bulk', entered: 120 });
		addContact(500);
		fake.advance(60_000);
		const before = fake.requests.length;
		const again = await syncSegment({ ...options, forceFull: true });
		expect(again).toMatchObject({ mode: 'full', via: 'bulk', entered: 1, recordsRead: 121 });
		const sent = fake.requests.slice(before).map((r) => `${r.method} ${r.path.split('?')[0]}`);
		const jobCreated = sent.indexOf('POST /services/data/v62.0/jobs/query');
		expect(jobCreated).toBeGreaterThanOrEqual(0);
		// Nothing was read over REST: no /query before (or after) the job.
		expect(sent.filter((line) => /\/v62\.0\/query(All)?(\/|$)/.test(line))).toEqual([]);
		expect(again.apiCalls).toBe(sent.length);
		// The mark is no later than Salesforce's time when the job was created.
		expect(Date.parse(again.syncedAt)).toBeLessThanOrEqual(fake.now());
	});

	it('a first sync goes to Bulk with no REST page when Salesforce counts the object above the threshold', async () => {
		for (let i = 0; i < 120; i++) addContact(i);
		// 20 of the 120 match: the object's count, not the segment's size, picks Bulk.
		for (let i = 0; i < 20; i++) addContact(200 + i, { Trial_Status__c: 'Customer' });
		const sentDuring = async (run: () => Promise<unknown>) => {
			const before = fake.requests.length;
			await run();
			return fake.requests.slice(before).map((r) => `${r.method} ${r.path.split('?')[0]}`);
		};
		const options = { api, store, sleep: async () => undefined };
		const counted = trialDefinition({ segmentId: 'counted', bulkThreshold: 130 });
		let report: Awaited<ReturnType<typeof syncSegment>> | undefined;
		const sent = await sentDuring(async () => {
			report = await syncSegment({ ...options, definition: counted });
		});
		expect(report).toMatchObject({ mode: 'full', via: 'bulk', entered: 120, recordsRead: 120 });
		expect(sent).toContain('GET /services/data/v62.0/limits/recordCount');
		expect(sent.indexOf('GET /services/data/v62.0/limits/recordCount')).toBeLessThan(
			sent.indexOf('POST /services/data/v62.0/jobs/query'),
		);
		expect(sent.filter((line) => /\/v62\.0\/query(All)?(\/|$)/.test(line))).toEqual([]);

		// Salesforce has not counted the object (or the count is below): the first REST page
		// decides, as before, here REST for 120 records under a threshold of 130.
		fake.recordCountsHidden = true;
		const uncounted = trialDefinition({ segmentId: 'uncounted', bulkThreshold: 130 });
		const sentUncounted = await sentDuring(async () => {
			report = await syncSegment({ ...options, definition: uncounted });
		});
		expect(report).toMatchObject({ mode: 'full', via: 'rest', entered: 120 });
		expect(sentUncounted).toContain('GET /services/data/v62.0/query');
		// A count Salesforce cannot give (an error) leaves the same choice to the REST page.
		fake.recordCountsHidden = false;
		fake.failNext(
			{ method: 'GET', pathIncludes: '/limits/recordCount' },
			{ status: 403, body: [{ errorCode: 'INSUFFICIENT_ACCESS', message: 'no access' }] },
		);
		const failed = await syncSegment({
			...options,
			definition: trialDefinition({ segmentId: 'count-failed', bulkThreshold: 50 }),
		});
		expect(failed).toMatchObject({ mode: 'full', via: 'bulk', entered: 120 });
	});

	it('maps a record to the existing user with the same email when it has no user id', async () => {
		await store.upsertProfiles([{ userId: 'web-42', email: 'Mixed.Case@Example.com' }], T0);
		addContact(1, { App_User_Id__c: null, Email: 'mixed.case@example.com' });
		addContact(2, { App_User_Id__c: null, Email: 'nobody@example.com' });
		const report = await syncSegment({ api, store, definition: trialDefinition() });
		expect(report.entered).toBe(2);
		const ids = await memberIds();
		expect(ids).toContain('web-42');
		expect(ids.find((id) => id !== 'web-42')).toMatch(/^003/);
		expect((await store.getProfiles(['web-42'])).get('web-42')!.attributes.trialEndsOn).toBe(
			day(10),
		);
	});

	it('on a first sync in trackOnly mode tracks members without reporting them', async () => {
		for (let i = 0; i < 5; i++) addContact(i);
		const first = await syncSegment({
			api,
			store,
			definition: trialDefinition(),
			firstSync: 'trackOnly',
		});
		expect(first).toMatchObject({ entered: 5, changesRecorded: false, memberCount: 5 });
		expect(await changesOf(first.syncId)).toEqual([]);

		fake.advance(60_000);
		addContact(9);
		const second = await syncSegment({
			api,
			store,
			definition: trialDefinition(),
			firstSync: 'trackOnly',
		});
		expect(await changesOf(second.syncId)).toEqual(['entered:u9']);
	});
});

describe('incremental sync', () => {
	it('reads only what changed: entered, exited (no longer matching, deleted), updated', async () => {
		const ids = Array.from({ length: 10 }, (_, i) => addContact(i));
		addContact(50, { Trial_Status__c: 'Customer' });
		const first = await syncSegment({ api, store, definition: trialDefinition() });
		expect(first.entered).toBe(10);

		fake.advance(10 * 60_000);
		const quiet = await syncSegment({ api, store, definition: trialDefinition() });
		expect(quiet).toMatchObject({
			mode: 'incremental',
			entered: 0,
			exited: 0,
			updated: 0,
			memberCount: 10,
		});

		fake.advance(10 * 60_000);
		fake.update('Contact', ids[1], { Trial_Status__c: 'Customer' });
		fake.delete('Contact', ids[2]);
		fake.update('Contact', ids[3], { Seats__c: 99 });
		addContact(11);
		const changed = await syncSegment({ api, store, definition: trialDefinition() });
		expect(changed).toMatchObject({
			mode: 'incremental',
			entered: 1,
			exited: 2,
			updated: 1,
			memberCount: 9,
		});
		expect(await changesOf(changed.syncId)).toEqual([
			'entered:u11',
			'exited:u1:no_longer_matches',
			'exited:u2:deleted',
		]);
		expect((await store.getProfiles(['u3'])).get('u3')!.attributes.seats).toBe(99);
		// Proportional to the change: two one-page queries (the describe is cached).
		expect(changed.recordsRead).toBeLessThan(10);
		expect(changed.apiCalls).toBe(2);
	});

	it('describes once per process: later syncs send only their reads, with a mark no later than the read began', async () => {
		clearDescribeCache();
		addContact(1);
		const first = await syncSegment({ api, store, definition: trialDefinition() });
		expect(first.apiCalls).toBe(3); // describe Contact, its record count, one read
		fake.advance(10 * 60_000);
		// A new client in the same process (n8n builds one per poll) shares the describe.
		const nextPoll = await syncSegment({
			api: await newApi(),
			store,
			definition: trialDefinition(),
		});
		expect(nextPoll.apiCalls).toBe(2);
		// Salesforce's clock is T0 + 10 min; the mark is taken from the read's answer, less its
		// round trip, so it is never later than Salesforce's time when the read began.
		const mark = Date.parse(nextPoll.mark!);
		expect(mark).toBeLessThanOrEqual(T0 + 10 * 60_000);
		expect(mark).toBeGreaterThan(T0 + 10 * 60_000 - 5_000);
	});

	it('describes again after 10 minutes, and after a sync that failed', async () => {
		clearDescribeCache();
		addContact(1);
		await syncSegment({ api, store, definition: trialDefinition() });
		const later = (minutes: number) => () => Date.now() + minutes * 60_000;
		const cached = await syncSegment({ api, store, definition: trialDefinition(), now: later(9) });
		expect(cached.apiCalls).toBe(2);
		const expired = await syncSegment({
			api,
			store,
			definition: trialDefinition(),
			now: later(11),
		});
		expect(expired.apiCalls).toBe(3);

		fake.failNext(
			{ method: 'GET', pathIncludes: '/queryAll' },
			{ status: 400, body: [{ errorCode: 'INVALID_FIELD', message: 'No such column' }] },
		);
		await expect(
			syncSegment({ api, store, definition: trialDefinition(), now: later(12) }),
		).rejects.toThrow(/INVALID_FIELD/);
		const afterFailure = await syncSegment({
			api,
			store,
			definition: trialDefinition(),
			now: later(12),
		});
		expect(afterFailure.apiCalls).toBe(3);
	});

	it('commits a small incremental sync in one store transaction, staging nothing before it', async () => {
		const ids = Array.from({ length: 5 }, (_, i) => addContact(i));
		await syncSegment({ api, store, definition: trialDefinition() });
		// A quiet sync past the overlap, so the next one reads only the changes below.
		fake.advance(10 * 60_000);
		await syncSegment({ api, store, definition: trialDefinition() });
		fake.advance(10 * 60_000);
		fake.update('Contact', ids[0], { Trial_Status__c: 'Customer' });
		fake.delete('Contact', ids[1]);
		addContact(9);
		const stage = jest.spyOn(store, 'stageSegmentPage');
		const commit = jest.spyOn(store, 'commitSegmentSync');
		const report = await syncSegment({ api, store, definition: trialDefinition() });
		expect(report).toMatchObject({ mode: 'incremental', entered: 1, exited: 2 });
		expect(stage).not.toHaveBeenCalled();
		const lastPage = commit.mock.calls[0][0].lastPage!;
		expect(lastPage.matched.map((row) => row.userId)).toEqual(['u9']);
		expect(lastPage.deleted).toEqual([ids[1]]);
		expect([...lastPage.touched].sort()).toEqual([ids[0], lastPage.matched[0].recordId].sort());
	});

	it('reads changes and deletes through one Bulk queryAll above the threshold', async () => {
		const ids = Array.from({ length: 60 }, (_, i) => addContact(i));
		const definition = trialDefinition({ bulkThreshold: 20 });
		const options = { api, store, definition, bulkBatchSize: 25, sleep: async () => undefined };
		await syncSegment(options);
		fake.advance(10 * 60_000);
		await syncSegment(options);
		fake.advance(10 * 60_000);
		for (const id of ids.slice(0, 30)) fake.update('Contact', id, { Trial_Status__c: 'Customer' });
		for (const id of ids.slice(30, 40)) fake.delete('Contact', id);
		const report = await syncSegment(options);
		expect(report).toMatchObject({ mode: 'incremental', via: 'bulk', entered: 0, exited: 40 });
		expect(report.recordsRead).toBe(40);
		const reasons = (
			await store.listSegmentChanges({ segmentId: 'trial-users', syncId: report.syncId })
		).map((change) => change.reason);
		expect(reasons.filter((reason) => reason === 'deleted')).toHaveLength(10);
		expect(reasons.filter((reason) => reason === 'no_longer_matches')).toHaveLength(30);
		expect(await memberIds()).toHaveLength(20);
	});

	it('a member edited between the two reads of a sync stays in: no exit, no second entry', async () => {
		const rule = {
			campaignId: 'trial-ending',
			propertyFilters: [],
			reEntry: { mode: 'everyTime' as const },
		};
		const ids = Array.from({ length: 3 }, (_, i) => addContact(i));
		const poll = () =>
			pollSegment({ api, store, definition: trialDefinition(), rule, includeExited: true });
		const first = await poll();
		expect(first.entered).toHaveLength(3);
		fake.advance(10 * 60_000);
		await poll();
		fake.advance(10 * 60_000);
		// Between the sync's first and second read (the second query it starts), as a Campaign
		// Activity write-back would: the member still matches.
		fake.whenRequested(
			{ method: 'GET', pathIncludes: '?q=' },
			() => {
				fake.advance(1_000);
				fake.update('Contact', ids[0], { Seats__c: 77 });
			},
			2,
		);
		const edited = await poll();
		expect(edited.report).toMatchObject({ mode: 'incremental', exited: 0, entered: 0 });
		expect(edited.exited).toEqual([]);
		expect(await memberIds()).toEqual(['u0', 'u1', 'u2']);
		expect((await store.getProfiles(['u0'])).get('u0')!.attributes.seats).toBe(77);

		fake.advance(60_000);
		const next = await poll();
		expect(next.report).toMatchObject({ entered: 0, exited: 0 });
		expect(next.entered).toEqual([]);
		const entries = await store.listSegmentChanges({ segmentId: 'trial-users', limit: 1000 });
		expect(entries.filter((change) => change.userId === 'u0').map((c) => c.change)).toEqual([
			'entered',
		]);
	});

	it('through Bulk API 2.0 too: a member edited between the two query jobs is not exited', async () => {
		const ids = Array.from({ length: 30 }, (_, i) => addContact(i));
		const options = {
			api,
			store,
			definition: trialDefinition({ bulkThreshold: 5 }),
			bulkBatchSize: 10,
			sleep: async () => undefined,
		};
		await syncSegment(options);
		fake.advance(10 * 60_000);
		await syncSegment(options);
		fake.advance(10 * 60_000);
		for (const id of ids.slice(10, 20)) fake.update('Contact', id, { Seats__c: 5 });
		fake.whenRequested(
			{ method: 'POST', pathIncludes: '/jobs/query' },
			() => {
				fake.advance(1_000);
				fake.update('Contact', ids[0], { Seats__c: 77 });
			},
			2,
		);
		const edited = await syncSegment(options);
		expect(edited).toMatchObject({ via: 'bulk', entered: 0, exited: 0 });
		expect(await memberIds()).toHaveLength(30);
	});

	it('a member that stops matching between the two reads exits by the next sync', async () => {
		const ids = Array.from({ length: 2 }, (_, i) => addContact(i));
		await syncSegment({ api, store, definition: trialDefinition() });
		fake.advance(10 * 60_000);
		await syncSegment({ api, store, definition: trialDefinition() });
		fake.advance(10 * 60_000);
		fake.whenRequested(
			{ method: 'GET', pathIncludes: '?q=' },
			() => {
				fake.advance(1_000);
				fake.update('Contact', ids[1], { Trial_Status__c: 'Customer' });
			},
			2,
		);
		const during = await syncSegment({ api, store, definition: trialDefinition() });
		fake.advance(60_000);
		const after = await syncSegment({ api, store, definition: trialDefinition() });
		expect(during.exited + after.exited).toBe(1);
		expect(after.entered).toBe(0);
		expect(await memberIds()).toEqual(['u0']);
	});

	it('re-reads the overlap without reporting anyone twice', async () => {
		addContact(1);
		await syncSegment({ api, store, definition: trialDefinition() });
		// A record changed one minute after the first sync's newest stamp: inside the overlap.
		fake.advance(60_000);
		addContact(2);
		const a = await syncSegment({ api, store, definition: trialDefinition() });
		const b = await syncSegment({ api, store, definition: trialDefinition() });
		expect(a.entered).toBe(1);
		expect(b).toMatchObject({ entered: 0, updated: 0 });
		expect(b.recordsRead).toBeGreaterThan(0);
	});

	it('starts over with a full sync when the definition changes', async () => {
		addContact(1);
		addContact(2, { Seats__c: 500 });
		await syncSegment({ api, store, definition: trialDefinition() });
		const narrowed = await syncSegment({
			api,
			store,
			definition: trialDefinition({
				source: {
					kind: 'records',
					object: 'Contact',
					where: "Trial_Status__c = 'Trial' AND Seats__c > 100",
				},
			}),
		});
		expect(narrowed).toMatchObject({ mode: 'full', entered: 0, exited: 1, memberCount: 1 });
	});
});

describe('records that share an email', () => {
	/** 500 Contacts without a user id, four to an email; some changed after, so stamp order is not id order. */
	function addSharedEmailContacts(): void {
		const ids: string[] = [];
		for (let i = 0; i < 500; i++) {
			fake.advance(1_000);
			const email = `Person${i % 120}@Example.com`;
			ids.push(
				addContact(i, { App_User_Id__c: null, Email: i % 3 === 0 ? email : email.toLowerCase() }),
			);
		}
		for (let i = 0; i < ids.length; i += 7) {
			fake.advance(1_000);
			fake.update('Contact', ids[i], { Seats__c: 1000 + i });
		}
		fake.advance(60_000);
	}

	/** Users who arrived through webhooks, for the first 40 emails. */
	async function addWebUsers(target: CampaignStoreWithSegments): Promise<void> {
		await target.upsertProfiles(
			Array.from({ length: 40 }, (_, k) => ({
				userId: `web-${k}`,
				email: `person${k}@example.com`,
			})),
			T0,
		);
	}

	async function userIdsByRecord(target: CampaignStoreWithSegments): Promise<Map<string, string>> {
		const members = await target.listSegmentMembers({ segmentId: 'trial-users', limit: 10_000 });
		return new Map(members.map((member) => [member.recordId, member.userId]));
	}

	async function withStore<T>(use: (target: CampaignStoreWithSegments) => Promise<T>): Promise<T> {
		const other = new SqliteCampaignStore({ filePath: join(folder, `${randomUUID()}.sqlite`) });
		try {
			return await use(other);
		} finally {
			await other.close();
		}
	}

	const definition = () =>
		trialDefinition({ fields: { userId: 'App_User_Id__c', attributes: { seats: 'Seats__c' } } });

	it('gives each record its own user, the same whatever the paging (REST pages of 200 or 2,000, Bulk)', async () => {
		await fake.close();
		fake = await startFake(200);
		addSharedEmailContacts();
		api = await newApi();
		await addWebUsers(store);
		const viaRest200 = await syncSegment({ api, store, definition: definition() });
		expect(viaRest200).toMatchObject({ via: 'rest', entered: 500 });
		const rest200 = await userIdsByRecord(store);

		const bulk = await withStore(async (target) => {
			await addWebUsers(target);
			const report = await syncSegment({
				api,
				store: target,
				definition: { ...definition(), bulkThreshold: 50 },
				bulkBatchSize: 37,
				sleep: async () => undefined,
			});
			expect(report).toMatchObject({ via: 'bulk', entered: 500 });
			return await userIdsByRecord(target);
		});

		const contacts = fake.records('Contact');
		await fake.close();
		fake = await startFake(2000);
		addSharedEmailContacts();
		api = await newApi();
		const rest2000 = await withStore(async (target) => {
			await addWebUsers(target);
			await syncSegment({ api, store: target, definition: definition() });
			return await userIdsByRecord(target);
		});

		expect(bulk).toEqual(rest200);
		expect(rest2000).toEqual(rest200);
		// Never two records in one user.
		expect(new Set(rest200.values()).size).toBe(500);
		// A webhook user goes to the first record with its email in stamp order (SystemModstamp, Id).
		const stampOrder = [...contacts].sort((a, b) =>
			String(a.SystemModstamp) < String(b.SystemModstamp)
				? -1
				: String(a.SystemModstamp) > String(b.SystemModstamp)
					? 1
					: String(a.Id) < String(b.Id)
						? -1
						: 1,
		);
		for (let k = 0; k < 40; k++) {
			const first = stampOrder.find(
				(c) => String(c.Email).toLowerCase() === `person${k}@example.com`,
			)!;
			expect(rest200.get(String(first.Id))).toBe(`web-${k}`);
		}
		const web = [...rest200.values()].filter((userId) => userId.startsWith('web-'));
		expect(web).toHaveLength(40);
	});

	it("a webhook user named in a record's user id field is that record's, even when a record sharing its email is read first", async () => {
		await fake.close();
		fake = await startFake(200);
		api = await newApi();
		await store.upsertProfiles([{ userId: 'u-web', email: 'dup@example.com' }], T0);
		const withoutId = addContact(1, {
			App_User_Id__c: null,
			Email: 'DUP@example.com',
			Seats__c: 1,
		});
		// Another page's worth of records between the two.
		for (let i = 0; i < 250; i++) {
			fake.advance(1_000);
			addContact(100 + i);
		}
		fake.advance(1_000);
		const named = addContact(2, { App_User_Id__c: 'u-web', Email: 'dup@example.com', Seats__c: 2 });
		const report = await syncSegment({ api, store, definition: definition() });
		expect(report.entered).toBe(252);
		const users = await userIdsByRecord(store);
		expect(users.get(named)).toBe('u-web');
		expect(users.get(withoutId)).toBe(withoutId);
		const profiles = await store.getProfiles(['u-web', withoutId]);
		expect(profiles.get('u-web')).toMatchObject({
			externalIds: { salesforce: named },
			attributes: { seats: 2 },
		});
		expect(profiles.get(withoutId)).toMatchObject({
			externalIds: { salesforce: withoutId },
			attributes: { seats: 1 },
		});

		fake.advance(10 * 60_000);
		const again = await syncSegment({ api, store, definition: definition(), forceFull: true });
		expect(again).toMatchObject({ entered: 0, exited: 0, updated: 0 });
	});

	it("a re-sync reassigns nobody, and no profile gets another record's fields", async () => {
		addSharedEmailContacts();
		await addWebUsers(store);
		await syncSegment({ api, store, definition: definition() });
		const before = await userIdsByRecord(store);

		fake.advance(10 * 60_000);
		const again = await syncSegment({ api, store, definition: definition(), forceFull: true });
		expect(again).toMatchObject({ mode: 'full', entered: 0, exited: 0, updated: 0 });
		expect(await userIdsByRecord(store)).toEqual(before);

		// Every record changed: read again incrementally, in a new order.
		fake.advance(10 * 60_000);
		const contacts = fake.records('Contact').filter((c) => c.IsDeleted !== true);
		for (const contact of [...contacts].reverse()) {
			fake.advance(10);
			fake.update('Contact', String(contact.Id), { Seats__c: Number(contact.Seats__c) + 1 });
		}
		const changed = await syncSegment({ api, store, definition: definition() });
		expect(changed).toMatchObject({ mode: 'incremental', entered: 0, exited: 0 });
		expect(await userIdsByRecord(store)).toEqual(before);

		const profiles = await store.getProfiles([...before.values()]);
		const seatsById = new Map(fake.records('Contact').map((c) => [String(c.Id), c.Seats__c]));
		for (const [recordId, userId] of before) {
			const profile = profiles.get(userId)!;
			expect(profile.externalIds.salesforce).toBe(recordId);
			expect(profile.attributes.seats).toBe(seatsById.get(recordId));
		}
	});
});

describe('time-driven segments', () => {
	it('re-evaluates "trial ends within 3 days" as the days pass, without any record changing', async () => {
		const definition = trialDefinition({
			source: {
				kind: 'records',
				object: 'Contact',
				where: 'Trial_End__c >= TODAY AND Trial_End__c <= NEXT_N_DAYS:3',
			},
		});
		addContact(1, { Trial_End__c: day(2) });
		addContact(2, { Trial_End__c: day(5) });
		addContact(3, { Trial_End__c: day(1) });
		const first = await syncSegment({ api, store, definition });
		expect(first.mode).toBe('full');
		expect(await memberIds()).toEqual(['u1', 'u3']);

		fake.advance(2 * DAY);
		const later = await syncSegment({ api, store, definition });
		expect(later).toMatchObject({ mode: 'full', entered: 1, exited: 1 });
		expect(await changesOf(later.syncId)).toEqual(['entered:u2', 'exited:u3:no_longer_matches']);
	});
});

describe('conditions and fields on related records', () => {
	function defineCampaignMembers(): void {
		fake.defineObject({
			name: 'CampaignMember',
			fields: {
				CampaignId: { type: 'reference', referenceTo: 'Campaign' },
				ContactId: { type: 'reference', referenceTo: 'Contact', relationshipName: 'Contact' },
				LeadId: { type: 'reference', referenceTo: 'Lead', relationshipName: 'Lead' },
				Status: { type: 'picklist' },
				Email: { type: 'email' },
				Phone: { type: 'phone' },
			},
		});
	}

	/** A sync, then a quiet one past the overlap, so a later incremental sync reads only changes. */
	async function settle(definition: SegmentDefinition) {
		const first = await syncSegment({ api, store, definition });
		fake.advance(10 * 60_000);
		await syncSegment({ api, store, definition });
		fake.advance(10 * 60_000);
		return first;
	}

	it('follows a condition on the parent (Account.Industry) when only the Account changes', async () => {
		const tech = fake.insert('Account', { Name: 'Tech', Industry: 'Technology' });
		const retail = fake.insert('Account', { Name: 'Shop', Industry: 'Retail' });
		for (let i = 0; i < 20; i++) addContact(i, { AccountId: i < 10 ? tech : retail });
		const definition = trialDefinition({
			source: { kind: 'records', object: 'Contact', where: "Account.Industry = 'Technology'" },
		});
		expect((await settle(definition)).entered).toBe(10);

		fake.update('Account', retail, { Industry: 'Technology' });
		fake.update('Account', tech, { Industry: 'Retail' });
		const report = await syncSegment({ api, store, definition });
		expect(report).toMatchObject({ mode: 'full', entered: 10, exited: 10, memberCount: 10 });
		expect(await memberIds()).toEqual(Array.from({ length: 10 }, (_, i) => `u${10 + i}`).sort());
	});

	it('follows a subquery (Id IN (SELECT ContactId FROM CampaignMember ...)) when only the member changes', async () => {
		defineCampaignMembers();
		const campaignId = '701000000000001AAA';
		const contacts = Array.from({ length: 3 }, (_, i) => addContact(i));
		const member = fake.insert('CampaignMember', {
			CampaignId: campaignId,
			ContactId: contacts[0],
			Status: 'Sent',
		});
		fake.insert('CampaignMember', {
			CampaignId: campaignId,
			ContactId: contacts[1],
			Status: 'Responded',
		});
		const definition = trialDefinition({
			source: {
				kind: 'records',
				object: 'Contact',
				where: "Id IN (SELECT ContactId FROM CampaignMember WHERE Status = 'Responded')",
			},
		});
		expect((await settle(definition)).entered).toBe(1);

		fake.update('CampaignMember', member, { Status: 'Responded' });
		const report = await syncSegment({ api, store, definition });
		expect(report).toMatchObject({ mode: 'full', entered: 1, exited: 0 });
		expect(await memberIds()).toEqual(['u0', 'u1']);
	});

	it("refreshes a mapped parent field (a member's Contact.Email, Account.Name) when only the parent changes", async () => {
		defineCampaignMembers();
		const campaignId = '701000000000001AAA';
		const contact = addContact(1);
		fake.insert('CampaignMember', { CampaignId: campaignId, ContactId: contact, Status: 'Sent' });
		const definition: SegmentDefinition = {
			segmentId: 'trial-users',
			source: { kind: 'campaignMembers', campaignId },
			fields: {
				userId: 'Contact.App_User_Id__c',
				email: 'Contact.Email',
				attributes: { company: 'Contact.Account.Name' },
			},
		};
		await settle(definition);
		expect((await store.getProfiles(['u1'])).get('u1')).toMatchObject({
			email: 'user1@example.com',
			attributes: { company: 'Acme, "Intl" 東京' },
		});

		fake.update('Contact', contact, { Email: 'new.address@example.com' });
		fake.update('Account', accountId, { Name: 'Acme Renamed' });
		const report = await syncSegment({ api, store, definition });
		expect(report).toMatchObject({ mode: 'full', entered: 0, exited: 0 });
		expect((await store.getProfiles(['u1'])).get('u1')).toMatchObject({
			email: 'new.address@example.com',
			attributes: { company: 'Acme Renamed' },
		});
	});

	it('says in the log why every sync reads the segment whole; Changes Only reads only changes', async () => {
		addContact(1);
		const lines: string[] = [];
		const logger = {
			debug: () => undefined,
			info: (message: string) => lines.push(message),
			warn: (message: string) => lines.push(message),
			error: (message: string) => lines.push(message),
		};
		const related = trialDefinition({
			source: { kind: 'records', object: 'Contact', where: "Account.Industry = 'Technology'" },
		});
		await settle(related);
		const report = await syncSegment({ api, store, definition: related, logger });
		expect(report.fullReadReason).toMatch(/Account\.Industry/);
		expect(lines.join('\n')).toMatch(
			/every sync reads it whole: the condition reads related records \(Account\.Industry\)/,
		);

		const changesOnly = { ...related, fullResync: 'changesOnly' as const };
		await syncSegment({ api, store, definition: changesOnly });
		fake.advance(10 * 60_000);
		expect(await syncSegment({ api, store, definition: changesOnly })).toMatchObject({
			mode: 'incremental',
		});
	});
});

describe('failures', () => {
	it('a sync that fails midway leaves members and mark unchanged; the next one reports each change once', async () => {
		await restartWithLeads();
		for (let i = 0; i < 100; i++) fake.insert('Lead', { Email: `a${i}@example.com` });
		api = await newApi();
		const definition: SegmentDefinition = {
			segmentId: 'leads',
			source: { kind: 'records', object: 'Lead' },
		};
		await syncSegment({ api, store, definition });
		const before = await store.getSegmentState('leads');

		fake.advance(60_000);
		for (let i = 0; i < 500; i++) fake.insert('Lead', { Email: `b${i}@example.com` });
		// The second page of the read of matching records fails for good.
		fake.failNext(
			{ method: 'GET', pathIncludes: '/query/' },
			{
				status: 400,
				body: [{ errorCode: 'INVALID_QUERY_LOCATOR', message: 'invalid query locator' }],
			},
		);
		await expect(syncSegment({ api, store, definition })).rejects.toThrow(/INVALID_QUERY_LOCATOR/);
		expect(await store.getSegmentState('leads')).toEqual(before);
		expect((await store.listSegmentMembers({ segmentId: 'leads', limit: 10_000 })).length).toBe(
			100,
		);

		const retry = await syncSegment({ api, store, definition });
		expect(retry).toMatchObject({ entered: 500, memberCount: 600 });
		const all = await store.listSegmentChanges({ segmentId: 'leads', limit: 100_000 });
		const enteredTwice = all.filter(
			(c, i) => all.findIndex((d) => d.recordId === c.recordId && d.change === c.change) !== i,
		);
		expect(enteredTwice).toEqual([]);
	});

	it('a session that expires mid-sync is refreshed once and the sync completes', async () => {
		await restartWithLeads();
		for (let i = 0; i < 700; i++) fake.insert('Lead', { Email: `s${i}@example.com` });
		clearSalesforceTokenCache();
		api = await newApi();
		fake.expireSessionsAfter(2);
		const report = await syncSegment({
			api,
			store,
			definition: { segmentId: 'leads', source: { kind: 'records', object: 'Lead' } },
		});
		expect(report.entered).toBe(700);
		expect(fake.tokenRequestCount()).toBe(2);
	});

	it('a query Salesforce rejects shows its message and the SOQL, and changes nothing', async () => {
		addContact(1);
		const definition = trialDefinition({
			source: { kind: 'records', object: 'Contact', where: "Trial_Stage__c = 'Trial'" },
		});
		const error = await syncSegment({ api, store, definition }).then(
			() => new Error('expected the sync to fail'),
			(e: unknown) => e as Error,
		);
		expect(error).toBeInstanceOf(Error);
		expect(error.message).toMatch(/INVALID_FIELD/);
		expect(error.message).toMatch(/SELECT Id, SystemModstamp/);
		expect(await store.getSegmentState('trial-users')).toBeUndefined();
	});

	it('an unknown mapped field is an error naming it, before anything is read', async () => {
		const error = await syncSegment({
			api,
			store,
			definition: trialDefinition({ fields: { attributes: { end: 'Trial_End_c' } } }),
		}).then(
			() => new Error('expected the sync to fail'),
			(e: unknown) => e as Error,
		);
		expect(error.message).toMatch(/Trial_End_c/);
		expect(error.message).toMatch(/Trial_End__c/);
	});

	it('two concurrent syncs of one segment: one commits, the other changes nothing', async () => {
		for (let i = 0; i < 40; i++) addContact(i);
		const [a, b] = await Promise.all([
			syncSegment({ api, store, definition: trialDefinition() }),
			syncSegment({ api: await newApi(), store, definition: trialDefinition() }),
		]);
		expect([a.outcome, b.outcome].sort()).toEqual(['committed', 'conflict']);
		const changes = await store.listSegmentChanges({ segmentId: 'trial-users', limit: 1000 });
		expect(changes).toHaveLength(40);
	});
});

describe('Campaign members', () => {
	it('syncs the members of a Salesforce Campaign, keyed to the Contact or Lead id', async () => {
		fake.defineObject({
			name: 'Lead',
			fields: { Email: { type: 'email' }, Phone: { type: 'phone' } },
		});
		fake.defineObject({
			name: 'CampaignMember',
			fields: {
				CampaignId: { type: 'reference', referenceTo: 'Campaign' },
				ContactId: { type: 'reference', referenceTo: 'Contact', relationshipName: 'Contact' },
				LeadId: { type: 'reference', referenceTo: 'Lead', relationshipName: 'Lead' },
				Status: { type: 'picklist' },
				Email: { type: 'email' },
				Phone: { type: 'phone' },
			},
		});
		const contact = addContact(1);
		const lead = fake.insert('Lead', { Email: 'lead@example.com' });
		const campaignId = '701000000000001AAA';
		fake.insert('CampaignMember', {
			CampaignId: campaignId,
			ContactId: contact,
			Status: 'Sent',
			Email: 'user1@example.com',
		});
		fake.insert('CampaignMember', {
			CampaignId: campaignId,
			LeadId: lead,
			Status: 'Responded',
			Email: 'lead@example.com',
		});
		fake.insert('CampaignMember', {
			CampaignId: '701000000000002AAA',
			LeadId: lead,
			Status: 'Sent',
		});

		const report = await syncSegment({
			api,
			store,
			definition: { segmentId: 'webinar', source: { kind: 'campaignMembers', campaignId } },
		});
		expect(report.entered).toBe(2);
		const members = await store.listSegmentMembers({ segmentId: 'webinar' });
		expect(members.map((m) => m.userId).sort()).toEqual([contact, lead].sort());
	});
});

describe('pollSegment and previewSegment', () => {
	const rule = {
		campaignId: 'trial-ending',
		propertyFilters: [],
		reEntry: { mode: 'once' as const },
	};

	it('enters the users who entered the segment into the campaign, once', async () => {
		for (let i = 0; i < 3; i++) addContact(i);
		const first = await pollSegment({
			api,
			store,
			definition: withCompany(),
			rule,
			includeExited: true,
		});
		expect(first.entered.map((e) => e.entry.userId).sort()).toEqual(['u0', 'u1', 'u2']);
		expect(first.entered[0].event.name).toBe('Salesforce Segment Entered');
		expect(first.entered[0].profile?.attributes.company).toBe('Acme, "Intl" 東京');

		fake.advance(60_000);
		const quiet = await pollSegment({
			api,
			store,
			definition: withCompany(),
			rule,
			includeExited: true,
		});
		expect(quiet.entered).toEqual([]);
		expect(quiet.exited).toEqual([]);
	});

	it('previews the first members without changing the store', async () => {
		for (let i = 0; i < 8; i++) addContact(i);
		const preview = await previewSegment({ api, store, definition: withCompany(), limit: 3 });
		expect(preview.totalSize).toBe(8);
		expect(preview.members).toHaveLength(3);
		expect(preview.members[0].profile.attributes?.company).toBe('Acme, "Intl" 東京');
		expect(await store.getSegmentState('trial-users')).toBeUndefined();
	});
});

describe('fullReadQuery', () => {
	const contacts: SegmentDefinition = {
		segmentId: 'contacts',
		source: { kind: 'records', object: 'Contact', where: 'Email != null' },
	};

	test('records that may claim profiles by email are read oldest change first', () => {
		expect(fullReadQuery(contacts)).toMatch(
			/ FROM Contact WHERE \(Email != null\) ORDER BY SystemModstamp, Id$/,
		);
	});

	test('without email matching the order is left to Salesforce (no ORDER BY: Bulk can chunk by Id)', () => {
		const soql = fullReadQuery({ ...contacts, matchProfilesByEmail: false });
		expect(soql).toMatch(/ FROM Contact WHERE \(Email != null\)$/);
		expect(soql).not.toContain('ORDER BY');
	});
});

describe('incrementalReadQueries', () => {
	it('are the queries an incremental sync sends, from the stored mark less the overlap', async () => {
		addContact(1);
		const definition = trialDefinition();
		await syncSegment({ api, store, definition });
		const { mark } = (await store.getSegmentState('trial-users'))!;
		addContact(2);
		fake.advance(60_000);
		const before = fake.requests.length;
		expect(await syncSegment({ api, store, definition })).toMatchObject({ mode: 'incremental' });
		const sent = fake.requests
			.slice(before)
			.map((r) => new URL(r.path, fake.url))
			.filter((url) => /\/query(All)?$/.test(url.pathname))
			.map(
				(url) =>
					`${url.pathname.endsWith('All') ? 'queryAll' : 'query'} ${url.searchParams.get('q')}`,
			);
		const queries = incrementalReadQueries(definition, mark!);
		expect(sent).toEqual([`queryAll ${queries.changed}`, `query ${queries.matched}`]);
		expect(queries.matched).toContain(
			`SystemModstamp >= ${new Date(mark! - DEFAULT_OVERLAP_MS).toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
		);
	});
});
