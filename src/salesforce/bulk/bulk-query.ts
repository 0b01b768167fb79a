/**
 * A Bulk API 2.0 query job driven over the documented protocol (not jsforce's bulk2, which
 * buffers whole results and gives up polling after 30 s): create the job, poll it with
 * backoff until JobComplete, then read the results page by page following `Sforce-Locator`,
 * each page parsed as a CSV stream. One page is in flight at a time and records are handed
 * on in batches, so memory stays flat however large the segment is.
 */
import { Readable } from 'node:stream';

import { CampaignError } from '../../errors';
import type { SalesforceRecord, SalesforceRequester, SyncLogger } from '../api/types';
import { silentLogger } from '../api/types';
import type { FieldTypes } from '../records';
import { parseCsvPages } from './csv-records';

export type BulkQueryFailure = 'failed' | 'aborted' | 'timeout';

/** The job ended Failed or Aborted in Salesforce, or did not complete in time. */
export class BulkQueryFailedError extends CampaignError {
	constructor(
		readonly jobId: string,
		readonly reason: BulkQueryFailure,
		message: string,
		readonly soql: string,
	) {
		super('salesforce_bulk_failed', `${message}\nSOQL: ${soql}`);
	}
}

export interface BulkQueryOptions {
	/** `queryAll` includes deleted and archived rows (default `query`). */
	operation?: 'query' | 'queryAll';
	fieldTypes: FieldTypes;
	/** Rows per results request (`maxRecords`, default 50,000). */
	maxRecordsPerPage?: number;
	/** Records per yielded batch (default 2,000). */
	batchSize?: number;
	/** First wait between polls (default 1 s); doubles up to `maxPollIntervalMs`. */
	pollIntervalMs?: number;
	/** Longest wait between polls (default 10 s). */
	maxPollIntervalMs?: number;
	/** How long the job may take to complete before it is aborted (default 30 min). */
	timeoutMs?: number;
	sleep?: (ms: number) => Promise<void>;
	logger?: SyncLogger;
	/** Stops polling or reading; the job is then aborted. */
	signal?: AbortSignal;
	/** Called once the job exists (its snapshot is taken after this answer). */
	onJobCreated?: (jobId: string) => void;
}

export const DEFAULT_BULK_PAGE_RECORDS = 50_000;
const DEFAULT_POLL_INTERVAL_MS = 1_000;
const DEFAULT_MAX_POLL_INTERVAL_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 30 * 60_000;

interface JobInfo {
	id?: string;
	state?: string;
	errorMessage?: string;
	numberRecordsProcessed?: number;
}

/** Where the job stands, for the cleanup on early exit. */
type Progress = 'running' | 'complete' | 'finished';

function abortableSleep(signal: AbortSignal | undefined): (ms: number) => Promise<void> {
	return (ms) =>
		new Promise<void>((resolve, reject) => {
			if (signal?.aborted) return reject(signal.reason as Error);
			const onAbort = () => {
				clearTimeout(timer);
				reject(signal!.reason as Error);
			};
			const timer = setTimeout(() => {
				signal?.removeEventListener('abort', onAbort);
				resolve();
			}, ms);
			signal?.addEventListener('abort', onAbort, { once: true });
		});
}

