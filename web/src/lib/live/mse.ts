// MSE over a websocket, video-server's protocol (docs/live.md, "MSE
// websocket protocol"): the first binary message is 0x09 followed by the
// codec string, then the fMP4 init segment, then one moof+mdat fragment
// per message. A later 0x09 message announces new codec parameters (its
// init segment follows): the SourceBuffer changes type in place. Text
// "ping" keeps proxies from timing the socket out; the server answers
// "pong".
import type { LivePlayback, PlaybackEvents } from './playback';

/** The codec message's first byte. An MP4 box starts with its 32-bit
 * size, so a fragment starting with 0x09 would be over 150 MB: the byte
 * cannot be mistaken. */
export const CODEC_MESSAGE = 0x09;

/** How often the socket is pinged. */
export const PING_MS = 10_000;
/** More than this behind the newest picture, playback jumps ahead... */
export const MAX_BEHIND_S = 1.5;
/** ...to this far behind it. */
export const JUMP_TO_BEHIND_S = 0.3;
/** Buffered media older than this behind playback is removed. */
export const KEEP_BEHIND_S = 20;

/** One binary message of the protocol. */
export type MseMessage = { kind: 'codec'; codec: string } | { kind: 'media'; data: Uint8Array };

export function parseMseMessage(data: ArrayBuffer): MseMessage {
  const b = new Uint8Array(data);
  if (b.length > 0 && b[0] === CODEC_MESSAGE) return { kind: 'codec', codec: new TextDecoder().decode(b.subarray(1)).trim() };
  return { kind: 'media', data: b };
}

/** The MediaSource type for a codec string of the protocol. */
export function mimeType(codec: string): string {
  return `video/mp4; codecs="${codec}"`;
}

/** What the user is told when the socket closes (the player did not close it). */
export function closeReason(code: number, reason: string): { message: string; retry: boolean } {
  switch (code) {
    case 1008: // the server refused: unknown stream, not allowed, no mse output
      return { message: reason || 'The server refused this stream', retry: false };
    case 1001:
      return { message: reason ? `The stream stopped (${reason})` : 'The stream stopped', retry: true };
    case 1006:
      return { message: 'The connection to the server was lost', retry: true };
  }
  return { message: reason ? `${reason} (websocket closed with ${code})` : `The websocket closed (${code})`, retry: true };
}

/** The parts of a SourceBuffer the feeder uses. */
export interface BufferLike {
  readonly updating: boolean;
  mode: AppendMode;
  readonly buffered: TimeRanges;
  appendBuffer(data: BufferSource): void;
  remove(start: number, end: number): void;
  changeType?(type: string): void;
  addEventListener(type: 'updateend', fn: () => void): void;
}

/** The parts of a MediaSource the feeder uses. */
export interface SourceLike {
  readonly readyState: ReadyState;
  addSourceBuffer(type: string): BufferLike;
}

/** The parts of a <video> the feeder uses. */
export interface VideoLike {
  currentTime: number;
  readonly paused: boolean;
  play(): Promise<void>;
}

export interface FeederOptions {
  isTypeSupported(type: string): boolean;
  onerror(message: string, retry: boolean): void;
}

/** Feeds the protocol's messages into a MediaSource, one append at a
 * time, keeping playback near the newest picture and the buffer short. */
export class MseFeeder {
  /** The codec string in force. */
  codec = '';
  private sb: BufferLike | null = null;
  private queue: MseMessage[] = [];
  private started = false;
  private failed = false;

  constructor(
    private ms: SourceLike,
    private video: VideoLike,
    private opts: FeederOptions,
  ) {}

  /** Queues a message; it is appended as soon as the buffer is free. */
  push(m: MseMessage) {
    if (this.failed) return;
    this.queue.push(m);
    this.pump();
  }

  /** Seconds between the picture shown and the newest one buffered. */
  behind(): number | null {
    const r = this.sb?.buffered;
    if (!r || !r.length) return null;
    return Math.max(0, r.end(r.length - 1) - this.video.currentTime);
  }

  private fail(message: string, retry: boolean) {
    this.failed = true;
    this.queue = [];
    this.opts.onerror(message, retry);
  }

