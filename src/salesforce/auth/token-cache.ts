/**
 * One token per credential per process. Every poll and every item of every execution asks
 * here first, so a login happens once, and after an expiry once — not once per caller.
 * Salesforce allows about 3,600 logins per user per hour; a login per item exhausts it.
 */
import { createHash } from 'node:crypto';

import type { SalesforceToken } from '../api/types';

interface Entry {
	token?: SalesforceToken;
	/** A login in flight: concurrent callers await the same one. */
	pending?: Promise<SalesforceToken>;
	/** Logins (and refreshes) that reached the login server, for tests and diagnostics. */
	logins: number;
	/** Per-credential values every session of the credential shares (a rotated refresh token). */
	shared: Map<string, unknown>;
}

const entries = new Map<string, Entry>();

/**
 * A cache key from every part of a credential, its secrets included: a credential with the
 * same user but a wrong password must log in (and fail) rather than reuse another's token.
 * Hashed, so no secret sits in memory as a readable key.
 */
export function tokenCacheKey(parts: readonly unknown[]): string {
	return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function entryFor(key: string): Entry {
	let entry = entries.get(key);
	if (!entry) {
		entry = { logins: 0, shared: new Map() };
		entries.set(key, entry);
	}
	return entry;
}

async function runLogin(
	entry: Entry,
	login: () => Promise<SalesforceToken>,
): Promise<SalesforceToken> {
	if (entry.pending) return await entry.pending;
	const pending = (async () => {
		entry.logins++;
		return await login();
	})();
	entry.pending = pending;
	try {
		const token = await pending;
		entry.token = token;
		return token;
	} finally {
		// A failed login is not cached: the next caller tries again.
		if (entry.pending === pending) entry.pending = undefined;
	}
}

/** The cached token, or one new login shared by every concurrent caller. */
export async function cachedToken(
	key: string,
	login: () => Promise<SalesforceToken>,
): Promise<SalesforceToken> {
	const entry = entryFor(key);
	if (entry.token) return entry.token;
	return await runLogin(entry, login);
}

/**
 * After `failed` was refused: the newer cached token when another caller already renewed it,
 * else one renewal shared by every concurrent caller.
 */
export async function renewedToken(
	key: string,
	failed: SalesforceToken,
	renew: () => Promise<SalesforceToken>,
): Promise<SalesforceToken> {
	const entry = entryFor(key);
	if (entry.pending) return await entry.pending;
	if (entry.token && entry.token.accessToken !== failed.accessToken) return entry.token;
	entry.token = undefined;
	return await runLogin(entry, renew);
}

/** Logins run for the credential since the cache was cleared. */
export function loginCountOf(key: string): number {
	return entries.get(key)?.logins ?? 0;
}

/**
 * A value shared by every session of one credential in this process, created on first use
 * (e.g. the latest refresh token after Salesforce rotated it).
 */
export function sharedCredentialValue<T>(
	key: string,
	name: string,
	initial: () => T,
): { get(): T; set(value: T): void } {
	// Looked up on every use: clearing the cache must also forget these values.
	return {
		get: () => {
			const { shared } = entryFor(key);
			if (!shared.has(name)) shared.set(name, initial());
			return shared.get(name) as T;
		},
		set: (value) => {
			entryFor(key).shared.set(name, value);
		},
	};
}

/** Puts a token the caller already holds into an empty cache entry (no login needed). */
export function seedToken(key: string, token: SalesforceToken): void {
	const entry = entryFor(key);
	if (!entry.token && !entry.pending) entry.token = token;
}

/** Forgets every token (tests; a credential that changed). */
export function clearSalesforceTokenCache(): void {
	entries.clear();
}
