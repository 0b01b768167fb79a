import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type INodeType,
	type INodeTypeDescription,
	type IRun,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import {
	resumedItemJson,
	startResumeLoop,
	validateResumeLoopOptions,
	type ClaimedStep,
	type ResumeLoopOptions,
} from '../../src';
import { campaignStoreFor, testCampaignStoreCredential } from '../shared/campaign-store';
import { textSubtitleExpression } from '../shared/descriptions';
import { toNodeError } from '../shared/node-errors';
import { resumeTriggerProperties } from './description';

/**
 * True when n8n gave up on an execution that never ran a node: in queue mode, a worker that dies
 * leaves its job stalled and n8n (2.41) writes the execution as failed with no node data, and does
 * not run it again; `crashed` is how n8n marks executions whose process died. Its users are
 * scheduled again (the steps after a resume point are idempotent per entry). An execution that
 * ran and failed in a node is finished: running it again would fail the same way.
 */
function lostByN8n(run: IRun | undefined): boolean {
	if (!run || run.status === undefined) return false;
	if (run.status === 'crashed') return true;
	if (run.status !== 'error') return false;
	return Object.keys(run.data?.resultData?.runData ?? {}).length === 0;
}

function describeRunError(run: IRun): string {
	const error = run.data?.resultData?.error as { message?: unknown } | undefined;
	return typeof error?.message === 'string' ? error.message : 'no error message';
}

/** A claim is renewed while its execution runs; after a crash, its users resume this much later. */
const LEASE_MS = 30_000;

export class CampaignResumeTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Campaign Resume Trigger',
		name: 'campaignResumeTrigger',
		icon: { light: 'file:campaignResumeTrigger.svg', dark: 'file:campaignResumeTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: `={{ ${textSubtitleExpression('campaignId', 'Campaign: ', 'Campaign ID not set')} + " › " + ${textSubtitleExpression('resumePoint', '', 'Resume Point not set')} }}`,
		description:
			'Continues each user of a campaign at their own time: starts executions with the users a Campaign Delay scheduled, as they fall due',
		defaults: { name: 'Campaign Resume Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'campaignStoreApi',
				displayName: 'Campaign Store',
				required: false,
				testedBy: 'testCampaignStoreCredential',
			},
		],
		properties: resumeTriggerProperties,
	};

	methods = { credentialTest: { testCampaignStoreCredential } };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const settings = {
			campaignId: String(this.getNodeParameter('campaignId', '')).trim(),
			resumePoint: String(this.getNodeParameter('resumePoint', '')).trim(),
			batchSize: Number(options.batchSize ?? 1000),
			pollMs: Math.round(Number(options.pollSeconds ?? 1) * 1000),
			leaseMs: LEASE_MS,
			maxInFlight: Number(options.maxInFlight ?? 2),
		};
		const emitExecution = async (steps: ClaimedStep[]) => {
			const done = this.helpers.createDeferredPromise<IRun>();
			const now = Date.now();
			this.emit(
				[
					this.helpers.returnJsonArray(
						steps.map((step) => resumedItemJson(step, now)) as IDataObject[],
					),
				],
				undefined,
				done,
			);
			const run = await done.promise;
			if (lostByN8n(run))
				throw new NodeOperationError(
					this.getNode(),
					`n8n lost the execution of ${steps.length} user(s) before any node ran (status ${run.status}; ${describeRunError(run)}), e.g. the worker running it died`,
				);
		};
		const loopOptions: ResumeLoopOptions = {
			...settings,
			store: async () => await campaignStoreFor(this),
			run: emitExecution,
			log: (level, message) => this.logger[level](`Campaign Resume Trigger: ${message}`),
		};
		try {
			validateResumeLoopOptions(loopOptions);
		} catch (error) {
			throw toNodeError(this, error, { settings: 'Campaign Resume Trigger settings' });
		}

		if (this.getMode() === 'manual') {
			// "Execute step" in the editor: the next users to fall due, in one execution, for real
			// (as the Campaign Event Trigger's test URL records real events).
			const loop = startResumeLoop({
				...loopOptions,
				maxInFlight: 1,
				run: async (steps) => {
					await loop.stop();
					await emitExecution(steps);
				},
			});
			return { closeFunction: async () => await loop.stop() };
		}
		const loop = startResumeLoop(loopOptions);
		this.logger.info(
			`Campaign Resume Trigger: resuming campaign "${settings.campaignId}" at "${settings.resumePoint}"`,
		);
		return { closeFunction: async () => await loop.stop() };
	}
}
