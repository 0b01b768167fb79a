'use strict';
/**
 * The least a webhook trigger can do in n8n, as the baseline of `npm run bench:e2e`: it answers
 * 202 with the number of events, and for a batch (`{"batch": [...]}`) starts one execution whose
 * items are the batch's events as sent. A single event starts no execution. It checks nothing and
 * records nothing; plain JavaScript, so that it needs no build.
 */
class MinimalTrigger {
	constructor() {
		this.description = {
			displayName: 'Bench Minimal Trigger',
			name: 'benchMinimalTrigger',
			icon: 'fa:bolt',
			group: ['trigger'],
			version: 1,
			description: 'Answers webhook requests; a batch starts one execution of its events',
			defaults: { name: 'Bench Minimal Trigger' },
			inputs: [],
			outputs: ['main'],
			webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'events' }],
			properties: [],
		};
	}

	async webhook() {
		const body = this.getBodyData();
		const response = this.getResponseObject();
		if (Array.isArray(body.batch)) {
			response.status(202).json({ accepted: body.batch.length });
			return { noWebhookResponse: true, workflowData: [this.helpers.returnJsonArray(body.batch)] };
		}
		response.status(202).json({ accepted: 1 });
		return { noWebhookResponse: true };
	}
}

module.exports = { MinimalTrigger };
