/**
 * The example workflows of `examples/`, imported as they are into a real n8n 2.41.0 (one
 * process, the default SQLite campaign store; their credentials are found by name, as n8n does
 * on import), run against the local Intercom imitation and the fake Salesforce. Every user's
 * outcome is checked by `example-campaigns.ts`, the same checks queue mode runs
 * (examples-queue-mode.e2e.test.ts).
 *
 * Run: `npm run test:e2e -- test/e2e/examples.e2e.test.ts` (builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8n,
	type N8nInstance,
	type PublishedWorkflow,
} from './n8n-harness';
import { startIntercomImitation, type IntercomImitation } from '../send/support/intercom-imitation';
import type { FakeSalesforce } from '../support/fake-salesforce';
import { defaultStorePath, withLogTail, withSqliteStore } from './campaign-e2e-helpers';
import {
	abandonedCartUrls,
	abandonedCartUsers,
	checkAbandonedCartOutcomes,
	checkTrialEndingOutcomes,
	createIntercomCredential,
	INTERCOM_TOKEN,
	linkedCredentials,
	readExample,
	startTrialOrg,
	type StoreAccess,
} from './example-campaigns';

describe('examples/abandoned-cart.json and examples/trial-ending.json in a real n8n 2.41.0', () => {
	let tmp: string;
	let n8n: N8nInstance | undefined;
	let imitation: IntercomImitation;
	let workflow: PublishedWorkflow;
	let storePath: string;
	let salesforce: FakeSalesforce | undefined;
	const contactIds: Record<string, string> = {};
	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);
	const withStore: StoreAccess = async (fn) => await withSqliteStore(storePath, fn);

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-examples-'));
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		storePath = defaultStorePath(userFolder);
		await installPackageTarball(tgz, userFolder);

		imitation = await startIntercomImitation({ accessToken: INTERCOM_TOKEN });
		for (const userId of Object.values(abandonedCartUsers))
			contactIds[userId] = imitation.addContact({ external_id: userId, role: 'user' }).id;

		n8n = await startN8n({ userFolder, installation });
		// The example names its credential "Intercom Account"; n8n links it by name on import.
		await createIntercomCredential(n8n, imitation);
		workflow = await n8n.importAndPublishWorkflow(
			readExample('abandoned-cart.json', 'e2eExampleCart01'),
		);
	}, 600_000);

	afterAll(async () => {
		await n8n?.stop();
		await imitation?.close();
		await salesforce?.close();
		if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it(
		'imports with every node known to n8n and its credential linked by name',
		logged(async () => {
			const linked = await linkedCredentials(n8n!, workflow.id);
			expect(linked['Campaign Send Message']?.campaignIntercomApi).toEqual({
				id: expect.any(String),
				name: 'Intercom Account',
			});
		}),
	);

	it(
		'sends each user what the campaign says, once: day users reminded, a buyer exits, a cheap cart never enters, a night user waits for 09:00 local, a user at the cap is capped',
		logged(async () => {
			await checkAbandonedCartOutcomes({
				n8n: n8n!,
				workflowId: workflow.id,
				...abandonedCartUrls(workflow.webhooks),
				imitation,
				contactIds,
				withStore,
			});
		}),
		300_000,
	);

	it(
		'trial-ending: the poll enters the Contacts whose trial ends within 3 days and who have not converted; each waits for the next weekday morning in their own zone',
		logged(async () => {
			salesforce = await startTrialOrg();
			await checkTrialEndingOutcomes({
				n8n: n8n!,
				salesforce,
				imitation,
				workflow: readExample('trial-ending.json', 'e2eExampleTrial1'),
				restart: async () => await n8n!.restart(),
			});
		}),
		300_000,
	);
});
