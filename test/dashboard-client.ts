// A cookie-keeping client of the dashboard for pool tests: forms as a browser sends them, no redirects followed.
import { exports } from "cloudflare:workers";

/** The CSRF token of the first form in `html`. */
export const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

/** Keeps cookies across requests, like a browser (one session). */
export class DashboardClient {
  cookies = new Map<string, string>();

  async fetch(method: string, path: string, form?: Record<string, string>, origin = "http://rubric.test") {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    let body: string | undefined;
    if (form) {
      body = new URLSearchParams(form).toString();
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    const res = await exports.default.fetch(new Request(`${origin}${path}`, { method, headers, body, redirect: "manual" }));
    for (const c of res.headers.getSetCookie()) {
      const [name, ...value] = c.split(";")[0]!.split("=");
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name!);
      else this.cookies.set(name!, value.join("="));
    }
    return { status: res.status, headers: res.headers, text: await res.text(), setCookies: res.headers.getSetCookie() };
  }

  get = (path: string) => this.fetch("GET", path);

  /** POSTs a form with the CSRF token found in `page`. */
  post = (path: string, page: string, form: Record<string, string> = {}) => this.fetch("POST", path, { _csrf: csrfOf(page), ...form });

  /** Signs in with an API key; resolves to the first page's HTML. */
  async signIn(key: string) {
    const form = await this.get("/dashboard/sign-in");
    const res = await this.post("/dashboard/sign-in", form.text, { api_key: key });
    if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
    return (await this.get("/dashboard")).text;
  }
}
