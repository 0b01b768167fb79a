import { describe, expect, it } from '@jest/globals';

import { parseDateParameter } from '../../nodes/shared/parameters';
import { parseDateInZone } from '../../src';

describe('parseDateParameter (Campaign Starts At / Ends At)', () => {
	const zone = 'America/New_York';

	it('reads a repeated local time (fall-back night) as its earlier instant, as the Delay does', () => {
		// 1 November 2026, 01:30 happens twice in New York: first at -04:00, then at -05:00.
		expect(parseDateParameter('2026-11-01T01:30:00', 'Campaign Ends At', zone)).toBe(
			Date.parse('2026-11-01T05:30:00Z'),
		);
		expect(parseDateParameter('2026-11-01T01:30:00', 'Campaign Ends At', zone)).toBe(
			parseDateInZone('2026-11-01T01:30:00', zone, 'Date'),
		);
	});

	it('reads a skipped local time (spring-forward night) as the first instant after the gap', () => {
		// 8 March 2026, 02:00-03:00 does not exist in New York: 02:30 means 03:00 EDT.
		expect(parseDateParameter('2026-03-08T02:30:00', 'Campaign Starts At', zone)).toBe(
			Date.parse('2026-03-08T07:00:00Z'),
		);
	});

	it('keeps an explicit offset, leaves an empty value unset, and names the field of a bad one', () => {
		expect(parseDateParameter('2026-03-08T02:30:00+01:00', 'Campaign Ends At', zone)).toBe(
			Date.parse('2026-03-08T01:30:00Z'),
		);
		expect(parseDateParameter('', 'Campaign Ends At', zone)).toBeUndefined();
		expect(() => parseDateParameter('next tuesday', 'Campaign Ends At', zone)).toThrow(
			/^Campaign Ends At: /,
		);
	});
});
