// Starts the real receiver and the test DNS-over-HTTPS server for the workers-pool tests and hands
// their ports to them.
import type { TestProject } from "vitest/node";
import { startDohServer } from "./support/doh-server.mjs";
import { startReceiver } from "./support/receiver.mjs";

export default async function setup(project: TestProject) {
  const [receiver, doh] = await Promise.all([startReceiver(), startDohServer()]);
  project.provide("receiverPort", receiver.port);
  project.provide("dohPort", doh.port);
  return async () => {
    await Promise.all([receiver.close(), doh.close()]);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    receiverPort: number;
    /** The test DoH server (test/support/doh-server.mjs); the worker gets it as DNS_RESOLVER_URL. */
    dohPort: number;
  }
}
