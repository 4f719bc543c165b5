// Reviewing a media file: the player, comments of every kind, drawings,
// replies, edits, deletes, subtitles, the organizer popup menu, and text
// that must never become markup.
import assert from 'node:assert/strict';
import { addMedia, e2e, openHome, owner, serverAndBrowser, testFile, testVideo } from './harness.mjs';

let mediaId;
const ctx = serverAndBrowser({
  setup: async (c) => {
    mediaId = await addMedia(c.server, c.browser, testVideo('review.mp4'));
  },
});
const opts = { server: () => ctx.server };

/** Opens the review page of the test clip and waits until it can play. */
async function openClip(s, as = owner) {
  const page = await s.open(ctx.browser, `${ctx.server.url}?vid=${mediaId}`, as);
  await page.locator('video').waitFor();
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 && v.videoWidth > 0;
  }, null, { timeout: 30_000 });
  return page;
}

const tc = (page) => page.getByLabel('Timecode', { exact: true }).inputValue();
const fr = (page) => page.getByLabel('Frame number', { exact: true }).inputValue();

async function expectFrame(page, frame) {
  const want = `00:00:${String(Math.floor(frame / 25)).padStart(2, '0')}:${String(frame % 25).padStart(2, '0')}`;
  await page.waitForFunction(([w]) => document.querySelector('input[aria-label="Timecode"]')?.value === w, [want]);
  assert.equal(await fr(page), String(frame));
  // The element really is on that frame.
  const t = await page.evaluate(() => document.querySelector('video').currentTime);
  assert.equal(Math.floor(t * 25 + 1e-6), frame);
}

