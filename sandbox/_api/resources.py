"""The resource stand-ins from :class:`~sandbox.Sandbox`: ``sb.sqs``, ``sb.sns``,
``sb.eventbridge`` and ``sb.s3``, clients shaped like boto3's acting for the sandbox's
account and region, so a student reads a destination queue as they would on AWS::

    url = sb.sqs.create_queue("failures")["QueueUrl"]
    sb.sqs.receive_message(url)

Topics, buses and buckets push to functions (SNS subscriptions, EventBridge rules and
schedules, S3 notifications) through the sandbox's one
:class:`~sandbox.service.triggers.TriggerDispatcher`.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sandbox.resources import EventBridgeClient, S3Client, SNSClient, SQSClient
from sandbox.service.triggers import TriggerDispatcher, dispatcher_for

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared

__all__ = ["ResourcesAPI"]


class ResourcesAPI:
    """The four clients, made on first use and kept."""

    _shared: _Shared
    account_id: str
    region: str

    @cached_property
    def sqs(self) -> SQSClient:
        """Amazon SQS queues (:class:`~sandbox.resources.SQSClient`)."""
        return SQSClient(self._shared.db, self._shared.clock, self.account_id, self.region)

    @cached_property
    def sns(self) -> SNSClient:
        """Amazon SNS topics (:class:`~sandbox.resources.SNSClient`)."""
        shared = self._shared
        return SNSClient(
            shared.db, shared.clock, self.account_id, self.region, triggers=self._triggers
        )

    @cached_property
    def eventbridge(self) -> EventBridgeClient:
        """Amazon EventBridge event buses and rules
        (:class:`~sandbox.resources.EventBridgeClient`)."""
        shared = self._shared
        return EventBridgeClient(
            shared.db, shared.clock, self.account_id, self.region, triggers=self._triggers
        )

    @cached_property
    def s3(self) -> S3Client:
        """Amazon S3 buckets (:class:`~sandbox.resources.S3Client`)."""
        shared = self._shared
        return S3Client(
            shared.db, shared.clock, self.account_id, self.region, triggers=self._triggers
        )

    @cached_property
    def _triggers(self) -> TriggerDispatcher:
        """The pushes of this sandbox home (one dispatcher for every account)."""
        return dispatcher_for(self._shared)
