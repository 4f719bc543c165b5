// Folders in the browser, from the folders organizer plugin
// (cmd/clapshot-organizer-folders, started by the server): make a folder,
// open it, upload into it, go back up through the breadcrumbs, and an
// admin's view of every user's home.
import assert from 'node:assert/strict';
import { e2e, openHome, requireOrganizer, serverAndBrowser, testVideo } from './harness.mjs';

const ORGANIZER = requireOrganizer();

const ctx = serverAndBrowser({ args: ['--org-cmd', ORGANIZER] });
const opts = { server: () => ctx.server, timeout: 150_000 };

e2e('folders: create, open, upload into, back up, admin browsing', async (s) => {
  const page = await openHome(s, ctx.browser, ctx.server);
  const listing = page.getByRole('listbox', { name: 'Media files and folders' });
  await page.locator('.org-html h3', { hasText: 'Home' }).waitFor();

  // Right-click on the listing's background: "New folder".
  page.once('dialog', (d) => d.accept('Project'));
  await listing.click({ button: 'right', position: { x: 5, y: 5 } });
  await page.getByRole('menuitem', { name: 'New folder' }).click();
  const folder = page.locator('.tile[data-key^="f:"]').filter({ hasText: 'Project' });
  await folder.waitFor({ timeout: 20_000 });

  // Open it: breadcrumbs, and the folder's page id in the URL's history.
  await folder.dblclick();
  await page.locator('.org-html strong', { hasText: 'Project' }).waitFor({ timeout: 20_000 });
  await page.locator('.org-html a', { hasText: '[Home]' }).waitFor();

  // An upload lands in the folder being viewed.
  await page.locator('.zone input[type=file]').setInputFiles(testVideo('in-folder.mp4'));
  const tile = page.locator('.tile[data-key^="m:"]').filter({ hasText: 'in-folder.mp4' });
  await tile.waitFor({ timeout: 60_000 });
  // Leave while processing messages still make the client refresh the
  // folder's page: a refresh answered after the navigation must not bring
  // the folder back.

  // Back up through the breadcrumbs: the folder is there, the file is not.
  await page.locator('.org-html a', { hasText: '[Home]' }).click();
  await page.locator('.org-html h3', { hasText: /^Home$/ }).waitFor({ timeout: 20_000 });
  await folder.waitFor({ timeout: 20_000 });
  await page.waitForFunction(() => !document.querySelector('.tile[data-key^="m:"]'), null, { timeout: 20_000 });

  // An admin sees alice's home among the users' folders and can open it.
  // (Their home page has two listings: their own, then the users' homes.)
  const admin = await s.open(ctx.browser, ctx.server.url, { user: 'boss', name: 'Boss', admin: true });
  await admin.locator('.org-html', { hasText: 'User Folders' }).waitFor({ timeout: 20_000 });
  const home = admin.locator('.tile[data-key^="f:"]').filter({ hasText: 'alice' });
  await home.dblclick();
  await admin.locator('.tile[data-key^="f:"]').filter({ hasText: 'Project' }).waitFor({ timeout: 20_000 });
  assert.deepEqual(s.consoleErrors(), []);
}, opts);
