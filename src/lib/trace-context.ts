/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading a
 * producer's `traceparent`/`tracestate`, starting a trace when there is none,
 * and the `traceparent` each delivery attempt sends (same trace id, a new span
 * id per attempt). As the spec asks of a receiver, an invalid header is never
 * an error: it is ignored and a new trace is started.
 */
import { randomBytes, toHex } from "./encoding";

/** The three fields of a `traceparent` we keep (the version we send is always `00`). */
export interface TraceParent {
  /** 32 lowercase hex characters, not all zero. */
  traceId: string;
  /** 16 lowercase hex characters, not all zero: the caller's span. */
  parentId: string;
  /** 2 lowercase hex characters. */
  flags: string;
}

/** What an event keeps: its `traceparent` (always version `00`) and, when valid, the producer's `tracestate`. */
export interface TraceContext {
  traceparent: string;
  tracestate: string | null;
}

/** The spec's limits a vendor must propagate at least: beyond them we drop `tracestate` whole. */
export const MAX_TRACESTATE_CHARS = 512;
export const MAX_TRACESTATE_MEMBERS = 32;

/** Flags the trace-flags field defines (Level 2: sampled 0x01, random 0x02); the spec asks the rest be sent as zero. */
const KNOWN_FLAGS = 0x03;
/** Of a future version's flags only the sampled bit is known to mean what it means in `00`. */
const FUTURE_VERSION_FLAGS = 0x01;

const HEX2 = /^[0-9a-f]{2}$/;
const V00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
// A future version: the first four fields must be where `00` has them, followed by the end or a dash.
const FUTURE = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/s;
const ALL_ZERO = /^0+$/;

const flagsHex = (n: number) => n.toString(16).padStart(2, "0");

/**
 * Parses a `traceparent` header value strictly; `null` when it is invalid
 * (absent, wrong length or case, an all-zero id, version `ff`, a version
 * `00` with anything after the flags). A version above `00` is read as far
 * as the spec allows: trace id, parent id and the sampled flag.
 */
export function parseTraceparent(value: string | null | undefined): TraceParent | null {
  if (!value) return null;
  const version = value.slice(0, 2);
  if (!HEX2.test(version) || version === "ff") return null;
  const m = (version === "00" ? V00 : FUTURE).exec(value);
  if (!m) return null;
  const [, traceId, parentId, flags] = m as unknown as [string, string, string, string];
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(parentId)) return null;
  const mask = version === "00" ? KNOWN_FLAGS : FUTURE_VERSION_FLAGS;
  return { traceId, parentId, flags: flagsHex(parseInt(flags, 16) & mask) };
}

/** A `traceparent` value, version `00`. */
export const formatTraceparent = (p: TraceParent): string => `00-${p.traceId}-${p.parentId}-${p.flags}`;

// tracestate list members (spec §3.3.1.3): key = simple-key | tenant@system; value = printable ASCII
// without `,` and `=`, at most 256 characters, not ending in a space.
const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * A `tracestate` value as we keep it, or `null` to drop it: when it is
 * longer than {@link MAX_TRACESTATE_CHARS}, has more than
 * {@link MAX_TRACESTATE_MEMBERS} members, a member that does not parse, or a
 * key twice. Empty members and the spaces around members are left out.
 */
export function parseTracestate(value: string | null | undefined): string | null {
  if (!value || value.length > MAX_TRACESTATE_CHARS) return null;
  const members = value
    .split(",")
    .map((m) => m.replace(/^[ \t]+|[ \t]+$/g, ""))
    .filter((m) => m !== "");
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return null;
  const keys = new Set<string>();
  for (const member of members) {
    const eq = member.indexOf("=");
    const key = member.slice(0, eq);
    if (eq < 0 || !KEY.test(key) || !VALUE.test(member.slice(eq + 1)) || keys.has(key)) return null;
    keys.add(key);
  }
  return members.join(",");
}

/** 8 random bytes as hex, never all zero (an all-zero span id is invalid). */
export function newSpanId(): string {
  for (;;) {
    const id = toHex(randomBytes(8));
    if (!ALL_ZERO.test(id)) return id;
  }
}

/** A new trace: random 16-byte trace id, random span id, sampled. */
export function startTrace(): TraceContext {
  let traceId = toHex(randomBytes(16));
  while (ALL_ZERO.test(traceId)) traceId = toHex(randomBytes(16));
  return { traceparent: formatTraceparent({ traceId, parentId: newSpanId(), flags: "01" }), tracestate: null };
}

/**
 * The trace context a request carries: its own when `traceparent` is valid
 * (with its `tracestate` if that is valid too), a new trace otherwise.
 */
export function incomingTrace(traceparent: string | null | undefined, tracestate: string | null | undefined): TraceContext {
  const parent = parseTraceparent(traceparent);
  if (!parent) return startTrace();
  return { traceparent: formatTraceparent(parent), tracestate: parseTracestate(tracestate) };
}

/**
 * The trace of an event stored before trace context existed (no
 * `trace_parent`): derived from its id, so every attempt at it still shares
 * one trace id. The id's 26 base32 characters hold 130 bits (ms time, then
 * 80 random): the low 128 of them are the trace id; the span id is zero-free
 * filler, as the event has no producer span to point at.
 */
export function legacyTraceparent(eventId: string): string {
  const body = eventId.slice(eventId.indexOf("_") + 1);
  let n = 0n;
  for (const ch of body) n = n * 32n + BigInt(Math.max(0, "0123456789ABCDEFGHJKMNPQRSTVWXYZ".indexOf(ch)));
  const traceId = (n & ((1n << 128n) - 1n)).toString(16).padStart(32, "0");
  return formatTraceparent({ traceId: ALL_ZERO.test(traceId) ? `${"0".repeat(31)}1` : traceId, parentId: "0000000000000001", flags: "01" });
}

/** The `traceparent` an event's deliveries continue: the stored one, or the one derived for older rows. */
export const eventTraceparent = (event: { id: string; traceParent?: string | null }): string =>
  event.traceParent ?? legacyTraceparent(event.id);

/**
 * The `traceparent` one delivery attempt sends: the event's trace id and
 * flags with a new span id (the attempt is a new span, the consumer's parent).
 */
export function childTraceparent(parent: string): string {
  const p = parseTraceparent(parent) ?? parseTraceparent(startTrace().traceparent)!;
  return formatTraceparent({ ...p, parentId: newSpanId() });
}

/** The trace id of a valid `traceparent`, or null. */
export const traceIdOf = (traceparent: string | null | undefined): string | null => parseTraceparent(traceparent)?.traceId ?? null;
