import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EcommerceAnalytics } from '../ecommerce-analytics.js';
import { FakeClock, FakeStorage, fakeFetch, acceptAll, quietLogger, settle, contractIssues } from './helpers.mjs';

const URL_ = 'http://127.0.0.1:8088';

function make(overrides = {}) {
  const clock = overrides.clock || new FakeClock();
  const storage = overrides.storage || new FakeStorage();
  const fetchImpl = overrides.fetchImpl || fakeFetch();
  const logger = overrides.logger || quietLogger();
  const sdk = new EcommerceAnalytics({
    apiGatewayUrl: `${URL_}/`, apiKey: 'k1', now: clock.now, timers: clock.timers,
    random: () => 0.5, storage, fetchImpl, logger, window: null, document: null, ...overrides.options,
  });
  return { sdk, clock, storage, fetchImpl, logger };
}

const product = { id: 'prod_1', name: 'Mug', category: 'kitchen', price: 12.5 };

function shop(sdk) {
  sdk.trackPageView({ url: 'http://127.0.0.1/shop' });
  sdk.trackProductView(product);
  sdk.trackAddToCart({ ...product, quantity: 2 });
  sdk.trackPurchase({ id: 'tx_1', items: [{ id: 'prod_1', name: 'Mug', price: 12.5, quantity: 2 }], payment_method: 'card' });
}

test("the design's usage works unchanged and events are queued, not sent one by one", async () => {
  const { sdk, fetchImpl } = make();
  sdk.trackPageView({ url: 'http://127.0.0.1/' });
  sdk.trackProductView(product);
  await settle();
  assert.equal(fetchImpl.calls.length, 0);
  assert.equal(sdk.pending, 2);
  await sdk.flush();
  assert.equal(fetchImpl.calls.length, 1);
  const { url, init, batch } = fetchImpl.calls[0];
  assert.equal(url, `${URL_}/events`);
  assert.equal(init.method, 'POST');
  assert.deepEqual(init.headers, { 'Content-Type': 'application/json', 'X-API-Key': 'k1' });
  assert.deepEqual(batch.map((e) => e.event_type), ['page_view', 'product_view']);
  assert.equal(batch[1].product_id, 'prod_1');
  assert.equal(batch[1].product_name, 'Mug');
  assert.equal(sdk.pending, 0);
  assert.equal(sdk.stats.accepted, 2);
  sdk.destroy();
});

