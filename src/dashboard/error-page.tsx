/** @jsxImportSource hono/jsx */
/** The dashboard's error page: the API's message and status, or a sign-in when the key stopped working. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { page } from "./layout";
import { endSession } from "./session";
import type { DashEnv } from "./types";

type Status = 400 | 403 | 404 | 409 | 410 | 422 | 429 | 500;

/** Renders `err` (an exception, or a status and message) as a page. */
export function handleError(c: Context<DashEnv>, err: unknown, message?: string) {
  let status: number;
  if (typeof err === "number") status = err;
  else if (err instanceof HTTPException) {
    status = err.status;
    message = err.message;
  } else {
    console.error("dashboard:", err);
    status = 500;
    message = "Something went wrong.";
  }
  // The session's key was revoked or its account disabled: the session is over.
  if (status === 401) {
    endSession(c);
    return c.redirect(`/dashboard/sign-in?ended=${c.var.dash?.kind === "portal" ? "portal" : "key"}`, 303);
  }
  const shown = ([400, 403, 404, 409, 410, 422, 429] as number[]).includes(status) ? (status as Status) : 500;
  return page(
    c,
    {
      title: "Error",
      dash: c.var.dash,
      children: (
        <div class="card">
          <h1>{shown === 404 ? "Not found" : shown === 403 ? "Not allowed" : "Error"}</h1>
          <p role="alert">{message}</p>
          <p>
            <a href="/dashboard">Back to the webhooks</a>
          </p>
        </div>
      ),
    },
    shown,
  );
}
