import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

/**
 * The Send Message's A/B/n variants and control group: their parameters and their one reader,
 * shared with the Campaign Store's Dry Run, which tells which variant a user would get.
 */
export const variantsProperty: INodeProperties = {
	displayName: 'Variants',
	name: 'variants',
	type: 'fixedCollection',
	typeOptions: { multipleValues: true, sortable: true },
	default: {},
	placeholder: 'Add Variant',
	description:
		'A/B/n test: each user gets one variant, by weight, always the same one for this campaign. Empty: everyone gets Body.',
	options: [
		{
			displayName: 'Variant',
			name: 'variant',
			values: [
				{ displayName: 'Author (Admin ID)', name: 'authorId', type: 'string', default: '' },
				{
					displayName: 'Body',
					name: 'body',
					type: 'string',
					typeOptions: { rows: 3 },
					default: '',
				},
				{
					displayName: 'Headline',
					name: 'headline',
					type: 'string',
					default: '',
					description:
						'Intercom: a heading above the body. HTTP: {{ message.headline }} in the Body Template.',
				},
				{
					displayName: 'Image URL',
					name: 'imageUrl',
					type: 'string',
					default: '',
					placeholder: 'https://cdn.example.com/cart.png',
					description:
						'Intercom: an image above the body (https://). HTTP: {{ message.imageUrl }} in the Body Template.',
				},
				{ displayName: 'Name', name: 'name', type: 'string', default: 'A' },
				{ displayName: 'Subject', name: 'subject', type: 'string', default: '' },
				{
					displayName: 'Weight',
					name: 'weight',
					type: 'number',
					typeOptions: { minValue: 0 },
					default: 1,
				},
			],
		},
	],
};

/** Control Group (%), an option of the Send Message's Options collection. */
export const controlPercentOption: INodeProperties = {
	displayName: 'Control Group (%)',
	name: 'controlPercent',
	type: 'number',
	typeOptions: { minValue: 0, maxValue: 100 },
	default: 0,
	description:
		'Share of users who are never sent this message, to measure its effect; they leave on Control',
};

/** A variant as the Send Message renders it; an empty Body or Subject falls back to the node's. */
export interface Variant {
	name: string;
	weight: number;
	body: string;
	subject?: string;
	headline?: string;
	imageUrl?: string;
	authorId?: string;
}

/** The variants, or one `default` variant of the node's Body and Subject when none is given. */
export function readVariants(context: IExecuteFunctions, itemIndex: number): Variant[] {
	const given =
		((context.getNodeParameter('variants', itemIndex, {}) as IDataObject).variant as
			| IDataObject[]
			| undefined) ?? [];
	if (given.length === 0) {
		return [
			{
				name: 'default',
				weight: 1,
				body: String(context.getNodeParameter('body', itemIndex, '')),
				subject: String(context.getNodeParameter('subject', itemIndex, '')) || undefined,
			},
		];
	}
	return given.map((variant) => ({
		name: String(variant.name ?? ''),
		weight: Number(variant.weight ?? 1),
		body: String(variant.body || context.getNodeParameter('body', itemIndex, '')),
		subject:
			String(variant.subject || context.getNodeParameter('subject', itemIndex, '')) || undefined,
		headline: String(variant.headline ?? '') || undefined,
		imageUrl: String(variant.imageUrl ?? '') || undefined,
		authorId: String(variant.authorId ?? '') || undefined,
	}));
}
