"""A local Amazon SNS: standard topics that fan messages out to subscribed queues and
functions.

Why it exists: a Lambda destination or dead-letter target can be a topic, and what makes a
topic worth seeing is the fan-out: one publish, a copy in every subscribed queue, wrapped in
SNS's notification JSON (or raw, with RawMessageDelivery), and an asynchronous invocation
of every subscribed function (:mod:`sandbox.resources.topic_lambda`, with filter
policies). Topics, subscriptions and the last 1,000 messages of each topic live in the
sandbox's store.

Not yet: subscriptions other than ``sqs`` and ``lambda`` (``http``, ``email``, ``sms`` ...
are not planned), filter policies on ``sqs`` subscriptions, FIFO topics beyond creating
them, and message delivery retries.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar

from sandbox.resources import errors
from sandbox.resources.client import ResourceClient
from sandbox.resources.errors import (
    InvalidParameter,
    NotFound,
    ParameterValueInvalid,
    error_for,
)
from sandbox.resources.queues import check_message_attributes
from sandbox.resources.topic_lambda import (
    LAMBDA_ATTRIBUTES,
    check_filter_attributes,
    check_lambda_endpoint,
    lambda_deliveries,
)
from sandbox.service.triggers import Delivery
from sandbox.store import resource_admin as admin
from sandbox.store import resources
from sandbox.store.resource_rows import (
    MessageAttributes,
    ResourceRef,
    TopicRow,
    get_topic,
    parse_arn,
    subscriptions,
)

__all__ = ["SNSClient"]

# CreateTopic API reference, Name
_STANDARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo")
# Publish API reference, Subject: no line breaks or control characters, under 100 characters,
# beginning with a letter, number or punctuation mark
_SUBJECT = re.compile(r"[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,98}")
_TOPIC_ATTRIBUTES = {
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "FifoTopic",
    "ContentBasedDeduplication",
    "ArchivePolicy",
    "FifoThroughputScope",
}
_PROTOCOLS = {
    "http",
    "https",
    "email",
    "email-json",
    "sms",
    "sqs",
    "application",
    "lambda",
    "firehose",
}
_LATER_SUBSCRIPTION_ATTRIBUTES = {
    "FilterPolicy",
    "FilterPolicyScope",
    "RedrivePolicy",
    "DeliveryPolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
}


class SNSClient(ResourceClient):
    """Amazon SNS for one account and region: boto3's ``sns`` client in snake_case.

    ``triggers`` invokes subscribed functions; without one (a client made on its own)
    ``lambda`` subscriptions receive nothing.

    Example:
        >>> topic = sb.sns.create_topic("orders")["TopicArn"]  # doctest: +SKIP
        >>> queue = sb.sqs.create_queue("audit")["QueueUrl"]  # doctest: +SKIP
        >>> arn = sb.sqs.get_queue_attributes(queue, ["QueueArn"])["Attributes"]["QueueArn"]
        >>> sb.sns.subscribe(topic, "sqs", arn)  # doctest: +SKIP
        >>> sb.sns.publish(topic, "hello")  # doctest: +SKIP
    """

    exceptions: ClassVar[ModuleType] = errors
    """The exception classes, as boto3's ``client.exceptions``."""

    # topics ---------------------------------------------------------------------------------
    def create_topic(
        self, name: str, attributes: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Create a topic, or return the existing one's ARN (CreateTopic is idempotent unless
        an attribute given differs).

        Raises:
            InvalidParameter: a bad name or attribute, or the topic exists with different
                attributes.
        """
        given = {k: str(v) for k, v in (attributes or {}).items()}
        fifo = given.get("FifoTopic", "false").lower() == "true"
        if fifo and not (isinstance(name, str) and _FIFO_NAME.fullmatch(name)):
            raise InvalidParameter(
                "Fifo Topic names must end with .fifo and must be made up of only uppercase and "
                "lowercase ASCII letters, numbers, underscores, and hyphens, and must be "
                "between 1 and 256 characters long."
            )
        if not fifo and not (isinstance(name, str) and _STANDARD_NAME.fullmatch(name)):
            raise InvalidParameter("Invalid parameter: Topic Name")
        for key in given:
            if key not in _TOPIC_ATTRIBUTES:
                raise InvalidParameter("Invalid parameter: AttributeName")
        if "FifoTopic" in given:
            given["FifoTopic"] = given["FifoTopic"].lower()
            if given["FifoTopic"] == "false":
                del given["FifoTopic"]
        ref = ResourceRef("sns", self.account_id, self.region, name)
        with self._db.transaction() as conn:
            existing = get_topic(conn, ref)
            if existing is None:
                admin.create_topic(conn, ref, given, self._clock.time())
            elif any(existing.attributes.get(k) != v for k, v in given.items()):
                raise InvalidParameter(
                    "Invalid parameter: Attributes Reason: Topic already exists with different "
                    "attributes"
                )
        return {"TopicArn": ref.arn}

    def list_topics(self) -> dict[str, list[dict[str, str]]]:
        """This account's topics in this region, by name."""
        with self._db.read() as conn:
            names = admin.list_topics(conn, self.account_id, self.region)
        refs = [ResourceRef("sns", self.account_id, self.region, n) for n in names]
        return {"Topics": [{"TopicArn": ref.arn} for ref in refs]}

    def delete_topic(self, topic_arn: str) -> None:
        """Delete a topic, its subscriptions and its messages. Deleting a topic that does
        not exist is not an error (DeleteTopic is idempotent)."""
        ref = _topic_ref(topic_arn)
        with self._db.transaction() as conn:
            admin.delete_topic(conn, ref)

    def get_topic_attributes(self, topic_arn: str) -> dict[str, dict[str, str]]:
        """The topic's attributes (those set, the defaults, and its subscription counts).

        Raises:
            NotFound: no such topic.
        """
        with self._db.read() as conn:
            topic = self._topic(conn, topic_arn)
            count = len(subscriptions(conn, topic.ref))
        return {
            "Attributes": {
                "TopicArn": topic.ref.arn,
                "Owner": topic.ref.account,
                "SubscriptionsConfirmed": str(count),
                "SubscriptionsPending": "0",
                "SubscriptionsDeleted": "0",
                **topic.attributes,
            }
        }

    # subscriptions --------------------------------------------------------------------------
    def subscribe(
        self,
        topic_arn: str,
        protocol: str,
        endpoint: str,
        attributes: Mapping[str, str] | None = None,
        return_subscription_arn: bool = False,
    ) -> dict[str, str]:
        """Subscribe a queue (protocol ``sqs``, endpoint the queue's ARN) or a function
        (protocol ``lambda``, endpoint the function's ARN) to the topic. Both need no
        confirmation, so the ARN is always returned. Subscribing the same endpoint twice
        returns the same subscription. A function also needs a policy that lets
        ``sns.amazonaws.com`` invoke it for this topic (``add_permission``); without one
        every delivery is denied (and recorded as a ``trigger`` telemetry record).

        ``attributes``: ``RawMessageDelivery`` (``sqs``: ``"true"`` makes the queue receive
        the message itself rather than SNS's notification JSON); ``FilterPolicy`` (JSON
        text) and ``FilterPolicyScope`` (``MessageAttributes`` or ``MessageBody``) for
        ``lambda``.

        Raises:
            InvalidParameter: a protocol other than ``sqs`` and ``lambda``, an endpoint
                that is not a queue or function ARN, a FIFO queue on a standard topic, an
                unknown or unsupported attribute, an invalid filter policy.
            NotFound: no such topic.
        """
        del return_subscription_arn  # SQS and Lambda subscriptions are confirmed at once
        given = {k: str(v) for k, v in (attributes or {}).items()}
        _check_protocol(protocol)
        queue = parse_arn(endpoint)
        if protocol == "lambda":
            check_lambda_endpoint(endpoint)
            _check_lambda_attributes(given)
        elif queue is None or queue.service != "sqs":
            raise InvalidParameter("Invalid parameter: SQS endpoint ARN")
        else:
            _check_subscription_attributes(given)
        with self._db.transaction() as conn:
            topic = self._topic(conn, topic_arn)
            fifo_topic = topic.attributes.get("FifoTopic") == "true"
            if queue is not None and queue.name.endswith(".fifo") and not fifo_topic:
                raise InvalidParameter(
                    "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can "
                    "not be subscribed to standard SNS topics"
                )
            for existing in subscriptions(conn, topic.ref):
                if (existing.protocol, existing.endpoint) == (protocol, endpoint):
                    if any(existing.attributes.get(k) != v for k, v in given.items()):
                        raise InvalidParameter(
                            "Invalid parameter: Attributes Reason: Subscription already exists "
                            "with different attributes"
                        )
                    return {"SubscriptionArn": existing.arn}
            subscription = admin.subscribe(
                conn,
                topic.ref,
                protocol,
                endpoint,
                given,
                owner=self.account_id,
                now=self._clock.time(),
            )
        return {"SubscriptionArn": subscription.arn}

    def unsubscribe(self, subscription_arn: str) -> None:
        """Delete a subscription.

        Raises:
            InvalidParameter: not a subscription ARN.
            NotFound: no such subscription.
        """
        topic_arn, _, _ = str(subscription_arn).rpartition(":")
        _topic_ref(topic_arn, member="SubscriptionArn")
        with self._db.transaction() as conn:
            subscription = admin.get_subscription(conn, subscription_arn)
            if subscription is None:
                raise NotFound("Subscription does not exist")
            admin.unsubscribe(conn, subscription)

    def list_subscriptions_by_topic(self, topic_arn: str) -> dict[str, list[dict[str, str]]]:
        """The topic's subscriptions, oldest first.

        Raises:
            NotFound: no such topic.
        """
        with self._db.read() as conn:
            topic = self._topic(conn, topic_arn)
            found = subscriptions(conn, topic.ref)
        return {
            "Subscriptions": [
                {
                    "SubscriptionArn": s.arn,
                    "Owner": s.owner,
                    "Protocol": s.protocol,
                    "Endpoint": s.endpoint,
                    "TopicArn": topic.ref.arn,
                }
                for s in found
            ]
        }

    # messages -------------------------------------------------------------------------------
    def publish(
        self,
        topic_arn: str,
        message: str,
        subject: str | None = None,
        message_attributes: MessageAttributes | None = None,
    ) -> dict[str, str]:
        """Publish a message: every ``sqs`` subscription's queue gets a copy at once, in the
        same transaction (SNS's notification JSON, or the raw message with
        RawMessageDelivery). A subscription whose queue no longer exists is skipped, as SNS
        drops deliveries that keep failing. Then every ``lambda`` subscription whose filter
        policy matches invokes its function asynchronously with SNS's event.

        Raises:
            InvalidParameter: an empty message or a bad subject, a message over 256 KiB, or
                a FIFO topic (publishing to one needs a MessageGroupId, not yet supported).
            ParameterValueInvalid: a bad message attribute.
            NotFound: no such topic.
        """
        ref = _topic_ref(topic_arn)
        if not isinstance(message, str) or message == "":
            raise InvalidParameter("Invalid parameter: Empty message")
        if subject is not None and not _SUBJECT.fullmatch(subject):
            raise InvalidParameter("Invalid parameter: Subject")
        check_message_attributes(message_attributes, ParameterValueInvalid)
        with self._db.transaction() as conn:
            if get_topic(conn, ref) is None:
                raise NotFound("Topic does not exist")
            now = self._clock.time()
            try:
                message_id = resources.publish(
                    conn,
                    ref.arn,
                    message,
                    subject=subject,
                    message_attributes=message_attributes or None,
                    now=now,
                )
            except resources.DeliveryRejected as exc:
                raise error_for("sns", exc.code, exc.message) from exc
            invocations: list[Delivery] = lambda_deliveries(
                conn, ref, message_id, message, subject, message_attributes or None, now
            )
        if self._triggers is not None:
            self._triggers.deliver_all(invocations)
        return {"MessageId": message_id}

    def published(self, topic_arn: str) -> list[dict[str, Any]]:
        """Sandbox extra (SNS has no such call): the messages published to the topic, oldest
        first, at most the last 1,000. Each is ``{"MessageId", "Message", "Subject"?,
        "MessageAttributes"?, "Timestamp"}``, attributes as published.

        Raises:
            NotFound: no such topic.
        """
        with self._db.read() as conn:
            topic = self._topic(conn, topic_arn)
            return admin.published(conn, topic.ref)

    # helpers --------------------------------------------------------------------------------
    def _topic(self, conn: sqlite3.Connection, topic_arn: str) -> TopicRow:
        topic = get_topic(conn, _topic_ref(topic_arn))
        if topic is None:
            raise NotFound("Topic does not exist")
        return topic

    def __repr__(self) -> str:
        return f"<SNSClient {self.account_id} {self.region}>"


