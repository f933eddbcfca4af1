"""SNS ``lambda`` subscriptions: a topic invokes functions, filtered by their policies.

Why it exists: fan-out to functions is what SNS is for in Lambda courses. As on SNS (SNS
Developer Guide, "Fanout to Lambda functions"): a ``lambda`` subscription's endpoint is a
function ARN and needs no confirmation; every publish invokes each subscribed function
asynchronously, as ``sns.amazonaws.com`` on behalf of the topic, with an event of exactly
one record (spec §9), message attributes in SNS's ``{"Type", "Value"}`` shape. A
subscription's ``FilterPolicy`` (an EventBridge-style pattern, :mod:`sandbox.core.patterns`)
applies to the message attributes, or with ``FilterPolicyScope`` ``MessageBody`` to the
message as JSON; a message it does not match is not delivered to that subscription.

Not yet: filter policies on ``sqs`` subscriptions, delivery retries and redrive policies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from sandbox.core.clock import iso8601_ms
from sandbox.core.patterns import PatternError, matches, parse_pattern
from sandbox.resources.errors import InvalidParameter
from sandbox.service.triggers import Delivery, is_function_arn
from sandbox.store import resources
from sandbox.store.resource_rows import MessageAttributes, ResourceRef, Subscription, subscriptions

__all__ = [
    "LAMBDA_ATTRIBUTES",
    "check_filter_attributes",
    "check_lambda_endpoint",
    "lambda_deliveries",
    "passes_filter",
]

LAMBDA_ATTRIBUTES = frozenset({"FilterPolicy", "FilterPolicyScope"})
"""The subscription attributes a ``lambda`` subscription takes in the sandbox."""

_SCOPES = ("MessageAttributes", "MessageBody")
_MAX_POLICY = 256 * 1024  # SNS quotas: filter policy size


def check_lambda_endpoint(endpoint: str) -> None:
    """A ``lambda`` endpoint is a function ARN (qualified or not)."""
    if not isinstance(endpoint, str) or not is_function_arn(endpoint):
        raise InvalidParameter("Invalid parameter: Lambda endpoint ARN")


def check_filter_attributes(given: dict[str, str]) -> None:
    """Check (and normalise) ``FilterPolicy`` and ``FilterPolicyScope``.

    Raises:
        InvalidParameter: a scope other than the two, or a policy that is not a valid
            pattern (nested keys need the MessageBody scope).
    """
    scope = given.get("FilterPolicyScope")
    if scope is not None and scope not in _SCOPES:
        raise InvalidParameter(
            f"Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [{scope}]. "
            "Please use either MessageBody or MessageAttributes"
        )
    policy = given.get("FilterPolicy")
    if policy is None:
        return
    try:
        parsed = parse_pattern(policy, max_length=_MAX_POLICY)
    except PatternError as exc:
        raise InvalidParameter(f"Invalid parameter: FilterPolicy: {exc.reason}") from exc
    if (scope or "MessageAttributes") == "MessageAttributes":
        for key, value in parsed.items():
            if isinstance(value, Mapping) and key != "$or":
                raise InvalidParameter(
                    "Invalid parameter: FilterPolicy: Filter policy scope MessageAttributes "
                    "does not support nested filter policy"
                )


def passes_filter(
    subscription: Subscription, message: str, message_attributes: MessageAttributes | None
) -> bool:
    """Whether a message reaches the subscription under its filter policy (no policy: yes).
    String attributes match as strings, Number ones as numbers, String.Array ones as arrays;
    Binary attributes are not filtered on."""
    policy_text = subscription.attributes.get("FilterPolicy")
    if not policy_text:
        return True
    policy = parse_pattern(policy_text, max_length=_MAX_POLICY)
    if subscription.attributes.get("FilterPolicyScope") == "MessageBody":
        try:
            body = json.loads(message)
        except ValueError:
            return False
        return isinstance(body, dict) and matches(policy, body)
    return matches(policy, _attribute_values(message_attributes or {}))


def _attribute_values(attributes: MessageAttributes) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, attribute in attributes.items():
        data_type = str(attribute.get("DataType", ""))
        if "StringValue" not in attribute or data_type.startswith("Binary"):
            continue
        text = str(attribute["StringValue"])
        if data_type.startswith("Number"):
            values[name] = _number(text)
        elif data_type == "String.Array":
            try:
                values[name] = json.loads(text)
            except ValueError:
                values[name] = text
        else:
            values[name] = text
    return values


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def lambda_deliveries(
    conn: sqlite3.Connection,
    topic: ResourceRef,
    message_id: str,
    message: str,
    subject: str | None,
    message_attributes: MessageAttributes | None,
    now: float,
) -> list[Delivery]:
    """The pushes a published message makes: one per ``lambda`` subscription whose filter
    policy lets it through."""
    deliveries = []
    for subscription in subscriptions(conn, topic):
        if subscription.protocol != "lambda":
            continue
        if not passes_filter(subscription, message, message_attributes):
            continue
        event = sns_event(subscription, message_id, message, subject, message_attributes, now)
        deliveries.append(
            Delivery(
                subscription.endpoint,
                json.dumps(event).encode(),
                "sns.amazonaws.com",
                topic.arn,
                topic.account,
                "sns",
                {"subscription_arn": subscription.arn, "message_id": message_id},
            )
        )
    return deliveries


def sns_event(
    subscription: Subscription,
    message_id: str,
    message: str,
    subject: str | None,
    message_attributes: MessageAttributes | None,
    now: float,
) -> dict[str, Any]:
    """The event SNS sends a function (spec §9): exactly one record; ``Subject`` null and
    ``MessageAttributes`` empty when the message has none. ``Signature`` is a stand-in that
    no certificate verifies."""
    topic = subscription.topic
    digest = hashlib.sha256(f"{message_id}\n{topic.arn}\n{message}".encode()).digest()
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic.arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": iso8601_ms(now),
                    "SignatureVersion": "1",
                    "Signature": base64.b64encode(digest).decode(),
                    "SigningCertUrl": (
                        f"https://sns.{topic.region}.amazonaws.com/"
                        "SimpleNotificationService-sandbox.pem"
                    ),
                    "UnsubscribeUrl": (
                        f"https://sns.{topic.region}.amazonaws.com/?Action=Unsubscribe"
                        f"&SubscriptionArn={subscription.arn}"
                    ),
                    "MessageAttributes": resources.sns_attributes(message_attributes or {}),
                },
            }
        ]
    }
