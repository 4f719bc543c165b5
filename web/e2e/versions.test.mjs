// Version stacks: uploading cut 2 onto cut 1 from the player, switching
// versions at the same time in the media, cut 1's comments shown faded on
// cut 2, the stack as one tile, a version of the wrong kind refused, and
// comparing cut 2 with cut 1 (side by side, wipe) on one clock, mirrored to
// a collab session.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { addMedia, e2e, openHome, owner, serverAndBrowser, testMediaPath, testVideo } from './harness.mjs';

let cut1;
let cut2;
const ctx = serverAndBrowser({
  setup: async (c) => {
    cut1 = await addMedia(c.server, c.browser, testVideo('cut1.mp4', { seconds: 6 }));
  },
});
const opts = { server: () => ctx.server, timeout: 180_000 };

async function openClip(s, id) {
  const page = await s.open(ctx.browser, `${ctx.server.url}?vid=${id}`, owner);
  await waitPlayable(page);
  return page;
}

async function waitPlayable(page) {
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 && v.videoWidth > 0;
  }, null, { timeout: 60_000 });
}

const timecode = (page) => page.getByLabel('Timecode', { exact: true });

async function seekTo(page, tc) {
  await timecode(page).fill(tc);
  await timecode(page).press('Enter');
  await page.waitForFunction((w) => document.querySelector('input[aria-label="Timecode"]')?.value === w, tc);
}

