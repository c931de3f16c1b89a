// Secrets at rest (DESIGN §5): a dump of every D1 table and of every Durable
// Object's storage holds no plaintext endpoint secret (nor the base64 key after
// `whsec_`), no API key (nor its random part), and neither ADMIN_TOKEN nor
// ENCRYPTION_KEY. And the API shows a secret only in the answer that made it
// (create, rotate_secret): never in a read, a list, an attempt's request
// headers or an error message.
import { shardD1s } from "./support/records";
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { openSecret, importSecretKey } from "../src/lib/secret-box";
import { ADMIN, call, plan, receiverEndpoint, received, waitFor, waitForReceived } from "./support/helpers";

/** A secret, or a part of one, that must not be found; `label` says which, for the failure message. */
interface Needle {
  label: string;
  value: string;
}

const bytesToHex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const base64ToBytes = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const bytesToBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** The forms in which an endpoint secret could leak: whole, its base64 key, that key's bytes in hex or base64url. */
function secretNeedles(label: string, secret: string): Needle[] {
  const out: Needle[] = [{ label, value: secret }];
  if (secret.startsWith("whsec_")) {
    const key = secret.slice("whsec_".length);
    out.push({ label: `${label} (base64 part)`, value: key });
    const raw = base64ToBytes(key);
    out.push({ label: `${label} (key hex)`, value: bytesToHex(raw) });
    out.push({ label: `${label} (key base64url)`, value: bytesToBase64(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") });
  }
  return out;
}

/** An API key whole and its random part (between the `rk_<mode>_` prefix and the 6-character checksum). */
function apiKeyNeedles(label: string, key: string): Needle[] {
  const m = /^rk_(?:live|test)_([0-9A-Za-z]{32})[0-9A-Za-z]{6}$/.exec(key);
  if (!m) throw new Error(`unexpected API key shape: ${key}`);
  return [
    { label, value: key },
    { label: `${label} (random part)`, value: m[1]! },
  ];
}

/** JSON of anything storage gives back; binary values appear as UTF-8 text, hex and base64, so needles are found in them too. */
function serialize(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : null;
    if (!bytes) return v;
    return { utf8: new TextDecoder().decode(bytes), hex: bytesToHex(bytes), base64: bytesToBase64(bytes) };
  });
}

/** Which needles occur in `haystack` (by label), compared case-sensitively and, for hex, also case-insensitively. */
function found(haystack: string, needles: Needle[]): string[] {
  const lower = haystack.toLowerCase();
  return needles.filter((n) => haystack.includes(n.value) || (/^[0-9a-f]+$/.test(n.value) && lower.includes(n.value))).map((n) => n.label);
}

/** Every row of every table of every D1 database (control and shards), by database and table. */
async function dumpD1(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [label, d1] of [["control", env.DB], ...shardD1s().map((d, i) => [`shard_${i}`, d] as const)] as const) Object.assign(out, await dumpDatabase(label, d1));
  return out;
}

/** Every row of every table of one database, keyed `<label>.<table>`. */
async function dumpDatabase(label: string, d1: D1Database): Promise<Record<string, unknown>> {
  const tables = await d1.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all<{ name: string }>();
  const out: Record<string, unknown> = {};
  for (const { name: table } of tables.results) {
    const name = `${label}.${table}`;
    try {
      out[name] = (await d1.prepare(`SELECT * FROM "${table}"`).all()).results;
    } catch (err) {
      // Internal tables may refuse to be read; the refusal is recorded, not hidden.
      out[name] = { unreadable: String(err) };
    }
  }
  return out;
}

/** Every Durable Object of `namespace`: its SQLite tables, its key-value storage and its alarm. */
async function dumpObjects<T extends Rpc.DurableObjectBranded | undefined>(namespace: DurableObjectNamespace<T>): Promise<Array<{ id: string; sql: Record<string, unknown>; kv: unknown; alarm: number | null }>> {
  const ids = await listDurableObjectIds(namespace);
  const out = [];
  for (const id of ids) {
    const dump = await runInDurableObject(namespace.get(id), async (_instance, state) => {
      const sql: Record<string, unknown> = {};
      const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray();
      for (const { name } of tables) {
        try {
          sql[name] = state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray();
        } catch (err) {
          sql[name] = { unreadable: String(err) };
        }
      }
      const kv = Object.fromEntries(await state.storage.list());
      return JSON.parse(serialize({ sql, kv, alarm: await state.storage.getAlarm() }));
    });
    out.push({ id: id.toString(), ...dump });
  }
  return out;
}

