// ecommerce-analytics.js: the ecomflow browser SDK (docs/browser-sdk.md).
//
// Dependency-free ES module. The plain-script build, ecommerce-analytics.global.js, is
// generated from this file by build.mjs: edit this file, then run `npm run build`.
//
// The API is the original design's EcommerceAnalytics (trackPageView, trackProductView,
// trackPurchase, getSessionId, getUserId) plus trackAddToCart, identify and flush. Events are
// queued, mirrored to localStorage, and posted in batches to `${apiGatewayUrl}/events`
// (docs/collect.md) with the X-API-Key header.

/**
 * @typedef {{getItem(key: string): (string|null), setItem(key: string, value: string): void,
 *            removeItem(key: string): void}} StorageLike
 * @typedef {{setTimeout: Function, clearTimeout: Function, setInterval: Function,
 *            clearInterval: Function}} Timers
 * @typedef {Object} AnalyticsConfig
 * @property {string} apiGatewayUrl  base URL of the collector; events go to `${apiGatewayUrl}/events`
 * @property {string} apiKey  sent as the X-API-Key header
 * @property {number} [flushInterval=5000]  ms between automatic flushes (0: no timer)
 * @property {number} [maxBatch=50]  events per request (1..500); a full batch is flushed at once
 * @property {number} [maxStored=1000]  queue bound; beyond it the oldest events are dropped
 * @property {number} [sessionTimeoutMs=1800000]  inactivity after which the session id rotates
 * @property {string} [currency='USD']  currency of purchases (and prices) that name none
 * @property {string} [storagePrefix='ecomflow_']  prefix of the localStorage keys
 * @property {StorageLike|null} [storage]  default: window.localStorage, else memory only
 * @property {Function} [fetchImpl]  default: globalThis.fetch
 * @property {((url: string, body: string) => boolean)|null} [beacon]  optional page-hide sender
 *   (e.g. a wrapper of navigator.sendBeacon for a gateway that authenticates without headers);
 *   default null: page hide uses fetch(..., {keepalive: true}) (see docs/browser-sdk.md)
 * @property {number} [retryBaseMs=1000]  first retry delay (doubles per attempt, with jitter)
 * @property {number} [retryMaxMs=60000]  retry delay cap
 * @property {boolean} [autoListen=true]  flush on visibilitychange→hidden and pagehide
 * @property {() => number} [now]  clock in ms (tests)
 * @property {() => number} [random]  uniform [0, 1) (tests)
 * @property {Timers} [timers]  timer functions (tests)
 * @property {EventTarget|null} [window]  where pagehide is listened for (default: window)
 * @property {Document|null} [document]  where visibilitychange is listened for (default: document)
 * @property {{warn: Function}} [logger]  default: console
 */

const DEFAULTS = {
  flushInterval: 5000,
  maxBatch: 50,
  maxStored: 1000,
  sessionTimeoutMs: 30 * 60 * 1000,
  currency: 'USD',
  storagePrefix: 'ecomflow_',
  retryBaseMs: 1000,
  retryMaxMs: 60000,
  autoListen: true,
};

// A keepalive fetch may carry at most 64 KiB of body in flight per page: stay under it.
const KEEPALIVE_BODY_LIMIT = 60000;
// Collector answers that are worth sending again (docs/collect.md "Status codes").
const RETRYABLE_STATUS = new Set([408, 429]);
// A rejected event with this reason was valid but the stream did not take it: resend it.
const STREAM_UNAVAILABLE = 'stream_unavailable';

/** @returns {string} a random RFC 4122 version 4 UUID. */
function uuid4() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** In-memory Storage stand-in, used when localStorage is unavailable (or blocked). */
class MemoryStorage {
  constructor() { this.map = new Map(); }
  getItem(key) { return this.map.has(key) ? this.map.get(key) : null; }
  setItem(key, value) { this.map.set(key, String(value)); }
  removeItem(key) { this.map.delete(key); }
}

