import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import {
	CampaignError,
	writeActivities,
	type ActivityItem,
	type ActivityResult,
	type ActivityWriteOptions,
} from '../../src';
import { itemError, toNodeError } from '../shared/node-errors';
import {
	salesforceApiFor,
	salesforceCredentialDeclarations,
	syncLoggerFor,
	testSalesforceCredential,
	type SalesforceAuthentication,
} from '../shared/salesforce';
import { campaignActivityProperties } from './description';

const LOGGED = 0;
const FAILED = 1;

/** Engine field paths → the parameter a user fixes. */
const FIELD_LABELS: Record<string, string> = {
	idempotency: 'Duplicate Check',
	'idempotency.field': 'External ID Field',
	personObject: 'Update Field on Contact/Lead',
};

export class SalesforceCampaignActivity implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Salesforce Campaign Activity',
		name: 'salesforceCampaignActivity',
		icon: {
			light: 'file:salesforceCampaignActivity.svg',
			dark: 'file:salesforceCampaignActivity.dark.svg',
		},
		group: ['output'],
		version: 1,
		// Not the Subject: its default is an expression of the item, which the canvas cannot show.
		subtitle: 'Log a Task on the Contact or Lead',
		description:
			'Logs each campaign message as a Task on the Salesforce Contact or Lead, once, and optionally updates a field and the Campaign member status',
		defaults: { name: 'Salesforce Campaign Activity' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Logged', 'Failed'],
		usableAsTool: true,
		credentials: salesforceCredentialDeclarations,
		properties: campaignActivityProperties,
	};

	methods = { credentialTest: { testSalesforceCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const outputs: INodeExecutionData[][] = [[], []];
		if (items.length === 0) return outputs;

		const authentication = this.getNodeParameter(
			'authentication',
			0,
			'campaignOAuth2',
		) as SalesforceAuthentication;
		const duplicateCheck = this.getNodeParameter('duplicateCheck', 0, 'externalIdField') as string;
		const idempotency: ActivityWriteOptions['idempotency'] =
			duplicateCheck === 'descriptionKey'
				? { mode: 'descriptionKey' }
				: {
						mode: 'externalIdField',
						field: String(this.getNodeParameter('externalIdField', 0, '')).trim(),
					};

		// Read every item's parameters first; an item whose expressions fail is failed alone.
		const activities: ActivityItem[] = [];
		const positions: number[] = [];
		for (const [itemIndex, input] of items.entries()) {
			try {
				activities.push(readActivity(this, itemIndex));
				positions.push(itemIndex);
			} catch (error) {
				outputs[FAILED].push(itemError(this, error, itemIndex, input));
			}
		}
		if (activities.length === 0) return outputs;

		const api = await salesforceApiFor(this, authentication);
		let results: ActivityResult[];
		try {
			results = await writeActivities(activities, {
				api,
				idempotency,
				logger: syncLoggerFor(this),
			});
		} catch (error) {
			const nodeError = toNodeError(this, error, { fieldLabels: FIELD_LABELS });
			if (!this.continueOnFail()) throw nodeError;
			for (const itemIndex of positions) {
				outputs[FAILED].push({
					json: {
						...items[itemIndex].json,
						salesforceActivity: { outcome: 'failed', taskId: null, errors: [] },
						error: nodeError.message,
					},
					pairedItem: { item: itemIndex },
				});
			}
			return outputs;
		}

		// A refused login fails every item alike: that is the node's error, not the items'
		// (the execution fails and can be retried once the credential is fixed).
		const loginFailure = results
			.flatMap((result) => (result.outcome === 'failed' ? (result.errors ?? []) : []))
			.find((error) => error.code === 'salesforce_auth');
		if (loginFailure && !this.continueOnFail()) {
			throw toNodeError(this, new CampaignError(loginFailure.code, loginFailure.message));
		}

		results.forEach((result, index) => {
			const itemIndex = positions[index];
			const output = result.outcome === 'failed' ? FAILED : LOGGED;
			outputs[output].push({
				json: { ...items[itemIndex].json, salesforceActivity: describeResult(result) },
				pairedItem: { item: itemIndex },
			});
		});
		return outputs;
	}
}

function describeResult(result: ActivityResult): IDataObject {
	const json: IDataObject = {
		outcome: result.outcome,
		taskId: result.taskId ?? null,
		idempotencyKey: result.idempotencyKey,
		whoId: result.whoId,
		errors: (result.errors ?? []) as unknown as IDataObject[],
	};
	if (result.recordUpdate) json.recordUpdate = result.recordUpdate;
	if (result.campaignMemberStatus) json.campaignMemberStatus = result.campaignMemberStatus;
	return json;
}

/** One item's Task, record update and member status, from the node's parameters. */
function readActivity(context: IExecuteFunctions, itemIndex: number): ActivityItem {
	const text = (name: string, fallback = '') =>
		String(context.getNodeParameter(name, itemIndex, fallback) ?? '').trim();
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const option = (name: string) => String(options[name] ?? '').trim();

	const activity: ActivityItem = {
		whoId: text('whoId'),
		subject: text('subject'),
		idempotencyKey: text('idempotencyKey'),
	};
	const description = String(context.getNodeParameter('description', itemIndex, '') ?? '');
	if (description.trim() !== '') activity.description = description;
	const activityDate = text('activityDate');
	if (activityDate) activity.activityDate = activityDate;
	const status = text('status');
	if (status) activity.status = status;
	if (option('priority')) activity.priority = option('priority');
	if (option('whatId')) activity.whatId = option('whatId');

	const recordField = option('recordField');
	if (recordField) {
		activity.recordUpdate = { [recordField]: fieldValue(options.recordFieldValue) };
	}
	const memberStatus = option('campaignMemberStatus');
	const salesforceCampaignId = option('salesforceCampaignId');
	if (memberStatus || salesforceCampaignId) {
		activity.campaignMemberStatus = { campaignId: salesforceCampaignId, status: memberStatus };
	}
	return activity;
}

/** "true"/"false" as booleans, empty as null (clears the field), anything else as given. */
function fieldValue(value: unknown): string | number | boolean | null {
	if (value === undefined || value === null) return null;
	if (typeof value === 'number' || typeof value === 'boolean') return value;
	const text = String(value).trim();
	if (text === '') return null;
	if (text === 'true') return true;
	if (text === 'false') return false;
	return text;
}
