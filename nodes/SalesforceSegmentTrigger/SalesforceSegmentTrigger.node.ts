import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type INodeCredentialDescription,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IPollFunctions,
} from 'n8n-workflow';

import {
	getSharedCampaignStore,
	pollSegment,
	previewSegment,
	SEGMENT_ENTERED_EVENT,
	triggeredEntryToJson,
	validateTriggerRule,
	type SegmentChange,
	type SegmentDefinition,
	type SegmentStore,
	type TriggerItemSource,
	type TriggerRule,
} from '../../src';
import { storeConfigFor, testCampaignStoreCredential } from '../shared/campaign-store';
import { textSubtitleExpression } from '../shared/descriptions';
import { parseDateParameter, readReEntryRule, splitList } from '../shared/parameters';
import {
	salesforceApiFor,
	salesforceCredentialDeclarations,
	syncLoggerFor,
	testSalesforceCredential,
	type SalesforceAuthentication,
} from '../shared/salesforce';
import { toNodeError } from '../shared/node-errors';
import { segmentTriggerProperties } from './description';

const QUERY_DESCRIPTION =
	'Check the "Object API Name", "Condition (SOQL WHERE)" or "Salesforce Campaign ID", and the field parameters, against Setup → Object Manager.';

/** Items "Fetch Test Event" shows. */
const PREVIEW_LIMIT = 5;

/** Engine field paths → the parameter a user fixes. */
const FIELD_LABELS: Record<string, string> = {
	segmentId: 'Segment Key',
	'source.object': 'Object API Name',
	'source.where': 'Condition (SOQL WHERE)',
	'source.campaignId': 'Salesforce Campaign ID',
	'source.statuses': 'Member Statuses',
	'fields.userId': 'User ID Field',
	'fields.email': 'Email Field',
	'fields.phone': 'Phone Field',
	'fields.timeZone': 'Time Zone Field',
	'fields.attributes': 'Profile Attributes',
	'fields.attributes.': 'Profile Attributes',
	bulkThreshold: 'Bulk Threshold',
	fullResync: 'Re-Read Whole Segment',
	campaignId: 'Campaign ID',
	startsAt: 'Campaign Starts At',
	endsAt: 'Campaign Ends At',
	reEntry: 'Re-Entry',
	'Campaign Starts At': 'Campaign Starts At',
	'Campaign Ends At': 'Campaign Ends At',
};

/** The Salesforce credentials (one list for both Salesforce nodes), and the store. */
const segmentTriggerCredentials: INodeCredentialDescription[] = [
	...salesforceCredentialDeclarations,
	{
		name: 'campaignStoreApi',
		displayName: 'Campaign Store',
		required: false,
		testedBy: 'testCampaignStoreCredential',
	},
];

