/**
 * Helpers shared by the e2e tests of this package's nodes inside a real n8n
 * (campaign-trigger.e2e.test.ts, campaign-steps.e2e.test.ts): posting events (optionally
 * HMAC-signed), reading node outputs from an execution, opening the campaign store n8n wrote,
 * and failures that carry the n8n log tail.
 */
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-store';
import type { ExecutionDetails, N8nInstance } from './n8n-harness';

/** What the Campaign Event Trigger answers. */
export interface TriggerAnswer {
	status: number;
	/** Parsed JSON body (undefined when the body is not JSON). */
	json: Record<string, unknown> | undefined;
	text: string;
}

/** Hex HMAC-SHA256 of the exact bytes, as the trigger's HMAC authentication expects. */
export function hmacHex(secret: string, body: string | Buffer): string {
	return createHmac('sha256', secret).update(body).digest('hex');
}

/** POSTs a raw JSON body (exactly these bytes) to a webhook URL with extra headers. */
export async function postEvents(
	url: string,
	body: string,
	headers: Record<string, string> = {},
): Promise<TriggerAnswer> {
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body,
		signal: AbortSignal.timeout(60_000),
	});
	const text = await response.text();
	let json: Record<string, unknown> | undefined;
	try {
		json = JSON.parse(text) as Record<string, unknown>;
	} catch {
		json = undefined;
	}
	return { status: response.status, json, text };
}

/**
 * POSTs as a real sender does: n8n's own 503 (its database ping timed out under load, "Database
 * is not ready!") comes before any node runs, so nothing was recorded and the same bytes are sent
 * again after a pause. Any other answer is returned as it is.
 */
export async function postEventsRetryingUnavailable(
	url: string,
	body: string,
	headers: Record<string, string> = {},
	attempts = 4,
): Promise<TriggerAnswer> {
	for (let attempt = 1; ; attempt++) {
		const answer = await postEvents(url, body, headers);
		if (answer.status !== 503 || attempt >= attempts) return answer;
		await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
	}
}

/** A Segment-style track event. */
export function trackEvent(
	userId: string,
	event: string,
	properties: Record<string, unknown>,
	options: { messageId: string; timestamp?: string; timezone?: string },
): Record<string, unknown> {
	return {
		type: 'track',
		userId,
		event,
		properties,
		messageId: options.messageId,
		...(options.timestamp ? { timestamp: options.timestamp } : {}),
		...(options.timezone ? { context: { timezone: options.timezone } } : {}),
	};
}

type Item = { json: Record<string, unknown> };

/**
 * The items one node sent on one output in an execution (run `runIndex`, default the first).
 * `undefined` when the node did not run; `[]` when the output was empty.
 */
export function nodeOutput(
	execution: ExecutionDetails,
	nodeName: string,
	outputIndex = 0,
	runIndex = 0,
): Item[] | undefined {
	const runs = execution.data?.resultData.runData[nodeName];
	if (!runs || !runs[runIndex]) return undefined;
	return runs[runIndex].data?.main[outputIndex] ?? [];
}

/** Names of the nodes that ran, with run count, for failure messages. */
export function describeRun(execution: ExecutionDetails): string {
	const runData = execution.data?.resultData.runData ?? {};
	const nodes = Object.entries(runData).map(([name, runs]) => {
		const outputs = runs.map((run) =>
			(run.data?.main ?? []).map((items) => (items ?? []).length).join('/'),
		);
		const errors = runs.filter((run) => run.error).map((run) => JSON.stringify(run.error));
		return `${name}: runs ${runs.length}, items per output [${outputs.join(' | ')}]${errors.length ? `, errors ${errors.join('; ')}` : ''}`;
	});
	const error = execution.data?.resultData.error;
	return `execution ${execution.id} status ${execution.status}${error ? ` error ${JSON.stringify(error).slice(0, 1500)}` : ''}\n  ${nodes.join('\n  ')}`;
}

/** Default SQLite store of a user folder (no Campaign Store credential). */
export function defaultStorePath(userFolder: string): string {
	return path.join(userFolder, '.n8n', 'triggered-campaigns.sqlite');
}

/** Opens the SQLite campaign store n8n wrote (WAL; n8n may hold it open too), runs fn, closes it. */
export async function withSqliteStore<T>(
	filePath: string,
	fn: (store: SqliteCampaignStore) => Promise<T>,
): Promise<T> {
	const store = new SqliteCampaignStore({ filePath });
	try {
		return await fn(store);
	} finally {
		await store.close();
	}
}

/**
 * Wraps a test body so that any failure carries the last lines of n8n's log (and a note), which
 * is what one needs to tell a node's bug from a harness or n8n problem.
 */
