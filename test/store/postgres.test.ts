import { randomUUID } from 'node:crypto';

import { Pool } from 'pg';

import {
	openPostgresStore,
	type PostgresCampaignStore,
} from '../../src/store/postgres/postgres-store';
import type { CampaignStore } from '../../src/store/campaign-store';
import { describeScheduleConformance } from './schedule-conformance';
import { describeSegmentConformance } from './segments-conformance';
import { describeDryRunConformance } from './dry-run-conformance';
import { describeCampaignStoreConformance } from './store-conformance';
import { describeUserRecordsConformance } from './user-records-conformance';
import { testConnection } from '../support/postgres';

const connection = testConnection;

const admin = new Pool({ ...connection, max: 1 });
const schemas: string[] = [];
afterAll(async () => {
	for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	await admin.end();
});

const openPostgres = async (sharing?: CampaignStore) => {
	if (sharing) {
		const { schema } = sharing as PostgresCampaignStore;
		return openPostgresStore({ connection, schema, poolMax: 2 });
	}
	const schema = `tc_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
	schemas.push(schema);
	return openPostgresStore({ connection, schema, poolMax: 4 });
};
describeCampaignStoreConformance('PostgreSQL', openPostgres);
describeSegmentConformance('PostgreSQL', openPostgres);
describeScheduleConformance('PostgreSQL', openPostgres);
describeDryRunConformance('PostgreSQL', openPostgres, async (store) => {
	const { schema } = store as PostgresCampaignStore;
	const { rows: tables } = await admin.query<{ table_name: string }>(
		`SELECT table_name FROM information_schema.tables
		 WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`,
		[schema],
	);
	const snapshot: Record<string, string[]> = {};
	for (const { table_name: table } of tables) {
		const { rows } = await admin.query<{ row: string }>(
			`SELECT to_jsonb(t)::text AS row FROM "${schema}"."${table}" AS t`,
		);
		snapshot[table] = rows.map(({ row }) => row).sort();
	}
	return snapshot;
});
describeUserRecordsConformance('PostgreSQL', () => openPostgres());
