"""A local Amazon S3: buckets of objects, enough to receive Lambda's on-failure records.

Why it exists: since November 2024 an S3 bucket can be a Lambda on-failure destination;
Lambda writes each invocation record as an object. A student lists the bucket and reads the
object, with the calls and answers of boto3's ``s3`` client. Bucket names are global (one
namespace for every account, as in S3); objects live in the sandbox's store.

Event notifications to Lambda are in :mod:`sandbox.resources.notifications`: a write or
delete that a bucket's configuration matches invokes the function once the change is
stored.

Not yet: versioning, multipart uploads, delimiters in listings, metadata, ACLs and bucket
policies.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import sqlite3
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, ClassVar

from sandbox.resources import errors
from sandbox.resources.client import ResourceClient
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
from sandbox.resources.notifications import NotificationsMixin, bucket_deliveries, object_exists
from sandbox.store import resource_admin as admin
from sandbox.store import resources
from sandbox.store.resource_rows import BucketRow, get_bucket

__all__ = ["S3Client"]

# S3 User Guide, "General purpose bucket naming rules"
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_MAX_KEY_BYTES = 1024


class S3Client(NotificationsMixin, ResourceClient):
    """Amazon S3 for one account and region: boto3's ``s3`` client in snake_case.

    ``triggers`` invokes the functions a bucket notifies; without one (a client made on its
    own) writes and deletes notify nobody.

    One deliberate simplification: :meth:`get_object` returns ``Body`` as ``bytes``, where
    boto3 returns a ``StreamingBody`` to ``.read()``.

    Example:
        >>> sb.s3.create_bucket("failures")  # doctest: +SKIP
        >>> sb.s3.put_object("failures", "a.json", b"{}")["ETag"]  # doctest: +SKIP
        '"99914b932bd37a50b983c5e7c90ae93b"'
    """

    exceptions: ClassVar[ModuleType] = errors
    """The exception classes, as boto3's ``client.exceptions``."""

    # buckets --------------------------------------------------------------------------------
    def create_bucket(
        self, bucket: str, create_bucket_configuration: dict[str, str] | None = None
    ) -> dict[str, str]:
        """Create a bucket in this client's region. Outside ``us-east-1`` S3 wants the
        region as ``{"LocationConstraint": region}``, and so does the sandbox.

        Raises:
            InvalidBucketName: the name breaks S3's naming rules.
            IllegalLocationConstraintException: the location constraint is missing or names
                another region.
            BucketAlreadyOwnedByYou: you own it already (in ``us-east-1`` S3 answers 200 and
                changes nothing instead, for legacy reasons, and so does the sandbox).
            BucketAlreadyExists: another account owns a bucket of that name.
        """
        _check_bucket_name(bucket)
        constraint = (create_bucket_configuration or {}).get("LocationConstraint")
        if constraint is None and self.region != "us-east-1":
            raise IllegalLocationConstraintException(
                "The unspecified location constraint is incompatible for the region specific "
                "endpoint this request was sent to."
            )
        if constraint is not None and constraint != self.region:
            raise IllegalLocationConstraintException(
                f"The {constraint} location constraint is incompatible for the region specific "
                "endpoint this request was sent to."
            )
        with self._db.transaction() as conn:
            existing = get_bucket(conn, bucket)
            if existing is None:
                admin.create_bucket(
                    conn,
                    bucket,
                    account=self.account_id,
                    region=self.region,
                    now=self._clock.time(),
                )
            elif existing.account != self.account_id:
                raise BucketAlreadyExists(
                    "The requested bucket name is not available. The bucket namespace is shared "
                    "by all users of the system. Please select a different name and try again."
                )
            elif self.region != "us-east-1":  # CreateBucket reference, BucketAlreadyOwnedByYou
                raise BucketAlreadyOwnedByYou(
                    "Your previous request to create the named bucket succeeded and you already "
                    "own it."
                )
        if self.region == "us-east-1":
            return {"Location": f"/{bucket}"}
        return {"Location": f"http://{bucket}.s3.amazonaws.com/"}

    def list_buckets(self) -> dict[str, Any]:
        """This account's buckets (every region), by name, and their owner."""
        with self._db.read() as conn:
            buckets = admin.list_buckets(conn, self.account_id)
        return {
            "Buckets": [
                {
                    "Name": b.name,
                    "CreationDate": datetime.fromtimestamp(int(b.created), UTC),
                    "BucketRegion": b.region,
                }
                for b in buckets
            ],
            "Owner": {"ID": _canonical_id(self.account_id)},
        }

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket.

        Raises:
            NoSuchBucket: no such bucket.
            AccessDenied: another account's bucket.
            BucketNotEmpty: it still holds objects.
        """
        with self._db.transaction() as conn:
            self._bucket(conn, bucket)
            if not admin.bucket_is_empty(conn, bucket):
                raise BucketNotEmpty("The bucket you tried to delete is not empty")
            admin.delete_bucket(conn, bucket)

    # objects --------------------------------------------------------------------------------
    def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes | bytearray | str = b"",
        content_type: str | None = None,
    ) -> dict[str, str]:
        """Write an object (text is stored as UTF-8), replacing any of that key.

        Raises:
            NoSuchBucket, AccessDenied: no such bucket, or another account's.
            KeyTooLongError: a key over 1,024 bytes.
            InvalidArgument: an empty key or a body that is not bytes or text.
        """
        _check_key(key)
        if isinstance(body, str):
            data = body.encode()
        elif isinstance(body, bytes | bytearray):
            data = bytes(body)
        else:
            raise InvalidArgument(
                f"Invalid type for parameter Body, value: {body!r}, type: {type(body)}, valid "
                "types: <class 'bytes'>, <class 'bytearray'>, <class 'str'>"
            )
        with self._db.transaction() as conn:
            self._bucket(conn, bucket)
            now = self._clock.time()
            etag = resources.put_object(
                conn,
                bucket,
                key,
                data,
                now=now,
                content_type=content_type or "binary/octet-stream",
            )
            notify = bucket_deliveries(
                conn,
                bucket,
                key,
                "ObjectCreated:Put",
                now=now,
                requester=self.account_id,
                size=len(data),
                etag=etag,
            )
        if self._triggers is not None:
            self._triggers.deliver_all(notify)
        return {"ETag": etag}

    def get_object(self, bucket: str, key: str) -> dict[str, Any]:
        """Read an object: ``Body`` (bytes, not boto3's StreamingBody), ``ContentLength``,
        ``ETag``, ``LastModified`` (a UTC datetime, whole seconds as in the HTTP header)
        and ``ContentType``.

        Raises:
            NoSuchBucket, AccessDenied: no such bucket, or another account's.
            NoSuchKey: no such object.
        """
        with self._db.read() as conn:
            self._bucket(conn, bucket)
            found = admin.get_object(conn, bucket, key)
        if found is None:
            raise NoSuchKey("The specified key does not exist.")
        return {
            "Body": found.body,
            "ContentLength": found.size,
            "ETag": found.etag,
            "LastModified": datetime.fromtimestamp(int(found.last_modified), UTC),
            "ContentType": found.content_type,
        }

    def list_objects_v2(
        self,
        bucket: str,
        prefix: str | None = None,
        max_keys: int = 1000,
        continuation_token: str | None = None,
        start_after: str | None = None,
    ) -> dict[str, Any]:
        """The objects whose keys start with ``prefix``, in UTF-8 byte order of their keys,
        at most ``max_keys`` (up to 1,000) a page; follow ``NextContinuationToken`` while
        ``IsTruncated``. ``Contents`` is left out when nothing matches, as S3 does.

        Raises:
            NoSuchBucket, AccessDenied: no such bucket, or another account's.
            InvalidArgument: a continuation token this bucket did not hand out.
        """
        after = start_after or ""
        if continuation_token is not None:
            after = _token_key(continuation_token)
        limit = max(0, min(max_keys, 1000))
        with self._db.read() as conn:
            self._bucket(conn, bucket)
            found = admin.list_objects(
                conn, bucket, prefix=prefix or "", after=after, limit=limit + 1
            )
        page, truncated = found[:limit], len(found) > limit
        listing: dict[str, Any] = {"IsTruncated": truncated}
        if page:
            listing["Contents"] = [
                {
                    "Key": o.key,
                    "LastModified": datetime.fromtimestamp(round(o.last_modified, 3), UTC),
                    "ETag": o.etag,
                    "Size": o.size,
                    "StorageClass": "STANDARD",
                }
                for o in page
            ]
        listing.update(Name=bucket, Prefix=prefix or "", MaxKeys=max_keys, KeyCount=len(page))
        if continuation_token is not None:
            listing["ContinuationToken"] = continuation_token
        if truncated:
            listing["NextContinuationToken"] = _token(page[-1].key)
        if start_after is not None:
            listing["StartAfter"] = start_after
        return listing

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete an object; deleting a key that does not exist is not an error (and
        notifies nobody).

        Raises:
            NoSuchBucket, AccessDenied: no such bucket, or another account's.
        """
        notify = []
        with self._db.transaction() as conn:
            self._bucket(conn, bucket)
            if object_exists(conn, bucket, key):
                admin.delete_object(conn, bucket, key)
                notify = bucket_deliveries(
                    conn,
                    bucket,
                    key,
                    "ObjectRemoved:Delete",
                    now=self._clock.time(),
                    requester=self.account_id,
                )
        if self._triggers is not None:
            self._triggers.deliver_all(notify)

    # helpers --------------------------------------------------------------------------------
    def _bucket(self, conn: sqlite3.Connection, bucket: str) -> BucketRow:
        found = get_bucket(conn, bucket)
        if found is None:
            raise NoSuchBucket("The specified bucket does not exist")
        if found.account != self.account_id:  # no bucket policies: other accounts are denied
            raise AccessDenied("Access Denied")
        return found

    def __repr__(self) -> str:
        return f"<S3Client {self.account_id} {self.region}>"


def _check_bucket_name(name: str) -> None:
    invalid = InvalidBucketName("The specified bucket is not valid.")
    if not isinstance(name, str) or not _BUCKET_NAME.fullmatch(name) or ".." in name:
        raise invalid
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        raise invalid
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return
    raise invalid  # formatted as an IP address


def _check_key(key: str) -> None:
    if not isinstance(key, str) or key == "":
        raise InvalidArgument("Invalid length for parameter Key, value: 0, valid min length: 1")
    if len(key.encode()) > _MAX_KEY_BYTES:
        raise KeyTooLongError("Your key is too long")


def _canonical_id(account_id: str) -> str:
    """A stand-in for the account's canonical user ID (64 hex digits on S3)."""
    return hashlib.sha256(f"canonical:{account_id}".encode()).hexdigest()


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(f"after:{key}".encode()).decode()


def _token_key(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    if not text.startswith("after:"):
        raise InvalidArgument("The continuation token provided is incorrect")
    return text[len("after:") :]
