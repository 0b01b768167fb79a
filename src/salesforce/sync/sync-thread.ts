/**
 * A segment sync on a worker thread of its own. A full read of a large segment allocates
 * steadily for minutes; on the caller's thread V8 lets the heap grow with that rate (its young
 * generation to the maximum, its old generation to a limit sized for n8n's whole process), and
 * the synchronous SQLite writes share n8n's event loop. On its own thread the sync's heap gets
 * limits of its own without touching n8n's flags: measured at 100,000 records, the thread's
 * heap peaks near 33 MB with the limits below and near 59 MB without them.
 *
 * The thread opens its own connection to the same store (SQLite file or PostgreSQL) and asks
 * this thread's session for tokens, so logins, refreshed tokens and their persistence stay
 * where they were. Its log lines come here; an error it throws is rethrown here as the same
 * engine error class with the same fields.
 */
import { extname, join } from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';

import { CampaignError, InvalidInputError } from '../../errors';
import type { StoreConfig } from '../../store/open-store';
import type { SalesforceTransport } from '../api/transport';
import {
	DEFAULT_API_VERSION,
	silentLogger,
	type SalesforceSession,
	type SyncLogger,
} from '../api/types';
import { resolveSegmentDefinition, type SegmentDefinition } from './segment-definition';
import type { SegmentSyncReport } from './sync-segment';
import {
	deserializeError,
	serializeError,
	type CallerMessage,
	type SyncThreadJob,
	type ThreadMessage,
} from './thread-messages';

/** Young generation of the sync thread's heap, MB (V8 lets it grow to 48 MB on its own). */
export const DEFAULT_SYNC_THREAD_YOUNG_GENERATION_MB = 8;
/**
 * Old generation limit of the sync thread's heap, MB. Any explicit limit makes V8 collect the
 * thread's old generation early (measured the same from 64 to 512 MB); 512 leaves a wide
 * margin over a sync's live heap (about 14 MB, plus the pages in hand).
 */
export const DEFAULT_SYNC_THREAD_OLD_GENERATION_MB = 512;

export interface SyncThreadOptions {
	/** The store the thread opens: the same database as the caller's store. */
	storeConfig: StoreConfig;
	/** The caller's session; the thread's requests use its tokens. */
	session: SalesforceSession;
	/**
	 * The caller's transport (n8n's HTTP helper, whose proxy settings apply): the thread's
	 * requests are sent through it, their bodies streamed over as the thread reads them.
	 * Without it the thread sends with fetch.
	 */
	transport?: SalesforceTransport;
	/** Young generation cap of the thread's heap, MB (default 8). */
	youngGenerationMb?: number;
	/** Old generation limit of the thread's heap, MB (default 512). */
	oldGenerationMb?: number;
}

export interface ThreadSegmentSyncOptions extends SyncThreadOptions {
	definition: SegmentDefinition;
	/** e.g. `62.0` (default `DEFAULT_API_VERSION`). */
	apiVersion?: string;
	firstSync?: 'enterAll' | 'trackOnly';
	forceFull?: boolean;
	bulkBatchSize?: number;
	bulkPollIntervalMs?: number;
	logger?: SyncLogger;
}

