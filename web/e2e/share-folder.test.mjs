// A share link to a folder of the folders organizer: the owner shares it
// from the tile's menu; the guest sees the folder, read only, and its
// files (not the owner's others), and comments on one.
import assert from 'node:assert/strict';
import { e2e, openHome, requireOrganizer, serverAndBrowser, testVideo } from './harness.mjs';

const ORGANIZER = requireOrganizer();
const ctx = serverAndBrowser({ args: ['--org-cmd', ORGANIZER] });
const opts = { server: () => ctx.server, timeout: 150_000 };

e2e('a guest of a folder link sees the folder, read only, and comments in it', async (s) => {
  const page = await openHome(s, ctx.browser, ctx.server);
  const listing = page.getByRole('listbox', { name: 'Media files and folders' });
  await page.locator('.org-html h3', { hasText: 'Home' }).waitFor();
  page.once('dialog', (d) => d.accept('For the agency'));
  await listing.click({ button: 'right', position: { x: 5, y: 5 } });
  await page.getByRole('menuitem', { name: 'New folder' }).click();
  const folder = page.locator('.tile[data-key^="f:"]').filter({ hasText: 'For the agency' });
  await folder.waitFor({ timeout: 20_000 });
  // One file at home (not shared), one in the folder.
  await page.locator('.zone input[type=file]').setInputFiles(testVideo('private.mp4'));
  await page.locator('.tile[data-key^="m:"]').filter({ hasText: 'private.mp4' }).waitFor({ timeout: 60_000 });
  await folder.dblclick();
  await page.locator('.org-html strong', { hasText: 'For the agency' }).waitFor({ timeout: 20_000 });
  await page.locator('.zone input[type=file]').setInputFiles(testVideo('cut-1.mp4'));
  await page.locator('.tile[data-key^="m:"]').filter({ hasText: 'cut-1.mp4' }).waitFor({ timeout: 60_000 });
  await page.locator('.org-html a', { hasText: '[Home]' }).click();
  await folder.waitFor({ timeout: 20_000 });

  // Share the folder from its tile's menu.
  await folder.click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share with guests…' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByRole('heading', { name: /For the agency/ }).waitFor();
  await dlg.getByRole('button', { name: 'Create link' }).click();
  const url = await dlg.getByLabel('New share link').inputValue();

  const guest = await s.open(ctx.browser, url);
  await guest.getByRole('heading', { name: 'You have been invited to review a folder' }).waitFor();
  await guest.getByLabel('Your name').fill('Ann');
  await guest.getByRole('button', { name: 'Continue' }).click();
  await guest.locator('.org-html h3', { hasText: 'For the agency' }).waitFor({ timeout: 20_000 });
  const tile = guest.locator('.tile[data-key^="m:"]').filter({ hasText: 'cut-1.mp4' });
  await tile.waitFor();
  assert.equal(await guest.locator('.tile[data-key^="m:"]').filter({ hasText: 'private.mp4' }).count(), 0);
  assert.equal(await guest.locator('.zone input[type=file]').count(), 0, 'no upload zone for a guest');
  await tile.dblclick();
  await guest.locator('video').waitFor({ timeout: 20_000 });
  const box = guest.getByLabel('Comment', { exact: true });
  await box.fill('Cut 1 works');
  await box.press('Enter');
  await guest.locator('article.card').filter({ hasText: 'Cut 1 works' }).getByText('Ann (guest)').waitFor();
  assert.deepEqual(s.consoleErrors(), []);
}, opts);
