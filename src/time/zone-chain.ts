import { InvalidInputError } from '../errors';
import { assertTimeZone } from './time-zone';

export type TimeZoneSource = 'profile' | 'event' | 'campaign';

export interface TimeZoneCandidate {
	source: TimeZoneSource;
	zone?: string | null;
}

export interface ResolvedTimeZone {
	zone: string;
	source: TimeZoneSource | 'utc';
}

/** Field named in errors for a bad zone from each source. */
export const TIME_ZONE_FIELDS: Readonly<Record<TimeZoneSource, string>> = {
	profile: 'profile.timeZone',
	event: 'event.timeZone',
	campaign: 'campaign default time zone',
};

/**
 * The zone to use for a user: the first candidate, in the order given, whose zone is a
 * non-empty name; UTC (source `utc`) when none is. Empty, blank, null or missing zones are
 * skipped; a non-empty name that is not a known IANA zone throws InvalidInputError naming the
 * source's field (e.g. `profile.timeZone`) and the bad name rather than falling back to the next
 * candidate or to UTC, which would silently shift every local time. The name is returned
 * trimmed, otherwise as given.
 */
export function resolveTimeZone(candidates: readonly TimeZoneCandidate[]): ResolvedTimeZone {
	for (const candidate of candidates) {
		const field = TIME_ZONE_FIELDS[candidate.source] ?? `${String(candidate.source)}.timeZone`;
		const zone = candidate.zone;
		if (zone === undefined || zone === null) continue;
		if (typeof zone !== 'string') {
			throw new InvalidInputError(
				field,
				`must be an IANA time zone name such as "Europe/Berlin"; got a ${typeof zone}.`,
			);
		}
		const name = zone.trim();
		if (name === '') continue;
		assertTimeZone(name, field);
		return { zone: name, source: candidate.source };
	}
	return { zone: 'UTC', source: 'utc' };
}
