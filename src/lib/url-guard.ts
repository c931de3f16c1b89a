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
import { parseIPv4, parseIPv4Loose, parseIPv6, v4Reason, v6Reason } from "./ip-ranges";

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
