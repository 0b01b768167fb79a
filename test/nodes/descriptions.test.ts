/**
 * What n8n's editor shows of the package's nodes before any of them runs: names, canvas
 * subtitles, placeholders, icons, the actions of the nodes panel. The editor itself is checked
 * in test/e2e/editor.e2e.test.ts; these rules hold for every node and every option, which a
 * browser test cannot walk through.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
	NodeHelpers,
	type IDataObject,
	Workflow,
	type INode,
	type INodeParameters,
	type INodeProperties,
	type INodePropertyCollection,
	type INodePropertyOptions,
	type INodeType,
	type INodeTypes,
} from 'n8n-workflow';

import { CampaignDelay } from '../../nodes/CampaignDelay/CampaignDelay.node';
import { CampaignEventTrigger } from '../../nodes/CampaignEventTrigger/CampaignEventTrigger.node';
import { CampaignResumeTrigger } from '../../nodes/CampaignResumeTrigger/CampaignResumeTrigger.node';
import { CampaignStore } from '../../nodes/CampaignStore/CampaignStore.node';
import { ExceptionCheck } from '../../nodes/ExceptionCheck/ExceptionCheck.node';
import { FrequencyCap } from '../../nodes/FrequencyCap/FrequencyCap.node';
import { SalesforceCampaignActivity } from '../../nodes/SalesforceCampaignActivity/SalesforceCampaignActivity.node';
import { SalesforceSegmentTrigger } from '../../nodes/SalesforceSegmentTrigger/SalesforceSegmentTrigger.node';
import { SendMessage } from '../../nodes/SendMessage/SendMessage.node';

const PACKAGE = 'n8n-nodes-triggered-campaigns';
const NODE_TYPES: INodeType[] = [
	new CampaignEventTrigger(),
	new CampaignResumeTrigger(),
	new CampaignStore(),
	new CampaignDelay(),
	new ExceptionCheck(),
	new FrequencyCap(),
	new SendMessage(),
	new SalesforceSegmentTrigger(),
	new SalesforceCampaignActivity(),
];
const byName = (name: string) => NODE_TYPES.find((type) => type.description.name === name)!;
const versionsOf = (type: INodeType) => [type.description.version].flat();

/** A node of `type` as the editor holds it: the parameters given, defaults filled in. */
function editorNode(type: INodeType, parameters: INodeParameters, typeVersion: number): INode {
	const description = type.description;
	const node: INode = {
		id: 'node-1',
		name: String(description.defaults.name),
		type: `${PACKAGE}.${description.name}`,
		typeVersion,
		position: [0, 0],
		parameters: {},
	};
	node.parameters =
		NodeHelpers.getNodeParameters(
			description.properties,
			parameters,
			true,
			false,
			node,
			description,
		) ?? {};
	return node;
}

function workflowOf(type: INodeType, node: INode): Workflow {
	const nodeTypes = {
		getByName: () => type,
		getByNameAndVersion: () => type,
		getKnownTypes: () => ({}),
	} as unknown as INodeTypes;
	return new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
}

/** The canvas subtitle, evaluated as n8n's editor does (NodeHelpers / useNodeHelpers.getNodeSubtitle). */
function subtitleOf(type: INodeType, parameters: INodeParameters, typeVersion: number): string {
	const subtitle = type.description.subtitle;
	if (subtitle === undefined) return '';
	const node = editorNode(type, parameters, typeVersion);
	return String(
		workflowOf(type, node).expression.getSimpleParameterValue(
			node,
			subtitle,
			'internal',
			{},
			undefined,
			'',
		),
	);
}

/** Every parameter, nested ones (collections, fixed collections) included. */
function allProperties(properties: INodeProperties[]): INodeProperties[] {
	return properties.flatMap((property) => [
		property,
		...(property.options ?? []).flatMap((option) => {
			if ('values' in option) return allProperties((option as INodePropertyCollection).values);
			if ('displayName' in option && 'type' in option) return allProperties([option]);
			return [];
		}),
	]);
}

describe('names on the canvas', () => {
	test.each(NODE_TYPES.map((type) => [type.description.displayName, type]))(
		'%s: a new node is named as in the nodes panel, with the campaign or Salesforce in its name',
		(_name, type) => {
			const { defaults, displayName } = type.description;
			expect(defaults.name).toBe(displayName);
			// Beside n8n's own "Send Email" or "Wait", a bare "Send Message" or "Frequency Cap"
			// does not say which package it belongs to.
			expect(displayName).toMatch(/^(Campaign|Salesforce) /);
		},
	);

	it('keeps the node type names that saved workflows refer to', () => {
		expect(NODE_TYPES.map((type) => type.description.name)).toEqual([
			'campaignEventTrigger',
			'campaignResumeTrigger',
			'campaignStore',
			'campaignDelay',
			'exceptionCheck',
			'frequencyCap',
			'sendMessage',
			'salesforceSegmentTrigger',
			'salesforceCampaignActivity',
		]);
	});
});

