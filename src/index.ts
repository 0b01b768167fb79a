/**
 * The engine's public API: the n8n nodes import from here only, and so does code that runs
 * the engine without n8n (the README's "sync engine without n8n"). Exported: what the nodes,
 * the demo, the benchmarks and the documented engine use, with the types of their options,
 * results and errors. Internal helpers stay behind their modules.
 */

// Errors: every error the engine throws on purpose is one of these.
export {
	CampaignError,
	InvalidInputError,
	SchemaVersionError,
	StoreConfigurationError,
	StoreUnavailableError,
} from './errors';
export type { Clock } from './clock';

// The campaign store: opening it, and its two interfaces.
export {
	closeSharedCampaignStores,
	getSharedCampaignStore,
	openCampaignStore,
	type StoreConfig,
} from './store/open-store';
export { openPostgresStore, type PostgresCampaignStore } from './store/postgres/postgres-store';
export { SqliteCampaignStore } from './store/sqlite/sqlite-store';
export type {
	CampaignEntry,
	CampaignEvent,
	CampaignStore,
	CancelStepsRequest,
	ClaimStepsRequest,
	ClaimedStep,
	EntryState,
	EventQuery,
	IngestRequest,
	IngestResult,
	LimitUsage,
	ProfileUpdate,
	ReEntryRule,
	ScheduledStepState,
	ScheduleStepRequest,
	ScheduleStepsResult,
	SendCompletion,
	SendCountLimit,
	SendRecord,
	SendReservationRequest,
	SendReservationResult,
	SendState,
	StepClaim,
	StoreBackend,
	UserProfile,
} from './store/campaign-store';
export type {
	CampaignStoreWithSegments,
	SegmentChange,
	SegmentCommitRequest,
	SegmentCommitResult,
	SegmentMember,
	SegmentRecordRow,
	SegmentStore,
	SegmentSyncPage,
	SegmentSyncState,
} from './store/segment-store';

// Events in: parsing, trigger rules, recording and entering (the Campaign Event Trigger).
export {
	BatchTooLargeError,
	DEFAULT_MAX_BATCH_SIZE,
	parseEventPayload,
	parseTrackEvent,
	type ParsedEvents,
	type RejectedEvent,
} from './events/parse-events';
export {
	FILTER_OPERATOR_NAMES,
	FILTER_OPERATORS,
	type FilterOperator,
	type PropertyFilter,
} from './trigger/property-filter';
export { validateTriggerRule, type TriggerRule } from './trigger/trigger-rule';
export {
	ingestEvents,
	type IngestOutcome,
	type SkippedEvent,
	type TriggeredEntry,
} from './ingest/ingest-events';
export type { WebhookAuth } from './webhook/verify-request';
export {
	handleEventRequest,
	triggeredEntryToJson,
	type EventRequest,
	type EventResponse,
	type TriggerItemSource,
} from './webhook/handle-event-request';

