import { InvalidInputError } from '../../src/errors';
import {
	assignmentPosition,
	assignVariant,
	type VariantAssignmentInput,
	type VariantChoice,
} from '../../src/send/variants';

/** Checked independently: sha256 positions 0.7785, 0.7144, 0.7497, 0.4181, 0.8526, 0.7782, 0.3189, 0.5859. */
const PINNED = ['C', 'B', 'B', 'B', 'C', 'C', 'A', 'B'];
const USERS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
const label = (choice: VariantChoice): string =>
	choice.kind === 'control' ? 'control' : choice.name;

function shares(input: Omit<VariantAssignmentInput, 'userId'>): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const userId of USERS) {
		const name = label(assignVariant({ ...input, userId }));
		counts[name] = (counts[name] ?? 0) + 1;
	}
	return Object.fromEntries(Object.entries(counts).map(([name, n]) => [name, n / USERS.length]));
}

/** Fails with the real shares printed. */
function expectShares(
	actual: Record<string, number>,
	expected: Record<string, number>,
	tolerance: number,
) {
	const report = Object.keys(expected)
		.map(
			(name) =>
				`${name}: ${(100 * (actual[name] ?? 0)).toFixed(2)}% (want ${(100 * expected[name]).toFixed(2)}%)`,
		)
		.join(', ');
	expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
	for (const name of Object.keys(expected)) {
		if (Math.abs((actual[name] ?? 0) - expected[name]) > tolerance) {
			throw new Error(`share of ${name} is off by more than ${100 * tolerance} points: ${report}`);
		}
	}
}

function expectInvalid(input: Partial<VariantAssignmentInput>, field: string, message: RegExp) {
	const full: VariantAssignmentInput = {
		campaignId: 'cart',
		userId: 'u-1',
		variants: [{ name: 'A', weight: 1 }],
		controlShare: 0,
		...input,
	};
	let caught: unknown;
	try {
		assignVariant(full);
	} catch (error) {
		caught = error;
	}
	expect(caught).toBeInstanceOf(InvalidInputError);
	expect((caught as InvalidInputError).field).toBe(field);
	expect((caught as InvalidInputError).message).toMatch(message);
}

describe('assignmentPosition', () => {
	it('is a fixed number in [0, 1) for the ids, the same in every process', () => {
		// sha256('["cart","user-1"]') starts with these 52 bits; pinned so that a change of the
		// hashing (which would move every user) cannot go unnoticed.
		const position = assignmentPosition('cart', 'user-1');
		expect(position).toBe(assignmentPosition('cart', 'user-1'));
		expect(position).toBeGreaterThanOrEqual(0);
		expect(position).toBeLessThan(1);
		const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
		const hex = createHash('sha256').update('["cart","user-1"]').digest('hex').slice(0, 13);
		expect(position).toBe(parseInt(hex, 16) / 2 ** 52);
		// The separator cannot be forged by the ids.
		expect(assignmentPosition('a:b', 'c')).not.toBe(assignmentPosition('a', 'b:c'));
	});
});

