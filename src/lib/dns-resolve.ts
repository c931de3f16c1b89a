/**
 * Host name resolution for the SSRF guard. Workers have no DNS API, so names
 * are resolved with DNS-over-HTTPS in its JSON form (as served by
 * cloudflare-dns.com and dns.google): `GET <resolver>?name=<host>&type=A`
 * with `accept: application/dns-json`, answered with
 * `{"Status": 0, "Answer": [{"type": 1, "data": "1.2.3.4"}, …]}`.
 *
 * A recursive resolver lists the whole CNAME chain in `Answer`, so every A and
 * AAAA record there is an address the name leads to; the guard checks them all.
 * The resolver's own URL is configuration, not a webhook target: it is never
 * put through the guard.
 */

/** Used when `DNS_RESOLVER_URL` is not set at all (wrangler.toml sets it). */
export const DEFAULT_DNS_RESOLVER_URL = "https://cloudflare-dns.com/dns-query";
/** Both lookups (A and AAAA, in parallel) must finish within this. */
export const DNS_TIMEOUT_MS = 2000;

/** What a name resolved to, or why it could not be resolved. */
export type Resolution =
  | {
      ok: true;
      /** Every A and AAAA record in the answers, as the resolver wrote them (may be none). */
      addresses: string[];
      /** The CNAME targets met on the way (no trailing dot), in answer order. */
      cnames: string[];
    }
  | { ok: false; error: string };

/** Resolves a host name (never an IP literal) to its addresses. Never throws. */
export type DnsResolver = (host: string) => Promise<Resolution>;

interface DohRecord {
  name?: string;
  type?: number;
  data?: string;
}
interface DohAnswer {
  Status?: number;
  Answer?: DohRecord[];
}

const RCODES: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED" };
const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;

class LookupError extends Error {}

/** One DoH query; the records of a NOERROR answer, `null` for NXDOMAIN. */
async function query(resolverUrl: string, name: string, type: "A" | "AAAA", signal: AbortSignal, doFetch: typeof fetch): Promise<DohRecord[] | null> {
  const url = new URL(resolverUrl);
  url.searchParams.set("name", name);
  url.searchParams.set("type", type);
  const res = await doFetch(url.toString(), { headers: { accept: "application/dns-json" }, signal });
  if (!res.ok) {
    await res.body?.cancel();
    throw new LookupError(`resolver answered HTTP ${res.status} for ${name} ${type}`);
  }
  let answer: DohAnswer;
  try {
    answer = await res.json();
  } catch {
    throw new LookupError(`resolver sent no JSON for ${name} ${type}`);
  }
  if (answer.Status === 3) return null;
  if (answer.Status !== 0) {
    throw new LookupError(`${RCODES[answer.Status ?? -1] ?? `status ${String(answer.Status)}`} for ${name} ${type}`);
  }
  return Array.isArray(answer.Answer) ? answer.Answer : [];
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof LookupError) return err.message;
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) return `timed out after ${timeoutMs} ms`;
  return err instanceof Error ? err.message : String(err);
}

async function resolveName(resolverUrl: string, name: string, timeoutMs: number, doFetch: typeof fetch): Promise<Resolution> {
  const signal = AbortSignal.timeout(timeoutMs);
  let a: DohRecord[] | null;
  let aaaa: DohRecord[] | null;
  try {
    [a, aaaa] = await Promise.all([query(resolverUrl, name, "A", signal, doFetch), query(resolverUrl, name, "AAAA", signal, doFetch)]);
  } catch (err) {
    return { ok: false, error: describe(err, timeoutMs) };
  }
  if (a === null && aaaa === null) return { ok: false, error: `${name} does not exist (NXDOMAIN)` };
  const records = [...(a ?? []), ...(aaaa ?? [])];
  const addresses = records.filter((r) => (r.type === TYPE_A || r.type === TYPE_AAAA) && typeof r.data === "string").map((r) => r.data!.trim());
  const cnames = records.filter((r) => r.type === TYPE_CNAME && typeof r.data === "string").map((r) => r.data!.trim().toLowerCase().replace(/\.+$/, ""));
  return { ok: true, addresses: [...new Set(addresses)], cnames: [...new Set(cnames)] };
}

/**
 * A resolver that asks the DoH server at `resolverUrl`. It remembers its
 * answers for its own lifetime only: make one per request or per attempt,
 * never a module-level one (that would outlive the records' TTLs).
 */
export function dohResolver(resolverUrl: string, opts: { timeoutMs?: number; fetch?: typeof fetch } = {}): DnsResolver {
  const timeoutMs = opts.timeoutMs ?? DNS_TIMEOUT_MS;
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const seen = new Map<string, Promise<Resolution>>();
  return (host) => {
    const name = host.toLowerCase().replace(/\.+$/, "");
    let pending = seen.get(name);
    if (!pending) {
      pending = resolveName(resolverUrl, name, timeoutMs, doFetch);
      seen.set(name, pending);
    }
    return pending;
  };
}

/**
 * The resolver the Worker's vars ask for: `DNS_RESOLVER_URL`, or the default
 * when the var is missing; `null` when it is the empty string (names are then
 * not resolved and only the literal checks apply).
 */
export function resolverFromEnv(env: { DNS_RESOLVER_URL?: string }): DnsResolver | null {
  const url = env.DNS_RESOLVER_URL ?? DEFAULT_DNS_RESOLVER_URL;
  return url.trim() === "" ? null : dohResolver(url.trim());
}