export class SalesforceSegmentTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Salesforce Segment Trigger',
		name: 'salesforceSegmentTrigger',
		icon: {
			light: 'file:salesforceSegmentTrigger.svg',
			dark: 'file:salesforceSegmentTrigger.dark.svg',
		},
		group: ['trigger'],
		// Version 2: the re-entry rule has the Campaign Event Trigger's parameters.
		version: [1, 2],
		defaultVersion: 2,
		subtitle: `={{ ${textSubtitleExpression('campaignId', 'Campaign: ', 'Campaign ID not set')} }}`,
		description:
			'Starts a triggered campaign when Salesforce records join a segment: a SOQL condition on an object, or the members of a Salesforce Campaign',
		defaults: { name: 'Salesforce Segment Trigger' },
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: segmentTriggerCredentials,
		properties: segmentTriggerProperties,
	};

	methods = { credentialTest: { testCampaignStoreCredential, testSalesforceCredential } };

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const authentication = this.getNodeParameter(
			'authentication',
			'campaignOAuth2',
		) as SalesforceAuthentication;
		const definition = readDefinition(this);
		const api = await salesforceApiFor(this, authentication);
		let storeConfig;
		let store;
		try {
			storeConfig = await storeConfigFor(this);
			store = await getSharedCampaignStore(storeConfig);
		} catch (error) {
			throw toNodeError(this, error);
		}

		if (this.getMode() === 'manual') {
			return await preview(this, definition, api, store);
		}

		const rule = readRule(this);
		const includeExited = this.getNodeParameter('emit', 'entered') === 'enteredAndExited';
		let result;
		try {
			result = await pollSegment({
				api,
				store,
				definition,
				rule,
				includeExited,
				firstSync: this.getNodeParameter('firstPoll', 'trackOnly') as 'enterAll' | 'trackOnly',
				logger: syncLoggerFor(this),
				// A full read runs on a thread of its own: a capped heap, and n8n's event loop free.
				thread: { storeConfig, session: api.session, transport: api.transport },
			});
		} catch (error) {
			throw toNodeError(this, error, {
				fieldLabels: FIELD_LABELS,
				queryDescription: QUERY_DESCRIPTION,
			});
		}
		const { report } = result;
		this.logger.info(
			`Salesforce Segment Trigger "${definition.segmentId}": ${report.mode} sync via ${report.via}, ${report.recordsRead} records read, ${report.entered} entered, ${report.exited} exited, ${report.memberCount} members, ${report.apiCalls} API calls (${report.outcome})${report.fullReadReason ? `; every poll reads the segment whole: ${report.fullReadReason}` : ''}`,
			{ segmentId: definition.segmentId, syncId: report.syncId },
		);
		for (const skipped of result.skipped) {
			this.logger.debug(
				`Salesforce Segment Trigger: ${skipped.userId} joined the segment but did not enter the campaign: ${skipped.reason}`,
			);
		}

		const items: IDataObject[] = result.entered.map((triggered) =>
			segmentItem(triggered, {
				recordId: (triggered.event.properties.salesforceRecordId as string | undefined) ?? null,
				segmentId: definition.segmentId,
				change: 'entered',
			}),
		);
		for (const exited of result.exited) items.push(exitedItem(exited, rule.campaignId));
		if (items.length === 0) return null;
		return [this.helpers.returnJsonArray(items)];
	}
}

/** An entered user's item: the trigger item every campaign trigger emits, and the record. */
function segmentItem(triggered: TriggerItemSource, salesforce: IDataObject): IDataObject {
	return { ...(triggeredEntryToJson(triggered) as IDataObject), salesforce };
}

function exitedItem(change: SegmentChange, campaignId: string): IDataObject {
	return {
		userId: change.userId,
		campaignId,
		change: 'exited',
		reason: change.reason ?? null,
		exitedAt: new Date(change.at).toISOString(),
		salesforce: {
			recordId: change.recordId,
			segmentId: change.segmentId,
			change: 'exited',
		},
	};
}

/** "Fetch Test Event": the first members as they would enter, without changing anything. */
async function preview(
	context: IPollFunctions,
	definition: SegmentDefinition,
	api: Awaited<ReturnType<typeof salesforceApiFor>>,
	store: SegmentStore,
): Promise<INodeExecutionData[][]> {
	let sample;
	try {
		sample = await previewSegment({ api, store, definition, limit: PREVIEW_LIMIT });
	} catch (error) {
		throw toNodeError(context, error, {
			fieldLabels: FIELD_LABELS,
			queryDescription: QUERY_DESCRIPTION,
		});
	}
	if (sample.members.length === 0) {
		throw new NodeOperationError(
			context.getNode(),
			'No Salesforce record is in the segment right now, so there is nothing to show',
			{
				description:
					'The query ran without error. Check the condition, or add a matching record in Salesforce and fetch again.',
			},
		);
	}
	const campaignId = String(context.getNodeParameter('campaignId', '')).trim();
	const now = Date.now();
	const items: IDataObject[] = sample.members.map((member) =>
		segmentItem(
			{
				entry: {
					userId: member.userId,
					campaignId,
					entryId: `preview:${member.recordId}`,
					triggeredAt: now,
				},
				event: {
					messageId: `salesforce-segment-preview:${definition.segmentId}:${member.recordId}`,
					userId: member.userId,
					name: SEGMENT_ENTERED_EVENT,
					occurredAt: now,
					receivedAt: now,
					properties: { segmentId: definition.segmentId, salesforceRecordId: member.recordId },
				},
				profile: member.profile,
			},
			{
				recordId: member.recordId,
				segmentId: definition.segmentId,
				change: 'entered',
				preview: true,
				membersNow: sample.totalSize,
			},
		),
	);
	return [context.helpers.returnJsonArray(items)];
}

