import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { IWebhookFunctions } from 'n8n-workflow';

import {
	CREDENTIAL_REREAD_MS,
	forgetCredentialReads,
	readCredential,
} from '../../nodes/shared/credentials';

/** A node with credential `id` of type campaignStoreApi whose reads n8n answers with `answers`. */
function contextWith(id: string | undefined, read: () => Promise<Record<string, unknown>>) {
	const getCredentials = jest.fn(read);
	const context = {
		getNode: () => ({
			credentials: id ? { campaignStoreApi: { id, name: `Store ${id}` } } : undefined,
		}),
		getCredentials,
	} as unknown as IWebhookFunctions;
	return { context, getCredentials };
}

const T0 = 1_750_000_000_000;

describe('readCredential', () => {
	afterEach(() => forgetCredentialReads());

	it('asks n8n once per credential within the re-read interval, then again', async () => {
		let version = 1;
		const { context, getCredentials } = contextWith('c1', async () => ({ version }));
		expect(await readCredential(context, 'campaignStoreApi', T0)).toEqual({ version: 1 });
		version = 2;
		expect(
			await readCredential(context, 'campaignStoreApi', T0 + CREDENTIAL_REREAD_MS - 1),
		).toEqual({ version: 1 });
		expect(getCredentials).toHaveBeenCalledTimes(1);
		expect(await readCredential(context, 'campaignStoreApi', T0 + CREDENTIAL_REREAD_MS)).toEqual({
			version: 2,
		});
		expect(getCredentials).toHaveBeenCalledTimes(2);
	});

	it('keeps credentials apart by id, and reads through for a node without an id', async () => {
		const a = contextWith('a', async () => ({ filePath: 'a.sqlite' }));
		const b = contextWith('b', async () => ({ filePath: 'b.sqlite' }));
		const unsaved = contextWith(undefined, async () => ({ filePath: 'unsaved.sqlite' }));
		expect(await readCredential(a.context, 'campaignStoreApi', T0)).toEqual({
			filePath: 'a.sqlite',
		});
		expect(await readCredential(b.context, 'campaignStoreApi', T0)).toEqual({
			filePath: 'b.sqlite',
		});
		await readCredential(unsaved.context, 'campaignStoreApi', T0);
		await readCredential(unsaved.context, 'campaignStoreApi', T0);
		expect(unsaved.getCredentials).toHaveBeenCalledTimes(2);
	});

	it('reads once for a burst of concurrent requests', async () => {
		let release: () => void = () => undefined;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const { context, getCredentials } = contextWith('c1', async () => {
			await gate;
			return { ok: true };
		});
		const burst = Array.from({ length: 20 }, () => readCredential(context, 'campaignStoreApi', T0));
		release();
		expect(await Promise.all(burst)).toEqual(Array.from({ length: 20 }, () => ({ ok: true })));
		expect(getCredentials).toHaveBeenCalledTimes(1);
	});

	it('forgets a credential whose re-read fails, so each later request reports the failure', async () => {
		let deleted = false;
		const { context, getCredentials } = contextWith('c1', async () => {
			if (deleted) throw new Error('Credential with ID "c1" does not exist');
			return { ok: true };
		});
		await readCredential(context, 'campaignStoreApi', T0);
		deleted = true;
		const later = T0 + CREDENTIAL_REREAD_MS;
		await expect(readCredential(context, 'campaignStoreApi', later)).rejects.toThrow(
			'does not exist',
		);
		await expect(readCredential(context, 'campaignStoreApi', later + 1)).rejects.toThrow(
			'does not exist',
		);
		expect(getCredentials).toHaveBeenCalledTimes(3);
	});
});
