// The archive on a live stream's player page, against a real camera
// (demo-live's RTSP server fed by ffmpeg) recorded by the server: the
// timeline of recorded ranges, archive playback through hls.js (HLS VOD),
// a range picked by dragging, "Send to review", and the new media file
// opened, played and commented on like any upload.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cameraServerAndBrowser, e2e, owner, videoPlays } from './harness.mjs';

const YARD = '5b0c2f7e-3d41-4a8e-9c1f-7e2d4b6a8c10';
const ctx = cameraServerAndBrowser((camera, dir) => `
[hls]
directory = ${JSON.stringify(join(dir, 'hls'))}

[archive]
recording = true
directory = ${JSON.stringify(join(dir, 'mp4'))}
ms_per_file = 4000
ms_per_part = 500

[[rtsp_streams]]
guid = "${YARD}"
name = "Yard"
url = "${camera.url}"
transport = "tcp"
output_types = ["mse", "llhls"]
`);

const opts = { server: () => ctx.server, timeout: 150_000 };

/** The server's ranges, in ms since the epoch. */
async function apiRanges(page) {
  const r = await page.request.get(`${ctx.server.url}api/live/streams/${YARD}/archive/ranges`);
  if (r.status() === 404) return [];
  assert.equal(r.status(), 200);
  return (await r.json()).ranges.map((x) => ({ start: Date.parse(x.start), end: Date.parse(x.end) }));
}

/** Opens the camera's player once at least `seconds` are recorded, and
 * waits until the timeline shows that much. */
async function openRecorded(s, seconds) {
  const page = await s.open(ctx.browser, `${ctx.server.url}?live=${YARD}`, owner);
  await page.getByRole('heading', { name: 'Yard' }).waitFor({ timeout: 20_000 });
  await page.getByRole('region', { name: 'Archive' }).waitFor();
  await page.waitForFunction((ms) => {
    const r = [...document.querySelectorAll('.archive .range')];
    return r.length && Number(r.at(-1).dataset.end) - Number(r[0].dataset.start) >= ms;
  }, seconds * 1000, { timeout: 60_000 });
  return page;
}

/** A point of the timeline bar, as a fraction of its width. */
async function barPoint(page, f) {
  const box = await page.locator('.archive .bar').boundingBox();
  return { x: box.x + box.width * f, y: box.y + box.height / 2 };
}

const barTime = (page, f) => page.evaluate((fr) => {
  const b = document.querySelector('.archive .bar');
  return Number(b.getAttribute('aria-valuemin')) + fr * (Number(b.getAttribute('aria-valuemax')) - Number(b.getAttribute('aria-valuemin')));
}, f);

