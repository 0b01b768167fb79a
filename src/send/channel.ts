/**
 * What every message channel (Intercom, HTTP, ...) implements: one file per provider under
 * `src/send/`. Channels build provider requests and read answers; they never do I/O
 * themselves but call the injected transport, which the n8n node builds on its HTTP helpers
 * and tests build on a local server.
 */

export interface HttpRequest {
	method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
	url: string;
	headers: Record<string, string>;
	/** JSON body. */
	body?: unknown;
}

export interface HttpResponse {
	status: number;
	/** Lower-case header names. */
	headers: Record<string, string>;
	body: unknown;
}

/**
 * Sends one HTTP request and resolves with the answer, whatever its status; rejects only when
 * no answer arrived (network error, timeout). When it knows whether the request reached the
 * server, it rejects with a `NoAnswerError` saying so (`notSent` / `uncertain`); otherwise
 * the error's code decides (`noAnswerKind`), and an unknown error counts as `uncertain`.
 */
export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

/** The content of one message after personalization and variant choice. */
export interface RenderedMessage {
	/** Unique per (campaign, entry, step): sent to providers that accept an idempotency key. */
	idempotencyKey: string;
	userId: string;
	email?: string;
	/** Provider-specific recipient ids, e.g. `{ intercom: '65a...' }`. */
	externalIds: Record<string, string>;
	subject?: string;
	body: string;
	headline?: string;
	imageUrl?: string;
	/** Sender in the provider (an Intercom admin id). */
	authorId?: string;
	variant?: string;
	/** A channel-specific rendered body, e.g. the HTTP channel's JSON. */
	payload?: unknown;
}

export type SendOutcome =
	| {
			ok: true;
			providerMessageId?: string;
			/** The last request sent, for logs and the demo. */
			request: HttpRequest;
			attempts: number;
	  }
	| {
			ok: false;
			/** HTTP status of the last answer, absent after network errors. */
			status?: number;
			/** The provider's error text, or what went wrong. */
			error: string;
			request?: HttpRequest;
			attempts: number;
			/**
			 * The request may have reached the provider (the connection broke after it was sent)
			 * and was not sent again: the provider may hold the message. Not a send.
			 */
			deliveryUnknown?: true;
			/** Not sent because the recipient unsubscribed (from emails, for an email). */
			unsubscribed?: true;
	  };

export interface MessageChannel {
	/** `intercom`, `http`, ...: also the channel name caps count by, unless the node says otherwise. */
	readonly name: string;
	send(message: RenderedMessage, transport: HttpTransport): Promise<SendOutcome>;
}
