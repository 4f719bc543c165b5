// Browser-side measurements of the compare view for tools/bench (suite
// "compare"), printed as JSON on stdout: how far apart (in frames) the two
// versions are after a seek and while playing, and how long a seek takes.
// Real server on loopback, Debian's Chromium. The reference, in the same
// run: a plain page with the same two <video> elements driven the naive
// way (both seeked to the same time, both started with play()).
//
//   node bench/compare.mjs --server BIN --work DIR [--seeks N]
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { addMedia, launchBrowser, owner, startServer } from '../e2e/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const work = resolve(arg('work', '/tmp/clapshot-bench-compare'));
const seeks = Number(arg('seeks', '40'));
process.env.CLAPSHOT_SERVER = resolve(arg('server', '../bin/clapshot-server'));
const log = (...a) => console.error('  ', ...a);
const FPS = 25;

function clip(name, size) {
  mkdirSync(work, { recursive: true });
  const out = join(work, name);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${FPS}:duration=30`,
    '-f', 'lavfi', '-i', 'sine=duration=30', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-movflags', '+faststart', out]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  return out;
}

/** Uploads a file as a new version of mediaId, waits until it is listed. */
async function addVersion(server, file, mediaId) {
  const { readFileSync } = await import('node:fs');
  const form = new FormData();
  form.append('fileupload', new Blob([readFileSync(file)]), 'cut2.mp4');
  const res = await fetch(`${server.url}api/upload`, { method: 'POST', body: form,
    headers: { 'X-Remote-User-Id': owner.user, 'X-Clapshot-Version-Of': mediaId } });
  if (!res.ok) throw new Error(`version upload: ${res.status} ${await res.text()}`);
}

// In the page: seek both to frame f (through `seek`), and read the frame
// each presents (requestVideoFrameCallback, registered before the seek).
const measureSeeks = async (page, frames, how) => page.evaluate(async ({ frames, how, fps }) => {
  const [a, b] = [document.querySelector('video.a'), document.querySelector('video.b')];
  const presented = (v) => new Promise((res) => {
    const t = setTimeout(() => res(v.currentTime), 3000);
    v.requestVideoFrameCallback((_n, m) => { clearTimeout(t); res(m.mediaTime); });
  });
  const box = document.querySelector('input[aria-label="Frame number"]');
  const out = [];
  for (const f of frames) {
    const pa = presented(a), pb = presented(b);
    const t0 = performance.now();
    if (how === 'app') {
      box.focus();
      box.value = String(f);
      box.dispatchEvent(new Event('input', { bubbles: true }));
      box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    } else {
      a.currentTime = b.currentTime = (f + 0.5) / fps;
    }
    const [ta, tb] = await Promise.all([pa, pb]);
    const ms = performance.now() - t0;
    out.push({ want: f, a: Math.floor(ta * fps + 1e-6), b: Math.floor(tb * fps + 1e-6), ms });
  }
  return out;
}, { frames, how, fps: FPS });

// In the page: play for `seconds`, and at every frame a presents, how far
// b is (in frames).
const measurePlay = async (page, seconds, how) => page.evaluate(async ({ seconds, how, fps }) => {
  const [a, b] = [document.querySelector('video.a'), document.querySelector('video.b')];
  const drift = [];
  // What b shows when a shows a frame: b's last presented frame, moved on
  // by the time between the two displays.
  let bShown = null;
  const bTick = (_n, m) => {
    bShown = { media: m.mediaTime, at: m.expectedDisplayTime };
    b.requestVideoFrameCallback(bTick);
  };
  b.requestVideoFrameCallback(bTick);
  const done = new Promise((res) => {
    const tick = (_n, m) => {
      if (bShown) drift.push(Math.abs(bShown.media + ((m.expectedDisplayTime - bShown.at) / 1000) * b.playbackRate - m.mediaTime) * fps);
      if (m.mediaTime < seconds + 1) a.requestVideoFrameCallback(tick);
      else res();
    };
    a.requestVideoFrameCallback(tick);
  });
  if (how === 'app') document.querySelector('#playbutton').click();
  else { a.play(); b.play(); }
  await done;
  a.pause();
  b.pause();
  drift.sort((x, y) => x - y);
  return { frames: drift.length, p50: drift[Math.floor(drift.length / 2)], p95: drift[Math.floor(drift.length * 0.95)], max: drift[drift.length - 1] };
}, { seconds, how, fps: FPS });

const server = await startServer();
const browser = await launchBrowser();
try {
  const v1 = await addMedia(server, browser, clip('cut1.mp4', '640x360'));
  await addVersion(server, clip('cut2.mp4', '960x540'), v1);
  log('cut 1 and cut 2 uploaded');
  const ctx = await browser.newContext({ extraHTTPHeaders: { 'X-Remote-User-Id': owner.user, 'X-Remote-User-Name': owner.name }, viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  // Cut 2 stands for the stack; open cut 1's stack through it.
  const deadline = Date.now() + 120_000;
  let cut2 = null;
  while (!cut2 && Date.now() < deadline) {
    await page.goto(`${server.url}?vid=${v1}`);
    await page.waitForFunction(() => document.querySelector('select[aria-label="Version"]'), null, { timeout: 30_000 }).catch(() => {});
    cut2 = await page.evaluate(() => [...document.querySelectorAll('select[aria-label="Version"] option')].find((o) => o.textContent.startsWith('v2'))?.value ?? null);
  }
  if (!cut2) throw new Error('cut 2 never joined the stack');
  await page.goto(`${server.url}?vid=${cut2}`);
  await page.waitForFunction(() => document.querySelector('video')?.readyState >= 2, null, { timeout: 60_000 });
  await page.getByRole('combobox', { name: 'Compare with' }).selectOption({ index: 1 });
  await page.waitForFunction(() => document.querySelector('video.b')?.readyState >= 2, null, { timeout: 60_000 });

  const frames = Array.from({ length: seeks }, (_, i) => (i * 137 + 11) % (29 * FPS));
  const ours = await measureSeeks(page, frames, 'app');
  await measureSeeks(page, [0], 'app');
  const oursPlay = await measurePlay(page, 10, 'app');
  log('compare view measured');

  // The reference: the same two files in a plain page, driven naively.
  const urls = await page.evaluate(() => [document.querySelector('video.a').currentSrc, document.querySelector('video.b').currentSrc]);
  const ref = await ctx.newPage();
  await ref.setContent(`<video class="a" src="${urls[0]}" muted preload="auto" width="640"></video><video class="b" src="${urls[1]}" muted preload="auto" width="640"></video>`);
  await ref.waitForFunction(() => [...document.querySelectorAll('video')].every((v) => v.readyState >= 2), null, { timeout: 60_000 });
  const refSeeks = await measureSeeks(ref, frames, 'plain');
  await ref.evaluate(() => { for (const v of document.querySelectorAll('video')) v.currentTime = 0; });
  await ref.waitForFunction(() => [...document.querySelectorAll('video')].every((v) => !v.seeking));
  const refPlay = await measurePlay(ref, 10, 'plain');
  log('reference measured');

  const summary = (list) => {
    const err = list.map((x) => Math.abs(x.a - x.b));
    const ms = list.map((x) => x.ms).sort((x, y) => x - y);
    return { maxErr: Math.max(...err), meanErr: err.reduce((s, x) => s + x, 0) / err.length, wrongA: list.filter((x) => x.a !== x.want).length,
      msP50: ms[Math.floor(ms.length / 2)], msMax: ms[ms.length - 1] };
  };
  console.log(JSON.stringify({ chromium: browser.version(), seeks, ours: summary(ours), ref: summary(refSeeks), oursPlay, refPlay }));
} finally {
  await browser.close();
  await server.stop();
}
