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
  /** Health check answers that mean "never again" (a share link's page:
   * 404 and 410, a link that is gone or has ended); their text becomes
   * `ended`. */
  finalStatuses?: number[];
}

/** The close code with which the server ends a session for good, with
 * the reason (a guest's share link revoked or expired): no reconnecting. */
export const CLOSE_POLICY = 1008;

const MAX_QUEUE = 5000;
const HEALTH_TIMEOUT_MS = 10_000;
/** Sending pace: the server drops what exceeds its rate limit (100 a
 * second by default, bursts of 300), so stay well below it. */
export const SEND_RATE = 60;
export const SEND_BURST = 120;

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
  /** Why the server ended the connection for good (no more attempts). */
  ended = $state<string | null>(null);

  private ws: WebSocket | null = null;
  /** Waiting to be sent: while disconnected, or beyond the pace. */
  private queue: { name: string; text: string }[] = [];
  private tokens = SEND_BURST;
  private lastRefill = 0;
  private drainTimer: ReturnType<typeof setTimeout> | null = null;
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

  /** Sends a command now, or queues it: while disconnected (until the
   * connection is back) and beyond the sending pace. Only the newest collab
   * report is kept: an older one would be stale. */
  send(cmd: Command) {
    const name = commandName(cmd);
    const text = encodeCommand(cmd, allCookies());
    if (name === 'collabReport') {
      if (this.phase !== 'open') return;
      this.queue = this.queue.filter((q) => q.name !== 'collabReport');
    }
    if (this.queue.length >= MAX_QUEUE) this.queue.shift();
    this.queue.push({ name, text });
    this.drain();
  }

  /** Number of commands not sent yet. */
  get pending() {
    return this.queue.length;
  }

  private drain() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.phase !== 'open') return;
    const now = performance.now();
    this.tokens = Math.min(SEND_BURST, this.tokens + ((now - this.lastRefill) / 1000) * SEND_RATE);
    this.lastRefill = now;
    while (this.queue.length && this.tokens >= 1) {
      ws.send(this.queue.shift()!.text);
      this.tokens -= 1;
    }
    if (this.queue.length && !this.drainTimer) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = null;
        this.drain();
      }, Math.ceil(1000 / SEND_RATE));
    }
  }

  /** Stops for good, with the server's reason. */
  private end(reason: string) {
    this.ended = reason;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, 'ended');
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
      if (this.opts.finalStatuses?.includes(r.status)) {
        this.end((await r.text()).trim() || `The server answered HTTP ${r.status}.`);
        return false;
      }
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
      // What the user was looking at is reopened first, then whatever
      // waited for the connection (minus stale collab reports).
      const waiting = this.queue.filter((q) => q.name !== 'collabReport');
      this.queue = [];
      try {
        this.opts.onOpen();
      } finally {
        this.queue.push(...waiting);
        this.drain();
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
      if (ev.code === CLOSE_POLICY) {
        this.end(ev.reason || 'The server ended the session.');
        return;
      }
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
