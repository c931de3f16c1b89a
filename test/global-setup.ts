// Starts the real receiver for the workers-pool tests and hands its port to them.
import type { TestProject } from "vitest/node";
import { startReceiver } from "./support/receiver.mjs";

export default async function setup(project: TestProject) {
  const receiver = await startReceiver();
  project.provide("receiverPort", receiver.port);
  return () => receiver.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    receiverPort: number;
  }
}