test('every event carries id, zoned timestamp, session and user, and validates against the contract', async () => {
  const { sdk, fetchImpl } = make();
  shop(sdk);
  sdk.identify('user_42');
  shop(sdk);
  await sdk.flush();
  const events = fetchImpl.events();
  assert.equal(events.length, 8);
  for (const e of events) {
    assert.deepEqual(contractIssues(e), [], JSON.stringify(e));
    assert.match(e.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(e.timestamp, '2025-07-16T10:30:00.000Z');
    assert.equal(e.session_id, sdk.getSessionId());
  }
  assert.equal(new Set(events.map((e) => e.event_id)).size, 8);
  assert.match(events[0].user_id, /^anon_[0-9a-f-]{36}$/);
  assert.equal(events[4].user_id, 'user_42');
  const [anonPurchase, purchase] = [events[3], events[7]];
  assert.equal(anonPurchase.customer_id, events[0].user_id);
  assert.deepEqual(
    { ...purchase, event_id: undefined, session_id: undefined },
    {
      event_type: 'purchase', transaction_id: 'tx_1', payment_method: 'card', customer_id: 'user_42',
      currency: 'USD', total_amount: 25,
      items: [{ product_id: 'prod_1', product_name: 'Mug', unit_price: 12.5, quantity: 2 }],
      event_id: undefined, session_id: undefined, timestamp: '2025-07-16T10:30:00.000Z', user_id: 'user_42',
    },
  );
  const cart = events[6];
  assert.equal(cart.quantity, 2);
  assert.equal(cart.price, 12.5);
  sdk.destroy();
});

test('a contract-breaking purchase or product is refused when tracked, not queued', () => {
  const { sdk } = make();
  assert.throws(() => sdk.trackPurchase({ items: [] }), /items/);
  assert.throws(() => sdk.trackPurchase({ total: 30, items: [{ id: 'p', price: 10, quantity: 2 }] }), /subtotal 20/);
  assert.throws(() => sdk.trackPurchase({ currency: 'usd', items: [{ id: 'p', price: 1 }] }), /currency/);
  assert.throws(() => sdk.trackAddToCart({ id: 'p', quantity: 0 }), /quantity/);
  assert.throws(() => sdk.trackProductView({ name: 'no id' }), /id/);
  assert.throws(() => sdk.trackProductView({ id: 'p', price: -1 }), /price/);
  assert.equal(sdk.pending, 0);
  const ok = sdk.trackPurchase({ amount: 20, currency: 'EUR', customer_id: 'c1', items: [{ product_id: 'p', unit_price: 10, quantity: 2 }] });
  assert.deepEqual(contractIssues(ok), []);
  assert.equal(ok.total_amount, 20);
  assert.equal(ok.currency, 'EUR');
  assert.equal(ok.customer_id, 'c1');
  sdk.destroy();
});

test('flushes on the interval and as soon as a batch is full', async () => {
  const { sdk, clock, fetchImpl } = make({ options: { flushInterval: 5000, maxBatch: 3 } });
  sdk.trackPageView({ url: '/a' });
  await clock.advance(4999);
  assert.equal(fetchImpl.calls.length, 0);
  await clock.advance(1);
  assert.equal(fetchImpl.calls.length, 1);
  for (let i = 0; i < 7; i++) sdk.trackPageView({ url: `/p${i}` });
  await settle();
  // the 3rd event filled a batch: a flush started, and it drains everything queued so far
  assert.ok(fetchImpl.calls.length >= 2);
  await clock.advance(5000);
  assert.equal(sdk.pending, 0);
  assert.ok(fetchImpl.calls.every((c) => c.batch.length <= 3));
  assert.equal(fetchImpl.events().length, 8);
  sdk.destroy();
});

test('retries 5xx and network errors with exponential backoff and jitter, same event ids', async () => {
  let n = 0;
  const fetchImpl = fakeFetch((batch) => {
    n += 1;
    if (n === 1) throw new TypeError('Failed to fetch');
    if (n === 2) return { status: 500, body: { reason: 'internal_error', message: 'x' } };
    if (n === 3) return { status: 503, body: { reason: 'shutting_down', message: 'x' }, headers: { 'Retry-After': '9' } };
    return acceptAll(batch);
  });
  const { sdk, clock, logger } = make({ fetchImpl, options: { flushInterval: 0, retryBaseMs: 1000 } });
  sdk.trackPageView({ url: '/' });
  await sdk.flush();
  assert.deepEqual(clock.timeouts(), [750]); // base 1000: random(0.5) in [500, 1000]
  await clock.advance(750);
  assert.deepEqual(clock.timeouts(), [1500]); // 2000: [1000, 2000]
  await clock.advance(1500);
  assert.deepEqual(clock.timeouts(), [9000]); // Retry-After wins over 3000
  await clock.advance(9000);
  assert.equal(fetchImpl.calls.length, 4);
  assert.equal(sdk.pending, 0);
  assert.equal(new Set(fetchImpl.calls.map((c) => c.batch[0].event_id)).size, 1);
  assert.equal(logger.warnings.length, 3);
  // success resets the backoff
  fetchImpl.calls.length = 0;
  n = 0;
  sdk.trackPageView({ url: '/' });
  await sdk.flush();
  assert.deepEqual(clock.timeouts(), [750]);
  sdk.destroy();
});

test('backoff is capped', async () => {
  const fetchImpl = fakeFetch(() => ({ status: 502 }));
  const { sdk, clock } = make({ fetchImpl, options: { flushInterval: 0, retryBaseMs: 1000, retryMaxMs: 4000, random: () => 0.999 } });
  sdk.trackPageView({ url: '/' });
  await sdk.flush();
  const delays = [];
  for (let i = 0; i < 5; i++) {
    delays.push(clock.timeouts()[0]);
    await clock.advance(clock.timeouts()[0]);
  }
  assert.deepEqual(delays, [1000, 1999, 3998, 3998, 3998]);
  assert.equal(sdk.pending, 1);
  sdk.destroy();
});

test('429 is retried; other 4xx drop the batch with a warning', async () => {
  const statuses = [429, 403];
  const fetchImpl = fakeFetch(() => ({ status: statuses.shift() ?? 200, body: { reason: 'invalid_api_key', message: 'the X-API-Key is not valid' } }));
  const { sdk, clock, logger } = make({ fetchImpl, options: { flushInterval: 0 } });
  sdk.trackPageView({ url: '/' });
  await sdk.flush();
  assert.equal(sdk.pending, 1);
  await clock.advance(clock.timeouts()[0]);
  assert.equal(fetchImpl.calls.length, 2);
  assert.equal(sdk.pending, 0);
  assert.equal(sdk.stats.droppedRejected, 1);
  assert.match(logger.warnings.at(-1), /invalid_api_key/);
  assert.deepEqual(clock.timeouts(), []);
  sdk.destroy();
});

test('per-event answers: accepted removed, rejected dropped with a warning, stream_unavailable retried', async () => {
  let n = 0;
  const fetchImpl = fakeFetch((batch) => {
    n += 1;
    if (n === 1) {
      return {
        status: 200,
        body: {
          accepted: [batch[0].event_id],
          rejected: [
            { index: 1, reason: 'bad_timestamp', field: 'timestamp', message: 'no zone', issues: [] },
            { index: 2, reason: 'stream_unavailable', field: '$', message: 'send it again', event_id: batch[2].event_id, issues: [] },
          ],
        },
      };
    }
    return acceptAll(batch);
  });
  const { sdk, clock, logger } = make({ fetchImpl, options: { flushInterval: 0 } });
  const events = [sdk.trackPageView({ url: '/0' }), sdk.trackPageView({ url: '/1' }), sdk.trackPageView({ url: '/2' })];
  await sdk.flush();
  assert.deepEqual(sdk.queue.map((e) => e.event_id), [events[2].event_id]);
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /bad_timestamp/);
  await clock.advance(clock.timeouts()[0]);
  assert.deepEqual(fetchImpl.calls[1].batch.map((e) => e.event_id), [events[2].event_id]);
  assert.equal(sdk.pending, 0);
  assert.deepEqual(sdk.stats, { accepted: 2, droppedOverflow: 0, droppedRejected: 1, retries: 1 });
  sdk.destroy();
});

