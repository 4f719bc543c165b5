// Guest share links: the owner makes a link in the Share dialog, a guest
// opens it in a browser of their own (no login), comments as "Ann
// (guest)", and is cut off the moment the owner revokes it; a view-only
// link with a passphrase refuses a wrong one and offers no comment box.
import assert from 'node:assert/strict';
import { addMedia, e2e, owner, serverAndBrowser, testVideo } from './harness.mjs';

let mediaId;
const ctx = serverAndBrowser({
  setup: async (c) => {
    mediaId = await addMedia(c.server, c.browser, testVideo('share.mp4'));
  },
});
const opts = { server: () => ctx.server };

async function playable(page) {
  await page.locator('video').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v && v.readyState >= 2 && v.videoWidth > 0;
  }, null, { timeout: 30_000 });
}

/** Opens the clip as its owner and makes a link in the Share dialog;
 * returns the page, the dialog and the link's URL. */
async function makeLink(s, { permission, passphrase = '', note }) {
  const page = await s.open(ctx.browser, `${ctx.server.url}?vid=${mediaId}`, owner);
  await playable(page);
  await page.getByRole('button', { name: 'Media file menu' }).click();
  await page.getByRole('menuitem', { name: 'Share with guests…' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByLabel('Guests may').selectOption(permission);
  if (passphrase) await dlg.getByLabel('Passphrase').fill(passphrase);
  await dlg.getByLabel('Note').fill(note);
  await dlg.getByRole('button', { name: 'Create link' }).click();
  const url = await dlg.getByLabel('New share link').inputValue();
  assert.match(url, new RegExp(`^${ctx.server.url}s/[A-Za-z0-9_-]{36}/$`));
  await dlg.locator('li[data-link-id]').filter({ hasText: note }).waitFor();
  return { page, dlg, url };
}

function card(page, text) {
  return page.locator('article.card').filter({ has: page.locator('p.text', { hasText: text }) });
}

e2e('a guest comments through a share link and is cut off when it is revoked', async (s) => {
  const { page, dlg, url } = await makeLink(s, { permission: 'comment', note: 'for Ann' });

  // The guest: a fresh browser context, no proxy login.
  const guest = await s.open(ctx.browser, url);
  await guest.getByRole('heading', { name: 'You have been invited to review a file' }).waitFor();
  await guest.getByLabel('Your name').fill('Ann');
  await guest.getByRole('button', { name: 'Continue' }).click();
  await playable(guest);
  assert.ok(new URL(guest.url()).search.includes(`vid=${mediaId}`), guest.url());
  // Only what a guest may do: no collab, no messages, no subtitle upload.
  assert.equal(await guest.getByRole('button', { name: 'Start collaborative session' }).count(), 0);
  assert.equal(await guest.getByRole('button', { name: /^Messages/ }).count(), 0);
  assert.equal(await guest.getByRole('button', { name: 'Upload subtitles' }).count(), 0);
  await guest.getByRole('button', { name: 'User menu' }).filter({ hasText: 'Ann (guest)' }).waitFor();

  const box = guest.getByLabel('Comment', { exact: true });
  await box.fill('Lovely shot');
  await box.press('Enter');
  await card(guest, 'Lovely shot').getByText('Ann (guest)').waitFor();
  // The owner, watching the same file, sees it at once, by the guest's name.
  await card(page, 'Lovely shot').getByText('Ann (guest)').waitFor();
  await dlg.locator('li[data-link-id]').filter({ hasText: 'for Ann' }).waitFor();

  // Revoke: the guest's open page is cut off with the reason.
  page.once('dialog', (d) => d.accept());
  await dlg.locator('li[data-link-id]').filter({ hasText: 'for Ann' }).getByRole('button', { name: /^Revoke/ }).click();
  await dlg.locator('li[data-link-id]').filter({ hasText: 'revoked' }).waitFor();
  await guest.getByRole('alert').filter({ hasText: 'This share link has been revoked.' }).waitFor({ timeout: 5000 });
  assert.equal(await guest.locator('video').count(), 0);
  // And stays so: the page, reloaded, says why.
  await guest.reload();
  await guest.getByRole('alert').filter({ hasText: 'This share link has been revoked.' }).waitFor();
  assert.deepEqual(s.consoleErrors([/status of 410/]), []);
}, opts);

e2e('a view-only link with a passphrase', async (s) => {
  const { url } = await makeLink(s, { permission: 'view', passphrase: 'open sesame', note: 'viewers' });
  const guest = await s.open(ctx.browser, url);
  await guest.getByLabel('Your name').fill('Bob');
  await guest.getByLabel('Passphrase').fill('wrong guess');
  await guest.getByRole('button', { name: 'Continue' }).click();
  await guest.getByRole('alert').filter({ hasText: 'Wrong passphrase.' }).waitFor();
  await guest.getByLabel('Passphrase').fill('open sesame');
  await guest.getByRole('button', { name: 'Continue' }).click();
  await playable(guest);
  await guest.getByRole('note').filter({ hasText: 'does not let you comment' }).waitFor();
  assert.equal(await guest.getByLabel('Comment', { exact: true }).count(), 0);
  assert.equal(await guest.getByRole('button', { name: 'Reply' }).count(), 0);
  // No download of the original for a viewer.
  assert.equal(await guest.getByRole('link', { name: 'Download the original file' }).count(), 0);
  // A reload goes straight back in: the browser is the link's guest.
  await guest.reload();
  await playable(guest);
  assert.deepEqual(s.consoleErrors([/status of 401/]), []);
}, opts);
