// Prints, as JSONL, the events the SDK produces for a scripted visit (every track* call and
// argument shape of docs/browser-sdk.md). tests/clients/test_sdk_contract.py validates them
// with the Python contract (flink_jobs.contract.validate), next to the Node tests' own check.
import { EcommerceAnalytics } from '../ecommerce-analytics.js';

const sent = [];
const fetchImpl = async (url, init) => {
  const batch = JSON.parse(init.body);
  sent.push(...batch);
  return { ok: true, status: 200, headers: { get: () => null },
    json: async () => ({ accepted: batch.map((e) => e.event_id), rejected: [] }) };
};
globalThis.location ??= { href: 'http://127.0.0.1:8000/shop.html?x=1' };
const analytics = new EcommerceAnalytics({ apiGatewayUrl: 'http://127.0.0.1:8088', apiKey: 'k',
  fetchImpl, flushInterval: 0, storage: null, window: null, document: null });

const mug = { id: 'prod_1', name: 'Mug', category: 'kitchen', price: 12.5 };
analytics.trackPageView({ url: 'http://127.0.0.1:8000/' });
analytics.trackPageView();
analytics.trackProductView(mug);
analytics.trackProductView({ id: 42 });
analytics.trackProductView({ ...mug, price: '9.90', currency: 'EUR' });
analytics.trackAddToCart({ ...mug, quantity: 3 });
analytics.trackAddToCart({ id: 'prod_2' });
analytics.trackPurchase({ id: 'tx_1', items: [{ id: 'prod_1', price: 12.5, quantity: 2 }, { id: 'prod_2', price: 0.1, quantity: 3 }] });
analytics.identify('user_42');
analytics.trackPageView({ url: '/account' });
analytics.trackPurchase({ transaction_id: 'tx_2', customer_id: 'cust_9', currency: 'EUR', amount: 7.5,
  payment_method: 'card', shipping_address: { country: 'ES', city: 'Madrid', postal_code: null },
  items: [{ product_id: 'prod_3', unit_price: 2.5, quantity: 3, category: 'toys' }] });
analytics.trackPurchase({ total: 0.3, items: [{ id: 'p', price: 0.1, quantity: 3 }] });
await analytics.flush();
analytics.destroy();
for (const event of sent) process.stdout.write(`${JSON.stringify(event)}\n`);
