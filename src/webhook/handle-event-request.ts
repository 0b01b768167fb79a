import { BatchTooLargeError, parseEventPayload, parseJsonBody } from '../events/parse-events';
import { InvalidInputError, StoreConfigurationError } from '../errors';
import { ingestEvents, type IngestOutcome, type TriggeredEntry } from '../ingest/ingest-events';
import type {
	CampaignEntry,
	CampaignEvent,
	CampaignStore,
	ProfileUpdate,
} from '../store/campaign-store';
import type { TriggerRule } from '../trigger/trigger-rule';
import { verifyWebhookRequest, type Headers, type WebhookAuth } from './verify-request';

export interface EventRequest {
	rawBody: Buffer;
	headers: Headers;
	auth: WebhookAuth;
	rule: TriggerRule;
	maxBatchSize: number;
	/** Opened only after authentication, so a bad request never touches the database. */
	store: () => Promise<CampaignStore>;
	now: number;
}

export interface EventResponse {
	status: 202 | 400 | 401 | 413 | 500 | 503;
	body: Record<string, unknown>;
	/** Users who entered the campaign: the trigger starts one execution with an item each. */
	triggered: TriggeredEntry[];
	outcome?: IngestOutcome;
}

/**
 * What the Campaign Event Trigger does with one HTTP request, without n8n:
 * authenticate, parse, record and enter in one transaction, answer with counts.
 */
export async function handleEventRequest(request: EventRequest): Promise<EventResponse> {
	const verified = verifyWebhookRequest(
		request.auth,
		request.headers,
		request.rawBody,
		request.now,
	);
	if (!verified.ok) {
		return { status: 401, body: { error: `Unauthorized: ${verified.reason}` }, triggered: [] };
	}
	let parsed;
	try {
		parsed = parseEventPayload(parseJsonBody(request.rawBody), {
			now: request.now,
			maxBatchSize: request.maxBatchSize,
		});
	} catch (error) {
		if (error instanceof BatchTooLargeError) {
			return {
				status: 413,
				body: { error: error.message, maxBatchSize: error.maxBatchSize },
				triggered: [],
			};
		}
		if (error instanceof InvalidInputError) {
			return { status: 400, body: { error: error.message, field: error.field }, triggered: [] };
		}
		throw error;
	}

	let outcome: IngestOutcome;
	try {
		outcome = await ingestEvents(await request.store(), parsed, request.rule, request.now);
	} catch (error) {
		// Nothing was recorded (one transaction). A store whose settings cannot work answers 500:
		// senders retry a 503 for ever, and only whoever runs n8n can fix the settings.
		if (error instanceof StoreConfigurationError) {
			return {
				status: 500,
				body: {
					error: `The campaign store is not set up correctly; nothing was recorded. ${error.message}`,
				},
				triggered: [],
			};
		}
		// Unreachable for now: the sender may retry the whole request.
		return {
			status: 503,
			body: {
				error: `The campaign store is unavailable; nothing was recorded, retry later. ${(error as Error).message}`,
			},
			triggered: [],
		};
	}
	const counts = {
		accepted: outcome.accepted,
		duplicates: outcome.duplicates,
		triggered: outcome.triggered.length,
	};
	if (outcome.rejected.length > 0) {
		const rejected = outcome.rejected.map(({ index, field, message }) => ({
			index,
			field,
			error: message,
		}));
		const first = outcome.rejected[0];
		const error =
			outcome.accepted > 0
				? `${outcome.rejected.length} of ${outcome.rejected.length + outcome.accepted} events rejected (first: ${first.message}); the other ${outcome.accepted} were recorded.`
				: first.message;
		return {
			status: 400,
			body: { error, field: first.field, ...counts, rejected },
			triggered: outcome.triggered,
			outcome,
		};
	}
	return { status: 202, body: counts, triggered: outcome.triggered, outcome };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What a trigger item is made of: the entry, its trigger event and the user's profile. */
export interface TriggerItemSource {
	entry: Pick<CampaignEntry, 'userId' | 'campaignId' | 'entryId' | 'triggeredAt'>;
	event: CampaignEvent;
	profile?: Omit<ProfileUpdate, 'userId'>;
}

/**
 * The JSON of one trigger item, the one shape every campaign trigger emits (the steps read it
 * with `readCampaignItem`): who entered, with the event and the entry. It carries what the steps
 * and people reading an execution need and no copy: the event's time is `triggeredAt`, and when
 * n8n received it is the execution's start (a batch's item data is written with every execution).
 */
export function triggeredEntryToJson(triggered: TriggerItemSource): Record<string, unknown> {
	const { event, entry, profile } = triggered;
	const eventJson: Record<string, unknown> = {
		messageId: event.messageId,
		name: event.name,
		properties: event.properties,
	};
	if (event.timeZone) eventJson.timeZone = event.timeZone;
	return {
		userId: entry.userId,
		campaignId: entry.campaignId,
		entryId: entry.entryId,
		triggeredAt: iso(entry.triggeredAt),
		event: eventJson,
		profile: profile
			? {
					email: profile.email ?? null,
					phone: profile.phone ?? null,
					timeZone: profile.timeZone ?? null,
					unsubscribed: profile.unsubscribed ?? false,
					attributes: profile.attributes ?? {},
					externalIds: profile.externalIds ?? {},
				}
			: null,
	};
}