export function withLogTail(
	instance: () => N8nInstance | undefined,
	fn: () => Promise<void>,
	lines = 50,
): () => Promise<void> {
	return async () => {
		try {
			await fn();
		} catch (error) {
			const n8n = instance();
			if (error instanceof Error && n8n) {
				const extra = `\n--- last ${lines} lines of the n8n log ${n8n.logPath} ---\n${n8n.logTail(lines)}\n--- end of n8n log ---`;
				// jest prints the message (the stack's own copy of it is left as is).
				error.message += extra;
			}
			throw error;
		}
	};
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * What an e2e file prints when it ends: its timings, the n8n log's path, what happened and any
 * further lines (what an imitation received); then its temporary folder goes, unless
 * N8N_E2E_KEEP_TMP keeps it for a look.
 */
export function endE2eFile(
	file: string,
	run: {
		timings: Record<string, string>;
		logPath: string | undefined;
		evidence: string[];
		extra?: string[];
		tmp: string | undefined;
	},
): void {
	console.log(
		[
			`${file} e2e timings:`,
			...Object.entries(run.timings).map(([k, v]) => `  ${k}: ${v}`),
			`  n8n log: ${run.logPath ?? '-'}`,
			'what happened:',
			...run.evidence.map((line) => `  ${line}`),
			...(run.extra ?? []),
		].join('\n'),
	);
	if (run.tmp && !process.env.N8N_E2E_KEEP_TMP)
		fs.rmSync(run.tmp, { recursive: true, force: true });
}

/** An answer of n8n's public API whatever its status (the harness's `api()` throws on non-2xx). */
export async function publicApiAnswer(
	n8n: N8nInstance,
	method: string,
	urlPath: string,
	body?: unknown,
	timeoutMs = 120_000,
): Promise<TriggerAnswer> {
	const response = await fetch(`${n8n.baseUrl}${urlPath}`, {
		method,
		headers: {
			'X-N8N-API-KEY': n8n.apiKey,
			...(body === undefined ? {} : { 'content-type': 'application/json' }),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(timeoutMs),
	});
	const text = await response.text();
	let json: Record<string, unknown> | undefined;
	try {
		json = JSON.parse(text) as Record<string, unknown>;
	} catch {
		json = undefined;
	}
	return { status: response.status, json, text };
}

/** The error a node's run ended with (undefined when that run succeeded or did not happen). */
export function nodeRunError(
	execution: ExecutionDetails,
	nodeName: string,
	runIndex = 0,
): Record<string, unknown> | undefined {
	return execution.data?.resultData.runData[nodeName]?.[runIndex]?.error as
		| Record<string, unknown>
		| undefined;
}

/** One request a {@link RecordingProvider} received. */
export interface ProviderRequest {
	/** When it arrived (epoch ms). */
	at: number;
	authorization?: string;
	idempotencyKey?: string;
	body: Record<string, unknown>;
	/** False until the answer was written; stays false when the caller hung up (e.g. it died). */
	answered: boolean;
}

export interface RecordingProvider {
	/** The URL to give Send Message's HTTP channel. */
	url: string;
	requests: ProviderRequest[];
	/** How long the provider takes to answer (ms, default 0): a request is recorded on arrival. */
	delayMs: number;
	/**
	 * How many of the next requests are read in full, recorded, then met by closing the
	 * connection without an answer (default 0): the provider got the message, its answer is lost.
	 */
	dropNext: number;
	close(): Promise<void>;
}

/**
 * An HTTP messaging provider on 127.0.0.1: records each request on arrival, answers 201 with a
 * message id (after `delayMs`, which may be changed at any time), or, while `dropNext` is above
 * 0, hangs up without answering.
 */
export async function startRecordingProvider(): Promise<RecordingProvider> {
	const requests: ProviderRequest[] = [];
	const provider = { delayMs: 0, dropNext: 0 };
	const server = http.createServer((request, response) => {
		let raw = '';
		request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
		request.on('end', () => {
			const recorded: ProviderRequest = {
				at: Date.now(),
				authorization: request.headers.authorization,
				idempotencyKey: request.headers['idempotency-key'] as string | undefined,
				body: JSON.parse(raw) as Record<string, unknown>,
				answered: false,
			};
			requests.push(recorded);
			if (provider.dropNext > 0) {
				provider.dropNext -= 1;
				request.socket.destroy();
				return;
			}
			const id = `msg-${requests.length}`;
			const answer = () => {
				if (request.socket.destroyed) return;
				response.writeHead(201, { 'content-type': 'application/json' });
				response.end(JSON.stringify({ id }));
				recorded.answered = true;
			};
			if (provider.delayMs > 0) setTimeout(answer, provider.delayMs);
			else answer();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return Object.assign(provider, {
		url: `http://127.0.0.1:${port}/messages`,
		requests,
		close: async () =>
			await new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	});
}