function readDefinition(context: IPollFunctions): SegmentDefinition {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const sourceKind = context.getNodeParameter('segmentSource', 'records') as string;
	const source: SegmentDefinition['source'] =
		sourceKind === 'campaignMembers'
			? {
					kind: 'campaignMembers',
					campaignId: String(context.getNodeParameter('salesforceCampaignId', '')).trim(),
					statuses: splitList(String(context.getNodeParameter('memberStatuses', ''))),
				}
			: {
					kind: 'records',
					object: String(context.getNodeParameter('object', '')).trim(),
					where: String(context.getNodeParameter('condition', '')).trim() || undefined,
				};
	const attributes: Record<string, string> = {};
	const given =
		((context.getNodeParameter('attributes', {}) as IDataObject).attribute as
			| IDataObject[]
			| undefined) ?? [];
	for (const attribute of given) {
		attributes[String(attribute.name ?? '').trim()] = String(attribute.field ?? '').trim();
	}
	const text = (name: string) => String(context.getNodeParameter(name, '')).trim() || undefined;
	return {
		segmentId: String(options.segmentKey ?? '').trim() || defaultSegmentKey(context),
		source,
		fields: {
			userId: text('userIdField'),
			email: text('emailField'),
			phone: text('phoneField'),
			timeZone: text('timeZoneField'),
			attributes,
		},
		matchProfilesByEmail: (options.matchProfilesByEmail as boolean | undefined) ?? true,
		// Absent: the engine's default (DEFAULT_BULK_THRESHOLD).
		bulkThreshold: options.bulkThreshold as number | undefined,
		fullResync: (options.fullResync as SegmentDefinition['fullResync']) ?? 'auto',
	};
}

/** One membership per trigger node: `n8n:<workflow id>:<node id>`. */
function defaultSegmentKey(context: IPollFunctions): string {
	const workflowId = context.getWorkflow().id ?? 'unsaved';
	return `n8n:${workflowId}:${context.getNode().id}`;
}

function readRule(context: IPollFunctions): Omit<TriggerRule, 'eventNames'> {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	const timeZone = context.getTimezone();
	// Version 1 kept the rule under Options, its period in hours.
	const version1 = { reEntry: options.reEntry, reEntryPeriod: options.reEntryPeriodHours };
	const reEntry = readReEntryRule(
		context.getNode().typeVersion >= 2
			? (name, fallback) => context.getNodeParameter(name, fallback)
			: (name, fallback) => (name === 'reEntryPeriodUnit' ? 'hours' : version1[name]) ?? fallback,
		'everyTime',
	);
	try {
		const rule: TriggerRule = {
			campaignId: String(context.getNodeParameter('campaignId', '')).trim(),
			eventNames: [SEGMENT_ENTERED_EVENT],
			propertyFilters: [],
			startsAt: parseDateParameter(options.startsAt, 'Campaign Starts At', timeZone),
			endsAt: parseDateParameter(options.endsAt, 'Campaign Ends At', timeZone),
			reEntry,
		};
		validateTriggerRule(rule);
		return rule;
	} catch (error) {
		throw toNodeError(context, error, {
			fieldLabels: FIELD_LABELS,
			queryDescription: QUERY_DESCRIPTION,
		});
	}
}
