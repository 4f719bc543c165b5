// The Live page against a real camera: demo-live's RTSP server fed by
// ffmpeg (testsrc2, 320x240), pulled by the server's live engine
// (--live-config), played in Chromium by hls.js (LL-HLS) and by MSE over
// the websocket; per-stream `users` decide who sees what.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { e2e, launchBrowser, openHome, owner, startCamera, startServer } from './harness.mjs';

const LOBBY = '0742091c-19cd-4658-9b4f-5320da160f45'; // everyone
const DESK = '1d1b2c3e-8f4a-4c7e-9a55-0b6f2e1c9d01'; // alice only
const BROKEN = '2e2c3d4f-9a5b-4d8f-8b66-1c7a3f2dae12'; // a camera that is not there

const bob = { user: 'bob', name: 'Bob' };
const ctx = { camera: null, server: null, browser: null, dir: '' };

before(async () => {
  ctx.camera = await startCamera();
  ctx.dir = mkdtempSync(join(tmpdir(), 'clapshot-e2e-live-'));
  const conf = join(ctx.dir, 'live.toml');
  // TCP: two sessions on one gortsplib test server must not SETUP over UDP
  // at once (a race inside gortsplib v5.6.5's server).
  writeFileSync(conf, `
[hls]
directory = ${JSON.stringify(join(ctx.dir, 'hls'))}

[engine]
reconnect_max_ms = 1000

[[rtsp_streams]]
guid = "${LOBBY}"
name = "Lobby"
url = "${ctx.camera.url}"
transport = "tcp"
output_types = ["mse", "llhls"]

[[rtsp_streams]]
guid = "${DESK}"
name = "Alice's desk"
url = "${ctx.camera.url}"
transport = "tcp"
output_types = ["mse", "llhls"]
users = ["alice"]

[[rtsp_streams]]
guid = "${BROKEN}"
name = "Broken"
url = "rtsp://127.0.0.1:9/nothing"
transport = "tcp"
`);
  ctx.server = await startServer({ args: ['--live-config', conf] });
  ctx.browser = await launchBrowser();
});