/** `syncSegment` on a worker thread; see the module comment. */
export async function syncSegmentOnThread(
	options: ThreadSegmentSyncOptions,
): Promise<SegmentSyncReport> {
	const { storeConfig, session } = options;
	if (storeConfig.backend === 'sqlite' && storeConfig.filePath === ':memory:') {
		throw new InvalidInputError(
			'storeConfig.filePath',
			'an in-memory SQLite store cannot be shared with a sync thread; use a file, or run syncSegment on this thread.',
		);
	}
	// Checked here, so a bad definition fails before a thread starts.
	resolveSegmentDefinition(options.definition);
	const limits = {
		maxYoungGenerationSizeMb: heapLimit(
			options.youngGenerationMb,
			'youngGenerationMb',
			DEFAULT_SYNC_THREAD_YOUNG_GENERATION_MB,
			1,
		),
		maxOldGenerationSizeMb: heapLimit(
			options.oldGenerationMb,
			'oldGenerationMb',
			DEFAULT_SYNC_THREAD_OLD_GENERATION_MB,
			MIN_OLD_GENERATION_MB,
		),
	};
	const logger = options.logger ?? silentLogger;
	const job: SyncThreadJob = {
		storeConfig,
		apiVersion: options.apiVersion ?? DEFAULT_API_VERSION,
		sessionDescription: session.description,
		definition: options.definition,
		firstSync: options.firstSync,
		forceFull: options.forceFull,
		bulkBatchSize: options.bulkBatchSize,
		bulkPollIntervalMs: options.bulkPollIntervalMs,
		relayHttp: options.transport !== undefined,
	};
	const worker = startSyncThread(job, limits);
	const relay = options.transport ? httpRelay(options.transport, worker) : undefined;

	return await new Promise<SegmentSyncReport>((resolve, reject) => {
		let settled = false;
		const settle = (outcome: () => void) => {
			if (settled) return;
			settled = true;
			outcome();
		};
		worker.once('exit', () => relay?.close());
		worker.on('message', (message: ThreadMessage) => {
			switch (message.kind) {
				case 'http':
				case 'http-read':
					relay?.handle(message);
					break;
				case 'log':
					logger[message.level](message.message, message.meta);
					break;
				case 'token': {
					const token = message.failed ? session.refreshToken(message.failed) : session.getToken();
					token.then(
						(value) =>
							worker.postMessage({
								kind: 'token',
								id: message.id,
								token: value,
							} satisfies CallerMessage),
						(error: unknown) =>
							worker.postMessage({
								kind: 'token',
								id: message.id,
								error: serializeError(error),
							} satisfies CallerMessage),
					);
					break;
				}
				case 'done':
					settle(() => resolve(message.report));
					break;
				case 'failed':
					settle(() => reject(deserializeError(message.error)));
					break;
			}
		});
		worker.once('error', (error: Error & { code?: string }) =>
			settle(() =>
				reject(
					error.code === 'ERR_WORKER_OUT_OF_MEMORY'
						? new CampaignError(
								'sync_thread_out_of_memory',
								`The segment sync thread ran out of its ${limits.maxOldGenerationSizeMb} MB heap. Membership and mark are as before the sync. Map fewer or shorter fields, or give the sync more (oldGenerationMb).`,
							)
						: error,
				),
			),
		);
		worker.once('exit', (code) =>
			settle(() =>
				reject(
					new CampaignError(
						'sync_thread_stopped',
						`The segment sync thread stopped (exit code ${code}) before it finished. Membership and mark are as before the sync; the next poll starts over from them.`,
					),
				),
			),
		);
	});
}

/**
 * Sends the thread's requests through the caller's transport. A streamed body (Bulk results)
 * crosses one chunk per `http-read` of the thread, so it is read no faster than the thread
 * stages it.
 */
function httpRelay(transport: SalesforceTransport, worker: Worker) {
	const streams = new Map<number, AsyncIterator<unknown>>();
	const post = (message: CallerMessage) => worker.postMessage(message);
	return {
		handle(message: Extract<ThreadMessage, { kind: 'http' | 'http-read' }>): void {
			const { id } = message;
			if (message.kind === 'http') {
				transport(message.request).then(
					(response) => {
						if (response.stream) {
							streams.set(id, response.stream[Symbol.asyncIterator]());
							post({
								kind: 'http',
								id,
								status: response.status,
								headers: response.headers,
								streamed: true,
							});
						} else {
							post({
								kind: 'http',
								id,
								status: response.status,
								headers: response.headers,
								text: response.text,
							});
						}
					},
					(error: unknown) => post({ kind: 'http', id, error: serializeError(error) }),
				);
				return;
			}
			const iterator = streams.get(id);
			if (!iterator || message.cancel) {
				streams.delete(id);
				void iterator?.return?.();
				if (!message.cancel) post({ kind: 'http-chunk', id, end: true });
				return;
			}
			iterator.next().then(
				({ done, value }) => {
					if (done) {
						streams.delete(id);
						post({ kind: 'http-chunk', id, end: true });
					} else {
						const chunk = typeof value === 'string' ? Buffer.from(value) : (value as Uint8Array);
						post({ kind: 'http-chunk', id, chunk });
					}
				},
				(error: unknown) => {
					streams.delete(id);
					post({ kind: 'http-chunk', id, error: serializeError(error) });
				},
			);
		},
		/** The thread is gone: drop the bodies it did not finish reading. */
		close(): void {
			for (const iterator of streams.values()) void iterator.return?.();
			streams.clear();
		},
	};
}

/**
 * Below this V8 cannot even start the thread's isolate, and that failure ends the whole process
 * (not just the thread), so smaller limits are refused.
 */
const MIN_OLD_GENERATION_MB = 64;

function heapLimit(
	value: number | undefined,
	field: string,
	fallback: number,
	min: number,
): number {
	if (value === undefined) return fallback;
	if (!Number.isInteger(value) || value < min) {
		throw new InvalidInputError(
			field,
			`must be a whole number of MB, at least ${min}; leave it out for ${fallback}.`,
		);
	}
	return value;
}

function startSyncThread(job: SyncThreadJob, resourceLimits: ResourceLimits): Worker {
	// `.js` in the published package; `.ts` when running from source (tests, `npm run demo`).
	const extension = extname(__filename);
	const entry = join(__dirname, `sync-thread-entry${extension}`);
	if (extension === '.ts') {
		return new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, {
			eval: true,
			workerData: job,
			resourceLimits,
		});
	}
	return new Worker(entry, { workerData: job, resourceLimits });
}