e2e('cut 2 onto cut 1: switch at the same time, earlier comments faded, one tile', async (s) => {
  const page = await openClip(s, cut1);
  // A comment on cut 1 at 1 s.
  await seekTo(page, '00:00:01:00');
  const box = page.getByLabel('Comment', { exact: true });
  await box.fill('The cut at one second is late');
  await box.press('Enter');
  await page.locator('article.card', { hasText: 'The cut at one second is late' }).waitFor();

  // Upload cut 2 from the player.
  const cut2file = testVideo('cut2.mp4', { seconds: 6, size: '480x270' });
  await page.getByLabel('New version file').setInputFiles(cut2file);
  const versionMenu = page.getByRole('combobox', { name: 'Version' });
  await versionMenu.waitFor({ timeout: 60_000 });
  assert.deepEqual(await versionMenu.locator('option').allTextContents(), ['v1 · cut1.mp4', 'v2 · cut2.mp4']);

  // Switch to v2 at 2 s: the same time in cut 2.
  await seekTo(page, '00:00:02:00');
  await versionMenu.selectOption({ label: 'v2 · cut2.mp4' });
  await page.waitForURL((u) => u.searchParams.get('vid') !== cut1, { timeout: 30_000 });
  cut2 = new URL(page.url()).searchParams.get('vid');
  await page.waitForFunction(() => document.querySelector('video')?.videoWidth === 480, null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('input[aria-label="Timecode"]')?.value === '00:00:02:00', null, { timeout: 30_000 });
  const t = await page.evaluate(() => document.querySelector('video').currentTime);
  assert.equal(Math.floor(t * 25 + 1e-6), 50, `cut 2 at ${t} s, want frame 50`);
  assert.equal(await versionMenu.inputValue(), cut2);
  assert.equal(await page.locator('article.card').count(), 0, "cut 2 has none of cut 1's comments of its own");

  // Cut 1's comment, faded, on request; clicking it seeks there.
  await page.getByLabel('Show comments of earlier versions').check();
  const older = page.locator('[data-older-comment]', { hasText: 'The cut at one second is late' });
  await older.waitFor();
  assert.match(await older.textContent(), /^v1/);
  assert.ok(Number(await older.evaluate((el) => getComputedStyle(el).opacity)) < 1, 'shown faded');
  await older.click();
  await page.waitForFunction(() => document.querySelector('input[aria-label="Timecode"]')?.value === '00:00:01:00');

  // Back to v1, at the same time.
  await versionMenu.selectOption({ label: 'v1 · cut1.mp4' });
  await page.waitForFunction(() => document.querySelector('video')?.videoWidth === 320, null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('input[aria-label="Timecode"]')?.value === '00:00:01:00', null, { timeout: 30_000 });

  // The home page shows the stack once, as cut 2.
  const home = await openHome(s, ctx.browser, ctx.server);
  const tiles = home.locator('.tile[data-key^="m:"]');
  await home.locator(`.tile[data-key="m:${cut2}"]`).waitFor();
  assert.equal(await home.locator(`.tile[data-key="m:${cut1}"]`).count(), 0);
  assert.equal((await home.locator(`.tile[data-key="m:${cut2}"] .ver`).textContent()).trim(), 'v2 / 2');
  assert.equal(await tiles.count(), 1);
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('an audio file as a new version of a video is refused, with the reason', async (s) => {
  const tone = testMediaPath('tone.wav');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=2', tone]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  const page = await openClip(s, cut1);
  await page.getByLabel('New version file').setInputFiles(tone);
  await page.getByText(/New version refused/).first().waitFor({ timeout: 60_000 });
  // The message carries the reason (its details, folded in the drawer).
  await page.getByText(/'tone\.wav': A new version of 'cut1\.mp4' must be a video like it, but this file is an audio file/).first()
    .waitFor({ state: 'attached' });
  const options = await page.getByRole('combobox', { name: 'Version' }).locator('option').allTextContents();
  assert.ok(!options.some((o) => o.includes('tone.wav')), `the audio file joined the stack: ${options}`);
}, opts);

/** The frame each <video> shows after a seek to frame f (typed into the
 * player's frame box): a's and b's presented frames, from
 * requestVideoFrameCallback registered before the seek. */
async function seekBoth(page, f) {
  const shown = page.evaluate(() => Promise.all([...document.querySelectorAll('video.a, video.b')].map((v) => new Promise((res) => {
    v.requestVideoFrameCallback((_n, m) => res(m.mediaTime));
    setTimeout(() => res(v.currentTime), 5000); // no new frame (already there)
  }))));
  const box = page.getByLabel('Frame number', { exact: true });
  await box.fill(String(f));
  await box.press('Enter');
  const [ta, tb] = await shown;
  await page.waitForFunction(() => [...document.querySelectorAll('video')].every((v) => !v.seeking));
  return [Math.floor(ta * 25 + 1e-6), Math.floor(tb * 25 + 1e-6)];
}

e2e('compare cut 2 with cut 1: side by side and wipe, one clock, mirrored to a collab session', async (s) => {
  assert.ok(cut2, 'the first test made cut 2');
  const alice = await openClip(s, cut2);
  await alice.getByRole('combobox', { name: 'Compare with' }).selectOption({ label: 'v1 · cut1.mp4' });
  const stage = alice.locator('.stage');
  await alice.waitForFunction(() => document.querySelector('video.b')?.readyState >= 2, null, { timeout: 30_000 });
  assert.match(await stage.getAttribute('class'), /\bside\b/);

  // Seek sync: both show the same frame after every seek (25 fps).
  const errors = [];
  for (const f of [12, 75, 3, 149, 40, 101, 0, 66]) {
    const [fa, fb] = await seekBoth(alice, f);
    assert.equal(fa, f, `the compared-to player shows frame ${fa}, not ${f}`);
    errors.push(Math.abs(fa - fb));
  }
  console.log(`compare seek-sync error, frames: ${errors.join(', ')} (max ${Math.max(...errors)})`);
  assert.ok(Math.max(...errors) <= 1, `seek-sync error ${errors}`);

  // Playing: b follows a's clock; paused again, the same frame.
  await alice.getByRole('button', { name: 'Play' }).click();
  await alice.waitForFunction(() => document.querySelector('video.a').currentTime > 1.5, null, { timeout: 20_000 });
  const playing = await alice.evaluate(() => !document.querySelector('video.b').paused);
  assert.ok(playing, 'the compared file plays along');
  await alice.getByRole('button', { name: 'Pause' }).click();
  await alice.waitForFunction(() => {
    const [a, b] = [document.querySelector('video.a'), document.querySelector('video.b')];
    return a.paused && b.paused && !b.seeking && Math.floor(a.currentTime * 25 + 1e-6) === Math.floor(b.currentTime * 25 + 1e-6);
  }, null, { timeout: 10_000 });

  // The wipe: cut 1 on the right of the line, which the slider moves.
  await alice.getByRole('combobox', { name: 'Compare mode' }).selectOption('wipe');
  const wipe = alice.getByRole('slider', { name: 'Wipe position' });
  await wipe.waitFor();
  assert.equal(await alice.locator('video.b').evaluate((v) => v.style.clipPath), 'inset(0px 0px 0px 50%)');
  await wipe.focus();
  await alice.keyboard.press('ArrowLeft');
  await alice.keyboard.press('ArrowLeft');
  assert.equal(await wipe.getAttribute('aria-valuenow'), '40');
  assert.equal(await alice.locator('video.b').evaluate((v) => v.style.clipPath), 'inset(0px 0px 0px 40%)');

  // A collab session mirrors the compare view.
  await alice.getByRole('button', { name: 'Start collaborative session' }).click();
  await alice.getByRole('region', { name: 'Collaborative session' }).waitFor();
  await wipe.focus();
  await alice.keyboard.press('ArrowRight'); // a change, reported to the room
  const bob = await s.open(ctx.browser, alice.url(), { user: 'bob', name: 'Bob' });
  await waitPlayable(bob);
  await bob.locator('.stage.wipe video.b').waitFor({ timeout: 30_000 });
  await bob.waitForFunction(() => document.querySelector('video.b')?.style.clipPath === 'inset(0px 0px 0px 45%)', null, { timeout: 15_000 });
  await alice.getByRole('combobox', { name: 'Compare mode' }).selectOption('side');
  await bob.locator('.stage.side').waitFor({ timeout: 15_000 });
  await seekBoth(alice, 88);
  await bob.waitForFunction(() => [...document.querySelectorAll('video')].every((v) => Math.floor(v.currentTime * 25 + 1e-6) === 88 && !v.seeking),
    null, { timeout: 15_000 });
  await alice.getByRole('combobox', { name: 'Compare with' }).selectOption('');
  await bob.locator('video.b').waitFor({ state: 'detached', timeout: 15_000 });
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('a file dropped on the player becomes the next version', async (s) => {
  const page = await openClip(s, cut2);
  // A drop from the desktop: a File in a DataTransfer, made in the page
  // from a clip the server has (cut 1's original, under a new name).
  await page.evaluate(async (url) => {
    const blob = await (await fetch(url)).blob();
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'cut3.mp4', { type: 'video/mp4' }));
    const stage = document.querySelector('.stage');
    stage.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    stage.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, `${ctx.server.url}videos/${cut1}/orig/cut1.mp4`);
  const versionMenu = page.getByRole('combobox', { name: 'Version' });
  await page.waitForFunction(() => [...document.querySelectorAll('select[aria-label="Version"] option')].some((o) => o.textContent.startsWith('v3')),
    null, { timeout: 60_000 });
  assert.deepEqual(await versionMenu.locator('option').allTextContents(), ['v1 · cut1.mp4', 'v2 · cut2.mp4', 'v3 · cut3.mp4']);
  assert.deepEqual(s.consoleErrors(), []);
}, opts);
