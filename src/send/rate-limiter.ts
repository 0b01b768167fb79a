import { InvalidInputError } from '../errors';
import { sleep as timerSleep } from '../retry';

export interface RateLimiterOptions {
	/** Epoch milliseconds; defaults to `Date.now`. */
	now?: () => number;
	/** Resolves after `ms` milliseconds; defaults to the shared timer of `src/retry/`. */
	sleep?: (ms: number) => Promise<void>;
}

interface Waiter {
	perSecond: number;
	resolve: () => void;
}

interface KeyState {
	/** Start times of the recent starts, oldest first. */
	starts: number[];
	queue: Waiter[];
	pumping: boolean;
	/** The window of the latest start: the key is forgotten once it has passed. */
	windowMs: number;
}

/**
 * How many starts a rate allows per window: `perSecond` starts per second for whole
 * rates; for others the smallest whole count over a proportionally longer or shorter window
 * (0.5/s: 1 per 2 s; 2.5/s: 2 per 800 ms).
 */
function windowOf(perSecond: number): { count: number; ms: number } {
	const count = Math.max(1, Math.floor(perSecond));
	return { count, ms: (count * 1000) / perSecond };
}

/**
 * Paces message starts per key (e.g. a credential id), shared by every execution in the
 * process that uses the same key.
 *
 * A sliding window: at most `perSecond` starts in any one-second window, so a provider limit
 * of N per second holds whichever second the provider counts in, while a small batch still
 * starts at once. Callers are served first come, first served; waiting is one timer per key,
 * never a busy loop. Keys are independent.
 */
export class RateLimiter {
	private readonly now: () => number;
	private readonly sleep: (ms: number) => Promise<void>;
	private readonly keys = new Map<string, KeyState>();

	constructor(options: RateLimiterOptions = {}) {
		this.now = options.now ?? (() => Date.now());
		this.sleep = options.sleep ?? timerSleep;
	}

	/**
	 * Resolves when the caller may start one message under `key`. `perSecond` 0 (or
	 * Infinity) means no limit: it resolves at once and is not counted.
	 */
	acquire(key: string, perSecond: number): Promise<void> {
		if (typeof perSecond !== 'number' || Number.isNaN(perSecond) || perSecond < 0) {
			return Promise.reject(
				new InvalidInputError(
					'perSecond',
					`must be 0 (no limit) or more (got ${String(perSecond)}).`,
				),
			);
		}
		if (perSecond === 0 || perSecond === Infinity) return Promise.resolve();
		let state = this.keys.get(key);
		if (!state) {
			this.forgetIdleKeys();
			state = { starts: [], queue: [], pumping: false, windowMs: 0 };
			this.keys.set(key, state);
		}
		const waiting = new Promise<void>((resolve) => state.queue.push({ perSecond, resolve }));
		if (!state.pumping) void this.pump(state);
		return waiting;
	}

	/** Keys with callers waiting or starts in their current window. */
	get activeKeys(): number {
		return this.keys.size;
	}

	private async pump(state: KeyState): Promise<void> {
		state.pumping = true;
		try {
			while (state.queue.length > 0) {
				const head = state.queue[0];
				const window = windowOf(head.perSecond);
				let now = this.now();
				while (state.starts.length > 0 && state.starts[0] <= now - window.ms) state.starts.shift();
				if (state.starts.length >= window.count) {
					const allowedAt = state.starts[state.starts.length - window.count] + window.ms;
					if (allowedAt > now) {
						await this.sleep(allowedAt - now);
						continue;
					}
				}
				now = this.now();
				state.starts.push(now);
				state.windowMs = window.ms;
				if (state.starts.length > window.count) {
					state.starts.splice(0, state.starts.length - window.count);
				}
				state.queue.shift();
				head.resolve();
			}
		} finally {
			state.pumping = false;
		}
	}

	/** Drops keys nobody waits on whose last start is older than its window: they limit nothing. */
	private forgetIdleKeys(): void {
		if (this.keys.size < 1000) return;
		const now = this.now();
		for (const [key, state] of this.keys) {
			const last = state.starts[state.starts.length - 1] ?? -Infinity;
			if (state.queue.length === 0 && !state.pumping && last + state.windowMs <= now) {
				this.keys.delete(key);
			}
		}
	}
}

let shared: RateLimiter | undefined;

/** The process-wide limiter every Send Message node shares (keyed by credential id). */
export function getSharedRateLimiter(): RateLimiter {
	shared ??= new RateLimiter();
	return shared;
}
