// Browser-side measurements for tools/bench (suite "guest"), printed as
// JSON on stdout: opening a media file through a guest share link, to the
// first frame on screen, against a logged-in user's open of the same file
// in the same run (same server, same browser, alternating).
//
//   node bench/guest.mjs --server BIN --work DIR [--runs N]
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';
import { addMedia, launchBrowser, owner, startServer, testVideo } from '../e2e/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const work = resolve(arg('work', '/tmp/clapshot-bench-guest'));
const runs = Number(arg('runs', '15'));
process.env.CLAPSHOT_SERVER = resolve(arg('server', '../bin/clapshot-server'));
const log = (...a) => console.error('  ', ...a);
const ownerHeaders = { 'X-Remote-User-Id': owner.user, 'X-Remote-User-Name': owner.name };

/** A JSON request to the server, as its owner (for the API) or not. */
function request(method, url, body, headers = {}) {
  return new Promise((res, rej) => {
    const data = body ? Buffer.from(JSON.stringify(body)) : null;
    const req = http.request(url, { method, headers: { ...headers, ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}) } }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', rej);
    if (data) req.write(data);
    req.end();
  });
}

// Navigation start to the first frame of the video on screen: the
// element has a decoded frame (readyState >= 2, its size known), and one
// more animation frame has passed, so it is painted.
const FIRST_FRAME = () => {
  const check = () => {
    const v = document.querySelector('video');
    if (v && v.readyState >= 2 && v.videoWidth > 0) {
      requestAnimationFrame(() => { window.__frameAt = performance.now(); });
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
};

/** One cold open (fresh context, empty cache) of url; `prepare` can set
 * cookies or act on the page (the guest's name form) before the wait. */
async function openToFrame(browser, url, { headers = {}, cookies = [], act = null } = {}) {
  const ctx = await browser.newContext({ extraHTTPHeaders: headers, viewport: { width: 1280, height: 800 } });
  if (cookies.length) await ctx.addCookies(cookies);
  await ctx.addInitScript(FIRST_FRAME);
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  if (act) await act(page);
  await page.waitForFunction(() => window.__frameAt !== undefined, null, { timeout: 60_000 });
  const t = await page.evaluate(() => window.__frameAt);
  await ctx.close();
  if (errors.length) throw new Error(`page errors at ${url}: ${errors.join('; ')}`);
  return t;
}

/** Waits until the server has no media job queued or running (the
 * thumbnails of the new file), so that the opens do not race them. */
async function waitIdle(base) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const m = await request('GET', `${base}api/metrics`);
    const busy = m.body.split('\n').some((l) => /^clapshot_ingest_jobs\{.*state="(queued|running)"\} [1-9]/.test(l));
    if (m.status === 200 && !busy) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('media jobs still running after 2 minutes');
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
const p90 = (a) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.ceil(a.length * 0.9) - 1)];

async function main() {
  mkdirSync(work, { recursive: true });
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const id = await addMedia(server, browser, testVideo('bench-guest.mp4', { seconds: 5, size: '1280x720' }));
    await waitIdle(server.url);
    const made = await request('POST', `${server.url}api/shares`, { media_file_id: id, permission: 'comment' }, ownerHeaders);
    if (made.status !== 201) throw new Error(`create link: ${made.status} ${made.body}`);
    const { token } = JSON.parse(made.body);
    const linkUrl = `${server.url}s/${token}/`;
    // A returning guest: the cookie of a guest who gave a name before.
    const joined = await request('POST', `${linkUrl}api/guest`, { name: 'Bench' });
    if (joined.status !== 200) throw new Error(`join: ${joined.status} ${joined.body}`);
    const [nv] = String(joined.headers['set-cookie']).split(';');
    const [cname, cvalue] = [nv.slice(0, nv.indexOf('=')), nv.slice(nv.indexOf('=') + 1)];
    const host = new URL(server.url).hostname;
    const cookies = [{ name: cname, value: cvalue, domain: host, path: '/', httpOnly: true, sameSite: 'Strict' }];

    const user = () => openToFrame(browser, `${server.url}?vid=${id}`, { headers: ownerHeaders });
    const guest = () => openToFrame(browser, `${linkUrl}?vid=${id}`, { cookies });
    const first = () => openToFrame(browser, linkUrl, {
      act: async (page) => {
        await page.getByLabel('Your name').fill('Ann');
        await page.getByRole('button', { name: 'Continue' }).click();
      },
    });
    log('warm-up');
    await user();
    await guest();
    log(`${runs} cold opens each, alternating`);
    const t = { user: [], guest: [], first: [] };
    for (let i = 0; i < runs; i++) {
      if (i % 2) {
        t.guest.push(await guest());
        t.user.push(await user());
      } else {
        t.user.push(await user());
        t.guest.push(await guest());
      }
      t.first.push(await first());
    }
    process.stdout.write(JSON.stringify({
      chromium: await browser.version(),
      runs,
      user: { median: median(t.user), p90: p90(t.user), all: t.user },
      guest: { median: median(t.guest), p90: p90(t.guest), all: t.guest },
      first: { median: median(t.first), p90: p90(t.first), all: t.first },
    }) + '\n');
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
