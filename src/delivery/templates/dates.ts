/**
 * Date parsing and strftime-style formatting for the `date` filter, always
 * in UTC: a webhook has no viewer time zone, and the wire format is UTC.
 */

/**
 * Epoch numbers below this are seconds, above it milliseconds: 1e11 seconds
 * is the year 5138, 1e11 milliseconds is 1973, so real timestamps of either
 * kind fall on the right side.
 */
const SECONDS_BELOW = 1e11;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const NUMERIC = /^[-+]?\d+(?:\.\d+)?$/;

/**
 * Reads an ISO-8601 string or an epoch (seconds or milliseconds, number or
 * numeric string). Anything else is `null`: `Date.parse` alone would accept
 * free text such as "March 7" and guess a year.
 */
export function parseDateInput(value: unknown): Date | null {
  let ms: number;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return null;
    ms = Math.abs(value) < SECONDS_BELOW ? value * 1000 : value;
  } else if (typeof value === "string") {
    const text = value.trim();
    if (NUMERIC.test(text)) return parseDateInput(Number(text));
    const match = ISO_DATE.exec(text);
    if (!match) return null;
    // A date-time without an offset means UTC here, not the runtime's local zone.
    const withZone = match[1] || !text.includes(":") ? text : `${text}Z`;
    ms = Date.parse(withZone.replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  } else {
    return null;
  }
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** ISO-8601 in UTC, second precision unless the instant has milliseconds (as the wire's `created_at`). */
export function isoUtc(date: Date): string {
  return date.toISOString().replace(".000Z", "Z");
}

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** The directives `formatUtc` understands, each reading the date in UTC. */
const DIRECTIVES: Record<string, (d: Date) => string> = {
  Y: (d) => String(d.getUTCFullYear()),
  y: (d) => pad(d.getUTCFullYear() % 100),
  m: (d) => pad(d.getUTCMonth() + 1),
  d: (d) => pad(d.getUTCDate()),
  e: (d) => String(d.getUTCDate()).padStart(2, " "),
  H: (d) => pad(d.getUTCHours()),
  I: (d) => pad(d.getUTCHours() % 12 || 12),
  l: (d) => String(d.getUTCHours() % 12 || 12).padStart(2, " "),
  M: (d) => pad(d.getUTCMinutes()),
  S: (d) => pad(d.getUTCSeconds()),
  L: (d) => pad(d.getUTCMilliseconds(), 3),
  p: (d) => (d.getUTCHours() < 12 ? "AM" : "PM"),
  P: (d) => (d.getUTCHours() < 12 ? "am" : "pm"),
  a: (d) => DAYS[d.getUTCDay()]!.slice(0, 3),
  A: (d) => DAYS[d.getUTCDay()]!,
  b: (d) => MONTHS[d.getUTCMonth()]!.slice(0, 3),
  h: (d) => MONTHS[d.getUTCMonth()]!.slice(0, 3),
  B: (d) => MONTHS[d.getUTCMonth()]!,
  j: (d) => pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3),
  u: (d) => String(d.getUTCDay() || 7),
  w: (d) => String(d.getUTCDay()),
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  z: () => "+0000",
  Z: () => "UTC",
  F: (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
  T: (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
  R: (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`,
  n: () => "\n",
  t: () => "\t",
  "%": () => "%",
};

/**
 * Formats `date` in UTC with strftime directives (`%Y-%m-%d %H:%M`, `%b %-d`,
 * …). `%-X` drops X's padding. Unknown directives are left as written, so a
 * typo shows up in the message instead of failing the delivery.
 */
export function formatUtc(date: Date, format: string): string {
  return format.replace(/%(-?)([A-Za-z%])/g, (whole, noPad: string, name: string) => {
    const directive = DIRECTIVES[name];
    if (!directive) return whole;
    const text = directive(date);
    return noPad && name !== "%" ? text.replace(/^[0 ]+(?=.)/, "") : text;
  });
}
