// The server's EDL export (internal/export), read back by this importer:
// the Go test writes the EDL and the comments it was made from into
// internal/export/testdata, and here every one must come back with the
// same text at the same frame, as the import dialog would create it.
import { describe, expect, it } from 'vitest';
import { eventLabel, parseEDL, recordSeconds } from './edl';
import { parseRate, secondsToFrame, smpteToFrame } from './timecode';

import edlText from '../../../internal/export/testdata/sample.edl?raw';
import wantText from '../../../internal/export/testdata/sample.edl.json?raw';

const want = JSON.parse(wantText) as {
  rate: string;
  start: string;
  comments: { text: string; frame: number }[];
};

describe('EDL export round trip', () => {
  const edl = parseEDL(edlText);
  const rate = parseRate(want.rate)!;
  const start = smpteToFrame(want.start, rate)!;

  it('reads every event and no problems', () => {
    expect(edl.problems).toEqual([]);
    expect(edl.dropFrame).toBe(rate.dropFrame);
    expect(edl.events).toHaveLength(want.comments.length);
  });

  it('gives back each comment at its frame with its text', () => {
    const got = edl.events.map((e) => {
      const s = recordSeconds(e.recIn, rate, start);
      // As the import dialog turns seconds into a frame.
      return { text: eventLabel(e), frame: s === null ? null : secondsToFrame(s + 1e-6, rate) };
    });
    expect(got).toEqual(want.comments);
  });
});
