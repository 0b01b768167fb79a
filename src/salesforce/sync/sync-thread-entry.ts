/**
 * The sync thread (started by `sync-thread.ts`): opens its own connection to the caller's
 * store, asks the caller for Salesforce tokens, runs one `syncSegment`, posts the report.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';

import type { CampaignStoreWithSegments } from '../../store/segment-store';
import { openCampaignStore } from '../../store/open-store';
import { SalesforceApi } from '../api/salesforce-api';
import type { SalesforceHttpResponse, SalesforceTransport } from '../api/transport';
import type { SalesforceSession, SalesforceToken, SyncLogger } from '../api/types';
import { syncSegment } from './sync-segment';
import {
	deserializeError,
	serializeError,
	type CallerMessage,
	type HttpReply,
	type SyncThreadJob,
	type ThreadMessage,
} from './thread-messages';

const port = parentPort!;
const job = workerData as SyncThreadJob;

const post = (message: ThreadMessage) => port.postMessage(message);

const pendingTokens = new Map<
	number,
	{ resolve: (token: SalesforceToken) => void; reject: (error: Error) => void }
>();
let nextTokenRequest = 0;
const onReply = (reply: CallerMessage) => {
	if (reply.kind !== 'token') {
		onHttpReply(reply);
		return;
	}
	const pending = pendingTokens.get(reply.id);
	if (!pending) return;
	pendingTokens.delete(reply.id);
	if ('token' in reply) pending.resolve(reply.token);
	else pending.reject(deserializeError(reply.error));
};

const pendingHttp = new Map<
	number,
	{ resolve: (response: SalesforceHttpResponse) => void; reject: (error: Error) => void }
>();
/** Streamed bodies being read, by request id. */
const bodies = new Map<number, Readable>();
let nextHttpRequest = 0;

function onHttpReply(reply: HttpReply): void {
	if (reply.kind === 'http-chunk') {
		const body = bodies.get(reply.id);
		if (!body) return;
		if (reply.error) {
			bodies.delete(reply.id);
			body.destroy(deserializeError(reply.error));
		} else if (reply.end) {
			bodies.delete(reply.id);
			body.push(null);
		} else if (reply.chunk) {
			body.push(Buffer.from(reply.chunk));
		}
		return;
	}
	const pending = pendingHttp.get(reply.id);
	if (!pending) return;
	pendingHttp.delete(reply.id);
	if ('error' in reply) {
		pending.reject(deserializeError(reply.error));
		return;
	}
	const { id, status, headers } = reply;
	if (!reply.streamed) {
		pending.resolve({ status, headers, text: reply.text });
		return;
	}
	const body = new Readable({
		// One chunk asked for at a time: Node calls read() again only after a push.
		read: () => post({ kind: 'http-read', id }),
		destroy: (error, callback) => {
			if (bodies.delete(id)) post({ kind: 'http-read', id, cancel: true });
			callback(error);
		},
	});
	bodies.set(id, body);
	pending.resolve({ status, headers, stream: body });
}

/** The caller's transport (n8n's HTTP helper), through messages. */
const relayTransport: SalesforceTransport = (request) => {
	const id = nextHttpRequest++;
	return new Promise((resolve, reject) => {
		pendingHttp.set(id, { resolve, reject });
		post({ kind: 'http', id, request });
	});
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
			api: new SalesforceApi({
				session,
				apiVersion: job.apiVersion,
				logger,
				transport: job.relayHttp ? relayTransport : undefined,
			}),
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