describe('assignVariant', () => {
	const variants = [
		{ name: 'A', weight: 1 },
		{ name: 'B', weight: 2 },
		{ name: 'C', weight: 1 },
	];

	it('over 10,000 users, control and each variant get their share within 1 point', () => {
		expectShares(
			shares({ campaignId: 'cart', variants, controlShare: 0.1 }),
			{ control: 0.1, A: 0.225, B: 0.45, C: 0.225 },
			0.01,
		);
		expectShares(
			shares({ campaignId: 'welcome', variants: [{ name: 'only', weight: 5 }], controlShare: 0.5 }),
			{ control: 0.5, only: 0.5 },
			0.01,
		);
		expectShares(
			shares({ campaignId: 'promo', variants, controlShare: 0 }),
			{ A: 0.25, B: 0.5, C: 0.25 },
			0.01,
		);
	});

	it('gives nobody a variant of weight 0 and everybody control at 1', () => {
		expectShares(
			shares({
				campaignId: 'cart',
				variants: [
					{ name: 'A', weight: 0 },
					{ name: 'B', weight: 3 },
				],
				controlShare: 0.2,
			}),
			{ control: 0.2, B: 0.8 },
			0.01,
		);
		expectShares(shares({ campaignId: 'cart', variants, controlShare: 1 }), { control: 1 }, 0);
	});

	it('always gives the same user the same variant', () => {
		for (const userId of USERS.slice(0, 500)) {
			const first = assignVariant({ campaignId: 'cart', userId, variants, controlShare: 0.1 });
			for (let again = 0; again < 3; again++) {
				expect(
					assignVariant({
						campaignId: 'cart',
						userId,
						variants: variants.map((v) => ({ ...v })),
						controlShare: 0.1,
					}),
				).toEqual(first);
			}
		}
		// Pinned examples, as in any other process.
		expect(
			USERS.slice(0, 8).map((userId) =>
				label(assignVariant({ campaignId: 'cart', userId, variants, controlShare: 0.1 })),
			),
		).toEqual(PINNED);
	});

	it("a user's assignments in two campaigns are independent", () => {
		const ab = [
			{ name: 'A', weight: 1 },
			{ name: 'B', weight: 1 },
		];
		const joint: Record<string, number> = {};
		for (const userId of USERS) {
			const first = label(
				assignVariant({ campaignId: 'cart', userId, variants: ab, controlShare: 0 }),
			);
			const second = label(
				assignVariant({ campaignId: 'welcome', userId, variants: ab, controlShare: 0 }),
			);
			joint[`${first}${second}`] = (joint[`${first}${second}`] ?? 0) + 1 / USERS.length;
		}
		// Independent halves: each pair a quarter (the same split in both would give AA and BB half each).
		expectShares(joint, { AA: 0.25, AB: 0.25, BA: 0.25, BB: 0.25 }, 0.015);
	});

	it('a weight change moves only the users between the old and the new cut point', () => {
		const before = [
			{ name: 'A', weight: 50 },
			{ name: 'B', weight: 50 },
		];
		const after = [
			{ name: 'A', weight: 60 },
			{ name: 'B', weight: 40 },
		];
		let moved = 0;
		for (const userId of USERS) {
			const old = label(
				assignVariant({ campaignId: 'cart', userId, variants: before, controlShare: 0 }),
			);
			const now = label(
				assignVariant({ campaignId: 'cart', userId, variants: after, controlShare: 0 }),
			);
			if (old === now) continue;
			moved++;
			// Only from B to A, and only users just past the old cut.
			expect([old, now]).toEqual(['B', 'A']);
			const position = assignmentPosition('cart', userId);
			expect(position >= 0.5 && position < 0.6).toBe(true);
		}
		const share = moved / USERS.length;
		if (Math.abs(share - 0.1) > 0.01)
			throw new Error(`moved ${(100 * share).toFixed(2)}% of users, want 10%`);
	});

	it('rejects bad configuration naming the field', () => {
		expectInvalid({ controlShare: 1.5 }, 'controlShare', /must be from 0 to 1 \(got 1.5\)/);
		expectInvalid({ controlShare: -0.1 }, 'controlShare', /must be from 0 to 1/);
		expectInvalid({ controlShare: Number.NaN }, 'controlShare', /must be a number from 0 to 1/);
		expectInvalid({ variants: [] }, 'variants', /at least one variant/);
		expectInvalid(
			{
				variants: [
					{ name: 'A', weight: 1 },
					{ name: 'B', weight: -1 },
				],
			},
			'variants[1].weight',
			/must be a number of 0 or more \(got -1\)/,
		);
		expectInvalid(
			{
				variants: [
					{ name: 'A', weight: 0 },
					{ name: 'B', weight: 0 },
				],
			},
			'variants',
			/all weights are 0/,
		);
		expectInvalid(
			{
				variants: [
					{ name: 'A', weight: 1 },
					{ name: 'B', weight: 1 },
					{ name: ' A ', weight: 1 },
				],
			},
			'variants[2].name',
			/"A" is used by another variant/,
		);
		expectInvalid({ variants: [{ name: ' ', weight: 1 }] }, 'variants[0].name', /is empty/);
		expectInvalid({ campaignId: '' }, 'campaignId', /is empty/);
		expectInvalid({ userId: '' }, 'userId', /is empty/);
	});
});
