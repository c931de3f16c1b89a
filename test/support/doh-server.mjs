// A test-only DNS-over-HTTPS (JSON) server on 127.0.0.1 for the SSRF guard's tests.
// It answers like cloudflare-dns.com's JSON API, from a small zone nothing outside the tests uses:
//
//   GET  /dns-query?name=<name>&type=A|AAAA   (needs `accept: application/dns-json`)
//        → {"Status": 0, "Answer": [{"name", "type", "TTL", "data"}, …]}; CNAMEs are followed and
//          listed, as a recursive resolver does.
//   PUT  /_control/<name>   set <name>'s answer: {A?: [...], AAAA?: [...], CNAME?: "target",
//                           status?: 2 (SERVFAIL) | 3 (NXDOMAIN), http_status?: 500, delay_ms?: 5000}
//   DELETE /_control/<name> forget it (back to the built-in zone)
//   GET  /_queries/<name>   how many queries <name> got: {"A": n, "AAAA": n}
//
// The built-in zone (exact names first, then the wildcard suffixes):
//   *.good.test   A 93.184.215.14, AAAA 2606:2800:21f:cb07:6820:80da:af6b:8b2c (public)
//   *.v4only.test A 1.1.1.1 only (the AAAA answer is empty)
//   *.evil.test   A 10.0.0.1 (private); the names in EVIL below answer other blocked addresses
//   *.fail.test   SERVFAIL;   *.nx.test  NXDOMAIN;   *.broken.test  HTTP 500;   *.empty.test  no records
//   *.slow.test   answers after 5 s (longer than the guard's 2 s timeout)
import http from "node:http";

const PUBLIC_A = "93.184.215.14";
const PUBLIC_AAAA = "2606:2800:21f:cb07:6820:80da:af6b:8b2c";

/** name → answer; see PUT /_control for the fields. */
const EVIL = {
  "loopback.evil.test": { A: ["127.0.0.1"] },
  "loopback6.evil.test": { AAAA: ["::1"] },
  "private172.evil.test": { A: ["172.16.5.4"] },
  "private192.evil.test": { A: ["192.168.1.20"] },
  "cgnat.evil.test": { A: ["100.64.0.7"] },
  "zero.evil.test": { A: ["0.0.0.0"] },
  "linklocal.evil.test": { A: ["169.254.1.1"] },
  "metadata.evil.test": { A: ["169.254.169.254"] },
  "metadata6.evil.test": { AAAA: ["fd00:ec2::254"] },
  "ula.evil.test": { AAAA: ["fd12:3456::1"] },
  "linklocal6.evil.test": { AAAA: ["fe80::1"] },
  "mapped.evil.test": { AAAA: ["::ffff:127.0.0.1"] },
  "mappedhex.evil.test": { AAAA: ["::ffff:a9fe:a9fe"] },
  "nat64.evil.test": { AAAA: ["64:ff9b::a00:1"] },
  "sixtofour.evil.test": { AAAA: ["2002:c0a8:101::1"] },
  "multicast.evil.test": { A: ["239.1.2.3"] },
  "broadcast.evil.test": { A: ["255.255.255.255"] },
  "benchmark.evil.test": { A: ["198.18.0.1"] },
  "docs.evil.test": { A: ["203.0.113.9"] },
  // One public and one private A record: the private one is enough to refuse.
  "mixed.evil.test": { A: [PUBLIC_A, "10.9.8.7"] },
  // A public A record and a loopback AAAA record.
  "mixed46.evil.test": { A: [PUBLIC_A], AAAA: [PUBLIC_AAAA, "::1"] },
  // A CNAME chain ending at a private address.
  "chain.evil.test": { CNAME: "hop1.evil.test" },
  "hop1.evil.test": { CNAME: "hop2.good-looking.test" },
  "hop2.good-looking.test": { A: ["192.168.0.10"] },
  // A CNAME to a metadata host name.
  "alias-metadata.evil.test": { CNAME: "metadata.google.internal" },
};

function builtIn(name) {
  if (EVIL[name]) return EVIL[name];
  const under = (suffix) => name === suffix || name.endsWith(`.${suffix}`);
  if (under("good.test")) return { A: [PUBLIC_A], AAAA: [PUBLIC_AAAA] };
  if (under("v4only.test")) return { A: ["1.1.1.1"] };
  if (under("evil.test")) return { A: ["10.0.0.1"] };
  if (under("fail.test")) return { status: 2 };
  if (under("broken.test")) return { http_status: 500 };
  if (under("slow.test")) return { A: [PUBLIC_A], delay_ms: 5000 };
  if (under("empty.test")) return {};
  return { status: 3 };
}

/** Starts the server; resolves to {port, url, close}. */
export async function startDohServer({ port = 0 } = {}) {
  const overrides = new Map();
  const queries = new Map();
  const lookup = (name) => overrides.get(name) ?? builtIn(name);
  const timers = new Set();

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url, "http://x");
      const json = (status, value, type = "application/json") => {
        res.writeHead(status, { "content-type": type });
        res.end(JSON.stringify(value));
      };
      const [, kind, rawName = ""] = url.pathname.split("/");
      const controlName = decodeURIComponent(rawName).toLowerCase().replace(/\.+$/, "");
      if (kind === "_control" && req.method === "PUT") {
        overrides.set(controlName, JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"));
        return json(200, { ok: true });
      }
      if (kind === "_control" && req.method === "DELETE") {
        overrides.delete(controlName);
        return json(200, { ok: true });
      }
      if (kind === "_queries" && req.method === "GET") return json(200, queries.get(controlName) ?? { A: 0, AAAA: 0 });
      if (kind !== "dns-query" || req.method !== "GET") return json(404, { error: "unknown path" });
      if (!(req.headers.accept ?? "").includes("application/dns-json")) return json(400, { error: "accept: application/dns-json required" });

      const name = (url.searchParams.get("name") ?? "").toLowerCase().replace(/\.+$/, "");
      const type = (url.searchParams.get("type") ?? "").toUpperCase();
      if (!name || (type !== "A" && type !== "AAAA")) return json(400, { error: "name and type=A|AAAA required" });
      const counts = queries.get(name) ?? { A: 0, AAAA: 0 };
      counts[type] += 1;
      queries.set(name, counts);

      const first = lookup(name);
      const answer = () => {
        if (first.http_status) return json(first.http_status, { error: "resolver failing as planned" });
        if (first.status) return json(200, { Status: first.status, Question: [{ name: `${name}.`, type: type === "A" ? 1 : 28 }] }, "application/dns-json");
        // Follow CNAMEs the way a recursive resolver does, listing each hop.
        const records = [];
        let current = name;
        let entry = first;
        for (let hops = 0; entry.CNAME && hops < 8; hops++) {
          const target = entry.CNAME.toLowerCase().replace(/\.+$/, "");
          records.push({ name: `${current}.`, type: 5, TTL: 0, data: `${target}.` });
          current = target;
          entry = lookup(current);
        }
        for (const data of entry[type] ?? []) records.push({ name: `${current}.`, type: type === "A" ? 1 : 28, TTL: 0, data });
        json(200, { Status: 0, TC: false, RD: true, RA: true, Question: [{ name: `${name}.`, type: type === "A" ? 1 : 28 }], Answer: records }, "application/dns-json");
      };
      if (first.delay_ms) {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) answer();
        }, first.delay_ms);
        timers.add(t);
      } else answer();
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
