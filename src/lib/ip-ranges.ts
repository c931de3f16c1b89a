/**
 * IP addresses that are never a public endpoint, for the SSRF guard
 * (url-guard.ts): parsing of IPv4 (strict, and the loose forms a URL may
 * carry) and IPv6, and the blocked ranges of each, the first match naming the
 * rule (private, loopback, link-local, documentation, cloud metadata, and IPv4
 * embedded in IPv6 by every mapping that reaches it).
 */
// IPv4

type Range = [base: number, bits: number, reason: string];
const r4 = (a: string, bits: number, reason: string): Range => [parseIPv4(a)!, bits, reason];

const RFC1918 = "a private address (RFC 1918)";
const DOCUMENTATION_V4 = "a documentation address (RFC 5737)";
const METADATA = "a cloud metadata address";

/** IPv4 ranges that are never a public endpoint; the first match names the rule. */
const BLOCKED_V4: Range[] = [
  r4("169.254.169.254", 32, METADATA), // AWS, GCP, Azure, …
  r4("169.254.170.2", 32, METADATA), // AWS ECS task metadata
  r4("100.100.100.200", 32, METADATA), // Alibaba Cloud
  r4("255.255.255.255", 32, "the broadcast address"),
  r4("0.0.0.0", 8, "a 'this network' address (0.0.0.0/8)"),
  r4("10.0.0.0", 8, RFC1918),
  r4("100.64.0.0", 10, "a carrier-grade NAT address (100.64.0.0/10)"),
  r4("127.0.0.0", 8, "a loopback address (127.0.0.0/8)"),
  r4("169.254.0.0", 16, "a link-local address (169.254.0.0/16)"),
  r4("172.16.0.0", 12, RFC1918),
  r4("192.0.0.0", 24, "an IETF protocol assignment (192.0.0.0/24)"),
  r4("192.0.2.0", 24, DOCUMENTATION_V4),
  r4("192.88.99.0", 24, "a 6to4 relay anycast address (192.88.99.0/24)"),
  r4("192.168.0.0", 16, RFC1918),
  r4("198.18.0.0", 15, "a benchmarking address (198.18.0.0/15)"),
  r4("198.51.100.0", 24, DOCUMENTATION_V4),
  r4("203.0.113.0", 24, DOCUMENTATION_V4),
  r4("224.0.0.0", 4, "a multicast address (224.0.0.0/4)"),
  r4("240.0.0.0", 4, "a reserved address (240.0.0.0/4)"),
];

/** Strict dotted-quad IPv4 (what the URL parser and DNS answers produce). */
export function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

/**
 * IPv4 in any form `inet_aton` accepts: 1–4 parts, each decimal, octal
 * (leading 0) or hex (0x), the last filling the remaining bytes, and an
 * optional trailing dot. The URL parser already does this; this is the guard's
 * own copy so that it never depends on it.
 */
export function parseIPv4Loose(text: string): number | null {
  const parts = text.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length < 1 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0x[0-9a-f]*$/i.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) v = parseInt(p.slice(1), 8);
    else if (/^(0|[1-9]\d*)$/.test(p)) v = Number(p);
    else return null;
    nums.push(v);
  }
  const last = nums.pop()!;
  if (nums.some((v) => v > 255) || last >= 256 ** (4 - nums.length)) return null;
  return nums.reduce((acc, v, i) => acc + v * 256 ** (3 - i), 0) + last;
}

const formatIPv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

export function v4Reason(n: number): string | null {
  for (const [base, bits, reason] of BLOCKED_V4) {
    if (n >= base && n < base + 2 ** (32 - bits)) return reason;
  }
  return null;
}

// ---------------------------------------------------------------------------
// IPv6

/** An IPv6 literal (no brackets; a zone id is ignored) as eight 16-bit groups. */
export function parseIPv6(text: string): number[] | null {
  let s = text.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (lastColon < 0) return null;
  const last = s.slice(lastColon + 1);
  if (last.includes(".")) {
    const n = parseIPv4(last);
    if (n === null) return null;
    tail = [Math.floor(n / 65536), n % 65536];
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith("::")) s = s.slice(0, -1);
  }
  const want = 8 - tail.length;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const left = groups(halves[0]!);
  let all: number[];
  if (halves.length === 1) {
    all = left;
  } else {
    const right = groups(halves[1]!);
    const fill = want - left.length - right.length;
    if (fill < 1) return null;
    all = [...left, ...new Array<number>(fill).fill(0), ...right];
  }
  if (all.length !== want || all.some((g) => Number.isNaN(g))) return null;
  return [...all, ...tail];
}

/** "an X of 10.0.0.1, a private address (RFC 1918)" when the embedded IPv4 is blocked. */
function embeddedReason(kind: string, hi: number, lo: number): string | null {
  const n = hi * 65536 + lo;
  const inner = v4Reason(n);
  return inner ? `${kind} of ${formatIPv4(n)}, ${inner}` : null;
}

export function v6Reason(g: number[]): string | null {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const zeroTo = (k: number) => g.slice(0, k).every((x) => x === 0);
  if (zeroTo(8)) return "the unspecified address (::)";
  if (zeroTo(7) && g7 === 1) return "the IPv6 loopback address (::1)";
  // IPv4 embeddings: the IPv4 address decides the rule named, but these forms are refused whatever it is.
  if (zeroTo(5) && g5 === 0xffff) return embeddedReason("an IPv4-mapped address", g6, g7) ?? "an IPv4-mapped address (::ffff:0:0/96)";
  if (zeroTo(4) && g4 === 0xffff && g5 === 0) return embeddedReason("an IPv4-translated address", g6, g7) ?? "an IPv4-translated address (::ffff:0:0:0/96)";
  if (zeroTo(6)) return embeddedReason("an IPv4-compatible address", g6, g7) ?? "an IPv4-compatible address (::/96)";
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return embeddedReason("a NAT64 address", g6, g7) ?? "a NAT64 address (64:ff9b::/96)";
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return embeddedReason("a local-use NAT64 address", g6, g7) ?? "a local-use NAT64 address (64:ff9b:1::/48)";
  // 6to4 carries a public IPv4 address for a public site; one of a blocked IPv4 address is refused.
  if (g0 === 0x2002) return embeddedReason("a 6to4 address", g1, g2);
  if (g0 === 0x2001 && g1 === 0) return "a Teredo address (2001::/32)";
  if (g0 === 0x2001 && g1 < 0x200) return "an IETF protocol assignment (2001::/23)";
  if (g0 === 0x2001 && g1 === 0x0db8) return "a documentation address (2001:db8::/32)";
  if ((g0 & 0xfff0) === 0x3ff0) return "a documentation address (3fff::/20)";
  if (g0 === 0xfd00 && g1 === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g7 === 0x254) return METADATA; // AWS IMDS over IPv6
  if ((g0 & 0xfe00) === 0xfc00) return "a private address (unique local, fc00::/7)";
  if ((g0 & 0xffc0) === 0xfe80) return "a link-local address (fe80::/10)";
  if ((g0 & 0xffc0) === 0xfec0) return "a site-local address (fec0::/10)";
  if ((g0 & 0xff00) === 0xff00) return "a multicast address (ff00::/8)";
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return "a discard-only address (100::/64)";
  // Everything public is global unicast; whatever is left outside it is reserved.
  if ((g0 & 0xe000) !== 0x2000) return "a reserved address (outside 2000::/3)";
  return null;
}