function defaultStorage() {
  try {
    const s = globalThis.localStorage;
    if (!s) return null;
    const probe = '__ecomflow_probe__';
    s.setItem(probe, '1');
    s.removeItem(probe);
    return s;
  } catch (_) {
    return null; // disabled storage, Safari private mode, sandboxed iframe...
  }
}

/** @param {unknown} value @param {string} what @returns {string} */
function requireId(value, what) {
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new TypeError(`${what} must be a non-empty string (at most 256 characters)`);
  }
  return value;
}

/** @param {unknown} value @param {string} what @param {boolean} required @returns {number|null} */
function money(value, what, required) {
  if (value === undefined || value === null) {
    if (required) throw new TypeError(`${what} is required`);
    return null;
  }
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n >= 1e16) {
    throw new TypeError(`${what} must be a number >= 0`);
  }
  return n;
}

/** @param {unknown} value @param {string} what @returns {number} */
function quantity(value, what) {
  if (value === undefined || value === null) return 1;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 2147483647) {
    throw new TypeError(`${what} must be an integer from 1 to 2147483647`);
  }
  return n;
}

/** @param {unknown} value @param {string} what @returns {string} */
function currencyCode(value, what) {
  if (typeof value !== 'string' || !/^[A-Z]{3}$/.test(value)) {
    throw new TypeError(`${what} must be three upper-case letters (e.g. USD)`);
  }
  return value;
}

const round2 = (n) => Math.round(n * 100) / 100;

export class EcommerceAnalytics {
  /** @param {AnalyticsConfig} config */
  constructor(config) {
    if (!config || typeof config.apiGatewayUrl !== 'string' || !config.apiGatewayUrl) {
      throw new TypeError('apiGatewayUrl is required');
    }
    if (typeof config.apiKey !== 'string' || !config.apiKey) {
      throw new TypeError('apiKey is required');
    }
    const o = { ...DEFAULTS, ...config };
    this.apiGatewayUrl = config.apiGatewayUrl.replace(/\/+$/, '');
    this.apiKey = config.apiKey;
    this.endpoint = `${this.apiGatewayUrl}/events`;
    this.flushInterval = o.flushInterval;
    this.maxBatch = Math.max(1, Math.min(500, Math.floor(o.maxBatch)));
    this.maxStored = Math.max(1, Math.floor(o.maxStored));
    this.sessionTimeoutMs = o.sessionTimeoutMs;
    this.currency = currencyCode(o.currency, 'currency');
    this.retryBaseMs = o.retryBaseMs;
    this.retryMaxMs = o.retryMaxMs;
    this.now = o.now || (() => Date.now());
    this.random = o.random || Math.random;
    this.timers = o.timers || globalThis;
    this.logger = o.logger || console;
    this.fetchImpl = o.fetchImpl || (globalThis.fetch ? globalThis.fetch.bind(globalThis) : null);
    this.beacon = o.beacon || null;
    this.storage = o.storage === undefined ? (defaultStorage() || new MemoryStorage())
      : (o.storage || new MemoryStorage());
    this.keys = {
      queue: `${o.storagePrefix}queue`,
      session: `${o.storagePrefix}session`,
      user: `${o.storagePrefix}user_id`,
      anon: `${o.storagePrefix}anonymous_id`,
    };
    /** counters: events sent (accepted), dropped because the queue was full, rejected by the collector */
    this.stats = { accepted: 0, droppedOverflow: 0, droppedRejected: 0, retries: 0 };
    /** @type {object[]} */
    this.queue = this._loadQueue();
    this._inFlight = null; // the promise of flush()'s drain
    this._sending = new Set(); // event ids of the batch flush() is sending
    this._attempt = 0; // consecutive failed attempts (backoff exponent)
    this._retryTimer = null;
    this._retryAt = 0;
    this._intervalTimer = null;
    this._listeners = [];
    if (this.flushInterval > 0) {
      this._intervalTimer = this.timers.setInterval(() => { this.flush(); }, this.flushInterval);
    }
    if (o.autoListen) this._listen(o.window, o.document);
  }