/** Calls the API and keeps the whole answer (status, headers, body) for the leak check. */
const answers: Array<{ what: string; text: string }> = [];
async function observe(what: string, method: string, path: string, opts: Parameters<typeof call>[2] = {}) {
  const res = await call(method, path, opts);
  answers.push({ what: `${method} ${path} → ${res.status}`, text: `${serialize([...res.headers])}\n${res.text}` });
  return res;
}

const FAILING = { fail_times: 1000, fail_status: 500 };
/** One failed attempt, then the delivery waits an hour in its endpoint's Durable Object. */
const PARKED_RETRIES = { max_retries: 5, backoff: "fixed", initial_delay_ms: 3_600_000 };

interface World {
  needles: Needle[];
  /** Every endpoint secret in plaintext, current and rotated out. */
  secrets: string[];
  keys: { a: string; b: string; producer: string };
  webhooks: string[];
  /** The receiver path of each webhook. */
  receivers: string[];
  deliveries: string[];
  /** The answer that created the first webhook: the one place its secret may be (the detector's control). */
  createAnswer: string;
}
let world: World;

beforeAll(async () => {
  const secrets: string[] = [];
  const needles: Needle[] = [
    { label: "ADMIN_TOKEN", value: env.ADMIN_TOKEN },
    { label: "ENCRYPTION_KEY", value: env.ENCRYPTION_KEY },
    { label: "ENCRYPTION_KEY (hex)", value: bytesToHex(base64ToBytes(env.ENCRYPTION_KEY)) },
  ];
  const account = async (name: string) => {
    const res = await call("POST", "/v1/accounts", { headers: ADMIN, body: { name, mode: "test" } });
    expect(res.status).toBe(201);
    needles.push(...apiKeyNeedles(`API key of ${name}`, res.json.api_key));
    return res.json.api_key as string;
  };
  const a = await account("secrets-a");
  const b = await account("secrets-b");
  const extra = await call("POST", "/v1/api_keys", { key: a, body: { name: "producer", scopes: ["events:write"], mode: "test" } });
  expect(extra.status).toBe(201);
  needles.push(...apiKeyNeedles("producer API key", extra.json.key));
  const producer = extra.json.key as string;

  const webhooks: Array<{ id: string; key: string; name: string }> = [];
  let createAnswer = "";
  const webhook = async (key: string, label: string, secret?: string) => {
    const target = receiverEndpoint(`secrets-${label}`);
    await plan(target.name, FAILING);
    const res = await call("POST", "/v1/webhooks", {
      key,
      body: { name: label, url: target.url, events: ["*"], retry_config: PARKED_RETRIES, ...(secret ? { secret } : {}) },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.secret).toEqual(secret ?? expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/));
    needles.push(...secretNeedles(`secret of ${label}`, res.json.secret));
    secrets.push(res.json.secret);
    createAnswer ||= res.text;
    webhooks.push({ id: res.json.id, key, name: target.name });
    return res.json.id as string;
  };
  const random = (n: number) => bytesToBase64(crypto.getRandomValues(new Uint8Array(n)));
  const generated = await webhook(a, "generated");
  const supplied = await webhook(a, "supplied-whsec", `whsec_${random(32)}`);
  await webhook(a, "supplied-plain", `my-own-${bytesToHex(crypto.getRandomValues(new Uint8Array(16)))}`);
  await webhook(b, "other-account");

  // Rotations: a generated new secret and a supplied one; the old ones keep signing (and stay sealed) for the grace period.
  const rotate = async (id: string, label: string, body?: Record<string, unknown>) => {
    const res = await call("POST", `/v1/webhooks/${id}/rotate_secret`, { key: a, ...(body ? { body } : {}) });
    expect(res.status, res.text).toBe(200);
    needles.push(...secretNeedles(`rotated secret of ${label}`, res.json.secret));
    secrets.push(res.json.secret);
  };
  await rotate(generated, "generated");
  await rotate(supplied, "supplied-whsec", { grace_period_seconds: 3600, secret: `whsec_${random(24)}` });
  await rotate(supplied, "supplied-whsec (twice)", { grace_period_seconds: 7200 });

  // Events for everyone: each endpoint fails once, and its delivery is parked for an hour in its object.
  for (const [key, n] of [[producer, 2], [b, 1]] as const) {
    for (let i = 0; i < n; i++) {
      const res = await call("POST", "/v1/events", { key, body: { type: "sample.scored", data: { sample_id: `s_${i}` } } });
      expect(res.status).toBe(202);
    }
  }
  const deliveries: string[] = [];
  for (const w of webhooks) {
    const expected = w.key === b ? 1 : 2;
    // FIFO: the second delivery waits behind the first, both in the object's queue.
    await waitForReceived(w.name, 1);
    const list = await waitFor(async () => {
      const r = await call("GET", `/v1/webhooks/${w.id}/deliveries`, { key: w.key });
      return r.json.data.length >= 1 && r.json.data.every((d: any) => d.attempts >= 1) ? r.json.data : null;
    }, 10_000, `the first attempt at ${w.id}`);
    expect(list.length).toBeLessThanOrEqual(expected);
    deliveries.push(...list.map((d: any) => d.id));
  }
  world = { needles, secrets, keys: { a, b, producer }, webhooks: webhooks.map((w) => w.id), receivers: webhooks.map((w) => w.name), deliveries, createAnswer };
});

