"""Kinesis stand-in: streams, shards by MD5 of the partition key, sequence numbers, shard
iterators and retention on the sandbox clock — with Kinesis's messages."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.resources.stream_errors import (
    ExpiredIteratorException,
    InvalidArgumentException,
    KinesisValidationException,
    LimitExceededException,
    StreamInUse,
    StreamNotFound,
)
from sandbox.resources.streams import KinesisClient
from tests.botocore_shapes import conforms

ACCOUNT = "123456789012"
ARN = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/clicks"
SHARD0 = "shardId-000000000000"


@pytest.fixture
def kinesis(sb: Sandbox) -> KinesisClient:
    return sb.kinesis


@pytest.fixture
def stream(kinesis: KinesisClient) -> str:
    kinesis.create_stream("clicks")
    return "clicks"


def _exact(message: str) -> str:
    """A ``match=`` pattern for exactly this message."""
    return f"^{re.escape(message)}$"


def _md5(key: str) -> int:
    """The hash key, computed again from the Kinesis documentation: MD5 as a 128-bit int."""
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16)


def _records(kinesis: KinesisClient, iterator_type: str, **kwargs: Any) -> list[bytes]:
    iterator = kinesis.get_shard_iterator("clicks", SHARD0, iterator_type, **kwargs)
    return [r["Data"] for r in kinesis.get_records(iterator["ShardIterator"])["Records"]]


# streams --------------------------------------------------------------------------------------
def test_create_stream_splits_the_hash_key_space_evenly(kinesis: KinesisClient) -> None:
    kinesis.create_stream("clicks", shard_count=3)
    description = kinesis.describe_stream("clicks")["StreamDescription"]
    assert description["StreamName"] == "clicks"
    assert description["StreamARN"] == ARN
    assert description["StreamStatus"] == "ACTIVE"
    assert description["RetentionPeriodHours"] == 24
    assert description["HasMoreShards"] is False
    assert description["StreamCreationTimestamp"] == datetime(2025, 1, 5, 8, tzinfo=UTC)
    ranges = [
        (s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"])
        for s in description["Shards"]
    ]
    # the ranges Kinesis gives a 3-shard stream
    assert ranges == [
        ("0", "113427455640312821154458202477256070484"),
        ("113427455640312821154458202477256070485", "226854911280625642308916404954512140969"),
        ("226854911280625642308916404954512140970", "340282366920938463463374607431768211455"),
    ]
    assert [s["ShardId"] for s in description["Shards"]] == [
        "shardId-000000000000",
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    for shard in description["Shards"]:
        start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
        assert re.fullmatch(r"\d{56}", start)
        assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]


def test_create_stream_rules(kinesis: KinesisClient, stream: str) -> None:
    with pytest.raises(
        StreamInUse, match=f"^Stream clicks under account {ACCOUNT} already exists.$"
    ):
        kinesis.create_stream("clicks")
    message = (
        "1 validation error detected: Value 'bad name' at 'streamName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    )
    with pytest.raises(KinesisValidationException, match=f"^{re.escape(message)}$") as caught:
        kinesis.create_stream("bad name")
    assert caught.value.code == "ValidationException" and caught.value.service == "kinesis"
    message = (
        "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )
    with pytest.raises(KinesisValidationException, match=f"^{re.escape(message)}$"):
        kinesis.create_stream("other", shard_count=0)
    long_name = "a" * 129
    with pytest.raises(
        KinesisValidationException, match="Member must have length less than or equal to 128"
    ):
        kinesis.create_stream(long_name)


def test_the_shard_quota(kinesis: KinesisClient) -> None:
    kinesis.create_stream("big", shard_count=500)
    message = (
        f"This request would exceed the shard limit for the account {ACCOUNT} in us-east-1. "
        "Current shard count for the account: 500. Limit: 500. Number of additional shards that "
        "would have resulted from this request: 1. Refer to the AWS Service Limits page "
        "(https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current "
        "limits and how to request higher limits."
    )
    with pytest.raises(LimitExceededException, match=f"^{re.escape(message)}$"):
        kinesis.create_stream("one-more")
    kinesis.delete_stream("big")
    kinesis.create_stream("one-more")


def test_describe_summary_list_and_delete(kinesis: KinesisClient) -> None:
    for name in ("b", "a", "c"):
        kinesis.create_stream(name, shard_count=2)
    summary = kinesis.describe_stream_summary("a")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2
    assert summary["StreamARN"] == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/a"
    listed = kinesis.list_streams()
    assert listed["StreamNames"] == ["a", "b", "c"]
    assert listed["HasMoreStreams"] is False
    assert [s["StreamStatus"] for s in listed["StreamSummaries"]] == ["ACTIVE"] * 3
    page = kinesis.list_streams(limit=2)
    assert page["StreamNames"] == ["a", "b"] and page["HasMoreStreams"] is True
    assert kinesis.list_streams(exclusive_start_stream_name="b")["StreamNames"] == ["c"]
    kinesis.delete_stream("b")
    assert kinesis.list_streams()["StreamNames"] == ["a", "c"]
    missing = f"^Stream b under account {ACCOUNT} not found.$"
    with pytest.raises(StreamNotFound, match=missing) as caught:
        kinesis.describe_stream("b")
    assert caught.value.code == "ResourceNotFoundException"
    with pytest.raises(StreamNotFound, match=missing):
        kinesis.delete_stream("b")
    with pytest.raises(StreamNotFound, match=missing):
        kinesis.put_record("b", b"x", "k")


def test_list_shards_pages(kinesis: KinesisClient) -> None:
    kinesis.create_stream("clicks", shard_count=5)
    first = kinesis.list_shards("clicks", max_results=2)
    assert [s["ShardId"] for s in first["Shards"]] == [
        "shardId-000000000000",
        "shardId-000000000001",
    ]
    assert "NextToken" in first
    rest = kinesis.list_shards("clicks", exclusive_start_shard_id="shardId-000000000001")
    assert len(rest["Shards"]) == 3 and "NextToken" not in rest
    described = kinesis.describe_stream("clicks", limit=2)["StreamDescription"]
    assert len(described["Shards"]) == 2 and described["HasMoreShards"] is True


def test_a_stream_is_named_by_name_or_arn(kinesis: KinesisClient, stream: str) -> None:
    by_arn = kinesis.describe_stream(stream_arn=ARN)
    assert by_arn == kinesis.describe_stream("clicks")
    assert kinesis.put_record(ARN, b"x", "k")["ShardId"] == SHARD0  # an ARN where a name goes
    assert kinesis.put_record(data=b"y", partition_key="k", stream_arn=ARN)["ShardId"] == SHARD0
    other = "arn:aws:kinesis:us-east-1:210987654321:stream/clicks"
    with pytest.raises(
        StreamNotFound, match=_exact("Stream clicks under account 210987654321 not found.")
    ):
        kinesis.describe_stream(stream_arn=other)
    message = "Value 'arn:aws:sqs:us-east-1:123456789012:q' at 'streamARN' failed"
    with pytest.raises(KinesisValidationException, match=re.escape(message)):
        kinesis.describe_stream(stream_arn="arn:aws:sqs:us-east-1:123456789012:q")
    with pytest.raises(InvalidArgumentException, match="do not match"):
        kinesis.describe_stream("other", stream_arn=ARN)
    with pytest.raises(KinesisValidationException, match="Value null at 'streamName'"):
        kinesis.describe_stream()


# records --------------------------------------------------------------------------------------
def test_the_shard_is_chosen_by_the_md5_of_the_partition_key(kinesis: KinesisClient) -> None:
    kinesis.create_stream("clicks", shard_count=4)
    width = 2**128 // 4
    for i in range(200):
        key = f"user-{i}"
        expected = min(_md5(key) // width, 3)
        answer = kinesis.put_record("clicks", b"x", key)
        assert answer["ShardId"] == f"shardId-{expected:012d}", key
    # a hash key picked by hand goes where its range says
    assert kinesis.put_record("clicks", b"x", "k", explicit_hash_key="0")["ShardId"].endswith("0")
    top = str(2**128 - 1)
    assert kinesis.put_record("clicks", b"x", "k", explicit_hash_key=top)["ShardId"].endswith("3")
    edge = str(2 * width)
    assert kinesis.put_record("clicks", b"x", "k", explicit_hash_key=edge)["ShardId"].endswith("2")
    message = (
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
        f"Specified value was {2**128}"
    )
    with pytest.raises(InvalidArgumentException, match=f"^{re.escape(message)}$"):
        kinesis.put_record("clicks", b"x", "k", explicit_hash_key=str(2**128))
    with pytest.raises(KinesisValidationException, match=r"at 'explicitHashKey' failed"):
        kinesis.put_record("clicks", b"x", "k", explicit_hash_key="012")


def test_sequence_numbers_are_56_digits_and_increase_per_shard(
    kinesis: KinesisClient, clock: FakeClock
) -> None:
    kinesis.create_stream("clicks", shard_count=2)
    seen: dict[str, list[str]] = {}
    for i in range(50):
        if i % 10 == 0:
            clock.advance(0.5)
        answer = kinesis.put_record("clicks", b"x", f"k{i % 7}")
        assert re.fullmatch(r"[1-9]\d{55}", answer["SequenceNumber"])
        seen.setdefault(answer["ShardId"], []).append(answer["SequenceNumber"])
    assert len(seen) == 2
    for numbers in seen.values():
        assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})
    starts = {
        s["ShardId"]: s["SequenceNumberRange"]["StartingSequenceNumber"]
        for s in kinesis.describe_stream("clicks")["StreamDescription"]["Shards"]
    }
    for shard, numbers in seen.items():
        assert int(numbers[0]) > int(starts[shard])


def test_record_rules(kinesis: KinesisClient, stream: str) -> None:
    message = (
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 "
        "cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less "
        "than or equal to 1048576"
    )
    with pytest.raises(KinesisValidationException, match=f"^{re.escape(message)}$"):
        kinesis.put_record("clicks", b"x" * 1_048_577, "k")
    assert kinesis.put_record("clicks", b"x" * 1_048_576, "k")
    message = (
        "2 validation errors detected: Value null at 'partitionKey' failed to satisfy "
        "constraint: Member must not be null; Value null at 'data' failed to satisfy "
        "constraint: Member must not be null"
    )
    with pytest.raises(KinesisValidationException, match=f"^{re.escape(message)}$"):
        kinesis.put_record("clicks")
    with pytest.raises(KinesisValidationException, match="less than or equal to 256"):
        kinesis.put_record("clicks", b"x", "k" * 257)
    boto3_says = (
        "Invalid type for parameter Records[1].Data, value: 5, type: <class 'int'>, valid "
        "types: <class 'bytes'>, <class 'bytearray'>, file-like object"
    )
    with pytest.raises(KinesisValidationException, match=_exact(boto3_says)):
        kinesis.put_records(
            [{"Data": b"", "PartitionKey": "k"}, {"Data": 5, "PartitionKey": "k"}], "clicks"
        )
    with pytest.raises(
        KinesisValidationException, match=re.escape("parameter Records[0], value: 5")
    ):
        kinesis.put_records([5], "clicks")  # type: ignore[list-item]
    with pytest.raises(KinesisValidationException, match=re.escape("parameter Data, value: 5,")):
        kinesis.put_record("clicks", 5, "k")  # type: ignore[arg-type]
    kinesis.put_record("clicks", "héllo", "k")  # text is sent as UTF-8, as boto3 does
    iterator = kinesis.get_shard_iterator("clicks", SHARD0, "TRIM_HORIZON")["ShardIterator"]
    assert kinesis.get_records(iterator)["Records"][-1]["Data"] == "héllo".encode()


def test_put_records_in_order_and_all_or_nothing(kinesis: KinesisClient) -> None:
    kinesis.create_stream("clicks", shard_count=2)
    entries = [{"Data": f"{i}".encode(), "PartitionKey": f"k{i}"} for i in range(10)]
    answer = kinesis.put_records(entries, "clicks")
    assert answer["FailedRecordCount"] == 0
    assert [r["ShardId"] for r in answer["Records"]] == [
        f"shardId-{min(_md5(f'k{i}') // 2**127, 1):012d}" for i in range(10)
    ]
    bad: list[dict[str, Any]] = [*entries, {"Data": b"x"}]
    message = (
        "1 validation error detected: Value null at 'records.11.member.partitionKey' failed to "
        "satisfy constraint: Member must not be null"
    )
    with pytest.raises(KinesisValidationException, match=f"^{re.escape(message)}$"):
        kinesis.put_records(bad, "clicks")
    with pytest.raises(
        KinesisValidationException, match="Member must have length less than or equal to 500"
    ):
        kinesis.put_records([{"Data": b"", "PartitionKey": "k"}] * 501, "clicks")
    with pytest.raises(KinesisValidationException, match="greater than or equal to 1"):
        kinesis.put_records([], "clicks")
    big = [{"Data": b"x" * 1_000_000, "PartitionKey": "k"}] * 6
    with pytest.raises(InvalidArgumentException, match=_exact("Records size exceeds 5 MB limit")):
        kinesis.put_records(big, "clicks")
    shards = [s["ShardId"] for s in kinesis.list_shards("clicks")["Shards"]]
    total = 0
    for shard in shards:
        iterator = kinesis.get_shard_iterator("clicks", shard, "TRIM_HORIZON")["ShardIterator"]
        total += len(kinesis.get_records(iterator)["Records"])
    assert total == 10  # nothing of the refused calls was written


# iterators ------------------------------------------------------------------------------------
def test_iterator_types(kinesis: KinesisClient, stream: str, clock: FakeClock) -> None:
    first = kinesis.put_record("clicks", b"1", "k")["SequenceNumber"]
    clock.advance(10)
    second = kinesis.put_record("clicks", b"2", "k")["SequenceNumber"]
    latest = kinesis.get_shard_iterator("clicks", SHARD0, "LATEST")["ShardIterator"]
    third = kinesis.put_record("clicks", b"3", "k")["SequenceNumber"]
    assert _records(kinesis, "TRIM_HORIZON") == [b"1", b"2", b"3"]
    assert [r["Data"] for r in kinesis.get_records(latest)["Records"]] == [b"3"]
    at = {"starting_sequence_number": second}
    assert _records(kinesis, "AT_SEQUENCE_NUMBER", **at) == [b"2", b"3"]
    assert _records(kinesis, "AFTER_SEQUENCE_NUMBER", **at) == [b"3"]
    assert _records(kinesis, "AFTER_SEQUENCE_NUMBER", starting_sequence_number=third) == []
    arrived = datetime(2025, 1, 5, 8, 0, 10, tzinfo=UTC)  # when "2" was put
    assert _records(kinesis, "AT_TIMESTAMP", timestamp=arrived) == [b"2", b"3"]
    assert _records(kinesis, "AT_TIMESTAMP", timestamp=arrived.timestamp() - 1) == [b"2", b"3"]
    assert _records(kinesis, "AT_TIMESTAMP", timestamp=0) == [b"1", b"2", b"3"]
    assert int(first) < int(second) < int(third)
    # Kinesis reads the number after the first hyphen of a shard id
    for alias in ("shardId-0", "0", "any-000"):
        iterator = kinesis.get_shard_iterator("clicks", alias, "TRIM_HORIZON")["ShardIterator"]
        assert len(kinesis.get_records(iterator)["Records"]) == 3


def test_iterator_rules(kinesis: KinesisClient, stream: str, clock: FakeClock) -> None:
    sequence = kinesis.put_record("clicks", b"1", "k")["SequenceNumber"]
    both = (
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
        "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
    )
    with pytest.raises(
        InvalidArgumentException,
        match=re.escape(
            both + "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."
        ),
    ):
        kinesis.get_shard_iterator("clicks", SHARD0, "AT_SEQUENCE_NUMBER")
    with pytest.raises(
        InvalidArgumentException,
        match=re.escape(both + "Request specified LATEST and also a StartingSequenceNumber."),
    ):
        kinesis.get_shard_iterator("clicks", SHARD0, "LATEST", starting_sequence_number=sequence)
    with pytest.raises(
        InvalidArgumentException,
        match=_exact(
            "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
            "Current request has no timestamp parameter."
        ),
    ):
        kinesis.get_shard_iterator("clicks", SHARD0, "AT_TIMESTAMP")
    future = (
        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
        "timestampInMillis: 1736064001000, currentTimestampInMillis: 1736064000000"
    )
    with pytest.raises(InvalidArgumentException, match=f"^{re.escape(future)}$"):
        kinesis.get_shard_iterator("clicks", SHARD0, "AT_TIMESTAMP", timestamp=1736064001)
    enum = (
        "Value 'OLDEST' at 'shardIteratorType' failed to satisfy constraint: Member must "
        "satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, "
        "AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
    )
    with pytest.raises(KinesisValidationException, match=re.escape(enum)):
        kinesis.get_shard_iterator("clicks", SHARD0, "OLDEST")
    missing = (
        f"^Shard shardId-000000000005 in stream clicks under account {ACCOUNT} does not exist$"
    )
    with pytest.raises(StreamNotFound, match=missing):
        kinesis.get_shard_iterator("clicks", "shardId-5", "LATEST")
    odd = f"^Could not find shard ABKLFD8 in stream clicks under account {ACCOUNT}.$"
    with pytest.raises(StreamNotFound, match=odd):
        kinesis.get_shard_iterator("clicks", "ABKLFD8", "LATEST")
    invalid = (
        f"StartingSequenceNumber 5 used in GetShardIterator on shard {SHARD0} in stream clicks "
        f"under account {ACCOUNT} is invalid."
    )
    with pytest.raises(InvalidArgumentException, match=f"^{re.escape(invalid)}$"):
        kinesis.get_shard_iterator(
            "clicks", SHARD0, "AT_SEQUENCE_NUMBER", starting_sequence_number="5"
        )
    kinesis.create_stream("two", shard_count=2)
    elsewhere = kinesis.put_record("two", b"x", "k", explicit_hash_key=str(2**128 - 1))
    wrong = (
        "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a "
        "call to a shard with shardId-000000000000"
    )
    with pytest.raises(InvalidArgumentException, match=f"^{re.escape(wrong)}$"):
        kinesis.get_shard_iterator(
            "two",
            SHARD0,
            "AT_SEQUENCE_NUMBER",
            starting_sequence_number=elsewhere["SequenceNumber"],
        )
    older = str(int(sequence) - 10**40)  # an earlier time: before this shard existed
    with pytest.raises(
        InvalidArgumentException, match=re.escape("because it did not come from this stream.") + "$"
    ):
        kinesis.get_shard_iterator(
            "clicks", SHARD0, "AT_SEQUENCE_NUMBER", starting_sequence_number=older
        )


def test_iterators_expire_after_five_minutes(
    kinesis: KinesisClient, stream: str, clock: FakeClock
) -> None:
    kinesis.put_record("clicks", b"1", "k")
    iterator = kinesis.get_shard_iterator("clicks", SHARD0, "TRIM_HORIZON")["ShardIterator"]
    clock.advance(300)
    answer = kinesis.get_records(iterator)  # exactly 5 minutes: still good
    assert len(answer["Records"]) == 1
    fresh = answer["NextShardIterator"]
    clock.advance(1)
    message = (
        "Iterator expired. The iterator was created at time Sun Jan 05 08:00:00 UTC 2025 while "
        "right now it is Sun Jan 05 08:05:01 UTC 2025 which is further in the future than the "
        "tolerated delay of 300000 milliseconds."
    )
    with pytest.raises(ExpiredIteratorException, match=f"^{re.escape(message)}$") as caught:
        kinesis.get_records(iterator)
    assert caught.value.code == "ExpiredIteratorException"
    kinesis.put_record("clicks", b"2", "k")
    assert [r["Data"] for r in kinesis.get_records(fresh)["Records"]] == [b"2"]


def test_get_records_pages_and_millis_behind(
    kinesis: KinesisClient, stream: str, clock: FakeClock
) -> None:
    for i in range(5):
        kinesis.put_record("clicks", str(i).encode(), "k")
        clock.advance(1)
    iterator = kinesis.get_shard_iterator("clicks", SHARD0, "TRIM_HORIZON")["ShardIterator"]
    page = kinesis.get_records(iterator, limit=2)
    assert [r["Data"] for r in page["Records"]] == [b"0", b"1"]
    assert page["MillisBehindLatest"] == 4000  # the last record returned arrived 4 s ago
    record = page["Records"][0]
    assert record["PartitionKey"] == "k"
    assert record["ApproximateArrivalTimestamp"] == datetime(2025, 1, 5, 8, tzinfo=UTC)
    rest = kinesis.get_records(page["NextShardIterator"])
    assert [r["Data"] for r in rest["Records"]] == [b"2", b"3", b"4"]
    assert rest["MillisBehindLatest"] == 0
    empty = kinesis.get_records(rest["NextShardIterator"])
    assert empty["Records"] == [] and empty["MillisBehindLatest"] == 0
    with pytest.raises(KinesisValidationException, match="less than or equal to 10000"):
        kinesis.get_records(iterator, limit=10001)
    with pytest.raises(InvalidArgumentException, match=r"^Invalid ShardIterator\.$"):
        kinesis.get_records("AAAAAAAAAAE=")
    with pytest.raises(InvalidArgumentException, match=r"^Invalid ShardIterator\.$"):
        kinesis.get_records("not an iterator")
    kinesis.delete_stream("clicks")
    gone = f"^Shard {SHARD0} in stream clicks under account {ACCOUNT} does not exist$"
    with pytest.raises(StreamNotFound, match=gone):
        kinesis.get_records(rest["NextShardIterator"])


# retention ------------------------------------------------------------------------------------
def test_records_are_trimmed_after_the_retention_period(
    kinesis: KinesisClient, stream: str, clock: FakeClock
) -> None:
    kinesis.put_record("clicks", b"old", "k")
    clock.advance(12 * 3600)
    kinesis.put_record("clicks", b"new", "k")
    clock.advance(12 * 3600)  # "old" is 24 hours old now
    assert _records(kinesis, "TRIM_HORIZON") == [b"new"]
    kinesis.increase_stream_retention_period("clicks", 48)
    assert kinesis.describe_stream("clicks")["StreamDescription"]["RetentionPeriodHours"] == 48
    kinesis.put_record("clicks", b"newer", "k")
    clock.advance(30 * 3600)
    assert _records(kinesis, "TRIM_HORIZON") == [b"new", b"newer"]
    kinesis.decrease_stream_retention_period("clicks", 24)
    assert _records(kinesis, "TRIM_HORIZON") == []


def test_retention_rules(kinesis: KinesisClient, stream: str) -> None:
    with pytest.raises(
        InvalidArgumentException,
        match=_exact(
            "Minimum allowed retention period is 24 hours. Requested retention period "
            "(12 hours) is too short."
        ),
    ):
        kinesis.increase_stream_retention_period("clicks", 12)
    with pytest.raises(
        InvalidArgumentException,
        match=_exact(
            "Maximum allowed retention period is 8760 hours. Requested retention period "
            "(8761 hours) is too long."
        ),
    ):
        kinesis.increase_stream_retention_period("clicks", 8761)
    kinesis.increase_stream_retention_period("clicks", 72)
    shorter = (
        "Requested retention period (48 hours) for stream clicks can not be shorter than "
        "existing retention period (72 hours). Use DecreaseRetentionPeriod API."
    )
    with pytest.raises(InvalidArgumentException, match=f"^{re.escape(shorter)}$"):
        kinesis.increase_stream_retention_period("clicks", 48)
    longer = (
        "Requested retention period (96 hours) for stream clicks can not be longer than "
        "existing retention period (72 hours). Use IncreaseRetentionPeriod API."
    )
    with pytest.raises(InvalidArgumentException, match=f"^{re.escape(longer)}$"):
        kinesis.decrease_stream_retention_period("clicks", 96)


# boto3 likeness -------------------------------------------------------------------------------
def test_exceptions_are_reachable_like_boto3(kinesis: KinesisClient) -> None:
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream("missing")
    assert kinesis.exceptions.ResourceNotFoundException is StreamNotFound
    assert issubclass(kinesis.exceptions.ExpiredIteratorException, kinesis.exceptions.ClientError)
    error = StreamNotFound("m")
    assert (error.service, error.status_code, error.to_aws()) == (
        "kinesis",
        400,
        {"Code": "ResourceNotFoundException", "Message": "m"},
    )


def test_answers_fit_botocores_model(kinesis: KinesisClient, clock: FakeClock) -> None:
    botocore_session = pytest.importorskip("botocore.session")
    model = botocore_session.get_session().get_service_model("kinesis")
    kinesis.create_stream("clicks", shard_count=2)
    put = kinesis.put_record("clicks", b"x", "k")
    iterator = kinesis.get_shard_iterator("clicks", put["ShardId"], "TRIM_HORIZON")
    answers = {
        "DescribeStream": kinesis.describe_stream("clicks"),
        "DescribeStreamSummary": kinesis.describe_stream_summary("clicks"),
        "ListStreams": kinesis.list_streams(),
        "ListShards": kinesis.list_shards("clicks", max_results=1),
        "PutRecord": put,
        "PutRecords": kinesis.put_records([{"Data": b"y", "PartitionKey": "k"}], "clicks"),
        "GetShardIterator": iterator,
        "GetRecords": kinesis.get_records(iterator["ShardIterator"]),
    }
    for operation, answer in answers.items():
        shape = model.operation_model(operation).output_shape
        assert conforms(shape, answer) == [], operation
