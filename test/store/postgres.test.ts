import { randomUUID } from 'node:crypto';

import { Pool } from 'pg';

import {
	openPostgresStore,
	type PostgresCampaignStore,
} from '../../src/store/postgres/postgres-store';
import type { CampaignStore } from '../../src/store/campaign-store';
import { describeScheduleConformance } from './schedule-conformance';
import { describeSegmentConformance } from './segments-conformance';
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
describeUserRecordsConformance('PostgreSQL', () => openPostgres());
