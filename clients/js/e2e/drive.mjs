// Drives Debian's Chromium (never a downloaded browser) through the test shop:
//   node drive.mjs <page url> [<status url>]
// page view on load, click "View product", "Add to cart", then analytics.flush() (fetch with
// CORS preflight), then "Buy", then leave the page: the purchase goes out on pagehide as a
// keepalive fetch. With a status url, the browser stays open until GET <status url> answers
// 200 (the test's signal that the collector got the purchase; at most 30 s). Prints one JSON line: the events the page tracked, the page's SDK stats
// after the explicit flush, console messages and failed requests.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.ECOMFLOW_CHROMIUM || '/usr/bin/chromium';
const [pageUrl, statusUrl] = process.argv.slice(2);
if (!pageUrl) throw new Error('usage: node drive.mjs <page url>');
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium)`);
  process.exit(2);
}

const profile = mkdtempSync(path.join(tmpdir(), 'ecomflow-chromium-'));
// A new empty profile per run (playwright-core takes it as launchPersistentContext's argument
// rather than as --user-data-dir).
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
} catch (error) {
  rmSync(profile, { recursive: true, force: true });
  throw error;
}
const log = { console: [], failed: [], responses: [] };
try {
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  page.on('console', (m) => log.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.console.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => log.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.url().endsWith('/events')) log.responses.push(`${r.request().method()} ${r.status()}`); });

  await page.goto(pageUrl, { waitUntil: 'load' });
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready');
  await page.click('#view');
  await page.click('#add');
  await page.evaluate(() => window.analytics.flush());
  const afterFlush = await page.evaluate(() => ({ stats: { ...window.analytics.stats }, pending: window.analytics.pending }));
  await page.click('#buy');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'bought');
  const tracked = await page.evaluate(() => window.tracked);
  const pendingBeforeLeave = await page.evaluate(() => window.analytics.pending);
  await page.goto('about:blank'); // pagehide: the SDK hands the purchase to a keepalive fetch
  let delivered = null;
  if (statusUrl) {
    const deadline = Date.now() + 30000;
    delivered = false;
    while (Date.now() < deadline) {
      if ((await fetch(statusUrl)).status === 200) { delivered = true; break; }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  log.delivered = delivered;
  process.stdout.write(`${JSON.stringify({ tracked, afterFlush, pendingBeforeLeave, ...log })}\n`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
