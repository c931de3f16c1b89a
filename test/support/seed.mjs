// The seed documentation's examples (../shared/seed/webhooks-overview.txt), shared by the
// workers-pool tests and the end-to-end suite.

/** `data` of the seed's webhook_payload.json. */
export const SEED_DATA = {
  evaluation_id: "eval_xyz789",
  project_id: "patient-triage",
  name: "Daily Evaluation - March 15",
  status: "completed",
  summary: { total_samples: 500, triage_accuracy: 0.87, safety_score: 0.95, samples_for_review: 23 },
  completed_at: "2024-03-15T10:30:00Z",
};

/** `metadata` of the seed's webhook_payload.json. */
export const SEED_METADATA = { model_version: "triage-v2.4", dataset: "ds_daily_march15" };

/** The `templates` of the seed's slack_webhook.py. */
export const SEED_SLACK_TEMPLATES = {
  "evaluation.completed": {
    text: "Evaluation completed: {{data.name}}",
    blocks: [
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: "*{{data.name}}* completed\nAccuracy: {{data.summary.triage_accuracy | percent}}\nSafety: {{data.summary.safety_score | percent}}",
        },
      },
    ],
  },
};

/** What those templates render to for SEED_DATA. */
export const SEED_SLACK_BODY = {
  text: "Evaluation completed: Daily Evaluation - March 15",
  blocks: [{ type: "section", text: { type: "mrkdwn", text: "*Daily Evaluation - March 15* completed\nAccuracy: 87.0%\nSafety: 95.0%" } }],
};
