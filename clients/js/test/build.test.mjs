import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { build, SOURCE, TARGET } from '../build.mjs';
import { FakeStorage, fakeFetch, contractIssues } from './helpers.mjs';

test('the committed plain-script build equals a fresh build (run `npm run build` after editing)', () => {
  assert.equal(readFileSync(TARGET, 'utf8'), build(readFileSync(SOURCE, 'utf8')));
});

test('the plain-script build defines window.EcommerceAnalytics and works as a classic script', async () => {
  const fetchImpl = fakeFetch();
  const window = { addEventListener() {}, removeEventListener() {} };
  const context = vm.createContext({
    window, console, crypto: globalThis.crypto, Date, Math, JSON, Set, Map, Promise, Number,
    String, Array, Object, TypeError, Uint8Array, setTimeout, clearTimeout, setInterval, clearInterval,
    location: { href: 'http://127.0.0.1:9/shop.html' },
    document: { referrer: '', visibilityState: 'visible', addEventListener() {}, removeEventListener() {} },
    navigator: { userAgent: 'vm' },
  });
  vm.runInContext(readFileSync(TARGET, 'utf8'), context, { filename: 'ecommerce-analytics.global.js' });
  assert.equal(typeof window.EcommerceAnalytics, 'function');
  context.storage = new FakeStorage();
  context.fetchImpl = fetchImpl;
  const events = await vm.runInContext(`(async () => {
    const analytics = new window.EcommerceAnalytics({ apiGatewayUrl: 'http://127.0.0.1:8088', apiKey: 'k',
      storage, fetchImpl, flushInterval: 0 });
    analytics.trackPageView({ url: window.location ? window.location.href : location.href });
    analytics.trackAddToCart({ id: 'p1', price: 3, quantity: 1 });
    await analytics.flush();
    analytics.destroy();
  })()`, context);
  assert.equal(events, undefined);
  const sent = fetchImpl.events();
  assert.deepEqual(sent.map((e) => e.event_type), ['page_view', 'add_to_cart']);
  assert.equal(sent[0].page_url, 'http://127.0.0.1:9/shop.html');
  assert.equal(sent[0].user_agent, 'vm');
  for (const e of sent) assert.deepEqual(contractIssues(JSON.parse(JSON.stringify(e))), []);
});
