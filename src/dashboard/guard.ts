/**
 * What a session may see and do, checked on the server for every page and
 * form: a portal link limited to some webhooks sees only those (anything else
 * is a 404, as another account's ids are), and a read-only one changes nothing.
 */
import { ApiError } from "../lib/errors";
import type { Dash } from "./types";

/** Whether the session may see webhook `id` (its account is the API's to check). */
export const canSeeWebhook = (d: Dash, id: string) => d.webhookIds === null || d.webhookIds.includes(id);

/** 404 for a webhook outside the session's portal limit. */
export function assertWebhook(d: Dash, id: string) {
  if (!canSeeWebhook(d, id)) throw new ApiError("not_found", "Webhook not found");
}

/** 403 for a change in a read-only portal. */
export function assertWritable(d: Dash) {
  if (d.readOnly) throw new ApiError("forbidden", "This portal is read-only");
}

/** 403 for account-wide pages and actions (events, new webhooks) in a portal limited to some webhooks. */
export function assertAccountWide(d: Dash) {
  if (d.webhookIds !== null) throw new ApiError("forbidden", "This portal shows only some webhooks");
}
