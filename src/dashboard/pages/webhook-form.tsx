/** @jsxImportSource hono/jsx */
/**
 * The webhook form (create and edit): the fields a person sets by hand. The
 * form is turned into the API's JSON body unchanged, so the API's messages
 * come back for exactly the fields shown.
 */
import { OUTPUT_FORMATS } from "../../delivery/formats";
import { Csrf, Field, type FieldErrors } from "../layout";

/** The form's values, as typed. */
export interface WebhookFormValues {
  name: string;
  url: string;
  events: string;
  format: string;
  description: string;
}

/** Values from a webhook as the API shows it. */
export const valuesOf = (w: { name: string; url: string; events: string[]; format: string; description: string | null }): WebhookFormValues => ({
  name: w.name,
  url: w.url,
  events: w.events.join(", "),
  format: w.format,
  description: w.description ?? "",
});

/** Values from a submitted form. */
export function readForm(form: Record<string, unknown>): WebhookFormValues {
  const text = (k: string) => (typeof form[k] === "string" ? (form[k] as string) : "");
  return { name: text("name"), url: text("url").trim(), events: text("events"), format: text("format") || "json", description: text("description") };
}

/** The API body for the values; `editing` sends an empty description as null (cleared). */
export function toApiBody(v: WebhookFormValues, editing: boolean) {
  const events = v.events
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter(Boolean);
  const description = v.description.trim();
  return {
    name: v.name,
    url: v.url,
    events,
    format: v.format,
    ...(description ? { description } : editing ? { description: null } : {}),
  };
}

interface FormProps {
  action: string;
  csrf: string;
  values: WebhookFormValues;
  errors: FieldErrors;
  submit: string;
  disabled?: boolean;
}

/** The form itself. */
export function WebhookForm({ action, csrf, values, errors, submit, disabled }: FormProps) {
  return (
    <form method="post" action={action} novalidate>
      <Csrf token={csrf} />
      <fieldset disabled={disabled}>
        <legend class="skip">Webhook settings</legend>
        <Field name="name" label="Name" value={values.name} errors={errors} required />
        <Field name="url" label="Endpoint URL" type="url" value={values.url} errors={errors} hint="Where events are POSTed (https)." required />
        <Field name="events" label="Events" value={values.events} errors={errors} hint="Event types or patterns, separated by commas, e.g. evaluation.completed, alert.*" required />
        <Field name="format" label="Format" value={values.format} errors={errors} options={[...OUTPUT_FORMATS]} />
        <Field name="description" label="Description" value={values.description} errors={errors} textarea />
        {!disabled && <button type="submit">{submit}</button>}
      </fieldset>
    </form>
  );
}
