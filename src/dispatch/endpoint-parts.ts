/**
 * What the parts of an endpoint's object share. The object (endpoint-dispatcher.ts)
 * builds one {@link Endpoint} and hands it to each lifecycle step: hand-over.ts
 * (admission), inline-lane.ts, stored-lane.ts, make-attempt.ts. Durable state
 * lives in the object's SQLite queue and in D1; everything here is memory that
 * a restart may lose, which is why the alarm and the sweeper can rebuild it.
 */
import type { Db } from "../db/client";
import { controlDb, recordsDb } from "../db/shards";
import type { EventSnapshot, LatestAttempt, WebhookForDispatch } from "../db/delivery-queries";
import { importSecretKey } from "../lib/secret-box";
import { UsageMeter } from "../metrics/usage-meter";
import { AttemptRecords } from "./attempt-records";
import { EndpointAlarm } from "./endpoint-alarm";
import { EndpointQueue, type Trigger } from "./endpoint-queue";
import { FifoGate } from "./fifo-gate";
import { Pacer } from "./lanes";
import { ListenHub } from "./listen-socket";
import { httpTransport, type Transport } from "./transport";
import { WebhookCache } from "./webhook-cache";

/** Deliveries being sent inline; `stored` once they were handed to the SQLite queue. */
export interface InlineJob {
  /** Not started yet, in order. */
  ids: string[];
  /** Started and not finished (one in FIFO mode, up to max_in_flight in parallel mode). */
  inFlight: Set<string>;
  trigger: Trigger;
  stored: boolean;
  /** Set the moment no lane will take another id: from then on, nobody may join. */
  closed: boolean;
  /** Events the caller is fanning out right now (pending in D1, but not missing): the FIFO fence ignores them. */
  accounted: Set<string>;
  /** Events the caller already had, by id: no D1 read to send them. */
  events: Map<string, EventSnapshot>;
  /** The latest attempt of each delivery, read once for the whole job. */
  latest: Map<string, LatestAttempt> | null;
  /** Settles when the job has finished (sent, stored or failed over to storage). */
  done: Promise<void> | null;
}

/** One endpoint object's parts and its in-memory run state. */
export interface Endpoint {
  readonly ctx: DurableObjectState;
  readonly env: Env;
  /** The control database (the webhook's configuration). */
  readonly control: Db;
  /** The database of an account's events and delivery records (db/shards.ts). */
  recordsOf(accountId: string): Db;
  /** The deliveries waiting in this object's storage. */
  readonly queue: EndpointQueue;
  /** This object's billable operations and outcomes, flushed to D1 every USAGE_FLUSH_SECONDS. */
  readonly usage: UsageMeter;
  /** Spaces attempt starts when the webhook has a rate_limit_per_second. */
  readonly pacer: Pacer;
  readonly alarm: EndpointAlarm;
  readonly records: AttemptRecords;
  readonly webhooks: WebhookCache;
  readonly fence: FifoGate;
  /** The `rubric listen` socket of a listen webhook (listen-socket.ts). */
  readonly listen: ListenHub;
  /** How an attempt reaches this webhook's receiver (see transport.ts). */
  transportFor(webhook: WebhookForDispatch): Transport;
  /** The key that opens the webhook's sealed secrets (imported once). */
  key(): Promise<CryptoKey>;
  /** True while an inline job or a drain runs: at most one sends at a time. */
  busy: boolean;
  /** Set when deliveries were stored during a run, so the run drains again before it stops. */
  again: boolean;
  /** The inline job being sent, if any. */
  inline: InlineJob | null;
  /** Attempts in flight right now, inline or from the stored queue. */
  sending: number;
}

/** Builds the parts of the endpoint object of `ctx`. */
export function createEndpoint(ctx: DurableObjectState, env: Env): Endpoint {
  const usage = new UsageMeter();
  const control = controlDb(env, usage);
  // An object serves one webhook, so one account: its records database is made once.
  let records: { accountId: string; db: Db } | null = null;
  const recordsOf = (accountId: string) => (records?.accountId === accountId ? records : (records = { accountId, db: recordsDb(env, accountId, usage) })).db;
  let secretKey: Promise<CryptoKey> | null = null;
  const listen = new ListenHub(ctx);
  return {
    ctx,
    env,
    control,
    recordsOf,
    queue: new EndpointQueue(ctx.storage.sql, usage),
    usage,
    pacer: new Pacer(),
    alarm: new EndpointAlarm(ctx.storage, usage),
    records: new AttemptRecords(recordsOf),
    webhooks: new WebhookCache(control),
    fence: new FifoGate(recordsOf),
    listen,
    transportFor: (webhook) => (webhook.transport === "listen" ? listen.transport : httpTransport),
    key: () => (secretKey ??= importSecretKey(env.ENCRYPTION_KEY)),
    busy: false,
    again: false,
    inline: null,
    sending: 0,
  };
}

/** Attempts in flight at once: one in FIFO mode, max_in_flight in parallel mode. */
export const lanesOf = (webhook: WebhookForDispatch | null) => (webhook?.ordering === "parallel" ? webhook.maxInFlight : 1);
