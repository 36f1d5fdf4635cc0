// Watches `ecomflow dashboard` in Debian's Chromium (playwright-core from clients/js):
//   node watch_dashboard.mjs <page url> <out.json> [<screenshot.png>]
// Samples the page every second (the panels' figures as shown, how many times it has
// redrawn, what each chart drew) until <out.json>.stop exists, then writes the samples to
// <out.json> (and a full-page screenshot).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(new URL('../../clients/js/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const CHROMIUM = process.env.ECOMFLOW_CHROMIUM || '/usr/bin/chromium';
const [pageUrl, outPath, screenshot] = process.argv.slice(2);
if (!pageUrl || !outPath) throw new Error('usage: node watch_dashboard.mjs <url> <out.json>');
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} not found: install Debian's chromium package`);
  process.exit(2);
}

const profile = mkdtempSync(path.join(tmpdir(), 'ecomflow-dashboard-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, timeout: 60000,
  viewport: { width: 1400, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const samples = [];
const failed = [];
try {
  const page = await context.newPage();
  page.on('requestfailed', (request) => failed.push(request.url()));
  page.on('pageerror', (error) => failed.push(`page error: ${error.message}`));
  await page.goto(pageUrl, { waitUntil: 'load' });
  const sample = () => page.evaluate(() => {
    const text = (id) => document.getElementById(id)?.textContent ?? null;
    const kpis = {};
    for (const element of document.querySelectorAll('[id^="kpi-"]')) {
      kpis[element.id.slice(4)] = element.textContent;
    }
    const drawn = {};
    for (const element of document.querySelectorAll('[id^="chart-"], [id^="table-"]')) {
      drawn[element.id] = {
        points: element.dataset.points ?? element.dataset.rows ?? null,
        plotted: Boolean(element.querySelector('.main-svg')),
        empty: element.querySelector('.empty')?.textContent ?? null,
      };
    }
    return { at: Date.now(), updates: Number(document.body.dataset.updates || 0), kpis, drawn,
             status: text('status'), error: text('error'), balance: text('balance') };
  });
  const deadline = Date.now() + 600000;
  while (!existsSync(`${outPath}.stop`) && Date.now() < deadline) {
    samples.push(await sample());
    await page.waitForTimeout(1000);
  }
  // One more refresh after the stop signal: the figures the page shows at the end.
  const seen = samples.length ? samples[samples.length - 1].updates : 0;
  await page.waitForFunction((n) => Number(document.body.dataset.updates || 0) > n, seen,
                             { timeout: 20000 });
  samples.push(await sample());
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
writeFileSync(outPath, JSON.stringify({ samples, failed }));