test('400 with every event rejected drops them; 413 splits a batch', async () => {
  const fetchImpl = fakeFetch((batch) => {
    if (batch.length > 2) return { status: 413, body: { reason: 'payload_too_large', message: 'x' } };
    if (batch[0].page_url === '/bad') {
      return { status: 400, body: { accepted: [], rejected: [{ index: 0, reason: 'future_timestamp', field: 'timestamp', message: 'x', issues: [] }] } };
    }
    return acceptAll(batch);
  });
  const { sdk } = make({ fetchImpl, options: { flushInterval: 0 } });
  sdk.trackPageView({ url: '/bad' });
  await sdk.flush();
  assert.equal(sdk.pending, 0);
  for (let i = 0; i < 4; i++) sdk.trackPageView({ url: `/${i}` });
  await sdk.flush();
  assert.deepEqual(fetchImpl.calls.map((c) => c.batch.length), [1, 4, 2, 2]);
  assert.equal(sdk.pending, 0);
  assert.equal(sdk.stats.accepted, 4);
  sdk.destroy();
});

test('unsent events survive a reload (a new instance on the same storage) and are sent once', async () => {
  const storage = new FakeStorage();
  const down = fakeFetch(() => { throw new TypeError('offline'); });
  const first = make({ storage, fetchImpl: down, options: { flushInterval: 0 } });
  shop(first.sdk);
  await first.sdk.flush();
  const ids = first.sdk.queue.map((e) => e.event_id);
  const sessionId = first.sdk.getSessionId();
  const userId = first.sdk.getUserId();
  first.sdk.destroy();
  const up = fakeFetch();
  const second = make({ storage, fetchImpl: up, clock: first.clock, options: { flushInterval: 0 } });
  assert.equal(second.sdk.pending, 4);
  assert.equal(second.sdk.getSessionId(), sessionId);
  assert.equal(second.sdk.getUserId(), userId);
  second.sdk.trackPageView({ url: '/after-reload' });
  await second.sdk.flush();
  assert.deepEqual(up.events().map((e) => e.event_id).slice(0, 4), ids);
  assert.equal(up.events().length, 5);
  assert.equal(storage.getItem('ecomflow_queue'), null);
  second.sdk.destroy();
});

