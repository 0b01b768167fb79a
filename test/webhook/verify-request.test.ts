import { createHmac } from 'node:crypto';

import {
	verifyWebhookRequest,
	type Headers,
	type WebhookAuth,
} from '../../src/webhook/verify-request';

const NOW = Date.UTC(2026, 2, 10, 9, 30, 0);
const NOW_S = NOW / 1000;
const BODY = Buffer.from('{"userId":"u1","event":"Añadido 🛒"}', 'utf8');
const SECRET = 'whsec_0123456789';

const hmac = (secret: string, text: Buffer | string) =>
	createHmac('sha256', secret).update(text).digest('hex');
const signedWithTs = (ts: string | number, body: Buffer = BODY, secret = SECRET) =>
	hmac(secret, Buffer.concat([Buffer.from(`${ts}.`), body]));

describe('verifyWebhookRequest: none', () => {
	test.each<[string, Headers]>([
		['no headers', {}],
		['random headers', { authorization: 'Bearer anything' }],
	])('accepts with %s', (_label, headers) => {
		expect(verifyWebhookRequest({ type: 'none' }, headers, BODY, NOW)).toEqual({ ok: true });
	});
});

describe('verifyWebhookRequest: header token', () => {
	const auth = (headerName: string, token = 's3cr3t-token'): WebhookAuth => ({
		type: 'headerToken',
		headerName,
		token,
	});

	test.each<[string, string, Headers, { ok: true } | { ok: false; reason: string }]>([
		['the bare token', 'X-Campaign-Token', { 'x-campaign-token': 's3cr3t-token' }, { ok: true }],
		['"Bearer <token>"', 'Authorization', { authorization: 'Bearer s3cr3t-token' }, { ok: true }],
		[
			'"bearer <token>" in lower case',
			'Authorization',
			{ authorization: 'bearer s3cr3t-token' },
			{ ok: true },
		],
		[
			'the token padded with spaces',
			'X-Campaign-Token',
			{ 'x-campaign-token': '  s3cr3t-token ' },
			{ ok: true },
		],
		[
			'the first of repeated header values',
			'X-Campaign-Token',
			{ 'x-campaign-token': ['s3cr3t-token', 'other'] },
			{ ok: true },
		],
		[
			'a header name configured in lower case',
			'x-campaign-token',
			{ 'x-campaign-token': 's3cr3t-token' },
			{ ok: true },
		],
		[
			'a header name configured in odd case',
			'x-CAMPAIGN-tOkEn',
			{ 'x-campaign-token': 's3cr3t-token' },
			{ ok: true },
		],
		[
			'a wrong token',
			'X-Campaign-Token',
			{ 'x-campaign-token': 'guess' },
			{ ok: false, reason: 'wrong token' },
		],
		[
			'a token differing in case',
			'X-Campaign-Token',
			{ 'x-campaign-token': 'S3CR3T-TOKEN' },
			{ ok: false, reason: 'wrong token' },
		],
		[
			'a prefix of the token',
			'X-Campaign-Token',
			{ 'x-campaign-token': 's3cr3t' },
			{ ok: false, reason: 'wrong token' },
		],
		[
			'the token with a suffix',
			'X-Campaign-Token',
			{ 'x-campaign-token': 's3cr3t-token2' },
			{ ok: false, reason: 'wrong token' },
		],
		[
			'"Bearer" with a wrong token',
			'Authorization',
			{ authorization: 'Bearer guess' },
			{ ok: false, reason: 'wrong token' },
		],
		[
			'"Basic <token>"',
			'Authorization',
			{ authorization: 'Basic s3cr3t-token' },
			{ ok: false, reason: 'wrong token' },
		],
		[
			'a missing header',
			'X-Campaign-Token',
			{},
			{ ok: false, reason: 'missing header X-Campaign-Token' },
		],
		[
			'the token in another header',
			'X-Campaign-Token',
			{ authorization: 's3cr3t-token' },
			{ ok: false, reason: 'missing header X-Campaign-Token' },
		],
		[
			'an empty header',
			'X-Campaign-Token',
			{ 'x-campaign-token': '' },
			{ ok: false, reason: 'missing header X-Campaign-Token' },
		],
		[
			'a whitespace header',
			'X-Campaign-Token',
			{ 'x-campaign-token': '   ' },
			{ ok: false, reason: 'missing header X-Campaign-Token' },
		],
		[
			'an empty array header',
			'X-Campaign-Token',
			{ 'x-campaign-token': [] },
			{ ok: false, reason: 'missing header X-Campaign-Token' },
		],
	])('with %s', (_label, headerName, headers, expected) => {
		expect(verifyWebhookRequest(auth(headerName), headers, BODY, NOW)).toEqual(expected);
	});

	test.each<[string, Headers]>([
		['no header', {}],
		['an empty header', { 'x-campaign-token': '' }],
		['a header with a token', { 'x-campaign-token': 'anything' }],
		['"Bearer " alone', { 'x-campaign-token': 'Bearer ' }],
	])('always rejects when the credential token is empty, with %s', (_label, headers) => {
		expect(verifyWebhookRequest(auth('X-Campaign-Token', ''), headers, BODY, NOW)).toEqual({
			ok: false,
			reason: 'the credential has no token or secret set',
		});
	});
});

