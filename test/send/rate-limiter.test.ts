import { InvalidInputError } from '../../src/errors';
import { getSharedRateLimiter, RateLimiter } from '../../src/send/rate-limiter';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Virtual time: `sleep` registers a timer; `run` fires timers in time order until none is left. */
class FakeTime {
	now = 0;
	readonly sleeps: number[] = [];
	private timers: Array<{ at: number; resolve: () => void }> = [];

	readonly sleep = (ms: number): Promise<void> => {
		this.sleeps.push(ms);
		return new Promise((resolve) => this.timers.push({ at: this.now + ms, resolve }));
	};

	/** Fires timers (and whatever they start) up to `until`, then sets the clock there. */
	async run(until = Infinity): Promise<void> {
		for (;;) {
			await flush();
			this.timers.sort((a, b) => a.at - b.at);
			const next = this.timers[0];
			if (!next || next.at > until) break;
			this.timers.shift();
			this.now = next.at;
			next.resolve();
		}
		if (until !== Infinity) this.now = until;
		await flush();
	}

	limiter(): RateLimiter {
		return new RateLimiter({ now: () => this.now, sleep: this.sleep });
	}
}

/** Starts `count` acquires now; each records the time it was let through, in call order. */
function acquireMany(
	limiter: RateLimiter,
	time: FakeTime,
	key: string,
	perSecond: number,
	count: number,
) {
	const starts: number[] = [];
	const order: number[] = [];
	const all = Array.from({ length: count }, (_, i) =>
		limiter.acquire(key, perSecond).then(() => {
			starts[i] = time.now;
			order.push(i);
		}),
	);
	return { starts, order, done: Promise.all(all) };
}

describe('RateLimiter', () => {
	it('lets perSecond messages start per second per key, in call order, with one timer per wait', async () => {
		const time = new FakeTime();
		const limiter = time.limiter();
		const run = acquireMany(limiter, time, 'cred-1', 2, 5);
		await time.run();
		await run.done;
		expect(run.starts).toEqual([0, 0, 1000, 1000, 2000]);
		expect(run.order).toEqual([0, 1, 2, 3, 4]);
		expect(time.sleeps).toEqual([1000, 1000]);
	});

	it('is a sliding window: a burst fits, and no one-second window ever holds more than the rate', async () => {
		const time = new FakeTime();
		const limiter = time.limiter();
		const starts: number[] = [];
		const calls: number[] = [];
		const pending: Array<Promise<void>> = [];
		const request = (i: number) => {
			calls.push(i);
			pending.push(limiter.acquire('cred-1', 3).then(() => void starts.push(time.now)));
		};
		request(0);
		await time.run(500);
		request(1);
		request(2);
		await time.run(600);
		request(3);
		request(4);
		await time.run(2300);
		request(5);
		await time.run();
		await Promise.all(pending);
		// 0, 1, 2 fit the first second; 3 waits for 0's second to pass, 4 for 1's.
		expect(starts).toEqual([0, 500, 500, 1000, 1500, 2300]);
		for (const start of starts) {
			expect(starts.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(3);
		}
	});

	it('keeps callers in order when more arrive while others wait', async () => {
		const time = new FakeTime();
		const limiter = time.limiter();
		const order: string[] = [];
		const track = (name: string) =>
			limiter.acquire('k', 1).then(() => void order.push(`${name}@${time.now}`));
		const first = [track('a'), track('b')];
		await time.run(500);
		const later = [track('c'), track('d')];
		await time.run();
		await Promise.all([...first, ...later]);
		expect(order).toEqual(['a@0', 'b@1000', 'c@2000', 'd@3000']);
	});

	it('keeps keys apart', async () => {
		const time = new FakeTime();
		const limiter = time.limiter();
		const busy = acquireMany(limiter, time, 'cred-busy', 1, 3);
		const other = acquireMany(limiter, time, 'cred-other', 1, 1);
		await time.run();
		await Promise.all([busy.done, other.done]);
		expect(busy.starts).toEqual([0, 1000, 2000]);
		expect(other.starts).toEqual([0]);
	});

	it('handles rates that are not whole numbers', async () => {
		const time = new FakeTime();
		const limiter = time.limiter();
		const half = acquireMany(limiter, time, 'slow', 0.5, 3);
		const twoAndHalf = acquireMany(limiter, time, 'odd', 2.5, 5);
		await time.run();
		await Promise.all([half.done, twoAndHalf.done]);
		expect(half.starts).toEqual([0, 2000, 4000]);
		// 2 per 800 ms: 5 starts in 2 s at most, as 2.5 per second allows.
		expect(twoAndHalf.starts).toEqual([0, 0, 800, 800, 1600]);
	});

	it('0 means no limit; a negative rate or no number is an input error', async () => {
		const time = new FakeTime();
		const limiter = time.limiter();
		const free = acquireMany(limiter, time, 'cred-1', 0, 100);
		await time.run();
		await free.done;
		expect(new Set(free.starts)).toEqual(new Set([0]));
		expect(time.sleeps).toEqual([]);
		expect(limiter.activeKeys).toBe(0);
		await expect(limiter.acquire('cred-1', -1)).rejects.toThrow(InvalidInputError);
		await expect(limiter.acquire('cred-1', Number.NaN)).rejects.toMatchObject({
			field: 'perSecond',
		});
	});

	it('forgets idle keys once they limit nothing', async () => {
		const time = new FakeTime();
		const limiter = time.limiter();
		await Promise.all(Array.from({ length: 1000 }, (_, i) => limiter.acquire(`cred-${i}`, 1)));
		expect(limiter.activeKeys).toBe(1000);
		await time.run(999);
		await limiter.acquire('cred-new', 1);
		// Still inside their window: all kept.
		expect(limiter.activeKeys).toBe(1001);
		await time.run(1000);
		await limiter.acquire('cred-newer', 1);
		// cred-new (started at 999) still counts; the thousand from 0 are gone.
		expect(limiter.activeKeys).toBe(2);
	});

	it('waits on real timers by default', async () => {
		const limiter = new RateLimiter();
		const began = Date.now();
		const elapsed: number[] = [];
		await Promise.all(
			Array.from({ length: 5 }, () =>
				limiter.acquire('real', 4).then(() => void elapsed.push(Date.now() - began)),
			),
		);
		expect(elapsed.slice(0, 4).every((ms) => ms < 100)).toBe(true);
		expect(elapsed[4]).toBeGreaterThanOrEqual(990);
		expect(elapsed[4]).toBeLessThan(1500);
	});

	it('one shared limiter per process', () => {
		expect(getSharedRateLimiter()).toBe(getSharedRateLimiter());
		expect(getSharedRateLimiter()).toBeInstanceOf(RateLimiter);
	});
});
