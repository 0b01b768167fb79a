import { DateTime } from 'luxon';

import { isWithinWindow, nextWindowStart, type DeliveryWindow } from '../../src/time/local-time';
import { TRANSITIONS_2026, ZONES, at, iso } from './helpers';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** Small deterministic generator (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const WINDOWS: DeliveryWindow[] = [
	{ start: '09:00', end: '21:00', weekdays: [] },
	{ start: '21:00', end: '02:00', weekdays: [5] },
	{ start: '02:30', end: '04:00', weekdays: [] },
	{ start: '01:30', end: '05:00', weekdays: [] },
	{ start: '21:00', end: '01:30', weekdays: [6, 7] },
	{ start: '02:00', end: '03:00', weekdays: [] },
	{ start: '02:45', end: '03:45', weekdays: [] },
	{ start: '03:00', end: '03:15', weekdays: [7] },
	{ start: '00:00', end: '00:00', weekdays: [6, 7] },
	{ start: '09:00', end: '09:00', weekdays: [3] },
	{ start: '22:00', end: '06:00', weekdays: [1, 2, 3, 4, 5] },
	{ start: '23:30', end: '00:30', weekdays: [] },
	{ start: '12:00', end: '12:01', weekdays: [2] },
	{ start: '00:00', end: '00:00', weekdays: [] },
];

/** Wall-clock membership computed from luxon's local fields, independently of the module. */
function oracle(window: DeliveryWindow, instant: number, zone: string): boolean {
	return oracleAt(window, DateTime.fromMillis(instant, { zone }));
}

function oracleAt(window: DeliveryWindow, local: DateTime): boolean {
	const minutes = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
	const start = minutes(window.start);
	const end = minutes(window.end);
	const time = local.hour * 60 + local.minute + (local.second * 1000 + local.millisecond) / MINUTE;
	const opens = (weekday: number) =>
		window.weekdays.length === 0 || window.weekdays.includes(weekday);
	const yesterday = ((local.weekday + 5) % 7) + 1;
	if (start < end) return opens(local.weekday) && time >= start && time < end;
	return (opens(local.weekday) && time >= start) || (opens(yesterday) && time < end);
}

describe('nextWindowStart, property-style', () => {
	it('for 2,000 random instants in 2026 returns the first instant inside the window', () => {
		const next = random(20260310);
		const yearStart = at('2026-01-01T00:00:00Z');
		const yearEnd = at('2027-01-01T00:00:00Z');
		const failures: string[] = [];
		let gridChecks = 0;
		for (let i = 0; i < 2000; i += 1) {
			const zone = ZONES[Math.floor(next() * ZONES.length)];
			const window = WINDOWS[Math.floor(next() * WINDOWS.length)];
			const transitions = TRANSITIONS_2026[zone];
			// Half uniform over the year, half within two days of one of the zone's DST changes.
			const time =
				i % 2 === 0 || transitions.length === 0
					? Math.floor(yearStart + next() * (yearEnd - yearStart))
					: at(transitions[Math.floor(next() * transitions.length)]) +
						Math.floor((next() - 0.5) * 96 * HOUR);
			const label = `${zone} ${JSON.stringify(window)} from ${iso(time)}`;
			const result = nextWindowStart(window, time, zone);
			if (!(result >= time)) failures.push(`${label}: ${iso(result)} is before the start`);
			if (!isWithinWindow(window, result, zone))
				failures.push(`${label}: ${iso(result)} is outside`);
			if (result > time && isWithinWindow(window, result - 1, zone)) {
				failures.push(`${label}: ${iso(result - 1)}, 1 ms earlier, is already inside`);
			}
			if (isWithinWindow(window, time, zone) !== oracle(window, time, zone)) {
				failures.push(`${label}: disagrees with the luxon oracle at the start`);
			}
			if (!oracle(window, result, zone))
				failures.push(`${label}: ${iso(result)} outside per luxon`);
			for (let probe = time; probe < result; probe += MINUTE) {
				gridChecks += 1;
				if (isWithinWindow(window, probe, zone)) {
					failures.push(`${label}: ${iso(probe)} is inside, before ${iso(result)}`);
					break;
				}
			}
			if (failures.length > 20) break;
		}
		expect(failures).toEqual([]);
		expect(gridChecks).toBeGreaterThan(100_000); // the grid really ran
	});

	it('matches the luxon wall-clock oracle on a 7-minute grid through every 2026 DST change', () => {
		const failures: string[] = [];
		for (const zone of ZONES) {
			for (const transition of TRANSITIONS_2026[zone]) {
				const center = at(transition);
				for (let time = center - 30 * HOUR; time <= center + 30 * HOUR; time += 7 * MINUTE) {
					for (const probe of [time, time - 1]) {
						const local = DateTime.fromMillis(probe, { zone });
						for (const window of WINDOWS) {
							if (isWithinWindow(window, probe, zone) !== oracleAt(window, local)) {
								failures.push(`${zone} ${JSON.stringify(window)} at ${iso(probe)}`);
							}
						}
					}
				}
			}
		}
		expect(failures.slice(0, 20)).toEqual([]);
	});
});