describe('verifyWebhookRequest: HMAC-SHA256 of the body', () => {
	const auth: WebhookAuth = { type: 'hmacSha256', headerName: 'X-Signature', secret: SECRET };
	const good = hmac(SECRET, BODY);

	test.each<[string, Headers, Buffer, { ok: true } | { ok: false; reason: string }]>([
		['the hex signature', { 'x-signature': good }, BODY, { ok: true }],
		['a "sha256=" prefix', { 'x-signature': `sha256=${good}` }, BODY, { ok: true }],
		['a "SHA256=" prefix', { 'x-signature': `SHA256=${good}` }, BODY, { ok: true }],
		['upper-case hex', { 'x-signature': good.toUpperCase() }, BODY, { ok: true }],
		[
			'"sha256=" and upper-case hex',
			{ 'x-signature': `sha256=${good.toUpperCase()}` },
			BODY,
			{ ok: true },
		],
		['surrounding spaces', { 'x-signature': ` ${good} ` }, BODY, { ok: true }],
		['an empty body signed', { 'x-signature': hmac(SECRET, '') }, Buffer.alloc(0), { ok: true }],
		[
			'a wrong secret',
			{ 'x-signature': hmac('another-secret', BODY) },
			BODY,
			{ ok: false, reason: 'bad signature' },
		],
		[
			'a body changed by one byte',
			{ 'x-signature': good },
			Buffer.from('{"userId":"u2","event":"Añadido 🛒"}', 'utf8'),
			{ ok: false, reason: 'bad signature' },
		],
		[
			'a body with a trailing newline',
			{ 'x-signature': good },
			Buffer.concat([BODY, Buffer.from('\n')]),
			{ ok: false, reason: 'bad signature' },
		],
		[
			'a truncated signature',
			{ 'x-signature': good.slice(0, -1) },
			BODY,
			{ ok: false, reason: 'bad signature' },
		],
		[
			'a base64 signature',
			{ 'x-signature': createHmac('sha256', SECRET).update(BODY).digest('base64') },
			BODY,
			{ ok: false, reason: 'bad signature' },
		],
		[
			'a SHA-1 HMAC',
			{ 'x-signature': createHmac('sha1', SECRET).update(BODY).digest('hex') },
			BODY,
			{ ok: false, reason: 'bad signature' },
		],
		['"sha256=" alone', { 'x-signature': 'sha256=' }, BODY, { ok: false, reason: 'bad signature' }],
		['a missing header', {}, BODY, { ok: false, reason: 'missing header X-Signature' }],
	])('with %s', (_label, headers, body, expected) => {
		expect(verifyWebhookRequest(auth, headers, body, NOW)).toEqual(expected);
	});

	it('signs the raw bytes, so UTF-8 vs Latin-1 encodings of the same text differ', () => {
		const latin1 = Buffer.from('{"userId":"u1","event":"Añadido"}', 'latin1');
		const utf8 = Buffer.from('{"userId":"u1","event":"Añadido"}', 'utf8');
		expect(verifyWebhookRequest(auth, { 'x-signature': hmac(SECRET, utf8) }, utf8, NOW)).toEqual({
			ok: true,
		});
		expect(verifyWebhookRequest(auth, { 'x-signature': hmac(SECRET, utf8) }, latin1, NOW)).toEqual({
			ok: false,
			reason: 'bad signature',
		});
	});

	it('ignores the time entirely without a timestamp header', () => {
		expect(verifyWebhookRequest(auth, { 'x-signature': good }, BODY, 0)).toEqual({ ok: true });
	});

	test.each<[string, Headers]>([
		['no header', {}],
		['a signature made with an empty key', { 'x-signature': hmac('', BODY) }],
	])('always rejects when the credential secret is empty, with %s', (_label, headers) => {
		expect(verifyWebhookRequest({ ...auth, secret: '' }, headers, BODY, NOW)).toEqual({
			ok: false,
			reason: 'the credential has no token or secret set',
		});
	});
});

