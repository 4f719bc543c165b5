// Live cameras (docs/live.md, "API contract for the web UI's Live page"):
// the streams this user may watch and their status, from
// GET api/live/streams. The server announces the API (settings.liveUrl)
// only when it has cameras configured; the Live page is offered only when
// that list is not empty, so nothing changes for anyone without cameras.
//
// The list is read once at start and on each reconnect, and polled while
// the Live page is open (watch()). Tiles only show status: a player counts
// as a viewer (and starts an on-demand camera), so only the one opened plays.

/** idle: on demand and nobody watching; offline: the last attempt failed (it keeps retrying);
 * ended: a file source without loop has played once. */
export type LiveState = 'idle' | 'connecting' | 'online' | 'offline' | 'stopped' | 'ended';

const STATES: readonly LiveState[] = ['idle', 'connecting', 'online', 'offline', 'stopped', 'ended'];

/** One camera as the list shows it. URLs are absolute ("" when the stream
 * lacks that output). */
export interface LiveStream {
  id: string;
  name: string;
  /** The camera's URL without its password; administrators only, else "". */
  url: string;
  state: LiveState;
  online: boolean;
  onDemand: boolean;
  outputs: string[];
  /** For MediaSource, e.g. "avc1.64001f,mp4a.40.2"; "" before the first keyframe. */
  codecs: string;
  /** e.g. "H.264 640x360, AAC"; "" before the first keyframe. */
  video: string;
  width: number;
  height: number;
  bitrateBps: number;
  viewers: number;
  reconnects: number;
  lastError: string;
  lastErrorAt: Date | null;
  /** The last health check of an idle on-demand camera (the server's
   * on_demand.health_check): "" when it answered or was not checked. */
  lastHealthError: string;
  /** When the stream entered its state. */
  since: Date | null;
  llhlsUrl: string;
  hlsUrl: string;
  mseUrl: string;
}

/** A failed request to the live API: its HTTP status (0: no answer) and
 * the server's reason. */
export class LiveError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'LiveError';
  }

  /** 404: the stream does not exist, or this user may not watch it (the
   * server does not tell them apart, on purpose). */
  get notFound() {
    return this.status === 404;
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Json, k: string): string {
  return typeof o[k] === 'string' ? (o[k] as string) : '';
}

