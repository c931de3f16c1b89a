// The SSRF guard (DESIGN §5): refused at create/update and again before every delivery attempt,
// IP literals in every spelling and host names by their A/AAAA records (DNS-over-HTTPS, answered
// here by test/support/doh-server.mjs on 127.0.0.1 — nothing leaves the machine).
//
// The test environment sets ALLOW_PRIVATE_TARGETS so that other tests can reach the 127.0.0.1
// receiver. These tests switch the address rules on without touching that: the guard is called
// with a strict policy, and the create-time rules (`checkWebhookRules`) and the delivery attempt
// (`deliverOnce`) are called with a copy of the worker's env whose ALLOW_PRIVATE_TARGETS is "false".
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { type AttemptContext, loadWebhookForDispatch } from "../src/db/delivery-queries";
import { deliverOnce } from "../src/dispatch/deliver";
import { DNS_TIMEOUT_MS, dohResolver, resolverFromEnv } from "../src/lib/dns-resolve";
import { ApiError } from "../src/lib/errors";
import { importSecretKey } from "../src/lib/secret-box";
import { addressRefusal, checkUrl, deliveryUrlError, inspectUrl, ipRefusalReason, urlRefusal } from "../src/lib/url-guard";
import { checkWebhookRules } from "../src/routes/webhook-rules";
import { call, newAccount, newWebhook, plan, receiverEndpoint, waitForReceived } from "./support/helpers";

const STRICT = { allowInsecure: false, allowPrivate: false };
/** The worker's env with the address rules on (and plain http off), as in production. */
const strictEnv = { ...env, ALLOW_PRIVATE_TARGETS: "false", ALLOW_INSECURE_URLS: "false" } as Env;
const DOH = env.DNS_RESOLVER_URL.replace(/\/dns-query$/, "");
const db = createDb(env.DB);

/** Sets what the test DoH server answers for `name`. */
const setAnswer = (name: string, answer: Record<string, unknown>) => fetch(`${DOH}/_control/${name}`, { method: "PUT", body: JSON.stringify(answer) });
/** How many A and AAAA queries the test DoH server got for `name`. */
const queriesFor = async (name: string) => (await fetch(`${DOH}/_queries/${name}`)).json<{ A: number; AAAA: number }>();

let accountId: string;
let apiKey: string;
let key: CryptoKey;
let baseContext: AttemptContext;

beforeAll(async () => {
  // The copy must keep the test resolver: a missing DNS_RESOLVER_URL would mean the public default.
  if (strictEnv.DNS_RESOLVER_URL !== env.DNS_RESOLVER_URL || !DOH.startsWith("http://127.0.0.1:")) throw new Error("test DoH server not configured");
  const account = await newAccount("ssrf");
  accountId = account.id;
  apiKey = account.key;
  key = await importSecretKey(env.ENCRYPTION_KEY);
  const hook = await newWebhook(apiKey, { url: receiverEndpoint("ssrf").url });
  const webhook = (await loadWebhookForDispatch(db, hook.id))!;
  baseContext = {
    deliveryId: "dlv_ssrf",
    webhook,
    event: { id: "evt_ssrf", type: "evaluation.completed", createdAt: Date.now(), data: "{}", metadata: "{}", traceParent: null, traceState: null },
    latest: null,
  };
});

/** The create/update rules under `useEnv`: the `url` issue's message, or `null` when accepted. */
async function createRefusal(url: string, useEnv: Env = strictEnv): Promise<string | null> {
  try {
    await checkWebhookRules(useEnv, db, accountId, { url, events: ["*"], filters: null, format: "json", templates: null, headers: null });
    return null;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const issue = err.details?.find((d) => d.field === "url");
    if (!issue) throw err;
    return issue.message;
  }
}

/** One delivery attempt at `url` under `useEnv`. */
const attemptAt = (url: string, useEnv: Env = strictEnv) => deliverOnce(useEnv, key, { ...baseContext, webhook: { ...baseContext.webhook, url } }, 1);