def _topic_ref(topic_arn: str, member: str = "TopicArn") -> ResourceRef:
    ref = parse_arn(topic_arn)
    if ref is None or ref.service != "sns":
        raise InvalidParameter(f"Invalid parameter: {member}")
    return ref


def _check_protocol(protocol: str) -> None:
    if protocol in ("sqs", "lambda"):
        return
    if protocol not in _PROTOCOLS:
        raise InvalidParameter(
            f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}"
        )
    raise InvalidParameter(
        f"Invalid parameter: Protocol {protocol} is not supported by the sandbox yet, only "
        f"sqs and lambda: {protocol} endpoints are outside the sandbox."
    )


def _check_lambda_attributes(given: dict[str, str]) -> None:
    for key in given:
        if key == "RawMessageDelivery":  # raw delivery is for SQS, HTTP/S and Firehose
            raise InvalidParameter(
                "Invalid parameter: Attributes Reason: Delivery protocol [lambda] does not "
                "support raw message delivery."
            )
        if key in _LATER_SUBSCRIPTION_ATTRIBUTES and key not in LAMBDA_ATTRIBUTES:
            raise InvalidParameter(
                f"Invalid parameter: Attributes Reason: {key} is not supported by the sandbox yet."
            )
        if key not in LAMBDA_ATTRIBUTES:
            raise InvalidParameter("Invalid parameter: AttributeName")
    check_filter_attributes(given)


def _check_subscription_attributes(given: dict[str, str]) -> None:
    for key, value in given.items():
        if key == "RawMessageDelivery":
            if value.lower() not in ("true", "false"):
                raise InvalidParameter(
                    "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value "
                    f"[{value}]. Must be true or false."
                )
            given[key] = value.lower()
        elif key in _LATER_SUBSCRIPTION_ATTRIBUTES:
            raise InvalidParameter(
                f"Invalid parameter: Attributes Reason: {key} is not supported by the sandbox "
                "yet on sqs subscriptions (filter policies apply to lambda subscriptions)."
            )
        else:
            raise InvalidParameter("Invalid parameter: AttributeName")
