"""Local stand-ins for the services that trigger functions or receive destinations.

Today: the four kinds of resource a Lambda destination or dead-letter queue delivers to, each
a client shaped like boto3's (snake_case methods, AWS's answers and errors) over the
sandbox's store: :class:`SQSClient` (queues), :class:`SNSClient` (topics that fan out to
queues), :class:`EventBridgeClient` (event buses) and :class:`S3Client` (buckets). A
:class:`~sandbox.Sandbox` hands them out as ``sb.sqs``, ``sb.sns``, ``sb.eventbridge`` and
``sb.s3``. Their errors are in :mod:`sandbox.resources.errors`.
"""

from __future__ import annotations

from sandbox.resources import errors
from sandbox.resources.buckets import S3Client
from sandbox.resources.buses import EventBridgeClient
from sandbox.resources.errors import ServiceError
from sandbox.resources.queues import SQSClient
from sandbox.resources.topics import SNSClient

__all__ = ["EventBridgeClient", "S3Client", "SNSClient", "SQSClient", "ServiceError", "errors"]