  // ---------------------------------------------------------------- the design's API

  /** A page was shown. @param {{url?: string}} [pageData] @returns {object} the queued event */
  trackPageView(pageData = {}) {
    const url = pageData.url ?? globalThis.location?.href;
    return this._track('page_view', { ...this._pageContext(), page_url: requireId(url, 'url') });
  }

  /**
   * A product was looked at.
   * @param {{id: string|number, name?: string, category?: string, price?: number, currency?: string}} productData
   */
  trackProductView(productData) {
    return this._track('product_view', { ...this._pageContext(), ...this._product(productData) });
  }

  /**
   * Units of a product were put into the cart.
   * @param {{id: string|number, name?: string, category?: string, price?: number, quantity?: number, currency?: string}} productData
   */
  trackAddToCart(productData) {
    return this._track('add_to_cart', {
      ...this._pageContext(),
      ...this._product(productData),
      quantity: quantity(productData.quantity, 'quantity'),
    });
  }

  /**
   * A completed checkout, mapped onto the contract's purchase (docs/browser-sdk.md):
   * items[].id|product_id → product_id, items[].price|unit_price → unit_price, quantity
   * (default 1); total_amount (or total/amount) must equal the items' subtotal and is computed
   * when absent; customer_id defaults to getUserId(); currency to the `currency` option;
   * id|transaction_id → transaction_id. Unknown fields are kept.
   * @param {object} transactionData
   */
  trackPurchase(transactionData) {
    const t = transactionData || {};
    if (!Array.isArray(t.items) || t.items.length === 0) {
      throw new TypeError('a purchase needs items: [{id, price, quantity}, ...]');
    }
    const items = t.items.map((item, i) => {
      const out = { ...item };
      delete out.id;
      delete out.name;
      out.product_id = requireId(item.product_id ?? item.id, `items[${i}].id`);
      if (item.name !== undefined) out.product_name = item.name;
      out.unit_price = money(item.unit_price ?? item.price, `items[${i}].price`, true);
      delete out.price;
      out.quantity = quantity(item.quantity, `items[${i}].quantity`);
      return out;
    });
    const subtotal = round2(items.reduce((sum, it) => sum + it.quantity * it.unit_price, 0));
    const given = t.total_amount ?? t.amount ?? t.total;
    const total = given === undefined || given === null ? subtotal : money(given, 'total_amount', true);
    if (Math.abs(total - subtotal) > 0.01) {
      throw new TypeError(
        `total_amount ${total} is not the items' subtotal ${subtotal}: the contract's total excludes ` +
        'shipping, tax and discounts (send those as separate fields)');
    }
    const data = { ...t };
    for (const k of ['id', 'total', 'amount', 'items']) delete data[k];
    if (data.transaction_id == null && t.id != null) data.transaction_id = requireId(t.id, 'id');
    data.customer_id = requireId(t.customer_id ?? this.getUserId(), 'customer_id');
    data.currency = currencyCode(t.currency ?? this.currency, 'currency');
    data.items = items;
    data.total_amount = total;
    return this._track('purchase', data);
  }

  /**
   * The visitor logged in (a user id) or out (null): later events carry it as user_id.
   * @param {string|null} userId
   */
  identify(userId) {
    if (userId === null || userId === undefined) {
      this._remove(this.keys.user);
      return;
    }
    this._set(this.keys.user, requireId(userId, 'userId'));
  }

  /**
   * The current session id; a new one after sessionTimeoutMs without a tracked event.
   * @returns {string}
   */
  getSessionId() {
    const now = this.now();
    let session = null;
    try { session = JSON.parse(this._get(this.keys.session) || 'null'); } catch (_) { /* rotate */ }
    if (!session || typeof session.id !== 'string' || typeof session.last !== 'number' ||
        now - session.last > this.sessionTimeoutMs || session.last > now + this.sessionTimeoutMs) {
      session = { id: uuid4(), last: now };
      this._set(this.keys.session, JSON.stringify(session));
    }
    return session.id;
  }

