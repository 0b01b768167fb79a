import { InvalidInputError } from '../errors';
import type { DurationUnit } from './calendar';

const UNIT_MS: Record<DurationUnit, number> = {
	seconds: 1_000,
	minutes: 60_000,
	hours: 3_600_000,
	days: 86_400_000,
	weeks: 604_800_000,
};

/**
 * Elapsed milliseconds of `amount` units, a day being 24 hours: for rolling windows and
 * periods. (A delay of "1 day" means the same local time tomorrow: see `addDuration`.)
 */
export function elapsedMs(amount: number, unit: DurationUnit, field = 'unit'): number {
	const ms = UNIT_MS[unit];
	if (ms === undefined) {
		throw new InvalidInputError(
			field,
			`must be one of ${Object.keys(UNIT_MS).join(', ')}; got ${JSON.stringify(unit)}.`,
		);
	}
	return amount * ms;
}
