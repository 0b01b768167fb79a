import { randomUUID } from 'node:crypto';

import { InvalidInputError } from '../../src/errors';
import type {
	CampaignStoreWithSegments,
	SegmentChange,
	SegmentCommitRequest,
	SegmentCommitResult,
	SegmentRecordRow,
	SegmentSyncPage,
} from '../../src/store/segment-store';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const unique = () => randomUUID().slice(0, 8);

/** A matched record; its user is `u-<recordId>` unless given. */
const rec = (recordId: string, modstamp = T0, userId = `u-${recordId}`): SegmentRecordRow => ({
	recordId,
	userId,
	modstamp,
});

/**
 * Synced segment membership, as part of the store conformance suite: `open()` gives a store
 * on fresh storage (as in `describeCampaignStoreConformance`).
 */
export function describeSegmentConformance(
	name: string,
	open: (sharing?: CampaignStoreWithSegments) => Promise<CampaignStoreWithSegments>,
): void {
	describe(`CampaignStore segments: ${name}`, () => {
		let store: CampaignStoreWithSegments;
		beforeAll(async () => {
			store = await open();
		});
		afterAll(async () => {
			await store?.close();
		});

		/** One staged page; the parts not given are empty. */
		const stage = (
			segmentId: string,
			syncId: string,
			parts: Partial<Omit<SegmentSyncPage, 'segmentId' | 'syncId'>> = {},
			on: CampaignStoreWithSegments = store,
		) =>
			on.stageSegmentPage({
				segmentId,
				syncId,
				profiles: [],
				matched: [],
				touched: [],
				deleted: [],
				now: T0,
				...parts,
			});

		const commit = (
			request: Partial<SegmentCommitRequest> & { segmentId: string; syncId: string },
			on: CampaignStoreWithSegments = store,
		): Promise<SegmentCommitResult> =>
			on.commitSegmentSync({
				mode: 'full',
				expectedVersion: 0,
				definitionHash: 'h1',
				syncedAt: T0,
				recordChanges: true,
				now: T0 + MINUTE,
				...request,
			});

		/** A committed full sync of `records`; returns the new version. */
		async function fullSync(
			segmentId: string,
			records: SegmentRecordRow[],
			request: Partial<SegmentCommitRequest> = {},
			on: CampaignStoreWithSegments = store,
		): Promise<number> {
			const syncId = `s-${unique()}`;
			await stage(segmentId, syncId, { matched: records }, on);
			const expectedVersion = (await on.getSegmentState(segmentId))?.version ?? 0;
			const result = await commit({ segmentId, syncId, expectedVersion, ...request }, on);
			expect(result.outcome).toBe('committed');
			return expectedVersion + 1;
		}

		const members = async (segmentId: string) =>
			(await store.listSegmentMembers({ segmentId })).map((m) => m.recordId);

		/** A sync's changes as `change:recordId:reason`, by record (the order across kinds is free). */
		async function changesOf(
			segmentId: string,
			syncId: string,
			on: CampaignStoreWithSegments = store,
		) {
			const changes = await on.listSegmentChanges({ segmentId, syncId });
			const seqs = changes.map((c) => c.seq);
			expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
			return changes
				.map((c) => `${c.change}:${c.recordId}${c.reason ? `:${c.reason}` : ''}`)
				.sort();
		}

		describe('committing syncs', () => {
			it('commits a full sync staged in pages: entered members, change rows and state', async () => {
				const segmentId = `seg-${unique()}`;
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, { matched: [rec('r1', T0 + 1), rec('r2', T0 + 2)] });
				await stage(segmentId, syncId, { matched: [rec('r3', T0 + 3)] });
				const result = await commit({
					segmentId,
					syncId,
					mark: T0 + 3,
					syncedAt: T0 + 10,
					now: T0 + 20,
				});
				const state = {
					segmentId,
					definitionHash: 'h1',
					mark: T0 + 3,
					version: 1,
					memberCount: 3,
					lastSyncAt: T0 + 10,
					lastFullSyncAt: T0 + 10,
				};
				expect(result).toEqual({ outcome: 'committed', state, entered: 3, exited: 0, updated: 0 });
				expect(await store.getSegmentState(segmentId)).toEqual(state);
				expect(await store.listSegmentMembers({ segmentId })).toEqual([
					{ segmentId, recordId: 'r1', userId: 'u-r1', modstamp: T0 + 1, enteredAt: T0 + 20 },
					{ segmentId, recordId: 'r2', userId: 'u-r2', modstamp: T0 + 2, enteredAt: T0 + 20 },
					{ segmentId, recordId: 'r3', userId: 'u-r3', modstamp: T0 + 3, enteredAt: T0 + 20 },
				]);
				const changes = await store.listSegmentChanges({ segmentId });
				expect(changes).toEqual(
					['r1', 'r2', 'r3'].map((recordId) => ({
						seq: expect.any(Number),
						segmentId,
						syncId,
						recordId,
						userId: `u-${recordId}`,
						change: 'entered',
						at: T0 + 20,
					})),
				);
				expect(changes.every((c) => c.reason === undefined)).toBe(true);
			});

			it('exits every member a full sync did not match, as deleted when staged deleted', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(segmentId, [rec('r1'), rec('r2'), rec('r3')], { syncedAt: T0 });
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, {
					matched: [rec('r2', T0 + 5), rec('r3'), rec('r4'), rec('r5')],
					deleted: ['r3', 'r5'],
				});
				const result = await commit({
					segmentId,
					syncId,
					expectedVersion: 1,
					syncedAt: T0 + HOUR,
				});
				expect(result).toMatchObject({ outcome: 'committed', entered: 1, exited: 2, updated: 1 });
				expect(result.state).toMatchObject({
					version: 2,
					memberCount: 2,
					lastSyncAt: T0 + HOUR,
					lastFullSyncAt: T0 + HOUR,
				});
				expect(await members(segmentId)).toEqual(['r2', 'r4']);
				expect((await store.listSegmentMembers({ segmentId }))[0].modstamp).toBe(T0 + 5);
				expect(await changesOf(segmentId, syncId)).toEqual([
					'entered:r4',
					'exited:r1:no_longer_matches',
					'exited:r3:deleted',
				]);
				const exited = (await store.listSegmentChanges({ segmentId, syncId })).find(
					(c) => c.recordId === 'r1',
				);
				expect(exited).toMatchObject({ userId: 'u-r1', change: 'exited', at: T0 + MINUTE });
			});

			it('exits in an incremental sync only the touched members that no longer match and the deleted ones', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(
					segmentId,
					['r1', 'r2', 'r3', 'r4', 'r7'].map((id) => rec(id)),
					{
						mark: T0,
						syncedAt: T0,
					},
				);
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, {
					matched: [rec('r1'), rec('r2', T0, 'u-other'), rec('r4', T0 + 1), rec('r5')],
					touched: ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'],
				});
				// Deleted wins over matched, also from a later page.
				await stage(segmentId, syncId, { deleted: ['r4'] });
				const result = await commit({
					segmentId,
					syncId,
					mode: 'incremental',
					expectedVersion: 1,
					syncedAt: T0 + HOUR,
				});
				expect(result).toEqual({
					outcome: 'committed',
					state: {
						segmentId,
						definitionHash: 'h1',
						mark: T0,
						version: 2,
						memberCount: 4,
						lastSyncAt: T0 + HOUR,
						lastFullSyncAt: T0,
					},
					entered: 1,
					exited: 2,
					updated: 1,
				});
				expect(await members(segmentId)).toEqual(['r1', 'r2', 'r5', 'r7']);
				expect((await store.listSegmentMembers({ segmentId }))[1].userId).toBe('u-other');
				expect(await changesOf(segmentId, syncId)).toEqual([
					'entered:r5',
					'exited:r3:no_longer_matches',
					'exited:r4:deleted',
				]);
			});

			it('merges repeated staging of a record within and across pages, keeping the newest modstamp', async () => {
				const segmentId = `seg-${unique()}`;
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, {
					matched: [rec('r1', T0 + 2, 'u-a'), rec('r2', T0 + 1), rec('r2', T0 + 5, 'u-b')],
					touched: ['r2', 'r2'],
				});
				await stage(segmentId, syncId, {
					matched: [rec('r1', T0 + 1, 'u-older'), rec('r3')],
					touched: ['r1'],
				});
				await stage(segmentId, syncId, {
					matched: [rec('r1', T0 + 3, 'u-c'), rec('r2', T0 + 5, 'u-b')],
					deleted: ['r3'],
				});
				const result = await commit({ segmentId, syncId });
				expect(result).toMatchObject({ outcome: 'committed', entered: 2, exited: 0, updated: 0 });
				expect(await store.listSegmentMembers({ segmentId })).toEqual([
					{ segmentId, recordId: 'r1', userId: 'u-c', modstamp: T0 + 3, enteredAt: T0 + MINUTE },
					{ segmentId, recordId: 'r2', userId: 'u-b', modstamp: T0 + 5, enteredAt: T0 + MINUTE },
				]);
				expect(await changesOf(segmentId, syncId)).toEqual(['entered:r1', 'entered:r2']);
			});

			it('counts as updated only members whose modstamp or user changed', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(segmentId, [rec('r1'), rec('r2'), rec('r3')]);
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, {
					matched: [rec('r1'), rec('r2', T0 + 1), rec('r3', T0, 'u-moved')],
				});
				const result = await commit({ segmentId, syncId, expectedVersion: 1 });
				expect(result).toMatchObject({ outcome: 'committed', entered: 0, exited: 0, updated: 2 });
				expect(await changesOf(segmentId, syncId)).toEqual([]);
				expect(
					(await store.listSegmentMembers({ segmentId })).map((m) => [m.userId, m.modstamp]),
				).toEqual([
					['u-r1', T0],
					['u-r2', T0 + 1],
					['u-moved', T0],
				]);
			});

			it('refuses the second of two syncs started from the same version, changes nothing and drops its staging', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(segmentId, [rec('r1')], { mark: T0 });
				const [a, b] = [`s-a-${unique()}`, `s-b-${unique()}`];
				await stage(segmentId, a, { matched: [rec('r1'), rec('r2')] });
				await stage(segmentId, b, { matched: [rec('r3')], deleted: ['r1'] });
				const committed = await commit({ segmentId, syncId: a, expectedVersion: 1, mark: T0 + 1 });
				expect(committed.outcome).toBe('committed');
				const before = await store.getSegmentState(segmentId);
				expect(before).toMatchObject({ version: 2, mark: T0 + 1, memberCount: 2 });

				const refused = await commit({
					segmentId,
					syncId: b,
					expectedVersion: 1,
					mark: T0 + 2,
					definitionHash: 'h2',
				});
				expect(refused).toEqual({ outcome: 'conflict', state: before });
				expect(await store.getSegmentState(segmentId)).toEqual(before);
				expect(await members(segmentId)).toEqual(['r1', 'r2']);
				expect(await store.listSegmentChanges({ segmentId, syncId: b })).toEqual([]);
				// Its staging is gone: committing it now would change nothing.
				const again = await commit({
					segmentId,
					syncId: b,
					mode: 'incremental',
					expectedVersion: 2,
				});
				expect(again).toMatchObject({ outcome: 'committed', entered: 0, exited: 0, updated: 0 });
				expect(await members(segmentId)).toEqual(['r1', 'r2']);
			});

			it('stages a last page given with the commit, with its profiles, merged with the staged pages', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(segmentId, [rec('r1'), rec('r2'), rec('r3')], { mark: T0 });
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, { matched: [rec('r2', T0 + 5)] });
				const user = `u-${unique()}`;
				const result = await commit({
					segmentId,
					syncId,
					mode: 'incremental',
					expectedVersion: 1,
					mark: T0 + 10,
					lastPage: {
						segmentId,
						syncId,
						profiles: [{ userId: user, attributes: { plan: 'trial' } }],
						matched: [rec('r4', T0 + 6, user)],
						touched: ['r2', 'r3', 'r4'],
						deleted: ['r1'],
						now: T0 + 7,
					},
				});
				expect(result).toMatchObject({ outcome: 'committed', entered: 1, exited: 2, updated: 1 });
				expect(await members(segmentId)).toEqual(['r2', 'r4']);
				expect(await changesOf(segmentId, syncId)).toEqual([
					'entered:r4',
					'exited:r1:deleted',
					'exited:r3:no_longer_matches',
				]);
				expect((await store.getProfiles([user])).get(user)?.attributes).toEqual({ plan: 'trial' });
			});

			it('neither stages nor writes the profiles of a last page when the commit is refused', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(segmentId, [rec('r1')]);
				const user = `u-${unique()}`;
				const syncId = `s-${unique()}`;
				const refused = await commit({
					segmentId,
					syncId,
					expectedVersion: 0,
					lastPage: {
						segmentId,
						syncId,
						profiles: [{ userId: user, email: 'late@example.com' }],
						matched: [rec('r9', T0, user)],
						touched: [],
						deleted: [],
						now: T0,
					},
				});
				expect(refused.outcome).toBe('conflict');
				expect(await members(segmentId)).toEqual(['r1']);
				expect((await store.getProfiles([user])).size).toBe(0);
			});

			it('refuses a last page of another segment or sync, naming lastPage', async () => {
				const segmentId = `seg-${unique()}`;
				const page = {
					segmentId: 'other',
					syncId: 's-1',
					profiles: [],
					matched: [rec('r1')],
					touched: [],
					deleted: [],
					now: T0,
				};
				const error = await commit({ segmentId, syncId: 's-1', lastPage: page }).catch(
					(caught: unknown) => caught,
				);
				expect(error).toBeInstanceOf(InvalidInputError);
				expect((error as InvalidInputError).field).toBe('lastPage');
				expect(await store.getSegmentState(segmentId)).toBeUndefined();
			});

			it('refuses a commit that expects a state when there is none, and one that expects none', async () => {
				const segmentId = `seg-${unique()}`;
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, { matched: [rec('r1')] });
				expect(await commit({ segmentId, syncId, expectedVersion: 3 })).toEqual({
					outcome: 'conflict',
					state: undefined,
				});
				expect(await store.getSegmentState(segmentId)).toBeUndefined();
				await fullSync(segmentId, [rec('r1')]);
				const late = `s-${unique()}`;
				await stage(segmentId, late, { matched: [rec('r2')] });
				expect(await commit({ segmentId, syncId: late, expectedVersion: 0 })).toMatchObject({
					outcome: 'conflict',
					state: { version: 1 },
				});
			});

			it('updates membership without change rows when recordChanges is false', async () => {
				const segmentId = `seg-${unique()}`;
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, { matched: [rec('r1'), rec('r2')] });
				const result = await commit({ segmentId, syncId, recordChanges: false });
				expect(result).toMatchObject({ outcome: 'committed', entered: 2, exited: 0 });
				expect(await members(segmentId)).toEqual(['r1', 'r2']);
				expect(await store.listSegmentChanges({ segmentId })).toEqual([]);

				const next = `s-${unique()}`;
				await stage(segmentId, next, { matched: [rec('r2'), rec('r3')] });
				await commit({ segmentId, syncId: next, expectedVersion: 1 });
				expect(await changesOf(segmentId, next)).toEqual([
					'entered:r3',
					'exited:r1:no_longer_matches',
				]);
			});

			it('keeps the mark when a commit gives none, and takes the new definition hash', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(segmentId, [rec('r1')], { mark: T0 + 7 });
				await fullSync(segmentId, [rec('r1')], { definitionHash: 'h2' });
				expect(await store.getSegmentState(segmentId)).toMatchObject({
					mark: T0 + 7,
					definitionHash: 'h2',
					version: 2,
				});
				await fullSync(segmentId, [rec('r1')], { mark: T0 + 9 });
				expect((await store.getSegmentState(segmentId))?.mark).toBe(T0 + 9);
			});

			it('has no mark until a commit gives one', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(segmentId, []);
				expect(await store.getSegmentState(segmentId)).toEqual({
					segmentId,
					definitionHash: 'h1',
					mark: undefined,
					version: 1,
					memberCount: 0,
					lastSyncAt: T0,
					lastFullSyncAt: T0,
				});
			});

			it('checks the commit request', async () => {
				await expect(
					commit({
						segmentId: `seg-${unique()}`,
						syncId: 's',
						mode: 'sometimes' as 'full',
					}),
				).rejects.toThrow(InvalidInputError);
				await expect(
					commit({ segmentId: `seg-${unique()}`, syncId: 's', expectedVersion: -1 }),
				).rejects.toThrow(InvalidInputError);
				await expect(stage('', 's', { matched: [rec('r1')] })).rejects.toThrow(InvalidInputError);
			});
		});

		describe('staging and aborting', () => {
			it('shows nothing of a staged sync that is not committed', async () => {
				const segmentId = `seg-${unique()}`;
				await stage(segmentId, `s-${unique()}`, { matched: [rec('r1')], touched: ['r1'] });
				expect(await store.getSegmentState(segmentId)).toBeUndefined();
				expect(await store.listSegmentMembers({ segmentId })).toEqual([]);
				expect(await store.listSegmentChanges({ segmentId })).toEqual([]);
			});

			it('leaves members, mark and version unchanged when a sync is aborted', async () => {
				const segmentId = `seg-${unique()}`;
				await fullSync(segmentId, [rec('r1'), rec('r2')], { mark: T0 });
				const before = await store.getSegmentState(segmentId);
				const syncId = `s-${unique()}`;
				await stage(segmentId, syncId, { matched: [rec('r3')], deleted: ['r1'] });
				await store.abortSegmentSync(segmentId, syncId);
				await store.abortSegmentSync(segmentId, syncId);
				await store.abortSegmentSync(segmentId, `s-never-${unique()}`);
				expect(await store.getSegmentState(segmentId)).toEqual(before);
				expect(await members(segmentId)).toEqual(['r1', 'r2']);
				// The staging is gone.
				const result = await commit({
					segmentId,
					syncId,
					mode: 'incremental',
					expectedVersion: 1,
				});
				expect(result).toMatchObject({ outcome: 'committed', entered: 0, exited: 0 });
			});

			it("leaves other syncs' staging alone when one sync commits or aborts", async () => {
				const segmentId = `seg-${unique()}`;
				const other = `seg-${unique()}`;
				const [a, b, c] = [`s-${unique()}`, `s-${unique()}`, `s-${unique()}`];
				await stage(segmentId, a, { matched: [rec('r1')] });
				await stage(segmentId, b, { matched: [rec('r2')] });
				await stage(other, c, { matched: [rec('r3')] });
				await store.abortSegmentSync(segmentId, a);
				expect(await commit({ segmentId, syncId: b })).toMatchObject({ entered: 1 });
				expect(await commit({ segmentId: other, syncId: c })).toMatchObject({ entered: 1 });
				expect(await members(segmentId)).toEqual(['r2']);
				expect(await members(other)).toEqual(['r3']);
			});

			it("upserts the page's profiles, merging attributes and external ids", async () => {
				const user = `u-${unique()}`;
				await store.upsertProfiles(
					[
						{
							userId: user,
							email: 'old@example.com',
							attributes: { plan: 'free', seats: 1 },
							externalIds: { intercom: 'ic-1' },
						},
					],
					T0,
				);
				const segmentId = `seg-${unique()}`;
				await stage(segmentId, `s-${unique()}`, {
					profiles: [
						{
							userId: user,
							email: 'new@example.com',
							attributes: { plan: 'trial' },
							externalIds: { salesforce: '003A' },
						},
						{ userId: user, attributes: { region: 'EU' } },
						{ userId: `${user}-2`, externalIds: { salesforce: '003B' } },
					],
					matched: [rec('r1', T0, user), rec('r2', T0, `${user}-2`)],
					now: T0 + HOUR,
				});
				const profiles = await store.getProfiles([user, `${user}-2`]);
				expect(profiles.get(user)).toEqual({
					userId: user,
					email: 'new@example.com',
					phone: undefined,
					timeZone: undefined,
					unsubscribed: false,
					attributes: { plan: 'trial', seats: 1, region: 'EU' },
					externalIds: { intercom: 'ic-1', salesforce: '003A' },
					updatedAt: T0 + HOUR,
				});
				expect(profiles.get(`${user}-2`)?.externalIds).toEqual({ salesforce: '003B' });
			});

			it('writes neither profiles nor staging when a page is refused', async () => {
				const user = `u-${unique()}`;
				const segmentId = `seg-${unique()}`;
				const syncId = `s-${unique()}`;
				await expect(
					stage(segmentId, syncId, {
						profiles: [{ userId: user }],
						matched: [rec('r1'), { recordId: 'r2', userId: user, modstamp: Number.NaN }],
					}),
				).rejects.toThrow(InvalidInputError);
				expect((await store.getProfiles([user])).size).toBe(0);
				expect(await commit({ segmentId, syncId })).toMatchObject({ entered: 0 });
			});

			it('prunes the staging of syncs that staged nothing for a day, and only theirs', async () => {
				const own = await open();
				try {
					const segmentId = `seg-${unique()}`;
					const [stale, live] = [`s-stale-${unique()}`, `s-live-${unique()}`];
					await stage(segmentId, stale, { matched: [rec('r1')], now: T0 }, own);
					await stage(segmentId, live, { matched: [rec('r2')], now: T0 + 2 * HOUR }, own);
					await stage(segmentId, live, { matched: [rec('r3')], now: T0 + 3 * HOUR }, own);
					// Another segment's page a day and an hour later prunes the stale sync only.
					await stage(`seg-${unique()}`, `s-${unique()}`, { now: T0 + DAY + HOUR }, own);
					const staleResult = await commit({ segmentId, syncId: stale, mode: 'incremental' }, own);
					expect(staleResult).toMatchObject({ outcome: 'committed', entered: 0 });
					const liveResult = await commit(
						{ segmentId, syncId: live, mode: 'incremental', expectedVersion: 1 },
						own,
					);
					expect(liveResult).toMatchObject({ outcome: 'committed', entered: 2 });
				} finally {
					await own.close();
				}
			});
		});

		describe('listing', () => {
			it('pages through changes by seq, per segment and per sync', async () => {
				const segmentId = `seg-${unique()}`;
				const first = `s-1-${unique()}`;
				const second = `s-2-${unique()}`;
				await stage(segmentId, first, {
					matched: ['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => rec(id)),
				});
				await commit({ segmentId, syncId: first });
				await stage(segmentId, second, {
					matched: ['r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'].map((id) => rec(id)),
				});
				await commit({ segmentId, syncId: second, expectedVersion: 1 });
				await fullSync(`seg-${unique()}`, [rec('r1')]);

				const all = await store.listSegmentChanges({ segmentId });
				expect(all).toHaveLength(9);
				const paged: SegmentChange[] = [];
				for (let afterSeq = 0; ; ) {
					const page = await store.listSegmentChanges({ segmentId, afterSeq, limit: 4 });
					if (page.length === 0) break;
					expect(page.length).toBeLessThanOrEqual(4);
					paged.push(...page);
					afterSeq = page[page.length - 1].seq;
				}
				expect(paged).toEqual(all);
				expect(new Set(all.map((c) => c.seq)).size).toBe(9);
				expect(all.slice(0, 5).every((c) => c.syncId === first)).toBe(true);

				const bySync = await store.listSegmentChanges({ segmentId, syncId: second, limit: 2 });
				expect(bySync).toHaveLength(2);
				const rest = await store.listSegmentChanges({
					segmentId,
					syncId: second,
					afterSeq: bySync[1].seq,
				});
				expect([...bySync, ...rest]).toEqual(all.slice(5));
				expect(await changesOf(segmentId, second)).toEqual([
					'entered:r6',
					'entered:r7',
					'entered:r8',
					'exited:r1:no_longer_matches',
				]);
				expect(await store.listSegmentChanges({ segmentId, afterSeq: all[8].seq })).toEqual([]);
			});

			it('pages through members by record id, in byte order', async () => {
				const segmentId = `seg-${unique()}`;
				const ids = [
					...Array.from({ length: 22 }, (_, i) => `003${String(i).padStart(3, '0')}`),
					'003aB',
					'003Ab',
					'003_z',
				];
				await fullSync(
					segmentId,
					ids.map((id) => rec(id)),
				);
				const sorted = [...ids].sort();
				expect(await members(segmentId)).toEqual(sorted);
				const pages: string[][] = [];
				for (let afterRecordId: string | undefined; ; ) {
					const page = await store.listSegmentMembers({ segmentId, afterRecordId, limit: 10 });
					if (page.length === 0) break;
					pages.push(page.map((m) => m.recordId));
					afterRecordId = page[page.length - 1].recordId;
				}
				expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
				expect(pages.flat()).toEqual(sorted);
			});
		});

		describe('finding users by email', () => {
			it('matches emails case-insensitively, preferring the most recently updated profile', async () => {
				const tag = unique();
				const ana = `Ana.${tag}@Example.com`;
				await store.upsertProfiles([{ userId: `u-a1-${tag}`, email: ana }], T0);
				await store.upsertProfiles([{ userId: `u-a2-${tag}`, email: ana.toUpperCase() }], T0 + 1);
				await store.upsertProfiles(
					[
						{ userId: `u-b2-${tag}`, email: `bob.${tag}@x.io` },
						{ userId: `u-b1-${tag}`, email: `BOB.${tag}@x.io` },
					],
					T0,
				);
				const found = await store.findUserIdsByEmail([
					ana.toLowerCase(),
					`Bob.${tag}@X.IO`,
					`nobody.${tag}@x.io`,
					'',
				]);
				expect(found).toEqual(
					new Map([
						[ana.toLowerCase(), `u-a2-${tag}`],
						[`bob.${tag}@x.io`, `u-b1-${tag}`],
					]),
				);
				expect(await store.findUserIdsByEmail([])).toEqual(new Map());
			});

			it('lists every profile of an email with the Salesforce record it belongs to, newest first', async () => {
				const tag = unique();
				const email = `Shared.${tag}@x.io`;
				await store.upsertProfiles([{ userId: `web-${tag}`, email }], T0);
				await store.upsertProfiles(
					[
						{
							userId: `sf-${tag}`,
							email: email.toUpperCase(),
							externalIds: { salesforce: `003${tag}` },
						},
					],
					T0 + 1,
				);
				await store.upsertProfiles(
					[
						{
							userId: `other-${tag}`,
							email: `other.${tag}@x.io`,
							externalIds: { intercom: 'i-1' },
						},
					],
					T0,
				);
				const found = await store.findProfilesByEmail([
					`shared.${tag}@X.io`,
					`OTHER.${tag}@x.io`,
					`nobody.${tag}@x.io`,
				]);
				expect(found).toEqual(
					new Map([
						[
							`shared.${tag}@x.io`,
							[{ userId: `sf-${tag}`, salesforceId: `003${tag}` }, { userId: `web-${tag}` }],
						],
						[`other.${tag}@x.io`, [{ userId: `other-${tag}` }]],
					]),
				);
				expect(await store.findProfilesByEmail([])).toEqual(new Map());
			});

			it('finds a profile by its new email after a change, and keeps the email an update leaves out', async () => {
				const tag = unique();
				const user = `u-${tag}`;
				await store.upsertProfiles([{ userId: user, email: `old.${tag}@x.io`, phone: '+1' }], T0);
				await store.upsertProfiles([{ userId: user, attributes: { plan: 'trial' } }], T0 + 1);
				expect((await store.getProfiles([user])).get(user)).toMatchObject({
					email: `old.${tag}@x.io`,
					phone: '+1',
					attributes: { plan: 'trial' },
					updatedAt: T0 + 1,
				});
				await store.upsertProfiles([{ userId: user, email: `New.${tag}@x.io` }], T0 + 2);
				expect(await store.findUserIdsByEmail([`new.${tag}@x.io`, `old.${tag}@x.io`])).toEqual(
					new Map([[`new.${tag}@x.io`, user]]),
				);
				expect((await store.getProfiles([user])).get(user)?.email).toBe(`New.${tag}@x.io`);
			});
		});

		it('commits a full sync of 20,000 records and then one that exits and updates some', async () => {
			const segmentId = `seg-${unique()}`;
			const ids = Array.from({ length: 20_000 }, (_, i) => `r${String(i).padStart(6, '0')}`);
			const first = `s-${unique()}`;
			for (let i = 0; i < ids.length; i += 5000) {
				await stage(segmentId, first, { matched: ids.slice(i, i + 5000).map((id) => rec(id)) });
			}
			const result = await commit({ segmentId, syncId: first });
			expect(result).toMatchObject({ outcome: 'committed', entered: 20_000, exited: 0 });
			expect(result.state?.memberCount).toBe(20_000);

			const second = `s-${unique()}`;
			const kept = ids.slice(1000);
			for (let i = 0; i < kept.length; i += 5000) {
				const matched = kept.slice(i, i + 5000).map((id, j) => rec(id, i + j < 500 ? T0 + 1 : T0));
				await stage(segmentId, second, { matched });
			}
			const next = await commit({ segmentId, syncId: second, expectedVersion: 1 });
			expect(next).toMatchObject({ outcome: 'committed', entered: 0, exited: 1000, updated: 500 });
			expect(next.state?.memberCount).toBe(19_000);
			const changes = await store.listSegmentChanges({ segmentId, syncId: second, limit: 5000 });
			expect(changes).toHaveLength(1000);
			expect(changes.every((c) => c.change === 'exited')).toBe(true);
		}, 120_000);

		it('prunes changes older than 30 days when a sync commits', async () => {
			const own = await open();
			try {
				const old = `seg-${unique()}`;
				await fullSync(old, [rec('r1')], { now: T0 }, own);
				expect(await own.listSegmentChanges({ segmentId: old })).toHaveLength(1);
				await fullSync(`seg-${unique()}`, [rec('r1')], { now: T0 + 29 * DAY }, own);
				expect(await own.listSegmentChanges({ segmentId: old })).toHaveLength(1);
				await fullSync(`seg-${unique()}`, [rec('r1')], { now: T0 + 31 * DAY }, own);
				expect(await own.listSegmentChanges({ segmentId: old })).toEqual([]);
				expect(await own.listSegmentMembers({ segmentId: old })).toHaveLength(1);
			} finally {
				await own.close();
			}
		});
	});
}
