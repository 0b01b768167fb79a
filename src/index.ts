/** The engine's public API: the n8n nodes import from here only. */
export { systemClock, type Clock } from './clock';
export {
	CampaignError,
	InvalidInputError,
	SchemaVersionError,
	StoreConfigurationError,
	StoreUnavailableError,
} from './errors';
export {
	BatchTooLargeError,
	DEFAULT_MAX_BATCH_SIZE,
	parseEventPayload,
	parseJsonBody,
	parseTrackEvent,
	type ParsedEvents,
	type RejectedEvent,
} from './events/parse-events';
export {
	ingestEvents,
	type IngestOutcome,
	type SkippedEvent,
	type TriggeredEntry,
} from './ingest/ingest-events';
export {
	SCHEMA_VERSION,
	type CampaignEntry,
	type CampaignEvent,
	type CampaignStore,
	type EntryState,
	type EventQuery,
	type IngestRequest,
	type IngestResult,
	type LimitUsage,
	type ProfileUpdate,
	type SendCompletion,
	type SendCountLimit,
	type SendRecord,
	type SendReservationRequest,
	type SendReservationResult,
	type SendState,
	type ReEntryRule,
	type StoreBackend,
	type UserProfile,
} from './store/campaign-store';
export {
	closeSharedCampaignStores,
	defaultSqlitePath,
	getSharedCampaignStore,
	openCampaignStore,
	type StoreConfig,
} from './store/open-store';
export { openPostgresStore, PostgresCampaignStore } from './store/postgres/postgres-store';
export { SqliteCampaignStore } from './store/sqlite/sqlite-store';
export { assertTimeZone } from './time/time-zone';
export {
	evaluatePropertyFilter,
	FILTER_OPERATOR_NAMES,
	FILTER_OPERATORS,
	readProperty,
	type FilterOperator,
	type PropertyFilter,
} from './trigger/property-filter';
export { evaluateTrigger, validateTriggerRule, type TriggerRule } from './trigger/trigger-rule';
export { verifyWebhookRequest, type WebhookAuth } from './webhook/verify-request';
export {
	handleEventRequest,
	triggeredEntryToJson,
	type EventRequest,
	type EventResponse,
} from './webhook/handle-event-request';
export { parseJsonObject, requireText } from './validation';
export {
	readCampaignItem,
	resolveItemTimeZone,
	stepIdempotencyKey,
	type CampaignItem,
} from './campaign-item';
export { computeResumeAt, releaseTime, type DelayInput, type DelaySpec } from './policies/delay';
export {
	checkExceptions,
	type ExceptionResult,
	type ExceptionRule,
	type ExitReason,
} from './policies/exception-check';
export { exitCampaignEntry } from './policies/exit-entry';
export {
	afterRefusal,
	buildReservation,
	CAMPAIGN_ENDED_RULE,
	decide,
	earliestAllowedAt,
	isInQuietHours,
	MIN_GAP_RULE,
	precheck,
	QUIET_HOURS_RULE,
	validateFrequencyPolicy,
	type CapDecision,
	type CapRequest,
	type CapRule,
	type FrequencyPolicy,
	type RefusalOutcome,
	type RefusedDecision,
} from './policies/frequency-cap';
export {
	addDuration,
	isWithinWindow,
	nextWindowStart,
	parseDateInZone,
	parseDeliveryWindow,
	quietHoursToWindow,
	resolveTimeZone,
	startOfLocalDay,
	startOfLocalWeek,
	startOfNextLocalDay,
	startOfNextLocalWeek,
	type DeliveryWindow,
	type DurationUnit,
} from './time/local-time';
export { elapsedMs } from './time/elapsed';
export { parseIsoInstant } from './time/iso-instant';
export type {
	HttpRequest,
	HttpResponse,
	HttpTransport,
	MessageChannel,
	RenderedMessage,
	SendOutcome,
} from './send/channel';
export { deliver, type DeliveryRequest, type DeliveryResult } from './send/deliver';
export { createHttpChannel, type HttpChannelOptions } from './send/http-channel';
export * from './send/intercom';
export {
	buildPersonalizationContext,
	renderJsonTemplate,
	renderJsonValue,
	renderTemplate,
	type PersonalizationContext,
} from './send/personalize';
export { getSharedRateLimiter, RateLimiter } from './send/rate-limiter';
export { sendWithRetries, type RetryOptions } from './send/retry';
export { assignVariant, type VariantChoice } from './send/variants';
export {
	assertSoqlCondition,
	assertSoqlIdentifier,
	buildSegmentQuery,
	escapeSoqlLike,
	escapeSoqlString,
	soqlLiteral,
	type SegmentQuerySpec,
} from './salesforce/soql';
export { clearDescribeCache } from './salesforce/describe';
export {
	SalesforceApi,
	parseRetryAfter,
	type SalesforceApiOptions,
} from './salesforce/api/salesforce-api';
export {
	SalesforceApiError,
	SalesforceAuthError,
	SalesforceLimitError,
} from './salesforce/api/errors';
export {
	DEFAULT_API_VERSION,
	type SalesforceRecord,
	type SalesforceRequester,
	type SalesforceSession,
	type SalesforceToken,
	type SyncLogger,
} from './salesforce/api/types';
export {
	clearSalesforceTokenCache,
	jwtBearerSession,
	passwordSession,
	refreshTokenSession,
	soapPasswordSession,
	staticTokenSession,
	type JwtBearerLogin,
	type PasswordLogin,
	type RefreshTokenLogin,
	type SoapPasswordLogin,
} from './salesforce/auth/sessions';
export {
	PRODUCTION_LOGIN_URL,
	SANDBOX_LOGIN_URL,
	resolveLoginUrl,
} from './salesforce/auth/login-url';
export {
	BulkQueryFailedError,
	runBulkQuery,
	type BulkQueryOptions,
} from './salesforce/bulk/bulk-query';
export { runRestQuery } from './salesforce/rest-query';
export {
	DEFAULT_BULK_THRESHOLD,
	resolveSegmentDefinition,
	selectedFieldPaths,
	usesRelativeDateLiteral,
	type SegmentDefinition,
	type SegmentFieldMapping,
	type SegmentSource,
} from './salesforce/sync/segment-definition';
export {
	plannedSyncMode,
	syncSegment,
	type SegmentSyncOptions,
	type SegmentSyncReport,
	type SyncApi,
} from './salesforce/sync/sync-segment';
export {
	pollSegment,
	readSyncChanges,
	SEGMENT_ENTERED_EVENT,
	type SegmentPollOptions,
	type SegmentPollResult,
} from './salesforce/sync/poll-segment';
export {
	DEFAULT_SYNC_THREAD_OLD_GENERATION_MB,
	DEFAULT_SYNC_THREAD_YOUNG_GENERATION_MB,
	syncSegmentOnThread,
	type SyncThreadOptions,
	type ThreadSegmentSyncOptions,
} from './salesforce/sync/sync-thread';
export { previewSegment, type SegmentPreview } from './salesforce/sync/preview-segment';
export { SALESFORCE_EXTERNAL_ID } from './salesforce/sync/map-records';
export {
	writeActivities,
	type ActivityItem,
	type ActivityResult,
	type ActivityWriteOptions,
} from './salesforce/activity/write-activities';
export type {
	CancelStepsRequest,
	ClaimStepsRequest,
	ClaimedStep,
	ScheduledStepState,
	ScheduleStepRequest,
	ScheduleStepsResult,
	SegmentChange,
	SegmentMember,
	SegmentSyncState,
	StepClaim,
} from './store/campaign-store';
export {
	MIN_RESUME_LEASE_MS,
	MIN_RESUME_POLL_MS,
	resumedItemJson,
	startResumeLoop,
	validateResumeLoopOptions,
	type ResumeLoop,
	type ResumeLoopOptions,
} from './schedule/resume-loop';
export { scheduleRequestFor } from './schedule/schedule-request';
