// Notifications and comment export through the web UI: alice sets up a
// webhook in the Notifications dialog, bob comments on her video and she
// (on her home page) sees it in her message list while the signed webhook
// call arrives; then
// she downloads the comments in every export format from the media menu.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before } from 'node:test';
import { addMedia, e2e, owner, serverAndBrowser, testVideo } from './harness.mjs';

const calls = [];
const hooks = createServer((req, res) => {
  let body = '';
  req.on('data', (b) => (body += b));
  req.on('end', () => {
    calls.push({ sig: req.headers['x-clapshot-signature'], event: req.headers['x-clapshot-event'], body });
    res.end('ok');
  });
});
before(() => new Promise((r) => hooks.listen(0, '127.0.0.1', r)));
after(() => new Promise((r) => hooks.close(r)));

let mediaId;
const ctx = serverAndBrowser({
  args: ['--webhook-allow-private'],
  setup: async (c) => {
    mediaId = await addMedia(c.server, c.browser, testVideo('notify.mp4'));
  },
});
const opts = { server: () => ctx.server, timeout: 150_000 };
const bob = { user: 'bob', name: 'Bob' };

async function openClip(s, as) {
  const page = await s.open(ctx.browser, `${ctx.server.url}?vid=${mediaId}`, as);
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 && v.videoWidth > 0;
  }, null, { timeout: 30_000 });
  return page;
}

async function until(what, cond, ms = 20_000) {
  for (const end = Date.now() + ms; !(await cond()); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

e2e('a comment reaches the owner in the app and by signed webhook; comments export in every format', async (s) => {
  const alice = await openClip(s, owner);

  // Notification settings: a webhook, saved, and its secret shown.
  await alice.getByRole('button', { name: 'User menu' }).click();
  await alice.getByRole('menuitem', { name: 'Notifications…' }).click();
  let dialog = alice.getByRole('dialog', { name: 'Notifications' });
  await dialog.getByLabel('Webhook URL').fill('not a url');
  await dialog.getByRole('alert').filter({ hasText: 'is not a URL' }).waitFor();
  assert.equal(await dialog.getByRole('button', { name: 'Save' }).isDisabled(), true);
  const hookUrl = `http://127.0.0.1:${hooks.address().port}/hook`;
  await dialog.getByLabel('Webhook URL').fill(hookUrl);
  assert.equal(await dialog.getByLabel('By e-mail').isDisabled(), true, 'no SMTP server: e-mail cannot be chosen');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await alice.getByRole('button', { name: 'User menu' }).click();
  await alice.getByRole('menuitem', { name: 'Notifications…' }).click();
  dialog = alice.getByRole('dialog', { name: 'Notifications' });
  assert.equal(await dialog.getByLabel('Webhook URL').inputValue(), hookUrl);
  const secret = (await dialog.getByLabel('Webhook secret').textContent()).trim();
  assert.match(secret, /^[0-9a-f]{64}$/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // alice goes to her home page: someone who has the file open sees the
  // comment arrive and gets no message for it.
  await alice.goto(ctx.server.url);
  await alice.getByRole('listbox', { name: 'Media files and folders' }).waitFor({ timeout: 20_000 });

  // bob comments at frame 30 (00:00:01:05 at 25 fps).
  const bobPage = await openClip(s, bob);
  await bobPage.getByLabel('Frame number', { exact: true }).fill('30');
  await bobPage.getByLabel('Frame number', { exact: true }).press('Enter');
  await bobPage.waitForFunction(() => document.querySelector('input[aria-label="Timecode"]')?.value === '00:00:01:05');
  const box = bobPage.getByLabel('Comment', { exact: true });
  await box.fill('Logo too small, @alice');
  await box.press('Enter');

  // In alice's message list, at once (she is connected).
  await alice.getByRole('button', { name: /^Messages \(\d+ new\)/ }).waitFor({ timeout: 20_000 });
  await alice.getByRole('button', { name: /^Messages/ }).click();
  await alice.getByRole('log').getByText(/Bob mentioned you in a comment on "notify.mp4"/).waitFor();

  // The webhook call, signed with her secret.
  await until('the webhook call', () => calls.length >= 1);
  const [call] = calls;
  const ts = /^t=(\d+),v1=[0-9a-f]{64}$/.exec(call.sig)?.[1];
  assert.ok(ts, `signature header ${call.sig}`);
  const mac = createHmac('sha256', secret).update(`${ts}.`).update(call.body).digest('hex');
  assert.equal(call.sig, `t=${ts},v1=${mac}`);
  assert.equal(call.event, 'mention');
  assert.equal(JSON.parse(call.body).comment.text, 'Logo too small, @alice');

  // Every export from the media menu downloads a file with the comment.
  await alice.goto(`${ctx.server.url}?vid=${mediaId}`);
  await alice.waitForFunction(() => document.querySelector('video')?.readyState >= 2, null, { timeout: 30_000 });
  const want = {
    'EDL markers': [/\.edl$/, /00:00:01:05/],
    'CSV spreadsheet': [/\.csv$/, /Logo too small/],
    'FCPXML markers': [/\.fcpxml$/, /<marker [^>]*value="Logo too small, @alice"/],
    'Premiere Pro markers': [/\.xml$/, /Logo too small/],
    'Report with frames': [/\.html$/, /data:image\/jpeg;base64,/],
  };
  for (const [label, [name, content]] of Object.entries(want)) {
    await alice.getByRole('button', { name: 'Media file menu' }).click();
    const [download] = await Promise.all([
      alice.waitForEvent('download'),
      alice.getByRole('menuitem', { name: new RegExp(`^Export comments: ${label}`) }).click(),
    ]);
    assert.match(download.suggestedFilename(), name, label);
    assert.match(download.suggestedFilename(), /^notify comments\./, label);
    const text = readFileSync(await download.path(), 'utf8');
    assert.match(text, content, `${label}:\n${text.slice(0, 400)}`);
  }
  assert.deepEqual(s.consoleErrors(), []);
}, opts);