describe("storage", () => {
  it("D1 holds no secret, API key, admin token or encryption key, in any table", async () => {
    const dump = await dumpD1();
    expect(Object.keys(dump)).toEqual(expect.arrayContaining(["control.accounts", "control.api_keys", "control.webhooks", "shard_0.events", "shard_0.delivery_attempts"]));
    const text = serialize(dump);
    expect(found(text, world.needles)).toEqual([]);
    // Not vacuous: the secrets are there, sealed, and open to the current and rotated plaintexts.
    const rows = (dump["control.webhooks"] as Array<{ id: string; secret: string; previous_secrets: string | null }>).filter((r) => world.webhooks.includes(r.id));
    expect(rows).toHaveLength(world.webhooks.length);
    const key = await importSecretKey(env.ENCRYPTION_KEY);
    const opened: string[] = [];
    for (const row of rows) {
      expect(row.secret).toMatch(/^v1\./);
      opened.push(await openSecret(key, row.secret));
      for (const p of JSON.parse(row.previous_secrets ?? "[]") as Array<{ secret: string }>) opened.push(await openSecret(key, p.secret));
    }
    expect(opened.sort()).toEqual([...world.secrets].sort());
    const rowsOf = (table: string) => Object.entries(dump).filter(([name]) => name.endsWith(`.${table}`)).flatMap(([, rows]) => rows as Array<{ n?: number }>);
    // Attempts are rows of their own or entries of packs (db/attempt-packs.ts).
    const attempts = rowsOf("delivery_attempts").length + rowsOf("attempt_packs").reduce((sum, p) => sum + (p.n ?? 0), 0);
    expect(attempts).toBeGreaterThanOrEqual(world.deliveries.length);
  });

  it("no Durable Object's storage (SQL, key-value, alarm) holds any of them", async () => {
    const endpoints = await dumpObjects(env.ENDPOINT);
    // Not vacuous: every webhook's object exists and holds its parked deliveries.
    expect(endpoints.length).toBeGreaterThanOrEqual(world.webhooks.length);
    const rows = (o: (typeof endpoints)[number], table: string) => (Array.isArray(o.sql[table]) ? (o.sql[table] as Array<Record<string, string>>) : []);
    const queued = endpoints.flatMap((o) => [...rows(o, "queue_batches").flatMap((r) => r.ids!.split(",")), ...rows(o, "queue_retries").map((r) => r.delivery_id!)]);
    expect(queued).toEqual(expect.arrayContaining(world.deliveries));
    expect(found(serialize(endpoints), world.needles)).toEqual([]);
    const sweepers = await dumpObjects(env.SWEEPER);
    expect(found(serialize(sweepers), world.needles)).toEqual([]);
  });
});

