// Helpers for workers-pool tests: call the Worker, make accounts and webhooks, talk to the receiver.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../../src/index";
import { deliveryId, idGenerator } from "../../src/lib/ids";
import { recordsD1Of } from "./records";

export const ADMIN = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };

/** Calls the Worker's fetch handler with a JSON body. */
export async function call(method: string, path: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.Authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await exports.default.fetch(new Request(`http://rubric.test${path}`, { method, headers, body }));
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

/** Calls the Worker with some of its bindings replaced. */
export async function callWith(bindings: Partial<Env>, method: string, path: string, opts: { key: string; body?: unknown; headers?: Record<string, string> }) {
  const headers: Record<string, string> = { Authorization: `Bearer ${opts.key}`, "Content-Type": "application/json", ...opts.headers };
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://rubric.test${path}`, { method, headers, body: JSON.stringify(opts.body) }), { ...env, ...bindings } as Env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}

/** A new account; returns its id and API key. */
export async function newAccount(name = "acme") {
  const res = await call("POST", "/v1/accounts", { headers: ADMIN, body: { name, mode: "test" } });
  if (res.status !== 201) throw new Error(`account create failed: ${res.status} ${res.text}`);
  return { id: res.json.id as string, key: res.json.api_key as string };
}

/** A unique receiver path name and its URL. */
export function receiverEndpoint(label = "r") {
  const name = `${label}-${crypto.randomUUID()}`;
  return { name, url: `${env.RECEIVER_URL}/hooks/${name}` };
}

/** Creates a webhook (201 expected) and returns the API's answer. */
export async function newWebhook(key: string, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/webhooks", { key, body: { name: "test", events: ["*"], ...body } });
  if (res.status !== 201) throw new Error(`webhook create failed: ${res.status} ${res.text}`);
  return res.json;
}

/** Sends an event (202 expected). */
export async function sendEvent(key: string, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/events", { key, body });
  if (res.status !== 202) throw new Error(`event send failed: ${res.status} ${res.text}`);
  return res.json;
}

export interface Received {
  headers: Record<string, string>;
  body: string;
  received_at: number;
  answered: number;
}

/** Tells the receiver how to answer `name`. */
export async function plan(name: string, p: Record<string, unknown>) {
  await fetch(`${env.RECEIVER_URL}/_control/${name}`, { method: "PUT", body: JSON.stringify(p) });
}

/** What the receiver got for `name`. */
export async function received(name: string): Promise<Received[]> {
  return (await fetch(`${env.RECEIVER_URL}/_received/${name}`)).json();
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the receiver has at least `n` deliveries for `name`. */
export const waitForReceived = (name: string, n: number, timeoutMs = 10_000) =>
  waitFor(async () => {
    const got = await received(name);
    return got.length >= n ? got : null;
  }, timeoutMs, `${n} deliveries at ${name}`);

/**
 * Writes an event row straight into D1, bypassing ingest and the queue (as if
 * its message were lost, or to hand it to an object directly). Returns its id.
 */
export async function insertEvent(
  accountId: string,
  opts: { createdAt?: number; status?: "pending" | "dispatched" | "dead_lettered"; type?: string; data?: unknown } = {},
) {
  const createdAt = opts.createdAt ?? Date.now();
  const id = idGenerator(() => createdAt)("evt");
  await recordsD1Of(accountId).prepare("INSERT INTO events (id, account_id, type, created_at, data, metadata, status) VALUES (?, ?, ?, ?, ?, '{}', ?)")
    .bind(id, accountId, opts.type ?? "sample.scored", createdAt, JSON.stringify(opts.data ?? {}), opts.status ?? "pending")
    .run();
  return id;
}

/**
 * A fresh account and a webhook (created long ago, so every event matches it) on a fresh receiver
 * path, with `n` events already dispatched, to hand straight to the webhook's object (`stub`);
 * `ids` are their delivery ids, in event order.
 */
export async function webhookWithEvents(label: string, n: number, webhook: Record<string, unknown> = {}) {
  const account = await newAccount();
  const ep = receiverEndpoint(label);
  const hook = await newWebhook(account.key, { url: ep.url, ...webhook });
  await env.DB.prepare("UPDATE webhooks SET created_at = 0 WHERE id = ?").bind(hook.id).run();
  const now = Date.now();
  const events: string[] = [];
  for (let i = 0; i < n; i++) events.push(await insertEvent(account.id, { createdAt: now + i, status: "dispatched" }));
  const stub = env.ENDPOINT.get(env.ENDPOINT.idFromName(hook.id));
  return { account, ep, hook, events, stub, ids: events.map((e) => deliveryId(e, hook.id)) };
}
