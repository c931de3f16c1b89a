"""The seed's Python snippets (webhooks-overview.txt), verbatim, for the end-to-end test to run.

Only the test substitutes the example URLs and `wh_abc123` before running them.
"""

WEBHOOK_CONFIGURATION = r"""
from rubric import Rubric

client = Rubric()

# Create webhook endpoint
webhook = client.webhooks.create(
    name="production-notifications",

    # Your endpoint
    url="https://your-api.example.com/webhooks/rubric",

    # Events to receive
    events=[
        "evaluation.completed",
        "review.completed",
        "alert.triggered",
        "safety.critical"
    ],

    # Secret for signature verification
    secret="whsec_your_signing_secret",

    # Optional filters
    filters={
        "projects": ["patient-triage", "symptom-checker"],
        "severity": ["high", "critical"]
    },

    # Retry configuration
    retry_config={
        "max_retries": 5,
        "backoff": "exponential",
        "initial_delay_ms": 1000
    }
)

print(f"Webhook created: {webhook.id}")
print(f"Signing secret: {webhook.secret}")
"""

SLACK_WEBHOOK = r"""
from rubric import Rubric

client = Rubric()

# Configure Slack integration directly
client.webhooks.create(
    name="slack-notifications",

    # Slack incoming webhook URL
    url="https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXX",

    # Events to send to Slack
    events=[
        "evaluation.completed",
        "alert.triggered"
    ],

    # Format for Slack
    format="slack",

    # Custom message templates
    templates={
        "evaluation.completed": {
            "text": "Evaluation completed: {{data.name}}",
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "*{{data.name}}* completed\n"
                               "Accuracy: {{data.summary.triage_accuracy | percent}}\n"
                               "Safety: {{data.summary.safety_score | percent}}"
                    }
                }
            ]
        }
    }
)
"""

TEST_WEBHOOKS = r"""
from rubric import Rubric

client = Rubric()

# Send test event
test_result = client.webhooks.test(
    webhook_id="wh_abc123",

    # Event type to simulate
    event_type="evaluation.completed",

    # Sample payload
    payload={
        "evaluation_id": "eval_test",
        "summary": {
            "triage_accuracy": 0.85,
            "safety_score": 0.92
        }
    }
)

print(f"Test result: {test_result.status}")
print(f"Response code: {test_result.response_code}")
print(f"Response body: {test_result.response_body}")
"""

MANAGE_WEBHOOKS = r"""
from rubric import Rubric

client = Rubric()

# List webhooks
webhooks = client.webhooks.list()
for wh in webhooks:
    print(f"{wh.name}: {wh.url} ({wh.status})")

# View delivery history
deliveries = client.webhooks.deliveries(
    webhook_id="wh_abc123",
    limit=100
)

for delivery in deliveries:
    status = "OK" if delivery.success else "FAIL"
    print(f"{status} {delivery.event_type} - {delivery.response_code}")

# Retry failed deliveries
client.webhooks.retry_failed(
    webhook_id="wh_abc123",
    since="2024-03-15T00:00:00Z"
)

# Disable webhook
client.webhooks.disable("wh_abc123")

# Delete webhook
client.webhooks.delete("wh_abc123")
"""
