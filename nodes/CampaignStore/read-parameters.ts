import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import {
	assertTimeZone,
	parseJsonObject,
	parseTrackEvent,
	requireText,
	type CampaignEvent,
	type ProfileUpdate,
} from '../../src';

/** Reads one item's parameters; throws the engine's InvalidInputError, which the node maps per item. */
export function readUserId(context: IExecuteFunctions, itemIndex: number): string {
	return requireText(
		context.getNodeParameter('userId', itemIndex, ''),
		'User ID',
		'map the user ID, e.g. {{ $json.userId }}.',
	);
}

export function readEvent(
	context: IExecuteFunctions,
	itemIndex: number,
	now: number,
): CampaignEvent {
	if (context.getNodeParameter('input', itemIndex, 'fields') === 'json') {
		const raw = parseJsonObject(context.getNodeParameter('eventJson', itemIndex), 'Event JSON');
		return parseTrackEvent(raw, 'Event JSON.', now);
	}
	const fields = context.getNodeParameter('eventFields', itemIndex, {}) as IDataObject;
	return parseTrackEvent(
		{
			userId: readUserId(context, itemIndex),
			event: context.getNodeParameter('eventName', itemIndex, ''),
			properties: parseJsonObject(
				context.getNodeParameter('properties', itemIndex, '{}'),
				'Properties',
			),
			messageId: fields.messageId || undefined,
			timestamp: fields.timestamp || undefined,
			context: fields.timeZone ? { timezone: fields.timeZone } : undefined,
		},
		'',
		now,
	);
}

export function readProfileUpdate(context: IExecuteFunctions, itemIndex: number): ProfileUpdate {
	const fields = context.getNodeParameter('profileFields', itemIndex, {}) as IDataObject;
	const text = (key: string) =>
		typeof fields[key] === 'string' && fields[key] !== '' ? (fields[key] as string) : undefined;
	const timeZone = text('timeZone');
	if (timeZone) assertTimeZone(timeZone, 'Time Zone');
	const externalIds =
		fields.externalIds === undefined
			? undefined
			: parseJsonObject(fields.externalIds, 'External IDs');
	return {
		userId: readUserId(context, itemIndex),
		email: text('email'),
		phone: text('phone'),
		timeZone,
		unsubscribed: fields.unsubscribed === undefined ? undefined : Boolean(fields.unsubscribed),
		attributes:
			fields.attributes === undefined
				? undefined
				: parseJsonObject(fields.attributes, 'Attributes'),
		externalIds:
			externalIds &&
			Object.fromEntries(Object.entries(externalIds).map(([k, v]) => [k, String(v)])),
	};
}
