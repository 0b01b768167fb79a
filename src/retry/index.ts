export { networkErrorCode, NoAnswerError, noAnswerKind, type NoAnswerKind } from './no-answer';
export {
	decideRetry,
	DEFAULT_RETRY,
	retryPolicy,
	withRetries,
	type AttemptResult,
	type RetryDecision,
	type RetryOptions,
	type RetryPolicy,
	type RetryResult,
	type UncertainDelivery,
} from './retry-policy';
export {
	advertisedWaitMs,
	backoffMs,
	headerGetter,
	parseRetryAfter,
	rateLimitResetWaitMs,
	sleep,
	type BackoffOptions,
	type HeaderGetter,
} from './waits';
