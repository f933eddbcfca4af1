"""S3 stand-in: global bucket names, objects, listings — with S3's error codes."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.resources import S3Client
from sandbox.resources.errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    IllegalLocationConstraintException,
    InvalidArgument,
    InvalidBucketName,
    KeyTooLongError,
    NoSuchBucket,
    NoSuchKey,
)


@pytest.fixture
def s3(sb: Sandbox) -> S3Client:
    return sb.s3


@pytest.fixture
def bucket(s3: S3Client) -> str:
    s3.create_bucket("failures")
    return "failures"


# buckets --------------------------------------------------------------------------------------
def test_create_and_list_buckets(s3: S3Client, clock: FakeClock) -> None:
    assert s3.create_bucket("failures") == {"Location": "/failures"}
    s3.create_bucket("archive")
    listing = s3.list_buckets()
    created = datetime.fromtimestamp(int(clock.time()), UTC)
    assert listing["Buckets"] == [
        {"Name": "archive", "CreationDate": created, "BucketRegion": "us-east-1"},
        {"Name": "failures", "CreationDate": created, "BucketRegion": "us-east-1"},
    ]
    assert re.fullmatch(r"[0-9a-f]{64}", listing["Owner"]["ID"])


def test_recreating_your_own_bucket(sb: Sandbox, s3: S3Client, bucket: str) -> None:
    assert s3.create_bucket(bucket) == {"Location": "/failures"}  # us-east-1: 200, no-op
    west = S3Client(sb._shared.db, sb.clock, sb.account_id, "eu-west-1")
    west.create_bucket("west-bucket", {"LocationConstraint": "eu-west-1"})
    message = "Your previous request to create the named bucket succeeded and you already own it."
    with pytest.raises(BucketAlreadyOwnedByYou, match=f"^{re.escape(message)}$") as caught:
        west.create_bucket("west-bucket", {"LocationConstraint": "eu-west-1"})
    assert caught.value.status_code == 409


def test_bucket_names_are_global(sb: Sandbox, bucket: str) -> None:
    other = sb.for_account("210987654321").s3
    with pytest.raises(BucketAlreadyExists, match="The requested bucket name is not available"):
        other.create_bucket(bucket)
    assert other.list_buckets()["Buckets"] == []
    for call in (
        lambda: other.put_object(bucket, "k", b"x"),
        lambda: other.get_object(bucket, "k"),
        lambda: other.list_objects_v2(bucket),
        lambda: other.delete_object(bucket, "k"),
        lambda: other.delete_bucket(bucket),
    ):
        with pytest.raises(AccessDenied, match=r"^Access Denied$"):
            call()


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Upper",
        "under_score",
        "-start",
        "end-",
        "two..dots",
        "192.168.5.4",
        "xn--punycode",
        "sthree-bucket",
        "amzn-s3-demo-bucket",
        "name-s3alias",
        "name--ol-s3",
        "name.mrap",
        "name--x-s3",
        "name--table-s3",
    ],
)
def test_bucket_naming_rules(s3: S3Client, name: str) -> None:
    with pytest.raises(InvalidBucketName, match=r"^The specified bucket is not valid\.$"):
        s3.create_bucket(name)


def test_valid_bucket_names(s3: S3Client) -> None:
    for name in ("abc", "a" * 63, "my.bucket-1", "192.168.5"):
        s3.create_bucket(name)


def test_location_constraints(sb: Sandbox, s3: S3Client) -> None:
    west = S3Client(sb._shared.db, sb.clock, sb.account_id, "eu-west-1")
    message = "The unspecified location constraint is incompatible for the region specific"
    with pytest.raises(IllegalLocationConstraintException, match=message):
        west.create_bucket("west-bucket")
    with pytest.raises(IllegalLocationConstraintException, match="The eu-west-2 location"):
        west.create_bucket("west-bucket", {"LocationConstraint": "eu-west-2"})
    assert west.create_bucket("west-bucket", {"LocationConstraint": "eu-west-1"}) == {
        "Location": "http://west-bucket.s3.amazonaws.com/"
    }
    assert s3.list_buckets()["Buckets"][0]["BucketRegion"] == "eu-west-1"


def test_delete_bucket(s3: S3Client, bucket: str) -> None:
    s3.put_object(bucket, "k", b"x")
    with pytest.raises(BucketNotEmpty, match=r"^The bucket you tried to delete is not empty$"):
        s3.delete_bucket(bucket)
    s3.delete_object(bucket, "k")
    s3.delete_bucket(bucket)
    with pytest.raises(NoSuchBucket, match=r"^The specified bucket does not exist$") as caught:
        s3.delete_bucket(bucket)
    assert (caught.value.code, caught.value.status_code) == ("NoSuchBucket", 404)


# objects --------------------------------------------------------------------------------------
def test_put_and_get_an_object(s3: S3Client, bucket: str, clock: FakeClock) -> None:
    clock.advance(0.75)
    body = b'{"requestContext": {}}'
    etag = '"' + hashlib.md5(body).hexdigest() + '"'
    assert s3.put_object(bucket, "records/1.json", body, content_type="application/json") == {
        "ETag": etag
    }
    assert s3.get_object(bucket, "records/1.json") == {
        "Body": body,
        "ContentLength": len(body),
        "ETag": etag,
        "LastModified": datetime(2025, 1, 5, 8, 0, 0, tzinfo=UTC),  # whole seconds
        "ContentType": "application/json",
    }


def test_text_bodies_and_the_default_content_type(s3: S3Client, bucket: str) -> None:
    s3.put_object(bucket, "note.txt", "héllo")
    found = s3.get_object(bucket, "note.txt")
    assert found["Body"] == "héllo".encode()
    assert found["ContentType"] == "binary/octet-stream"
    s3.put_object(bucket, "note.txt", b"replaced")
    assert s3.get_object(bucket, "note.txt")["Body"] == b"replaced"


def test_object_errors(s3: S3Client, bucket: str) -> None:
    with pytest.raises(NoSuchKey, match=r"^The specified key does not exist\.$") as caught:
        s3.get_object(bucket, "missing")
    assert caught.value.status_code == 404
    with pytest.raises(NoSuchBucket):
        s3.get_object("no-such-bucket", "k")
    with pytest.raises(NoSuchBucket):
        s3.put_object("no-such-bucket", "k", b"x")
    with pytest.raises(KeyTooLongError, match=r"^Your key is too long$"):
        s3.put_object(bucket, "é" * 513, b"x")  # 1,026 bytes
    s3.put_object(bucket, "k" * 1024, b"x")
    with pytest.raises(InvalidArgument, match="Invalid length for parameter Key"):
        s3.put_object(bucket, "", b"x")
    with pytest.raises(InvalidArgument, match="Invalid type for parameter Body"):
        s3.put_object(bucket, "k", 42)  # type: ignore[arg-type]


def test_delete_object_is_idempotent(s3: S3Client, bucket: str) -> None:
    s3.put_object(bucket, "k", b"x")
    s3.delete_object(bucket, "k")
    s3.delete_object(bucket, "k")
    with pytest.raises(NoSuchKey):
        s3.get_object(bucket, "k")


# listings -------------------------------------------------------------------------------------
def test_list_objects_v2(s3: S3Client, bucket: str) -> None:
    assert s3.list_objects_v2(bucket) == {
        "IsTruncated": False,
        "Name": bucket,
        "Prefix": "",
        "MaxKeys": 1000,
        "KeyCount": 0,
    }
    for key in ("b/2", "a", "b/1", "é", "Z"):
        s3.put_object(bucket, key, key.encode())
    listing = s3.list_objects_v2(bucket)
    assert [o["Key"] for o in listing["Contents"]] == ["Z", "a", "b/1", "b/2", "é"]  # UTF-8 order
    assert listing["Contents"][0] == {
        "Key": "Z",
        "LastModified": datetime(2025, 1, 5, 8, 0, 0, tzinfo=UTC),
        "ETag": '"' + hashlib.md5(b"Z").hexdigest() + '"',
        "Size": 1,
        "StorageClass": "STANDARD",
    }
    prefixed = s3.list_objects_v2(bucket, prefix="b/")
    assert [o["Key"] for o in prefixed["Contents"]] == ["b/1", "b/2"]
    assert (prefixed["Prefix"], prefixed["KeyCount"]) == ("b/", 2)
    after = s3.list_objects_v2(bucket, start_after="b/1")
    assert [o["Key"] for o in after["Contents"]] == ["b/2", "é"]
    assert after["StartAfter"] == "b/1"


def test_list_objects_v2_pages(s3: S3Client, bucket: str) -> None:
    for i in range(5):
        s3.put_object(bucket, f"k{i}", b"x")
    keys: list[str] = []
    token = None
    pages = 0
    while True:
        page = s3.list_objects_v2(bucket, max_keys=2, continuation_token=token)
        keys += [o["Key"] for o in page["Contents"]]
        pages += 1
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
        assert page["KeyCount"] == 2
    assert (keys, pages) == ([f"k{i}" for i in range(5)], 3)
    with pytest.raises(InvalidArgument, match="The continuation token provided is incorrect"):
        s3.list_objects_v2(bucket, continuation_token="bogus")


def test_buckets_and_objects_survive_reopening(tmp_path: Path) -> None:
    with Sandbox(tmp_path, clock=FakeClock()) as sb:
        sb.s3.create_bucket("failures")
        sb.s3.put_object("failures", "r.json", b"{}")
    with Sandbox(tmp_path, clock=FakeClock()) as sb:
        assert sb.s3.get_object("failures", "r.json")["Body"] == b"{}"
        assert [b["Name"] for b in sb.s3.list_buckets()["Buckets"]] == ["failures"]
