import { describe, expect, it } from 'vitest';
import {
  checkPick, extent, formatClock, formatDuration, fraction, fromLocalInput, layout, MAX_EXPORT_MS, ordered, parseRanges,
  playableAt, recordedIn, timeAt, timelineWindow, toLocalInput, unixSeconds, zoneLabel,
} from './archive';

/** A local time on 2026-12-03 (the tests run in any time zone). */
const at = (h: number, m: number, s = 0, ms = 0) => new Date(2026, 11, 3, h, m, s, ms).getTime();
const iso = (t: number) => new Date(t).toISOString();

// 09:00–09:41:17.52, a gap, 09:41:19.93–10:00 (docs/live.md's example, in local time).
const A = { start: at(9, 0, 0, 40), end: at(9, 41, 17, 520) };
const B = { start: at(9, 41, 19, 930), end: at(10, 0) };

describe('parseRanges', () => {
  it('reads the API, in order, gaps kept', () => {
    const raw = { stream_id: 'x', ranges: [{ start: iso(B.start), end: iso(B.end) }, { start: iso(A.start), end: iso(A.end) }] };
    expect(parseRanges(raw)).toEqual([A, B]);
    expect(parseRanges({ ranges: [] })).toEqual([]);
  });

  it.each([
    [{}, 'the archive ranges are not {"ranges": [...]}'],
    [{ ranges: {} }, 'the archive ranges are not {"ranges": [...]}'],
    [{ ranges: [{ start: 'x', end: '2026-12-03T09:00:00Z' }] }, 'ranges[0]: no valid start time'],
    [{ ranges: [{ start: '2026-12-03T09:00:00Z' }] }, 'ranges[0]: no valid end time'],
    [{ ranges: [null] }, 'ranges[0]: no valid start time'],
    [{ ranges: [{ start: '2026-12-03T10:00:00Z', end: '2026-12-03T09:00:00Z' }] }, 'ranges[0]: ends before it starts'],
  ])('refuses %j', (raw, msg) => expect(() => parseRanges(raw)).toThrow(msg));
});

describe('the timeline', () => {
  it('spans the archive, or its last part', () => {
    expect(extent([])).toBeNull();
    expect(extent([A, B])).toEqual({ start: A.start, end: B.end });
    expect(timelineWindow([A, B], 0)).toEqual({ start: A.start, end: B.end });
    expect(timelineWindow([A, B], 600_000)).toEqual({ start: at(9, 50), end: B.end });
    expect(timelineWindow([A, B], 24 * 3600_000)).toEqual({ start: A.start, end: B.end });
    // One frame of archive still has a width to click in.
    expect(timelineWindow([{ start: A.start, end: A.start }], 0)).toEqual({ start: A.start, end: A.start + 1000 });
  });

  it('places the ranges, cut to the window, with the gap between them', () => {
    const win = { start: at(9, 40), end: at(9, 44) };
    const [a, b] = layout([A, B], win);
    expect(a.left).toBe(0);
    expect(a.width).toBeCloseTo((77.52 / 240) * 100, 6);
    expect(b.left).toBeCloseTo((79.93 / 240) * 100, 6);
    expect(b.left + b.width).toBe(100);
    expect(layout([A, B], { start: at(11, 0), end: at(12, 0) })).toEqual([]);
  });

  it('maps positions to times and back', () => {
    const win = { start: at(9, 0), end: at(10, 0) };
    expect(fraction(win, at(9, 30))).toBe(0.5);
    expect(fraction(win, at(8, 0))).toBe(0);
    expect(fraction(win, at(11, 0))).toBe(1);
    expect(timeAt(win, 0.25)).toBe(at(9, 15));
    expect(timeAt(win, 7)).toBe(at(10, 0));
  });

  it('plays from a point, or from the next recorded moment after a gap', () => {
    expect(playableAt([A, B], at(9, 30))).toBe(at(9, 30));
    expect(playableAt([A, B], at(9, 41, 18))).toBe(B.start);
    expect(playableAt([A, B], at(8, 0))).toBe(A.start);
    expect(playableAt([A, B], at(11, 0))).toBe(B.end - 1000);
    expect(playableAt([], at(9, 0))).toBeNull();
  });

  it('counts what is recorded in a range', () => {
    expect(recordedIn([A, B], at(9, 41), at(9, 42))).toBe(17_520 + 40_070);
    expect(recordedIn([A, B], at(10, 1), at(10, 2))).toBe(0);
  });
});

