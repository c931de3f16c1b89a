/**
 * Dashboard sessions. The cookie holds the session sealed with ENCRYPTION_KEY
 * (AES-GCM, lib/secret-box.ts), so it can be neither read nor forged: a key
 * session carries the API key itself; a portal session only its link's id, and
 * the link is checked on every request, so revoking it ends the session.
 * Each session has a random CSRF token that every form must send back.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { randomBytes, toHex } from "../lib/encoding";
import { importSecretKey, openSecret, sealSecret } from "../lib/secret-box";
import type { DashEnv } from "./types";

export const SESSION_COOKIE = "rubric_session";
/** Double-submit token of the sign-in form (there is no session yet to tie it to). */
export const PRE_CSRF_COOKIE = "rubric_signin_csrf";
/** A key session lasts 12 hours; a portal session as long as its link. */
export const KEY_SESSION_MS = 12 * 3_600_000;

/** What the sealed cookie holds. */
export type SessionData =
  | { kind: "key"; key: string; csrf: string; exp: number }
  | { kind: "portal"; link: string; csrf: string; exp: number };

/** A fresh random token (CSRF). */
export const newCsrf = () => toHex(randomBytes(16));

const cookieOptions = (c: Context<DashEnv>, expiresAt: number) => ({
  path: "/dashboard",
  httpOnly: true,
  secure: new URL(c.req.url).protocol === "https:",
  sameSite: "Strict" as const,
  expires: new Date(expiresAt),
});

/** Sets the session cookie. */
export async function startSession(c: Context<DashEnv>, data: SessionData) {
  const sealed = await sealSecret(await importSecretKey(c.env.ENCRYPTION_KEY), JSON.stringify(data));
  // The cookie outlives the session by a little, so a late request can be told why it ended (the server enforces `exp`).
  setCookie(c, SESSION_COOKIE, sealed, cookieOptions(c, data.exp + 600_000));
}

/** The session in the cookie, or null (none, or unreadable); the caller checks `exp`. */
export async function readSession(c: Context<DashEnv>): Promise<SessionData | null> {
  const sealed = getCookie(c, SESSION_COOKIE);
  if (!sealed) return null;
  try {
    const data = JSON.parse(await openSecret(await importSecretKey(c.env.ENCRYPTION_KEY), sealed)) as SessionData;
    return data;
  } catch {
    return null;
  }
}

/** Removes the session cookie. */
export const endSession = (c: Context<DashEnv>) => deleteCookie(c, SESSION_COOKIE, { path: "/dashboard", secure: new URL(c.req.url).protocol === "https:" });

/** The sign-in form's token: the cookie's, or a new one set now. */
export function signInCsrf(c: Context<DashEnv>): string {
  const existing = getCookie(c, PRE_CSRF_COOKIE);
  if (existing && /^[0-9a-f]{32}$/.test(existing)) return existing;
  const token = newCsrf();
  setCookie(c, PRE_CSRF_COOKIE, token, { ...cookieOptions(c, Date.now() + 3_600_000) });
  return token;
}

/** Compares two tokens without an early exit. */
export function sameToken(a: string | undefined | null, b: string | undefined | null): boolean {
  if (!a || !b || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