describe('verifyWebhookRequest: HMAC with a timestamp header', () => {
	const auth = (toleranceSeconds?: number): WebhookAuth => ({
		type: 'hmacSha256',
		headerName: 'X-Signature',
		secret: SECRET,
		timestampHeader: 'X-Signature-Timestamp',
		toleranceSeconds,
	});
	const request = (ts: string | number, signature = signedWithTs(ts)): Headers => ({
		'x-signature': `sha256=${signature}`,
		'x-signature-timestamp': String(ts),
	});

	test.each<
		[string, number | undefined, string | number, { ok: true } | { ok: false; reason: string }]
	>([
		['exactly now', undefined, NOW_S, { ok: true }],
		['299 s old (default tolerance 300)', undefined, NOW_S - 299, { ok: true }],
		['300 s old (at the default tolerance)', undefined, NOW_S - 300, { ok: true }],
		[
			'301 s old',
			undefined,
			NOW_S - 301,
			{ ok: false, reason: 'timestamp is 301 s away from now' },
		],
		['300 s in the future', undefined, NOW_S + 300, { ok: true }],
		[
			'301 s in the future',
			undefined,
			NOW_S + 301,
			{ ok: false, reason: 'timestamp is 301 s away from now' },
		],
		[
			'an hour old',
			undefined,
			NOW_S - 3600,
			{ ok: false, reason: 'timestamp is 3600 s away from now' },
		],
		[
			'a day in the future',
			undefined,
			NOW_S + 86_400,
			{ ok: false, reason: 'timestamp is 86400 s away from now' },
		],
		['60 s old with tolerance 60', 60, NOW_S - 60, { ok: true }],
		[
			'61 s old with tolerance 60',
			60,
			NOW_S - 61,
			{ ok: false, reason: 'timestamp is 61 s away from now' },
		],
		[
			'61 s ahead with tolerance 60',
			60,
			NOW_S + 61,
			{ ok: false, reason: 'timestamp is 61 s away from now' },
		],
		['599 s old with tolerance 600', 600, NOW_S - 599, { ok: true }],
		['with leading zeros (12 digits)', undefined, `00${NOW_S}`, { ok: true }],
	])('a correctly signed request %s', (_label, tolerance, ts, expected) => {
		expect(verifyWebhookRequest(auth(tolerance), request(ts), BODY, NOW)).toEqual(expected);
	});

	it('rounds the skew in the reason and compares with fractional seconds of now', () => {
		const now = NOW + 700; // 0.7 s after NOW_S
		expect(verifyWebhookRequest(auth(10), request(NOW_S - 10), BODY, now)).toEqual({
			ok: false,
			reason: 'timestamp is 11 s away from now',
		});
		expect(verifyWebhookRequest(auth(10), request(NOW_S - 9), BODY, now)).toEqual({ ok: true });
	});

	test.each<[string, Headers]>([
		['a missing timestamp', { 'x-signature': signedWithTs(NOW_S) }],
		['an empty timestamp', { 'x-signature': signedWithTs(NOW_S), 'x-signature-timestamp': '' }],
		['an ISO timestamp', request('2026-03-10T09:30:00Z')],
		['a decimal timestamp', request(`${NOW_S}.5`)],
		['a negative timestamp', request(`-${NOW_S}`)],
		['milliseconds (13 digits)', request(NOW)],
		['text', request('now')],
	])('rejects %s as missing or non-numeric', (_label, headers) => {
		expect(verifyWebhookRequest(auth(), headers, BODY, NOW)).toEqual({
			ok: false,
			reason: 'missing or non-numeric header X-Signature-Timestamp',
		});
	});

	test.each<[string, Headers]>([
		['a signature of the body alone (without the timestamp)', request(NOW_S, hmac(SECRET, BODY))],
		['a signature over another timestamp', request(NOW_S, signedWithTs(NOW_S - 1))],
		[
			'a signature joined without the dot',
			request(NOW_S, hmac(SECRET, `${NOW_S}${BODY.toString('utf8')}`)),
		],
		['a signature with the wrong secret', request(NOW_S, signedWithTs(NOW_S, BODY, 'nope'))],
		['a signature of another body', request(NOW_S, signedWithTs(NOW_S, Buffer.from('{}')))],
	])('rejects %s', (_label, headers) => {
		expect(verifyWebhookRequest(auth(), headers, BODY, NOW)).toEqual({
			ok: false,
			reason: 'bad signature',
		});
	});

	it('checks the signature header before the timestamp', () => {
		expect(
			verifyWebhookRequest(auth(), { 'x-signature-timestamp': String(NOW_S) }, BODY, NOW),
		).toEqual({
			ok: false,
			reason: 'missing header X-Signature',
		});
	});

	it('signs exactly `${ts}.${body}`', () => {
		const ts = NOW_S - 5;
		const signature = createHmac('sha256', SECRET)
			.update(`${ts}.{"userId":"u1","event":"Añadido 🛒"}`)
			.digest('hex');
		expect(verifyWebhookRequest(auth(), request(ts, signature), BODY, NOW)).toEqual({ ok: true });
	});
});