/** Hostile URLs and the rule each one's refusal must name. */
const HOSTILE: Array<[url: string, rule: RegExp]> = [
  // scheme, credentials, port
  ["http://hooks.good.test/x", /must use https/],
  ["ftp://hooks.good.test/x", /must use http or https/],
  ["file:///etc/passwd", /must use http or https/],
  ["gopher://127.0.0.1:6379/_FLUSHALL", /must use http or https/],
  ["https://user:pass@hooks.good.test/x", /credentials/],
  ["https://hooks.good.test:22/x", /port below 1024/],
  ["https://hooks.good.test:25/x", /port below 1024/],
  // IPv4 loopback in every spelling
  ["https://127.0.0.1/x", /127\.0\.0\.1 is a loopback address/],
  ["https://127.1/x", /loopback address/],
  ["https://2130706433/x", /loopback address/],
  ["https://0177.0.0.1/x", /loopback address/],
  ["https://0x7f.1/x", /loopback address/],
  ["https://0x7f000001/x", /loopback address/],
  ["https://127.0.0.1./x", /loopback address/],
  ["https://%31%32%37.0.0.1/x", /loopback address/],
  ["https://１２７.０.０.１/x", /loopback address/],
  ["https://127.255.255.254:8443/x", /loopback address/],
  ["https://localhost/x", /localhost is a loopback host name/],
  ["https://LOCALHOST./x", /loopback host name/],
  ["https://localhost../x", /loopback host name/],
  ["https://api.localhost/x", /loopback host name/],
  // this network, unspecified
  ["https://0.0.0.0/x", /'this network' address/],
  ["https://0/x", /'this network' address/],
  ["https://[::]/x", /unspecified address/],
  // IPv6 loopback, mapped, compatible, NAT64, 6to4
  ["https://[::1]/x", /IPv6 loopback address/],
  ["https://[0:0:0:0:0:0:0:1]/x", /IPv6 loopback address/],
  ["https://[::ffff:127.0.0.1]/x", /IPv4-mapped address of 127\.0\.0\.1, a loopback address/],
  ["https://[0:0:0:0:0:ffff:7f00:1]/x", /IPv4-mapped address of 127\.0\.0\.1/],
  ["https://[::ffff:10.0.0.1]/x", /IPv4-mapped address of 10\.0\.0\.1, a private address \(RFC 1918\)/],
  ["https://[::ffff:a9fe:a9fe]/x", /IPv4-mapped address of 169\.254\.169\.254, a cloud metadata address/],
  ["https://[::ffff:8.8.8.8]/x", /IPv4-mapped address/],
  ["https://[::127.0.0.1]/x", /IPv4-compatible address of 127\.0\.0\.1/],
  ["https://[64:ff9b::10.0.0.1]/x", /NAT64 address of 10\.0\.0\.1, a private address/],
  ["https://[64:ff9b::7f00:1]/x", /NAT64 address of 127\.0\.0\.1/],
  ["https://[64:ff9b:1::a00:1]/x", /local-use NAT64 address/],
  ["https://[2002:a9fe:a9fe::1]/x", /6to4 address of 169\.254\.169\.254, a cloud metadata address/],
  ["https://[2002:7f00:1::]/x", /6to4 address of 127\.0\.0\.1, a loopback address/],
  ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", /Teredo address/],
  // IPv6 private, link-local, multicast, documentation, zone ids
  ["https://[fc00::1]/x", /private address \(unique local/],
  ["https://[fd12:3456:789a::1]/x", /private address \(unique local/],
  ["https://[fe80::1]/x", /link-local address/],
  ["https://[FE80::1%25eth0]/x", /must be an absolute http or https URL/],
  ["https://[fe80::1%eth0]/x", /must be an absolute http or https URL/],
  ["https://[fec0::1]/x", /site-local address/],
  ["https://[ff02::1]/x", /multicast address/],
  ["https://[2001:db8::1]/x", /documentation address/],
  ["https://[100::1]/x", /discard-only address/],
  // IPv4 private, CGNAT, link-local, reserved, multicast, broadcast, documentation
  ["https://10.0.0.1/x", /^(URL )?refused: 10\.0\.0\.1 is a private address \(RFC 1918\)$/],
  ["https://10.255.255.255/x", /private address \(RFC 1918\)/],
  ["https://172.16.0.1/x", /private address \(RFC 1918\)/],
  ["https://172.31.255.255/x", /private address \(RFC 1918\)/],
  ["https://192.168.1.1/x", /private address \(RFC 1918\)/],
  ["https://100.64.0.1/x", /carrier-grade NAT address/],
  ["https://100.127.255.254/x", /carrier-grade NAT address/],
  ["https://169.254.1.1/x", /link-local address/],
  ["https://192.0.0.1/x", /IETF protocol assignment/],
  ["https://192.0.2.1/x", /documentation address/],
  ["https://198.51.100.1/x", /documentation address/],
  ["https://203.0.113.1/x", /documentation address/],
  ["https://198.18.0.1/x", /benchmarking address/],
  ["https://198.19.255.255/x", /benchmarking address/],
  ["https://192.88.99.1/x", /6to4 relay/],
  ["https://224.0.0.1/x", /multicast address/],
  ["https://239.255.255.250/x", /multicast address/],
  ["https://240.0.0.1/x", /reserved address/],
  ["https://255.255.255.255/x", /broadcast address/],
  // metadata
  ["https://169.254.169.254/latest/meta-data/", /169\.254\.169\.254 is a cloud metadata address/],
  ["https://[fd00:ec2::254]/latest/meta-data/", /cloud metadata address/],
  ["https://metadata/computeMetadata/v1/", /metadata host name/],
  ["https://metadata.google.internal/computeMetadata/v1/", /metadata host name/],
  ["https://METADATA.Google.Internal./computeMetadata/v1/", /metadata host name/],
  ["https://printer.local/x", /special-use private host name/],
  // host names whose records are not public
  ["https://loopback.evil.test/x", /loopback\.evil\.test resolves to 127\.0\.0\.1, which is a loopback address/],
  ["https://LOOPBACK.Evil.Test./x", /loopback\.evil\.test resolves to 127\.0\.0\.1/],
  ["https://loopback6.evil.test/x", /resolves to ::1, which is the IPv6 loopback address/],
  ["https://anything.evil.test/x", /resolves to 10\.0\.0\.1, which is a private address \(RFC 1918\)/],
  ["https://private172.evil.test/x", /resolves to 172\.16\.5\.4, which is a private address/],
  ["https://private192.evil.test/x", /resolves to 192\.168\.1\.20, which is a private address/],
  ["https://cgnat.evil.test/x", /carrier-grade NAT/],
  ["https://zero.evil.test/x", /'this network'/],
  ["https://linklocal.evil.test/x", /link-local/],
  ["https://metadata.evil.test/latest/meta-data/", /resolves to 169\.254\.169\.254, which is a cloud metadata address/],
  ["https://metadata6.evil.test/x", /resolves to fd00:ec2::254, which is a cloud metadata address/],
  ["https://ula.evil.test/x", /unique local/],
  ["https://linklocal6.evil.test/x", /link-local/],
  ["https://mapped.evil.test/x", /resolves to ::ffff:127\.0\.0\.1, which is an IPv4-mapped address of 127\.0\.0\.1, a loopback address/],
  ["https://mappedhex.evil.test/x", /IPv4-mapped address of 169\.254\.169\.254, a cloud metadata address/],
  ["https://nat64.evil.test/x", /NAT64 address of 10\.0\.0\.1/],
  ["https://sixtofour.evil.test/x", /6to4 address of 192\.168\.1\.1/],
  ["https://multicast.evil.test/x", /multicast/],
  ["https://broadcast.evil.test/x", /broadcast/],
  ["https://benchmark.evil.test/x", /benchmarking/],
  ["https://docs.evil.test/x", /documentation/],
  ["https://mixed.evil.test/x", /mixed\.evil\.test resolves to 10\.9\.8\.7, which is a private address/],
  ["https://mixed46.evil.test/x", /resolves to ::1, which is the IPv6 loopback address/],
  ["https://chain.evil.test/x", /chain\.evil\.test resolves \(via hop1\.evil\.test, hop2\.good-looking\.test\) to 192\.168\.0\.10, which is a private address \(RFC 1918\)/],
  ["https://alias-metadata.evil.test/x", /alias \(CNAME\) of metadata\.google\.internal, which is a cloud metadata host name/],
];

/** Public targets the guard lets through, names resolved by the test DoH server. */
const GOOD = [
  "https://hooks.good.test/rubric",
  "https://HOOKS.Good.Test./rubric",
  "https://hooks.good.test:443/rubric",
  "https://hooks.good.test:8443/rubric",
  "https://bücher.good.test/rubric",
  "https://api.v4only.test/rubric",
  "https://93.184.215.14/rubric",
  "https://1.1.1.1/rubric",
  "https://8.8.8.8:8080/rubric",
  "https://11.0.0.1/rubric",
  "https://172.32.0.1/rubric",
  "https://100.128.0.1/rubric",
  "https://198.20.0.1/rubric",
  "https://[2606:4700:4700::1111]/rubric",
  "https://[2001:4860:4860::8888]/rubric",
  "https://[2002:808:808::1]/rubric",
];

describe("the URL parser in workerd", () => {
  it("canonicalises IPv4 spellings, hosts and IPv6 before the guard sees them", () => {
    const host = (u: string) => new URL(u).hostname;
    for (const u of ["https://2130706433/", "https://0177.0.0.1/", "https://0x7f.1/", "https://127.1/", "https://0x7f000001/", "https://127.0.0.1./", "https://%31%32%37.0.0.1/", "https://１２７.０.０.１/"]) {
      expect(host(u), u).toBe("127.0.0.1");
    }
    expect(host("https://0/")).toBe("0.0.0.0");
    expect(host("https://LOCALHOST./")).toBe("localhost."); // the trailing dot stays: the guard strips it
    expect(host("https://[0:0:0:0:0:ffff:7f00:1]/")).toBe("[::ffff:7f00:1]");
    expect(host("https://[::ffff:127.0.0.1]/")).toBe("[::ffff:7f00:1]");
    expect(host("https://[64:ff9b::10.0.0.1]/")).toBe("[64:ff9b::a00:1]");
    expect(host("https://bücher.good.test/")).toBe("xn--bcher-kva.good.test");
    expect(new URL("https://hooks.good.test:443/").port).toBe("");
    for (const u of ["https://[fe80::1%25eth0]/", "https://[fe80::1%eth0]/", "https://1.2.3.4.5/", "https://08.0.0.1/", "https://4294967296/"]) {
      expect(() => new URL(u), u).toThrow();
    }
  });

  it("is not relied on: the guard's own literal checks know the same spellings", () => {
    for (const h of ["2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x7f000001", "127.0.0.1.", "0177.1", "127.0.0.1.."]) {
      expect(addressRefusal(h), h).toMatch(/loopback address/);
    }
    expect(addressRefusal("0")).toMatch(/'this network'/);
    expect(addressRefusal("[FE80::1%eth0]")).toMatch(/link-local/);
    expect(addressRefusal("[::FFFF:7F00:1]")).toMatch(/IPv4-mapped address of 127\.0\.0\.1/);
    expect(addressRefusal("[::ffff:127.0.0.1]")).toMatch(/IPv4-mapped address of 127\.0\.0\.1/);
    expect(addressRefusal("[1:2:3:4:5:6:7:8:9]")).toMatch(/malformed/);
    expect(addressRefusal("LocalHost.")).toMatch(/loopback host name/);
    expect(addressRefusal("hooks.example.com")).toBeNull();
    expect(addressRefusal("0x7f.example.com")).toBeNull();
    // DNS answers are checked with the same rules.
    expect(ipRefusalReason("10.0.0.1")).toBe("a private address (RFC 1918)");
    expect(ipRefusalReason("::ffff:10.0.0.1")).toMatch(/IPv4-mapped address of 10\.0\.0\.1/);
    expect(ipRefusalReason("1.2.3")).toBe("not a valid IP address");
    expect(ipRefusalReason("2606:4700::1111")).toBeNull();
  });
});

describe("hostile URLs", () => {
  it(`are at least 40 (${HOSTILE.length})`, () => expect(HOSTILE.length).toBeGreaterThanOrEqual(40));

  it.each(HOSTILE)("%s is refused at create with a message naming the rule (%s)", async (url, rule) => {
    const message = await createRefusal(url);
    expect(message).toMatch(rule);
    expect(await checkUrl(url, STRICT, resolverFromEnv(env))).toBe(message);
  });

  it.each(HOSTILE)("%s is refused at delivery, before anything is sent (%s)", async (url, rule) => {
    const result = await attemptAt(url);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^URL /);
    expect(result.error!.slice(4)).toMatch(rule);
    expect(result.responseCode).toBeNull();
    expect(result.requestHeaders).toEqual({});
  });

  it("are refused through the API too, where the rules do not depend on the address switches", async () => {
    for (const url of ["ftp://hooks.good.test/x", "https://user:pass@hooks.good.test/x"]) {
      const res = await call("POST", "/v1/webhooks", { key: apiKey, body: { name: "x", events: ["*"], url } });
      expect(res.status).toBe(422);
      expect(res.json.error.details).toEqual([{ field: "url", message: expect.stringMatching(/http or https|credentials/) }]);
    }
  });

  it("name the rule in the messages", async () => {
    expect(urlRefusal("https://10.0.0.1/", STRICT)).toBe("refused: 10.0.0.1 is a private address (RFC 1918)");
    expect(urlRefusal("https://169.254.169.254/", STRICT)).toBe("refused: 169.254.169.254 is a cloud metadata address");
    expect(urlRefusal("https://[::1]/", STRICT)).toBe("refused: [::1] is the IPv6 loopback address (::1)");
    expect(await checkUrl("https://chain.evil.test/x", STRICT, resolverFromEnv(env))).toBe(
      "refused: chain.evil.test resolves (via hop1.evil.test, hop2.good-looking.test) to 192.168.0.10, which is a private address (RFC 1918)",
    );
    expect((await attemptAt("https://metadata.evil.test/")).error).toBe(
      "URL refused: metadata.evil.test resolves to 169.254.169.254, which is a cloud metadata address",
    );
  });
});

describe("public URLs", () => {
  it.each(GOOD)("%s is accepted at create and passes the delivery-time check", async (url) => {
    expect(await createRefusal(url)).toBeNull();
    expect(await deliveryUrlError(url, STRICT, resolverFromEnv(env))).toBeNull();
  });

  it("IP literals are checked as they are, never looked up", async () => {
    expect(await checkUrl("https://93.184.215.14/x", STRICT, resolverFromEnv(env))).toBeNull();
    expect(await checkUrl("https://[2606:4700:4700::1111]/x", STRICT, resolverFromEnv(env))).toBeNull();
    expect(await queriesFor("93.184.215.14")).toEqual({ A: 0, AAAA: 0 });
    expect(await queriesFor("2606:4700:4700::1111")).toEqual({ A: 0, AAAA: 0 });
  });

  it("a name is looked up once per record type per check, both types, with the DoH JSON accept header", async () => {
    const name = `once-${crypto.randomUUID()}.good.test`;
    const resolver = dohResolver(env.DNS_RESOLVER_URL);
    expect(await checkUrl(`https://${name}/a`, STRICT, resolver)).toBeNull();
    expect(await checkUrl(`https://${name.toUpperCase()}./b`, STRICT, resolver)).toBeNull();
    expect(await queriesFor(name)).toEqual({ A: 1, AAAA: 1 });
    // A new resolver (a new request or attempt) asks again.
    expect(await checkUrl(`https://${name}/a`, STRICT, dohResolver(env.DNS_RESOLVER_URL))).toBeNull();
    expect(await queriesFor(name)).toEqual({ A: 2, AAAA: 2 });
    // Without the accept header the DoH server refuses, so the resolver must have sent it.
    expect((await fetch(`${env.DNS_RESOLVER_URL}?name=${name}&type=A`)).status).toBe(400);
  });
});

describe("DNS failures", () => {
  const FAILING: Array<[url: string, error: RegExp]> = [
    ["https://hooks.fail.test/x", /SERVFAIL for hooks\.fail\.test (A|AAAA)$/],
    ["https://hooks.broken.test/x", /resolver answered HTTP 500/],
    ["https://hooks.nx.test/x", /hooks\.nx\.test does not exist \(NXDOMAIN\)/],
    ["https://hooks.empty.test/x", /no A or AAAA records for hooks\.empty\.test/],
  ];

  it.each(FAILING)("%s: accepted at create (delivery checks again)", async (url, error) => {
    expect(await createRefusal(url)).toBeNull();
    expect(await inspectUrl(url, STRICT, resolverFromEnv(env))).toEqual({ ok: false, kind: "dns", message: expect.stringMatching(error) });
  });

  it.each(FAILING)("%s: a failed attempt at delivery, 'DNS lookup failed: …', nothing sent", async (url, error) => {
    const result = await attemptAt(url);
    expect(result).toMatchObject({ ok: false, responseCode: null, requestHeaders: {} });
    expect(result.error).toMatch(/^DNS lookup failed: /);
    expect(result.error).toMatch(error);
  });

  it("a resolver that does not answer in time: accepted at create, a failed attempt at delivery", async () => {
    let started = Date.now();
    expect(await createRefusal("https://hooks.slow.test/x")).toBeNull();
    expect(Date.now() - started).toBeLessThan(DNS_TIMEOUT_MS + 1500);
    started = Date.now();
    const result = await attemptAt("https://hooks.slow.test/x");
    expect(Date.now() - started).toBeGreaterThanOrEqual(DNS_TIMEOUT_MS - 100);
    expect(Date.now() - started).toBeLessThan(DNS_TIMEOUT_MS + 1500);
    expect(result).toMatchObject({ ok: false, responseCode: null, error: `DNS lookup failed: timed out after ${DNS_TIMEOUT_MS} ms` });
  });

  it("a misconfigured resolver URL is a lookup failure too", async () => {
    const gone = dohResolver(`${DOH}/not-a-resolver`);
    expect(await checkUrl("https://hooks.good.test/x", STRICT, gone)).toBeNull();
    expect(await deliveryUrlError("https://hooks.good.test/x", STRICT, gone)).toMatch(/^DNS lookup failed: resolver answered HTTP 404 for hooks\.good\.test/);
  });

  it("is an ordinary failed attempt, which the dispatcher retries like any other", async () => {
    // The endpoint's Durable Object schedules a retry for every failed attempt (retry-policy.ts);
    // nothing marks a DNS failure permanent: it is a failure of the same shape as an HTTP 500.
    const result = await attemptAt("https://hooks.fail.test/x");
    const ep = receiverEndpoint("http-500");
    await plan(ep.name, { status: 500 });
    const http500 = await attemptAt(ep.url, env);
    expect(http500).toMatchObject({ ok: false, responseCode: 500, error: "HTTP 500" });
    expect(Object.keys(result).sort()).toEqual(Object.keys(http500).sort());
    expect(result.error).not.toMatch(/refused/);
  });
});

describe("DNS_RESOLVER_URL", () => {
  it("empty: names are not resolved, literal checks still apply", async () => {
    expect(resolverFromEnv({ DNS_RESOLVER_URL: "" })).toBeNull();
    const noDns = { ...strictEnv, DNS_RESOLVER_URL: "" } as Env;
    expect(await createRefusal("https://anything.evil.test/x", noDns)).toBeNull();
    expect(await createRefusal("https://10.0.0.1/x", noDns)).toMatch(/RFC 1918/);
    expect((await attemptAt("https://127.0.0.1/x", noDns)).error).toMatch(/^URL refused: 127\.0\.0\.1 is a loopback/);
  });

  it("is not itself subject to the guard (the test resolver lives on 127.0.0.1)", async () => {
    expect(new URL(env.DNS_RESOLVER_URL).hostname).toBe("127.0.0.1");
    expect(await createRefusal("https://hooks.good.test/x")).toBeNull();
  });
});

describe("ALLOW_PRIVATE_TARGETS", () => {
  const PRIVATE = { allowInsecure: false, allowPrivate: true };

  it("lifts the address and port rules, and with them the lookups", async () => {
    for (const url of ["https://10.0.0.1/x", "https://127.0.0.1:22/x", "https://[::1]/x", "https://localhost/x", "https://169.254.169.254/x"]) {
      expect(urlRefusal(url, PRIVATE), url).toBeNull();
    }
    const name = `lifted-${crypto.randomUUID()}.evil.test`;
    expect(await checkUrl(`https://${name}/x`, PRIVATE, resolverFromEnv(env))).toBeNull();
    expect(await queriesFor(name)).toEqual({ A: 0, AAAA: 0 });
    expect(await createRefusal(`https://${name}/x`, env)).toBeNull();
  });

  it("does not lift the scheme, https and credential rules", () => {
    expect(urlRefusal("ftp://10.0.0.1/x", PRIVATE)).toMatch(/http or https/);
    expect(urlRefusal("http://10.0.0.1/x", PRIVATE)).toMatch(/https/);
    expect(urlRefusal("https://u:p@10.0.0.1/x", PRIVATE)).toMatch(/credentials/);
  });

  it("lets a delivery reach the 127.0.0.1 receiver, which the strict check refuses", async () => {
    const ep = receiverEndpoint("lifted");
    const sent = await attemptAt(ep.url, env);
    expect(sent).toMatchObject({ ok: true, responseCode: 200 });
    await waitForReceived(ep.name, 1);
    const refused = await attemptAt(ep.url, { ...env, ALLOW_PRIVATE_TARGETS: "false" } as Env);
    expect(refused.error).toMatch(/^URL refused: 127\.0\.0\.1 is a loopback address/);
  });
});

describe("a webhook whose DNS name is pointed at a private address after creation", () => {
  it("is accepted at create and refused at the next delivery attempt", async () => {
    const name = `rebind-${crypto.randomUUID()}.dyn.test`;
    const url = `https://${name}/hook`;
    await setAnswer(name, { A: ["93.184.215.14"], AAAA: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] });
    expect(await createRefusal(url)).toBeNull();
    const hook = await newWebhook(apiKey, { url });
    const webhook = (await loadWebhookForDispatch(db, hook.id))!;
    expect(webhook.url).toBe(url);
    const context = { ...baseContext, webhook };
    expect(await deliveryUrlError(webhook.url, STRICT, resolverFromEnv(env))).toBeNull();

    await setAnswer(name, { A: ["93.184.215.14"], AAAA: ["::ffff:10.1.1.1"] });
    const v6 = await deliverOnce(strictEnv, key, context, 2);
    expect(v6).toMatchObject({ ok: false, responseCode: null, requestHeaders: {} });
    expect(v6.error).toBe(`URL refused: ${name} resolves to ::ffff:10.1.1.1, which is an IPv4-mapped address of 10.1.1.1, a private address (RFC 1918)`);

    await setAnswer(name, { CNAME: "internal.evil.test" });
    const viaCname = await deliverOnce(strictEnv, key, context, 3);
    expect(viaCname.error).toBe(`URL refused: ${name} resolves (via internal.evil.test) to 10.0.0.1, which is a private address (RFC 1918)`);
    // And a change to the webhook is checked against the new answer too.
    expect(await createRefusal(url)).toMatch(/resolves \(via internal\.evil\.test\) to 10\.0\.0\.1/);
  });
});
