// The adaptive HLS ladder (--hls-ladder): hls.js plays it with a quality
// menu, switches down when the test throttles the network (Chromium's
// network conditions, through CDP), and the player falls back to the MP4
// when the ladder cannot be loaded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { addMedia, e2e, owner, serverAndBrowser, testMediaPath } from './harness.mjs';

// Small rungs, far apart, so that a throttled link fits only the lower ones.
const RUNGS = '360:1.2,240:0.4,144:0.12';

let mediaId;
const ctx = serverAndBrowser({
  args: ['--hls-ladder', '--hls-ladder-rungs', RUNGS],
  setup: async (c) => {
    // 90 s of noise: longer than hls.js's 30 s buffer, so it keeps loading
    // (and choosing renditions) while the test plays it; the noise makes
    // every rung use its bitrate.
    const clip = testMediaPath('ladder-noise.mp4');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=90,noise=alls=25:allf=t',
      '-f', 'lavfi', '-i', 'sine=frequency=440:duration=90', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '2M', '-maxrate', '2M',
      '-bufsize', '4M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart', clip]);
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
    mediaId = await addMedia(c.server, c.browser, clip);
    await waitForLadder(c.server, mediaId);
  },
});
const opts = { server: () => ctx.server, timeout: 240_000 };

/** Waits until the server has made the file's ladder. */
async function waitForLadder(server, id) {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${server.url}videos/${id}/hls/master.m3u8`).catch(() => null);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no ladder after 180 s:\n${server.log()}`);
}

async function openPlayer(s) {
  const page = await s.open(ctx.browser, `${ctx.server.url}?vid=${mediaId}`, owner);
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 && v.videoWidth > 0;
  }, null, { timeout: 60_000 });
  return page;
}

const quality = (page) => page.locator('.player').getAttribute('data-quality');

async function waitQuality(page, want, timeout = 60_000) {
  await page.waitForFunction((w) => w.includes(document.querySelector('.player')?.dataset.quality), want, { timeout, polling: 200 })
    .catch(async (e) => {
      throw new Error(`quality ${await quality(page)}, want one of ${want}: ${e.message}`);
    });
}

e2e('hls.js plays the ladder, with a quality menu, and switches down on a throttled link', async (s) => {
  const page = await openPlayer(s);
  assert.equal(await page.locator('.player').getAttribute('data-source'), 'hls');
  assert.match(await page.evaluate(() => document.querySelector('video').src), /^blob:/, 'hls.js feeds the <video> through Media Source Extensions');
  const menu = page.getByRole('combobox', { name: 'Quality' });
  await menu.waitFor();
  const names = (await menu.locator('option').allTextContents()).map((t) => t.replace(/ \(.*\)$/, ''));
  assert.deepEqual(names, ['Auto', '360p', '240p', '144p']);

  // On loopback the estimate climbs to the top rendition.
  await page.getByRole('button', { name: 'Play' }).click();
  await waitQuality(page, ['360p']);
  assert.match(await menu.locator('option').first().textContent(), /^Auto \(360p\)$/);

  // 60 KB/s (480 kbit/s) holds 144p (120 + 128 kbit/s of audio) and not
  // 360p (1.2 Mbit/s): hls.js measures its slow downloads and goes down.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 40, downloadThroughput: 60_000, uploadThroughput: -1 });
  await waitQuality(page, ['240p', '144p'], 90_000);
  const playing = await page.evaluate(() => !document.querySelector('video').paused);
  assert.ok(playing, 'still playing after the switch');

  // A rendition chosen in the menu is loaded at once, whatever the link;
  // Auto gives the choice back to hls.js.
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await menu.selectOption({ label: '360p' });
  await waitQuality(page, ['360p'], 30_000);
  await menu.selectOption({ label: '144p' });
  await waitQuality(page, ['144p'], 30_000);
  await menu.selectOption({ index: 0 });
  assert.equal(await menu.inputValue(), '-1');
  assert.match(await menu.locator('option').first().textContent(), /^Auto( \(\d+p\))?$/);
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('without its ladder the file plays from the MP4', async (s) => {
  // The ladder disappears from the disk (its directory removed under the server).
  const dir = join(ctx.server.dataDir, 'videos', mediaId);
  for (const d of readdirSync(dir).filter((n) => n.startsWith('hls_'))) rmSync(join(dir, d), { recursive: true, force: true });
  const page = await openPlayer(s);
  await page.waitForFunction(() => document.querySelector('.player')?.dataset.source === 'mp4', null, { timeout: 30_000 });
  assert.match(await page.evaluate(() => document.querySelector('video').src), /\/videos\/[0-9a-f]+\/orig\/ladder-noise\.mp4$/);
  assert.equal(await page.getByRole('combobox', { name: 'Quality' }).count(), 0);
  await page.getByText(/The adaptive stream failed/).waitFor();
  // It plays.
  await page.getByRole('button', { name: 'Play' }).click();
  await page.waitForFunction(() => document.querySelector('video').currentTime > 0.5, null, { timeout: 30_000 });
  // The 404s of the playlist are the browser's console errors; nothing else.
  assert.deepEqual(s.consoleErrors([/404/]), []);
}, opts);
