/**
 * What the built-in chat messages say about each event type, written once in
 * the template language and laid out by each chat format (slack.ts,
 * discord.ts, msteams.ts), so the three always show the same facts.
 *
 * `subject`, `facts`, `detail` and `link` are template expressions: what goes
 * between `{{` and `}}`. The layouts add `default: "—"` to facts, and Slack
 * adds `escape`, so payload text can never become a mention or a link there.
 * Field names follow the seed's payload and handlers (data.summary.*,
 * data.issue.type, data.review.ai_correct, data.reviewer_id …); where the
 * seed does not say, common alternatives are tried in turn with `default`.
 */

/** How an event looks: drives colours (Discord), container styles (Teams) and emphasis. */
export type Tone = "success" | "info" | "warning" | "danger" | "critical" | "neutral";

/** The content of one built-in message. */
export interface EventContent {
  /** Heading, static text (the generic message uses `{{ type }}`). */
  title: string;
  emoji: string;
  tone: Tone;
  /** Expression for what the event is about: the evaluation's name, the sample's id… never empty. */
  subject: string;
  /** Key figures: label and expression, at most 10 (Slack's limit for section fields). */
  facts: ReadonlyArray<readonly [label: string, expression: string]>;
  /** Expression for a longer text (an error, a description); the block disappears when it is empty. */
  detail?: string;
  /** Show `detail` as a code block (the generic message's JSON). */
  detailIsCode?: boolean;
  /** Expression for a link to the object in Rubric; the button disappears when it is not a URL. */
  link: string;
  /** Button text for `link`. */
  linkLabel: string;
}

const WHEN = `date: "%b %-d, %Y %H:%M UTC"`;
const PROJECT = ["Project", "data.project_id"] as const;

