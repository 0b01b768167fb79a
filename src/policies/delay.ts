import { InvalidInputError } from '../errors';
import {
	addDuration,
	nextWindowStart,
	parseDateInZone,
	type DeliveryWindow,
	type DurationUnit,
} from '../time/local-time';

/** How long a user waits before the next step. */
export type DelaySpec =
	/** A duration after the trigger event's own time: an execution that starts late waits less. */
	| { mode: 'afterEvent'; amount: number; unit: DurationUnit }
	/** Until a date from the item (a trial end), plus or minus an offset. */
	| { mode: 'untilDate'; date: unknown; offsetAmount: number; offsetUnit: DurationUnit }
	/** Until the next opening of a delivery window in the user's local time. */
	| { mode: 'nextWindow'; window: DeliveryWindow };

export interface DelayInput {
	/** The trigger event's time (epoch ms); required by 'afterEvent'. */
	triggeredAt?: number;
	timeZone: string;
}

/** When the user may go on; at or before `now` means at once. */
export function computeResumeAt(spec: DelaySpec, input: DelayInput, now: number): number {
	switch (spec.mode) {
		case 'afterEvent':
			if (input.triggeredAt === undefined) {
				throw new InvalidInputError(
					'triggeredAt',
					'is missing on the item, so "after the event" is unknown; connect this node after the Campaign Event Trigger.',
				);
			}
			return addDuration(input.triggeredAt, spec.amount, spec.unit, input.timeZone);
		case 'untilDate':
			return addDuration(
				parseDateInZone(spec.date, input.timeZone, 'Date'),
				spec.offsetAmount,
				spec.offsetUnit,
				input.timeZone,
			);
		case 'nextWindow':
			return nextWindowStart(spec.window, now, input.timeZone);
	}
}

/**
 * When an execution whose users are due at different times may go on. n8n resumes a waiting
 * execution once, for all of its items, and after a wait it passes the waiting node's input
 * straight to its first output without running the node again: one execution cannot release
 * its users in groups. So it waits for the latest: nobody leaves before their own time, and
 * users due earlier leave with the last one. An execution per user (single events) is exact.
 */
export function releaseTime(resumeTimes: number[], now: number): number {
	return resumeTimes.length === 0 ? now : Math.max(now, ...resumeTimes);
}
