// W3C Trace Context parsing and formatting (issue 17 part 4): what a producer's header may look
// like, what is ignored (a new trace is started), and the traceparent an attempt sends.
import { describe, expect, it } from "vitest";
import {
  childTraceparent,
  eventTraceparent,
  formatTraceparent,
  incomingTrace,
  legacyTraceparent,
  MAX_TRACESTATE_CHARS,
  MAX_TRACESTATE_MEMBERS,
  parseTraceparent,
  parseTracestate,
  startTrace,
  traceIdOf,
} from "../src/lib/trace-context";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";
const VALID = `00-${TRACE}-${SPAN}-01`;
const SHAPE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

describe("traceparent", () => {
  it("parses version 00 and formats it back", () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, parentId: SPAN, flags: "01" });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.flags).toBe("00");
    expect(formatTraceparent(parseTraceparent(VALID)!)).toBe(VALID);
  });

  it.each([
    ["empty", ""],
    ["absent", undefined],
    ["too short", `00-${TRACE}-${SPAN}-0`],
    ["version 00 with more after the flags", `${VALID}-extra`],
    ["version 00 with trailing space", `${VALID} `],
    ["trace id too short", `00-${TRACE.slice(1)}-${SPAN}-01`],
    ["parent id too long", `00-${TRACE}-${SPAN}0-01`],
    ["not hex", `00-${TRACE.slice(0, 31)}g-${SPAN}-01`],
    ["uppercase trace id", `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ["uppercase parent id", `00-${TRACE}-00F067AA0BA902B7-01`],
    ["uppercase flags", `00-${TRACE}-${SPAN}-0A`],
    ["uppercase version", `0A-${TRACE}-${SPAN}-01`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${SPAN}-01`],
    ["all-zero parent id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE}-${SPAN}-01`],
    ["one-digit version", `0-${TRACE}-${SPAN}-01`],
    ["wrong separators", `00_${TRACE}_${SPAN}_01`],
    ["two headers joined", `${VALID}, ${VALID}`],
  ])("ignores %s", (_what, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });

  it("reads a future version's first four fields, and only its sampled flag", () => {
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, parentId: SPAN, flags: "01" });
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-09-what-the-future-holds`)).toEqual({ traceId: TRACE, parentId: SPAN, flags: "01" });
    // After the flags a future version needs a dash or the end; a shorter header is not one.
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-01x`)).toBeNull();
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-1`)).toBeNull();
    expect(parseTraceparent(`cc-${"0".repeat(32)}-${SPAN}-01`)).toBeNull();
  });

  it("keeps the flags version 00 defines (sampled, random) and zeroes the rest", () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-ff`)?.flags).toBe("03");
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-02`)?.flags).toBe("02");
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-08`)?.flags).toBe("00");
  });
});

describe("tracestate", () => {
  it("keeps a valid list, without empty members and the spaces around members", () => {
    expect(parseTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")).toBe("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    expect(parseTracestate(" rojo=1 ,, \tcongo=2 x\t,")).toBe("rojo=1,congo=2 x");
    expect(parseTracestate("tenant1@vendor=x y")).toBe("tenant1@vendor=x y");
  });

  it.each([
    ["empty", ""],
    ["only commas", " , ,"],
    ["no equals sign", "rojo"],
    ["uppercase key", "Rojo=1"],
    ["key starting with a digit (not multi-tenant)", "1rojo=1"],
    ["empty value", "rojo="],
    ["a tab inside a value", "rojo=a\tb"],
    ["value with an equals sign", "rojo=a=b"],
    ["non-ASCII value", "rojo=ünï"],
    ["a key twice", "rojo=1,rojo=2"],
    ["a line break", "rojo=1\nx=2"],
    ["system id too long", `t@${"a".repeat(15)}=1`],
  ])("drops %s", (_what, value) => {
    expect(parseTracestate(value)).toBeNull();
  });

  it(`drops more than ${MAX_TRACESTATE_MEMBERS} members or more than ${MAX_TRACESTATE_CHARS} characters`, () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(",");
    expect(parseTracestate(members(MAX_TRACESTATE_MEMBERS))).toBe(members(MAX_TRACESTATE_MEMBERS));
    expect(parseTracestate(members(MAX_TRACESTATE_MEMBERS + 1))).toBeNull();
    const long = (chars: number) => `k=${"v".repeat(chars - 2 - 256)},j=${"w".repeat(256 - 3)}`;
    expect(long(MAX_TRACESTATE_CHARS)).toHaveLength(MAX_TRACESTATE_CHARS);
    expect(parseTracestate(long(MAX_TRACESTATE_CHARS))).toBe(long(MAX_TRACESTATE_CHARS));
    expect(parseTracestate(long(MAX_TRACESTATE_CHARS + 1))).toBeNull();
  });
});

describe("a request's trace", () => {
  it("is the producer's when valid, tracestate kept", () => {
    expect(incomingTrace(VALID, "rojo=1")).toEqual({ traceparent: VALID, tracestate: "rojo=1" });
    expect(incomingTrace(`cc-${TRACE}-${SPAN}-01-x`, "rojo=1")).toEqual({ traceparent: VALID, tracestate: "rojo=1" });
    expect(incomingTrace(VALID, "Bad=1")).toEqual({ traceparent: VALID, tracestate: null });
  });

  it("is a new trace otherwise, and then a producer's tracestate is not kept", () => {
    for (const header of [undefined, "", "garbage", `00-${TRACE.toUpperCase()}-${SPAN}-01`]) {
      const t = incomingTrace(header, "rojo=1");
      expect(t.traceparent).toMatch(SHAPE);
      expect(t.tracestate).toBeNull();
      expect(traceIdOf(t.traceparent)).not.toBe(TRACE);
    }
  });

  it("started by us: random ids, valid, sampled", () => {
    const a = parseTraceparent(startTrace().traceparent)!;
    const b = parseTraceparent(startTrace().traceparent)!;
    expect(a.flags).toBe("01");
    expect(a.traceId).not.toBe(b.traceId);
    expect(a.parentId).not.toBe(b.parentId);
  });
});

describe("an attempt's traceparent", () => {
  it("keeps the trace id and flags, with a new span id each time", () => {
    const sampledOff = `00-${TRACE}-${SPAN}-00`;
    const spans = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const child = parseTraceparent(childTraceparent(sampledOff))!;
      expect(child.traceId).toBe(TRACE);
      expect(child.flags).toBe("00");
      expect(child.parentId).not.toBe(SPAN);
      spans.add(child.parentId);
    }
    expect(spans.size).toBe(20);
  });

  it("of an event stored before trace context: one trace derived from its id", () => {
    const id = "evt_01HV6Z8K2M3N4P5Q6R7S8T9V0W";
    expect(legacyTraceparent(id)).toMatch(SHAPE);
    expect(legacyTraceparent(id)).toBe(legacyTraceparent(id));
    expect(traceIdOf(legacyTraceparent(id))).not.toBe(traceIdOf(legacyTraceparent("evt_01HV6Z8K2M3N4P5Q6R7S8T9V0X")));
    expect(eventTraceparent({ id, traceParent: null })).toBe(legacyTraceparent(id));
    expect(eventTraceparent({ id, traceParent: VALID })).toBe(VALID);
  });
});