  private pump() {
    while (!this.failed && this.queue.length && !this.sb?.updating && this.ms.readyState === 'open') {
      const m = this.queue.shift()!;
      if (m.kind === 'codec') {
        this.setCodec(m.codec);
        continue;
      }
      if (!this.sb) return this.fail('The server sent media before its codec', true);
      try {
        this.sb.appendBuffer(m.data as Uint8Array<ArrayBuffer>);
      } catch (e) {
        return this.fail(`The browser refused the stream's media: ${(e as Error).message}`, true);
      }
      return; // the next one on updateend
    }
  }

  private setCodec(codec: string) {
    const type = mimeType(codec);
    if (!codec || !this.opts.isTypeSupported(type)) {
      return this.fail(`This browser cannot play ${codec || 'the stream'} (${type}); try the other player`, false);
    }
    if (!this.sb) {
      this.sb = this.ms.addSourceBuffer(type);
      this.sb.mode = 'segments';
      this.sb.addEventListener('updateend', () => this.onUpdateEnd());
    } else if (codec !== this.codec) {
      if (typeof this.sb.changeType !== 'function') {
        // An old browser: a new connection starts a new MediaSource.
        return this.fail('The camera changed its codec', true);
      }
      this.sb.changeType(type);
    }
    this.codec = codec;
  }

  private onUpdateEnd() {
    if (this.failed) return;
    this.keepLive();
    this.pump();
  }

  /** Starts playback, jumps ahead when it lags, and trims old media. */
  private keepLive() {
    const sb = this.sb!;
    const r = sb.buffered;
    if (!r.length) return;
    const start = r.start(0);
    const end = r.end(r.length - 1);
    const v = this.video;
    if (!this.started) {
      this.started = true;
      v.currentTime = start;
      v.play().catch(() => {
        // Autoplay refused: the controls let the user start it.
      });
    } else if (!v.paused && (end - v.currentTime > MAX_BEHIND_S || v.currentTime < start)) {
      v.currentTime = Math.max(start, end - JUMP_TO_BEHIND_S);
    }
    if (v.currentTime - start > KEEP_BEHIND_S * 2 && !sb.updating) sb.remove(start, v.currentTime - KEEP_BEHIND_S);
  }
}

/** Plays a stream's MSE websocket in a <video>. */
export class MsePlayer implements LivePlayback {
  private objectUrl = '';
  private ws: WebSocket | null = null;
  private feeder: MseFeeder | null = null;
  private ping: ReturnType<typeof setInterval> | null = null;
  private stopped = false;

  constructor(
    private video: HTMLVideoElement,
    private wsUrl: string,
    private ev: PlaybackEvents,
  ) {}

  start(): this {
    if (typeof MediaSource === 'undefined') {
      this.fail('This browser has no Media Source Extensions; try the HLS player', false);
      return this;
    }
    const ms = new MediaSource();
    this.objectUrl = URL.createObjectURL(ms);
    ms.addEventListener('sourceopen', () => this.connect(ms), { once: true });
    this.video.src = this.objectUrl;
    return this;
  }

  private connect(ms: MediaSource) {
    if (this.stopped) return;
    this.feeder = new MseFeeder(ms, this.video, {
      isTypeSupported: (t) => MediaSource.isTypeSupported(t),
      onerror: (m, retry) => this.fail(m, retry),
    });
    const ws = (this.ws = new WebSocket(this.wsUrl));
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) this.feeder?.push(parseMseMessage(e.data));
    };
    ws.onclose = (e) => {
      const { message, retry } = closeReason(e.code, e.reason);
      this.fail(message, retry);
    };
    this.ping = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send('ping');
    }, PING_MS);
  }

  private fail(message: string, retry: boolean) {
    if (this.stopped) return;
    this.stop();
    this.ev.onerror(message, retry);
  }

  latency(): number | null {
    return this.feeder?.behind() ?? null;
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ping) clearInterval(this.ping);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.onmessage = null;
      this.ws.close(1000);
    }
    this.video.removeAttribute('src');
    this.video.load();
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
  }
}
