import type { IDataObject, INodeProperties } from 'n8n-workflow';

import {
	FILTER_OPERATOR_NAMES,
	FILTER_OPERATORS,
	validateTriggerRule,
	type FilterOperator,
	type PropertyFilter,
	type TriggerRule,
} from '../../src';
import { reEntryProperties } from './descriptions';
import { parseDateParameter, readReEntryRule, splitList } from './parameters';

/**
 * The Campaign Event Trigger's rule: its parameters and their one reader, shared with the
 * Campaign Store's Dry Run, which asks the same rule about one user.
 */
export const triggerRuleProperties: INodeProperties[] = [
	{
		displayName: 'Campaign ID',
		name: 'campaignId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'abandoned-cart',
		description:
			'Stable ID of this campaign. Entries, re-entry rules, caps and sends are counted under it; keep it when you rename the workflow.',
	},
	{
		displayName: 'Trigger Events',
		name: 'eventNames',
		type: 'string',
		default: '',
		placeholder: 'Added to Cart, Session Ended',
		description:
			'Comma-separated event names that start the campaign (exact, case-sensitive). Empty: any event.',
	},
	{
		displayName: 'Property Filters',
		name: 'propertyFilters',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Filter',
		description:
			'Conditions on the event properties; all must hold. Numbers compare as numbers, ISO dates as dates.',
		options: [
			{
				displayName: 'Filter',
				name: 'filter',
				values: [
					{
						displayName: 'Property',
						name: 'property',
						type: 'string',
						required: true,
						default: '',
						placeholder: 'cart_value',
						description: 'Property name; use a dot to reach into objects (cart.total)',
					},
					{
						displayName: 'Operator',
						name: 'operator',
						type: 'options',
						// In the order of FILTER_OPERATORS: equality, comparison, membership, presence.
						options: FILTER_OPERATORS.map((value) => ({
							name: FILTER_OPERATOR_NAMES[value],
							value,
						})),
						default: 'equals',
					},
					{
						displayName: 'Value',
						name: 'value',
						type: 'string',
						default: '',
						placeholder: '100',
						description: 'For "Is in List": comma-separated values',
						displayOptions: { hide: { operator: ['exists', 'notExists'] } },
					},
				],
			},
		],
	},
	...reEntryProperties({
		default: 'oncePerPeriod',
		everyTime: 'Each matching event starts a new journey',
		description: 'Whether a user who entered this campaign may enter it again',
	}),
];

/** Campaign Starts At / Ends At, options of the trigger's Options collection. */
export const campaignWindowOptions: INodeProperties[] = [
	{
		displayName: 'Campaign Starts At',
		name: 'startsAt',
		type: 'dateTime',
		default: '',
		description:
			'No user enters before this time, and events that occurred before it never trigger',
	},
	{
		displayName: 'Campaign Ends At',
		name: 'endsAt',
		type: 'dateTime',
		default: '',
		description: 'No user enters from this time on; events are still recorded',
	},
];

/**
 * The trigger rule from the parameters above; `read` gives a parameter's value, or the fallback
 * when it has none; `options` is the collection holding Campaign Starts At / Ends At. Throws the
 * engine's InvalidInputError naming the setting; the node maps it.
 */
export function readTriggerRule(
	read: (name: string, fallback: unknown) => unknown,
	timeZone: string,
): TriggerRule {
	const options = read('options', {}) as IDataObject;
	const filters = (read('propertyFilters', {}) as IDataObject).filter as IDataObject[] | undefined;
	const rule: TriggerRule = {
		campaignId: String(read('campaignId', '') ?? '').trim(),
		eventNames: splitList(String(read('eventNames', '') ?? '')),
		propertyFilters: (filters ?? []).map(
			(filter): PropertyFilter => ({
				property: String(filter.property ?? '').trim(),
				operator: filter.operator as FilterOperator,
				value:
					filter.operator === 'inList'
						? splitList(String(filter.value ?? ''))
						: (filter.value as string | undefined),
			}),
		),
		startsAt: parseDateParameter(options.startsAt, 'Campaign Starts At', timeZone),
		endsAt: parseDateParameter(options.endsAt, 'Campaign Ends At', timeZone),
		reEntry: readReEntryRule(read, 'oncePerPeriod'),
	};
	validateTriggerRule(rule);
	return rule;
}