test('the stored queue is bounded: the oldest events are dropped and counted', async () => {
  const storage = new FakeStorage();
  const down = fakeFetch(() => ({ status: 503 }));
  const { sdk, logger } = make({ storage, fetchImpl: down, options: { flushInterval: 0, maxStored: 5, maxBatch: 100 } });
  const all = [];
  for (let i = 0; i < 8; i++) all.push(sdk.trackPageView({ url: `/${i}` }).event_id);
  assert.equal(sdk.pending, 5);
  assert.equal(sdk.stats.droppedOverflow, 3);
  assert.equal(logger.warnings.length, 3);
  assert.deepEqual(JSON.parse(storage.getItem('ecomflow_queue')).map((e) => e.event_id), all.slice(3));
  sdk.destroy();
  // a smaller bound on the next page keeps the newest
  const next = make({ storage, fetchImpl: down, options: { flushInterval: 0, maxStored: 2 } });
  assert.deepEqual(next.sdk.queue.map((e) => e.event_id), all.slice(6));
  assert.equal(next.sdk.stats.droppedOverflow, 3);
  next.sdk.destroy();
});

test('broken or unavailable storage does not break tracking', async () => {
  const throwing = { getItem() { throw new Error('SecurityError'); }, setItem() { throw new Error('QuotaExceededError'); }, removeItem() { throw new Error('x'); } };
  const { sdk, fetchImpl } = make({ storage: throwing, options: { flushInterval: 0 } });
  shop(sdk);
  await sdk.flush();
  assert.equal(fetchImpl.events().length, 4);
  sdk.destroy();
  const garbage = new FakeStorage();
  garbage.setItem('ecomflow_queue', '{not json');
  garbage.setItem('ecomflow_session', '"x"');
  const again = make({ storage: garbage, options: { flushInterval: 0 } });
  assert.equal(again.sdk.pending, 0);
  assert.match(again.sdk.getSessionId(), /^[0-9a-f-]{36}$/);
  again.sdk.destroy();
});

test('the session id rotates after 30 minutes without activity, not while active', async () => {
  const { sdk, clock } = make({ options: { flushInterval: 0 } });
  const s1 = sdk.trackPageView({ url: '/' }).session_id;
  for (let i = 0; i < 4; i++) {
    await clock.advance(29 * 60 * 1000); // active every 29 minutes: same session for 2 hours
    assert.equal(sdk.trackPageView({ url: '/' }).session_id, s1);
  }
  await clock.advance(30 * 60 * 1000 + 1);
  const s2 = sdk.trackPageView({ url: '/' }).session_id;
  assert.notEqual(s2, s1);
  // reading the id is not activity
  await clock.advance(20 * 60 * 1000);
  assert.equal(sdk.getSessionId(), s2);
  await clock.advance(11 * 60 * 1000);
  assert.notEqual(sdk.getSessionId(), s2);
  sdk.destroy();
});

test('identify() replaces the anonymous id until identify(null); it persists', async () => {
  const storage = new FakeStorage();
  const { sdk } = make({ storage, options: { flushInterval: 0 } });
  const anon = sdk.getUserId();
  assert.match(anon, /^anon_/);
  assert.equal(sdk.getUserId(), anon);
  sdk.identify('user_7');
  assert.equal(sdk.trackPageView({ url: '/' }).user_id, 'user_7');
  const again = make({ storage, options: { flushInterval: 0 } });
  assert.equal(again.sdk.getUserId(), 'user_7');
  again.sdk.identify(null);
  assert.equal(again.sdk.getUserId(), anon);
  assert.throws(() => sdk.identify(''), TypeError);
  sdk.destroy();
  again.sdk.destroy();
});

