// Uploading through the page: several files at once with progress, the
// processing that follows, resuming an interrupted upload, and errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { e2e, openHome, restartServer, serverAndBrowser, startServer, testFile, testMediaPath, testVideo } from './harness.mjs';

const ctx = serverAndBrowser();
const opts = { server: () => ctx.server, timeout: 150_000 };

function ffmpeg(args) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
}

e2e('uploads several files at once and each becomes playable', async (s) => {
  const video = testVideo('upload-video.mp4');
  const audio = testMediaPath('upload-tone.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=330:duration=2', audio]);
  const image = testMediaPath('upload-still.png');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', image]);

  const page = await openHome(s, ctx.browser, ctx.server);
  await page.locator('.zone input[type=file]').setInputFiles([video, audio, image]);
  const rows = page.getByRole('list', { name: 'Uploads' }).locator('li');
  await rows.nth(2).waitFor();
  assert.equal(await rows.count(), 3);
  for (let i = 0; i < 3; i++) {
    await rows.nth(i).and(page.locator('[data-upload-state="done"]')).waitFor({ timeout: 30_000 });
    assert.equal(await rows.nth(i).getByRole('progressbar').getAttribute('aria-valuenow'), '100');
  }
  // The listing shows all three once the server has them.
  for (const name of ['upload-video.mp4', 'upload-tone.wav', 'upload-still.png']) {
    await page.locator('.tile').filter({ hasText: name }).waitFor({ timeout: 60_000 });
  }
  // Hovering over the video's tile scrubs through its thumbnail sheet.
  const videoTile = page.locator('.tile').filter({ hasText: 'upload-video.mp4' });
  await videoTile.locator('.thumb img').waitFor({ timeout: 60_000 });
  const box = await videoTile.locator('.thumb').boundingBox();
  for (const fx of [0.2, 0.8]) {
    await page.mouse.move(box.x + box.width * fx, box.y + box.height / 2);
    await videoTile.locator('.sheet').waitFor({ timeout: 30_000 }).catch(async () => {
      // The sheet is made after the poster: reload once it should exist.
      await page.reload();
      await page.mouse.move(box.x + box.width * fx, box.y + box.height / 2);
      await videoTile.locator('.sheet').waitFor({ timeout: 30_000 });
    });
  }
  assert.match(await videoTile.locator('.sheet').getAttribute('style'), /url\("[^"]*sheet[^"]*\.webp"\)/);
  await page.mouse.move(0, 0);

  // The video plays; the audio file shows its waveform video; the image is a still.
  for (const [name, type] of [['upload-video.mp4', 'video'], ['upload-tone.wav', 'audio'], ['upload-still.png', 'image']]) {
    await page.locator('.tile').filter({ hasText: name }).dblclick();
    await page.waitForFunction(() => {
      const v = document.querySelector('video');
      return v && v.readyState >= 2 && v.videoWidth > 0;
    }, null, { timeout: 60_000 });
    assert.match(await page.locator('video').getAttribute('aria-label'), new RegExp(`\\(${type}\\)$`));
    if (type === 'image') assert.equal(await page.getByRole('button', { name: 'Play' }).count(), 0);
    await page.goBack();
    await page.getByRole('listbox', { name: 'Media files and folders' }).waitFor();
  }
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('an upload cut by a server crash resumes where it stopped', async (s) => {
  // About 1.6 MB of noise, so the upload takes a few seconds when throttled.
  const big = testMediaPath('resume-noise.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'nullsrc=size=192x108:rate=25:duration=2,geq=random(1)*255:128:128', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', big]);
  const size = statSync(big).size;
  assert.ok(size > 1_000_000, `test file only ${size} bytes`);

  const page = await openHome(s, ctx.browser, ctx.server);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 250_000 });
  await page.locator('.zone input[type=file]').setInputFiles(big);
  const row = page.getByRole('list', { name: 'Uploads' }).locator('li').first();
  // Speed and time left are shown while it runs.
  await row.getByText(/\/s · .* left/).waitFor({ timeout: 20_000 });
  const progress = () => page.evaluate(() => Number(document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow')));
  await page.waitForFunction(() => Number(document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow')) >= 30, null, { timeout: 30_000 });

  // The server dies mid-upload: the row says it will retry, and does.
  let before = 0;
  await restartServer(ctx, {
    signal: 'SIGKILL',
    whileDown: async () => {
      await row.and(page.locator('[data-upload-state="retrying"]')).waitFor({ timeout: 20_000 });
      before = await progress();
      await page.evaluate(() => {
        const w = window;
        w.__minProgress = 100;
        setInterval(() => {
          const v = Number(document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow'));
          if (isFinite(v)) w.__minProgress = Math.min(w.__minProgress, v);
        }, 20);
      });
    },
  });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await row.and(page.locator('[data-upload-state="done"]')).waitFor({ timeout: 60_000 });
  // It continued from what the server had, not from the start.
  assert.ok(before >= 20, `progress before the crash ${before}`);
  const lowest = await page.evaluate(() => window.__minProgress);
  assert.ok(lowest >= before - 15, `progress fell from ${before} % to ${lowest} %: the upload started over`);
  await page.locator('.tile').filter({ hasText: 'resume-noise.mp4' }).waitFor({ timeout: 60_000 });
  assert.deepEqual(s.consoleErrors([/Failed to load resource/, /ERR_CONNECTION_REFUSED/, /ERR_CONNECTION_RESET/, /WebSocket connection to .* failed/]), []);
}, opts);

e2e('a proxy that refuses large requests (413) gets smaller pieces', async (s) => {
  const big = testMediaPath('proxy-noise.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'nullsrc=size=192x108:rate=25:duration=2,geq=random(1)*255:128:128', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', big]);
  const size = statSync(big).size;
  const limit = 600 * 1024; // like nginx's client_max_body_size 600k
  const page = await openHome(s, ctx.browser, ctx.server);
  const sent = [];
  let refused = 0;
  await page.route('**/api/upload/tus/**', async (route) => {
    const req = route.request();
    if (req.method() !== 'PATCH') return route.continue();
    const n = req.postDataBuffer()?.length ?? 0;
    if (n > limit) {
      refused++;
      return route.fulfill({ status: 413, contentType: 'text/html', body: '<html><body>413 Request Entity Too Large</body></html>' });
    }
    sent.push(n);
    return route.continue();
  });
  await page.locator('.zone input[type=file]').setInputFiles(big);
  const row = page.getByRole('list', { name: 'Uploads' }).locator('li').first();
  await row.and(page.locator('[data-upload-state="done"]')).waitFor({ timeout: 60_000 });
  assert.ok(refused > 0, 'the proxy refused nothing: the test file is too small');
  assert.ok(sent.every((n) => n <= limit), `pieces of ${sent} bytes`);
  assert.equal(sent.reduce((a, b) => a + b, 0), size);
  await page.locator('.tile').filter({ hasText: 'proxy-noise.mp4' }).waitFor({ timeout: 60_000 });
  assert.deepEqual(s.consoleErrors([/Failed to load resource/]), []);
}, opts);

e2e('a file being transcoded plays its original, shows progress, and carries on in the transcoded file', async (s) => {
  // Lossless noise: the server transcodes it (bitrate), which takes a while.
  const noisy = testMediaPath('transcode-me.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'nullsrc=size=640x360:rate=25:duration=4,geq=random(1)*255:128:128', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', noisy]);
  const page = await openHome(s, ctx.browser, ctx.server);
  await page.locator('.zone input[type=file]').setInputFiles(noisy);
  const tile = page.locator('.tile').filter({ hasText: 'transcode-me.mp4' });
  await tile.waitFor({ timeout: 60_000 });
  await tile.dblclick();
  // The original plays meanwhile, and the header says what is going on.
  await page.waitForFunction(() => document.querySelector('video')?.readyState >= 2, null, { timeout: 30_000 });
  assert.match(await page.locator('video').getAttribute('src'), /transcode-me\.mp4$/);
  await page.locator('nav .proc').filter({ hasText: /Transcoding/ }).waitFor({ timeout: 10_000 });
  await page.getByLabel('Frame number', { exact: true }).fill('50');
  await page.getByLabel('Frame number', { exact: true }).press('Enter');
  // Then the transcoded file takes over, at the same frame.
  await page.waitForFunction(() => !/transcode-me\.mp4$/.test(document.querySelector('video').getAttribute('src')), null, { timeout: 120_000 });
  await page.waitForFunction(() => document.querySelector('video').readyState >= 2, null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('input[aria-label="Frame number"]').value === '50', null, { timeout: 10_000 });
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('files the server refuses show its reason on their row', async (s) => {
  const limited = await startServer({ args: ['--upload-max-size', '50K'] });
  try {
    const page = await openHome(s, ctx.browser, limited);
    const big = testVideo('upload-video.mp4');
    const empty = testFile('empty.mp4', '');
    await page.locator('.zone input[type=file]').setInputFiles([big, empty]);
    const rows = page.getByRole('list', { name: 'Uploads' }).locator('li');
    await rows.nth(1).waitFor();
    await rows.nth(0).getByRole('alert').filter({ hasText: /Too large: .* the server accepts at most 51.2 kB/ }).waitFor();
    await rows.nth(1).getByRole('alert').filter({ hasText: 'The file is empty' }).waitFor();
  } finally {
    for (const p of s.pages) await p.page.close();
    await limited.stop();
  }
  // Not a media file: accepted, then refused by the server's analysis,
  // which says so in a message.
  const page = await openHome(s, ctx.browser, ctx.server);
  const junk = testFile('not-a-video.mp4', 'this is plain text, not a video\n'.repeat(100));
  await page.locator('.zone input[type=file]').setInputFiles(junk);
  const row = page.getByRole('list', { name: 'Uploads' }).locator('li').filter({ hasText: 'not-a-video.mp4' });
  await row.and(page.locator('[data-upload-state="rejected"]')).waitFor({ timeout: 30_000 });
  await row.getByRole('alert').filter({ hasText: /not a media file/ }).waitFor();
  await page.locator('.toast.error').first().waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: /^Messages/ }).click();
  await page.getByRole('log').locator('li.error').first().waitFor();
  assert.deepEqual(s.consoleErrors(), []);
}, opts);
