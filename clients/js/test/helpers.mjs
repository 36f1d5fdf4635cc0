// Test doubles for the SDK (clock + timers, storage, fetch) and a contract check that reads the
// repository's JSON Schemas (flink_jobs/contract/v1) with a small validator of the keywords
// they use. tests/clients/test_sdk_contract.py cross-checks the same events with Python's
// flink_jobs.contract.validate.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const CONTRACT_DIR = fileURLToPath(new URL('../../../flink_jobs/contract/v1/', import.meta.url));

/** A manual clock with setTimeout/setInterval driven by advance(ms). */
export class FakeClock {
  constructor(start = Date.parse('2025-07-16T10:30:00.000Z')) {
    this.t = start;
    this.nextId = 1;
    this.tasks = new Map(); // id -> {at, fn, every}
    this.now = () => this.t;
    this.timers = {
      setTimeout: (fn, ms) => this._add(fn, ms, 0),
      clearTimeout: (id) => { this.tasks.delete(id); },
      setInterval: (fn, ms) => this._add(fn, ms, ms),
      clearInterval: (id) => { this.tasks.delete(id); },
    };
  }
  _add(fn, ms, every) {
    const id = this.nextId++;
    this.tasks.set(id, { at: this.t + Math.max(0, ms), fn, every });
    return id;
  }
  /** Pending timeouts (not intervals), by delay from now. */
  timeouts() {
    return [...this.tasks.values()].filter((t) => !t.every).map((t) => t.at - this.t);
  }
  /** Move time forward, running due timers in order and letting promises settle between. */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next = null;
      for (const [id, task] of this.tasks) if (task.at <= end && (!next || task.at < next[1].at)) next = [id, task];
      if (!next) break;
      const [id, task] = next;
      this.t = Math.max(this.t, task.at);
      if (task.every) task.at += task.every; else this.tasks.delete(id);
      task.fn();
    }
    this.t = end;
    await settle();
  }
}

export async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

export class FakeStorage {
  constructor() { this.map = new Map(); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) { this.map.set(k, String(v)); }
  removeItem(k) { this.map.delete(k); }
}

/**
 * A fetch that records requests and answers from `script` (a function of the parsed batch
 * returning {status, body, headers} or throwing), by default like the collector: all accepted.
 */
export function fakeFetch(script = acceptAll) {
  const calls = [];
  const fn = async (url, init) => {
    const batch = JSON.parse(init.body);
    calls.push({ url, init, batch });
    const answer = await script(batch, calls.length);
    const headers = new Map(Object.entries(answer.headers || {}).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      ok: answer.status >= 200 && answer.status < 300,
      status: answer.status,
      headers: { get: (name) => headers.get(name.toLowerCase()) ?? null },
      json: async () => {
        if (answer.body === undefined) throw new SyntaxError('no body');
        return answer.body;
      },
    };
  };
  fn.calls = calls;
  fn.events = () => calls.flatMap((c) => c.batch);
  return fn;
}

export function acceptAll(batch) {
  return { status: 200, body: { accepted: batch.map((e) => e.event_id), rejected: [] } };
}

export const quietLogger = () => {
  const warnings = [];
  return { warnings, warn: (msg) => warnings.push(String(msg)) };
};

// ------------------------------------------------------------------------ contract check

const schemas = new Map();
for (const name of readdirSync(CONTRACT_DIR)) {
  if (name.endsWith('.schema.json')) schemas.set(name, JSON.parse(readFileSync(path.join(CONTRACT_DIR, name), 'utf8')));
}

const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array'
  : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

function resolve(ref, file) {
  const [target, fragment] = ref.split('#');
  const name = target || file;
  let node = schemas.get(name);
  if (!node) throw new Error(`unknown schema ${name}`);
  for (const part of (fragment || '').split('/').filter(Boolean)) node = node[part];
  return [node, name];
}

/** Issues of `value` against `schema` (the subset of JSON Schema the contract uses). */
function check(value, schema, file, where, out) {
  if (schema.$ref) {
    const [node, name] = resolve(schema.$ref, file);
    return check(value, node, name, where, out);
  }
  const before = out.length;
  if (schema.type) {
    const types = [].concat(schema.type);
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
      out.push(`${where}: ${JSON.stringify(value)} is not ${types.join('|')}`);
      return false;
    }
  }
  if ('const' in schema && value !== schema.const) out.push(`${where}: not ${schema.const}`);
  if (schema.enum && !schema.enum.includes(value)) out.push(`${where}: not one of ${schema.enum}`);
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) out.push(`${where}: too short`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) out.push(`${where}: too long`);
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) out.push(`${where}: does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(`${where}: < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) out.push(`${where}: > ${schema.maximum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) out.push(`${where}: too large`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) out.push(`${where}: too few items`);
    if (schema.items) value.forEach((v, i) => check(v, schema.items, file, `${where}[${i}]`, out));
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const key of schema.required || []) if (!(key in value)) out.push(`${where}.${key}: missing`);
    for (const [key, sub] of Object.entries(schema.properties || {})) {
      if (key in value) check(value[key], sub, file, `${where}.${key}`, out);
    }
  }
  for (const sub of schema.allOf || []) check(value, sub, file, where, out);
  if (schema.anyOf && !schema.anyOf.some((sub) => check(value, sub, file, where, []))) {
    out.push(`${where}: matches none of anyOf`);
  }
  if (schema.if) {
    const branch = check(value, schema.if, file, where, []) ? schema.then : schema.else;
    if (branch) check(value, branch, file, where, out);
  }
  return out.length === before;
}

/** Contract issues of one event: the schemas, the timestamp calendar and the purchase total. */
export function contractIssues(event) {
  const out = [];
  check(event, schemas.get('event.schema.json'), 'event.schema.json', '$', out);
  if (typeof event.timestamp === 'string') {
    const m = /^(\d{4})-(\d{2})-(\d{2})T/.exec(event.timestamp);
    if (m) {
      const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
      if (d.getUTCDate() !== +m[3]) out.push('$.timestamp: no such date');
    }
  }
  if ((event.event_type === 'purchase' || event.event_type === 'transaction') && Array.isArray(event.items)) {
    const subtotal = Math.round(event.items.reduce((s, it) => s + it.quantity * (it.unit_price ?? it.price), 0) * 100) / 100;
    for (const key of ['total_amount', 'amount']) {
      if (typeof event[key] === 'number' && Math.abs(event[key] - subtotal) > 0.01) out.push(`$.${key}: total_mismatch`);
    }
  }
  return out;
}
