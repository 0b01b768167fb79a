/**
 * A request that got no answer either never reached the server (safe to send again) or broke
 * after its body was sent (the server may have acted on it: delivery unknown). Transports say
 * which when they know ({@link NoAnswerError}); otherwise the error's code decides.
 */

/** `notSent`: the server never received the request. `uncertain`: it may have. */
export type NoAnswerKind = 'notSent' | 'uncertain';

/**
 * What a transport rejects with when it knows whether the request reached the server,
 * e.g. because it saw the body written before the connection broke.
 */
export class NoAnswerError extends Error {
	readonly kind: NoAnswerKind;
	/** The underlying code (`ECONNRESET`, `ECONNREFUSED`, ...), when there is one. */
	readonly code?: string;

	constructor(
		message: string,
		kind: NoAnswerKind,
		options: { cause?: unknown; code?: string } = {},
	) {
		super(message, { cause: options.cause });
		this.name = 'NoAnswerError';
		this.kind = kind;
		this.code = options.code ?? networkErrorCode(options.cause);
	}
}

/**
 * Codes of failures before a connection was established (or before a byte of the request
 * left): name resolution, refused or unreachable hosts, connect timeouts, TLS handshakes.
 * Node's net and dns errors, undici's (fetch) and axios's (n8n's helpers) use these names.
 */
const NOT_SENT_CODES = new Set([
	'ECONNREFUSED',
	'ENOTFOUND',
	'EAI_AGAIN',
	'EAI_NONAME',
	'EAI_FAIL',
	'EHOSTUNREACH',
	'EHOSTDOWN',
	'ENETUNREACH',
	'ENETDOWN',
	'EADDRNOTAVAIL',
	'UND_ERR_CONNECT_TIMEOUT',
	'ERR_TLS_CERT_ALTNAME_INVALID',
	'CERT_HAS_EXPIRED',
	'DEPTH_ZERO_SELF_SIGNED_CERT',
	'SELF_SIGNED_CERT_IN_CHAIN',
	'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
	'ERR_INVALID_URL',
]);

/**
 * The first `code` on the error or its causes (undici puts it on `cause`, n8n wraps axios
 * errors, axios keeps the socket's code).
 */
export function networkErrorCode(error: unknown): string | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
		const code = (current as { code?: unknown }).code;
		if (typeof code === 'string' && code !== '') return code;
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

/**
 * Whether a request that got no answer may have reached the server. A transport's own
 * {@link NoAnswerError} (or any error on the cause chain with a `kind`) decides; else a
 * connection-phase code means `notSent`; anything else (a reset, a timeout, an unknown error)
 * is `uncertain`, because only then is a second copy impossible.
 */
export function noAnswerKind(error: unknown): NoAnswerKind {
	let current: unknown = error;
	for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
		if (current instanceof NoAnswerError) return current.kind;
		current = (current as { cause?: unknown }).cause;
	}
	const code = networkErrorCode(error);
	return code !== undefined && NOT_SENT_CODES.has(code) ? 'notSent' : 'uncertain';
}
