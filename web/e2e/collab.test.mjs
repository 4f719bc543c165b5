// Two users in one collaborative session, and a session surviving a
// server restart.
import assert from 'node:assert/strict';
import { addMedia, e2e, owner, restartServer, serverAndBrowser, testVideo } from './harness.mjs';

let mediaId;
const ctx = serverAndBrowser({
  setup: async (c) => {
    mediaId = await addMedia(c.server, c.browser, testVideo('collab.mp4'));
  },
});
const opts = { server: () => ctx.server, timeout: 120_000 };
const bob = { user: 'bob', name: 'Bob' };

async function ready(page) {
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 && v.videoWidth > 0;
  }, null, { timeout: 30_000 });
}
const frameOf = (page) => page.evaluate(() => Math.floor(document.querySelector('video').currentTime * 25 + 1e-6));
const waitFrame = (page, f) => page.waitForFunction((want) => {
  const v = document.querySelector('video');
  return v && Math.floor(v.currentTime * 25 + 1e-6) === want && v.paused;
}, f, { timeout: 15_000 });

async function seek(page, frame) {
  const box = page.getByLabel('Frame number', { exact: true });
  await box.fill(String(frame));
  await box.press('Enter');
}

e2e('seek, play, pause, loop and drawings mirror both ways', async (s) => {
  const alice = await s.open(ctx.browser, `${ctx.server.url}?vid=${mediaId}`, owner);
  await ready(alice);
  await alice.getByRole('button', { name: 'Start collaborative session' }).click();
  await alice.getByRole('region', { name: 'Collaborative session' }).waitFor();
  const link = alice.url();
  assert.match(link, /[?&]collab=[a-z0-9]+/);

  const b = await s.open(ctx.browser, link, bob);
  await ready(b);
  await b.getByRole('region', { name: 'Collaborative session' }).waitFor();
  // Alice sees Bob join.
  await alice.getByText(/With: .*Bob/).waitFor();

  // Alice seeks (paused): Bob follows, and is told who is controlling.
  await seek(alice, 30);
  await waitFrame(b, 30);
  await b.getByText(/Alice is controlling/).first().waitFor();

  // Bob plays: Alice plays; Bob pauses: Alice pauses on his frame.
  await b.getByRole('button', { name: 'Play', exact: true }).click();
  await alice.waitForFunction(() => !document.querySelector('video').paused, null, { timeout: 10_000 });
  await b.waitForTimeout(300);
  await b.getByRole('button', { name: 'Pause', exact: true }).click();
  await alice.waitForFunction(() => document.querySelector('video').paused, null, { timeout: 10_000 });
  const bf = await frameOf(b);
  await waitFrame(alice, bf);

  // Frame step on Alice's side.
  await alice.getByRole('button', { name: 'Next frame' }).click();
  await waitFrame(b, bf + 1);

  // Loop range from Bob reaches Alice.
  await seek(b, 10);
  await waitFrame(alice, 10);
  await b.getByRole('button', { name: 'Set loop in point' }).click();
  await seek(b, 20);
  await b.getByRole('button', { name: 'Set loop out point' }).click();
  await alice.locator('.timeline .loop').waitFor();

  // Alice draws: Bob sees the drawing over his video.
  await alice.getByRole('button', { name: 'Draw', exact: true }).click();
  const canvas = alice.getByLabel('Drawing area');
  const box = await canvas.boundingBox();
  await alice.mouse.move(box.x + 20, box.y + 20);
  await alice.mouse.down();
  await alice.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 6 });
  await alice.mouse.up();
  const shown = b.getByRole('img', { name: 'Drawing of the comment' });
  await shown.waitFor({ timeout: 10_000 });
  assert.match(await shown.getAttribute('src'), /^data:image\/webp/);

  // Bob leaves; Alice sees it.
  await b.getByRole('button', { name: 'Leave', exact: true }).click();
  await b.getByRole('region', { name: 'Collaborative session' }).waitFor({ state: 'detached' });
  await alice.getByText('With: nobody yet').waitFor();
  assert.doesNotMatch(b.url(), /collab=/);
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('a dropped connection reconnects and reopens the media file and the session', async (s) => {
  const collab = 'restart' + Date.now().toString(36);
  const url = `${ctx.server.url}?vid=${mediaId}&collab=${collab}`;
  const alice = await s.open(ctx.browser, url, owner);
  const b = await s.open(ctx.browser, url, bob);
  await ready(alice);
  await ready(b);

  // Restart the server on the same port and data directory.
  await restartServer(ctx, {
    whileDown: () => alice.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor({ timeout: 10_000 }),
  });
  await alice.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor({ state: 'detached', timeout: 30_000 });
  await b.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor({ state: 'detached', timeout: 30_000 });

  // Still on the media file, still in the room: a seek mirrors again.
  assert.match(alice.url(), new RegExp(`vid=${mediaId}&collab=${collab}`));
  await seek(alice, 40);
  await waitFrame(b, 40);
  // And commands work again.
  await alice.getByLabel('Comment', { exact: true }).fill('after the restart');
  await alice.getByLabel('Comment', { exact: true }).press('Enter');
  await b.locator('article.card', { hasText: 'after the restart' }).waitFor();
  // The browser logs the failed reconnection attempts itself.
  assert.deepEqual(s.consoleErrors([/WebSocket connection to .* failed/, /Failed to load resource/, /ERR_CONNECTION_REFUSED/]), []);
}, opts);
