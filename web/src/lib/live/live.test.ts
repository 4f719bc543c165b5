import { describe, expect, it } from 'vitest';
import { describeState, formatAge, formatBitrate } from './format';
import { describeHlsError } from './hls';
import { closeReason, JUMP_TO_BEHIND_S, mimeType, MseFeeder, parseMseMessage, type BufferLike, type SourceLike, type VideoLike } from './mse';
import { chooseMode } from './playback';

const bytes = (...b: number[]) => new Uint8Array(b).buffer;
const codecMsg = (codec: string) => new Uint8Array([0x09, ...new TextEncoder().encode(codec)]).buffer;

describe('parseMseMessage', () => {
  it('0x09 + codec string is the codec message', () => {
    expect(parseMseMessage(codecMsg('avc1.64001f,mp4a.40.2'))).toEqual({ kind: 'codec', codec: 'avc1.64001f,mp4a.40.2' });
  });

  it('anything else is media: an init segment or a fragment', () => {
    // ftyp box: size 0x00000018, then "ftyp".
    const m = parseMseMessage(bytes(0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70));
    expect(m.kind).toBe('media');
    expect(m.kind === 'media' && [...m.data.subarray(4)]).toEqual([0x66, 0x74, 0x79, 0x70]);
    expect(parseMseMessage(bytes()).kind).toBe('media');
  });

  it('builds the MediaSource type', () => {
    expect(mimeType('hvc1.1.6.L60.90,mp4a.40.2')).toBe('video/mp4; codecs="hvc1.1.6.L60.90,mp4a.40.2"');
  });
});

describe('closeReason', () => {
  it.each([
    [1008, `stream x: no such stream`, `stream x: no such stream`, false],
    [1008, '', 'The server refused this stream', false],
    [1001, 'stream stopped', 'The stream stopped (stream stopped)', true],
    [1006, '', 'The connection to the server was lost', true],
    [1011, 'internal error', 'internal error (websocket closed with 1011)', true],
    [1000, '', 'The websocket closed (1000)', true],
  ])('%d %j', (code, reason, message, retry) => expect(closeReason(code, reason)).toEqual({ message, retry }));
});

/** A SourceBuffer that records what it is given and finishes each update
 * when the test says so, as a browser's does asynchronously. */
class RecordingBuffer implements BufferLike {
  updating = false;
  mode: AppendMode = 'sequence';
  log: string[] = [];
  ranges: [number, number][] = [];
  private onend: (() => void)[] = [];
  get buffered(): TimeRanges {
    const r = this.ranges;
    return { length: r.length, start: (i: number) => r[i][0], end: (i: number) => r[i][1] } as TimeRanges;
  }
  appendBuffer(d: BufferSource) {
    if (this.updating) throw new Error('InvalidStateError: still updating');
    this.updating = true;
    this.log.push(`append ${new Uint8Array(d as ArrayBuffer)[0]}`);
  }
  remove(start: number, end: number) {
    this.updating = true;
    this.log.push(`remove ${start}-${end}`);
  }
  changeType(type: string) {
    this.log.push(`changeType ${type}`);
  }
  addEventListener(_: 'updateend', fn: () => void) {
    this.onend.push(fn);
  }
  /** The browser finishes the update; the buffer then holds [start, end]. */
  finish(start = 0, end = 0) {
    this.updating = false;
    if (end > start) this.ranges = [[start, end]];
    for (const f of this.onend) f();
  }
}

function feeder({ supported = () => true }: { supported?: (t: string) => boolean } = {}) {
  const sb = new RecordingBuffer();
  const added: string[] = [];
  const ms: SourceLike = {
    readyState: 'open',
    addSourceBuffer: (t) => {
      added.push(t);
      return sb;
    },
  };
  const video: VideoLike & { plays: number } = {
    currentTime: 0,
    paused: true,
    plays: 0,
    play() {
      this.plays++;
      (this as { paused: boolean }).paused = false;
      return Promise.resolve();
    },
  };
  const errors: [string, boolean][] = [];
  const f = new MseFeeder(ms, video, { isTypeSupported: supported, onerror: (m, r) => errors.push([m, r]) });
  const codec = (c: string) => f.push(parseMseMessage(codecMsg(c)));
  const media = (first: number) => f.push(parseMseMessage(bytes(first, 1, 2, 3)));
  return { f, sb, added, video, errors, codec, media };
}

