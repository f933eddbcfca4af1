"""What every part of the function control plane shares: the store, the scope, the rules.

:class:`FunctionScope` holds the store handles of one account in one region and the small
helpers every operation uses (name resolution, preconditions, pagination, change events);
the operations themselves live in mixins by concept — :mod:`functions`, :mod:`versions`,
:mod:`aliases`, :mod:`concurrency` — joined in :class:`~sandbox.service.functions.FunctionService`.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sandbox.core.arns import LATEST, FunctionRef, function_arn, parse_function_name
from sandbox.core.clock import Clock, iso8601
from sandbox.core.models import AliasConfiguration, FunctionConfiguration
from sandbox.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceNotFoundException,
)
from sandbox.service.layers import LayerService
from sandbox.service.paging import page_size, paginate
from sandbox.store.artifacts import ArtifactStore
from sandbox.store.db import Database
from sandbox.store.functions import FunctionRows

__all__ = ["FunctionChange", "FunctionScope", "ResolvedFunction"]

T = TypeVar("T")
_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. Call the "
    "GetFunction/GetAlias API to retrieve the latest Revision Id"
)


@dataclass(frozen=True, slots=True)
class FunctionChange:
    """What changed, for listeners: ``kind`` is ``created``, ``code``, ``configuration``,
    ``published``, ``alias``, ``deleted`` or ``version-deleted``."""

    kind: str
    account_id: str
    region: str
    function_name: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedFunction:
    """An invocation target before weighted routing.

    ``ref`` is what the caller wrote (its qualifier, if any, kept verbatim); ``config`` is
    the primary version's configuration; ``alias`` is set when the qualifier named one.
    """

    ref: FunctionRef
    config: FunctionConfiguration
    alias: AliasConfiguration | None = None


class FunctionScope:
    """Store handles and shared helpers of one account in one region.

    Args:
        db: the embedded store.
        artifacts: where code zips live, content-addressed.
        clock: platform time for ``LastModified``.
        account_id, region: the scope every name is resolved in.
        new_id: makes RevisionIds (a seam for deterministic tests).
    """

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        clock: Clock,
        *,
        account_id: str,
        region: str,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._db = db
        self._artifacts = artifacts
        self._clock = clock
        self.account_id = account_id
        self.region = region
        self._new_id = new_id
        self._rows = FunctionRows((account_id, region))
        self.layer_service = LayerService(
            db, artifacts, clock, account_id=account_id, region=region, new_id=new_id
        )
        self._listeners: list[Callable[[FunctionChange], None]] = []
        # resolve() results, valid while the store is unchanged (the invoke hot path)
        self._resolved: dict[tuple[str, str | None], ResolvedFunction] = {}
        self._resolved_stamp: tuple[int, int] = (-1, -1)

    def subscribe(self, listener: Callable[[FunctionChange], None]) -> None:
        """Call ``listener`` after every committed change."""
        self._listeners.append(listener)

    def _emit(self, kind: str, ref: FunctionRef, version: str | None = None) -> None:
        change = FunctionChange(kind, ref.account_id, ref.region, ref.name, version)
        for listener in list(self._listeners):
            listener(change)

    def _ref(
        self,
        function_name: str,
        qualifier: str | None = None,
        *,
        namespaced: bool = True,
        create: bool = False,
    ) -> FunctionRef:
        return parse_function_name(
            function_name,
            region=self.region,
            account_id=self.account_id,
            qualifier=qualifier,
            namespaced=namespaced,
            long_names_are_missing=not create,
        )

    def _rows_for(self, ref: FunctionRef) -> FunctionRows:
        if ref.account_id == self.account_id:
            return self._rows
        return FunctionRows((ref.account_id, ref.region))

    def _latest(self, conn: sqlite3.Connection, ref: FunctionRef) -> FunctionConfiguration:
        doc = self._rows_for(ref).latest(conn, ref.name)
        if doc is None:
            raise ResourceNotFoundException(f"Function not found: {ref.unqualified_arn}")
        return FunctionConfiguration.from_aws(doc)

    def _now(self) -> str:
        return iso8601(self._clock.time())

    def _version_config(
        self,
        conn: sqlite3.Connection,
        rows: FunctionRows,
        ref: FunctionRef,
        version: str,
        latest: FunctionConfiguration,
    ) -> FunctionConfiguration:
        if version == LATEST:
            return latest
        doc = rows.version(conn, ref.name, int(version))
        if doc is None:
            raise ResourceNotFoundException(
                f"Function not found: {function_arn(ref.region, ref.account_id, ref.name, version)}"
            )
        return FunctionConfiguration.from_aws(doc)

    _page_size = staticmethod(page_size)
    _paginate = staticmethod(paginate)

    @staticmethod
    def _only_latest(ref: FunctionRef, operation: str) -> None:
        if ref.qualifier is not None:
            raise InvalidParameterValueException(
                f"Qualifier is not supported for the {operation} operation. "
                "Only $LATEST can be changed."
            )

    @staticmethod
    def _unqualified(ref: FunctionRef, operation: str) -> None:
        if ref.qualifier is not None:
            raise InvalidParameterValueException(
                f"Qualifier is not supported for the {operation} operation: pass the "
                "function's name or unqualified ARN."
            )

    @staticmethod
    def _check_revision(current: str, expected: str | None) -> None:
        if expected is not None and expected != current:
            raise PreconditionFailedException(_REVISION_MISMATCH)
