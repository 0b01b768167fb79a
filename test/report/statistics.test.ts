import {
	compareProportions,
	erfc,
	twoSidedPValue,
	wilsonInterval,
	Z_95,
} from '../../src/report/statistics';
import { seededRandom } from './seeded-random';

describe('Wilson score interval', () => {
	it('matches the published values (Newcombe 1998, Table I: 81/263)', () => {
		const interval = wilsonInterval(81, 263);
		expect(interval.lower).toBeCloseTo(0.2553, 4);
		expect(interval.upper).toBeCloseTo(0.3662, 4);
	});

	it('stays inside [0, 1] at 0 and n successes, and is [0, 1] for an empty group', () => {
		expect(wilsonInterval(0, 10).lower).toBe(0);
		expect(wilsonInterval(10, 10).upper).toBe(1);
		expect(wilsonInterval(0, 0)).toEqual({ lower: 0, upper: 1 });
	});
});

describe('the normal tail', () => {
	it('gives p = 0.05 at z = 1.96 and the known tails further out', () => {
		expect(twoSidedPValue(Z_95)).toBeCloseTo(0.05, 6);
		expect(twoSidedPValue(3)).toBeCloseTo(0.0026998, 6);
		expect(twoSidedPValue(-3)).toBeCloseTo(0.0026998, 6);
		expect(erfc(0)).toBeCloseTo(1, 6);
		// Relative accuracy in the far tail: erfc(4) = 1.541725790e-8.
		expect(erfc(4) / 1.54172579e-8).toBeCloseTo(1, 5);
	});
});

describe("Newcombe's hybrid score interval for a difference", () => {
	it('matches the published examples (Newcombe 1998, Table II, method 10)', () => {
		const a = compareProportions(56, 70, 48, 80);
		expect(a.lift).toBeCloseTo(0.2, 10);
		expect(a.interval.lower).toBeCloseTo(0.0524, 4);
		expect(a.interval.upper).toBeCloseTo(0.3339, 4);
		const b = compareProportions(9, 10, 3, 10);
		expect(b.interval.lower).toBeCloseTo(0.1705, 4);
		expect(b.interval.upper).toBeCloseTo(0.809, 4);
	});

	it('names its methods and says when the sample is too small to tell', () => {
		const small = compareProportions(2, 20, 1, 20);
		expect(small.enoughData).toBe(false);
		expect(small.verdict).toBe('too small to tell');
		expect(small.intervalMethod).toMatch(/Newcombe/);
		expect(small.testMethod).toMatch(/two-proportion z-test/);
		const empty = compareProportions(0, 0, 5, 100);
		expect(empty.pValue).toBeNull();
		expect(empty.verdict).toBe('too small to tell');
	});

	it('calls a clear lift higher than control, with a p-value that agrees', () => {
		const result = compareProportions(750, 5000, 500, 5000);
		expect(result.verdict).toBe('higher than control');
		expect(result.interval.lower).toBeGreaterThan(0);
		expect(result.pValue!).toBeLessThan(0.0001);
		expect(result.relativeLift).toBeCloseTo(0.5, 10);
	});

	it('refuses counts that are not counts', () => {
		expect(() => compareProportions(5, 4, 1, 10)).toThrow(/exceed/);
		expect(() => compareProportions(1.5, 4, 1, 10)).toThrow(/converted/);
	});
});

/** One simulated experiment: 10,000 users split between variant B and control, each converting at its rate. */
function simulate(seed: number, controlRate: number, liftPoints: number) {
	const random = seededRandom(seed);
	let n = 0;
	let converted = 0;
	let controlN = 0;
	let controlConverted = 0;
	for (let user = 0; user < 10_000; user++) {
		if (random() < 0.5) {
			controlN++;
			if (random() < controlRate) controlConverted++;
		} else {
			n++;
			if (random() < controlRate + liftPoints) converted++;
		}
	}
	return compareProportions(converted, n, controlConverted, controlN);
}

describe('calibration', () => {
	it('with no planted lift, the interval covers zero in at least 95% of 200 seeded runs', () => {
		let covered = 0;
		let significant = 0;
		for (let seed = 1; seed <= 200; seed++) {
			const result = simulate(seed, 0.1, 0);
			if (result.interval.lower <= 0 && result.interval.upper >= 0) covered++;
			if (result.pValue! < 0.05) significant++;
		}
		expect(covered / 200).toBeGreaterThanOrEqual(0.95);
		// The z-test's false alarms stay near its 5% level too.
		expect(significant).toBeLessThanOrEqual(15);
	});

	it('with a planted 5-point lift, finds it in every one of 200 seeded runs, and covers it about 95% of the time', () => {
		let covered = 0;
		let found = 0;
		for (let seed = 1001; seed <= 1200; seed++) {
			const result = simulate(seed, 0.1, 0.05);
			if (result.interval.lower <= 0.05 && result.interval.upper >= 0.05) covered++;
			if (result.verdict === 'higher than control') found++;
		}
		expect(found).toBe(200);
		// Binomial(200, 0.95) has a standard deviation of 3 runs: 92% is 3 below the mean.
		expect(covered / 200).toBeGreaterThanOrEqual(0.92);
	});

	it('keeps close to 95% coverage over 4,000 small experiments of rare conversions', () => {
		const random = seededRandom(7);
		let covered = 0;
		const runs = 4000;
		for (let run = 0; run < runs; run++) {
			let a = 0;
			let b = 0;
			for (let user = 0; user < 400; user++) if (random() < 0.03) a++;
			for (let user = 0; user < 400; user++) if (random() < 0.03) b++;
			const result = compareProportions(a, 400, b, 400);
			if (result.interval.lower <= 0 && result.interval.upper >= 0) covered++;
		}
		expect(covered / runs).toBeGreaterThan(0.94);
		expect(covered / runs).toBeLessThan(0.975);
	});
});