describe('MseFeeder', () => {
  it('makes the buffer from the codec message and appends one message at a time, in order', () => {
    const { sb, added, video, errors, codec, media } = feeder();
    codec('avc1.64001f');
    media(0); // init segment
    media(1);
    media(2);
    expect([added, sb.mode, sb.log]).toEqual([['video/mp4; codecs="avc1.64001f"'], 'segments', ['append 0']]);
    sb.finish();
    expect(sb.log).toEqual(['append 0', 'append 1']);
    sb.finish(0, 0.04);
    sb.finish(0, 0.08);
    expect(sb.log).toEqual(['append 0', 'append 1', 'append 2']);
    // Playback starts at the buffer's start, once there is one.
    expect([video.plays, video.currentTime, errors]).toEqual([1, 0, []]);
  });

  it('a new codec message changes the type before the init segment that follows', () => {
    const { sb, added, codec, media } = feeder();
    codec('avc1.42c01e');
    media(0);
    sb.finish();
    media(1);
    codec('avc1.64001f');
    media(0); // the new init segment
    media(2);
    sb.finish(0, 1);
    sb.finish(0, 1.04);
    sb.finish(0, 1.08);
    expect(added).toHaveLength(1);
    expect(sb.log).toEqual(['append 0', 'append 1', 'changeType video/mp4; codecs="avc1.64001f"', 'append 0', 'append 2']);
  });

  it('the same codec again (a reconnect) keeps the buffer as it is', () => {
    const { sb, codec, media } = feeder();
    codec('avc1.42c01e');
    media(0);
    sb.finish();
    codec('avc1.42c01e');
    media(0);
    expect(sb.log).toEqual(['append 0', 'append 0']);
  });

  it('a codec the browser cannot play is an error that retrying does not fix', () => {
    const { sb, errors, codec, media } = feeder({ supported: (t) => !t.includes('hvc1') });
    codec('hvc1.1.6.L60.90');
    media(0);
    expect(sb.log).toEqual([]);
    expect(errors).toEqual([['This browser cannot play hvc1.1.6.L60.90 (video/mp4; codecs="hvc1.1.6.L60.90"); try the other player', false]]);
  });

  it('media before any codec message is an error', () => {
    const { errors, media } = feeder();
    media(0);
    expect(errors).toEqual([['The server sent media before its codec', true]]);
  });

  it('keeps playback near the newest picture, and the buffer short', () => {
    const { sb, video, codec, media } = feeder();
    codec('avc1.64001f');
    media(0);
    sb.finish(0, 0.5);
    // 0.5 s behind: left alone.
    media(1);
    sb.finish(0, 1.0);
    expect(video.currentTime).toBe(0);
    // 2 s behind (say the tab was hidden): jump to just behind the edge.
    media(2);
    sb.finish(0, 2.0);
    expect(video.currentTime).toBeCloseTo(2.0 - JUMP_TO_BEHIND_S);
    // Long after: what is far behind playback is removed.
    video.currentTime = 60;
    media(3);
    sb.finish(0, 60.2);
    expect(sb.log.slice(-2)).toEqual(['append 3', 'remove 0-40']);
    sb.finish(40, 60.2);
    media(4);
    sb.finish(40, 60.24);
    expect(sb.log.slice(-2)).toEqual(['remove 0-40', 'append 4']);
  });
});

describe('chooseMode', () => {
  const all = { llhlsUrl: 'l', hlsUrl: 'h', mseUrl: 'm' };
  it.each([
    [all, null, 'hls'],
    [all, 'mse', 'mse'],
    [{ llhlsUrl: '', hlsUrl: 'h', mseUrl: '' }, 'mse', 'hls'],
    [{ llhlsUrl: '', hlsUrl: '', mseUrl: 'm' }, null, 'mse'],
    [{ llhlsUrl: '', hlsUrl: '', mseUrl: '' }, 'hls', null],
  ] as const)('%j wanted %s -> %s', (s, wanted, want) => expect(chooseMode(s, wanted)).toBe(want));
});

describe('describeHlsError', () => {
  const err = new Error('x');
  it.each([
    [{ type: 'networkError', details: 'manifestLoadError', response: { url: '', code: 404 } }, 'No such stream, or you may not watch it (404)', false],
    [{ type: 'networkError', details: 'manifestLoadError', response: { url: '', code: 503 } }, 'The camera has sent no picture yet (503): it may be offline', true],
    [{ type: 'networkError', details: 'levelLoadError', response: { url: '', code: 500 } }, 'The server answered 500 (levelLoadError)', true],
    [{ type: 'networkError', details: 'manifestLoadTimeOut' }, 'Cannot load the stream (manifestLoadTimeOut)', true],
    [{ type: 'mediaError', details: 'bufferAppendError', error: new Error('decode') }, 'The browser cannot play the stream (bufferAppendError: decode)', true],
  ])('%j', (d, message, retry) => expect(describeHlsError({ error: err, ...d } as never)).toEqual({ message, retry }));
});

describe('formatting', () => {
  it.each([
    [0, '0 bit/s'],
    [999, '999 bit/s'],
    [212000, '212 kbit/s'],
    [1103543.94, '1.1 Mbit/s'],
    [12e6, '12.0 Mbit/s'],
  ])('bitrate %d -> %s', (bps, want) => expect(formatBitrate(bps)).toBe(want));

  const now = new Date('2026-12-03T10:00:00Z');
  it.each([
    ['2026-12-03T09:59:55Z', '5 s'],
    ['2026-12-03T10:00:03Z', '0 s'], // our clock behind the server's
    ['2026-12-03T09:57:00Z', '3 min'],
    ['2026-12-03T07:30:00Z', '2 h'],
    ['2026-11-29T10:00:00Z', '4 d'],
  ])('age of %s -> %s', (at, want) => expect(formatAge(new Date(at), now)).toBe(want));

  it.each([
    ['online', '', 'Online'],
    ['offline', 'wrong credentials (401 Unauthorized)', 'Offline: wrong credentials (401 Unauthorized)'],
    ['offline', '', 'Offline'],
    ['idle', '', 'Idle (starts when watched)'],
    ['connecting', 'old', 'Connecting…'],
    ['stopped', '', 'Stopped'],
    ['ended', 'file "a.mp4": the file has ended: played once (loop is off)', 'Ended (the file has played)'],
  ] as const)('state %s (%s)', (state, lastError, want) => expect(describeState({ state, lastError })).toBe(want));

  it.each([
    ['', 'Idle (starts when watched)'],
    ['camera unreachable: connection refused', 'Idle, camera not answering: camera unreachable: connection refused'],
  ])('idle with health error %j', (lastHealthError, want) =>
    expect(describeState({ state: 'idle', lastError: '', lastHealthError })).toBe(want),
  );
});
