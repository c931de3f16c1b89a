/** @jsxImportSource hono/jsx */
/** Pieces of the webhook page: the secret box, the test and preview forms and their results. */
import { Csrf, Field, type FieldErrors, StatusBadge } from "../layout";

/** A secret shown once, with a copy button (the script's; without it, select and copy). */
export function SecretBox({ secret }: { secret: string }) {
  return (
    <div>
      <p>
        Signing secret: <code id="secret-value">{secret}</code>
      </p>
      <button type="button" class="secondary" data-copy="secret-value">
        Copy secret
      </button>
    </div>
  );
}

/** What the endpoint answered to a test event. */
export interface TestResult {
  status: "success" | "failed";
  response_code: number | null;
  response_body: string | null;
  duration_ms: number;
  error: string | null;
  delivery_id: string;
}

export function TestResultBox({ r }: { r: TestResult }) {
  return (
    <section class="card" aria-labelledby="test-result-h" id="test-result">
      <h2 id="test-result-h">Test result</h2>
      <dl>
        <dt>Outcome</dt>
        <dd>
          <StatusBadge status={r.status} />
        </dd>
        <dt>Response code</dt>
        <dd id="test-response-code">{r.response_code ?? "none"}</dd>
        <dt>Duration</dt>
        <dd>{r.duration_ms} ms</dd>
        {r.error && (
          <>
            <dt>Error</dt>
            <dd>{r.error}</dd>
          </>
        )}
        <dt>Delivery</dt>
        <dd>
          <a href={`/dashboard/deliveries/${r.delivery_id}`}>{r.delivery_id}</a>
        </dd>
      </dl>
      <h3>Response body</h3>
      <pre id="test-response-body">{r.response_body ?? ""}</pre>
    </section>
  );
}

/** The sample event fields shared by "send test event" and "preview". */
export interface SampleValues {
  event_type: string;
  payload: string;
}

interface SampleFormProps {
  id: string;
  action: "test" | "preview";
  csrf: string;
  types: string[];
  values: SampleValues;
  errors: FieldErrors;
}

/** A form for a sample event (type and JSON payload). */
export function SampleForm({ id, action, csrf, types, values, errors }: SampleFormProps) {
  const prefix = action === "test" ? "test" : "pv";
  return (
    <form method="post" action={`/dashboard/webhooks/${id}/${action}`}>
      <Csrf token={csrf} />
      <div>
        <label for={`${prefix}-type`}>Event type</label>
        <select id={`${prefix}-type`} name="event_type">
          {types.map((t) => (
            <option value={t} selected={t === values.event_type}>
              {t}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for={`${prefix}-payload`}>Payload (JSON object)</label>
        <textarea id={`${prefix}-payload`} name="payload" aria-invalid={errors.payload ? "true" : undefined} aria-describedby={errors.payload ? `${prefix}-payload-err` : undefined}>
          {values.payload}
        </textarea>
        {errors.payload && (
          <p id={`${prefix}-payload-err`} class="field-error">
            {errors.payload.join("; ")}
          </p>
        )}
      </div>
      <button type="submit" class={action === "test" ? "" : "secondary"}>
        {action === "test" ? "Send test event" : "Preview body"}
      </button>
    </form>
  );
}

/** The JSON payload of a sample form, or the message for its field. */
export function parsePayload(text: string): { payload: Record<string, unknown> } | { error: string } {
  if (!text.trim()) return { payload: {} };
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return { payload: value };
  } catch {
    return { error: "is not valid JSON" };
  }
  return { error: "must be a JSON object" };
}
