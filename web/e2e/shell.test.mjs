// The page itself: served by the real server with its runtime settings,
// and what it shows when the server cannot be reached.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2e, serverAndBrowser, startServer } from './harness.mjs';

const ctx = serverAndBrowser();

e2e('the page loads with settings injected for this server', async (s) => {
  const page = await s.open(ctx.browser, ctx.server.url);
  assert.match(await page.title(), /Clapshot$/);
  const settings = JSON.parse(await page.locator('#clapshot-settings').textContent());
  assert.equal(settings.ws_url, 'api/ws');
  const conf = await (await page.request.get(ctx.server.url + 'clapshot_client.conf.json')).json();
  assert.equal(conf.ws_url, ctx.server.url.replace('http:', 'ws:') + 'api/ws');
}, { server: () => ctx.server });

e2e('an unreachable server gives a clear reason and keeps retrying', async (s) => {
  // A client conf pointing the API at a closed port.
  const dir = mkdtempSync(join(tmpdir(), 'clapshot-conf-'));
  const conf = join(dir, 'client.json');
  writeFileSync(conf, JSON.stringify({ ws_url: 'ws://127.0.0.1:9/api/ws', app_title: 'Dailies <b>review</b>' }));
  const other = await startServer({ args: ['--client-conf', conf] });
  try {
    const page = await s.open(ctx.browser, other.url);
    await page.getByRole('heading', { name: 'Cannot reach the server' }).waitFor({ timeout: 15_000 });
    const reason = await page.locator('.reason').textContent();
    assert.match(reason, /Cannot reach http:\/\/127\.0\.0\.1:9\/api\/health/);
    // The title is text, never markup.
    assert.equal(await page.locator('.connect h1').textContent(), 'Dailies <b>review</b>');
    assert.equal(await page.title(), 'Dailies <b>review</b>');
    // It retries by itself: the attempt count grows.
    await page.getByText(/Earlier attempts \(\d+\)/).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Retry now' }).waitFor();
    const errs = s.consoleErrors([/ERR_CONNECTION_REFUSED/, /Failed to load resource/]);
    assert.deepEqual(errs, []);
  } finally {
    await other.stop();
  }
}, { server: () => ctx.server });
