/**
 * The seed's webhook_configuration.py, test_webhooks.py and
 * manage_webhooks.py with the TypeScript SDK: create a webhook, send it a test
 * event, list webhooks, print its deliveries, retry failed ones.
 *
 *   RUBRIC_API_KEY=… RUBRIC_BASE_URL=… RUBRIC_WEBHOOK_SECRET=whsec_… \
 *     node dist/manage-webhooks.js [receiver URL] [--cleanup]
 *
 * `--cleanup` disables and deletes the webhook at the end.
 */
import { Rubric } from "@rubric/sdk";

const args = process.argv.slice(2);
const url = args.find((a) => !a.startsWith("--")) ?? "http://127.0.0.1:9000/webhooks/rubric";

const client = new Rubric(); // RUBRIC_API_KEY, RUBRIC_BASE_URL

// webhook_configuration.py
const webhook = await client.webhooks.create({
  name: "production-notifications",
  url,
  events: ["evaluation.completed", "review.completed", "alert.triggered", "safety.critical"],
  // Without a secret the service generates one (shown only in this answer).
  ...(process.env.RUBRIC_WEBHOOK_SECRET ? { secret: process.env.RUBRIC_WEBHOOK_SECRET } : {}),
  filters: { projects: ["patient-triage", "symptom-checker"], severity: ["high", "critical"] },
  retry_config: { max_retries: 5, backoff: "exponential", initial_delay_ms: 1000 },
});
console.log(`Webhook created: ${webhook.id}`);
console.log(`Signing secret: ${webhook.secret}`);

// test_webhooks.py
const testResult = await client.webhooks.test({
  webhook_id: webhook.id,
  event_type: "evaluation.completed",
  payload: { evaluation_id: "eval_test", summary: { triage_accuracy: 0.85, safety_score: 0.92 } },
});
console.log(`Test result: ${testResult.status}`);
console.log(`Response code: ${testResult.response_code}`);
console.log(`Response body: ${testResult.response_body}`);

// manage_webhooks.py
for await (const wh of client.webhooks.list()) console.log(`${wh.name}: ${wh.url} (${wh.status})`);

for await (const delivery of client.webhooks.deliveries({ webhook_id: webhook.id, limit: 100 })) {
  const status = delivery.success ? "OK" : "FAIL";
  console.log(`${status} ${delivery.event_type} - ${delivery.response_code}`);
}

const retried = await client.webhooks.retryFailed({ webhook_id: webhook.id, since: new Date(Date.now() - 86_400_000).toISOString() });
console.log(`Retry failed: ${retried.queued} queued`);

if (args.includes("--cleanup")) {
  await client.webhooks.disable(webhook.id);
  await client.webhooks.delete(webhook.id);
  console.log(`Deleted ${webhook.id}`);
}
