import { InvalidInputError } from '../../src/errors';
import type { CampaignEvent, ReEntryRule } from '../../src/store/campaign-store';
import type { PropertyFilter } from '../../src/trigger/property-filter';
import {
	evaluateTrigger,
	validateTriggerRule,
	type TriggerRule,
} from '../../src/trigger/trigger-rule';

const START = Date.UTC(2026, 2, 1, 0, 0, 0); // 2026-03-01T00:00:00.000Z
const END = Date.UTC(2026, 3, 1, 0, 0, 0); // 2026-04-01T00:00:00.000Z
const MID = Date.UTC(2026, 2, 15, 12, 0, 0); // 2026-03-15T12:00:00.000Z

const rule = (overrides: Partial<TriggerRule> = {}): TriggerRule => ({
	campaignId: 'abandoned-cart',
	eventNames: ['Added to Cart'],
	propertyFilters: [],
	reEntry: { mode: 'everyTime' },
	...overrides,
});

const event = (overrides: Partial<CampaignEvent> = {}): CampaignEvent => ({
	messageId: 'm1',
	userId: 'u1',
	name: 'Added to Cart',
	occurredAt: MID,
	receivedAt: MID,
	properties: {},
	...overrides,
});

describe('evaluateTrigger: event names', () => {
	test.each<[string, string[], string, boolean]>([
		['a listed name', ['Added to Cart'], 'Added to Cart', true],
		['one of several names', ['Signed Up', 'Added to Cart'], 'Added to Cart', true],
		['any name when the list is empty', [], 'Whatever Happened', true],
		['a name not in the list', ['Signed Up'], 'Added to Cart', false],
		['a name differing in case', ['added to cart'], 'Added to Cart', false],
		['a name differing in spacing', ['Added to Cart '], 'Added to Cart', false],
	])('matches %s: %p', (_label, eventNames, name, matched) => {
		const decision = evaluateTrigger(rule({ eventNames }), event({ name }), MID);
		expect(decision).toEqual(
			matched
				? { matched: true }
				: { matched: false, reason: `event "${name}" is not a trigger event` },
		);
	});
});

describe('evaluateTrigger: campaign window', () => {
	const windowed = rule({ startsAt: START, endsAt: END });

	test.each<[string, number, number, { matched: true } | { matched: false; reason: string }]>([
		['now inside, event inside', MID, MID, { matched: true }],
		['now exactly at startsAt (inclusive)', START, START, { matched: true }],
		['now 1 ms before endsAt', END - 1, END - 1, { matched: true }],
		[
			'now 1 ms before startsAt',
			START - 1,
			START - 1,
			{ matched: false, reason: 'the campaign starts at 2026-03-01T00:00:00.000Z' },
		],
		[
			'now exactly at endsAt (exclusive)',
			END,
			END - 1,
			{ matched: false, reason: 'the campaign ended at 2026-04-01T00:00:00.000Z' },
		],
		[
			'now after endsAt',
			END + 86_400_000,
			MID,
			{ matched: false, reason: 'the campaign ended at 2026-04-01T00:00:00.000Z' },
		],
		[
			'now inside but the event occurred 1 ms before startsAt',
			MID,
			START - 1,
			{
				matched: false,
				reason: 'the event occurred at 2026-02-28T23:59:59.999Z, before the campaign started',
			},
		],
		['now inside and the event occurred exactly at startsAt', MID, START, { matched: true }],
	])('%s', (_label, now, occurredAt, expected) => {
		expect(evaluateTrigger(windowed, event({ occurredAt }), now)).toEqual(expected);
	});

	test.each<[string, Partial<TriggerRule>, number, boolean]>([
		['no window at all, far past', {}, 0, true],
		['only startsAt, long after it', { startsAt: START }, END * 2, true],
		['only startsAt, before it', { startsAt: START }, START - 1, false],
		['only endsAt, long before it', { endsAt: END }, 0, true],
		['only endsAt, at it', { endsAt: END }, END, false],
	])('with %s: matched %p', (_label, window, now, matched) => {
		const occurredAt = Math.max(now, window.startsAt ?? 0);
		expect(evaluateTrigger(rule(window), event({ occurredAt }), now).matched).toBe(matched);
	});

	it('checks the event name before the window', () => {
		expect(evaluateTrigger(windowed, event({ name: 'Other' }), END + 1)).toEqual({
			matched: false,
			reason: 'event "Other" is not a trigger event',
		});
	});

	it('checks the window before the filters', () => {
		const filtered = rule({
			startsAt: START,
			endsAt: END,
			propertyFilters: [{ property: 'cart_value', operator: 'greaterThan', value: 100 }],
		});
		expect(evaluateTrigger(filtered, event({ properties: {} }), END)).toEqual({
			matched: false,
			reason: 'the campaign ended at 2026-04-01T00:00:00.000Z',
		});
	});
});