e2e('the timeline shows what is recorded; a click plays the archive from there', async (s) => {
  const page = await openRecorded(s, 6);
  const ranges = await apiRanges(page);
  assert.ok(ranges.length >= 1, 'the server has recorded nothing');
  // The timeline draws the server's ranges.
  const first = await page.locator('.archive .range').first().getAttribute('data-start');
  assert.equal(Number(first), ranges[0].start);
  assert.match(await page.getByTestId('archive-summary').innerText(), /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, (no gaps|\d+ gaps?)/);
  assert.match(await page.locator('.archive .rec').innerText(), /Recording/);

  // A click plays the archive there (hls.js on the VOD playlist).
  const vod = [];
  page.on('request', (r) => { if (r.url().includes(`/archive/vod`)) vod.push(r.url()); });
  const picked = await barTime(page, 0.3);
  const p = await barPoint(page, 0.3);
  await page.mouse.click(p.x, p.y);
  await videoPlays(page, 'video.live-video', 'archive');
  assert.ok(vod.some((u) => /vod\.m3u8\?start=\d+\.\d{3}$/.test(u)), `no VOD playlist among ${vod.join(' ')}`);
  assert.ok(vod.some((u) => /\/archive\/vod\/[^?]+\.mp4\?t=/.test(u)), `no VOD segment among ${vod.join(' ')}`);
  // The picture shown is the archive's, from about the picked moment (its
  // keyframe at or before it), not live.
  await page.getByTestId('archive-time').waitFor();
  const shown = await page.evaluate(() => document.querySelector('.archive .bar').getAttribute('aria-valuenow'));
  assert.ok(Math.abs(Number(shown) - picked) < 4000, `playing the archive at ${new Date(Number(shown)).toISOString()}, picked ${new Date(picked).toISOString()}`);
  assert.equal(await page.locator('.archive .playhead').count(), 1);

  await page.getByRole('button', { name: 'Back to live' }).click();
  await page.waitForFunction(() => document.querySelector('video.live-video').dataset.mode !== 'archive');
  await videoPlays(page, 'video.live-video');
  assert.equal(await page.locator('.archive .playhead').count(), 0);
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('a range picked on the timeline goes to review: it opens, plays and takes comments', async (s) => {
  const page = await openRecorded(s, 8);
  const send = page.getByRole('button', { name: 'Send to review' });
  assert.equal(await send.isDisabled(), true);

  // Drag from 20 % to 75 % of the timeline.
  const a = await barPoint(page, 0.2);
  const b = await barPoint(page, 0.75);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, a.y, { steps: 4 });
  await page.mouse.move(b.x, b.y, { steps: 4 });
  await page.mouse.up();
  const start = page.locator('input[name="archive-start"]');
  const end = page.locator('input[name="archive-end"]');
  const picked = { start: await start.inputValue(), end: await end.inputValue() };
  assert.match(picked.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/);
  assert.ok(picked.end > picked.start, `picked ${picked.start} to ${picked.end}`);
  const length = await page.getByTestId('pick-length').innerText();
  const seconds = Number(length.replace(' s', ''));
  assert.ok(seconds >= 3, `picked only ${length}`);
  assert.equal(await send.isDisabled(), false);

  // What cannot be sent says why, and the button waits.
  await end.fill('2020-01-01T00:00:00');
  await end.dispatchEvent('change');
  await page.getByRole('alert').filter({ hasText: /The end \(2020-01-01 00:00:00\) is before the start/ }).waitFor();
  assert.equal(await send.isDisabled(), true);
  await start.fill('2030-01-01T00:00:00');
  await start.dispatchEvent('change');
  await end.fill('2030-01-01T00:01:00');
  await end.dispatchEvent('change');
  await page.getByRole('alert').filter({ hasText: /Nothing was recorded from 2030-01-01 00:00:00 to 2030-01-01 00:01:00: the archive has / }).waitFor();
  assert.equal(await send.isDisabled(), true);
  await start.fill(picked.start);
  await start.dispatchEvent('change');
  await end.fill(picked.end);
  await end.dispatchEvent('change');
  assert.equal(await page.getByTestId('pick-length').innerText(), length);

  await page.getByLabel('Title of the new media file').fill('Yard, the delivery');
  await send.click();
  const clip = page.locator('.clips .clip').first();
  await page.locator('.clips .clip[data-state="ready"]').waitFor({ timeout: 60_000 });
  assert.match(await clip.innerText(), /Yard, the delivery/);
  const id = await clip.getAttribute('data-media');
  assert.match(id, /^[0-9a-z]+$/);

  // Open it: the player of a normal media file.
  await clip.getByRole('button', { name: 'Open' }).click();
  await page.waitForURL(new RegExp(`\\?vid=${id}`), { timeout: 20_000 });
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 && v.videoWidth > 0 && v.duration > 0;
  }, null, { timeout: 60_000 });
  const media = await page.evaluate(() => {
    const v = document.querySelector('video');
    return { width: v.videoWidth, height: v.videoHeight, duration: v.duration };
  });
  assert.equal(media.width, 320);
  assert.equal(media.height, 240);
  // Cut from the keyframe at or before the start: at most a GOP longer.
  assert.ok(media.duration > seconds - 1 && media.duration < seconds + 2.5, `media ${media.duration} s for a pick of ${seconds} s`);
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await videoPlays(page, 'video');

  const box = page.getByLabel('Comment', { exact: true });
  await box.fill('The van arrives here');
  await box.press('Enter');
  await page.locator('article.card').filter({ has: page.locator('p.text', { hasText: 'The van arrives here' }) }).waitFor({ timeout: 15_000 });
  assert.deepEqual(s.consoleErrors(), []);
}, opts);
