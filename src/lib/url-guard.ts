/**
 * The SSRF guard: which URLs the service may call. Used when a webhook is
 * created or changed, and again before every delivery attempt.
 *
 * Two layers:
 * - {@link urlRefusal} (sync): the URL itself — scheme, credentials, port, and
 *   a host that is a blocked name or an IP literal in a blocked range.
 * - {@link checkUrl} / {@link deliveryUrlError} (async): the same, and then the
 *   host name's A and AAAA records (over DNS-over-HTTPS, see dns-resolve.ts);
 *   any record in a blocked range refuses the URL.
 *
 * The WHATWG URL parser (workerd's included; test/ssrf.test.ts checks it)
 * canonicalises IPv4 in decimal, octal, hex and short forms (`2130706433`,
 * `0177.0.0.1`, `0x7f.1`, `127.1` all become `127.0.0.1`), percent-decodes
 * and IDNA-maps hosts, lowercases them and rejects IPv6 zone ids. The checks
 * below still parse those forms themselves, so they do not depend on it.
 *
 * `ALLOW_PRIVATE_TARGETS` (local development and tests only) lifts the
 * address and port rules, and with them the DNS lookups.
 */
import type { DnsResolver } from "./dns-resolve";

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

// ---------------------------------------------------------------------------
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
function parseIPv4(text: string): number | null {
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
function parseIPv4Loose(text: string): number | null {
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

function v4Reason(n: number): string | null {
  for (const [base, bits, reason] of BLOCKED_V4) {
    if (n >= base && n < base + 2 ** (32 - bits)) return reason;
  }
  return null;
}

// ---------------------------------------------------------------------------
// IPv6

/** An IPv6 literal (no brackets; a zone id is ignored) as eight 16-bit groups. */
function parseIPv6(text: string): number[] | null {
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

function v6Reason(g: number[]): string | null {
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

// ---------------------------------------------------------------------------
// Host names and addresses

const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"]);
const METADATA_NAMES = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);
/** Special-use suffixes that never name a public host. */
const PRIVATE_SUFFIXES = [".local", ".internal", ".home.arpa", ".localdomain"];

/** The host as the guard compares it: lowercased, no brackets, no trailing dots. */
const normalHost = (hostname: string) => hostname.toLowerCase().replace(/\.+$/, "");

/** Why an IP address (dotted IPv4 or IPv6, brackets optional) is not a public target, or `null`. */
export function ipRefusalReason(ip: string): string | null {
  const text = ip.trim().replace(/^\[(.*)\]$/, "$1");
  if (text.includes(":")) {
    const groups = parseIPv6(text);
    return groups ? v6Reason(groups) : "not a valid IP address";
  }
  const n = parseIPv4(text);
  return n === null ? "not a valid IP address" : v4Reason(n);
}

/** Whether a URL's hostname is an IP literal (so it is checked as is, never resolved). */
export function isIpLiteral(hostname: string): boolean {
  const host = normalHost(hostname);
  return host.startsWith("[") || parseIPv4Loose(host) !== null;
}

/** Why a host name (not an IP literal) is a local or metadata name, or `null`. */
function nameReason(host: string): string | null {
  if (METADATA_NAMES.has(host)) return "a cloud metadata host name";
  if (LOOPBACK_NAMES.has(host) || host.endsWith(".localhost")) return "a loopback host name (localhost)";
  if (PRIVATE_SUFFIXES.some((s) => host.endsWith(s))) return "a special-use private host name";
  return null;
}

/** Why a hostname (as the URL parser gives it) is not a public target, or `null`. */
export function addressRefusal(hostname: string): string | null {
  const host = normalHost(hostname);
  if (host.startsWith("[")) {
    if (!host.endsWith("]")) return `${host} is a malformed IPv6 address`;
    const groups = parseIPv6(host.slice(1, -1));
    if (!groups) return `${host} is a malformed IPv6 address`;
    const reason = v6Reason(groups);
    return reason ? `${host} is ${reason}` : null;
  }
  const n = parseIPv4Loose(host);
  if (n !== null) {
    const reason = v4Reason(n);
    return reason ? `${host} is ${reason}` : null;
  }
  const reason = nameReason(host);
  return reason ? `${host} is ${reason}` : null;
}

// ---------------------------------------------------------------------------
// URLs

/**
 * Why `url` may not be called under `policy`, or `null` when it may. The
 * literal checks only: a host name is not resolved (see {@link checkUrl}).
 */
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
    // Ports below 1024 belong to system services (SSH, SMTP, DNS, LDAP, …), classic SSRF
    // targets that no webhook receiver needs; 80 and 443 are the web's. Ports from 1024 up
    // stay open (receivers commonly listen on 8080, 8443, …). The URL parser drops a
    // scheme's default port, so `https://host:443/` has no port here.
    const port = parsed.port ? Number(parsed.port) : null;
    if (port !== null && port < 1024 && port !== 80 && port !== 443) return "must not use a port below 1024 other than 80 and 443";
    const reason = addressRefusal(parsed.hostname);
    if (reason) return `refused: ${reason}`;
  }
  return null;
}

/** The guard's answer for one URL. */
export type UrlVerdict =
  | { ok: true }
  /** The URL, its host or one of the host's addresses is not allowed. */
  | { ok: false; kind: "refused"; message: string }
  /** The host name could not be resolved, so its addresses are unknown. */
  | { ok: false; kind: "dns"; message: string };

/** Why a resolved name is refused (CNAME targets first, then every address), or `null`. */
function resolvedRefusal(host: string, cnames: string[], addresses: string[]): string | null {
  for (const alias of cnames) {
    const reason = nameReason(alias) ?? (isIpLiteral(alias) ? "an IP address used as a host name" : null);
    if (reason) return `refused: ${host} is an alias (CNAME) of ${alias}, which is ${reason}`;
  }
  const via = cnames.length ? ` (via ${cnames.join(", ")})` : "";
  for (const address of addresses) {
    const reason = ipRefusalReason(address);
    if (reason) return `refused: ${host} resolves${via} to ${address}, which is ${reason}`;
  }
  return null;
}

/**
 * The whole check: {@link urlRefusal}, then — unless `policy.allowPrivate`,
 * the host is an IP literal or there is no resolver — the host name's A and
 * AAAA records, refused if any one of them is not public.
 */
export async function inspectUrl(url: string, policy: UrlPolicy, resolver?: DnsResolver | null): Promise<UrlVerdict> {
  const refusal = urlRefusal(url, policy);
  if (refusal) return { ok: false, kind: "refused", message: refusal };
  if (policy.allowPrivate || !resolver) return { ok: true };
  const host = normalHost(new URL(url).hostname);
  if (isIpLiteral(host)) return { ok: true };
  const found = await resolver(host);
  if (!found.ok) return { ok: false, kind: "dns", message: found.error };
  const reason = resolvedRefusal(host, found.cnames, found.addresses);
  if (reason) return { ok: false, kind: "refused", message: reason };
  // Nothing to connect to (a CNAME to nowhere, or no records of either type).
  if (!found.addresses.length) return { ok: false, kind: "dns", message: `no A or AAAA records for ${host}` };
  return { ok: true };
}

/**
 * For create and update: why `url` may not be stored, or `null`. A name that
 * cannot be resolved now is accepted; delivery checks its addresses again.
 */
export async function checkUrl(url: string, policy: UrlPolicy, resolver?: DnsResolver | null): Promise<string | null> {
  const verdict = await inspectUrl(url, policy, resolver);
  return verdict.ok || verdict.kind === "dns" ? null : verdict.message;
}

/**
 * For a delivery attempt: the attempt's error when it must not be sent
 * (`URL refused: …`, `URL must use https …`, or `DNS lookup failed: …`, which
 * is an ordinary failed attempt and retried), or `null` to send it.
 */
export async function deliveryUrlError(url: string, policy: UrlPolicy, resolver?: DnsResolver | null): Promise<string | null> {
  const verdict = await inspectUrl(url, policy, resolver);
  if (verdict.ok) return null;
  return verdict.kind === "dns" ? `DNS lookup failed: ${verdict.message}` : `URL ${verdict.message}`;
}