  /** The identified user id, else this browser's anonymous id (`anon_<uuid>`). @returns {string} */
  getUserId() {
    const user = this._get(this.keys.user);
    if (user) return user;
    let anon = this._get(this.keys.anon);
    if (!anon) {
      anon = `anon_${uuid4()}`;
      this._set(this.keys.anon, anon);
    }
    return anon;
  }

  // ---------------------------------------------------------------- the queue

  /**
   * Send everything queued now, batch by batch. Resolves when the queue is empty or a
   * request failed (a retry is then scheduled with backoff); never rejects.
   * @returns {Promise<void>}
   */
  flush() {
    if (this._inFlight) {
      return this._inFlight.then(() => (this.queue.length && this._retryTimer === null ? this.flush() : undefined));
    }
    if (!this.queue.length || !this.fetchImpl) return Promise.resolve();
    if (this._retryTimer !== null) {
      this.timers.clearTimeout(this._retryTimer); // an explicit flush does not wait for backoff
      this._retryTimer = null;
    }
    this._inFlight = this._drain().finally(() => { this._inFlight = null; });
    return this._inFlight;
  }

  /** Stop the timers and listeners; queued events stay in storage for the next page. */
  destroy() {
    if (this._intervalTimer !== null) this.timers.clearInterval(this._intervalTimer);
    if (this._retryTimer !== null) this.timers.clearTimeout(this._retryTimer);
    this._intervalTimer = this._retryTimer = null;
    for (const [target, type, fn] of this._listeners) target.removeEventListener(type, fn);
    this._listeners = [];
  }

  /** @returns {number} events waiting to be sent */
  get pending() { return this.queue.length; }

  // ---------------------------------------------------------------- internals

  _track(eventType, data) {
    const event = {
      event_type: eventType,
      ...data,
      event_id: uuid4(),
      timestamp: new Date(this.now()).toISOString(),
      session_id: this.getSessionId(),
      user_id: data.user_id ?? this.getUserId(),
    };
    event.event_type = eventType;
    this._touchSession(event.session_id);
    this.queue.push(event);
    if (this.queue.length > this.maxStored) {
      const excess = this.queue.length - this.maxStored;
      this.queue.splice(0, excess);
      this.stats.droppedOverflow += excess;
      this.logger.warn(`ecomflow: queue full (${this.maxStored}); dropped ${excess} oldest event(s)`);
    }
    this._persist();
    if (this.queue.length >= this.maxBatch && this._retryTimer === null) this.flush();
    return event;
  }

  _product(p) {
    if (!p) throw new TypeError('product data is required');
    const out = { product_id: requireId(p.id ?? p.product_id, 'id') };
    const name = p.name ?? p.product_name;
    if (name != null) out.product_name = String(name);
    if (p.category != null) out.category = String(p.category);
    const price = money(p.price, 'price', false);
    if (price !== null) out.price = price;
    if (p.currency != null) out.currency = currencyCode(p.currency, 'currency');
    return out;
  }

  _pageContext() {
    const ctx = {};
    const href = globalThis.location?.href;
    if (href) ctx.page_url = href;
    ctx.referrer = globalThis.document?.referrer ?? null;
    ctx.user_agent = globalThis.navigator?.userAgent ?? null;
    return ctx;
  }

  _touchSession(id) {
    this._set(this.keys.session, JSON.stringify({ id, last: this.now() }));
  }

  async _drain() {
    while (this.queue.length) {
      const batch = this.queue.slice(0, this.maxBatch);
      this._sending = new Set(batch.map((e) => e.event_id));
      let outcome;
      try {
        outcome = await this._post(batch, false);
      } finally {
        this._sending = new Set();
      }
      if (!outcome.ok) {
        this._scheduleRetry(outcome.retryAfterMs);
        return;
      }
      this._attempt = 0;
    }
  }

