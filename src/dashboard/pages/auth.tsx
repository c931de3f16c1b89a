/** @jsxImportSource hono/jsx */
/**
 * Signing in with an API key, signing out, and opening a portal link. These
 * are the only pages without a session.
 */
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { isWellFormedKey } from "../../lib/api-keys";
import { apiCaller } from "../api-client";
import { Alert, Field, page } from "../layout";
import { consumePortalToken } from "../portal-store";
import { KEY_SESSION_MS, newCsrf, PRE_CSRF_COOKIE, sameToken, signInCsrf, startSession } from "../session";
import type { ApiFetch, DashEnv } from "../types";

const ENDED: Record<string, string> = {
  portal: "This portal session has ended: its link expired or was revoked.",
  key: "Your session has ended: the API key no longer works. Sign in again.",
  out: "You are signed out.",
};

function SignInForm({ csrf, error, notice }: { csrf: string; error?: string; notice?: string }) {
  return (
    <div class="card">
      <h1>Sign in</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <Alert message={error} />
      <form method="post" action="/dashboard/sign-in">
        <input type="hidden" name="_csrf" value={csrf} />
        <Field name="api_key" label="API key" type="password" hint="An rk_live_ or rk_test_ key with the webhooks:read scope. It is kept only in an encrypted, HttpOnly session cookie." required />
        <button type="submit">Sign in</button>
      </form>
    </div>
  );
}

/** Routes that need no session. */
export function authRouter(apiFetch: ApiFetch) {
  const r = new Hono<DashEnv>();

  r.get("/sign-in", (c) => {
    const notice = ENDED[c.req.query("ended") ?? ""];
    return page(c, { title: "Sign in", children: <SignInForm csrf={signInCsrf(c)} notice={notice} /> });
  });

  r.post("/sign-in", async (c) => {
    const form = await c.req.parseBody();
    const csrf = signInCsrf(c);
    if (!sameToken(String(form._csrf ?? ""), getCookie(c, PRE_CSRF_COOKIE))) {
      return page(c, { title: "Sign in", children: <SignInForm csrf={csrf} error="The form expired. Please try again." /> }, 403);
    }
    const key = String(form.api_key ?? "").trim();
    const fail = (error: string, status: 401 | 403 = 401) => page(c, { title: "Sign in", children: <SignInForm csrf={csrf} error={error} /> }, status as 403);
    if (!isWellFormedKey(key)) return fail("That is not a valid API key.");
    // The API decides: the same lookup, scope check and rate limit as any call.
    const probe = await apiCaller(c, apiFetch, key)("GET", "/v1/webhooks?limit=1");
    if (probe.status === 403) return fail("This API key lacks the webhooks:read scope.", 403);
    if (probe.status !== 200) return fail("That API key was not accepted.");
    await startSession(c, { kind: "key", key, csrf: newCsrf(), exp: Date.now() + KEY_SESSION_MS });
    return c.redirect("/dashboard", 303);
  });

  r.get("/portal/:token", async (c) => {
    const link = await consumePortalToken(c.var.db, c.req.param("token"));
    if (link === "invalid") {
      return page(
        c,
        {
          title: "Link not valid",
          children: (
            <div class="card">
              <h1>This link cannot be opened</h1>
              <p>Portal links work once, until they expire. This one is unknown, already used, expired or revoked. Ask for a new link.</p>
            </div>
          ),
        },
        410,
      );
    }
    await startSession(c, { kind: "portal", link: link.id, csrf: newCsrf(), exp: link.expiresAt });
    // A page rather than a redirect: the next request starts here, on this site, so the SameSite=Strict cookie goes with it.
    return c.html(
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/dashboard"><title>Opening the dashboard</title></head>' +
        '<body><main><p><a href="/dashboard">Open the dashboard</a></p></main></body></html>',
    );
  });

  return r;
}
