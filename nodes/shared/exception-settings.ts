import { NodeOperationError, type IExecuteFunctions, type INodeProperties } from 'n8n-workflow';

import { elapsedMs, type DurationUnit, type ExceptionRule } from '../../src';
import { DURATION_UNIT_OPTIONS } from './descriptions';
import { parseDateParameter, splitList } from './parameters';

/**
 * When the Exception Check lets a user go: its parameters (with Campaign Ends At beside them)
 * and their one reader, shared with the Campaign Store's Dry Run.
 */
export const exceptionRuleProperties: INodeProperties[] = [
	{
		displayName: 'Exception Events',
		name: 'exceptionEvents',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'Order Completed',
		description:
			'Comma-separated event names. A user who did any of them after the trigger event exits. Events must reach the campaign store (Campaign Event Trigger or Campaign Store → Record Event).',
	},
	{
		displayName: 'Match Property',
		name: 'matchProperty',
		type: 'string',
		default: '',
		placeholder: 'cart_id',
		description:
			"Optional. Only exception events whose property equals the trigger event's count (the same cart). If the trigger event lacks it, any exception event counts.",
	},
	{
		displayName: 'Only Within',
		name: 'withinAmount',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description:
			'Only exception events this long after the trigger count; 0: any time since the trigger',
	},
	{
		displayName: 'Only Within Unit',
		name: 'withinUnit',
		type: 'options',
		options: DURATION_UNIT_OPTIONS,
		default: 'hours',
	},
	{
		displayName: 'Exit When Unsubscribed',
		name: 'exitWhenUnsubscribed',
		type: 'boolean',
		default: true,
		description: 'Whether users whose stored profile says unsubscribed exit',
	},
];

export function readExceptionRule(context: IExecuteFunctions, itemIndex: number): ExceptionRule {
	const withinAmount = context.getNodeParameter('withinAmount', itemIndex, 0) as number;
	const withinUnit = context.getNodeParameter('withinUnit', itemIndex, 'hours') as DurationUnit;
	const exceptionEvents = splitList(
		context.getNodeParameter('exceptionEvents', itemIndex, '') as string,
	);
	// Without them the check would let everybody continue without a word.
	if (exceptionEvents.length === 0) {
		throw new NodeOperationError(
			context.getNode(),
			'Exception Events: is empty — enter the events that make a user exit, e.g. Order Completed.',
			{
				itemIndex,
				description:
					'A user who did one of these events since the trigger leaves the campaign; the check needs at least one.',
			},
		);
	}
	return {
		exceptionEvents,
		matchProperty:
			(context.getNodeParameter('matchProperty', itemIndex, '') as string).trim() || undefined,
		withinMs: withinAmount > 0 ? elapsedMs(withinAmount, withinUnit) : undefined,
		campaignEndsAt: parseDateParameter(
			context.getNodeParameter('campaignEndsAt', itemIndex, ''),
			'Campaign Ends At',
			context.getTimezone(),
		),
		exitWhenUnsubscribed: context.getNodeParameter(
			'exitWhenUnsubscribed',
			itemIndex,
			true,
		) as boolean,
	};
}
