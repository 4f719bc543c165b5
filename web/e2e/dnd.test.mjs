// Drag and drop in a folder listing, with the folders organizer: reorder,
// multi-select, move into a folder, and the organizer's "Move to parent".
import assert from 'node:assert/strict';
import { addMedia, e2e, openHome, requireOrganizer, serverAndBrowser, testVideo } from './harness.mjs';

const ORGANIZER = requireOrganizer();

const as = { user: 'dana', name: 'Dana' };
let a, b;
const ctx = serverAndBrowser({
  args: ['--org-cmd', ORGANIZER],
  setup: async (c) => {
    a = await addMedia(c.server, c.browser, testVideo('dnd-a.mp4'), as);
    b = await addMedia(c.server, c.browser, testVideo('dnd-b.mp4'), as);
  },
});
const opts = { server: () => ctx.server, timeout: 150_000 };

const order = (page) => page.locator('.tile').evaluateAll((els) => els.map((e) => e.dataset.key));

e2e('reorder by dragging, multi-select, drop into a folder, move back to the parent', async (s) => {
  const page = await openHome(s, ctx.browser, ctx.server, as);
  const listing = page.getByRole('listbox', { name: 'Media files and folders' });
  const tileA = page.locator(`.tile[data-key="m:${a}"]`);
  const tileB = page.locator(`.tile[data-key="m:${b}"]`);
  await tileA.waitFor();
  await tileB.waitFor();

  // A folder to drop into.
  page.once('dialog', (d) => d.accept('Dailies'));
  await listing.click({ button: 'right', position: { x: 5, y: 5 } });
  await page.getByRole('menuitem', { name: 'New folder' }).click();
  const folder = page.locator('.tile[data-key^="f:"]').filter({ hasText: 'Dailies' });
  await folder.waitFor({ timeout: 20_000 });

  // Reorder: drop B on the left half of A (before it); it sticks after a reload.
  const before = await order(page);
  const ia = before.indexOf(`m:${a}`);
  const ib = before.indexOf(`m:${b}`);
  const [first, second] = ia < ib ? [tileA, tileB] : [tileB, tileA];
  const [firstKey, secondKey] = ia < ib ? [`m:${a}`, `m:${b}`] : [`m:${b}`, `m:${a}`];
  await second.dragTo(first, { targetPosition: { x: 5, y: 40 } });
  await page.waitForFunction(([x, y]) => {
    const keys = [...document.querySelectorAll('.tile')].map((e) => e.dataset.key);
    return keys.indexOf(y) < keys.indexOf(x);
  }, [firstKey, secondKey]);
  await page.reload();
  await listing.waitFor();
  await page.locator(`.tile[data-key="${secondKey}"]`).waitFor();
  const after = await order(page);
  assert.ok(after.indexOf(secondKey) < after.indexOf(firstKey), `order after reload: ${after}`);

  // Select both (click, then Ctrl+click) and drag them onto the folder.
  await tileA.click();
  await tileB.click({ modifiers: ['Control'] });
  await page.getByText('2 selected').waitFor();
  await tileB.dragTo(folder);
  await tileA.waitFor({ state: 'detached', timeout: 20_000 });
  await tileB.waitFor({ state: 'detached', timeout: 20_000 });

  // Both are in the folder; "Move to parent" takes one back.
  await folder.dblclick();
  await page.locator('.org-html', { hasText: 'Dailies' }).waitFor({ timeout: 20_000 });
  await tileA.waitFor();
  await tileB.waitFor();
  await tileA.click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Move to parent' }).click();
  await tileA.waitFor({ state: 'detached', timeout: 20_000 });
  await page.locator('.org-html a', { hasText: '[Home]' }).click();
  await tileA.waitFor({ timeout: 20_000 });
  assert.deepEqual(s.consoleErrors(), []);
}, opts);
