/**
 * Comparing a variant's conversion rate with the control group's: the difference of two
 * independent proportions, with Newcombe's hybrid score interval (Newcombe 1998, "Interval
 * estimation for the difference between independent proportions", method 10: Wilson score
 * intervals of each rate, combined) and the two-sided p-value of the pooled two-proportion
 * z-test. Pure functions: no store, no randomness.
 */

/** z for a two-sided 95% interval: the 0.975 quantile of the standard normal distribution. */
export const Z_95 = 1.959963984540054;

export const INTERVAL_METHOD = "Newcombe's hybrid score interval (Wilson scores), 95%";
export const TEST_METHOD = 'two-proportion z-test (pooled), two-sided';

/**
 * The z-test's normal approximation needs enough conversions and non-conversions in each
 * group: at least this many expected under the pooled rate (the usual rule of thumb).
 */
export const MIN_EXPECTED_COUNT = 5;

export interface Interval {
	lower: number;
	upper: number;
}

/** Wilson's score interval for `successes` of `n`; [0, 1] when n is 0. */
export function wilsonInterval(successes: number, n: number, z = Z_95): Interval {
	if (n <= 0) return { lower: 0, upper: 1 };
	const p = successes / n;
	const z2 = z * z;
	const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
	const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
	// At 0 or n successes the bound is exactly 0 or 1; rounding would put it a hair inside.
	return {
		lower: successes === 0 ? 0 : Math.max(0, centre - half),
		upper: successes === n ? 1 : Math.min(1, centre + half),
	};
}

/**
 * The complementary error function, with fractional error below 1.2e-7 everywhere
 * (Chebyshev fit of Numerical Recipes, `erfcc`): accurate for the small tail areas of p-values.
 */
export function erfc(x: number): number {
	const z = Math.abs(x);
	const t = 1 / (1 + 0.5 * z);
	const r =
		t *
		Math.exp(
			-z * z -
				1.26551223 +
				t *
					(1.00002368 +
						t *
							(0.37409196 +
								t *
									(0.09678418 +
										t *
											(-0.18628806 +
												t *
													(0.27886807 +
														t *
															(-1.13520398 +
																t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
		);
	return x >= 0 ? r : 2 - r;
}

/** P(|Z| >= |z|) for a standard normal Z. */
export function twoSidedPValue(z: number): number {
	return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

export interface ProportionComparison {
	/** Conversion rates: the variant's and the control group's. */
	rate: number;
	controlRate: number;
	/** Absolute lift: rate − controlRate (0.05 is 5 percentage points). */
	lift: number;
	/** 95% interval of the lift. */
	interval: Interval;
	/** Relative lift: lift / controlRate; null when the control rate is 0. */
	relativeLift: number | null;
	/** Two-sided p-value of "no difference"; null when either group is empty. */
	pValue: number | null;
	z: number | null;
	/** False when a group is empty or the normal approximation does not hold (see MIN_EXPECTED_COUNT). */
	enoughData: boolean;
	/** What the numbers say, in words. */
	verdict:
		| 'too small to tell'
		| 'higher than control'
		| 'lower than control'
		| 'no clear difference';
	intervalMethod: string;
	testMethod: string;
}

/**
 * A variant (`converted` of `n`) against control (`controlConverted` of `controlN`).
 * The lift is significant at 5% when the interval excludes 0; the verdict follows the
 * interval, and the p-value is given beside it (the two agree but for borderline cases).
 */
export function compareProportions(
	converted: number,
	n: number,
	controlConverted: number,
	controlN: number,
): ProportionComparison {
	for (const [name, value] of Object.entries({ converted, n, controlConverted, controlN })) {
		if (!Number.isSafeInteger(value) || value < 0)
			throw new RangeError(`${name} must be a whole number of at least 0, not ${value}.`);
	}
	if (converted > n || controlConverted > controlN)
		throw new RangeError('converted cannot exceed the group size.');
	const rate = n > 0 ? converted / n : 0;
	const controlRate = controlN > 0 ? controlConverted / controlN : 0;
	const lift = rate - controlRate;
	const own = wilsonInterval(converted, n);
	const control = wilsonInterval(controlConverted, controlN);
	const interval = {
		lower: lift - Math.sqrt((rate - own.lower) ** 2 + (control.upper - controlRate) ** 2),
		upper: lift + Math.sqrt((own.upper - rate) ** 2 + (controlRate - control.lower) ** 2),
	};
	let z: number | null = null;
	let pValue: number | null = null;
	let enoughData = false;
	if (n > 0 && controlN > 0) {
		const pooled = (converted + controlConverted) / (n + controlN);
		const se = Math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / controlN));
		z = se > 0 ? lift / se : 0;
		pValue = se > 0 ? twoSidedPValue(z) : 1;
		enoughData = [n, controlN].every(
			(size) => size * pooled >= MIN_EXPECTED_COUNT && size * (1 - pooled) >= MIN_EXPECTED_COUNT,
		);
	}
	const verdict: ProportionComparison['verdict'] = !enoughData
		? 'too small to tell'
		: interval.lower > 0
			? 'higher than control'
			: interval.upper < 0
				? 'lower than control'
				: 'no clear difference';
	return {
		rate,
		controlRate,
		lift,
		interval,
		relativeLift: controlRate > 0 ? lift / controlRate : null,
		pValue,
		z,
		enoughData,
		verdict,
		intervalMethod: INTERVAL_METHOD,
		testMethod: TEST_METHOD,
	};
}
