import { describe, expect, it } from 'vitest';
import { eventLabel, guessStartTimecode, parseEDL, recordSeconds } from './edl';
import { parseRate } from './timecode';

const cmx = `TITLE: Reel 1 cut 3
FCM: NON-DROP FRAME

001  A001C003 V     C        14:22:10:05 14:22:12:05 01:00:00:00 01:00:02:00
* FROM CLIP NAME: A001C003_230511.mov
* COMMENT: check focus

002  A002C001 AA/V  C        09:01:00:00 09:01:01:12 01:00:02:00 01:00:03:12
* FROM CLIP NAME: interview take 2

003  BL       V     C        00:00:00:00 00:00:00:00 01:00:03:12 01:00:03:12
003  A003C007 V     D    024 10:00:00:00 10:00:04:00 01:00:03:12 01:00:07:12
M2   A003C007       050.0                10:00:00:00
* FROM CLIP NAME: sunset.mxf
`;

describe('parseEDL', () => {
  const edl = parseEDL(cmx);
  it('reads the header', () => {
    expect(edl.title).toBe('Reel 1 cut 3');
    expect(edl.dropFrame).toBe(false);
    expect(edl.problems).toEqual([]);
  });
  it('reads events, dissolves and clip names', () => {
    expect(edl.events.map((e) => [e.num, e.track, e.transition, e.recIn, e.recOut, e.clipName])).toEqual([
      ['001', 'V', 'C', '01:00:00:00', '01:00:02:00', 'A001C003_230511.mov'],
      ['002', 'AA/V', 'C', '01:00:02:00', '01:00:03:12', 'interview take 2'],
      ['003', 'V', 'C', '01:00:03:12', '01:00:03:12', undefined],
      ['003', 'V', 'D', '01:00:03:12', '01:00:07:12', 'sunset.mxf'],
    ]);
    expect(edl.events[0].notes).toEqual(['COMMENT: check focus']);
    expect(eventLabel(edl.events[0])).toBe('EDL (A001C003_230511.mov)');
    expect(eventLabel(edl.events[2])).toBe('EDL (BL)');
  });
  it('reads DaVinci Resolve marker exports and CRLF files', () => {
    const resolve = 'TITLE: Timeline 1\r\nFCM: DROP FRAME\r\n\r\n001  001      V     C        01:00:05;12 01:00:05;13 01:00:05;12 01:00:05;13  \r\n |C:ResolveColorBlue |M:Fix the <b>logo</b> flicker |D:1\r\n';
    const e = parseEDL(resolve);
    expect(e.dropFrame).toBe(true);
    expect(e.events).toHaveLength(1);
    expect(e.events[0].recIn).toBe('01:00:05;12');
    expect(eventLabel(e.events[0])).toBe('Fix the <b>logo</b> flicker');
  });
  it('reports lines it cannot read and ignores junk', () => {
    const e = parseEDL('garbage\n001 AX V C 01:00:00:00 01:00:01:00\n\u0000');
    expect(e.events).toEqual([]);
    expect(e.problems).toEqual(['001 AX V C 01:00:00:00 01:00:01:00']);
  });
});

describe('record timecodes to media time', () => {
  const edl = parseEDL(cmx);
  it('guesses the sequence start', () => {
    expect(guessStartTimecode(edl)).toBe('01:00:00:00');
    expect(guessStartTimecode(parseEDL(''))).toBe('00:00:00:00');
  });
  it('converts with the EDL rate and the start', () => {
    const r25 = parseRate('25')!;
    expect(recordSeconds('01:00:02:00', r25, 25 * 3600)).toBe(2);
    expect(recordSeconds('01:00:03:12', r25, 25 * 3600)).toBeCloseTo(3.48);
    expect(recordSeconds('00:59:59:00', r25, 25 * 3600)).toBeNull();
    const ntsc = parseRate('29.97')!;
    expect(recordSeconds('00:01:00;02', ntsc, 0)).toBeCloseTo(1800 / ntsc.fps, 6);
  });
});
