import { describe, expect, it } from 'vitest';
import {
  clockTime, frameSeekTime, frameToSMPTE, frameToWire, parseRate, rateLabel, secondsToFrame, smpteToFrame, wireToFrame,
} from './timecode';

const r = (s: string) => parseRate(s)!;

describe('parseRate', () => {
  it.each([
    ['25', 25, 25, false],
    ['24', 24, 24, false],
    ['29.97', 30000 / 1001, 30, true],
    ['30000/1001', 30000 / 1001, 30, true],
    ['24000/1001', 24000 / 1001, 24, false],
    ['23.976', 24000 / 1001, 24, false],
    ['59.94', 60000 / 1001, 60, true],
    ['60/1', 60, 60, false],
    ['12.5', 12.5, 13, false],
  ])('%s', (s, fps, nominal, df) => {
    const rate = r(s);
    expect(rate.fps).toBeCloseTo(fps, 9);
    expect(rate.nominal).toBe(nominal);
    expect(rate.dropFrame).toBe(df);
  });
  it.each(['', 'abc', '0', '-25', '25/0', undefined])('rejects %s', (s) => expect(parseRate(s)).toBeNull());
  it('labels', () => {
    expect(rateLabel(r('29.97'))).toBe('29.97');
    expect(rateLabel(r('23.976'))).toBe('23.976');
    expect(rateLabel(r('25'))).toBe('25');
  });
});

describe('non-drop-frame SMPTE', () => {
  it.each([
    [0, '00:00:00:00'],
    [24, '00:00:00:24'],
    [25, '00:00:01:00'],
    [25 * 61 + 3, '00:01:01:03'],
    [25 * 3600 + 24, '01:00:00:24'],
  ])('25 fps frame %i = %s', (f, tc) => {
    expect(frameToSMPTE(f, r('25'))).toBe(tc);
  });
  it('round-trips every frame of 2 minutes at 24 and 25 fps', () => {
    for (const rate of [r('24'), r('25'), r('23.976')]) {
      for (let f = 0; f < 2 * 60 * 25; f++) expect(smpteToFrame(frameToSMPTE(f, rate), rate)).toBe(f);
    }
  });
});

describe('drop-frame SMPTE (29.97)', () => {
  const ntsc = r('29.97');
  it.each([
    [0, '00:00:00;00'],
    [29, '00:00:00;29'],
    [30, '00:00:01;00'],
    [1799, '00:00:59;29'],
    [1800, '00:01:00;02'], // ;00 and ;01 are skipped at the minute
    [1801, '00:01:00;03'],
    [17981, '00:09:59;29'],
    [17982, '00:10:00;00'], // but not at every tenth minute
    [17982 + 1800, '00:11:00;02'],
    [107892, '01:00:00;00'], // one hour of real time is exactly one hour of DF timecode
  ])('frame %i = %s', (f, tc) => {
    expect(frameToSMPTE(f, ntsc)).toBe(tc);
    expect(smpteToFrame(tc, ntsc)).toBe(f);
  });
  it('round-trips every frame of 12 minutes', () => {
    for (let f = 0; f < 12 * 60 * 30; f++) expect(smpteToFrame(frameToSMPTE(f, ntsc), ntsc)).toBe(f);
  });
  it('59.94 drops 4 frames a minute', () => {
    const r60 = r('59.94');
    expect(frameToSMPTE(3600, r60)).toBe('00:01:00;04');
    expect(smpteToFrame('00:01:00;04', r60)).toBe(3600);
    for (let f = 0; f < 12 * 60 * 60; f++) expect(smpteToFrame(frameToSMPTE(f, r60), r60)).toBe(f);
  });
  it('can be shown as non-drop-frame on request', () => {
    expect(frameToSMPTE(1800, ntsc, false)).toBe('00:01:00:00');
  });
});

describe('typed timecodes', () => {
  const pal = r('25');
  it.each([
    ['00:00:01:05', 30],
    ['1:05', 30],
    ['5', 5],
    ['00:01:00.00', 1500],
    [' 00:00:02:00 ', 50],
  ])('%s', (s, f) => expect(smpteToFrame(s, pal)).toBe(f));
  it.each(['', 'abc', '00:00:00:25', '00:61:00:00', '1:2:3:4:5', '-1'])('rejects %s', (s) => expect(smpteToFrame(s, pal)).toBeNull());
});

describe('wire form (what comments store)', () => {
  it('equals SMPTE at integer rates', () => {
    const pal = r('25');
    for (const f of [0, 1, 24, 25, 1499, 90000]) expect(frameToWire(f, pal)).toBe(frameToSMPTE(f, pal));
  });
  it('is real-time seconds + frame at 29.97, as Clapshot reads it, and round-trips', () => {
    const ntsc = r('29.97');
    expect(frameToWire(100, ntsc)).toBe('00:00:03:10');
    for (let f = 0; f < 20000; f++) expect(wireToFrame(frameToWire(f, ntsc), ntsc)).toBe(f);
  });
  it('reads what Clapshot\'s client wrote and older forms', () => {
    const ntsc = r('29.97');
    // Clapshot seeks to HH:MM:SS + FF/fps: 3 s + 10/29.97 s is frame 100.
    expect(wireToFrame('00:00:03:10', ntsc)).toBe(100);
    expect(wireToFrame('00:00:02.000', r('25'))).toBe(50);
    expect(wireToFrame('00:01:00;02', ntsc)).toBe(1800);
    expect(wireToFrame('', ntsc)).toBeNull();
    expect(wireToFrame('garbage', ntsc)).toBeNull();
  });
});

describe('seconds and frames', () => {
  it('seeking to a frame lands inside it', () => {
    for (const rate of [r('25'), r('29.97'), r('23.976'), r('59.94')]) {
      for (let f = 0; f < 500; f++) expect(secondsToFrame(frameSeekTime(f, rate), rate)).toBe(f);
    }
  });
  it('frame start times map to the frame despite float error', () => {
    const ntsc = r('29.97');
    for (let f = 0; f < 5000; f++) expect(secondsToFrame(f / ntsc.fps, ntsc)).toBe(f);
  });
  it('clock time', () => {
    expect(clockTime(0)).toBe('0:00');
    expect(clockTime(61.9)).toBe('1:01');
    expect(clockTime(3725)).toBe('1:02:05');
    expect(clockTime(NaN)).toBe('--:--');
  });
});
