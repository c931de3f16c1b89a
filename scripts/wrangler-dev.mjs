#!/usr/bin/env node
// `wrangler dev` for the launcher, through wrangler's own API (`unstable_startWorker`)
// instead of its CLI, for one reason: the CLI always attaches its inspector proxy
// to the runtime, which enables the inspector's Network domain and then makes one
// loopback HTTP request to wrangler's Node process for every inspector message,
// several per subrequest. Under a delivery burst Node falls behind, the proxy
// runtime's open connections grow until it runs out of file descriptors
// ("Too many open files"), and from then on every request to the service hangs.
// Here the inspector is off unless --inspector-port asks for it.
//
//   node scripts/wrangler-dev.mjs --ip H --port N [--persist-to DIR] [--var K:V]... [--log-level L] [--inspector-port N]
//
// The same runtime as `wrangler dev`: wrangler.toml, .dev.vars, local D1, queues
// and Durable Objects, the same `Ready on …` line. Stops on SIGINT, SIGTERM, SIGHUP.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_startWorker } from "wrangler";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The `wrangler dev` arguments this script understands; anything else is refused, not ignored. */
function parseArgs(argv) {
  const opts = { ip: "127.0.0.1", port: 8787, persistTo: undefined, vars: {}, logLevel: undefined, inspectorPort: undefined };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    const value = m?.[2] ?? argv[++i];
    if (!m || value === undefined) throw new Error(`wrangler-dev.mjs: cannot use the argument ${argv[m ? i - 1 : i]}`);
    if (m[1] === "ip") opts.ip = value;
    else if (m[1] === "port") opts.port = Number(value);
    else if (m[1] === "persist-to") opts.persistTo = path.resolve(value);
    else if (m[1] === "log-level") opts.logLevel = value;
    else if (m[1] === "inspector-port") opts.inspectorPort = Number(value);
    else if (m[1] === "var") {
      const at = value.indexOf(":");
      if (at < 1) throw new Error(`wrangler-dev.mjs: --var needs NAME:VALUE, got ${value}`);
      opts.vars[value.slice(0, at)] = value.slice(at + 1);
    } else throw new Error(`wrangler-dev.mjs: cannot use the argument --${m[1]}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const worker = await unstable_startWorker({
  config: path.join(ROOT, "wrangler.toml"),
  bindings: Object.fromEntries(Object.entries(opts.vars).map(([name, value]) => [name, { type: "plain_text", value }])),
  dev: {
    server: { hostname: opts.ip, port: opts.port },
    inspector: opts.inspectorPort ? { hostname: opts.ip, port: opts.inspectorPort } : false,
    persist: opts.persistTo,
    logLevel: opts.logLevel,
  },
});
await worker.ready;
console.log(`Ready on ${(await worker.url).origin}`);

/** A stop that hangs (a build in progress, say) must not keep the port: exit after this regardless. */
const DISPOSE_GRACE_MS = 2_000;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), DISPOSE_GRACE_MS).unref();
    worker.dispose().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
