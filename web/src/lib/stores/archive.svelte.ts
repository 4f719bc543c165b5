// One live stream's archive on its player page: the recorded ranges (GET
// <archive_url>ranges, polled while the stream records), the start and end
// the user picked, and "Send to review" (POST <archive_url>review, docs/live.md):
// the server exports the range and queues it as the user's upload, then the
// ingest pipeline adds it like any upload and says so in a user message
// naming the new media file, which this store watches for.
import { UserMessage_Type, type UserMessage } from '../../proto/common';
import { checkPick, formatClock, ordered, parseRanges, unixSeconds, type ArchiveRange, type Pick } from '../live/archive';
import { LiveError, requestJSON, type Fetch } from './live.svelte';

/** exporting: the server is cutting the range; adding: queued, the
 * ingest pipeline has not added it yet; ready: a media file to open;
 * failed: why is in error. */
export type ClipState = 'exporting' | 'adding' | 'ready' | 'failed';

/** A range sent to review from this page. */
export interface Clip {
  /** Local key, for lists. */
  key: number;
  title: string;
  start: number;
  end: number;
  state: ClipState;
  /** The new media file's id, once the server has queued it. */
  mediaFileId: string;
  /** Its length as exported, in seconds (0 until known). */
  duration: number;
  error: string;
}

/** Where the store hears of the server's user messages (MessagesStore). */
export interface Notices {
  /** Calls fn for every notice until the returned function is called. */
  onNotice(fn: (msg: UserMessage) => void): () => void;
}

/** How often the ranges are read again while the stream records. */
export const RANGES_POLL_MS = 5000;

export class ArchiveStore {
  /** The recorded ranges, in order; gaps between them are gaps in the recording. */
  ranges = $state.raw<ArchiveRange[]>([]);
  /** True once the ranges have been read (an empty archive included). */
  loaded = $state(false);
  /** Why the last read failed, or null. */
  error = $state<string | null>(null);
  /** The start and end picked for "Send to review". */
  pick = $state<Pick>({ start: null, end: null });
  /** What was sent from here, newest first. */
  clips = $state.raw<Clip[]>([]);
  /** What is wrong with the pick, or null when it can be sent. */
  readonly problem = $derived(checkPick(this.pick, this.ranges));

  private timer: ReturnType<typeof setInterval> | null = null;
  private inFlight: Promise<void> | null = null;
  private unlisten: (() => void) | null = null;
  /** Outcomes of ingests heard before their POST's answer (the websocket
   * can be faster than the HTTP response). */
  private heard = new Map<string, string | null>();
  private nextKey = 1;

  /** url: the stream's archive_url (absolute, ending in "/"). */
  constructor(
    readonly url: string,
    notices?: Notices,
    private fetchFn: Fetch = (u, i) => fetch(u, i),
  ) {
    this.unlisten = notices?.onNotice((m) => this.onNotice(m)) ?? null;
  }

  /** Reads the ranges again; concurrent calls share one request. An
   * archive with nothing in it yet is empty, not an error. */
  refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = (async () => {
      try {
        this.ranges = parseRanges(await requestJSON(this.fetchFn, this.url + 'ranges'));
        this.error = null;
        this.loaded = true;
      } catch (e) {
        if (e instanceof LiveError && e.notFound && /no archive segments/.test(e.message)) {
          this.ranges = [];
          this.error = null;
          this.loaded = true;
        } else {
          this.error = (e as Error).message;
        }
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  /** Reads the ranges now and, while `on`, every `ms` (the stream records,
   * so the last range grows). */
  poll(on: boolean, ms = RANGES_POLL_MS) {
    if (on && !this.timer) this.timer = setInterval(() => void this.refresh(), ms);
    if (!on && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Stops polling and listening. */
  close() {
    this.poll(false);
    this.unlisten?.();
    this.unlisten = null;
  }

  /** HLS VOD of the archive from `from` (to its end, or to `to`). */
  vodUrl(from: number, to?: number): string {
    const q = new URLSearchParams({ start: unixSeconds(from) });
    if (to !== undefined) q.set('end', unixSeconds(to));
    return `${this.url}vod.m3u8?${q}`;
  }

  setStart(t: number | null) {
    this.pick = { ...this.pick, start: t };
  }

  setEnd(t: number | null) {
    this.pick = { ...this.pick, end: t };
  }

  /** Picks from a to b, in either order (a drag). */
  select(a: number, b: number) {
    this.pick = ordered(a, b);
  }

  /** Sends the picked range to review as a new media file titled `title`
   * ("" lets the server name it). Resolves with the clip, which goes on
   * to "ready" or "failed" when the pipeline reports. */
  async send(title: string): Promise<Clip> {
    const p = this.pick;
    if (this.problem || p.start === null || p.end === null) throw new Error(this.problem ?? 'Pick a range.');
    let clip: Clip = {
      key: this.nextKey++, title: title.trim() || `${formatClock(p.start)} – ${formatClock(p.end, false)}`,
      start: p.start, end: p.end, state: 'exporting', mediaFileId: '', duration: 0, error: '',
    };
    this.clips = [clip, ...this.clips];
    const update = (c: Partial<Clip>) => {
      clip = { ...clip, ...c };
      this.clips = this.clips.map((o) => (o.key === clip.key ? clip : o));
    };
    try {
      const body = JSON.stringify({ start: new Date(p.start).toISOString(), end: new Date(p.end).toISOString(), title: title.trim() });
      const raw = (await requestJSON(this.fetchFn, this.url + 'review', {
        method: 'POST', body, headers: { 'Content-Type': 'application/json' },
      })) as Record<string, unknown>;
      const id = typeof raw.media_file_id === 'string' ? raw.media_file_id : '';
      if (!id) throw new Error('The server queued the range but named no media file');
      update({
        mediaFileId: id, state: 'adding',
        title: typeof raw.title === 'string' && raw.title ? raw.title : clip.title,
        duration: typeof raw.duration === 'number' ? raw.duration : 0,
      });
      if (this.heard.has(id)) this.settle(id, this.heard.get(id) ?? null);
    } catch (e) {
      update({ state: 'failed', error: (e as Error).message });
    }
    return clip;
  }

  private onNotice(m: UserMessage) {
    const id = m.refs?.mediaFileId;
    if (!id) return;
    const error = m.type === UserMessage_Type.ERROR ? `${m.message} ${m.details ?? ''}`.trim() : null;
    if (this.clips.some((c) => c.mediaFileId === id)) this.settle(id, error);
    else if (this.clips.some((c) => c.state === 'exporting')) {
      if (this.heard.size >= 100) this.heard.clear();
      this.heard.set(id, error);
    }
  }

  /** The pipeline has added the media file (or refused it with error). */
  private settle(id: string, error: string | null) {
    this.heard.delete(id);
    this.clips = this.clips.map((c) =>
      c.mediaFileId === id && c.state === 'adding' ? { ...c, state: error ? 'failed' : 'ready', error: error ?? '' } : c,
    );
  }
}