describe('placeholders', () => {
	// n8n shows a placeholder as plain text: a leading "=" (the expression marker of a value)
	// is shown as it is, e.g. "={{ $json.userId }}".
	test.each(NODE_TYPES.map((type) => [type.description.displayName, type]))(
		'%s: no placeholder starts with "="',
		(_name, type) => {
			const withEquals = allProperties(type.description.properties)
				.filter((property) => property.placeholder?.trim().startsWith('='))
				.map((property) => `${property.name}: ${property.placeholder}`);
			expect(withEquals).toEqual([]);
		},
	);
});

describe('canvas subtitles', () => {
	it('read as words for a new node of each type', () => {
		const subtitles = Object.fromEntries(
			NODE_TYPES.flatMap((type) =>
				versionsOf(type).map((version) => [
					`${type.description.displayName} v${version}`,
					subtitleOf(type, {}, version),
				]),
			),
		);
		expect(subtitles).toEqual({
			'Campaign Event Trigger v1': 'Campaign ID not set',
			'Campaign Resume Trigger v1': 'Campaign ID not set › after-delay',
			'Campaign Store v1': 'Record Event',
			'Campaign Delay v1': '30 minutes after the event · in this execution',
			'Campaign Delay v2': '30 minutes after the event · per user → after-delay',
			'Campaign Exception Check v1': 'Exception Events not set',
			'Campaign Frequency Cap v1': 'Channel: in_app',
			'Campaign Send Message v1': 'Intercom In-App',
			'Salesforce Segment Trigger v1': 'Campaign ID not set',
			'Salesforce Segment Trigger v2': 'Campaign ID not set',
			'Salesforce Campaign Activity v1': 'Log a Task on the Contact or Lead',
		});
	});

	it('name the settings chosen', () => {
		expect(subtitleOf(byName('campaignEventTrigger'), { campaignId: 'abandoned-cart' }, 1)).toBe(
			'Campaign: abandoned-cart',
		);
		expect(
			subtitleOf(
				byName('campaignResumeTrigger'),
				{ campaignId: 'trial', resumePoint: 'morning' },
				1,
			),
		).toBe('Campaign: trial › morning');
		expect(subtitleOf(byName('campaignStore'), { operation: 'upsertProfile' }, 1)).toBe(
			'Upsert Profile',
		);
		expect(subtitleOf(byName('campaignDelay'), { mode: 'untilDate', offsetAmount: -3 }, 2)).toBe(
			'Until the date -3 days · per user → after-delay',
		);
		expect(
			subtitleOf(
				byName('campaignDelay'),
				{ mode: 'nextWindow', waitHow: 'inExecution', windowStart: '09:00', windowEnd: '12:00' },
				2,
			),
		).toBe('Until 09:00–12:00 local time · in this execution');
		expect(subtitleOf(byName('exceptionCheck'), { exceptionEvents: 'Order Completed' }, 1)).toBe(
			'Exit on Order Completed',
		);
		expect(subtitleOf(byName('sendMessage'), { channel: 'http' }, 1)).toBe('HTTP');
		expect(
			subtitleOf(byName('sendMessage'), { channel: 'intercom', intercomMessageType: 'email' }, 1),
		).toBe('Intercom Email');
	});

	// The option values a subtitle reads are shown by their display names, whatever is chosen.
	test.each(NODE_TYPES.map((type) => [type.description.displayName, type]))(
		'%s: every option a subtitle reads is shown by its name, never its value',
		(_name, type) => {
			const subtitle = String(type.description.subtitle ?? '');
			const read = [...subtitle.matchAll(/\$parameter\["(\w+)"\]/g)].map((match) => match[1]);
			const optionParameters = type.description.properties.filter(
				(property) => read.includes(property.name) && property.type === 'options',
			);
			for (const version of versionsOf(type)) {
				for (const parameter of optionParameters) {
					for (const option of parameter.options as INodePropertyOptions[]) {
						const shown = subtitleOf(type, { [parameter.name]: option.value }, version);
						expect(shown).not.toBe('');
						expect(shown).not.toMatch(/:\s*$/);
						// Values such as afterEvent or recordEvent: camelCase never reaches the canvas.
						expect(shown).not.toMatch(/\b[a-z]+[A-Z]\w*/);
						if (String(option.value) !== option.name.toLowerCase())
							expect(shown.split(/[\s·→›:]+/)).not.toContain(String(option.value));
					}
				}
			}
		},
	);
});