async function sendComment(page, text) {
  const box = page.getByLabel('Comment', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

function card(page, text) {
  return page.locator('article.card').filter({ has: page.locator('p.text', { hasText: text }) });
}

e2e('the player steps frames and seeks to typed timecodes', async (s) => {
  const page = await openClip(s);
  assert.equal(await tc(page), '00:00:00:00');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expectFrame(page, 3);
  await page.getByRole('button', { name: 'Previous frame' }).click();
  await expectFrame(page, 2);

  const box = page.getByLabel('Timecode', { exact: true });
  await box.fill('00:00:01:10');
  await box.press('Enter');
  await expectFrame(page, 35);
  const frame = page.getByLabel('Frame number', { exact: true });
  await frame.fill('12');
  await frame.press('Enter');
  await expectFrame(page, 12);

  // Typing in a box never triggers shortcuts.
  await page.getByLabel('Comment', { exact: true }).fill('  ');
  await page.getByLabel('Comment', { exact: true }).press('ArrowRight');
  await page.getByLabel('Comment', { exact: true }).press(' ');
  await expectFrame(page, 12);

  // Speed and loop controls.
  await page.getByLabel('Playback speed').selectOption('0.5');
  assert.equal(await page.evaluate(() => document.querySelector('video').playbackRate), 0.5);
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('comments: timed, untimed, ranged, with a drawing; reply, edit, delete', async (s) => {
  const page = await openClip(s);
  await page.getByLabel('Frame number', { exact: true }).fill('5');
  await page.getByLabel('Frame number', { exact: true }).press('Enter');
  await expectFrame(page, 5);

  // Timed, with markup that must stay text.
  const xss = 'Timed <script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
  await sendComment(page, xss);
  const timed = card(page, 'Timed <script>');
  await timed.waitFor();
  assert.equal(await timed.locator('p.text').textContent(), xss);
  assert.equal(await timed.locator('button.tc').textContent(), '00:00:00:05');
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  // Untimed.
  await page.getByRole('button', { name: 'Timed comment' }).click();
  await sendComment(page, 'About the whole file');
  const untimed = card(page, 'About the whole file');
  await untimed.waitFor();
  assert.equal(await untimed.locator('button.tc').count(), 0);
  await page.getByRole('button', { name: 'Timed comment' }).click();

  // Ranged: in at 10, out at 20.
  await page.getByLabel('Frame number', { exact: true }).fill('10');
  await page.getByLabel('Frame number', { exact: true }).press('Enter');
  await expectFrame(page, 10);
  await page.getByRole('button', { name: 'Set loop in point' }).click();
  await page.getByLabel('Frame number', { exact: true }).fill('20');
  await page.getByLabel('Frame number', { exact: true }).press('Enter');
  await expectFrame(page, 20);
  await page.getByRole('button', { name: 'Set loop out point' }).click();
  await page.getByRole('button', { name: 'Range comment' }).click();
  await sendComment(page, 'Flicker in this range');
  const ranged = card(page, 'Flicker in this range');
  await ranged.waitFor();
  assert.equal((await ranged.locator('button.tc').textContent()).replace(/\s/g, ''), '00:00:00:10→00:00:00:20');
  assert.equal(await page.locator('.timeline .pin.range').count(), 1);

  // With a drawing.
  await page.getByRole('button', { name: 'Draw', exact: true }).click();
  const canvas = page.getByLabel('Drawing area');
  await canvas.waitFor();
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.3);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.6, { steps: 8 });
  await page.mouse.up();
  await page.getByRole('button', { name: 'Colour green' }).click();
  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByRole('button', { name: 'Redo' }).click();
  await page.getByRole('button', { name: 'Send comment' }).click();
  // A drawing alone is enough to send; this one also has no text.
  const drawn = page.locator('article.card').filter({ has: page.getByRole('img', { name: 'Has a drawing' }) });
  await drawn.waitFor();
  // Showing it seeks there and shows the drawing over the video.
  await page.getByLabel('Frame number', { exact: true }).fill('0');
  await page.getByLabel('Frame number', { exact: true }).press('Enter');
  await drawn.locator('button.tc').click();
  await expectFrame(page, 20);
  const shown = page.getByRole('img', { name: 'Drawing of the comment' });
  await shown.waitFor();
  assert.match(await shown.getAttribute('src'), /^data:image\/webp;base64,/);

  // Reply (inline), then the parent cannot be deleted.
  await timed.hover();
  await timed.getByRole('button', { name: 'Reply' }).click();
  await timed.getByLabel(/Reply to/).fill('A reply');
  await timed.getByLabel(/Reply to/).press('Enter');
  const reply = card(page, 'A reply');
  await reply.waitFor();
  assert.ok(await reply.evaluate((el) => el.classList.contains('reply')));
  await timed.hover();
  assert.ok(await timed.getByRole('button', { name: 'Delete' }).isDisabled());

  // Edit.
  await ranged.hover();
  await ranged.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Edit comment').fill('Flicker, edited');
  await page.getByLabel('Edit comment').press('Enter');
  const edited = card(page, 'Flicker, edited');
  await edited.waitFor();
  await edited.getByText('(edited)').waitFor();

  // Delete (after confirming).
  page.once('dialog', (d) => d.accept());
  await untimed.hover();
  await untimed.getByRole('button', { name: 'Delete' }).click();
  await untimed.waitFor({ state: 'detached' });

  // A 10 000-character comment is accepted and shown folded.
  const long = 'x'.repeat(9990) + ' end-of-it';
  await sendComment(page, long);
  const longCard = card(page, 'end-of-it');
  await longCard.waitFor();
  assert.equal((await longCard.locator('p.text').textContent()).length, long.length);
  await longCard.getByRole('button', { name: 'Show more' }).click();

  // All of it survives a reload.
  await page.reload();
  await card(page, 'Flicker, edited').waitFor();
  assert.equal(await page.locator('article.card').count(), 5);
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('subtitles: upload, choose, edit, delete', async (s) => {
  const page = await openClip(s);
  const vtt = testFile('test.en.vtt', 'WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello <b>subtitles</b>\n');
  await page.locator('.subs input[type=file]').setInputFiles(vtt);
  const row = page.locator('li.sub').first();
  await row.waitFor();
  await row.getByRole('button', { name: /^Show subtitles/ }).click();
  await page.locator('video track').waitFor({ state: 'attached' });
  assert.equal(await page.getByRole('combobox', { name: 'Subtitles' }).inputValue(), await row.getAttribute('data-subtitle-id'));

  await row.getByRole('button', { name: /Edit subtitle/ }).click();
  await row.getByLabel('Title', { exact: true }).fill('English <i>CC</i>');
  await row.getByLabel('Language', { exact: true }).fill('en');
  await row.getByLabel('Offset (s)', { exact: true }).fill('-0.5');
  await row.getByRole('button', { name: 'Save' }).click();
  await row.getByText('English <i>CC</i>').waitFor();
  await row.getByText('-0.5s').waitFor();

  page.once('dialog', (d) => d.accept());
  await row.getByRole('button', { name: /Delete subtitle/ }).click();
  await page.getByText('No subtitle tracks.').waitFor();
  assert.deepEqual(s.consoleErrors(), []);
}, opts);

e2e('rename and trash from the popup menu; titles stay text', async (s) => {
  const page = await openHome(s, ctx.browser, ctx.server);
  const tile = page.locator(`.tile[data-key="m:${mediaId}"]`);
  await tile.waitFor();
  const title = 'Cut 2 <b>final</b><script>window.__xss=3</script>';
  page.once('dialog', (d) => d.accept(title));
  await tile.click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Rename' }).click();
  await tile.locator('.title', { hasText: 'Cut 2 <b>final</b>' }).waitFor();
  assert.equal(await tile.locator('.title').textContent(), title);
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  // Keyboard: the menu key opens the same menu; Escape closes it.
  await tile.focus();
  await page.keyboard.press('Shift+F10');
  await page.getByRole('menu').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('menu').waitFor({ state: 'detached' });

  page.once('dialog', (d) => d.accept());
  await tile.click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Trash' }).click();
  await tile.waitFor({ state: 'detached' });
  assert.deepEqual(s.consoleErrors(), []);
}, opts);
