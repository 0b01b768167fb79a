import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IRun, ITriggerFunctions, ITriggerResponse } from 'n8n-workflow';

/** n8n's deferred promise, as `helpers.createDeferredPromise` makes it. */
interface IDeferredPromise<T> {
	promise: Promise<T>;
	resolve: (value: T) => void;
	reject: (error: Error) => void;
}

import { CampaignResumeTrigger } from '../../nodes/CampaignResumeTrigger/CampaignResumeTrigger.node';
import { closeSharedCampaignStores, SqliteCampaignStore } from '../../src';
import { fakeContext } from './fake-context';

const folder = mkdtempSync(join(tmpdir(), 'tc-resume-trigger-'));
const filePath = join(folder, 'store.sqlite');
const credentials = { campaignStoreApi: { backend: 'sqlite', filePath } };
afterAll(async () => {
	await closeSharedCampaignStores();
	rmSync(folder, { recursive: true, force: true });
});

interface Emission {
	items: Array<{ json: Record<string, unknown> }>;
	done: IDeferredPromise<IRun>;
}

/** n8n's trigger context for the node: parameters, credentials, and an emit that records. */
function triggerContext(
	parameters: Record<string, unknown>,
	mode: 'trigger' | 'manual' = 'trigger',
) {
	const { context } = fakeContext({
		nodeType: new CampaignResumeTrigger(),
		parameters,
		credentials,
	});
	const emissions: Emission[] = [];
	const trigger = {
		...context,
		getMode: () => mode,
		emit: (
			data: Array<Array<{ json: Record<string, unknown> }>>,
			_response: unknown,
			done: IDeferredPromise<IRun>,
		) => {
			emissions.push({ items: data[0], done });
		},
		helpers: {
			...context.helpers,
			createDeferredPromise: <T>() => {
				let resolve!: (value: T) => void;
				let reject!: (error: Error) => void;
				const promise = new Promise<T>((res, rej) => {
					resolve = res;
					reject = rej;
				});
				return { promise, resolve, reject };
			},
		},
	};
	return { context: trigger as unknown as ITriggerFunctions, emissions };
}

async function until(
	condition: () => boolean | Promise<boolean>,
	timeoutMs = 10_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

async function schedule(campaignId: string, users: string[], dueAt: number): Promise<void> {
	const store = new SqliteCampaignStore({ filePath });
	try {
		await store.scheduleSteps(
			users.map((userId) => ({
				campaignId,
				stepId: 'after-delay',
				entryId: `${campaignId}-${userId}`,
				userId,
				dueAt,
				payload: { userId, campaignId, entryId: `${campaignId}-${userId}` },
			})),
			dueAt,
		);
	} finally {
		await store.close();
	}
}

async function openRows(campaignId: string): Promise<number | undefined> {
	const store = new SqliteCampaignStore({ filePath });
	try {
		return await store.nextScheduledDueAt({ campaignId, stepId: 'after-delay' });
	} finally {
		await store.close();
	}
}

describe('Campaign Resume Trigger node', () => {
	it('emits the due users in one execution and marks them done once it finished', async () => {
		await schedule('resume-1', ['u1', 'u2', 'u3'], Date.now() - 1000);
		const { context, emissions } = triggerContext({
			campaignId: 'resume-1',
			resumePoint: 'after-delay',
			options: { pollSeconds: 0.2 },
		});
		const response: ITriggerResponse = await new CampaignResumeTrigger().trigger.call(context);
		try {
			await until(() => emissions.length === 1);
			expect(emissions[0].items.map((item) => item.json.userId)).toEqual(['u1', 'u2', 'u3']);
			expect(emissions[0].items[0].json.resume).toMatchObject({ point: 'after-delay', attempt: 1 });
			// Still claimed while the execution runs.
			expect(await openRows('resume-1')).toBeGreaterThan(Date.now());
			emissions[0].done.resolve({} as IRun);
			await until(async () => (await openRows('resume-1')) === undefined);
			expect(emissions).toHaveLength(1);
		} finally {
			await response.closeFunction?.();
		}
	});

	it('gives the users back when n8n lost their execution (a queue-mode worker died), and emits them again', async () => {
		await schedule('resume-lost', ['l1', 'l2'], Date.now() - 1000);
		const { context, emissions } = triggerContext({
			campaignId: 'resume-lost',
			resumePoint: 'after-delay',
			options: { pollSeconds: 0.2 },
		});
		const response = await new CampaignResumeTrigger().trigger.call(context);
		try {
			await until(() => emissions.length === 1);
			// What n8n 2.41's main hands back when the worker running the job was killed: Bull found
			// the job stalled, n8n wrote the execution as failed, and no node ran.
			emissions[0].done.resolve({
				status: 'error',
				finished: false,
				mode: 'trigger',
				startedAt: new Date(),
				data: {
					resultData: {
						runData: {},
						error: {
							message:
								'This execution failed to be processed too many times and will no longer retry.',
						},
					},
				},
			} as unknown as IRun);
			await until(() => emissions.length === 2);
			expect(emissions[1].items.map((item) => item.json.userId)).toEqual(['l1', 'l2']);
			expect(emissions[1].items[0].json.resume).toMatchObject({ attempt: 2 });
			// An execution that ran and failed in a node is finished: its users are not run again.
			emissions[1].done.resolve({
				status: 'error',
				data: { resultData: { runData: { Resume: [{}], 'Send Message': [{}] } } },
			} as unknown as IRun);
			await until(async () => (await openRows('resume-lost')) === undefined);
			expect(emissions).toHaveLength(2);
		} finally {
			await response.closeFunction?.();
		}
	});

	it('emits once in manual mode ("Execute step" in the editor) and stops', async () => {
		await schedule('resume-2', ['m1'], Date.now() - 1000);
		const { context, emissions } = triggerContext(
			{ campaignId: 'resume-2', resumePoint: 'after-delay', options: { pollSeconds: 0.2 } },
			'manual',
		);
		const response = await new CampaignResumeTrigger().trigger.call(context);
		await until(() => emissions.length === 1);
		emissions[0].done.resolve({} as IRun);
		await schedule('resume-2', ['m2'], Date.now() - 1000);
		await new Promise((resolve) => setTimeout(resolve, 600));
		expect(emissions).toHaveLength(1);
		await response.closeFunction?.();
	});

	it('refuses settings that cannot work, naming the setting', async () => {
		const { context } = triggerContext({ campaignId: 'c', resumePoint: ' ', options: {} });
		await expect(new CampaignResumeTrigger().trigger.call(context)).rejects.toThrow(
			/^Campaign Resume Trigger settings: resumePoint: is empty/,
		);
	});
});