test('page hide hands the queue to a keepalive fetch; a failure while the page lives is retried', async () => {
  const win = new EventTarget();
  const doc = new EventTarget();
  doc.visibilityState = 'visible';
  let fail = true;
  const fetchImpl = fakeFetch((batch) => (fail ? { status: 503 } : acceptAll(batch)));
  const { sdk, clock, storage } = make({ fetchImpl, options: { flushInterval: 0, window: win, document: doc } });
  shop(sdk);
  doc.visibilityState = 'hidden';
  doc.dispatchEvent(new Event('visibilitychange'));
  assert.equal(fetchImpl.calls.length, 1);
  assert.equal(fetchImpl.calls[0].init.keepalive, true);
  assert.equal(fetchImpl.calls[0].init.headers['X-API-Key'], 'k1');
  assert.equal(storage.getItem('ecomflow_queue'), null); // handed over to the browser
  await settle();
  assert.equal(sdk.pending, 4); // 503 and the page is still alive: back in the queue
  fail = false;
  await clock.advance(clock.timeouts()[0]);
  assert.equal(sdk.pending, 0);
  sdk.trackPageView({ url: '/bye' });
  win.dispatchEvent(new Event('pagehide'));
  await settle();
  assert.equal(fetchImpl.calls.at(-1).batch[0].page_url, '/bye');
  assert.equal(sdk.pending, 0);
  sdk.destroy();
  win.dispatchEvent(new Event('pagehide'));
  assert.equal(fetchImpl.calls.length, 3);
});

test('page hide keeps keepalive bodies under 64 KiB and leaves the rest stored', async () => {
  const win = new EventTarget();
  const fetchImpl = fakeFetch();
  const { sdk, storage } = make({ fetchImpl, options: { flushInterval: 0, window: win, document: null, maxBatch: 500 } });
  const big = 'x'.repeat(1000);
  for (let i = 0; i < 100; i++) sdk.trackProductView({ id: `p${i}`, name: big });
  win.dispatchEvent(new Event('pagehide'));
  const sent = fetchImpl.calls.reduce((n, c) => n + c.init.body.length, 0);
  assert.ok(sent <= 60000, `${sent} bytes`);
  assert.ok(fetchImpl.events().length > 10);
  const stored = JSON.parse(storage.getItem('ecomflow_queue'));
  assert.equal(stored.length + fetchImpl.events().length, 100);
  await settle();
  sdk.destroy();
});

test('a beacon option replaces the keepalive fetch on page hide', () => {
  const win = new EventTarget();
  const beacons = [];
  const fetchImpl = fakeFetch();
  const { sdk } = make({ fetchImpl, options: { flushInterval: 0, window: win, document: null, beacon: (url, body) => beacons.push([url, JSON.parse(body)]) > 0 } });
  sdk.trackPageView({ url: '/' });
  win.dispatchEvent(new Event('pagehide'));
  assert.equal(fetchImpl.calls.length, 0);
  assert.equal(beacons.length, 1);
  assert.equal(beacons[0][0], `${URL_}/events`);
  assert.equal(sdk.pending, 0);
  sdk.destroy();
});

test('a flush while one is in flight waits for it and sends what was added meanwhile', async () => {
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const fetchImpl = fakeFetch(async (batch) => { await gate; return acceptAll(batch); });
  const { sdk } = make({ fetchImpl, options: { flushInterval: 0 } });
  sdk.trackPageView({ url: '/1' });
  const f1 = sdk.flush();
  sdk.trackPageView({ url: '/2' });
  const f2 = sdk.flush();
  release();
  await Promise.all([f1, f2]);
  assert.equal(sdk.pending, 0);
  assert.deepEqual(fetchImpl.events().map((e) => e.page_url), ['/1', '/2']);
  sdk.destroy();
});

test('configuration is checked', () => {
  assert.throws(() => new EcommerceAnalytics({ apiKey: 'k' }), /apiGatewayUrl/);
  assert.throws(() => new EcommerceAnalytics({ apiGatewayUrl: 'http://x' }), /apiKey/);
  assert.throws(() => new EcommerceAnalytics({ apiGatewayUrl: 'http://x', apiKey: 'k', currency: 'eur' }), /currency/);
});
