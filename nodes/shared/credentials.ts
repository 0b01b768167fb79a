import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IPollFunctions,
	ITriggerFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

/**
 * How long a process reuses a credential it has read. n8n loads a credential from its database
 * and decrypts it on every `getCredentials` call, which on the trigger's path is once per
 * webhook request: 12-24 % of single-event throughput here (`npm run bench:e2e`). An
 * edited credential takes effect within this time; a deleted one fails the next read after it.
 */
export const CREDENTIAL_REREAD_MS = 10_000;

type CredentialContext = IExecuteFunctions | IWebhookFunctions | IPollFunctions | ITriggerFunctions;

interface CachedCredential {
	data: ICredentialDataDecryptedObject;
	readAt: number;
}

/** Keyed by type and credential id: every node and workflow using the credential shares it. */
const cache = new Map<string, CachedCredential>();
/** One read at a time per credential: a burst of requests after expiry reads it once. */
const reads = new Map<string, Promise<ICredentialDataDecryptedObject>>();

/**
 * The node's credential of `type`, read from n8n at most once per {@link CREDENTIAL_REREAD_MS}
 * per process. A node without an id for it (not saved yet) reads through every time.
 */
export async function readCredential(
	context: CredentialContext,
	type: string,
	now = Date.now(),
): Promise<ICredentialDataDecryptedObject> {
	const id = context.getNode().credentials?.[type]?.id;
	if (!id) return await context.getCredentials(type);
	const key = `${type}\u0000${id}`;
	const cached = cache.get(key);
	if (cached && now - cached.readAt < CREDENTIAL_REREAD_MS) return cached.data;
	let read = reads.get(key);
	if (!read) {
		read = context.getCredentials(type).then(
			(data) => {
				cache.set(key, { data, readAt: now });
				return data;
			},
			(error: unknown) => {
				cache.delete(key);
				throw error;
			},
		);
		const settled = () => reads.delete(key);
		read.then(settled, settled);
		reads.set(key, read);
	}
	return await read;
}

/** Forgets every credential read (tests). */
export function forgetCredentialReads(): void {
	cache.clear();
	reads.clear();
}
