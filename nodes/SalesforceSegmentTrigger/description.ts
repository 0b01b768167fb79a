import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_BULK_THRESHOLD } from '../../src';
import { reEntryProperties } from '../shared/descriptions';
import { salesforceAuthenticationProperty } from '../shared/salesforce';

const records = { segmentSource: ['records'] };
const campaignMembers = { segmentSource: ['campaignMembers'] };

export const segmentTriggerProperties: INodeProperties[] = [
	{
		displayName:
			'On each poll the segment is compared with the one stored at the previous poll: users who joined it enter the campaign (one item each, like the Campaign Event Trigger). "Fetch Test Event" only previews up to five current members and changes nothing.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	salesforceAuthenticationProperty,
	{
		displayName: 'Campaign ID',
		name: 'campaignId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'trial-ending',
		description:
			'Stable ID of the campaign the users who join the segment enter. Entries, re-entry rules, caps and sends are counted under it.',
	},
	{
		displayName: 'Segment',
		name: 'segmentSource',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Records of an Object',
				value: 'records',
				description: 'Contacts, Leads or any object whose records match a SOQL condition',
			},
			{
				name: 'Members of a Salesforce Campaign',
				value: 'campaignMembers',
				description: 'The Contacts and Leads in a Campaign, optionally only some member statuses',
			},
		],
		default: 'records',
	},
	{
		displayName: 'Object API Name',
		name: 'object',
		type: 'string',
		required: true,
		default: 'Contact',
		placeholder: 'Contact',
		description:
			'API name of the object whose records are the segment, e.g. Contact, Lead, Trial__c',
		displayOptions: { show: records },
	},
	{
		displayName: 'Condition (SOQL WHERE)',
		name: 'condition',
		type: 'string',
		typeOptions: { rows: 3 },
		default: '',
		placeholder: 'Trial_End__c = NEXT_N_DAYS:3 AND IsConverted__c = false',
		description:
			'Which records are in the segment: a SOQL WHERE clause without the word WHERE. Empty: every record of the object.',
		hint: "Conditions with relative dates (TODAY, NEXT_N_DAYS:3, …) re-read the whole segment on every poll, since time alone changes who is in it; so do conditions and mapped fields on related records (Account.Industry, Id IN (SELECT … FROM CampaignMember), a Campaign member's Email), since their changes leave the record itself unchanged",
		displayOptions: { show: records },
	},
	{
		displayName: 'Salesforce Campaign ID',
		name: 'salesforceCampaignId',
		type: 'string',
		required: true,
		default: '',
		placeholder: '701000000000001AAA',
		description: "The 15 or 18 character ID from the Campaign's URL (it starts with 701)",
		displayOptions: { show: campaignMembers },
	},
	{
		displayName: 'Member Statuses',
		name: 'memberStatuses',
		type: 'string',
		default: '',
		placeholder: 'Sent, Responded',
		description: 'Comma-separated member statuses that count. Empty: every member.',
		displayOptions: { show: campaignMembers },
	},
	{
		displayName: 'User ID Field',
		name: 'userIdField',
		type: 'string',
		default: '',
		placeholder: 'App_User_Id__c',
		description:
			"Field holding your product's user ID, the ID the campaign knows the user by (relationship paths allowed, e.g. Contact.App_User_Id__c). Empty, or empty on a record: the user of an existing profile with the same email, else the Salesforce ID.",
	},
	{
		displayName: 'Email Field',
		name: 'emailField',
		type: 'string',
		default: '',
		placeholder: 'Email',
		description:
			'Field read into the profile email. Empty: Email on Contact, Lead and Campaign Member.',
	},
	{
		displayName: 'Phone Field',
		name: 'phoneField',
		type: 'string',
		default: '',
		placeholder: 'MobilePhone',
		description:
			'Field read into the profile phone. Empty: Phone on Contact, Lead and Campaign Member.',
	},
	{
		displayName: 'Time Zone Field',
		name: 'timeZoneField',
		type: 'string',
		default: '',
		placeholder: 'Time_Zone__c',
		description:
			'Field holding the IANA time zone (Europe/Berlin) delays and quiet hours use for this user',
	},
	{
		displayName: 'Profile Attributes',
		name: 'attributes',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Attribute',
		description:
			'Fields copied into the profile, for templates ({{ profile.attributes.trialEndsOn }}) and exception checks',
		options: [
			{
				displayName: 'Attribute',
				name: 'attribute',
				values: [
					{
						displayName: 'Attribute Name',
						name: 'name',
						type: 'string',
						default: '',
						placeholder: 'trialEndsOn',
					},
					{
						displayName: 'Salesforce Field',
						name: 'field',
						type: 'string',
						default: '',
						placeholder: 'Trial_End__c',
						description: 'Field API name; relationship paths allowed, e.g. Account.Name',
					},
				],
			},
		],
	},
	{
		displayName: 'Emit',
		name: 'emit',
		type: 'options',
		options: [
			{
				name: 'Entered Only',
				value: 'entered',
				description: 'One item per user who joined the segment and entered the campaign',
			},
			{
				name: 'Entered and Exited',
				value: 'enteredAndExited',
				description:
					'Also one item per user who left the segment (change: "exited", with the reason)',
			},
		],
		default: 'entered',
	},
	{
		displayName: 'On First Poll',
		name: 'firstPoll',
		type: 'options',
		options: [
			{
				name: 'Only Start Tracking',
				value: 'trackOnly',
				description:
					'Remember who is in the segment now without emitting them; only users who join later enter',
			},
			{
				name: 'Emit All Current Members',
				value: 'enterAll',
				description: 'Everyone in the segment now enters the campaign at the first poll',
			},
		],
		default: 'trackOnly',
		description:
			'What happens with the users already in the segment when the workflow is activated',
	},
	...reEntryProperties({
		default: 'everyTime',
		everyTime: 'Each time a user joins the segment again starts a new journey',
		description: 'Whether a user who left the segment and joins it again enters the campaign again',
		show: { '@version': [{ _cnd: { gte: 2 } }] },
	}),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Bulk Threshold',
				name: 'bulkThreshold',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: DEFAULT_BULK_THRESHOLD,
				description:
					'Reads of more records than this go through Bulk API 2.0 (fewer API calls, slower to start)',
			},
			{
				displayName: 'Campaign Ends At',
				name: 'endsAt',
				type: 'dateTime',
				default: '',
				description: 'No user enters from this time on; the segment is still tracked',
			},
			{
				displayName: 'Campaign Starts At',
				name: 'startsAt',
				type: 'dateTime',
				default: '',
				description: 'No user enters before this time',
			},
			{
				displayName: 'Match Profiles by Email',
				name: 'matchProfilesByEmail',
				type: 'boolean',
				default: true,
				description:
					'Whether a record without a user ID joins the existing profile with the same email (users known from events) instead of becoming a user named by its Salesforce ID. A profile another Salesforce record holds is never joined; of several records sharing an email, the first read takes it.',
			},
			{
				displayName: 'Re-Entry',
				name: 'reEntry',
				type: 'options',
				options: [
					{
						name: 'Every Time',
						value: 'everyTime',
						description: 'Each time a user joins the segment again starts a new journey',
					},
					{
						name: 'Once Ever',
						value: 'once',
						description: 'A user enters this campaign a single time',
					},
					{
						name: 'Once per Period',
						value: 'oncePerPeriod',
						description: 'Two entries of a user are at least Re-Entry Period apart',
					},
				],
				default: 'everyTime',
				description:
					'Whether a user who left the segment and joins it again enters the campaign again',
				// Version 1's place for the rule; version 2 has the Event Trigger's parameters.
				displayOptions: { show: { '@version': [1] } },
			},
			{
				displayName: 'Re-Entry Period (Hours)',
				name: 'reEntryPeriodHours',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 24,
				description:
					'With Re-Entry "Once per Period": the least time between two entries of a user',
				displayOptions: { show: { '@version': [1] } },
			},
			{
				displayName: 'Re-Read Whole Segment',
				name: 'fullResync',
				type: 'options',
				options: [
					{
						name: 'Auto',
						value: 'auto',
						description:
							"Every poll when the condition uses a relative date (TODAY, NEXT_N_DAYS:3, …) or the condition or a mapped field reads related records (Account.Name, a subquery, a Campaign member's Contact fields), else only changed records",
					},
					{ name: 'Always', value: 'always', description: 'Every poll reads every member' },
					{
						name: 'Changes Only',
						value: 'changesOnly',
						description:
							'Polls read only records changed since the previous poll; conditions and fields on related records are then read only when the record itself changes',
					},
				],
				default: 'auto',
			},
			{
				displayName: 'Segment Key',
				name: 'segmentKey',
				type: 'string',
				default: '',
				placeholder: 'trial-ending-contacts',
				description:
					'Name the segment membership is stored under. Empty: derived from the workflow and this node, so two triggers never share membership. Set it to keep the membership when you copy the workflow.',
			},
		],
	},
];