function formatDuration(ms: number): string {
	return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

/**
 * Runs `soql` as a Bulk API 2.0 query job and yields its records in batches. On early exit
 * (the consumer stops, an error, the signal) the response stream is destroyed and the job is
 * aborted (or, once complete, deleted) on a best-effort basis.
 */
export async function* runBulkQuery(
	api: SalesforceRequester,
	soql: string,
	options: BulkQueryOptions,
): AsyncGenerator<SalesforceRecord[]> {
	const logger = options.logger ?? silentLogger;
	const signal = options.signal;
	signal?.throwIfAborted();
	const created = await api.request({
		method: 'POST',
		path: '/jobs/query',
		body: { operation: options.operation ?? 'query', query: soql },
		retrySafe: true,
		soql,
	});
	const jobId = (created.json as JobInfo | undefined)?.id;
	if (!jobId) {
		throw new CampaignError(
			'salesforce_bulk_failed',
			`Salesforce did not return a job id for the bulk query job (HTTP ${created.status}).\nSOQL: ${soql}`,
		);
	}
	logger.info(`Salesforce bulk query job ${jobId} created`, { jobId });
	options.onJobCreated?.(jobId);

	let progress: Progress = 'running';
	try {
		await waitForCompletion(api, jobId, soql, options, () => (progress = 'finished'));
		progress = 'complete';

		let locator: string | undefined;
		let pages = 0;
		let records = 0;
		do {
			signal?.throwIfAborted();
			const page = await api.request({
				method: 'GET',
				path: `/jobs/query/${jobId}/results`,
				query: { maxRecords: options.maxRecordsPerPage ?? DEFAULT_BULK_PAGE_RECORDS, locator },
				headers: { Accept: 'text/csv' },
				stream: true,
				soql,
			});
			pages++;
			// Sforce-NumberOfRecords is informative only: proxies may strip it.
			logger.debug(`Salesforce bulk query job ${jobId}: reading results page ${pages}`, {
				jobId,
				page: pages,
				numberOfRecords: page.headers['sforce-numberofrecords'],
			});
			const body = page.stream ?? Readable.from(page.text ? [page.text] : []);
			for await (const batch of parseCsvPages(body, {
				fieldTypes: options.fieldTypes,
				batchSize: options.batchSize,
			})) {
				records += batch.length;
				yield batch;
				signal?.throwIfAborted();
			}
			const next = page.headers['sforce-locator'];
			locator = next && next !== 'null' ? next : undefined;
		} while (locator !== undefined);
		progress = 'finished';
		logger.info(
			`Salesforce bulk query job ${jobId}: read ${records} records in ${pages} results page(s)`,
			{ jobId, records, pages },
		);
	} finally {
		if (progress !== 'finished') await cleanUp(api, jobId, progress, logger);
	}
}

async function waitForCompletion(
	api: SalesforceRequester,
	jobId: string,
	soql: string,
	options: BulkQueryOptions,
	markEnded: () => void,
): Promise<void> {
	const logger = options.logger ?? silentLogger;
	const signal = options.signal;
	const sleep = options.sleep ?? abortableSleep(signal);
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const maxInterval = options.maxPollIntervalMs ?? DEFAULT_MAX_POLL_INTERVAL_MS;
	const started = Date.now();
	let interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
	// Counted as well as measured, so an injected sleep still reaches the timeout.
	let slept = 0;
	let lastState: string | undefined;
	for (;;) {
		signal?.throwIfAborted();
		const job = ((await api.request({ method: 'GET', path: `/jobs/query/${jobId}`, soql })).json ??
			{}) as JobInfo;
		const state = job.state ?? 'unknown';
		const processed = job.numberRecordsProcessed ?? 0;
		const meta = { jobId, state, numberRecordsProcessed: processed };
		if (state !== lastState) {
			logger.info(
				`Salesforce bulk query job ${jobId}: ${state}, ${processed} records processed`,
				meta,
			);
			lastState = state;
		} else {
			logger.debug(
				`Salesforce bulk query job ${jobId}: ${state}, ${processed} records processed`,
				meta,
			);
		}
		if (state === 'JobComplete') return;
		if (state === 'Failed' || state === 'Aborted') {
			markEnded();
			throw new BulkQueryFailedError(
				jobId,
				state === 'Failed' ? 'failed' : 'aborted',
				`Salesforce bulk query job ${jobId} ended ${state}: ${job.errorMessage || 'Salesforce gave no error message'}`,
				soql,
			);
		}
		const elapsed = Math.max(Date.now() - started, slept);
		if (elapsed + interval > timeoutMs) {
			throw new BulkQueryFailedError(
				jobId,
				'timeout',
				`Salesforce bulk query job ${jobId} did not complete within ${formatDuration(timeoutMs)} (still ${state}, ${processed} records processed), so it was aborted. Narrow the segment's condition, or sync more often so each run reads fewer records.`,
				soql,
			);
		}
		await sleep(interval);
		slept += interval;
		interval = Math.min(interval * 2, maxInterval);
	}
}

/**
 * Best effort, errors ignored: a running job is aborted so it stops using the org's bulk
 * limits; a complete one cannot be aborted, so it is deleted to drop its stored results.
 */
async function cleanUp(
	api: SalesforceRequester,
	jobId: string,
	progress: Exclude<Progress, 'finished'>,
	logger: SyncLogger,
): Promise<void> {
	try {
		if (progress === 'running') {
			await api.request({
				method: 'PATCH',
				path: `/jobs/query/${jobId}`,
				body: { state: 'Aborted' },
				retrySafe: true,
			});
			logger.info(`Salesforce bulk query job ${jobId} aborted`, { jobId });
		} else {
			await api.request({ method: 'DELETE', path: `/jobs/query/${jobId}` });
			logger.info(`Salesforce bulk query job ${jobId} stopped early; job deleted`, { jobId });
		}
	} catch (error) {
		logger.warn(`Could not clean up Salesforce bulk query job ${jobId}: ${String(error)}`, {
			jobId,
		});
	}
}
