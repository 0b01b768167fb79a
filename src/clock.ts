/** Where the engine reads the time; tests and the simulator pass a fixed or fake one. */
export interface Clock {
	/** Epoch milliseconds. */
	now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
