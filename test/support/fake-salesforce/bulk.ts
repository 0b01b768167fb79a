/** Bulk API 2.0 query jobs: create, poll, page CSV results by locator, abort, delete. */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

import { csvLine } from './csv';
import { sequentialId } from './ids';
import { compileQuery } from './soql/compile';
import { SalesforceApiError } from './soql/errors';
import { csvHeader, csvProjector, runQuery, type QueryRun } from './soql/execute';
import { parseSoql } from './soql/parser';
import type { Store } from './store';
import { formatRestDatetime } from './values';

type JobState = 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

interface BulkJob {
	id: string;
	operation: 'query' | 'queryAll';
	object: string;
	createdById: string;
	createdAt: number;
	apiVersion: string;
	polls: number;
	state: JobState;
	failureMessage: string | undefined;
	run: QueryRun | undefined;
}

/** Salesforce picks a page size when maxRecords is absent; the fake uses a fixed, modest one. */
export const DEFAULT_BULK_MAX_RECORDS = 10_000;
const ROWS_PER_WRITE = 500;

export class BulkJobs {
	private readonly jobs = new Map<string, BulkJob>();
	private jobCount = 0;
	private pendingFailures: string[] = [];

	constructor(
		private readonly store: Store,
		private readonly now: () => number,
		private readonly pollsUntilComplete: () => number,
	) {}

	failNextJob(errorMessage: string): void {
		this.pendingFailures.push(errorMessage);
	}

	create(body: unknown, apiVersion: string, userId: string): Record<string, unknown> {
		const request = (body ?? {}) as { operation?: unknown; query?: unknown };
		if (request.operation !== 'query' && request.operation !== 'queryAll') {
			throw new SalesforceApiError(
				400,
				'INVALIDJOB',
				`Invalid operation: ${String(request.operation)}`,
			);
		}
		if (typeof request.query !== 'string' || request.query.trim() === '') {
			throw new SalesforceApiError(400, 'INVALIDJOB', 'A query string has to be specified');
		}
		const compiled = compileQuery(parseSoql(request.query), { store: this.store, now: this.now() });
		if (compiled.isCount) {
			throw new SalesforceApiError(
				400,
				'INVALIDJOB',
				'Aggregate queries are not supported by Bulk API 2.0 query jobs',
			);
		}
		const failureMessage = this.pendingFailures.shift();
		const job: BulkJob = {
			id: sequentialId('750', ++this.jobCount),
			operation: request.operation,
			object: compiled.table.name,
			createdById: userId,
			createdAt: this.now(),
			apiVersion,
			polls: 0,
			state: 'UploadComplete',
			failureMessage,
			// The snapshot is taken now: rows written while the job "runs" are not in it.
			run: failureMessage
				? undefined
				: runQuery(compiled, this.store.seq, request.operation === 'queryAll'),
		};
		this.jobs.set(job.id, job);
		return this.info(job, false);
	}

	/** GET jobs/query/{id}: each poll moves the job one step toward completion. */
	poll(jobId: string): Record<string, unknown> {
		const job = this.require(jobId);
		if (job.state === 'UploadComplete' || job.state === 'InProgress') {
			job.polls++;
			if (job.polls >= this.pollsUntilComplete())
				job.state = job.failureMessage ? 'Failed' : 'JobComplete';
			else job.state = 'InProgress';
		}
		return this.info(job, true);
	}

	list(): Record<string, unknown> {
		return {
			done: true,
			records: [...this.jobs.values()].map((job) => this.info(job, false)),
			nextRecordsUrl: null,
		};
	}

	abort(jobId: string, body: unknown): Record<string, unknown> {
		const job = this.require(jobId);
		if ((body as { state?: unknown } | null)?.state !== 'Aborted') {
			throw new SalesforceApiError(
				400,
				'INVALIDJOBSTATE',
				'Only state Aborted can be set on a query job',
			);
		}
		if (job.state === 'JobComplete' || job.state === 'Failed') {
			throw new SalesforceApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is already ${job.state}`);
		}
		job.state = 'Aborted';
		job.run = undefined;
		return this.info(job, false);
	}

	delete(jobId: string): void {
		this.require(jobId);
		this.jobs.delete(jobId);
	}

	/** Streams one page of CSV, generating rows as it writes and honouring backpressure. */
	async writeResults(jobId: string, url: URL, res: ServerResponse): Promise<void> {
		const job = this.require(jobId);
		if (job.state !== 'JobComplete' || !job.run) {
			throw new SalesforceApiError(
				400,
				'API_ERROR',
				`Results are not available: query job ${job.id} is in state ${job.state}`,
			);
		}
		const maxRecordsText = url.searchParams.get('maxRecords');
		const maxRecords = maxRecordsText === null ? DEFAULT_BULK_MAX_RECORDS : Number(maxRecordsText);
		if (!Number.isInteger(maxRecords) || maxRecords < 1) {
			throw new SalesforceApiError(400, 'INVALIDREQUEST', `Invalid maxRecords: ${maxRecordsText}`);
		}
		const locator = url.searchParams.get('locator');
		const offset = locator ? decodeLocator(locator) : 0;
		const { run } = job;
		if (offset === undefined || offset > run.indexes.length) {
			throw new SalesforceApiError(400, 'INVALIDLOCATOR', `Invalid locator: ${locator}`);
		}
		const end = Math.min(run.indexes.length, offset + maxRecords);
		res.writeHead(200, {
			'Content-Type': 'text/csv',
			'Sforce-Locator': end < run.indexes.length ? encodeLocator(end) : 'null',
			'Sforce-NumberOfRecords': String(end - offset),
		});
		const project = csvProjector(this.store, run.compiled);
		let chunk = csvLine(csvHeader(run.compiled));
		for (let position = offset; position < end; position++) {
			chunk += csvLine(project(run.compiled.table.rowAt(run.indexes[position], run.seq)!, run.seq));
			if ((position - offset + 1) % ROWS_PER_WRITE === 0) {
				if (res.destroyed) return;
				if (!res.write(chunk)) await once(res, 'drain');
				chunk = '';
			}
		}
		res.end(chunk);
	}

	private require(jobId: string): BulkJob {
		const job = this.jobs.get(jobId);
		if (!job)
			throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
		return job;
	}

	private info(job: BulkJob, detailed: boolean): Record<string, unknown> {
		const info: Record<string, unknown> = {
			id: job.id,
			operation: job.operation,
			object: job.object,
			createdById: job.createdById,
			createdDate: formatRestDatetime(job.createdAt),
			systemModstamp: formatRestDatetime(this.now()),
			state: job.state,
			concurrencyMode: 'Parallel',
			contentType: 'CSV',
			apiVersion: Number(job.apiVersion),
			lineEnding: 'LF',
			columnDelimiter: 'COMMA',
		};
		if (detailed) {
			Object.assign(info, {
				jobType: 'V2Query',
				numberRecordsProcessed: job.state === 'JobComplete' ? (job.run?.indexes.length ?? 0) : 0,
				retries: 0,
				totalProcessingTime: job.state === 'JobComplete' ? 42 : 0,
				isPkChunkingSupported: true,
			});
			if (job.state === 'Failed') info.errorMessage = job.failureMessage;
		}
		return info;
	}
}

/** Salesforce locators are opaque base64-looking strings; this one encodes the row offset. */
function encodeLocator(offset: number): string {
	return Buffer.from(String(offset)).toString('base64').replace(/=+$/, '');
}

function decodeLocator(locator: string): number | undefined {
	const text = Buffer.from(locator, 'base64').toString('utf8');
	return /^\d+$/.test(text) ? Number(text) : undefined;
}
