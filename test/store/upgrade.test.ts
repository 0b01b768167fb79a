/**
 * Upgrades from schema version 5 as the last schema-5 code (commit d45da4f) wrote it (fixtures
 * made by that code, see `fixtures/make-v5-fixtures.ts`): opened by the current code, a store migrates in
 * place with every row intact; a migration killed halfway leaves version 5 behind and the next
 * opener completes it; openers that start together migrate once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { Client } from 'pg';

import { SCHEMA_VERSION } from '../../src/store/campaign-store';
import { openPostgresStore } from '../../src/store/postgres/postgres-store';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import type { CampaignStoreWithSegments } from '../../src/store/segment-store';
import { postgresTestScope, testConnection } from '../support/postgres';
import {
	CAMPAIGNS,
	PENDING_SYNC_ID,
	readStoreSnapshot,
	SEGMENT_ID,
	T0,
	V5_TABLES,
	type StoreSnapshot,
} from './fixtures/v5-store-data';

const FIXTURES = join(__dirname, 'fixtures');
const FIXTURE_SCHEMA = 'tc_v5_fixture';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Expected {
	rows: Record<string, number>;
	snapshot: StoreSnapshot;
}
const expected = JSON.parse(readFileSync(join(FIXTURES, 'store-v5-snapshots.json'), 'utf8')) as {
	sqlite: Expected;
	postgres: Expected;
};
const ALL_VERSIONS = Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1);

/** What the process printed so far, and a wait for a line. */
function startWorker(mode: string, target: string) {
	const child = fork(join(__dirname, 'migration-worker.ts'), [mode, target], {
		execArgv: ['--import', 'tsx'],
		cwd: join(__dirname, '..', '..'),
		stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
	});
	let output = '';
	const waiters: Array<() => void> = [];
	child.stdout!.on('data', (chunk: Buffer) => {
		output += chunk.toString();
		for (const wake of waiters.splice(0)) wake();
	});
	const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
	return {
		child,
		exited,
		output: () => output,
		async line(prefix: string, timeoutMs = 20_000): Promise<string> {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const found = output.split('\n').find((l) => l.startsWith(prefix));
				if (found !== undefined) return found;
				if (child.exitCode !== null || Date.now() > deadline) {
					throw new Error(`worker ${mode} printed no "${prefix}": ${JSON.stringify(output)}`);
				}
				await new Promise<void>((resolve) => {
					waiters.push(resolve);
					setTimeout(resolve, 100);
				});
			}
		},
	};
}

