import {
	resolveTimeZone,
	type ResolvedTimeZone,
	type TimeZoneCandidate,
} from '../../src/time/local-time';
import { invalidInput } from './helpers';

describe('resolveTimeZone', () => {
	test.each<[string, TimeZoneCandidate[], ResolvedTimeZone]>([
		[
			'the profile first',
			[
				{ source: 'profile', zone: 'Asia/Kolkata' },
				{ source: 'event', zone: 'Europe/Berlin' },
				{ source: 'campaign', zone: 'America/New_York' },
			],
			{ zone: 'Asia/Kolkata', source: 'profile' },
		],
		[
			'the event when the profile has none',
			[
				{ source: 'profile', zone: null },
				{ source: 'event', zone: 'Europe/Berlin' },
				{ source: 'campaign', zone: 'America/New_York' },
			],
			{ zone: 'Europe/Berlin', source: 'event' },
		],
		[
			'the campaign default when profile and event are empty',
			[
				{ source: 'profile', zone: '' },
				{ source: 'event', zone: '   ' },
				{ source: 'campaign', zone: 'Australia/Sydney' },
			],
			{ zone: 'Australia/Sydney', source: 'campaign' },
		],
		[
			'UTC when nothing is given',
			[
				{ source: 'profile' },
				{ source: 'event', zone: undefined },
				{ source: 'campaign', zone: null },
			],
			{ zone: 'UTC', source: 'utc' },
		],
		['UTC for no candidates', [], { zone: 'UTC', source: 'utc' }],
		[
			'the order given',
			[
				{ source: 'event', zone: 'Pacific/Chatham' },
				{ source: 'profile', zone: 'Asia/Kathmandu' },
			],
			{ zone: 'Pacific/Chatham', source: 'event' },
		],
		[
			'an explicit UTC as that source',
			[{ source: 'profile', zone: 'UTC' }],
			{ zone: 'UTC', source: 'profile' },
		],
		[
			'a trimmed name',
			[{ source: 'profile', zone: ' Australia/Adelaide ' }],
			{ zone: 'Australia/Adelaide', source: 'profile' },
		],
	])('takes %s', (_label, candidates, expected) => {
		expect(resolveTimeZone(candidates)).toEqual(expected);
	});

	test.each<[TimeZoneCandidate[], string, string]>([
		[
			[
				{ source: 'profile', zone: 'Mars/Olympus_Mons' },
				{ source: 'event', zone: 'Europe/Berlin' },
			],
			'profile.timeZone',
			'Mars/Olympus_Mons',
		],
		[
			[
				{ source: 'profile', zone: null },
				{ source: 'event', zone: 'Europe/Berln' },
			],
			'event.timeZone',
			'Europe/Berln',
		],
		[
			[
				{ source: 'profile', zone: '' },
				{ source: 'campaign', zone: 'GMT+5:30' },
			],
			'campaign default time zone',
			'GMT+5:30',
		],
	])(
		'an unknown name is an error, never UTC or the next candidate: %j',
		(candidates, field, name) => {
			const error = invalidInput(() => resolveTimeZone(candidates));
			expect(error.field).toBe(field);
			expect(error.message).toContain(`"${name}" is not a known IANA time zone`);
		},
	);

	it('rejects a zone that is not text', () => {
		const error = invalidInput(() =>
			resolveTimeZone([{ source: 'profile', zone: 5 as unknown as string }]),
		);
		expect(error.field).toBe('profile.timeZone');
	});
});
