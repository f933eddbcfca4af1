"""The stream and table stand-ins from :class:`~sandbox.Sandbox`: ``sb.kinesis`` and
``sb.dynamodb``, clients shaped like boto3's acting for the sandbox's account and region, so
a student fills a stream or changes a table as they would on AWS, and an event source
mapping reads what they wrote::

    sb.kinesis.create_stream("clicks")
    sb.kinesis.put_record("clicks", b'{"page": 1}', "user-7")
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sandbox.resources.streams import KinesisClient
from sandbox.resources.tables import DynamoDBClient

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared

__all__ = ["StreamsAPI"]


class StreamsAPI:
    """The two clients, made on first use and kept."""

    _shared: _Shared
    account_id: str
    region: str

    @cached_property
    def kinesis(self) -> KinesisClient:
        """Amazon Kinesis Data Streams (:class:`~sandbox.resources.streams.KinesisClient`)."""
        return KinesisClient(self._shared.db, self._shared.clock, self.account_id, self.region)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        """Amazon DynamoDB tables and their streams
        (:class:`~sandbox.resources.tables.DynamoDBClient`)."""
        return DynamoDBClient(self._shared.db, self._shared.clock, self.account_id, self.region)
