// End-to-end test harness: starts the real clapshot-server on a free
// loopback port with a fresh data directory, and drives Debian's Chromium
// through playwright-core (never a downloaded browser). On a failure every
// page the test opened is screenshotted into test-output/e2e/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

export const SERVER = process.env.CLAPSHOT_SERVER ?? resolve('../bin/clapshot-server');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ORGANIZER = process.env.CLAPSHOT_ORGANIZER ?? resolve('../bin/clapshot-organizer-folders');
/** tools/demo-live: a real RTSP server with an ffmpeg camera (testsrc2). */
export const DEMO_LIVE = process.env.CLAPSHOT_DEMO_LIVE ?? resolve('../bin/demo-live');

/** The folders organizer binary, for suites that need it. */
export function requireOrganizer() {
  if (!existsSync(ORGANIZER)) throw new Error(`organizer ${ORGANIZER} missing: run make organizer (or set CLAPSHOT_ORGANIZER)`);
  return ORGANIZER;
}
export const OUT = resolve(process.env.E2E_OUTPUT ?? '../test-output/e2e');

/** Starts bin; resolves once its output matches `ready`, with the match,
 * the process, its log so far (and on), and a stop function. */
async function spawnReady(bin, args, ready, what, timeoutMs) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const onData = (b) => { log += b.toString(); };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const match = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${what} did not start in ${timeoutMs / 1000} s:\n${log}`)), timeoutMs);
    const check = () => {
      const m = log.match(ready);
      if (m) { clearTimeout(timer); res(m); }
    };
    proc.stdout.on('data', check);
    proc.stderr.on('data', check);
    proc.on('exit', (code) => { clearTimeout(timer); rej(new Error(`${what} exited with ${code}:\n${log}`)); });
  });
  proc.removeAllListeners('exit');
  /** Stops it (SIGTERM, or e.g. SIGKILL to crash it), SIGKILL after 10 s. */
  const stop = async (signal = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    }
  };
  return { match, log: () => log, stop };
}

/** Starts a server; resolves once it accepts requests. */
export async function startServer({ args = [], dataDir, port = 0 } = {}) {
  if (!existsSync(SERVER)) throw new Error(`server binary ${SERVER} missing: run make server (or set CLAPSHOT_SERVER)`);
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'clapshot-e2e-'));
  const p = await spawnReady(SERVER, ['--data-dir', dir, '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--poll', '0.3', ...args],
    /listen=(127\.0\.0\.1:\d+)/, 'server', 20_000);
  const url = `http://${p.match[1]}/`;
  return {
    url,
    dataDir: dir,
    port: Number(url.match(/:(\d+)\/$/)[1]),
    log: p.log,
    /** Stops the server (SIGTERM, or e.g. SIGKILL to crash it); its data
     * directory is removed unless keepData. */
    async stop({ keepData = false, signal = 'SIGTERM' } = {}) {
      await p.stop(signal);
      if (!dataDir && !keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a test camera (`demo-live -camera-only`: gortsplib's RTSP server
 * on a free loopback port, fed by ffmpeg's testsrc2 with a burnt-in clock);
 * resolves with its rtsp:// URL once ffmpeg publishes. */
export async function startCamera({ size = '320x240', fps = 25, bitrate = '300k' } = {}) {
  if (!existsSync(DEMO_LIVE)) throw new Error(`${DEMO_LIVE} missing: go build -o bin/demo-live ./tools/demo-live (or set CLAPSHOT_DEMO_LIVE)`);
  const dir = mkdtempSync(join(tmpdir(), 'clapshot-e2e-camera-'));
  const p = await spawnReady(DEMO_LIVE, ['-camera-only', '-rtsp', '127.0.0.1:0', '-size', size, '-fps', String(fps), '-bitrate', bitrate, '-dir', dir],
    /Test camera: (rtsp:\/\/127\.0\.0\.1:\d+\/\S+)/, 'the test camera', 30_000);
  return {
    url: p.match[1],
    log: p.log,
    async stop() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium (make test does it as root)`);
  // Playwright gives each launch a fresh temporary --user-data-dir.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** Per-test registry of pages, for screenshots on failure and console checks. */
export class Session {
  constructor(name) {
    this.name = name;
    this.pages = [];
    this.contexts = [];
  }

  /** Opens a page as a user (identity headers reach the websocket upgrade too). */
  async open(br, url, { user, name, admin, viewport } = {}) {
    const headers = {};
    if (user) headers['X-Remote-User-Id'] = user;
    if (name) headers['X-Remote-User-Name'] = name;
    if (admin) headers['X-Remote-User-Is-Admin'] = 'true';
    const ctx = await br.newContext({ extraHTTPHeaders: headers, viewport: viewport ?? { width: 1280, height: 800 } });
    this.contexts.push(ctx);
    // Nothing may leave loopback.
    await ctx.route((u) => !/^(https?|wss?):\/\/(127\.0\.0\.1|localhost)[:/]/.test(u.toString()) && !u.toString().startsWith('data:') && !u.toString().startsWith('blob:'),
      (route) => route.abort());
    const page = await ctx.newPage();
    const entry = { page, label: user ?? 'default', errors: [] };
    page.on('console', (m) => { if (m.type() === 'error') entry.errors.push(m.text()); });
    page.on('pageerror', (e) => entry.errors.push(`uncaught: ${e.message}`));
    this.pages.push(entry);
    await page.goto(url);
    return page;
  }

  /** Console errors of all pages, minus those matching allow. */
  consoleErrors(allow = []) {
    return this.pages.flatMap((p) => p.errors.filter((e) => !allow.some((re) => re.test(e))).map((e) => `[${p.label}] ${e}`));
  }

  async screenshots() {
    mkdirSync(OUT, { recursive: true });
    const safe = this.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    for (const [i, p] of this.pages.entries()) {
      try {
        await p.page.screenshot({ path: join(OUT, `${safe}-${i}-${p.label}.png`), fullPage: true, timeout: 5000 });
      } catch { /* the page may be gone */ }
    }
  }

  async close() {
    for (const c of this.contexts) await c.close().catch(() => {});
  }
}

/** A test with a Session; screenshots and server log on failure. */
export function e2e(name, fn, { timeout = 90_000, server } = {}) {
  test(name, { timeout }, async () => {
    const s = new Session(name);
    try {
      await fn(s);
    } catch (err) {
      await s.screenshots();
      if (server?.()) {
        mkdirSync(OUT, { recursive: true });
        writeFileSync(join(OUT, `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-server.log`), server().log());
      }
      throw err;
    } finally {
      await s.close();
    }
  });
}

const mediaDir = mkdtempSync(join(tmpdir(), 'clapshot-e2e-media-'));
process.on('exit', () => rmSync(mediaDir, { recursive: true, force: true }));

/** Makes a small test clip with ffmpeg (lavfi sources; the picture shows
 * its own timestamp and frame number). Cached per run. */
export function testVideo(name = 'clip.mp4', { seconds = 3, fps = 25, size = '320x180' } = {}) {
  const out = join(mediaDir, name);
  if (existsSync(out)) return out;
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${fps}:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', out]);
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  return out;
}

/** Writes a small text file for the test (subtitles, EDLs, ...). */
export function testFile(name, content) {
  const out = join(mediaDir, name);
  writeFileSync(out, content);
  return out;
}

/** The user most tests act as. */
export const owner = { user: 'alice', name: 'Alice' };

/** Opens the home page and waits for the listing. */
export async function openHome(s, br, server, as = owner) {
  const page = await s.open(br, server.url, as);
  await page.getByRole('listbox', { name: 'Media files and folders' }).waitFor({ timeout: 20_000 });
  return page;
}

/** Uploads a media file through the page's file picker as `as`, waits
 * until the listing shows it, and returns its id. */
export async function addMedia(server, br, file, as = owner) {
  const s = new Session('add-media');
  try {
    const page = await openHome(s, br, server, as);
    await page.locator('.zone input[type=file]').setInputFiles(file);
    const tile = page.locator('.tile[data-key^="m:"]').filter({ hasText: basename(file) });
    await tile.first().waitFor({ timeout: 60_000 });
    const key = await tile.first().getAttribute('data-key');
    return key.slice(2);
  } finally {
    await s.close();
  }
}

/** A path in the run's scratch media folder. */
export function testMediaPath(name) {
  return join(mediaDir, name);
}

/** One server and one browser for a test file; tests read ctx.server and
 * ctx.browser (and may replace ctx.server, e.g. after a restart). `setup`
 * runs once both are up. */
export function serverAndBrowser({ setup = async () => {}, ...opts } = {}) {
  const ctx = { server: null, browser: null };
  before(async () => {
    ctx.server = await startServer(opts);
    ctx.browser = await launchBrowser();
    await setup(ctx);
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.server?.stop();
  });
  return ctx;
}

/** Restarts ctx.server on the same port and data directory (SIGKILL to
 * simulate a crash). `whileDown` runs between stop and start. */
export async function restartServer(ctx, { signal = 'SIGTERM', whileDown = async () => {} } = {}) {
  const { port, dataDir } = ctx.server;
  await ctx.server.stop({ keepData: true, signal });
  await whileDown();
  const next = await startServer({ port, dataDir });
  ctx.server = {
    ...next,
    stop: async () => {
      await next.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