function num(o: Json, k: string): number {
  const v = o[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function time(o: Json, k: string): Date | null {
  if (typeof o[k] !== 'string' || !o[k]) return null;
  const d = new Date(o[k] as string);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** One stream of the API's JSON. `base` is the API's own URL (ending in
 * "/"), which the stream's URLs are relative to. Throws on an entry
 * without an id, naming where it is. */
export function parseStream(raw: unknown, base: string, where = 'stream'): LiveStream {
  if (!isObject(raw)) throw new Error(`${where}: not an object`);
  const id = str(raw, 'id');
  if (!id) throw new Error(`${where}: no id`);
  const state = str(raw, 'state') as LiveState;
  const url = (k: string) => (str(raw, k) ? new URL(str(raw, k), base).toString() : '');
  return {
    id,
    name: str(raw, 'name') || id,
    url: str(raw, 'url'),
    state: STATES.includes(state) ? state : 'connecting',
    online: raw.online === true,
    onDemand: raw.on_demand === true,
    outputs: Array.isArray(raw.outputs) ? raw.outputs.filter((o): o is string => typeof o === 'string') : [],
    codecs: str(raw, 'codecs'),
    video: str(raw, 'video'),
    width: num(raw, 'width'),
    height: num(raw, 'height'),
    bitrateBps: num(raw, 'bitrate_bps'),
    viewers: num(raw, 'viewers'),
    reconnects: num(raw, 'reconnects'),
    lastError: str(raw, 'last_error'),
    lastErrorAt: time(raw, 'last_error_at'),
    lastHealthError: str(raw, 'last_health_error'),
    since: time(raw, 'since'),
    llhlsUrl: url('llhls_url'),
    hlsUrl: url('hls_url'),
    mseUrl: url('mse_url'),
  };
}

/** The answer of GET streams: the streams and the server's clock. */
export function parseStreamList(raw: unknown, base: string): { streams: LiveStream[]; time: Date | null } {
  if (!isObject(raw) || !Array.isArray(raw.streams)) throw new Error('the live stream list is not {"streams": [...]}');
  return { streams: raw.streams.map((s, i) => parseStream(s, base, `streams[${i}]`)), time: time(raw, 'time') };
}

/** The websocket URL for a stream's MSE output (http(s) -> ws(s)). */
export function wsUrlFor(httpUrl: string): string {
  return httpUrl.replace(/^http:/, 'ws:').replace(/^https:/, 'wss:');
}

/** The fetch the store uses (window.fetch, or a test's). */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** How often the open Live page refreshes the list. */
export const POLL_MS = 3000;

export class LiveStore {
  /** The streams this user may watch, in the server's order. */
  streams = $state.raw<LiveStream[]>([]);
  /** Why the last refresh failed, or null. */
  error = $state<string | null>(null);
  /** True once a list has arrived. */
  loaded = $state(false);
  /** The server's clock at the last list (for the age of errors), else ours. */
  serverTime = $state<Date>(new Date());

  private watchers = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private inFlight: Promise<void> | null = null;

  /** base: settings.liveUrl ("" = the server has no cameras). */
  constructor(
    readonly base: string,
    private fetchFn: Fetch = (u, i) => fetch(u, i),
  ) {}

  /** The server has cameras configured. */
  get enabled() {
    return this.base !== '';
  }

  /** There is something for this user on a Live page. */
  get available() {
    return this.enabled && this.streams.length > 0;
  }

  /** The stream with this id in the last list. */
  get(id: string): LiveStream | undefined {
    return this.streams.find((s) => s.id === id);
  }

  private async getJSON(path: string): Promise<unknown> {
    let r: Response;
    try {
      r = await this.fetchFn(this.base + path, { cache: 'no-store', credentials: 'same-origin' });
    } catch (e) {
      throw new LiveError(`Cannot reach the server: ${(e as Error).message}`, 0);
    }
    if (!r.ok) {
      let msg = `${r.status} ${r.statusText}`.trim();
      try {
        const body = await r.json();
        if (isObject(body) && typeof body.error === 'string' && body.error) msg = body.error;
      } catch {
        // Not JSON (e.g. a proxy's page): the status says enough.
      }
      throw new LiveError(msg, r.status);
    }
    try {
      return await r.json();
    } catch {
      throw new LiveError('The server sent something that is not JSON', r.status);
    }
  }

  /** Reads the list again; concurrent calls share one request. */
  refresh(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    this.inFlight = (async () => {
      try {
        const { streams, time } = parseStreamList(await this.getJSON('streams'), this.base);
        this.streams = streams;
        this.serverTime = time ?? new Date();
        this.error = null;
        this.loaded = true;
      } catch (e) {
        this.error = (e as Error).message;
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  /** One stream, fresh from the server (its entry in the list is updated).
   * Throws a LiveError (notFound for an unknown or forbidden id). */
  async fetchOne(id: string): Promise<LiveStream> {
    if (!this.enabled) throw new LiveError('This server has no live cameras', 404);
    let raw: unknown;
    try {
      raw = await this.getJSON(`streams/${encodeURIComponent(id)}`);
    } catch (e) {
      if (e instanceof LiveError && e.notFound) this.streams = this.streams.filter((o) => o.id !== id);
      throw e;
    }
    const s = parseStream(raw, this.base);
    this.streams = this.streams.some((o) => o.id === id) ? this.streams.map((o) => (o.id === id ? s : o)) : [...this.streams, s];
    return s;
  }

  /** Polls the list every `ms` until the returned function is called
   * (each page that shows live status calls it; polling stops with the last). */
  watch(ms = POLL_MS): () => void {
    if (!this.enabled) return () => {};
    this.watchers++;
    if (!this.timer) {
      void this.refresh();
      this.timer = setInterval(() => void this.refresh(), ms);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.watchers === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }
}
