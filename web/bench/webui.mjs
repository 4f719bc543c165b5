// Browser-side measurements for tools/bench (suite "webui"), printed as
// JSON on stdout. Everything runs on loopback against the real server, in
// Debian's Chromium, and every figure has a reference measured in the same
// run: a blank Svelte 5 + Vite page built here with the same toolchain and
// served by the same server (--web-dir).
//
//   node bench/webui.mjs --server BIN --work DIR [--runs N] [--comments N]
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { addMedia, launchBrowser, owner, startServer, testVideo } from '../e2e/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const work = resolve(arg('work', '/tmp/clapshot-bench-webui'));
const runs = Number(arg('runs', '10'));
const nComments = Number(arg('comments', '1000'));
process.env.CLAPSHOT_SERVER = resolve(arg('server', '../bin/clapshot-server'));
const log = (...a) => console.error('  ', ...a);
const webDir = resolve('.');

// ---- The reference page: a blank Svelte 5 app, built now. ----
function buildReference() {
  const dir = join(work, 'blank-vite');
  mkdirSync(join(dir, 'src'), { recursive: true });
  try {
    symlinkSync(join(webDir, 'node_modules'), join(dir, 'node_modules'));
  } catch { /* already there */ }
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>Blank</title></head><body><div id="app"></div><script type="module" src="./src/main.js"></script></body></html>');
  writeFileSync(join(dir, 'src/App.svelte'), '<script>let n = $state(0);</script><button id="ready" onclick={() => n++}>Clicked {n}</button>');
  writeFileSync(join(dir, 'src/main.js'), "import { mount } from 'svelte';\nimport App from './App.svelte';\nmount(App, { target: document.getElementById('app') });\n");
  writeFileSync(join(dir, 'vite.config.mjs'), "import { svelte } from '@sveltejs/vite-plugin-svelte';\nexport default { base: './', plugins: [svelte()], logLevel: 'error' };\n");
  execFileSync(process.execPath, [join(webDir, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', 'dist'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  return join(dir, 'dist');
}

/** The reference for the comment list: the same number of cards with the
 * same content as static HTML, no framework, in a scrolling column. */
function staticList(n) {
  let h = '<!doctype html><html><head><meta charset="utf-8"><title>List</title><style>body{margin:0;font:14px system-ui;background:#141414;color:#ddd}'
    + 'main{display:flex;height:100vh}.v{flex:1}#comment_list{width:330px;overflow-y:auto;padding:4px 10px;display:flex;flex-direction:column;gap:6px}'
    + 'article{padding:8px 10px;border:1px solid #2c2c2c;border-radius:6px;content-visibility:auto;contain-intrinsic-size:auto 92px}'
    + 'header,footer{display:flex;gap:8px;align-items:center}p{white-space:pre-wrap}</style></head><body><main><div class="v"></div><div id="comment_list">';
  for (let i = 0; i < n; i++) {
    h += `<article class="card"><header><span>AL</span><b>Alice</b><button>00:00:01:00</button></header><p>Note ${i}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 5))}</p>`
      + '<footer><small>21/11/2026, 10:00</small><button>Reply</button><button>Edit</button><button>Delete</button></footer></article>';
  }
  return h + '</div></main></body></html>';
}

// ---- Bytes of JS and CSS the first page loads, as sent (gzip). ----
function get(url, headers = {}) {
  return new Promise((res, rej) => {
    http.get(url, { headers }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
    }).on('error', rej);
  });
}
async function pageWeight(base) {
  const index = (await get(base)).body.toString();
  const refs = [...index.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  const out = { js: 0, css: 0, jsRaw: 0, cssRaw: 0, files: [] };
  for (const ref of refs) {
    const url = new URL(ref, base).toString();
    const gz = await get(url, { 'Accept-Encoding': 'gzip' });
    const raw = await get(url);
    const kind = ref.endsWith('.css') ? 'css' : 'js';
    out[kind] += gz.body.length;
    out[kind + 'Raw'] += raw.body.length;
    out.files.push({ file: ref, gzip: gz.body.length, raw: raw.body.length, encoding: gz.headers['content-encoding'] ?? 'identity' });
  }
  return out;
}

// ---- Time to interactive: navigation start to the first usable screen. ----
// An init script notes performance.now() when the selector first matches.
async function timeTo(browser, url, selector, minCount = 1, headers = {}) {
  const ctx = await browser.newContext({ extraHTTPHeaders: headers, viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript(([sel, n]) => {
    const check = () => {
      if (document.querySelectorAll(sel).length >= n) {
        // One more frame: the content is painted, not only in the DOM.
        requestAnimationFrame(() => { window.__readyAt = performance.now(); });
        return;
      }
      requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, [selector, minCount]);
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.__readyAt !== undefined, null, { timeout: 60_000 });
  const t = await page.evaluate(() => window.__readyAt);
  let scroll = null;
  if (minCount > 1) scroll = await scrollJank(page);
  await ctx.close();
  if (errors.length) throw new Error(`page errors at ${url}: ${errors.join('; ')}`);
  return { t, scroll };
}

// Scrolls the comment list top to bottom in 40 steps, one per frame, and
// reports the longest frame.
async function scrollJank(page) {
  return page.evaluate(() => new Promise((res) => {
    const list = document.getElementById('comment_list');
    const steps = 40;
    let i = 0;
    let last = performance.now();
    let worst = 0;
    const frame = () => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      if (i > steps) return res(worst);
      list.scrollTop = (list.scrollHeight * i) / steps;
      i++;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }));
}

// Adds comments straight over the websocket, as any client would, paced
// under the server's rate limit (100 messages a second by default).
async function seedComments(browser, base, mediaId, n) {
  const ctx = await browser.newContext({ extraHTTPHeaders: { 'X-Remote-User-Id': owner.user, 'X-Remote-User-Name': owner.name } });
  const page = await ctx.newPage();
  await page.goto(base);
  await page.evaluate(async ([mid, count]) => {
    const ws = new WebSocket(new URL('api/ws', location.href).toString().replace(/^http/, 'ws'));
    await new Promise((r, j) => { ws.onopen = r; ws.onerror = () => j(new Error('websocket failed')); });
    let got = 0;
    const done = new Promise((r, j) => {
      ws.onmessage = (e) => { if (e.data.startsWith('{"addComments"')) { got++; if (got >= count) r(); } };
      ws.onclose = (e) => j(new Error(`websocket closed (${e.code}) after ${got} comments`));
      setTimeout(() => j(new Error(`only ${got} of ${count} comments stored in time`)), 120_000);
    });
    ws.send(JSON.stringify({ openMediaFile: { mediaFileId: mid }, cookies: {} }));
    for (let i = 0; i < count; i++) {
      const f = (i * 37) % 75;
      const tc = `00:00:0${Math.floor(f / 25)}:${String(f % 25).padStart(2, '0')}`;
      ws.send(JSON.stringify({ addComment: { mediaFileId: mid, comment: `Note ${i}: ` + 'lorem ipsum dolor sit amet '.repeat(1 + (i % 5)), timecode: i % 10 === 9 ? undefined : tc }, cookies: {} }));
      if (i % 40 === 39) await new Promise((r) => setTimeout(r, 500));
    }
    await done;
    ws.onclose = null;
    ws.close();
  }, [mediaId, n]);
  await ctx.close();
}

// How long a frame step takes to show, with a page already open.
async function stepLatency(browser, url, headers, n = 10) {
  const ctx = await browser.newContext({ extraHTTPHeaders: headers, viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(url);
  await page.waitForFunction(() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }, null, { timeout: 60_000 });
  const times = [];
  for (let i = 0; i < n; i++) {
    times.push(await page.evaluate(() => new Promise((res) => {
      const box = document.querySelector('input[aria-label="Frame number"]');
      const want = String(Number(box.value) + 1);
      const t0 = performance.now();
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
      const check = () => (box.value === want ? requestAnimationFrame(() => res(performance.now() - t0)) : requestAnimationFrame(check));
      check();
    })));
  }
  await ctx.close();
  return times;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];

async function main() {
  mkdirSync(work, { recursive: true });
  log('building the reference page (blank Svelte 5 + Vite)');
  const refDist = buildReference();
  writeFileSync(join(refDist, 'list.html'), staticList(nComments));
  const ours = await startServer();
  const ref = await startServer({ args: ['--web-dir', refDist] });
  const browser = await launchBrowser();
  try {
    log('page weight');
    const weight = { ours: await pageWeight(ours.url), ref: await pageWeight(ref.url) };

    log(`time to interactive, ${runs} cold loads each`);
    const hdr = { 'X-Remote-User-Id': owner.user, 'X-Remote-User-Name': owner.name };
    const tti = { ours: [], ref: [] };
    // One warm-up each (the server's first gzip of each asset).
    await timeTo(browser, ours.url, '[role=listbox]', 1, hdr);
    await timeTo(browser, ref.url, '#ready');
    for (let i = 0; i < runs; i++) {
      tti.ours.push((await timeTo(browser, ours.url, '[role=listbox]', 1, hdr)).t);
      tti.ref.push((await timeTo(browser, ref.url, '#ready')).t);
    }

    log(`a media file with ${nComments} comments, and one with 1`);
    const many = await addMedia(ours, browser, testVideo('bench-many.mp4'));
    const one = await addMedia(ours, browser, testVideo('bench-one.mp4'));
    await seedComments(browser, ours.url, many, nComments);
    await seedComments(browser, ours.url, one, 1);
    const comments = { all: [], one: [], scrollWorst: [], stepMany: [], stepOne: [], staticAll: [], staticScrollWorst: [] };
    const crun = Math.max(3, Math.ceil(runs / 2));
    for (let i = 0; i < crun; i++) {
      const m = await timeTo(browser, `${ours.url}?vid=${many}`, 'article.card', nComments, hdr);
      comments.all.push(m.t);
      comments.scrollWorst.push(m.scroll);
      comments.one.push((await timeTo(browser, `${ours.url}?vid=${one}`, 'article.card', 1, hdr)).t);
      const st = await timeTo(browser, `${ref.url}list.html`, 'article.card', nComments);
      comments.staticAll.push(st.t);
      comments.staticScrollWorst.push(st.scroll);
    }
    comments.stepMany = await stepLatency(browser, `${ours.url}?vid=${many}`, hdr);
    comments.stepOne = await stepLatency(browser, `${ours.url}?vid=${one}`, hdr);
    const chromium = (await browser.version());
    process.stdout.write(JSON.stringify({
      chromium,
      runs,
      nComments,
      weight,
      tti: { ours: median(tti.ours), ref: median(tti.ref), oursAll: tti.ours, refAll: tti.ref },
      comments: {
        all: median(comments.all), one: median(comments.one), scrollWorst: median(comments.scrollWorst), runs: crun,
        stepMany: median(comments.stepMany), stepOne: median(comments.stepOne),
        staticAll: median(comments.staticAll), staticScrollWorst: median(comments.staticScrollWorst),
      },
    }) + '\n');
  } finally {
    await browser.close();
    await ours.stop();
    await ref.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
