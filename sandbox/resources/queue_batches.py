"""SQS's batch calls: SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch.

Why it exists: a batch is up to ten single calls answered together, and SQS answers each
entry on its own (``Successful`` / ``Failed`` with the entry's ``Id``, ``SenderFault``,
``Code`` and ``Message``) unless the request as a whole is wrong (empty, too many
entries, bad or repeated ids, over 256 KiB), which fails the call and does nothing. Each
entry follows exactly the rules (and gets exactly the error) of the single call, so the
mixin here drives :class:`~sandbox.resources.queues.SQSClient`'s own helpers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sandbox.resources.errors import (
    BatchRequestTooLong,
    MissingParameter,
    ServiceError,
)
from sandbox.resources.queue_rules import (
    check_batch,
    check_visibility_timeout,
    delete_error,
    visibility_error,
)
from sandbox.store import queue_messages as messages
from sandbox.store.resource_rows import MAX_MESSAGE_BYTES, MessageAttributes, QueueRow
from sandbox.store.resources import message_size

if TYPE_CHECKING:
    from sandbox.core.clock import Clock
    from sandbox.store.db import Database

__all__ = ["BatchCalls"]

Entries = Sequence[Mapping[str, Any]]


class BatchCalls:
    """The batch calls of :class:`~sandbox.resources.queues.SQSClient`."""

    _db: Database
    _clock: Clock

    def send_message_batch(self, queue_url: str, entries: Entries) -> dict[str, list[Any]]:
        """Send up to 10 messages; each entry is SendMessage's parameters in boto3's names
        (``Id``, ``MessageBody``, ``DelaySeconds``, ``MessageAttributes``,
        ``MessageGroupId``, ``MessageDeduplicationId``). A FIFO queue keeps the entries'
        order.

        Returns:
            ``{"Successful": [{"Id", "MessageId", "MD5OfMessageBody", ...}], "Failed":
            [{"Id", "SenderFault", "Code", "Message"}]}``.

        Raises:
            QueueDoesNotExist: no such queue.
            EmptyBatchRequest, TooManyEntriesInBatchRequest, InvalidBatchEntryId,
                BatchEntryIdsNotDistinct: the entries break a batch rule.
            BatchRequestTooLong: the messages add up to more than 256 KiB.
        """
        check_batch(entries, "SendMessageBatchRequestEntry")
        total = 0
        for entry in entries:
            body, attributes = entry.get("MessageBody"), entry.get("MessageAttributes")
            if isinstance(body, str):
                total += message_size(body, attributes if isinstance(attributes, Mapping) else None)
        if total > MAX_MESSAGE_BYTES:  # SendMessageBatch: 256 KiB for the batch as a whole
            raise BatchRequestTooLong(
                f"Batch requests cannot be longer than {MAX_MESSAGE_BYTES} bytes. "
                f"You have sent {total} bytes."
            )
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with self._db.transaction(traffic=True) as conn:
            queue = self._queue(conn, queue_url)
            for entry in entries:
                try:
                    answer = self._send_entry(conn, queue, entry)
                except ServiceError as error:
                    failed.append(_failure(entry, error))
                else:
                    successful.append({"Id": entry["Id"], **answer})
        return {"Successful": successful, "Failed": failed}

    def delete_message_batch(self, queue_url: str, entries: Entries) -> dict[str, list[Any]]:
        """Delete up to 10 messages by receipt handle (entries ``{"Id", "ReceiptHandle"}``),
        each as DeleteMessage would.

        Returns:
            ``{"Successful": [{"Id"}], "Failed": [{"Id", "SenderFault", "Code", "Message"}]}``.

        Raises:
            QueueDoesNotExist: no such queue.
            EmptyBatchRequest, TooManyEntriesInBatchRequest, InvalidBatchEntryId,
                BatchEntryIdsNotDistinct: the entries break a batch rule.
        """
        check_batch(entries, "DeleteMessageBatchRequestEntry")
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with self._db.transaction(traffic=True) as conn:
            queue = self._queue(conn, queue_url)
            now = self._clock.time()
            for entry in entries:
                handle = entry.get("ReceiptHandle")
                error: ServiceError | None
                if not isinstance(handle, str):
                    error = MissingParameter(
                        "The request must contain the parameter ReceiptHandle."
                    )
                else:
                    outcome = messages.delete_message(conn, queue, handle, now)
                    error = delete_error(outcome, handle)
                if error is None:
                    successful.append({"Id": entry["Id"]})
                else:
                    failed.append(_failure(entry, error))
        return {"Successful": successful, "Failed": failed}

    def change_message_visibility_batch(
        self, queue_url: str, entries: Entries
    ) -> dict[str, list[Any]]:
        """Change the visibility of up to 10 messages in flight (entries ``{"Id",
        "ReceiptHandle", "VisibilityTimeout"}``), each as ChangeMessageVisibility would.

        Returns:
            ``{"Successful": [{"Id"}], "Failed": [{"Id", "SenderFault", "Code", "Message"}]}``.

        Raises:
            QueueDoesNotExist: no such queue.
            EmptyBatchRequest, TooManyEntriesInBatchRequest, InvalidBatchEntryId,
                BatchEntryIdsNotDistinct: the entries break a batch rule.
        """
        check_batch(entries, "ChangeMessageVisibilityBatchRequestEntry")
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with self._db.transaction(traffic=True) as conn:
            queue = self._queue(conn, queue_url)
            now = self._clock.time()
            for entry in entries:
                try:
                    self._change_entry(conn, queue, entry, now)
                except ServiceError as error:
                    failed.append(_failure(entry, error))
                else:
                    successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}

    # one entry ------------------------------------------------------------------------------
    def _send_entry(
        self, conn: sqlite3.Connection, queue: QueueRow, entry: Mapping[str, Any]
    ) -> dict[str, str]:
        """One SendMessageBatch entry, in a savepoint: all of it or nothing."""
        body: str = entry.get("MessageBody")  # type: ignore[assignment]  # checked next
        attributes = entry.get("MessageAttributes")
        delay = entry.get("DelaySeconds")
        group_id = entry.get("MessageGroupId")
        deduplication_id = entry.get("MessageDeduplicationId")
        self._check_message(body, attributes, delay, group_id, deduplication_id)
        conn.execute("SAVEPOINT batch_entry")
        try:
            answer = self._send(conn, queue, body, attributes, delay, group_id, deduplication_id)
        except BaseException:
            conn.execute("ROLLBACK TO batch_entry")
            conn.execute("RELEASE batch_entry")
            raise
        conn.execute("RELEASE batch_entry")
        return answer

    def _change_entry(
        self, conn: sqlite3.Connection, queue: QueueRow, entry: Mapping[str, Any], now: float
    ) -> None:
        handle = entry.get("ReceiptHandle")
        if not isinstance(handle, str):
            raise MissingParameter("The request must contain the parameter ReceiptHandle.")
        timeout = entry.get("VisibilityTimeout")
        if timeout is None:
            raise MissingParameter("The request must contain the parameter VisibilityTimeout.")
        check_visibility_timeout(timeout)
        outcome = messages.change_visibility(conn, queue, handle, timeout, now)
        if error := visibility_error(outcome, handle, timeout):
            raise error

    # what SQSClient provides ----------------------------------------------------------------
    if TYPE_CHECKING:

        def _queue(self, conn: sqlite3.Connection, queue_url: str) -> QueueRow: ...

        @staticmethod
        def _check_message(
            body: object,
            attributes: MessageAttributes | None,
            delay_seconds: object,
            group_id: object,
            deduplication_id: object,
        ) -> None: ...

        def _send(
            self,
            conn: sqlite3.Connection,
            queue: QueueRow,
            body: str,
            attributes: MessageAttributes | None,
            delay_seconds: int | None,
            group_id: str | None,
            deduplication_id: str | None,
        ) -> dict[str, str]: ...


def _failure(entry: Mapping[str, Any], error: ServiceError) -> dict[str, Any]:
    """A ``Failed`` entry: the caller's fault, with SQS's code and message."""
    return {"Id": entry["Id"], "SenderFault": True, "Code": error.code, "Message": error.message}
