import { InvalidInputError } from '../../src/errors';

/** Epoch ms of an ISO instant written with `Z`. */
export const at = (text: string): number => {
	const time = Date.parse(text);
	if (Number.isNaN(time)) throw new Error(`bad test instant ${text}`);
	return time;
};

/** ISO text of epoch ms, for readable failures. */
export const iso = (time: number): string => new Date(time).toISOString();

export const HOUR = 3_600_000;

/** Runs `work`, expecting an InvalidInputError; returns it for field / message checks. */
export function invalidInput(work: () => unknown): InvalidInputError {
	try {
		work();
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		return error as InvalidInputError;
	}
	throw new Error('expected an InvalidInputError, but nothing was thrown');
}

/** Zones the tests cover: both hemispheres, :30 and :45 offsets, no DST, UTC. */
export const ZONES = [
	'America/New_York',
	'Europe/Berlin',
	'Australia/Sydney',
	'Australia/Adelaide',
	'Asia/Kolkata',
	'Asia/Kathmandu',
	'UTC',
	'Pacific/Chatham',
] as const;

/** The 2026 offset changes of the DST zones above (checked against luxon in local-clock.test). */
export const TRANSITIONS_2026: Record<string, string[]> = {
	'America/New_York': ['2026-03-08T07:00:00.000Z', '2026-11-01T06:00:00.000Z'],
	'Europe/Berlin': ['2026-03-29T01:00:00.000Z', '2026-10-25T01:00:00.000Z'],
	'Australia/Sydney': ['2026-04-04T16:00:00.000Z', '2026-10-03T16:00:00.000Z'],
	'Australia/Adelaide': ['2026-04-04T16:30:00.000Z', '2026-10-03T16:30:00.000Z'],
	'Pacific/Chatham': ['2026-04-04T14:00:00.000Z', '2026-09-26T14:00:00.000Z'],
	'Asia/Kolkata': [],
	'Asia/Kathmandu': [],
	UTC: [],
};