after(async () => {
  await ctx.browser?.close();
  await ctx.server?.stop();
  await ctx.camera?.stop();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

const opts = { server: () => ctx.server, timeout: 120_000 };
const tile = (page, id) => page.locator(`.tile[data-stream="${id}"]`);

/** Waits until the <video> plays: its time advances by over a second. */
async function playing(page) {
  await page.waitForFunction(() => {
    const v = document.querySelector('video.live-video');
    return v && v.readyState >= 2 && v.currentTime > 0.2 && !v.paused;
  }, null, { timeout: 45_000 });
  const t0 = await page.evaluate(() => document.querySelector('video.live-video').currentTime);
  await page.waitForFunction((t) => document.querySelector('video.live-video').currentTime > t + 1, t0, { timeout: 15_000 });
  return page.evaluate(() => {
    const v = document.querySelector('video.live-video');
    return { mode: v.dataset.mode, width: v.videoWidth, height: v.videoHeight };
  });
}

e2e('the Live page: a tile per camera with its status, online, offline with the reason', async (s) => {
  const page = await openHome(s, ctx.browser, ctx.server, owner);
  await page.getByRole('link', { name: 'Live' }).click();
  await page.getByRole('heading', { name: 'Live cameras' }).waitFor();
  assert.match(page.url(), /\?live$/);
  const lobby = tile(page, LOBBY);
  await page.locator(`.tile[data-stream="${LOBBY}"][data-state="online"]`).waitFor({ timeout: 30_000 });
  await page.locator(`.tile[data-stream="${DESK}"][data-state="online"]`).waitFor({ timeout: 30_000 });
  // The tiles refresh by themselves: the bitrate appears once measured.
  await page.waitForFunction((id) => /\d+ kbit\/s/.test(document.querySelector(`.tile[data-stream="${id}"]`).textContent), LOBBY, { timeout: 15_000 });
  const text = await lobby.innerText();
  for (const want of ['Lobby', 'Online', '320×240', 'H.264 320x240, AAC', '0 viewers']) assert.ok(text.includes(want), `tile text ${JSON.stringify(text)} lacks ${want}`);
  // A camera that cannot be reached says why.
  await page.locator(`.tile[data-stream="${BROKEN}"][data-state="offline"]`).waitFor({ timeout: 30_000 });
  assert.match(await tile(page, BROKEN).innerText(), /Offline: camera unreachable: connection refused/);
  assert.equal(await page.locator('.tile').count(), 3);
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('hls.js plays the LL-HLS stream, and MSE over the websocket plays it too', async (s) => {
  const page = await s.open(ctx.browser, `${ctx.server.url}?live`, owner);
  const llhls = [];
  page.on('request', (r) => { if (r.url().includes(`/api/live/streams/${LOBBY}/llhls/`)) llhls.push(r.url()); });
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await tile(page, LOBBY).click();
  assert.match(page.url(), new RegExp(`\\?live=${LOBBY}$`));
  await page.getByRole('heading', { name: 'Lobby' }).waitFor();

  const hls = await playing(page);
  assert.deepEqual(hls, { mode: 'hls', width: 320, height: 240 });
  assert.equal(await page.getByRole('button', { name: 'LL-HLS' }).getAttribute('aria-pressed'), 'true');
  // Low-latency mode: hls.js reloads playlists blocking and loads parts
  // (without lowLatencyMode it would load whole segments only).
  assert.ok(llhls.some((u) => /_HLS_msn=\d+/.test(u)), `no blocking playlist reload among ${llhls.slice(0, 5).join(' ')}`);
  assert.ok(llhls.some((u) => /_part\d+\.mp4/.test(u)), `no LL-HLS part loaded among ${llhls.slice(-8).join(' ')}`);
  await page.getByTestId('resolution').filter({ hasText: '320×240' }).waitFor();
  // The player counts as a viewer.
  await page.getByText(/[1-9]\d* viewers?/).waitFor({ timeout: 15_000 });

  await page.getByRole('button', { name: 'MSE' }).click();
  await page.waitForFunction(() => document.querySelector('video.live-video').dataset.mode === 'mse');
  const mse = await playing(page);
  assert.deepEqual(mse, { mode: 'mse', width: 320, height: 240 });
  assert.ok(sockets.some((u) => u.endsWith(`/api/live/streams/${LOBBY}/mse`)), `sockets: ${sockets.join(' ')}`);
  // The MSE player keeps near the newest picture.
  const behind = await page.evaluate(() => {
    const v = document.querySelector('video.live-video');
    return v.buffered.end(v.buffered.length - 1) - v.currentTime;
  });
  assert.ok(behind < 1.6, `MSE playback ${behind.toFixed(2)} s behind the newest picture`);

  // Back to the grid; the choice of player is remembered.
  await page.getByRole('button', { name: 'All cameras' }).click();
  await page.getByRole('heading', { name: 'Live cameras' }).waitFor();
  await tile(page, DESK).click();
  assert.deepEqual(await playing(page), { mode: 'mse', width: 320, height: 240 });
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('a user not in a stream\'s users list neither sees nor can open it', async (s) => {
  const page = await s.open(ctx.browser, `${ctx.server.url}?live`, bob);
  await page.locator(`.tile[data-stream="${LOBBY}"]`).waitFor({ timeout: 20_000 });
  assert.equal(await tile(page, DESK).count(), 0);
  assert.equal(await page.locator('.tile').count(), 2);
  const list = await (await page.request.get(`${ctx.server.url}api/live/streams`)).json();
  assert.deepEqual(list.streams.map((x) => x.id).sort(), [LOBBY, BROKEN].sort());
  // Nor the camera's URL: that is for administrators.
  assert.ok(list.streams.every((x) => x.url === ''));

  // A link to it says it is not there for him, and plays nothing.
  await page.goto(`${ctx.server.url}?live=${DESK}`);
  await page.getByRole('alert').filter({ hasText: 'No such stream, or you may not watch it.' }).waitFor({ timeout: 15_000 });
  const r = await page.request.get(`${ctx.server.url}api/live/streams/${DESK}/llhls/index.m3u8`);
  assert.equal(r.status(), 404);
  assert.deepEqual(s.consoleErrors([/Failed to load resource: the server responded with a status of 404/]), []);
}, opts);

e2e('the player of a camera that is not there says so and keeps trying', async (s) => {
  const page = await s.open(ctx.browser, `${ctx.server.url}?live=${BROKEN}`, owner);
  await page.getByRole('heading', { name: 'Broken' }).waitFor({ timeout: 20_000 });
  const overlay = page.locator('.stage .overlay');
  await overlay.filter({ hasText: 'camera unreachable: connection refused' }).waitFor({ timeout: 30_000 });
  assert.match(await overlay.innerText(), /Waiting for it…|Trying again…/);
  assert.equal(await page.locator('.state[data-state="offline"]').count(), 1);
}, opts);

e2e('without cameras there is no Live page to go to', async (s) => {
  const plain = await startServer();
  try {
    const page = await openHome(s, ctx.browser, plain, owner);
    const settings = JSON.parse(await page.locator('#clapshot-settings').textContent());
    assert.equal(settings.live_url, undefined);
    assert.equal(await page.getByRole('link', { name: 'Live' }).count(), 0);
    assert.equal((await page.request.get(`${plain.url}api/live/streams`)).status(), 404);
    assert.deepEqual(s.consoleErrors(), []);
  } finally {
    await plain.stop();
  }
}, opts);
