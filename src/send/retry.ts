import { headerGetter, withRetries, type RetryOptions, type RetryResult } from '../retry';
import type { HttpRequest, HttpResponse, HttpTransport } from './channel';

export type { RetryOptions } from '../retry';

/**
 * One provider request through the transport under the package's retry policy
 * (`src/retry/`). `repeatable`: sending it twice does no harm (a search, a request carrying
 * an idempotency key the provider honours); a request that is not may end `deliveryUnknown`.
 */
export async function sendWithRetries(
	transport: HttpTransport,
	request: HttpRequest,
	options: RetryOptions & { repeatable: boolean },
): Promise<RetryResult<HttpResponse>> {
	return await withRetries(
		() => transport(request),
		(response) => headerGetter(response.headers),
		options,
	);
}
