// The page itself: served by the real server with its runtime settings.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { e2e, launchBrowser, startServer } from './harness.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

e2e('the page loads with settings injected for this server', async (s) => {
  const page = await s.open(browser, server.url);
  await page.waitForSelector('header');
  assert.equal(await page.title(), 'Clapshot');
  const settings = JSON.parse(await page.locator('#clapshot-settings').textContent());
  assert.equal(settings.ws_url, 'api/ws');
  const conf = await (await page.request.get(server.url + 'clapshot_client.conf.json')).json();
  assert.equal(conf.ws_url, server.url.replace('http:', 'ws:') + 'api/ws');
}, { server: () => server });
