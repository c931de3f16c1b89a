// Compile-time contract of the built SDK (dist/*.d.ts), checked with
// `npx tsc -p sdk/typescript/test/types`: wire fields are snake_case and typed
// from the OpenAPI document, and mistakes are type errors. Never run.
import { Rubric, verifyWebhook, type Delivery, type TestResult, type Webhook, type WebhookEvent } from "../../dist/index.js";

export async function contract(client: Rubric) {
  const created = await client.webhooks.create({
    name: "production-notifications",
    url: "https://your-api.example.com/webhooks/rubric",
    events: ["evaluation.completed"],
    filters: { projects: ["patient-triage"] },
    retry_config: { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 },
  });
  const secret: string = created.secret;

  // @ts-expect-error fields stay snake_case, as on the wire
  await client.webhooks.create({ name: "n", url: "u", events: ["*"], retryConfig: { max_retries: 1 } });
  // @ts-expect-error backoff is one of exponential | linear | fixed
  await client.webhooks.create({ name: "n", url: "u", events: ["*"], retry_config: { backoff: "random" } });
  // @ts-expect-error format is an enum
  await client.webhooks.update(created.id, { format: "xml" });
  // @ts-expect-error test needs event_type
  await client.webhooks.test(created.id, { payload: {} });

  const result: TestResult = await client.webhooks.test({ webhook_id: created.id, event_type: "evaluation.completed", payload: {} });
  const code: number | null = result.response_code;
  // @ts-expect-error there is no camelCase responseCode
  result.responseCode;

  for await (const wh of client.webhooks.list()) {
    const w: Webhook = wh;
    const status: "active" | "disabled" = w.status;
  }
  for await (const d of client.webhooks.deliveries(created.id, { status: "failed", limit: 100 })) {
    const ok: boolean = (d satisfies Delivery).success;
  }
  // @ts-expect-error status filter is an enum
  client.webhooks.deliveries(created.id, { status: "broken" });

  const event = await verifyWebhook("{}", new Headers(), secret);
  const e: WebhookEvent = event;
  const type: string = e.type;
  return [code, type];
}
