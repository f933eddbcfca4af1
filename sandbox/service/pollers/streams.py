"""The stream poller of an event source mapping (spec §8.4): Kinesis and DynamoDB streams.

One reader per shard — per shard *and lane* with a ``ParallelizationFactor`` above 1,
records going to lanes by partition key so each key keeps its order — reads from its
checkpoint, forms a batch (size, window, 6 MB), and invokes the function synchronously.
Only a full success moves the checkpoint. A failing batch **blocks its shard**: it is
retried (bisected first with ``BisectBatchOnFunctionError``, which uses up no retry) until
it succeeds, ``MaximumRetryAttempts`` are used up, or its records are older than
``MaximumRecordAgeInSeconds``; then its metadata goes to the on-failure destination and
the shard moves on. ``ReportBatchItemFailures`` checkpoints before the lowest reported
sequence number. Tumbling windows carry the handler's ``state`` from batch to batch and
end with a final invocation. Checkpoints and window state are in the store, so a restart
carries on where it stopped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import uuid as uuidlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.core.clock import iso8601_ms
from sandbox.core.mappings import MAX_PAYLOAD, EventSourceMapping, SourceKind
from sandbox.core.patterns import matches
from sandbox.errors import LambdaError, SandboxClosedError, SandboxError, TooManyRequestsException
from sandbox.service.pollers.context import PollerContext
from sandbox.service.pollers.sqs import batch_failures
from sandbox.store import mapping_rows, resources, stream_rows
from sandbox.store.stream_rows import StreamRecord

__all__ = ["StreamPoller"]

log = logging.getLogger("sandbox.pollers.streams")

POLL_PAUSE = 1.0  # platform seconds between two reads of an empty shard (AWS: once a second)
RETRY_FIRST, RETRY_LAST = 1.0, 60.0  # platform seconds between retries of a failing batch


class StreamPoller:
    """The shard readers of one stream mapping."""

    def __init__(self, mapping: EventSourceMapping, ctx: PollerContext) -> None:
        self.mapping = mapping
        self.ctx = ctx
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        with self.ctx.db.read() as conn:
            shards = stream_rows.shards(conn, self.mapping.event_source_arn)
        for shard in shards:
            for lane in range(self.mapping.parallelization_factor):
                reader = _ShardReader(self, shard.shard_id, lane)
                thread = threading.Thread(
                    target=reader.run,
                    name=f"lambda-sandbox-stream-{self.mapping.uuid[:8]}-{shard.shard_id[-4:]}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2.0)


class _ShardReader:
    def __init__(self, poller: StreamPoller, shard_id: str, lane: int) -> None:
        self.poller = poller
        self.ctx = poller.ctx
        self.shard_id = shard_id
        self.lane = lane
        self.lanes = poller.mapping.parallelization_factor
        self.key = shard_id if self.lanes == 1 else f"{shard_id}#{lane}"
        self.stop = poller._stop

    @property
    def mapping(self) -> EventSourceMapping:
        return self.poller.mapping

    # the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            after = self._start_position()
            while not self.stop.is_set():
                batch, after_read = self._gather(after)
                if not batch:
                    if after_read != after:  # only other lanes' or filtered records
                        after = self._checkpoint(after_read)
                        continue
                    if self._window_due():
                        self._final_window_invoke(after)
                    if self.ctx.wait(POLL_PAUSE, self.stop):
                        return
                    continue
                after = self._handle(batch, after, after_read)
        except SandboxClosedError:
            return
        except Exception:
            log.exception("stream reader %s of %s failed", self.key, self.mapping.uuid)

    def _start_position(self) -> str | None:
        with self.ctx.db.transaction(traffic=True) as conn:
            found = mapping_rows.checkpoint(conn, self.mapping.uuid, self.key)
            if found is not None:
                self.window_state = found[1]
                return found[0]
            after = stream_rows.position(
                conn,
                self.mapping.event_source_arn,
                self.shard_id,
                start=self.mapping.starting_position or "LATEST",
                timestamp=self.mapping.starting_position_timestamp,
                now=self.ctx.clock.time(),
            )
            mapping_rows.put_checkpoint(conn, self.mapping.uuid, self.key, after)
        self.window_state = None
        return after

    window_state: dict[str, Any] | None = None

    def _checkpoint(self, after: str | None) -> str | None:
        with self.ctx.db.transaction(traffic=True) as conn:
            mapping_rows.put_checkpoint(conn, self.mapping.uuid, self.key, after, self.window_state)
        return after

    def _mine(self, record: StreamRecord) -> bool:
        if self.lanes == 1:
            return True
        payload = record.payload
        key = payload.get("partitionKey")
        if key is None:
            key = json.dumps(payload.get("dynamodb", {}).get("Keys"), sort_keys=True)
        digest = hashlib.md5(str(key).encode()).digest()
        return int.from_bytes(digest[:4], "big") % self.lanes == self.lane

    def _gather(self, after: str | None) -> tuple[list[StreamRecord], str | None]:
        """The next batch of this lane's records after ``after`` (filters applied), and
        the position up to which records were looked at."""
        mapping = self.mapping
        deadline = self.ctx.clock.time() + mapping.maximum_batching_window_in_seconds
        batch: list[StreamRecord] = []
        size = 0
        read_to = after
        window_key: float | None = None
        while True:
            with self.ctx.db.read() as conn:
                records = stream_rows.read(
                    conn,
                    mapping.event_source_arn,
                    self.shard_id,
                    after=read_to,
                    limit=min(10_000, mapping.batch_size * self.lanes),
                    now=self.ctx.clock.time(),
                )
            for record in records:
                if not self._mine(record):
                    if not batch:
                        read_to = record.sequence_number
                    continue
                if not self._passes(record):
                    if not batch:
                        read_to = record.sequence_number
                    self.ctx.emit(mapping, status="filtered", count=1, shard=self.shard_id)
                    continue
                if mapping.tumbling_window_in_seconds:
                    w = self._window_start(record)
                    if window_key is None:
                        window_key = w
                    elif w != window_key:
                        return batch, read_to
                if batch and size + record.size > MAX_PAYLOAD:
                    return batch, read_to
                batch.append(record)
                size += record.size
                read_to = record.sequence_number
                if len(batch) >= mapping.batch_size:
                    return batch, read_to
            if not batch or self.ctx.clock.time() >= deadline or self.stop.is_set():
                return batch, read_to
            if self.ctx.wait(min(0.2, deadline - self.ctx.clock.time()), self.stop):
                return batch, read_to

    def _passes(self, record: StreamRecord) -> bool:
        patterns = self.mapping.patterns
        if not patterns:
            return True
        view: dict[str, Any]
        if self.mapping.kind is SourceKind.KINESIS:
            view = {"partitionKey": record.payload.get("partitionKey")}
            try:
                view["data"] = json.loads(base64.b64decode(record.payload.get("data", "")))
            except ValueError:
                view["data"] = None
        else:
            view = dict(record.payload)
        return any(matches(p, view) for p in patterns)

    # one batch -----------------------------------------------------------------------------
    def _handle(
        self, batch: list[StreamRecord], after: str | None, read_to: str | None
    ) -> str | None:
        """Run a batch until it is done (success, or given up); the new checkpoint."""
        attempts = 0
        pending = batch
        done_to = after
        while pending and not self.stop.is_set():
            expired = self._expired(pending)
            if expired:
                self._give_up(expired, "RecordAgeExceeded", None, attempts)
                done_to = self._checkpoint(expired[-1].sequence_number)
                pending = pending[len(expired) :]
                continue
            outcome, failed_from, response = self._invoke(pending)
            if outcome == "throttled":
                if self.ctx.wait(RETRY_FIRST, self.stop):
                    return done_to
                continue
            if outcome == "success":
                self._set_result("OK")
                return self._checkpoint(pending[-1].sequence_number)
            attempts += 1
            self._set_result("PROBLEM: Function call failed")
            if failed_from is not None and failed_from > 0:  # partial: keep what succeeded
                done_to = self._checkpoint(pending[failed_from - 1].sequence_number)
                pending = pending[failed_from:]
            if self.mapping.bisect_batch_on_function_error and len(pending) > 1:
                half = len(pending) // 2
                self.ctx.emit(
                    self.mapping,
                    status="bisect",
                    shard=self.shard_id,
                    sizes=[half, len(pending) - half],
                )
                done_to = self._handle(pending[:half], done_to, None)
                pending = pending[half:]
                attempts = 0
                continue
            limit = self.mapping.maximum_retry_attempts
            if limit != -1 and attempts > limit:
                self._give_up(pending, "RetryAttemptsExhausted", response, attempts)
                return self._checkpoint(pending[-1].sequence_number)
            delay = min(RETRY_LAST, RETRY_FIRST * 2 ** (attempts - 1))
            due = self.ctx.clock.time() + delay  # fixed before the record says it is waiting
            self.ctx.emit(
                self.mapping, status="retry", shard=self.shard_id, attempts=attempts, delay=delay
            )
            self._sleep_until(due)
        return done_to

    def _sleep_until(self, due: float) -> None:
        while not self.stop.is_set() and self.ctx.clock.time() < due:
            self.ctx.wait(due - self.ctx.clock.time(), self.stop)

    def _expired(self, batch: list[StreamRecord]) -> list[StreamRecord]:
        age = self.mapping.maximum_record_age_in_seconds
        if age == -1:
            return []
        now = self.ctx.clock.time()
        out = []
        for record in batch:
            if now - record.arrival <= age:
                break
            out.append(record)
        return out

    def _invoke(self, batch: list[StreamRecord]) -> tuple[str, int | None, dict[str, Any] | None]:
        """("success" | "failure" | "throttled", index of the first failed record for a
        partial failure, the response context)."""
        mapping = self.mapping
        records = [
            stream_rows.lambda_record(r, stream_arn=mapping.event_source_arn, region=mapping.region)
            for r in batch
        ]
        event: dict[str, Any] = {"Records": records}
        if mapping.tumbling_window_in_seconds:
            event.update(self._window_fields(batch[0], final=False))
        self.ctx.emit(
            mapping,
            status="batch",
            size=len(batch),
            shard=self.shard_id,
            iterator_age_ms=int((self.ctx.clock.time() - batch[-1].arrival) * 1000),
        )
        service = self.ctx.invoker_for(mapping.account_id, mapping.region)
        try:
            result = service.invoke(mapping.function_arn, json.dumps(event).encode())
        except TooManyRequestsException as exc:
            self._settled("", "throttled", reason=exc.reason)
            return "throttled", None, None
        except (LambdaError, SandboxError) as exc:
            if isinstance(exc, SandboxClosedError):
                raise
            self._settled("", "error", error=str(exc))
            return "throttled", None, None  # a system error: try again, no retry used
        context = {"statusCode": 200, "executedVersion": result.executed_version or "$LATEST"}
        if result.function_error:
            context["functionError"] = result.function_error
            self._settled(result.request_id, "failure", size=len(batch))
            return "failure", None, context
        if mapping.tumbling_window_in_seconds:
            state = result.payload.get("state") if isinstance(result.payload, Mapping) else None
            if not isinstance(state, Mapping):
                self._settled(result.request_id, "failure", reason="no state returned")
                return "failure", None, context
            self.window_state = {"state": dict(state), "start": self._window_start(batch[0])}
        if mapping.report_batch_item_failures:
            ids = {r.sequence_number for r in batch}
            failed = batch_failures(result.payload, ids)
            if failed is None:
                self._settled(result.request_id, "failure", invalid_report=True)
                return "failure", None, context
            if failed:
                first = min(i for i, r in enumerate(batch) if r.sequence_number in failed)
                self._settled(
                    result.request_id, "partial", succeeded=first, failed=len(batch) - first
                )
                return "failure", first, context
        self._settled(result.request_id, "success", succeeded=len(batch))
        return "success", None, context

    def _settled(self, request_id: str, outcome: str, **detail: Any) -> None:
        """A ``settled`` POLL record for a batch of this shard."""
        self.ctx.emit(
            self.mapping,
            request_id,
            status="settled",
            outcome=outcome,
            shard=self.shard_id,
            **detail,
        )

    # tumbling windows ----------------------------------------------------------------------
    def _window_start(self, record: StreamRecord) -> float:
        size = self.mapping.tumbling_window_in_seconds
        return float(int(record.arrival // size) * size)

    def _window_fields(self, first: StreamRecord | None, *, final: bool) -> dict[str, Any]:
        size = self.mapping.tumbling_window_in_seconds
        current = self.window_state or {}
        start = self._window_start(first) if first is not None else float(current.get("start", 0))
        state = current.get("state", {}) if current.get("start") == start else {}
        return {
            "window": {"start": iso8601_ms(start), "end": iso8601_ms(start + size)},
            "state": state,
            "shardId": self.shard_id,
            "eventSourceARN": self.mapping.event_source_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": False,
        }

    def _window_due(self) -> bool:
        state = self.window_state
        size = self.mapping.tumbling_window_in_seconds
        return bool(size and state and self.ctx.clock.time() >= float(state["start"]) + size)

    def _final_window_invoke(self, after: str | None) -> None:
        event = {"Records": [], **self._window_fields(None, final=True)}
        service = self.ctx.invoker_for(self.mapping.account_id, self.mapping.region)
        try:
            result = service.invoke(self.mapping.function_arn, json.dumps(event).encode())
        except (LambdaError, SandboxError) as exc:
            if isinstance(exc, SandboxClosedError):
                raise
            return
        self.ctx.emit(
            self.mapping,
            result.request_id,
            status="window-end",
            shard=self.shard_id,
            outcome="failure" if result.function_error else "success",
        )
        if not result.function_error:
            self.window_state = None
            self._checkpoint(after)

    # giving up -----------------------------------------------------------------------------
    def _give_up(
        self,
        batch: list[StreamRecord],
        condition: str,
        response: dict[str, Any] | None,
        attempts: int,
    ) -> None:
        mapping = self.mapping
        now = self.ctx.clock.time()
        info_key = (
            "KinesisBatchInfo" if mapping.kind is SourceKind.KINESIS else "DDBStreamBatchInfo"
        )
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuidlib.uuid4()),
                "functionArn": mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
        }
        if response is not None:
            record["responseContext"] = response
        record.update(
            version="1.0",
            timestamp=iso8601_ms(now),
        )
        record[info_key] = {
            "shardId": self.shard_id,
            "startSequenceNumber": batch[0].sequence_number,
            "endSequenceNumber": batch[-1].sequence_number,
            "approximateArrivalOfFirstRecord": iso8601_ms(batch[0].arrival),
            "approximateArrivalOfLastRecord": iso8601_ms(batch[-1].arrival),
            "batchSize": len(batch),
            "streamArn": mapping.event_source_arn,
        }
        delivered = self._deliver(record, batch, now)
        self.ctx.emit(
            mapping,
            status="discarded",
            condition=condition,
            shard=self.shard_id,
            size=len(batch),
            destination=mapping.on_failure,
            delivered=delivered,
        )

    def _deliver(self, record: dict[str, Any], batch: list[StreamRecord], now: float) -> bool:
        arn = self.mapping.on_failure
        if not arn:
            return False
        service = arn.split(":")[2]
        try:
            with self.ctx.db.transaction(traffic=True) as conn:
                if service == "sqs":
                    resources.send_message(conn, arn, json.dumps(record), now=now)
                elif service == "sns":
                    resources.publish(conn, arn, json.dumps(record), now=now)
                else:  # a bucket also gets the records themselves
                    payload = {
                        **record,
                        "payload": json.dumps(
                            {
                                "Records": [
                                    stream_rows.lambda_record(
                                        r,
                                        stream_arn=self.mapping.event_source_arn,
                                        region=self.mapping.region,
                                    )
                                    for r in batch
                                ]
                            }
                        ),
                    }
                    at = datetime.fromtimestamp(now, UTC)
                    key = (
                        f"aws/lambda/{self.mapping.uuid}/{self.shard_id}/{at:%Y/%m/%d}/"
                        f"{at:%Y-%m-%dT%H.%M.%S}-{uuidlib.uuid4()}"
                    )
                    resources.put_object(
                        conn, arn.rsplit(":", 1)[-1], key, json.dumps(payload).encode(), now=now
                    )
        except resources.DeliveryError:
            return False
        return True

    def _set_result(self, text: str) -> None:
        if self.mapping.last_processing_result == text:
            return
        from dataclasses import replace

        self.poller.mapping = replace(self.mapping, last_processing_result=text)
        with self.ctx.db.transaction(traffic=True) as conn:
            row = mapping_rows.get_mapping(conn, self.mapping.uuid)
            if row is None:
                return
            current = EventSourceMapping.from_stored(*row)
            updated = replace(current, last_processing_result=text)
            mapping_rows.put_mapping(
                conn,
                updated.uuid,
                updated.account_id,
                updated.region,
                updated.function_arn.split(":")[6],
                updated.event_source_arn,
                updated.stored(),
                updated.last_modified,
            )