async function killed(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
	child.kill('SIGKILL');
	await exited;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The store reads back what the old code wrote, and works on it: old events are
 * duplicates, old sends count toward caps, old entries can be scheduled, the sync that was
 * staged before the upgrade commits.
 */
async function expectIntactAndWorking(
	store: CampaignStoreWithSegments,
	fixture: Expected,
): Promise<void> {
	expect(await readStoreSnapshot(store, fixture.snapshot.plan)).toEqual(fixture.snapshot);

	const again = await store.ingest({
		events: [
			{ ...fixture.snapshot.events['u-ada'][0] },
			{
				messageId: 'm-after-upgrade',
				userId: 'u-ada',
				name: 'Signed Up',
				occurredAt: T0 + 10 * DAY,
				receivedAt: T0 + 10 * DAY,
				properties: {},
			},
		],
		entry: { campaignId: CAMPAIGNS.welcome, reEntry: { mode: 'once' }, candidates: [0, 1] },
		now: T0 + 10 * DAY,
	});
	expect(again.recorded).toEqual([false, true]);
	expect(again.entries).toEqual([]);
	expect(again.alreadyEntered).toEqual([0]);
	expect(again.notReEligible).toEqual([1]);

	// Ada's welcome email (sent the day after T0) still counts toward her daily cap.
	const [capped] = await store.reserveSends([
		{
			idempotencyKey: 'after-upgrade:u-ada',
			campaignId: 'newsletter',
			stepId: 'send',
			userId: 'u-ada',
			channel: 'email',
			tags: [],
			now: T0 + DAY + HOUR,
			expiresAt: T0 + DAY + 2 * HOUR,
			countsTowardCap: true,
			limits: [{ ruleId: 'daily', since: T0 + HOUR, limit: 1 }],
		},
	]);
	expect(capped).toMatchObject({ outcome: 'capped', violated: ['daily'] });

	const adaWelcome = fixture.snapshot.entries.find(
		(e) => e?.userId === 'u-ada' && e.campaignId === CAMPAIGNS.welcome,
	)!;
	const step = {
		campaignId: CAMPAIGNS.welcome,
		stepId: 'after-delay',
		entryId: adaWelcome.entryId,
		userId: 'u-ada',
		dueAt: T0 + 11 * DAY,
		payload: { json: { userId: 'u-ada' } },
	};
	expect(await store.scheduleSteps([step], T0 + 10 * DAY)).toEqual({ scheduled: [true] });
	const claimed = await store.claimDueSteps({
		campaignId: CAMPAIGNS.welcome,
		stepId: 'after-delay',
		now: T0 + 11 * DAY,
		limit: 10,
		leaseMs: 30_000,
	});
	expect(claimed.map((c) => [c.entryId, c.payload])).toEqual([[step.entryId, step.payload]]);

	const state = fixture.snapshot.segmentState!;
	const commit = await store.commitSegmentSync({
		segmentId: SEGMENT_ID,
		syncId: PENDING_SYNC_ID,
		mode: 'incremental',
		expectedVersion: state.version,
		definitionHash: state.definitionHash,
		mark: T0 + 3 * DAY,
		syncedAt: T0 + 3 * DAY,
		recordChanges: true,
		now: T0 + 3 * DAY,
	});
	expect(commit).toMatchObject({ outcome: 'committed', entered: 1, exited: 1 });
	expect((await store.listSegmentMembers({ segmentId: SEGMENT_ID })).map((m) => m.userId)).toEqual([
		'u-bo',
		'u-dana',
	]);
}

describe('Upgrading a version-5 SQLite store', () => {
	let folder: string;
	beforeAll(() => {
		folder = mkdtempSync(join(tmpdir(), 'tc-upgrade-'));
	});
	afterAll(() => rmSync(folder, { recursive: true, force: true }));

	/** A copy of the fixture: the committed file is never written. */
	const copyOfFixture = (name: string): string => {
		const filePath = join(folder, name);
		copyFileSync(join(FIXTURES, 'store-v5.sqlite'), filePath);
		return filePath;
	};
	const inspect = (filePath: string) => {
		const db = new DatabaseSync(filePath);
		try {
			const versions = (
				db.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{
					version: number;
				}>
			).map((r) => r.version);
			const tables = (
				db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{
					name: string;
				}>
			).map((r) => r.name);
			const rows = Object.fromEntries(
				V5_TABLES.map((table) => [
					table,
					(db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
				]),
			);
			return { versions, tables, rows };
		} finally {
			db.close();
		}
	};

	it('is the file the schema-5 code wrote: schema version 5, without scheduled_steps', () => {
		const before = inspect(copyOfFixture('as-committed.sqlite'));
		expect(before.versions).toEqual([1, 2, 3, 4, 5]);
		expect(before.tables).not.toContain('scheduled_steps');
		expect(before.rows).toEqual(expected.sqlite.rows);
	});

	it('migrates in place to the current version, with every row there and readable', async () => {
		const filePath = copyOfFixture('upgrade.sqlite');
		const store = new SqliteCampaignStore({ filePath });
		try {
			const after = inspect(filePath);
			expect(after.versions).toEqual(ALL_VERSIONS);
			expect(after.tables).toContain('scheduled_steps');
			expect(after.rows).toEqual(expected.sqlite.rows);
			await expectIntactAndWorking(store, expected.sqlite);
		} finally {
			await store.close();
		}
	});

	it('stays at version 5 when the migrating process is killed halfway, and the next opener completes it', async () => {
		const filePath = copyOfFixture('killed.sqlite');
		const stalled = startWorker('stall-sqlite', filePath);
		await stalled.line('stalled');
		await killed(stalled.child, stalled.exited);

		const left = inspect(filePath);
		expect(left.versions).toEqual([1, 2, 3, 4, 5]);
		expect(left.tables).not.toContain('scheduled_steps');
		expect(left.rows).toEqual(expected.sqlite.rows);

		const store = new SqliteCampaignStore({ filePath });
		try {
			expect(inspect(filePath).versions).toEqual(ALL_VERSIONS);
			await expectIntactAndWorking(store, expected.sqlite);
		} finally {
			await store.close();
		}
	});

	it('lets a second process wait for a migration that is killed, then migrate itself', async () => {
		const filePath = copyOfFixture('waiting.sqlite');
		const stalled = startWorker('stall-sqlite', filePath);
		await stalled.line('stalled');
		const waiting = startWorker('open-sqlite', filePath);
		await waiting.line('opening');
		await sleep(500);
		// The write lock of the half-done migration holds the second opener back.
		expect(waiting.output()).not.toContain('opened');
		await killed(stalled.child, stalled.exited);
		expect(await waiting.line('opened')).toBe(`opened ${SCHEMA_VERSION}`);
		expect(await waiting.exited).toBe(0);

		const store = new SqliteCampaignStore({ filePath });
		try {
			expect(inspect(filePath).versions).toEqual(ALL_VERSIONS);
			await expectIntactAndWorking(store, expected.sqlite);
		} finally {
			await store.close();
		}
	});

	it('migrates once when two processes open the old file at the same moment', async () => {
		const filePath = copyOfFixture('together.sqlite');
		const openers = [startWorker('open-sqlite', filePath), startWorker('open-sqlite', filePath)];
		for (const opener of openers) {
			expect(await opener.line('opened')).toBe(`opened ${SCHEMA_VERSION}`);
			expect(await opener.exited).toBe(0);
		}
		expect(inspect(filePath).versions).toEqual(ALL_VERSIONS);
		const store = new SqliteCampaignStore({ filePath });
		try {
			await expectIntactAndWorking(store, expected.sqlite);
		} finally {
			await store.close();
		}
	});
});

describe('Upgrading a version-5 PostgreSQL schema', () => {
	const { admin, freshSchema, open, dispose } = postgresTestScope();
	afterAll(() => dispose());

	/**
	 * Restores the fixture's dump into a fresh schema. The dump names its schema; psql's
	 * `\restrict` lines (pg_dump's guard against a hostile server) are for psql only.
	 */
	async function restoreFixture(): Promise<string> {
		const schema = freshSchema();
		const sql = readFileSync(join(FIXTURES, 'store-v5-postgres.sql'), 'utf8')
			.split('\n')
			.filter((line) => !line.startsWith('\\'))
			.join('\n')
			.replaceAll(FIXTURE_SCHEMA, schema);
		// A connection of its own: the dump empties search_path for the rest of the session.
		const client = new Client(testConnection);
		await client.connect();
		try {
			await client.query(sql);
		} finally {
			await client.end();
		}
		return schema;
	}

	const inspect = async (schema: string) => {
		const versions = (
			await admin.query<{ version: number }>(
				`SELECT version FROM "${schema}".schema_version ORDER BY version`,
			)
		).rows.map((r) => r.version);
		const tables = (
			await admin.query<{ tablename: string }>(
				'SELECT tablename FROM pg_tables WHERE schemaname = $1',
				[schema],
			)
		).rows.map((r) => r.tablename);
		const rows: Record<string, number> = {};
		for (const table of V5_TABLES) {
			const { rows: counted } = await admin.query<{ n: number }>(
				`SELECT count(*)::int AS n FROM "${schema}".${table}`,
			);
			rows[table] = counted[0].n;
		}
		return { versions, tables, rows };
	};

	it('is the schema the schema-5 code wrote: version 5, without scheduled_steps', async () => {
		const before = await inspect(await restoreFixture());
		expect(before.versions).toEqual([1, 2, 3, 4, 5]);
		expect(before.tables).not.toContain('scheduled_steps');
		expect(before.rows).toEqual(expected.postgres.rows);
	});

	it('migrates in place to the current version, with every row there and readable', async () => {
		const schema = await restoreFixture();
		const store = await open({ schema });
		const after = await inspect(schema);
		expect(after.versions).toEqual(ALL_VERSIONS);
		expect(after.tables).toContain('scheduled_steps');
		expect(after.rows).toEqual(expected.postgres.rows);
		await expectIntactAndWorking(store, expected.postgres);
	});

	it('rolls a migration back when its process is killed halfway; the opener waiting on it completes it', async () => {
		const schema = await restoreFixture();
		const stalled = startWorker('stall-postgres', schema);
		try {
			await stalled.line('stalled');
			// The half-done migration is invisible outside its transaction.
			expect((await inspect(schema)).tables).not.toContain('scheduled_steps');

			let opened = false;
			const opening = openPostgresStore({ connection: testConnection, schema, poolMax: 2 }).then(
				(store) => {
					opened = true;
					return store;
				},
			);
			await sleep(500);
			// The migration lock holds the second opener back.
			expect(opened).toBe(false);
			await killed(stalled.child, stalled.exited);
			const store = await opening;
			try {
				expect((await inspect(schema)).versions).toEqual(ALL_VERSIONS);
				await expectIntactAndWorking(store, expected.postgres);
			} finally {
				await store.close();
			}
		} finally {
			stalled.child.kill('SIGKILL');
		}
	});

	it('stays at version 5 when the migrating process is killed halfway, and the next opener completes it', async () => {
		const schema = await restoreFixture();
		const stalled = startWorker('stall-postgres', schema);
		await stalled.line('stalled');
		await killed(stalled.child, stalled.exited);
		// The server rolls the dead connection's transaction back (shortly after the socket closes).
		const left = await inspect(schema);
		expect(left.versions).toEqual([1, 2, 3, 4, 5]);
		expect(left.tables).not.toContain('scheduled_steps');

		const store = await open({ schema });
		expect((await inspect(schema)).versions).toEqual(ALL_VERSIONS);
		await expectIntactAndWorking(store, expected.postgres);
	});

	it('migrates once when several stores open the old schema at the same moment', async () => {
		const schema = await restoreFixture();
		const stores = await Promise.all([1, 2, 3, 4].map(() => open({ schema })));
		expect((await inspect(schema)).versions).toEqual(ALL_VERSIONS);
		await expectIntactAndWorking(stores[3], expected.postgres);
	});
});