// Campaign steps: the item they read, delays, exception checks, frequency caps.
export { parseJsonObject, requireText } from './validation';
export {
	delayField,
	exitField,
	frequencyCapField,
	readCampaignItem,
	readCapHandOff,
	resolveItemTimeZone,
	scheduleField,
	stepIdempotencyKey,
	type CampaignItem,
	type CapHandOff,
	type DelayField,
	type ExitField,
	type FrequencyCapField,
	type ScheduleField,
} from './campaign-item';
export { computeResumeAt, releaseTime, type DelayInput, type DelaySpec } from './policies/delay';
export {
	checkExceptions,
	type ExceptionResult,
	type ExceptionRule,
	type ExitReason,
} from './policies/exception-check';
export {
	dryRunCampaign,
	localIso,
	type DryRunOutcome,
	type DryRunRequest,
	type DryRunResult,
	type DryRunStep,
	type DryRunStore,
} from './policies/dry-run';
export { exitCampaignEntry } from './policies/exit-entry';
export {
	afterRefusal,
	applyFrequencyCap,
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

// The per-user schedule: Campaign Delay per user, Campaign Resume Trigger.
export { scheduleRequestFor } from './schedule/schedule-request';
export {
	resumedItemJson,
	startResumeLoop,
	validateResumeLoopOptions,
	type ResumeLoop,
	type ResumeLoopOptions,
} from './schedule/resume-loop';

// Local time.
export { assertTimeZone } from './time/time-zone';
export {
	parseDateInZone,
	parseDeliveryWindow,
	quietHoursToWindow,
	type DeliveryWindow,
	type DurationUnit,
} from './time/local-time';
export { elapsedMs } from './time/elapsed';

// Sending: channels, delivery with the idempotency key, personalisation, variants.
export type {
	HttpRequest,
	HttpResponse,
	HttpTransport,
	MessageChannel,
	RenderedMessage,
	SendOutcome,
} from './send/channel';
export {
	deliver,
	deliverCampaignItem,
	type CampaignSendRequest,
	type DeliveryRequest,
	type DeliveryResult,
} from './send/deliver';
export { createHttpChannel, type HttpChannelOptions } from './send/http-channel';
export {
	createIntercomChannel,
	type IntercomChannelOptions,
	type IntercomContactLookup,
	type IntercomRegion,
} from './send/intercom';
export {
	buildPersonalizationContext,
	renderJsonTemplate,
	renderJsonValue,
	renderTemplate,
	type PersonalizationContext,
} from './send/personalize';
export { getSharedRateLimiter, type RateLimiter } from './send/rate-limiter';
// Retries: the one policy every provider call follows.
export {
	NoAnswerError,
	noAnswerKind,
	type NoAnswerKind,
	type RetryOptions,
	type UncertainDelivery,
} from './retry';
export { assignVariant, type VariantChoice } from './send/variants';

// Salesforce: sessions, the API, reads, segment syncs, activities.
export { SalesforceApi, type SalesforceApiOptions } from './salesforce/api/salesforce-api';
export {
	SalesforceApiError,
	SalesforceAuthError,
	SalesforceLimitError,
} from './salesforce/api/errors';
export {
	fetchTransport,
	streamText,
	type SalesforceHttpRequest,
	type SalesforceHttpResponse,
	type SalesforceTransport,
} from './salesforce/api/transport';
export {
	DEFAULT_API_VERSION,
	type SalesforceRecord,
	type SalesforceRequester,
	type SalesforceSession,
	type SalesforceToken,
	type SyncLogger,
} from './salesforce/api/types';
export {
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
	BulkQueryFailedError,
	runBulkQuery,
	type BulkQueryOptions,
} from './salesforce/bulk/bulk-query';
export { runRestQuery } from './salesforce/rest-query';
export { buildSegmentQuery, type SegmentQuerySpec } from './salesforce/soql';
export {
	DEFAULT_BULK_THRESHOLD,
	relatedRecordReferences,
	resolveSegmentDefinition,
	selectedFieldPaths,
	type SegmentDefinition,
	type SegmentFieldMapping,
	type SegmentSource,
} from './salesforce/sync/segment-definition';
export {
	fullReadQuery,
	incrementalReadQueries,
	plannedSyncMode,
	syncSegment,
	type IncrementalReadQueries,
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
	syncSegmentOnThread,
	type SyncThreadOptions,
	type ThreadSegmentSyncOptions,
} from './salesforce/sync/sync-thread';
export { previewSegment, type SegmentPreview } from './salesforce/sync/preview-segment';
export {
	writeActivities,
	type ActivityItem,
	type ActivityResult,
	type ActivityWriteOptions,
} from './salesforce/activity/write-activities';

// Did it work: the Campaign Report.
export {
	buildCampaignReport,
	formatPValue,
	formatReportTable,
	variantLabel,
	type CampaignReport,
	type CampaignReportRequest,
	type VariantReport,
} from './report/campaign-report';
export { renderReportChart } from './report/chart';
export {
	compareProportions,
	wilsonInterval,
	type ProportionComparison,
} from './report/statistics';
export { MAX_CONVERSION_WINDOW_MS } from './store/report-queries';
export type {
	CampaignReportQuery,
	CapDecisionRecord,
	ConversionRule,
	VariantFunnelCounts,
} from './store/campaign-store';
export {
	buildTimeline,
	compareDecisions,
	exportUserData,
	readUserTimeline,
	renderTimeline,
	TIMELINE_NOTES,
	type TimelineDecision,
	type TimelineKind,
	type TimelineRequest,
	type UserTimeline,
} from './report/timeline';
export type {
	ErasureResult,
	UserRecords,
	UserRecordsQuery,
} from './store/user-records';