describe('checkPick', () => {
  const ranges = [A, B];
  it.each([
    ['nothing picked', { start: null, end: null }, 'Pick a start and an end: drag on the timeline, or type the times.'],
    ['no start', { start: null, end: at(9, 1) }, 'Pick a start.'],
    ['no end', { start: at(9, 1), end: null }, 'Pick an end.'],
    ['the end before the start', { start: at(9, 30), end: at(9, 20) }, `The end (2026-12-03 09:20:00) is before the start (2026-12-03 09:30:00).`],
    ['no length', { start: at(9, 30), end: at(9, 30) }, 'The start and the end are the same moment: pick a range.'],
    ['too long', { start: at(9, 0), end: at(9, 0) + MAX_EXPORT_MS + 1000 }, 'The range is 4 h 00 min long; at most 4 h 00 min can be sent at once.'],
    ['outside the archive', { start: at(10, 5), end: at(10, 6) },
      'Nothing was recorded from 2026-12-03 10:05:00 to 2026-12-03 10:06:00: the archive has 2026-12-03 09:00:00 to 2026-12-03 10:00:00.'],
    ['inside the gap', { start: at(9, 41, 18), end: at(9, 41, 19) }, /^Nothing was recorded from/],
    ['across the gap', { start: at(9, 41), end: at(9, 42) }, null],
    ['partly outside', { start: at(9, 59), end: at(10, 5) }, null],
  ])('%s', (_, pick, want) => {
    const got = checkPick(pick, ranges);
    if (want instanceof RegExp) expect(got).toMatch(want);
    else expect(got).toBe(want);
  });

  it('says when nothing is recorded yet', () => expect(checkPick({ start: at(9, 0), end: at(9, 1) }, [])).toBe('Nothing has been recorded yet.'));
  it('orders a drag made backwards', () => expect(ordered(5, 2)).toEqual({ start: 2, end: 5 }));
});

describe('times as shown and typed', () => {
  it('formats clock times and lengths', () => {
    expect(formatClock(at(9, 5, 7, 900))).toBe('2026-12-03 09:05:07');
    expect(formatClock(at(19, 5, 7), false)).toBe('19:05:07');
    expect([formatDuration(4210), formatDuration(725_000), formatDuration(7_380_000), formatDuration(-5)]).toEqual(['4.2 s', '12 min 05 s', '2 h 03 min', '0.0 s']);
  });

  it('round-trips the datetime-local input, with or without seconds', () => {
    expect(toLocalInput(at(9, 5, 7))).toBe('2026-12-03T09:05:07');
    expect(fromLocalInput('2026-12-03T09:05:07')).toBe(at(9, 5, 7));
    expect(fromLocalInput('2026-12-03T09:05')).toBe(at(9, 5));
    expect(fromLocalInput('2026-12-03T09:05:07.25')).toBe(at(9, 5, 7, 250));
    expect([fromLocalInput(''), fromLocalInput('09:05'), fromLocalInput('2026-12-03 09:05')]).toEqual([null, null, null]);
  });

  it('names the clock and writes URL times', () => {
    expect(zoneLabel()).toMatch(/UTC[+−]\d\d:\d\d$/);
    expect(unixSeconds(Date.UTC(2026, 11, 3, 9, 30, 0, 40))).toBe('1796290200.040');
  });
});
