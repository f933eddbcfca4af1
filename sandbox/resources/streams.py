"""A local Amazon Kinesis Data Streams: provisioned streams, shards, records and iterators.

Why it exists: a Kinesis stream is the classic source of an event source mapping (spec
section 8.4), and a student should be able to put records into one and read them back with
the calls and answers of boto3's ``kinesis`` client before wiring it to a function. Records
live in the sandbox's store (:mod:`sandbox.store.stream_rows`), so a mapping's poller reads
the same shards; retention and the 5-minute life of a shard iterator run on the sandbox
clock.

As on Kinesis, a record goes to the shard whose hash key range holds the MD5 of its
partition key read as a 128-bit integer (or its ``ExplicitHashKey``), and shards split
0..2^128-1 evenly. Streams are ``ACTIVE`` as soon as they are created. Not here: on-demand
streams, resharding (``split_shard``, ``merge_shards``, ``update_shard_count``), consumers
and enhanced fan-out, tags, encryption, throughput limits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from sandbox.resources.client import ResourceClient
from sandbox.resources.stream_errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    KinesisExceptions,
    KinesisValidationException,
    LimitExceededException,
    StreamInUse,
    StreamNotFound,
)
from sandbox.resources.stream_rules import (
    BIG_QUOTA_REGIONS,
    ITERATOR_LIFE,
    ITERATOR_TYPES,
    MAX_DATA,
    MAX_GET_BYTES,
    MAX_PUT_RECORDS_BYTES,
    SEQUENCE,
    arn_parts,
    as_bytes,
    check_retention,
    check_sequence,
    decode_iterator,
    epoch,
    hash_key,
    java_date,
    java_list,
    make_iterator,
    name_problems,
    next_token,
    null_problem,
    raise_problems,
    range_problem,
    record_problems,
    record_size,
    shard_for,
    shard_hash_ranges,
    shard_id_problems,
    shard_shape,
    target_problems,
)
from sandbox.store import stream_rows as rows
from sandbox.store.stream_rows import KINESIS_DIGITS, ShardRow, StreamRow

__all__ = ["KinesisClient", "hash_key", "shard_hash_ranges"]


class KinesisClient(ResourceClient):
    """Amazon Kinesis Data Streams for one account and region: boto3's ``kinesis`` client
    in snake_case.

    A stream is named by its name or its ARN (``arn:aws:kinesis:REGION:ACCOUNT:stream/NAME``)
    wherever boto3 takes ``StreamName`` or ``StreamARN``.

    Example:
        >>> sb.kinesis.create_stream("clicks", shard_count=2)  # doctest: +SKIP
        >>> sb.kinesis.put_record("clicks", b'{"page": 1}', "user-7")  # doctest: +SKIP
        {'ShardId': 'shardId-000000000001', 'SequenceNumber': '4900000...'}
    """

    exceptions: ClassVar[type[KinesisExceptions]] = KinesisExceptions
    """The exception classes, as boto3's ``client.exceptions``."""

    # streams --------------------------------------------------------------------------------
    def create_stream(self, stream_name: str, shard_count: int = 1) -> None:
        """Create a provisioned stream of ``shard_count`` shards, ``ACTIVE`` at once.

        Raises:
            KinesisValidationException: a bad name or shard count.
            StreamInUse: a stream of that name exists.
            LimitExceededException: the account's shard quota (500 in us-east-1, us-west-2
                and eu-west-1, 200 elsewhere) would be exceeded.
        """
        problems = name_problems(stream_name, "streamName")
        if not isinstance(shard_count, int) or shard_count < 1:
            problems.append(
                f"Value '{shard_count}' at 'shardCount' failed to satisfy constraint: "
                "Member must have value greater than or equal to 1"
            )
        raise_problems(problems)
        arn = rows.kinesis_arn(self.account_id, self.region, stream_name)
        with self._db.transaction() as conn:
            if rows.get_stream(conn, arn) is not None:
                raise StreamInUse(
                    f"Stream {stream_name} under account {self.account_id} already exists."
                )
            current = rows.total_shards(conn, self.account_id, self.region)
            limit = 500 if self.region in BIG_QUOTA_REGIONS else 200
            if current + shard_count > limit:
                raise LimitExceededException(
                    f"This request would exceed the shard limit for the account "
                    f"{self.account_id} in {self.region}. Current shard count for the "
                    f"account: {current}. Limit: {limit}. Number of additional shards that "
                    f"would have resulted from this request: {shard_count}. Refer to the AWS "
                    "Service Limits page (https://docs.aws.amazon.com/general/latest/gr/"
                    "aws_service_limits.html) for current limits and how to request higher "
                    "limits."
                )
            shards = [
                (f"shardId-{i:012d}", str(low), str(high))
                for i, (low, high) in enumerate(shard_hash_ranges(shard_count))
            ]
            rows.create_stream(
                conn,
                arn=arn,
                kind="kinesis",
                account=self.account_id,
                region=self.region,
                name=stream_name,
                shards=shards,
                now=self._clock.time(),
            )

    def describe_stream(
        self,
        stream_name: str | None = None,
        limit: int | None = None,
        exclusive_start_shard_id: str | None = None,
        stream_arn: str | None = None,
    ) -> dict[str, Any]:
        """The stream and up to ``limit`` (default 100) of its shards after
        ``exclusive_start_shard_id``; ``HasMoreShards`` says whether more follow."""
        if limit is not None and not 1 <= limit <= 10000:
            raise_problems([range_problem(limit, "limit", 1, 10000)])
        with self._db.read() as conn:
            stream = self._stream(conn, stream_name, stream_arn)
            shards = rows.shard_rows(conn, stream.id)
        if exclusive_start_shard_id is not None:
            shards = [s for s in shards if s.shard_id > exclusive_start_shard_id]
        page = shards[: limit or 100]
        return {
            "StreamDescription": {
                "StreamName": stream.name,
                "StreamARN": stream.arn,
                "StreamStatus": "ACTIVE",
                "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                "Shards": [shard_shape(s) for s in page],
                "HasMoreShards": len(page) < len(shards),
                "RetentionPeriodHours": stream.retention_hours,
                "StreamCreationTimestamp": datetime.fromtimestamp(int(stream.created), UTC),
                "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
                "EncryptionType": "NONE",
            }
        }

    def describe_stream_summary(
        self, stream_name: str | None = None, stream_arn: str | None = None
    ) -> dict[str, Any]:
        """The stream without its shards, with ``OpenShardCount``."""
        with self._db.read() as conn:
            stream = self._stream(conn, stream_name, stream_arn)
            shards = rows.shard_rows(conn, stream.id)
        return {
            "StreamDescriptionSummary": {
                "StreamName": stream.name,
                "StreamARN": stream.arn,
                "StreamStatus": "ACTIVE",
                "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                "RetentionPeriodHours": stream.retention_hours,
                "StreamCreationTimestamp": datetime.fromtimestamp(int(stream.created), UTC),
                "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
                "EncryptionType": "NONE",
                "OpenShardCount": sum(1 for s in shards if s.ending_sequence is None),
                "ConsumerCount": 0,
                "MaxRecordSizeInKiB": MAX_DATA // 1024,
            }
        }

    def list_streams(
        self, limit: int | None = None, exclusive_start_stream_name: str | None = None
    ) -> dict[str, Any]:
        """This account's streams in this region by name, up to ``limit`` (default 100)
        after ``exclusive_start_stream_name``."""
        if limit is not None and not 1 <= limit <= 10000:
            raise_problems([range_problem(limit, "limit", 1, 10000)])
        with self._db.read() as conn:
            streams = rows.list_streams(conn, self.account_id, self.region, "kinesis")
        if exclusive_start_stream_name is not None:
            streams = [s for s in streams if s.name > exclusive_start_stream_name]
        page = streams[: limit or 100]
        return {
            "StreamNames": [s.name for s in page],
            "HasMoreStreams": len(page) < len(streams),
            "StreamSummaries": [
                {
                    "StreamName": s.name,
                    "StreamARN": s.arn,
                    "StreamStatus": "ACTIVE",
                    "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                    "StreamCreationTimestamp": datetime.fromtimestamp(int(s.created), UTC),
                }
                for s in page
            ],
        }

    def list_shards(
        self,
        stream_name: str | None = None,
        exclusive_start_shard_id: str | None = None,
        max_results: int | None = None,
        stream_arn: str | None = None,
    ) -> dict[str, Any]:
        """The stream's shards after ``exclusive_start_shard_id``, up to ``max_results``
        (default 1,000); ``NextToken`` is present when more follow (pass the last shard id
        as ``exclusive_start_shard_id`` to go on)."""
        if max_results is not None and not 1 <= max_results <= 10000:
            raise_problems([range_problem(max_results, "maxResults", 1, 10000)])
        with self._db.read() as conn:
            stream = self._stream(conn, stream_name, stream_arn)
            shards = rows.shard_rows(conn, stream.id)
        if exclusive_start_shard_id is not None:
            shards = [s for s in shards if s.shard_id > exclusive_start_shard_id]
        page = shards[: max_results or 1000]
        answer: dict[str, Any] = {"Shards": [shard_shape(s) for s in page]}
        if len(page) < len(shards):
            answer["NextToken"] = next_token([stream.arn, page[-1].shard_id])
        return answer

    def delete_stream(
        self,
        stream_name: str | None = None,
        enforce_consumer_deletion: bool | None = None,
        stream_arn: str | None = None,
    ) -> None:
        """Delete a stream and every record in it (at once: AWS shows ``DELETING`` first)."""
        with self._db.transaction() as conn:
            stream = self._stream(conn, stream_name, stream_arn)
            rows.delete_stream(conn, stream.id)

    def increase_stream_retention_period(
        self,
        stream_name: str | None = None,
        retention_period_hours: int = 24,
        stream_arn: str | None = None,
    ) -> None:
        """Keep records longer (24-8,760 hours, never shorter than now)."""
        self._set_retention(stream_name, stream_arn, retention_period_hours, increase=True)

    def decrease_stream_retention_period(
        self,
        stream_name: str | None = None,
        retention_period_hours: int = 24,
        stream_arn: str | None = None,
    ) -> None:
        """Keep records for less time (at least 24 hours, never longer than now): records
        older than the new period are no longer readable."""
        self._set_retention(stream_name, stream_arn, retention_period_hours, increase=False)

    # records --------------------------------------------------------------------------------
    def put_record(
        self,
        stream_name: str | None = None,
        data: bytes | str | None = None,
        partition_key: str | None = None,
        explicit_hash_key: str | None = None,
        stream_arn: str | None = None,
    ) -> dict[str, str]:
        """Write one record to the shard its partition key (or explicit hash key) maps to.

        Returns:
            ``{"ShardId": ..., "SequenceNumber": ...}``; sequence numbers are 56-digit
            decimal strings, strictly increasing within a shard.

        Raises:
            KinesisValidationException: no data or partition key, data over 1 MiB, a bad
                explicit hash key, stream name or ARN.
            StreamNotFound: no such stream.
            InvalidArgumentException: an explicit hash key of 2^128 or more.
        """
        problems = record_problems(data, partition_key, explicit_hash_key, "")
        problems += target_problems(stream_name, stream_arn)
        raise_problems(problems)
        with self._db.transaction(traffic=True) as conn:
            stream = self._stream(conn, stream_name, stream_arn)
            shard = shard_for(rows.shard_rows(conn, stream.id), partition_key, explicit_hash_key)
            entry = (shard.number, partition_key, as_bytes(data), record_size(data, partition_key))
            (sequence,) = rows.append(conn, stream, [entry], self._clock.time())
        return {"ShardId": shard.shard_id, "SequenceNumber": sequence}

    def put_records(
        self,
        records: Sequence[Mapping[str, Any]],
        stream_name: str | None = None,
        stream_arn: str | None = None,
    ) -> dict[str, Any]:
        """Write 1-500 records (``Data``, ``PartitionKey``, optional ``ExplicitHashKey``)
        in one call, all or nothing, in order: records with the same partition key keep
        their order in their shard.

        Returns:
            ``FailedRecordCount`` (always 0 here: no throughput limits) and ``Records``,
            one ``{"SequenceNumber", "ShardId"}`` per record in order.
        """
        problems: list[str] = []
        if not isinstance(records, Sequence) or not 1 <= len(records) <= 500:
            count = len(records) if isinstance(records, Sequence) else 0
            bound = "greater than or equal to 1" if count < 1 else "less than or equal to 500"
            problems.append(
                f"Value '{java_list(records)}' at 'records' failed to satisfy constraint: "
                f"Member must have length {bound}"
            )
            records = []
        for i, record in enumerate(records, start=1):
            if not isinstance(record, Mapping):
                raise KinesisValidationException(
                    f"Invalid type for parameter Records[{i - 1}], value: {record!r}, type: "
                    f"{type(record)}, valid types: <class 'dict'>"
                )
            problems += record_problems(
                record.get("Data"),
                record.get("PartitionKey"),
                record.get("ExplicitHashKey"),
                f"records.{i}.member.",
            )
        problems += target_problems(stream_name, stream_arn)
        raise_problems(problems)
        total = sum(record_size(r["Data"], r["PartitionKey"]) for r in records)
        with self._db.transaction(traffic=True) as conn:
            stream = self._stream(conn, stream_name, stream_arn)
            if total > MAX_PUT_RECORDS_BYTES:
                raise InvalidArgumentException("Records size exceeds 5 MB limit")
            shard_list = rows.shard_rows(conn, stream.id)
            chosen = [
                shard_for(shard_list, r["PartitionKey"], r.get("ExplicitHashKey")) for r in records
            ]
            entries = [
                (
                    s.number,
                    r["PartitionKey"],
                    as_bytes(r["Data"]),
                    record_size(r["Data"], r["PartitionKey"]),
                )
                for s, r in zip(chosen, records, strict=True)
            ]
            sequences = rows.append(conn, stream, entries, self._clock.time())
        return {
            "FailedRecordCount": 0,
            "Records": [
                {"SequenceNumber": q, "ShardId": s.shard_id}
                for q, s in zip(sequences, chosen, strict=True)
            ],
        }

    def get_shard_iterator(
        self,
        stream_name: str | None = None,
        shard_id: str | None = None,
        shard_iterator_type: str | None = None,
        starting_sequence_number: str | None = None,
        timestamp: datetime | float | None = None,
        stream_arn: str | None = None,
    ) -> dict[str, str]:
        """An iterator on a shard: ``TRIM_HORIZON`` (the oldest retained record),
        ``LATEST`` (records written from now on), ``AT_SEQUENCE_NUMBER`` /
        ``AFTER_SEQUENCE_NUMBER`` (at or after ``starting_sequence_number``) or
        ``AT_TIMESTAMP`` (the first record that arrived at or after ``timestamp``, a
        datetime or epoch seconds). Iterators are opaque and expire 5 minutes (platform
        time) after they are returned; each ``get_records`` hands out a fresh one.
        """
        problems = target_problems(stream_name, stream_arn)
        problems += shard_id_problems(shard_id)
        if shard_iterator_type is None:
            problems.append(null_problem("shardIteratorType"))
        elif shard_iterator_type not in ITERATOR_TYPES:
            problems.append(
                f"Value '{shard_iterator_type}' at 'shardIteratorType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(ITERATOR_TYPES)}]"
            )
        if starting_sequence_number is not None and not SEQUENCE.fullmatch(
            str(starting_sequence_number)
        ):
            problems.append(
                f"Value '{starting_sequence_number}' at 'startingSequenceNumber' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                r"0|([1-9]\d{0,128})"
            )
        raise_problems(problems)
        assert shard_id is not None and shard_iterator_type is not None
        now = self._clock.time()
        with self._db.read() as conn:
            stream = self._stream(conn, stream_name, stream_arn)
            shard = self._shard(conn, stream, shard_id)
            after = self._start(
                conn, stream, shard, shard_iterator_type, starting_sequence_number, timestamp, now
            )
        return {"ShardIterator": make_iterator(stream.arn, shard.shard_id, after, now)}

    def get_records(
        self, shard_iterator: str, limit: int | None = None, stream_arn: str | None = None
    ) -> dict[str, Any]:
        """Up to ``limit`` (1-10,000, default 10,000; at most 10 MiB) records from the
        iterator's position, oldest first.

        Returns:
            ``Records`` (``SequenceNumber``, ``ApproximateArrivalTimestamp`` as a UTC
            datetime, ``Data`` as bytes, ``PartitionKey``), ``NextShardIterator`` (after the
            last record returned) and ``MillisBehindLatest`` (0 when nothing newer is left).

        Raises:
            InvalidArgumentException: not an iterator this service handed out.
            ExpiredIteratorException: the iterator is more than 5 minutes old.
            StreamNotFound: the stream or shard is gone.
        """
        if limit is not None and not 1 <= limit <= 10000:
            raise_problems([range_problem(limit, "limit", 1, 10000)])
        arn, shard_id, after, created = decode_iterator(shard_iterator)
        now = self._clock.time()
        if now - created > ITERATOR_LIFE:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created at time {java_date(created)} "
                f"while right now it is {java_date(now)} which is further in the future than "
                "the tolerated delay of 300000 milliseconds."
            )
        with self._db.read() as conn:
            stream = rows.get_stream(conn, arn)
            shard = None
            if stream is not None:
                shard = next(
                    (s for s in rows.shard_rows(conn, stream.id) if s.shard_id == shard_id), None
                )
            if stream is None or shard is None:
                name = arn.rsplit("/", 1)[-1]
                raise StreamNotFound(
                    f"Shard {shard_id} in stream {name} under account {arn.split(':')[4]} "
                    "does not exist"
                )
            wanted = limit or 10000
            found = rows.fetch(conn, stream, shard.number, after=after, limit=wanted + 1, now=now)
        more = len(found) > wanted
        records: list[rows.StoredRecord] = []
        total = 0
        for r in found[:wanted]:
            if records and total + len(r.data) > MAX_GET_BYTES:
                more = True
                break
            total += len(r.data)
            records.append(r)
        last = records[-1].sequence if records else after
        behind = round((now - records[-1].arrival) * 1000) if more and records else 0
        return {
            "Records": [
                {
                    "SequenceNumber": r.sequence,
                    "ApproximateArrivalTimestamp": datetime.fromtimestamp(round(r.arrival, 3), UTC),
                    "Data": r.data,
                    "PartitionKey": r.partition_key,
                }
                for r in records
            ],
            "NextShardIterator": make_iterator(arn, shard_id, last, now),
            "MillisBehindLatest": behind,
        }

    # helpers --------------------------------------------------------------------------------
    def _stream(
        self, conn: sqlite3.Connection, stream_name: str | None, stream_arn: str | None
    ) -> StreamRow:
        """The stream named, by name or ARN (both given: they must agree)."""
        raise_problems(target_problems(stream_name, stream_arn))
        if stream_name is not None and stream_name.startswith("arn:"):
            stream_name, stream_arn = None, stream_name
        if stream_arn is not None:
            account, region, name = arn_parts(stream_arn)
            if stream_name is not None and stream_name != name:
                raise InvalidArgumentException(
                    f"StreamARN {stream_arn} and StreamName {stream_name} do not match."
                )
        else:
            assert stream_name is not None
            account, region, name = self.account_id, self.region, stream_name
        stream = None
        if region == self.region:
            stream = rows.get_stream(conn, rows.kinesis_arn(account, region, name))
        if stream is None:
            raise StreamNotFound(f"Stream {name} under account {account} not found.")
        return stream

    def _shard(self, conn: sqlite3.Connection, stream: StreamRow, shard_id: str) -> ShardRow:
        """A shard by id as GetShardIterator reads it: the number after the first hyphen
        (``shardId-000000000001``, ``shardId-1`` and ``1`` are one shard)."""
        pieces = shard_id.split("-")
        digits = pieces[1] if len(pieces) > 1 and pieces[1] else shard_id
        if not digits.isdigit() or int(digits) > 2_147_483_647:
            raise StreamNotFound(
                f"Could not find shard {shard_id} in stream {stream.name} under account "
                f"{stream.account}."
            )
        canonical = f"shardId-{int(digits):012d}"
        found = next((s for s in rows.shard_rows(conn, stream.id) if s.shard_id == canonical), None)
        if found is None:
            raise StreamNotFound(
                f"Shard {canonical} in stream {stream.name} under account {stream.account} "
                "does not exist"
            )
        return found

    def _start(
        self,
        conn: sqlite3.Connection,
        stream: StreamRow,
        shard: ShardRow,
        kind: str,
        sequence: str | None,
        timestamp: datetime | float | None,
        now: float,
    ) -> str | None:
        """The iterator's position: the sequence number it reads after (None: the start)."""
        by_sequence = kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")
        if kind != "AT_TIMESTAMP" and by_sequence != (sequence is not None):
            given = "and also a" if sequence is not None else "and no"
            raise InvalidArgumentException(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                f"StartingSequenceNumber. Request specified {kind} {given} "
                "StartingSequenceNumber."
            )
        if kind == "TRIM_HORIZON":
            return None
        if kind == "LATEST":
            return shard.last_sequence
        if kind == "AT_TIMESTAMP":
            if timestamp is None:
                raise InvalidArgumentException(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP."
                    " Current request has no timestamp parameter."
                )
            moment = epoch(timestamp)
            if moment > now:
                raise InvalidArgumentException(
                    "The timestampInMillis parameter cannot be greater than the "
                    f"currentTimestampInMillis. timestampInMillis: {int(moment * 1000)}, "
                    f"currentTimestampInMillis: {int(now * 1000)}"
                )
            return rows.position(
                conn, stream.arn, shard.shard_id, start="AT_TIMESTAMP", timestamp=moment, now=now
            )
        assert sequence is not None
        check_sequence(stream, shard, sequence)
        if kind == "AFTER_SEQUENCE_NUMBER":
            return sequence
        return str(int(sequence) - 1).zfill(KINESIS_DIGITS)

    def _set_retention(
        self, stream_name: str | None, stream_arn: str | None, hours: int, *, increase: bool
    ) -> None:
        with self._db.transaction() as conn:
            stream = self._stream(conn, stream_name, stream_arn)
            check_retention(stream, hours, increase=increase)
            rows.set_retention(conn, stream.id, hours)

    def __repr__(self) -> str:
        return f"<KinesisClient {self.account_id} {self.region}>"