describe("API answers", () => {
  it("never show a secret outside the create and rotate answers: reads, lists, attempts, tools, metrics", async () => {
    const { a, b } = world.keys;
    const ownerOf = async (id: string) => ((await call("GET", `/v1/webhooks/${id}`, { key: a })).status === 200 ? a : b);
    for (const key of [a, b]) {
      await observe("list", "GET", "/v1/webhooks", { key });
      await observe("events", "GET", "/v1/events", { key });
      await observe("metrics", "GET", "/v1/metrics", { key });
      await observe("event types", "GET", "/v1/event_types", { key });
    }
    await observe("keys", "GET", "/v1/api_keys", { key: a });
    await observe("accounts", "GET", "/v1/accounts", { headers: ADMIN });
    await observe("prometheus", "GET", "/metrics", { headers: ADMIN });
    await observe("openapi", "GET", "/openapi.json");
    for (const id of world.webhooks) {
      const key = await ownerOf(id);
      await observe("read", "GET", `/v1/webhooks/${id}`, { key });
      await observe("stats", "GET", `/v1/webhooks/${id}/stats`, { key });
      await observe("change", "PATCH", `/v1/webhooks/${id}`, { key, body: { description: "changed" } });
      await observe("disable", "POST", `/v1/webhooks/${id}/disable`, { key });
      await observe("enable", "POST", `/v1/webhooks/${id}/enable`, { key });
      await observe("preview", "POST", `/v1/webhooks/${id}/preview`, { key, body: { event_type: "sample.scored", payload: { x: 1 } } });
      await observe("filter test", "POST", `/v1/webhooks/${id}/filter_test`, { key, body: { event: { type: "sample.scored", data: {} } } });
      const test = await observe("test send", "POST", `/v1/webhooks/${id}/test`, { key, body: { event_type: "sample.scored", payload: {} } });
      expect(test.json).toMatchObject({ status: "failed", response_code: 500 });
      await observe("test delivery", "GET", `/v1/deliveries/${test.json.delivery_id}`, { key });
      const list = await observe("deliveries", "GET", `/v1/webhooks/${id}/deliveries`, { key });
      for (const d of list.json.data) {
        const detail = await observe("delivery", "GET", `/v1/deliveries/${d.id}`, { key });
        // The attempt's request headers are recorded, signatures and all, but no secret.
        expect(detail.json.attempt_log[0].request_headers).toMatchObject({ "X-Rubric-Signature": expect.stringMatching(/^sha256=/) });
        await observe("event", "GET", `/v1/events/${d.event_id}`, { key });
      }
    }
    expect(answers.length).toBeGreaterThan(30);
    // The detector finds a secret where one is: in the create answer, whole and as its base64 key.
    expect(found(world.createAnswer, world.needles)).toEqual(expect.arrayContaining(["secret of generated", "secret of generated (base64 part)"]));
    const leaks = answers.flatMap((ans) => found(ans.text, world.needles).map((label) => `${label} in ${ans.what}`));
    expect(leaks).toEqual([]);
  });

  it("never echo a secret, key or token in an error message", async () => {
    const { a } = world.keys;
    const marker = `leak-${bytesToHex(crypto.getRandomValues(new Uint8Array(12)))}`;
    const errors: Array<{ status: number; text: string }> = [];
    const expectRefused = async (method: string, path: string, opts: Parameters<typeof call>[2]) => {
      const res = await call(method, path, opts);
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      errors.push({ status: res.status, text: `${serialize([...res.headers])}\n${res.text}` });
    };
    const url = receiverEndpoint("secrets-errors").url;
    // Invalid secrets: with a space, too long, too short.
    await expectRefused("POST", "/v1/webhooks", { key: a, body: { name: "x", url, events: ["*"], secret: `whsec_${marker} x` } });
    await expectRefused("POST", "/v1/webhooks", { key: a, body: { name: "x", url, events: ["*"], secret: marker.repeat(20) } });
    await expectRefused("POST", "/v1/webhooks", { key: a, body: { name: "x", url, events: ["*"], secret: marker.slice(0, 10) } });
    await expectRefused("POST", `/v1/webhooks/${world.webhooks[0]}/rotate_secret`, { key: a, body: { secret: `${marker} spaced` } });
    // A secret where none is taken (PATCH), and in an unknown field.
    await expectRefused("PATCH", `/v1/webhooks/${world.webhooks[0]}`, { key: a, body: { secret: marker } });
    await expectRefused("POST", "/v1/webhooks", { key: a, body: { name: "x", url, events: ["*"], signing_secret: marker } });
    // Credentials in the wrong place, or wrong.
    await expectRefused("GET", "/v1/webhooks", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    await expectRefused("GET", "/v1/accounts", { headers: { Authorization: `Bearer ${a}` } });
    await expectRefused("GET", "/v1/accounts", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}x` } });
    await expectRefused("GET", "/v1/webhooks", { headers: { Authorization: `Bearer ${a.slice(0, -1)}${a.endsWith("A") ? "B" : "A"}` } });
    await expectRefused("GET", "/v1/webhooks", { headers: { Authorization: `Bearer ${world.keys.producer}` } });
    await expectRefused("GET", "/v1/webhooks", { headers: { Authorization: `Basic ${btoa(`user:${a}`)}` } });
    const needles = [...world.needles, { label: "marker", value: marker }];
    const leaks = errors.flatMap((e) => found(e.text, needles).map((label) => `${label} in a ${e.status}: ${e.text.slice(0, 200)}`));
    expect(leaks).toEqual([]);
  });

  it("deliveries carry no secret to the receiver either, only signatures", async () => {
    for (const name of world.receivers) {
      const got = await received(name);
      expect(got.length).toBeGreaterThan(0);
      expect(got[0]!.headers["x-rubric-signature"]).toMatch(/^sha256=/);
      expect(found(JSON.stringify(got), world.needles)).toEqual([]);
    }
  });
});
