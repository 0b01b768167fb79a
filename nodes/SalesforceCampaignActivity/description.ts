import type { INodeProperties } from 'n8n-workflow';

import { salesforceAuthenticationProperty } from '../shared/salesforce';

const externalIdField = { duplicateCheck: ['externalIdField'] };

export const campaignActivityProperties: INodeProperties[] = [
	{
		displayName:
			'Logs each message a user was sent as a completed Task on their Salesforce Contact or Lead, typically after the "Sent" output of Campaign Send Message. Each message is logged once: a retried execution finds the Task it already wrote.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	salesforceAuthenticationProperty,
	{
		displayName: 'Who ID',
		name: 'whoId',
		type: 'string',
		required: true,
		default: '={{ $json.profile.externalIds.salesforce }}',
		description:
			'ID of the Contact or Lead the Task is logged on. Users from the Salesforce Segment Trigger have it in profile.externalIds.salesforce.',
	},
	{
		displayName: 'Subject',
		name: 'subject',
		type: 'string',
		required: true,
		default: '={{ "Campaign message: " + $json.campaignId }}',
		description: 'Task subject (at most 255 characters)',
	},
	{
		displayName: 'Description',
		name: 'description',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '={{ $json.send?.rendered?.body ?? "" }}',
		description: 'Task comments, e.g. the message that was sent',
	},
	{
		displayName: 'Activity Date',
		name: 'activityDate',
		type: 'string',
		default: '={{ $today.toFormat("yyyy-MM-dd") }}',
		placeholder: '2026-11-23',
		description: 'Due date of the Task, YYYY-MM-DD. Empty: none.',
	},
	{
		displayName: 'Status',
		name: 'status',
		type: 'string',
		default: 'Completed',
		description: "Task status; must be one of the org's Task Status values",
	},
	{
		displayName: 'Idempotency Key',
		name: 'idempotencyKey',
		type: 'string',
		required: true,
		default: '={{ $json.send?.idempotencyKey ?? $json.entryId }}',
		description:
			'Unique per message: the same key is never logged twice. Campaign Send Message puts its key in send.idempotencyKey.',
	},
	{
		displayName: 'Duplicate Check',
		name: 'duplicateCheck',
		type: 'options',
		options: [
			{
				name: 'External ID Field Upsert (Recommended)',
				value: 'externalIdField',
				description:
					'The key goes in a Task field marked External ID and Unique; Salesforce itself refuses a second Task with it',
			},
			{
				name: 'Key in Description',
				value: 'descriptionKey',
				description:
					'No setup in Salesforce: the key is written as a line in the description and looked up before writing',
			},
		],
		default: 'externalIdField',
		description: 'How a Task already written for a key is found, so a retry does not log it twice',
	},
	{
		displayName: 'External ID Field',
		name: 'externalIdField',
		type: 'string',
		required: true,
		default: 'Campaign_Message_Key__c',
		description:
			'API name of a Text(255) field on Activity marked External ID and Unique (Setup → Object Manager → Activity → Fields)',
		displayOptions: { show: externalIdField },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Campaign Member Status',
				name: 'campaignMemberStatus',
				type: 'string',
				default: '',
				placeholder: 'Sent',
				description:
					"Set the Contact's or Lead's member status in the Salesforce Campaign below. People who are not members of it are left alone (reported as notAMember).",
			},
			{
				displayName: 'Priority',
				name: 'priority',
				type: 'string',
				default: 'Normal',
				description: "Task priority; must be one of the org's Task Priority values",
			},
			{
				displayName: 'Related To (What ID)',
				name: 'whatId',
				type: 'string',
				default: '',
				placeholder: '006000000000001AAA',
				description: 'An Account, Opportunity or other record the Task is also related to',
			},
			{
				displayName: 'Salesforce Campaign ID',
				name: 'salesforceCampaignId',
				type: 'string',
				default: '',
				placeholder: '701000000000001AAA',
				description: 'The Campaign whose member status is set (with Campaign Member Status)',
			},
			{
				displayName: 'Update Field on Contact/Lead',
				name: 'recordField',
				type: 'string',
				default: '',
				placeholder: 'Last_Campaign_Message__c',
				description:
					'API name of a field on the Contact or Lead set with each logged message, e.g. the date of the last campaign message',
			},
			{
				displayName: 'Update Field Value',
				name: 'recordFieldValue',
				type: 'string',
				default: '',
				placeholder: '{{ $today.toFormat("yyyy-MM-dd") }}',
				description:
					'Value written to that field (dates as YYYY-MM-DD); "true" and "false" are sent as booleans',
			},
		],
	},
];
