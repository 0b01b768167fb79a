import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How the Campaign Event Trigger authenticates a request before recording anything. */
export type WebhookAuth =
	| { type: 'none' }
	/** The header holds the token, alone or as `Bearer <token>`. */
	| { type: 'headerToken'; headerName: string; token: string }
	/**
	 * The header holds the hex HMAC-SHA256 of the raw body (optionally prefixed `sha256=`).
	 * With `timestampHeader`, the signed text is `<timestamp>.<raw body>` and the timestamp
	 * (Unix seconds) must be within `toleranceSeconds` of now, so a captured request cannot be replayed later.
	 */
	| {
			type: 'hmacSha256';
			headerName: string;
			secret: string;
			timestampHeader?: string;
			toleranceSeconds?: number;
	  };

export type Headers = Record<string, string | string[] | undefined>;
export type VerifyResult = { ok: true } | { ok: false; reason: string };

function header(headers: Headers, name: string): string | undefined {
	const value = headers[name.toLowerCase()];
	return Array.isArray(value) ? value[0] : value;
}

/** Equal-length digests first, so the comparison time says nothing about the secret. */
function constantTimeEqual(a: string, b: string): boolean {
	const digest = (text: string) => createHash('sha256').update(text).digest();
	return timingSafeEqual(digest(a), digest(b)) && a.length === b.length;
}

export function verifyWebhookRequest(
	auth: WebhookAuth,
	headers: Headers,
	rawBody: Buffer,
	now: number,
): VerifyResult {
	if (auth.type === 'none') return { ok: true };
	if ((auth.type === 'headerToken' ? auth.token : auth.secret) === '') {
		return { ok: false, reason: 'the credential has no token or secret set' };
	}
	const given = header(headers, auth.headerName)?.trim();
	if (!given) return { ok: false, reason: `missing header ${auth.headerName}` };

	if (auth.type === 'headerToken') {
		const token = given.replace(/^Bearer\s+/i, '');
		return constantTimeEqual(token, auth.token)
			? { ok: true }
			: { ok: false, reason: 'wrong token' };
	}

	let signed: Buffer = rawBody;
	if (auth.timestampHeader) {
		const timestamp = header(headers, auth.timestampHeader)?.trim() ?? '';
		if (!/^\d{1,12}$/.test(timestamp)) {
			return { ok: false, reason: `missing or non-numeric header ${auth.timestampHeader}` };
		}
		const skewSeconds = Math.abs(now / 1000 - Number(timestamp));
		if (skewSeconds > (auth.toleranceSeconds ?? 300)) {
			return { ok: false, reason: `timestamp is ${Math.round(skewSeconds)} s away from now` };
		}
		signed = Buffer.concat([Buffer.from(`${timestamp}.`), rawBody]);
	}
	const expected = createHmac('sha256', auth.secret).update(signed).digest('hex');
	const signature = given.replace(/^sha256=/i, '').toLowerCase();
	return constantTimeEqual(signature, expected)
		? { ok: true }
		: { ok: false, reason: 'bad signature' };
}