describe('the nodes panel', () => {
	/**
	 * n8n 2.41's rule for the actions listed under a node in the nodes panel and their trigger
	 * mark, from packages/frontend/editor-ui (useActionsGeneration: operationsCategory,
	 * resourceCategories; NodeCreator ActionItem.vue: isTriggerAction): the options of an
	 * `operation` parameter become actions unless the node has a `resource` parameter, whose
	 * options then give them; an action is marked as a trigger when its node type's name contains
	 * "trigger" (which "n8n-nodes-triggered-campaigns" always does).
	 */
	function panelActions(type: INodeType): Array<{ name: string; trigger: boolean }> {
		const { properties } = type.description;
		const typeName = `${PACKAGE}.${type.description.name}`;
		const trigger = typeName.toLowerCase().includes('trigger');
		const resource = properties.find((property) => property.name === 'resource');
		if (resource) {
			return ((resource.options ?? []) as INodePropertyOptions[]).flatMap((option) => {
				const operations = properties.find(
					(property) =>
						property.name === 'operation' &&
						(property.displayOptions?.show?.resource as unknown[] | undefined)?.includes(
							option.value,
						),
				);
				return ((operations?.options ?? []) as INodePropertyOptions[]).map((operation) => ({
					name: operation.action ?? operation.name,
					trigger,
				}));
			});
		}
		const operation = properties.find((property) => property.name.toLowerCase() === 'operation');
		return ((operation?.options ?? []) as INodePropertyOptions[]).map((option) => ({
			name: option.action ?? option.name,
			trigger,
		}));
	}

	test.each(
		NODE_TYPES.filter((type) => !type.description.group.includes('trigger')).map((type) => [
			type.description.displayName,
			type,
		]),
	)('%s: no action is marked as a trigger', (_name, type) => {
		expect(panelActions(type).filter((action) => action.trigger)).toEqual([]);
	});

	it('lets Campaign Store be added as one node whose Operation is chosen in its panel', () => {
		const store = byName('campaignStore');
		expect(panelActions(store)).toEqual([]);
		const operation = store.description.properties.find(
			(property) => property.name === 'operation',
		);
		expect((operation?.options as INodePropertyOptions[]).map((option) => option.name)).toEqual([
			'Dry Run',
			'Erase User',
			'Export User Data',
			'Get Profile',
			'Get Timeline',
			'Record Event',
			'Upsert Profile',
		]);
	});
});

describe('icons', () => {
	test.each(NODE_TYPES.map((type) => [type.description.displayName, type]))(
		'%s has a light and a dark SVG icon in its folder',
		(_name, type) => {
			const icon = type.description.icon as { light: string; dark: string };
			const folder = join(
				__dirname,
				'../../nodes',
				type.description.name.charAt(0).toUpperCase() + type.description.name.slice(1),
			);
			for (const file of [icon.light, icon.dark]) {
				expect(file).toMatch(/^file:\w+(\.dark)?\.svg$/);
				const path = join(folder, file.slice('file:'.length));
				expect(existsSync(path)).toBe(true);
				expect(readFileSync(path, 'utf8')).toMatch(/^<svg [^>]*viewBox="0 0 64 64"/);
			}
		},
	);

	it("the Exception Check's icon is not a warning triangle, which reads as n8n's own error marker", () => {
		const svg = readFileSync(
			join(__dirname, '../../nodes/ExceptionCheck/exceptionCheck.svg'),
			'utf8',
		);
		// The old icon: a triangle path with an exclamation mark (a stroke and a dot).
		expect(svg).not.toMatch(/<path d="M32 4 60 56H4z"/);
		expect(svg).not.toMatch(/<circle cx="32" cy="47"/);
	});
});

describe('Campaign Delay: the default Date', () => {
	/** Evaluates the parameter's default for one item as n8n does when it runs (and previews) it. */
	function defaultDateFor(json: IDataObject): unknown {
		const delay = byName('campaignDelay');
		const node = editorNode(delay, { mode: 'untilDate' }, 2);
		const workflow = workflowOf(delay, node);
		return workflow.expression.getParameterValue(
			node.parameters.date as string,
			null,
			0,
			0,
			node.name,
			[{ json }],
			'manual',
			{},
		);
	}

	it('reads the profile attribute trialEndsAt', () => {
		expect(defaultDateFor({ profile: { attributes: { trialEndsAt: '2026-03-19' } } })).toBe(
			'2026-03-19',
		);
	});

	// The editor's expression preview shows a value that resolves to undefined in red, as an error
	// (useExpressionEditor / ParameterInputList: `resolved === undefined` → error).
	it('is empty, not undefined, on an item without a profile', () => {
		expect(defaultDateFor({ userId: 'u1', profile: null })).toBe('');
		expect(defaultDateFor({ userId: 'u1' })).toBe('');
		expect(defaultDateFor({ userId: 'u1', profile: { attributes: {} } })).toBe('');
	});
});