describe('evaluateTrigger: property filters', () => {
	const filters: PropertyFilter[] = [
		{ property: 'cart_value', operator: 'greaterThan', value: 100 },
		{ property: 'currency', operator: 'inList', value: ['EUR', 'USD'] },
		{ property: 'coupon', operator: 'notExists' },
	];
	const filtered = rule({ propertyFilters: filters });

	test.each<
		[string, Record<string, unknown>, { matched: true } | { matched: false; reason: string }]
	>([
		['all hold', { cart_value: '150.5', currency: 'EUR' }, { matched: true }],
		[
			'all hold, coupon null',
			{ cart_value: 101, currency: 'USD', coupon: null },
			{ matched: true },
		],
		[
			'the first fails',
			{ cart_value: 80, currency: 'EUR' },
			{ matched: false, reason: 'property "cart_value" (80) is not greater than 100' },
		],
		[
			'the second fails',
			{ cart_value: 150, currency: 'GBP' },
			{ matched: false, reason: 'property "currency" ("GBP") is not in ["EUR","USD"]' },
		],
		[
			'the third fails',
			{ cart_value: 150, currency: 'EUR', coupon: 'SPRING' },
			{ matched: false, reason: 'property "coupon" ("SPRING") exists' },
		],
		[
			'two fail: the first failing one is the reason',
			{ cart_value: 150, currency: 'GBP', coupon: 'SPRING' },
			{ matched: false, reason: 'property "currency" ("GBP") is not in ["EUR","USD"]' },
		],
		[
			'properties are empty',
			{},
			{
				matched: false,
				reason: 'property "cart_value" (missing) is not a number or date to compare',
			},
		],
	])('when %s', (_label, properties, expected) => {
		expect(evaluateTrigger(filtered, event({ properties }), MID)).toEqual(expected);
	});

	it('matches with no filters whatever the properties', () => {
		expect(evaluateTrigger(rule(), event({ properties: { anything: [1, 2] } }), MID)).toEqual({
			matched: true,
		});
	});
});

describe('validateTriggerRule', () => {
	test.each<[string, Partial<TriggerRule>]>([
		['a minimal rule', {}],
		['a window', { startsAt: START, endsAt: END }],
		['only startsAt', { startsAt: START }],
		['only endsAt', { endsAt: END }],
		['re-entry once', { reEntry: { mode: 'once' } }],
		['re-entry once per period', { reEntry: { mode: 'oncePerPeriod', periodMs: 1 } }],
		['valid filters', { propertyFilters: [{ property: 'a', operator: 'lessThan', value: '5' }] }],
		['no event names', { eventNames: [] }],
	])('accepts %s', (_label, overrides) => {
		expect(() => validateTriggerRule(rule(overrides))).not.toThrow();
	});

	const badPeriod = (periodMs: number): ReEntryRule => ({ mode: 'oncePerPeriod', periodMs });

	test.each<[string, Partial<TriggerRule>, string, string]>([
		[
			'an empty campaignId',
			{ campaignId: '' },
			'campaignId',
			'Campaign ID: is empty — give the campaign a stable ID, e.g. abandoned-cart.',
		],
		[
			'a whitespace campaignId',
			{ campaignId: '  \t' },
			'campaignId',
			'Campaign ID: is empty — give the campaign a stable ID, e.g. abandoned-cart.',
		],
		[
			'endsAt equal to startsAt',
			{ startsAt: START, endsAt: START },
			'endsAt',
			'Campaign Ends At: (2026-03-01T00:00:00.000Z) must be after Campaign Starts At (2026-03-01T00:00:00.000Z).',
		],
		[
			'endsAt before startsAt',
			{ startsAt: END, endsAt: START },
			'endsAt',
			'Campaign Ends At: (2026-03-01T00:00:00.000Z) must be after Campaign Starts At (2026-04-01T00:00:00.000Z).',
		],
		[
			'a zero period',
			{ reEntry: badPeriod(0) },
			'reEntry.period',
			'Re-Entry Period: must be greater than zero.',
		],
		[
			'a negative period',
			{ reEntry: badPeriod(-3_600_000) },
			'reEntry.period',
			'Re-Entry Period: must be greater than zero.',
		],
		[
			'a NaN period',
			{ reEntry: badPeriod(Number.NaN) },
			'reEntry.period',
			'Re-Entry Period: must be greater than zero.',
		],
		[
			'a bad filter, naming its row as the panel counts them',
			{
				propertyFilters: [
					{ property: 'ok', operator: 'exists' },
					{ property: 'cart_value', operator: 'greaterThan', value: 'lots' },
				],
			},
			'propertyFilters[1].value',
			'Property Filters › row 2: Value must be a number or an ISO date for "Greater Than" (got "lots").',
		],
		[
			'a filter without property, in the words of the panel',
			{ propertyFilters: [{ property: '', operator: 'exists' }] },
			'propertyFilters[0].property',
			'Property Filters › row 1: Property is empty — enter the event property to compare, e.g. cart_value.',
		],
	])('rejects %s', (_label, overrides, field, message) => {
		let thrown: unknown;
		try {
			validateTriggerRule(rule(overrides));
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(InvalidInputError);
		expect((thrown as InvalidInputError).field).toBe(field);
		expect((thrown as InvalidInputError).message).toBe(message);
	});
});