  /**
   * Post one batch and apply the answer to the queue.
   * @returns {Promise<{ok: boolean, retryAfterMs?: number, retryIds?: Set<string>}>} ok=false:
   *   retry later (retryIds: the events to send again; all of the batch when absent)
   */
  async _post(batch, keepalive) {
    let response;
    try {
      response = await this.fetchImpl(this.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-API-Key': this.apiKey },
        body: JSON.stringify(batch),
        keepalive,
        credentials: 'omit',
      });
    } catch (error) {
      this.logger.warn(`ecomflow: sending ${batch.length} event(s) failed (${error}); will retry`);
      return { ok: false };
    }
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    const perEvent = body && Array.isArray(body.accepted) && Array.isArray(body.rejected);
    if (perEvent) {
      const retry = new Set();
      const drop = new Set();
      for (const r of body.rejected) {
        const ev = batch[r.index];
        if (!ev) continue;
        if (r.reason === STREAM_UNAVAILABLE) retry.add(ev.event_id);
        else {
          drop.add(ev.event_id);
          this.logger.warn(`ecomflow: the collector rejected ${ev.event_type} ${ev.event_id}: ` +
            `${r.reason} ${r.field}: ${r.message}`);
        }
      }
      this.stats.accepted += body.accepted.length;
      this.stats.droppedRejected += drop.size;
      const done = new Set(batch.map((e) => e.event_id).filter((id) => !retry.has(id)));
      this._removeFromQueue(done);
      if (retry.size) return { ok: false, retryAfterMs: this._retryAfter(response), retryIds: retry };
      return { ok: true };
    }
    if (response.ok) { // 2xx without a per-event body (a gateway that answers differently)
      this.stats.accepted += batch.length;
      this._removeFromQueue(new Set(batch.map((e) => e.event_id)));
      return { ok: true };
    }
    const status = response.status;
    if (status >= 500 || RETRYABLE_STATUS.has(status)) {
      this.logger.warn(`ecomflow: the collector answered ${status}; will retry`);
      return { ok: false, retryAfterMs: this._retryAfter(response) };
    }
    if (status === 413 && batch.length > 1) { // too large as a batch: send it in halves
      const half = Math.ceil(batch.length / 2);
      const first = await this._post(batch.slice(0, half), keepalive);
      if (!first.ok) return first;
      return this._post(batch.slice(half), keepalive);
    }
    // Any other 4xx (401/403 bad key, 413 single event too large, 415, ...): sending the same
    // events again cannot succeed, so they are dropped.
    const reason = body && body.reason ? `${body.reason}: ${body.message}` : `HTTP ${status}`;
    this.logger.warn(`ecomflow: the collector refused ${batch.length} event(s) (${reason}); dropped`);
    this.stats.droppedRejected += batch.length;
    this._removeFromQueue(new Set(batch.map((e) => e.event_id)));
    return { ok: true };
  }

  _retryAfter(response) {
    const value = response.headers && typeof response.headers.get === 'function'
      ? response.headers.get('Retry-After') : null;
    const seconds = value === null ? NaN : Number(value);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
  }

  /** Exponential backoff with full jitter: random in [base·2^n / 2, base·2^n], capped. */
  _backoffMs() {
    const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** this._attempt);
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  _scheduleRetry(retryAfterMs) {
    const delay = Math.max(this._backoffMs(), retryAfterMs || 0);
    this._attempt = Math.min(this._attempt + 1, 30);
    this.stats.retries += 1;
    if (this._retryTimer !== null) this.timers.clearTimeout(this._retryTimer);
    this._retryAt = this.now() + delay;
    this._retryTimer = this.timers.setTimeout(() => {
      this._retryTimer = null;
      this.flush();
    }, delay);
  }

  _removeFromQueue(ids) {
    if (!ids.size) return;
    this.queue = this.queue.filter((e) => !ids.has(e.event_id));
    this._persist();
  }

  /**
   * Page hide: hand the queue to the browser so it outlives the page. fetch with
   * keepalive (or the `beacon` option), in bodies under 64 KiB. What was handed over leaves
   * the stored queue (the page may be gone before the answer: at most once on this path);
   * if the page survives (tab switched), failures are put back and retried as usual.
   */
  _flushOnHide() {
    // A batch being sent by flush() stays queued until its answer: if the page dies first,
    // it is sent again from storage by the next page (at least once).
    const candidates = this.queue.filter((e) => !this._sending.has(e.event_id));
    if (!candidates.length) return;
    const batches = [];
    let current = [];
    let size = 2;
    for (const event of candidates) {
      const n = JSON.stringify(event).length + 1;
      if (current.length && (size + n > KEEPALIVE_BODY_LIMIT || current.length >= this.maxBatch)) {
        batches.push(current);
        current = [];
        size = 2;
      }
      current.push(event);
      size += n;
    }
    if (current.length) batches.push(current);
    let budget = KEEPALIVE_BODY_LIMIT; // the browser's keepalive quota is per page
    const sent = [];
    for (const batch of batches) {
      const body = JSON.stringify(batch);
      if (body.length > budget) break;
      budget -= body.length;
      if (this.beacon) {
        if (!this.beacon(this.endpoint, body)) break;
        this.stats.accepted += batch.length;
      } else if (this.fetchImpl) {
        this._post(batch, true).then((outcome) => {
          if (outcome.ok) return;
          const ids = outcome.retryIds || new Set(batch.map((e) => e.event_id));
          const queued = new Set(this.queue.map((e) => e.event_id));
          this.queue.unshift(...batch.filter((e) => ids.has(e.event_id) && !queued.has(e.event_id)));
          this._persist();
          if (this._retryTimer === null) this._scheduleRetry(outcome.retryAfterMs);
        });
      }
      sent.push(...batch);
    }
    if (sent.length) {
      const ids = new Set(sent.map((e) => e.event_id));
      this.queue = this.queue.filter((e) => !ids.has(e.event_id));
      this._persist();
    }
  }

  _listen(win, doc) {
    const w = win === undefined ? (typeof window !== 'undefined' ? window : null) : win;
    const d = doc === undefined ? (typeof document !== 'undefined' ? document : null) : doc;
    const add = (target, type, fn) => {
      if (!target || typeof target.addEventListener !== 'function') return;
      target.addEventListener(type, fn);
      this._listeners.push([target, type, fn]);
    };
    add(d, 'visibilitychange', () => { if (d.visibilityState === 'hidden') this._flushOnHide(); });
    add(w, 'pagehide', () => this._flushOnHide());
  }

  _loadQueue() {
    let stored = [];
    try { stored = JSON.parse(this._get(this.keys.queue) || '[]'); } catch (_) { stored = []; }
    if (!Array.isArray(stored)) stored = [];
    stored = stored.filter((e) => e && typeof e === 'object' && typeof e.event_id === 'string');
    if (stored.length > this.maxStored) {
      this.stats.droppedOverflow += stored.length - this.maxStored;
      stored = stored.slice(stored.length - this.maxStored);
    }
    return stored;
  }

  _persist() {
    if (this.queue.length) this._set(this.keys.queue, JSON.stringify(this.queue));
    else this._remove(this.keys.queue);
  }

  _get(key) {
    try { return this.storage.getItem(key); } catch (_) { return null; }
  }

  _set(key, value) {
    try { this.storage.setItem(key, value); } catch (error) {
      // QuotaExceededError: keep working from memory
      this.logger.warn(`ecomflow: could not store ${key} (${error && error.name}); kept in memory only`);
    }
  }

  _remove(key) {
    try { this.storage.removeItem(key); } catch (_) { /* ignore */ }
  }
}

export default EcommerceAnalytics;
