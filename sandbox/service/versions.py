"""Versions: ``PublishVersion`` and ``ListVersionsByFunction`` (spec §5).

``$LATEST`` is the one mutable version; publishing freezes it as the next number, never
reusing one, and publishing again without a change returns the last version unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3

from sandbox.core.arns import LATEST, FunctionRef, function_arn
from sandbox.core.models import FunctionConfiguration, VersionList
from sandbox.core.validation import validate_description
from sandbox.errors import InvalidParameterValueException
from sandbox.service.scope import FunctionScope

__all__ = ["VersionsMixin"]


class VersionsMixin(FunctionScope):
    """The version operations of :class:`~sandbox.service.functions.FunctionService`."""

    def publish_version(
        self,
        function_name: str,
        *,
        code_sha256: str | None = None,
        description: str | None = None,
        revision_id: str | None = None,
    ) -> FunctionConfiguration:
        """PublishVersion: snapshot ``$LATEST`` as the next numbered version (spec §5)."""
        ref = self._ref(function_name, namespaced=False)
        self._only_latest(ref, "PublishVersion")
        if description is not None:
            validate_description(description)
        with self._db.transaction() as conn:
            latest = self._latest(conn, ref)
            if code_sha256 is not None and code_sha256 != latest.code_sha256:
                raise InvalidParameterValueException(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
                    f"({latest.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
                )
            self._check_revision(latest.revision_id, revision_id)
            before = self._last_version(conn, ref)
            published = self._publish(conn, ref, latest, description)
        if before is None or published.version != before.version:
            self._emit("published", ref, published.version)
        return published

    def _last_version(
        self, conn: sqlite3.Connection, ref: FunctionRef
    ) -> FunctionConfiguration | None:
        versions = self._rows_for(ref).versions(conn, ref.name)
        return FunctionConfiguration.from_aws(versions[-1]) if versions else None

    @staticmethod
    def _fingerprint(config: FunctionConfiguration) -> str:
        return hashlib.sha256(repr(config.publishable_fingerprint()).encode()).hexdigest()

    def _publish(
        self,
        conn: sqlite3.Connection,
        ref: FunctionRef,
        latest: FunctionConfiguration,
        description: str | None,
    ) -> FunctionConfiguration:
        rows = self._rows_for(ref)
        fingerprint = self._fingerprint(latest)
        versions = rows.versions(conn, ref.name)
        if versions and versions[-1].get("X-Sandbox-Source") == fingerprint:
            # spec §5: nothing changed since the last publish -> that version, unchanged.
            return FunctionConfiguration.from_aws(versions[-1])
        number = rows.take_version_number(conn, ref.name)
        version = dataclasses.replace(
            latest,
            version=str(number),
            function_arn=function_arn(ref.region, ref.account_id, ref.name, str(number)),
            description=latest.description if description is None else description,
            revision_id=self._new_id(),
            last_modified=self._now(),
        )
        doc = version.to_record()
        doc["X-Sandbox-Source"] = fingerprint
        rows.insert_version(conn, ref.name, number, doc)
        return version

    def list_versions_by_function(
        self, function_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> VersionList:
        """ListVersionsByFunction: ``$LATEST`` (ARN ending ``:$LATEST``) then each version."""
        ref = self._ref(function_name)
        self._unqualified(ref, "ListVersionsByFunction")
        limit = self._page_size(max_items, 50)
        with self._db.read() as conn:
            latest = self._latest(conn, ref)
            items = [
                dataclasses.replace(latest, function_arn=latest.unqualified_arn + ":" + LATEST)
            ]
            items.extend(
                FunctionConfiguration.from_aws(v)
                for v in self._rows_for(ref).versions(conn, ref.name)
            )
        page, next_marker = self._paginate(items, marker, limit)
        return VersionList(tuple(page), next_marker)

    # aliases ----------------------------------------------------------------------------
