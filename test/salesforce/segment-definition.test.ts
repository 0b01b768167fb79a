/**
 * Which segments every sync reads whole, and why: relative dates, and conditions or mapped
 * fields on related records (whose changes leave the record's own SystemModstamp alone).
 */
import {
	relatedRecordReferences,
	resolveSegmentDefinition,
	type SegmentDefinition,
} from '../../src/salesforce/sync/segment-definition';

const contacts = (where?: string, extra: Partial<SegmentDefinition> = {}): SegmentDefinition => ({
	segmentId: 's',
	source: { kind: 'records', object: 'Contact', where },
	...extra,
});

describe('relatedRecordReferences', () => {
	it('finds relationship paths and subqueries outside string literals', () => {
		expect(relatedRecordReferences("Account.Industry = 'Technology'")).toEqual([
			'Account.Industry',
		]);
		expect(
			relatedRecordReferences(
				"Id NOT IN (SELECT ContactId FROM CampaignMember WHERE Campaign.Name = 'x') AND Owner.Manager.Email != null",
			),
		).toEqual(['a subquery on CampaignMember', 'Campaign.Name', 'Owner.Manager.Email']);
	});

	it('ignores dots in literals, numbers and datetimes', () => {
		expect(
			relatedRecordReferences(
				"Name = 'Acme.Inc' AND Score__c > 1.5 AND CreatedDate > 2026-01-01T00:00:00.000Z",
			),
		).toEqual([]);
		expect(relatedRecordReferences(undefined)).toEqual([]);
	});

	it('on CampaignMember, counts the fields it takes from the Contact or Lead', () => {
		expect(relatedRecordReferences("Email != null AND Status = 'Sent'", 'CampaignMember')).toEqual([
			'Email',
		]);
		expect(relatedRecordReferences('Email != null', 'Contact')).toEqual([]);
	});
});

describe('resolveSegmentDefinition: full reads', () => {
	it('reads only changes when nothing depends on time or on other records', () => {
		const segment = resolveSegmentDefinition(
			contacts("Trial_Status__c = 'Trial'", { fields: { attributes: { plan: 'Plan__c' } } }),
		);
		expect(segment.alwaysFull).toBe(false);
		expect(segment.fullReadReason).toBeUndefined();
	});

	it.each([
		['a relative date', contacts('Trial_End__c <= NEXT_N_DAYS:3'), /relative date literal/],
		[
			'a parent field in the condition',
			contacts("Account.Industry = 'Technology'"),
			/condition reads related records \(Account\.Industry\)/,
		],
		[
			'a subquery',
			contacts("Id IN (SELECT ContactId FROM CampaignMember WHERE Status = 'Responded')"),
			/condition reads related records \(a subquery on CampaignMember\)/,
		],
		[
			'a mapped parent field',
			contacts(undefined, { fields: { attributes: { company: 'Account.Name' } } }),
			/mapped fields read related records \(Account\.Name\)/,
		],
		[
			"a Campaign member's Email and Phone (from its Contact or Lead)",
			{
				segmentId: 's',
				source: { kind: 'campaignMembers', campaignId: '701000000000001AAA' },
			} satisfies SegmentDefinition,
			/mapped fields read related records \(Email, Phone\)/,
		],
	])('reads the whole segment every sync for %s, saying why', (_, definition, reason) => {
		const segment = resolveSegmentDefinition(definition);
		expect(segment.alwaysFull).toBe(true);
		expect(segment.fullReadReason).toMatch(reason);
		const changesOnly = resolveSegmentDefinition({ ...definition, fullResync: 'changesOnly' });
		expect(changesOnly.alwaysFull).toBe(false);
	});
});
