import { createHash } from 'node:crypto';

import { InvalidInputError } from '../errors';

export interface VariantWeight {
	name: string;
	/** Relative: weights 1 and 3 split the non-control users 25% / 75%. */
	weight: number;
}

export interface VariantAssignmentInput {
	campaignId: string;
	userId: string;
	/** In order: the order decides which stretch of the range each variant gets. */
	variants: VariantWeight[];
	/** Share of users held out as control, 0..1. */
	controlShare: number;
}

export type VariantChoice = { kind: 'control' } | { kind: 'variant'; name: string };

/**
 * Where a (campaign, user) pair falls in [0, 1): the first 52 bits of
 * sha256(JSON `[campaignId, userId]`) over 2^52. A pure function of the two ids, so the same
 * on every process, worker and re-entry; JSON keeps `("a:b", "c")` apart from `("a", "b:c")`.
 * Because the campaign id is hashed with the user id, one user's positions in two campaigns
 * are independent.
 */
export function assignmentPosition(campaignId: string, userId: string): number {
	const digest = createHash('sha256')
		.update(JSON.stringify([campaignId, userId]))
		.digest();
	// 52 bits: 4 bytes high and 20 bits low fit a double exactly.
	const high = digest.readUInt32BE(0);
	const low = digest.readUInt32BE(4) >>> 12;
	return (high * 2 ** 20 + low) / 2 ** 52;
}

/** Checks the variants and control share; errors name the field, e.g. `variants[1].weight`. */
export function validateVariants(variants: VariantWeight[], controlShare: number): void {
	if (typeof controlShare !== 'number' || !Number.isFinite(controlShare)) {
		throw new InvalidInputError(
			'controlShare',
			`must be a number from 0 to 1 (got ${String(controlShare)}).`,
		);
	}
	if (controlShare < 0 || controlShare > 1) {
		throw new InvalidInputError('controlShare', `must be from 0 to 1 (got ${controlShare}).`);
	}
	if (!Array.isArray(variants) || variants.length === 0) {
		throw new InvalidInputError('variants', 'must have at least one variant.');
	}
	const names = new Set<string>();
	let total = 0;
	variants.forEach((variant, i) => {
		const name = typeof variant?.name === 'string' ? variant.name.trim() : '';
		if (!name)
			throw new InvalidInputError(`variants[${i}].name`, 'is empty; give each variant a name.');
		if (names.has(name)) {
			throw new InvalidInputError(
				`variants[${i}].name`,
				`"${name}" is used by another variant; variant names must be unique.`,
			);
		}
		names.add(name);
		const weight = variant.weight;
		if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
			throw new InvalidInputError(
				`variants[${i}].weight`,
				`must be a number of 0 or more (got ${String(weight)}).`,
			);
		}
		total += weight;
	});
	if (total <= 0) {
		throw new InvalidInputError(
			'variants',
			'all weights are 0; give at least one variant a weight above 0.',
		);
	}
}

/**
 * Which variant a user gets in a campaign, or the control group. Sticky: the user's position
 * ({@link assignmentPosition}) depends on the ids only; `[0, controlShare)` is control and
 * the rest of the range is cut into consecutive stretches, one per variant in order, sized by
 * weight. Variant names are compared after trimming and returned trimmed.
 *
 * Changing the configuration moves only the users between the old and new cut points: going
 * from A 50 / B 50 to A 60 / B 40 moves the 10% of users just past the old A|B cut from B to
 * A and nobody else. The share of users moved is the sum of how far the cut points move, so
 * keep the variant order when editing weights; inserting or removing a variant shifts the
 * cut points after it, and changing the control share rescales every variant's stretch.
 */
export function assignVariant(input: VariantAssignmentInput): VariantChoice {
	const { campaignId, userId, variants, controlShare } = input;
	if (typeof campaignId !== 'string' || campaignId === '') {
		throw new InvalidInputError('campaignId', 'is empty.');
	}
	if (typeof userId !== 'string' || userId === '') {
		throw new InvalidInputError('userId', 'is empty.');
	}
	validateVariants(variants, controlShare);
	const position = assignmentPosition(campaignId, userId);
	if (position < controlShare) return { kind: 'control' };
	const total = variants.reduce((sum, variant) => sum + variant.weight, 0);
	// Where the position falls among the weights, with the control stretch cut off.
	const target = ((position - controlShare) / (1 - controlShare)) * total;
	let cumulative = 0;
	let last = 0;
	for (let i = 0; i < variants.length; i++) {
		if (variants[i].weight <= 0) continue;
		last = i;
		cumulative += variants[i].weight;
		if (target < cumulative) return { kind: 'variant', name: variants[i].name.trim() };
	}
	// Rounding at the very top of the range: the last variant with a weight.
	return { kind: 'variant', name: variants[last].name.trim() };
}
