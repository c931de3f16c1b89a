"""Create a webhook, send it a test event and print its deliveries: the seed's
"Testing Webhooks" and "Webhook Management" sections as one script.

    PYTHONPATH=sdk/python python3 examples/python/manage_webhooks.py http://127.0.0.1:9000/webhooks/rubric [--delete]

Uses ``RUBRIC_API_KEY`` and ``RUBRIC_BASE_URL`` (as ``npm start`` prints them).
With ``--delete`` the webhook is disabled and deleted at the end.
"""
from __future__ import annotations

import argparse
import time

from rubric import Rubric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the receiver's URL")
    parser.add_argument("--secret", help="signing secret (default: one is generated)")
    parser.add_argument("--delete", action="store_true", help="disable and delete the webhook at the end")
    args = parser.parse_args()

    client = Rubric()

    webhook = client.webhooks.create(
        name="example-receiver",
        url=args.url,
        events=["evaluation.completed", "safety.critical"],
        secret=args.secret,
        retry_config={"max_retries": 5, "backoff": "exponential", "initial_delay_ms": 1000},
    )
    print(f"Webhook created: {webhook.id}")
    print(f"Signing secret: {webhook.secret}")

    # Send test event (test_webhooks.py)
    test_result = client.webhooks.test(
        webhook_id=webhook.id,
        event_type="evaluation.completed",
        payload={"evaluation_id": "eval_test", "summary": {"triage_accuracy": 0.85, "safety_score": 0.92}},
    )
    print(f"Test result: {test_result.status}")
    print(f"Response code: {test_result.response_code}")
    print(f"Response body: {test_result.response_body}")

    # List webhooks (manage_webhooks.py)
    for wh in client.webhooks.list():
        print(f"{wh.name}: {wh.url} ({wh.status})")

    # View delivery history; the test's attempt is recorded as it returns, but allow a moment.
    deliveries = []
    for _ in range(20):
        deliveries = list(client.webhooks.deliveries(webhook_id=webhook.id, limit=100))
        if deliveries:
            break
        time.sleep(0.25)
    for delivery in deliveries:
        status = "OK" if delivery.success else "FAIL"
        print(f"{status} {delivery.event_type} - {delivery.response_code}")

    if args.delete:
        client.webhooks.disable(webhook.id)
        client.webhooks.delete(webhook.id)
        print(f"Deleted {webhook.id}")


if __name__ == "__main__":
    main()
