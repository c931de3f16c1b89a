/**
 * The SSRF guard: which URLs the service may call. Used when a webhook is
 * created or changed, and again before every delivery attempt.
 *
 * The WHATWG URL parser already canonicalises IPv4 in decimal, octal, hex and
 * short forms (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1` all become
 * `127.0.0.1`), so the address rules below see one form.
 */

/** Switches from the environment (both off in production). */
export interface UrlPolicy {
  allowInsecure: boolean;
  allowPrivate: boolean;
}

/** Reads the policy from the Worker's vars. */
export const urlPolicy = (env: { ALLOW_INSECURE_URLS?: string; ALLOW_PRIVATE_TARGETS?: string }): UrlPolicy => ({
  allowInsecure: env.ALLOW_INSECURE_URLS === "true",
  allowPrivate: env.ALLOW_PRIVATE_TARGETS === "true",
});

type Cidr4 = [number, number];
const v4 = (a: string, bits: number): Cidr4 => [ipv4ToInt(a)!, bits];

/** IPv4 ranges that are never a public endpoint. */
const BLOCKED_V4: Array<[Cidr4, string]> = [
  [v4("0.0.0.0", 8), "'this network' address"],
  [v4("10.0.0.0", 8), "private address"],
  [v4("100.64.0.0", 10), "carrier-grade NAT address"],
  [v4("127.0.0.0", 8), "loopback address"],
  [v4("169.254.0.0", 16), "link-local or metadata address"],
  [v4("172.16.0.0", 12), "private address"],
  [v4("192.0.0.0", 24), "IETF protocol assignment"],
  [v4("192.0.2.0", 24), "documentation address"],
  [v4("192.88.99.0", 24), "6to4 relay address"],
  [v4("192.168.0.0", 16), "private address"],
  [v4("198.18.0.0", 15), "benchmarking address"],
  [v4("198.51.100.0", 24), "documentation address"],
  [v4("203.0.113.0", 24), "documentation address"],
  [v4("224.0.0.0", 4), "multicast address"],
  [v4("240.0.0.0", 4), "reserved or broadcast address"],
];

const BLOCKED_HOSTNAMES = new Set(["localhost", "metadata", "metadata.google.internal", "instance-data"]);

function ipv4ToInt(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

function v4Reason(n: number): string | null {
  for (const [[base, bits], reason] of BLOCKED_V4) {
    const size = 2 ** (32 - bits);
    if (n >= base && n < base + size) return reason;
  }
  return null;
}

/** Expands an IPv6 literal (no brackets) to eight 16-bit groups. */
function ipv6Groups(text: string): number[] | null {
  let head = text;
  let tail: number[] = [];
  const lastColon = head.lastIndexOf(":");
  const maybeV4 = head.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    const n = ipv4ToInt(maybeV4);
    if (n === null) return null;
    tail = [Math.floor(n / 65536), n % 65536];
    head = head.slice(0, lastColon + 1) + "0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - tail.length + (tail.length ? 1 : 0) - left.length - right.length;
  let groups = halves.length === 2 ? [...left, ...Array(Math.max(fill, 0)).fill(0), ...right] : left;
  if (tail.length) groups = [...groups.slice(0, 6), ...tail];
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return null;
  return groups;
}

function v6Reason(g: number[]): string | null {
  const embedded = (hi: number, lo: number) => v4Reason(hi * 65536 + lo);
  if (g.every((x) => x === 0)) return "unspecified address";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback address";
  // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    return embedded(g[6]!, g[7]!) ? `IPv4-embedded ${embedded(g[6]!, g[7]!)}` : g[5] === 0 ? "IPv4-compatible address" : null;
  }
  if (g[0] === 0x64 && g[1] === 0xff9b) return "NAT64 address";
  if (g[0] === 0x2002) return embedded(g[1]!, g[2]!) ? `6to4 ${embedded(g[1]!, g[2]!)}` : null;
  if ((g[0]! & 0xfe00) === 0xfc00) return "private (unique local) address";
  if ((g[0]! & 0xffc0) === 0xfe80) return "link-local address";
  if ((g[0]! & 0xffc0) === 0xfec0) return "site-local address";
  if ((g[0]! & 0xff00) === 0xff00) return "multicast address";
  if (g[0] === 0x2001 && g[1] === 0x0db8) return "documentation address";
  if (g[0] === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return "discard-only address";
  return null;
}

/** Why a hostname (as the URL parser gives it) is not a public target, or `null`. */
export function addressRefusal(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (BLOCKED_HOSTNAMES.has(host) || host.endsWith(".localhost")) return `${host} is a local or metadata host name`;
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = ipv6Groups(host.slice(1, -1));
    if (!groups) return "malformed IPv6 address";
    const reason = v6Reason(groups);
    return reason ? `${host} is a ${reason}` : null;
  }
  const n = ipv4ToInt(host);
  if (n !== null) {
    const reason = v4Reason(n);
    return reason ? `${host} is a ${reason}` : null;
  }
  return null;
}

/** Why `url` may not be called under `policy`, or `null` when it may. */
export function urlRefusal(url: string, policy: UrlPolicy): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute http or https URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return "must use http or https";
  if (parsed.protocol === "http:" && !policy.allowInsecure) return "must use https (plain http is not allowed)";
  if (parsed.username || parsed.password) return "must not contain credentials";
  if (url.length > 2048) return "must be at most 2048 characters";
  if (!policy.allowPrivate) {
    const port = parsed.port ? Number(parsed.port) : null;
    if (port !== null && port < 1024 && port !== 80 && port !== 443) return "must not use a port below 1024 other than 80 and 443";
    const reason = addressRefusal(parsed.hostname);
    if (reason) return `refused: ${reason}`;
  }
  return null;
}
