import { IANAZone } from 'luxon';

import { InvalidInputError } from '../errors';

/** Zones already checked: luxon builds an Intl formatter per check (~30 µs), too slow per event. */
const knownZones = new Set<string>();

/** Whether `zone` is an IANA time zone name luxon knows; cached like {@link assertTimeZone}. */
export function isKnownTimeZone(zone: string): boolean {
	if (knownZones.has(zone)) return true;
	if (!IANAZone.isValidZone(zone)) return false;
	// The IANA database has about 600 names, so the set stays small.
	if (knownZones.size < 2000) knownZones.add(zone);
	return true;
}

/** Throws, naming the field, when `zone` is not an IANA time zone name luxon knows. */
export function assertTimeZone(zone: string, field: string): void {
	if (!isKnownTimeZone(zone)) {
		throw new InvalidInputError(
			field,
			`"${zone}" is not a known IANA time zone; use a name such as "Europe/Berlin" or "America/New_York".`,
		);
	}
}
