"""The SQS poller of an event source mapping (spec §8.3).

Several pollers per mapping (5 to start with, as on AWS) each: receive up to ``BatchSize``
messages, keep receiving until the batch is full, the batching window has passed or the
batch reaches 6 MB; drop the messages the filters reject (deleted, as AWS does); invoke
the function synchronously with ``{"Records": [...]}``; then

* success → delete the whole batch;
* a function error, a timeout or a throttle → nothing: the messages reappear after the
  visibility timeout, their receive count grows, and the queue's redrive policy moves
  them to its dead-letter queue after ``maxReceiveCount`` receives;
* ``ReportBatchItemFailures`` → delete all but the reported messages; an invalid report
  fails the whole batch.

While every poller keeps finding full batches the mapping adds pollers (up to 300 a
minute of platform time, to ``MaximumConcurrency`` or 1,000); idle ones stop, down to 5.
Every step is a POLL record on the telemetry bus.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from sandbox.core.mappings import MAX_PAYLOAD, EventSourceMapping
from sandbox.core.patterns import matches
from sandbox.errors import LambdaError, SandboxClosedError, SandboxError, TooManyRequestsException
from sandbox.service.pollers.context import PollerContext
from sandbox.store import queue_rows

__all__ = ["SqsPoller", "batch_failures"]

log = logging.getLogger("sandbox.pollers.sqs")

FIRST_POLLERS = 5
MAX_POLLERS = 1000
SCALE_STEP = 60.0 / 300  # platform seconds between two added pollers (300 per minute)
IDLE_POLLS = 20  # empty polls in a row before an extra poller stops
POLL_PAUSE = 1.0  # platform seconds between two empty polls
DEPTH_EVERY = 0.1  # real seconds between two queue-depth samples on the bus


class SqsPoller:
    """The pollers of one SQS mapping."""

    def __init__(self, mapping: EventSourceMapping, ctx: PollerContext) -> None:
        self.mapping = mapping
        self.ctx = ctx
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._last_scale = 0.0
        self._cap = min(mapping.maximum_concurrency or MAX_POLLERS, MAX_POLLERS)
        self._depth_at = 0.0

    # pollers ------------------------------------------------------------------------------
    def start(self) -> None:
        for _ in range(min(FIRST_POLLERS, self._cap)):
            self._add()
        self._last_scale = self.ctx.clock.time()

    def _add(self) -> None:
        thread = threading.Thread(
            target=self._run, name=f"lambda-sandbox-sqs-{self.mapping.uuid[:8]}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def pollers(self) -> int:
        with self._lock:
            return sum(1 for t in self._threads if t.is_alive())

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(2.0)

    def _run(self) -> None:
        idle = 0
        while not self._stop.is_set():
            try:
                handled = self._once()
            except SandboxClosedError:
                return
            except Exception:
                log.exception("SQS poller of %s failed; it carries on", self.mapping.uuid)
                handled = 0
            if handled:
                idle = 0
                continue
            idle += 1
            with self._lock:
                if idle >= IDLE_POLLS and self.pollers() > FIRST_POLLERS:
                    self._threads.remove(threading.current_thread())
                    self.ctx.emit(self.mapping, status="scale", pollers=self.pollers())
                    return
            if self.ctx.wait(POLL_PAUSE, self._stop):
                return

    def _maybe_scale(self, full: bool) -> None:
        """Add a poller while every poller keeps finding full batches."""
        if not full:
            return
        now = self.ctx.clock.time()
        with self._lock:
            alive = self.pollers()
            if self._busy < alive or alive >= self._cap or now - self._last_scale < SCALE_STEP:
                return
            self._last_scale = now
            self._add()
            self.ctx.emit(self.mapping, status="scale", pollers=alive + 1)

    # one batch ----------------------------------------------------------------------------
    def _once(self) -> int:
        """Gather one batch and run it; how many messages it held (0: the queue was empty)."""
        mapping = self.mapping
        batch, reason = self._gather(mapping)
        if not batch:
            return 0
        with self._lock:
            self._busy += 1
        try:
            self._maybe_scale(reason == "batch-size")
            self._run_batch(mapping, batch, reason)
        finally:
            with self._lock:
                self._busy -= 1
        return len(batch)

    def _visibility(self, mapping: EventSourceMapping, info: queue_rows.QueueInfo) -> float:
        """The queue's visibility timeout, or window + function timeout + 30 s if longer."""
        timeout = self._function_timeout(mapping)
        window = mapping.maximum_batching_window_in_seconds
        if window + timeout > info.visibility_timeout:
            return float(window + timeout + 30)
        return float(info.visibility_timeout)

    def _function_timeout(self, mapping: EventSourceMapping) -> int:
        service = self.ctx.invoker_for(mapping.account_id, mapping.region)
        try:
            return service.functions.resolve(mapping.function_arn).config.timeout
        except LambdaError:
            return 3

    def _gather(self, mapping: EventSourceMapping) -> tuple[list[queue_rows.PolledMessage], str]:
        with self.ctx.db.read() as conn:
            info = queue_rows.queue_info(conn, mapping.event_source_arn)
        if info is None:
            return [], "queue-missing"
        visibility = self._visibility(mapping, info)
        window = mapping.maximum_batching_window_in_seconds
        deadline: float | None = None  # the window opens with the first message received
        batch: list[queue_rows.PolledMessage] = []
        size = 0
        while True:
            want = mapping.batch_size - len(batch)
            with self.ctx.db.transaction(traffic=True) as conn:
                got = queue_rows.poll(
                    conn,
                    mapping.event_source_arn,
                    max_messages=want,
                    visibility_timeout=visibility,
                    now=self.ctx.clock.time(),
                )
            for message in got:
                if batch and size + message.size > MAX_PAYLOAD:
                    self._release([message])  # the next batch's
                    return batch, "payload-limit"
                batch.append(message)
                size += message.size
            if not batch:
                return batch, "empty"
            if deadline is None:
                deadline = self.ctx.clock.time() + window
            if len(batch) >= mapping.batch_size:
                return batch, "batch-size"
            if size >= MAX_PAYLOAD:
                return batch, "payload-limit"
            if self.ctx.clock.time() >= deadline or self._stop.is_set():
                return batch, "window"
            if self.ctx.wait(min(0.2, deadline - self.ctx.clock.time()), self._stop):
                return batch, "window"

    def _release(self, messages: list[queue_rows.PolledMessage]) -> None:
        with self.ctx.db.transaction(traffic=True) as conn:
            queue_rows.release(
                conn,
                self.mapping.event_source_arn,
                [m.receipt_handle for m in messages],
                visible_at=self.ctx.clock.time(),
            )

    def _delete(self, messages: list[queue_rows.PolledMessage]) -> None:
        if not messages:
            return
        with self.ctx.db.transaction(traffic=True) as conn:
            queue_rows.delete(
                conn, self.mapping.event_source_arn, [m.receipt_handle for m in messages]
            )

    def _run_batch(
        self, mapping: EventSourceMapping, batch: list[queue_rows.PolledMessage], reason: str
    ) -> None:
        records = [
            queue_rows.lambda_record(m, queue_arn=mapping.event_source_arn, region=mapping.region)
            for m in batch
        ]
        patterns = mapping.patterns
        if patterns:
            kept = [(m, r) for m, r in zip(batch, records, strict=True) if _passes(patterns, r)]
            dropped = [m for m in batch if all(m is not k for k, _ in kept)]
            self._delete(dropped)
            if dropped:
                self.ctx.emit(mapping, status="filtered", count=len(dropped))
            batch, records = [m for m, _ in kept], [r for _, r in kept]
            if not batch:
                return
        depth: dict[str, Any] = {}
        if time.monotonic() - self._depth_at > DEPTH_EVERY:  # for a plot next to concurrency
            self._depth_at = time.monotonic()
            with self.ctx.db.read() as conn:
                visible, in_flight, _ = queue_rows.depth(
                    conn, mapping.event_source_arn, self.ctx.clock.time()
                )
            depth = {"visible": visible, "in_flight": in_flight}
        self.ctx.emit(mapping, status="batch", size=len(batch), reason=reason, **depth)
        service = self.ctx.invoker_for(mapping.account_id, mapping.region)
        payload = json.dumps({"Records": records}).encode()
        try:
            result = service.invoke(mapping.function_arn, payload)
        except TooManyRequestsException as exc:
            self.ctx.emit(
                mapping,
                status="settled",
                outcome="throttled",
                reason=exc.reason,
                succeeded=0,
                failed=len(batch),
            )
            self.ctx.wait(POLL_PAUSE, self._stop)  # back off; the messages come back later
            return
        except (LambdaError, SandboxError) as exc:
            if isinstance(exc, SandboxClosedError):
                raise
            self.ctx.emit(
                mapping,
                status="settled",
                outcome="error",
                error=str(exc),
                succeeded=0,
                failed=len(batch),
            )
            return
        rid = result.request_id
        if result.function_error:
            self.ctx.emit(
                mapping, rid, status="settled", outcome="failure", succeeded=0, failed=len(batch)
            )
            return
        failed_ids: set[str] | None = set()
        if mapping.report_batch_item_failures:
            failed_ids = batch_failures(result.payload, {m.message_id for m in batch})
        if failed_ids is None:  # an invalid report: the whole batch failed
            self.ctx.emit(
                mapping,
                rid,
                status="settled",
                outcome="failure",
                invalid_report=True,
                succeeded=0,
                failed=len(batch),
            )
            return
        done = [m for m in batch if m.message_id not in failed_ids]
        self._delete(done)
        self.ctx.emit(
            mapping,
            rid,
            status="settled",
            outcome="partial" if failed_ids else "success",
            succeeded=len(done),
            failed=len(failed_ids),
        )


def _passes(patterns: list[dict[str, Any]], record: Mapping[str, Any]) -> bool:
    """Whether a record passes the filters: any pattern matches. The body is matched as
    JSON when it is JSON (a pattern on the body's fields does not match a plain string)."""
    view = dict(record)
    body = record.get("body")
    if isinstance(body, str):
        try:
            view["body"] = json.loads(body)
        except ValueError:
            pass
    return any(matches(p, view) for p in patterns)


def batch_failures(response: object, ids: set[str]) -> set[str] | None:
    """The ids a ``ReportBatchItemFailures`` response reports (spec §8.3), or None when the
    report is invalid and the whole batch counts as failed. An empty or null response, or
    an empty or null list, is a full success."""
    if response is None or response == {} or response == "":
        return set()
    if not isinstance(response, Mapping) or "batchItemFailures" not in response:
        return None
    items = response["batchItemFailures"]
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    failed: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not isinstance(ident, str) or not ident or ident not in ids:
            return None
        failed.add(ident)
    return failed