/** The built-in content for the seed's event types and the operational ones. */
export const EVENT_CONTENT: Readonly<Record<string, EventContent>> = Object.freeze({
  "evaluation.created": {
    title: "Evaluation started",
    emoji: "🧪",
    tone: "info",
    subject: `data.name | default: data.evaluation_id | default: "Unnamed evaluation"`,
    facts: [
      PROJECT,
      ["Evaluation", "data.evaluation_id"],
      ["Dataset", "data.config.dataset | default: data.dataset | default: metadata.dataset"],
      ["Model", "data.config.model_version | default: data.model_version | default: metadata.model_version"],
      ["Samples", "data.config.total_samples | default: data.config.sample_count | default: data.total_samples | number"],
    ],
    link: "data.url",
    linkLabel: "View evaluation",
  },
  "evaluation.completed": {
    title: "Evaluation completed",
    emoji: "✅",
    tone: "success",
    subject: `data.name | default: data.evaluation_id | default: "Unnamed evaluation"`,
    facts: [
      PROJECT,
      ["Triage accuracy", "data.summary.triage_accuracy | percent"],
      ["Safety score", "data.summary.safety_score | percent"],
      ["Samples", "data.summary.total_samples | number"],
      ["For review", "data.summary.samples_for_review | number"],
      ["Model", "metadata.model_version | default: data.model_version"],
    ],
    link: "data.url",
    linkLabel: "View results",
  },
  "evaluation.failed": {
    title: "Evaluation failed",
    emoji: "❌",
    tone: "danger",
    subject: `data.name | default: data.evaluation_id | default: "Unnamed evaluation"`,
    facts: [PROJECT, ["Evaluation", "data.evaluation_id"], ["Error code", "data.error.code | default: data.error_code"]],
    detail: "data.error.message | default: data.error | default: data.reason | truncate: 1000",
    link: "data.url",
    linkLabel: "View evaluation",
  },
  "sample.scored": {
    title: "Sample scored",
    emoji: "🎯",
    tone: "info",
    subject: `data.sample_id | default: "Sample"`,
    facts: [
      PROJECT,
      ["Evaluation", "data.evaluation_id"],
      ["Score", "data.score | round: 3"],
      ["Scores", "data.scores | json | truncate: 900"],
    ],
    link: "data.url",
    linkLabel: "View sample",
  },
  "review.assigned": {
    title: "Review assigned",
    emoji: "📝",
    tone: "info",
    subject: `data.sample_id | default: "Sample"`,
    facts: [
      PROJECT,
      ["Reviewer", "data.reviewer.name | default: data.reviewer.email | default: data.reviewer_id | default: data.reviewer"],
      ["Priority", "data.priority | title"],
      ["Due", `data.due_at | ${WHEN}`],
    ],
    detail: "data.reason | default: data.note | truncate: 1000",
    link: "data.url",
    linkLabel: "Open review",
  },
  "review.completed": {
    title: "Review completed",
    emoji: "📋",
    tone: "info",
    subject: `data.sample_id | default: "Sample"`,
    facts: [
      PROJECT,
      ["Reviewer", "data.review.reviewer_id | default: data.reviewer_id | default: data.reviewer"],
      ["AI correct", "data.review.ai_correct"],
      ["Decision", "data.review.decision | default: data.review.label | default: data.review.verdict"],
    ],
    detail: "data.review.notes | default: data.review.comment | truncate: 1000",
    link: "data.url",
    linkLabel: "View review",
  },
  "alert.triggered": {
    title: "Alert triggered",
    emoji: "⚠️",
    tone: "warning",
    subject: `data.alert_name | default: data.name | default: data.alert_id | default: "Monitoring alert"`,
    facts: [
      ["Severity", "data.severity | upper"],
      PROJECT,
      ["Metric", "data.metric"],
      ["Value", "data.value"],
      ["Threshold", "data.threshold"],
    ],
    detail: "data.message | default: data.description | truncate: 1000",
    link: "data.url",
    linkLabel: "View alert",
  },
  "safety.critical": {
    title: "CRITICAL safety issue detected",
    emoji: "🚨",
    tone: "critical",
    subject: `data.issue.type | default: data.issue_type | default: "Critical safety issue"`,
    facts: [
      ["Severity", `data.severity | default: "critical" | upper`],
      PROJECT,
      ["Sample", "data.sample_id"],
      ["Evaluation", "data.evaluation_id"],
      ["Model", "metadata.model_version | default: data.model_version"],
    ],
    detail: "data.issue.description | default: data.issue.details | default: data.issue.message | default: data.description | truncate: 1000",
    link: "data.url",
    linkLabel: "Investigate now",
  },
  "webhook.disabled": {
    title: "Webhook disabled",
    emoji: "⛔",
    tone: "warning",
    subject: `data.name | default: data.webhook_id | default: "A webhook"`,
    facts: [
      ["Webhook", "data.webhook_id"],
      ["Endpoint", "data.url | default: data.endpoint_url"],
      ["Reason", "data.reason | default: data.disabled_reason"],
      ["Disabled at", `data.disabled_at | ${WHEN}`],
    ],
    detail: `"Deliveries to this endpoint are paused. Fix the endpoint and re-enable the webhook to resume the backlog."`,
    link: "data.dashboard_url",
    linkLabel: "Open webhook",
  },
  "delivery.exhausted": {
    title: "Delivery failed after all retries",
    emoji: "📭",
    tone: "danger",
    subject: `data.event_type | default: data.event_id | default: "An event"`,
    facts: [
      ["Webhook", "data.webhook_name | default: data.webhook_id"],
      ["Event", "data.event_id"],
      ["Delivery", "data.delivery_id"],
      ["Attempts", "data.attempts | number"],
      ["Last response", "data.response_code | default: data.last_response_code"],
    ],
    detail: "data.last_error | default: data.error | truncate: 1000",
    link: "data.dashboard_url",
    linkLabel: "View delivery",
  },
} satisfies Record<string, EventContent>);

/** The message for event types without built-in content (custom types): the payload as JSON. */
export const GENERIC_CONTENT: EventContent = Object.freeze<EventContent>({
  title: "{{ type }}",
  emoji: "📣",
  tone: "neutral",
  subject: `data.name | default: id`,
  facts: [PROJECT],
  detail: "data | json: 2 | truncate: 2500",
  detailIsCode: true,
  link: "data.url",
  linkLabel: "Open in Rubric",
});

/** The footer line every built-in message ends with (event type, id and time, for support). */
export const FOOTER = `Rubric · {{ type }} · {{ id }} · {{ created_at | ${WHEN} }}`;
