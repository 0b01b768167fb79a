import type { ReEntryRule } from './campaign-store';

/**
 * The trigger-time range in which an existing entry of the same user blocks a new one,
 * or undefined when nothing blocks (every time). Both bounds exclusive.
 */
export function blockingEntryRange(
	rule: ReEntryRule,
	triggeredAt: number,
): { after: number; before: number } | undefined {
	switch (rule.mode) {
		case 'everyTime':
			return undefined;
		case 'once':
			return { after: Number.MIN_SAFE_INTEGER, before: Number.MAX_SAFE_INTEGER };
		case 'oncePerPeriod':
			return { after: triggeredAt - rule.periodMs, before: triggeredAt + rule.periodMs };
	}
}

/** Candidate indexes that point at an event of the request, in order (others are ignored). */
export function validCandidates(candidates: number[], eventCount: number): number[] {
	return candidates.filter((index) => Number.isInteger(index) && index >= 0 && index < eventCount);
}
