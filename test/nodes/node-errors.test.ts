import { NodeApiError, NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import { FrequencyCap } from '../../nodes/FrequencyCap/FrequencyCap.node';
import { itemError, toNodeError } from '../../nodes/shared/node-errors';
import { CampaignError, InvalidInputError } from '../../src';
import { fakeContext } from './fake-context';

const contextFor = (continueOnFail = false) =>
	fakeContext({ nodeType: new FrequencyCap(), parameters: {}, continueOnFail })
		.context as unknown as IExecuteFunctions;

/** A Salesforce API error as the engine throws it: a code, the HTTP status and the SOQL. */
class SalesforceQueryError extends CampaignError {
	readonly status = 400;
	readonly soql = 'SELECT Id FROM Lead WHERE Bad__c = 1';
	constructor() {
		super('salesforce_query', 'No such column Bad__c on entity Lead');
	}
}

describe('toNodeError: engine errors as n8n shows them', () => {
	it("names the parameter of an invalid setting, with the node's prefix", () => {
		const error = toNodeError(contextFor(), new InvalidInputError('source.where', 'is empty.'), {
			settings: 'Segment settings',
			fieldLabels: { 'source.': 'Condition (SOQL WHERE)' },
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toBe('Segment settings: source.where: is empty.');
		expect(error.description).toBe('Check the "Condition (SOQL WHERE)" parameter.');
	});

	it("names the item's field when no parameter label applies", () => {
		const error = toNodeError(contextFor(), new InvalidInputError('userId', 'is missing.'), {
			itemIndex: 3,
		});
		expect(error.message).toBe('userId: is missing.');
		expect(error.description).toBe('Check "userId" of item 3.');
	});

	it("keeps a Salesforce API error's HTTP status, and explains a rejected query", () => {
		const error = toNodeError(contextFor(), new SalesforceQueryError(), {
			queryDescription: 'Check the condition.',
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('No such column Bad__c on entity Lead');
		expect((error as NodeApiError).httpCode).toBe('400');
		expect(error.description).toBe('Check the condition.');
	});

	it("passes n8n's own errors through, and wraps anything else", () => {
		const context = contextFor();
		const own = new NodeOperationError(context.getNode(), 'already mapped');
		expect(toNodeError(context, own)).toBe(own);
		const other = toNodeError(context, new Error('disk full'));
		expect(other).toBeInstanceOf(NodeOperationError);
		expect(other.message).toBe('disk full');
	});

	it('gives an error item with "continue on fail", and fails the node without', () => {
		const input = { json: { userId: 'u1' } };
		const bad = new InvalidInputError('campaignId', 'is missing.');
		expect(itemError(contextFor(true), bad, 2, input)).toEqual({
			json: { userId: 'u1', error: 'campaignId: is missing.' },
			pairedItem: { item: 2 },
		});
		expect(() => itemError(contextFor(false), bad, 2, input)).toThrow(NodeOperationError);
	});
});
