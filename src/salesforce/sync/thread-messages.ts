/**
 * What the sync thread and its caller say to each other (see `sync-thread.ts`), and how an
 * engine error crosses the thread boundary with its class and fields intact: structured
 * clone keeps only an Error's message, and the n8n adapters tell errors apart by class.
 */
import {
	CampaignError,
	InvalidInputError,
	SchemaVersionError,
	StoreConfigurationError,
	StoreUnavailableError,
} from '../../errors';
import type { StoreConfig } from '../../store/open-store';
import { SalesforceApiError, SalesforceAuthError, SalesforceLimitError } from '../api/errors';
import type { SalesforceHttpRequest } from '../api/transport';
import type { SalesforceToken } from '../api/types';
import { BulkQueryFailedError } from '../bulk/bulk-query';
import type { SegmentDefinition } from './segment-definition';
import type { SegmentSyncReport } from './sync-segment';

/** The thread's `workerData`: everything it needs, as plain data. */
export interface SyncThreadJob {
	storeConfig: StoreConfig;
	apiVersion: string;
	sessionDescription: string;
	definition: SegmentDefinition;
	firstSync?: 'enterAll' | 'trackOnly';
	forceFull?: boolean;
	bulkBatchSize?: number;
	bulkPollIntervalMs?: number;
	/** The caller sends the thread's requests through its transport (n8n's HTTP helper). */
	relayHttp?: boolean;
}

export interface SerializedError {
	className: string;
	message: string;
	stack?: string;
	/** The error's own fields that survive structured clone (code, field, status, soql…). */
	fields: Record<string, unknown>;
	cause?: SerializedError;
}

/** From the thread to its caller. */
export type ThreadMessage =
	| { kind: 'token'; id: number; failed?: SalesforceToken }
	/** Send this request through the caller's transport. */
	| { kind: 'http'; id: number; request: SalesforceHttpRequest }
	/** The next chunk of the streamed body of request `id`; `cancel` drops the rest. */
	| { kind: 'http-read'; id: number; cancel?: boolean }
	| {
			kind: 'log';
			level: 'debug' | 'info' | 'warn';
			message: string;
			meta?: Record<string, unknown>;
	  }
	| { kind: 'done'; report: SegmentSyncReport }
	| { kind: 'failed'; error: SerializedError };

/** From the caller to the thread: the answer to a `token` message. */
export type TokenReply =
	| { kind: 'token'; id: number; token: SalesforceToken }
	| { kind: 'token'; id: number; error: SerializedError };

/**
 * From the caller to the thread: the answer to an `http` message (`streamed`: the body follows
 * chunk by chunk, one per `http-read`), or to an `http-read`.
 */
export type HttpReply =
	| {
			kind: 'http';
			id: number;
			status: number;
			headers: Record<string, string>;
			text?: string;
			streamed?: boolean;
	  }
	| { kind: 'http'; id: number; error: SerializedError }
	| { kind: 'http-chunk'; id: number; chunk?: Uint8Array; end?: boolean; error?: SerializedError };

/** Everything the caller says to the thread. */
export type CallerMessage = TokenReply | HttpReply;

type ErrorClass = abstract new (...args: never[]) => Error;

/** The engine's errors a sync can throw, by class name. */
const ERROR_CLASSES = new Map<string, ErrorClass>(
	[
		CampaignError,
		InvalidInputError,
		StoreUnavailableError,
		StoreConfigurationError,
		SchemaVersionError,
		SalesforceApiError,
		SalesforceAuthError,
		SalesforceLimitError,
		BulkQueryFailedError,
		Error,
		TypeError,
		RangeError,
	].map((errorClass) => [errorClass.name, errorClass]),
);

function cloneable(value: unknown): boolean {
	try {
		structuredClone(value);
		return true;
	} catch {
		return false;
	}
}

export function serializeError(error: unknown, depth = 0): SerializedError {
	if (!(error instanceof Error)) return { className: 'Error', message: String(error), fields: {} };
	const fields: Record<string, unknown> = {};
	for (const key of Object.keys(error)) {
		if (key === 'cause') continue;
		const value = (error as unknown as Record<string, unknown>)[key];
		if (cloneable(value)) fields[key] = value;
	}
	const cause = (error as { cause?: unknown }).cause;
	return {
		className: error.constructor.name,
		message: error.message,
		stack: error.stack,
		fields,
		cause: cause !== undefined && depth < 3 ? serializeError(cause, depth + 1) : undefined,
	};
}

/** The error again, as an instance of its class when it is one of the engine's. */
export function deserializeError(serialized: SerializedError): Error {
	const errorClass = ERROR_CLASSES.get(serialized.className) ?? Error;
	const error = Object.create(errorClass.prototype as object) as Error;
	Object.assign(error, serialized.fields);
	Object.defineProperty(error, 'message', {
		value: serialized.message,
		writable: true,
		configurable: true,
	});
	if (serialized.stack !== undefined) {
		Object.defineProperty(error, 'stack', {
			value: serialized.stack,
			writable: true,
			configurable: true,
		});
	}
	if (serialized.cause) (error as { cause?: unknown }).cause = deserializeError(serialized.cause);
	return error;
}
