import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

/** RFC 7230 token characters: what an HTTP header name may contain. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The webhook credentials verify requests that come in, so there is no service to call:
 * the test checks what would make every request fail (an empty secret, an impossible header name).
 */
export async function testWebhookCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const secret = (data.token ?? data.secret) as string | undefined;
	if (!secret)
		return {
			status: 'Error',
			message: 'The token or secret is empty; every request would get 401.',
		};
	for (const key of ['headerName', 'timestampHeader']) {
		const name = data[key] as string | undefined;
		if (name && !HEADER_NAME.test(name)) {
			return { status: 'Error', message: `"${name}" is not a valid HTTP header name.` };
		}
	}
	if (secret.length < 16) {
		return { status: 'Error', message: 'Use a token or secret of at least 16 characters.' };
	}
	return { status: 'OK', message: 'The credential is usable' };
}
