// The connection to the server: a health check first (as Clapshot's client
// does, so an auth proxy can answer it), then the websocket; reconnects
// with backoff and keeps the reasons it could not connect, for the
// "cannot reach server" screen.
import { allCookies } from './cookies';
import { commandName, decodeMessage, encodeCommand, type Command, type ServerMessage } from './protocol';

export type Phase = 'checking' | 'connecting' | 'open' | 'waiting';

export interface ConnError {
  at: Date;
  msg: string;
}

export interface ConnectionOptions {
  wsUrl: string;
  healthUrl: string;
  onOpen: () => void;
  onMessage: (m: ServerMessage) => void;
  onProtocolError?: (err: string) => void;
}

const MAX_QUEUE = 500;
const HEALTH_TIMEOUT_MS = 10_000;

/** Backoff: ×1.5 per failure from `first`, up to `cap`, with ±20 % jitter. */
export function nextDelay(prev: number, first: number, cap: number, rnd = Math.random()): number {
  const base = prev <= 0 ? first : Math.min(prev * 1.5, cap);
  return Math.round(base * (0.8 + 0.4 * rnd));
}

export class Connection {
  phase = $state<Phase>('checking');
  errors = $state<ConnError[]>([]);
  /** When the next attempt starts (ms since epoch), while waiting. */
  retryAt = $state(0);
  /** True once the first connection has opened (reconnecting, not connecting). */
  everOpen = $state(false);

  private ws: WebSocket | null = null;
  private queue: string[] = [];
  private delay = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private opts: ConnectionOptions) {}

  start() {
    this.stopped = false;
    void this.attempt();
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, 'page closed');
  }

  /** Skips the wait and tries again at once. */
  retryNow() {
    if (this.phase !== 'waiting') return;
    if (this.timer) clearTimeout(this.timer);
    void this.attempt();
  }

  get isOpen() {
    return this.phase === 'open';
  }

  /** Sends a command, or queues it until the connection is back. Collab
   * reports are not queued: by then they would be stale. */
  send(cmd: Command) {
    const name = commandName(cmd);
    const text = encodeCommand(cmd, allCookies());
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.phase === 'open') {
      this.ws.send(text);
      return;
    }
    if (name === 'collabReport') return;
    if (this.queue.length >= MAX_QUEUE) this.queue.shift();
    this.queue.push(text);
  }

  private fail(msg: string) {
    this.errors = [...this.errors.slice(-9), { at: new Date(), msg }];
  }

  private schedule(first: number, cap: number) {
    if (this.stopped) return;
    this.delay = nextDelay(this.delay, first, cap);
    this.phase = 'waiting';
    this.retryAt = Date.now() + this.delay;
    this.timer = setTimeout(() => void this.attempt(), this.delay);
  }

  private async attempt() {
    if (this.stopped) return;
    this.timer = null;
    this.phase = 'checking';
    const ok = await this.healthCheck();
    if (this.stopped) return;
    if (!ok) {
      this.schedule(500, 30_000);
      return;
    }
    this.openSocket();
  }

  private async healthCheck(): Promise<boolean> {
    const url = this.opts.healthUrl;
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), HEALTH_TIMEOUT_MS);
    try {
      const r = await fetch(url, {
        headers: { Accept: 'application/json', 'X-Clapshot-Cookies': JSON.stringify(allCookies()) },
        redirect: 'manual',
        credentials: 'same-origin',
        cache: 'no-store',
        signal: ctl.signal,
      });
      if (r.ok) return true;
      if (r.type === 'opaqueredirect' || r.status === 401 || r.status === 403) {
        this.fail(`The server at ${url} asks to log in (HTTP ${r.status || 'redirect'}). Reload the page to log in again.`);
      } else {
        this.fail(`Health check ${url} answered HTTP ${r.status} ${r.statusText}`.trim());
      }
    } catch (e) {
      const err = e as Error;
      this.fail(err.name === 'AbortError' ? `No answer from ${url} within ${HEALTH_TIMEOUT_MS / 1000} s` : `Cannot reach ${url}: ${err.message}`);
    } finally {
      clearTimeout(t);
    }
    return false;
  }

  private openSocket() {
    this.phase = 'connecting';
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.wsUrl);
    } catch (e) {
      this.fail(`Bad websocket URL ${this.opts.wsUrl}: ${(e as Error).message}`);
      this.schedule(500, 30_000);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.delay = 0;
      this.phase = 'open';
      this.everOpen = true;
      this.errors = [];
      try {
        this.opts.onOpen();
      } finally {
        const q = this.queue;
        this.queue = [];
        for (const text of q) ws.send(text);
      }
    };
    ws.onmessage = (ev) => {
      let msg: ServerMessage;
      try {
        msg = decodeMessage(ev.data);
      } catch (e) {
        const err = `Unreadable message from the server: ${(e as Error).message}`;
        console.error(err, ev.data);
        this.opts.onProtocolError?.(err);
        return;
      }
      this.opts.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (opened) {
        this.fail(`Connection lost (code ${ev.code}${ev.reason ? ': ' + ev.reason : ''}); reconnecting`);
        this.schedule(250, 5_000);
      } else {
        this.fail(`Websocket ${this.opts.wsUrl} refused the connection (code ${ev.code}${ev.reason ? ': ' + ev.reason : ''})`);
        this.schedule(500, 30_000);
      }
    };
  }
}
