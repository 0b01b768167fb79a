/**
 * The sync thread (started by `sync-thread.ts`): opens its own connection to the caller's
 * store, asks the caller for Salesforce tokens, runs one `syncSegment`, posts the report.
 */
import { parentPort, workerData } from 'node:worker_threads';

import type { CampaignStoreWithSegments } from '../../store/segment-store';
import { openCampaignStore } from '../../store/open-store';
import { SalesforceApi } from '../api/salesforce-api';
import type { SalesforceSession, SalesforceToken, SyncLogger } from '../api/types';
import { syncSegment } from './sync-segment';
import {
	deserializeError,
	serializeError,
	type SyncThreadJob,
	type ThreadMessage,
	type TokenReply,
} from './thread-messages';

const port = parentPort!;
const job = workerData as SyncThreadJob;

const post = (message: ThreadMessage) => port.postMessage(message);

const pendingTokens = new Map<
	number,
	{ resolve: (token: SalesforceToken) => void; reject: (error: Error) => void }
>();
let nextTokenRequest = 0;
const onReply = (reply: TokenReply) => {
	const pending = pendingTokens.get(reply.id);
	if (!pending) return;
	pendingTokens.delete(reply.id);
	if ('token' in reply) pending.resolve(reply.token);
	else pending.reject(deserializeError(reply.error));
};
port.on('message', onReply);

function askForToken(failed?: SalesforceToken): Promise<SalesforceToken> {
	const id = nextTokenRequest++;
	return new Promise((resolve, reject) => {
		pendingTokens.set(id, { resolve, reject });
		post({ kind: 'token', id, failed });
	});
}

/** The caller's session, through messages: one login and one token cache per process. */
const session: SalesforceSession = {
	description: job.sessionDescription,
	getToken: () => askForToken(),
	refreshToken: (failed) => askForToken(failed),
};

const logger: SyncLogger = {
	debug: (message, meta) => post({ kind: 'log', level: 'debug', message, meta }),
	info: (message, meta) => post({ kind: 'log', level: 'info', message, meta }),
	warn: (message, meta) => post({ kind: 'log', level: 'warn', message, meta }),
};

async function run(): Promise<void> {
	let store: CampaignStoreWithSegments | undefined;
	try {
		// A connection of its own: a pool of two is plenty for one sync's sequential queries.
		store = await openCampaignStore(
			job.storeConfig.backend === 'postgres' ? { ...job.storeConfig, poolMax: 2 } : job.storeConfig,
		);
		const report = await syncSegment({
			api: new SalesforceApi({ session, apiVersion: job.apiVersion, logger }),
			store,
			definition: job.definition,
			firstSync: job.firstSync,
			forceFull: job.forceFull,
			bulkBatchSize: job.bulkBatchSize,
			bulkPollIntervalMs: job.bulkPollIntervalMs,
			logger,
		});
		post({ kind: 'done', report });
	} catch (error) {
		post({ kind: 'failed', error: serializeError(error) });
	} finally {
		await store?.close().catch(() => undefined);
		// Nothing left to wait for: the thread ends once its messages are out.
		port.off('message', onReply);
	}
}

void run();
