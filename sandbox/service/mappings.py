"""The control plane of event source mappings (spec §8.2-8.4).

Create (202, ``Creating``), Get, Update (202, ``Updating``), Delete (202, ``Deleting``) and
List, with AWS's validation and messages; a mixin of
:class:`~sandbox.service.functions.FunctionService`. The states then move on by
themselves — ``Creating``/``Updating`` to ``Enabled`` or ``Disabled``, ``Deleting`` to gone
— when the mapping runner (:mod:`sandbox.service.pollers.runner`) starts, reconfigures or
stops the mapping's poller; it hears of every change through the ``mapping`` change event.
"""

from __future__ import annotations

import sqlite3
import uuid as uuidlib
from dataclasses import dataclass, replace
from typing import Any

from sandbox.core.arns import LATEST, FunctionRef, QualifierKind, qualifier_kind
from sandbox.core.mappings import (
    EventSourceMapping,
    SourceKind,
    State,
    settings,
    source_kind,
    user_reason,
)
from sandbox.core.models import AliasConfiguration, FunctionConfiguration
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from sandbox.service.scope import FunctionScope
from sandbox.store import mapping_rows

__all__ = ["EventSourceMappingList", "MappingsMixin"]

_MISSING = "The resource you requested does not exist."
_NO_QUEUE = (
    "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService."
    "NonExistentQueue. Error Message: The specified queue does not exist or you do not have "
    "access to it."
)


@dataclass(frozen=True, slots=True)
class EventSourceMappingList:
    event_source_mappings: tuple[EventSourceMapping, ...]
    next_marker: str | None = None

    def to_aws(self) -> dict[str, object]:
        out: dict[str, object] = {
            "EventSourceMappings": [m.to_aws() for m in self.event_source_mappings]
        }
        if self.next_marker:
            out["NextMarker"] = self.next_marker
        return out


class MappingsMixin(FunctionScope):
    """Event source mappings of the functions of one account."""

    def create_event_source_mapping(
        self, function_name: str, event_source_arn: str, *, enabled: bool = True, **given: Any
    ) -> EventSourceMapping:
        """CreateEventSourceMapping: answers ``Creating``; the poller starts at once."""
        kind = source_kind(event_source_arn)
        with self._db.transaction() as conn:
            ref, config = self._mapping_target(conn, function_name)
            fifo = self._check_source(conn, kind, event_source_arn, config)
            for _, _, _, text in mapping_rows.list_mappings(conn, source_arn=event_source_arn):
                other = EventSourceMapping.from_stored("", "", "", text)
                if other.function_arn == ref.arn:
                    existing = _uuid_of(conn, event_source_arn, ref.arn)
                    raise ResourceConflictException(
                        f'An event source mapping with {kind.label} arn (" {event_source_arn} ") '
                        f'and function (" {ref.name} ") already exists. Please update or '
                        f"delete the existing mapping with UUID {existing}"
                    )
            values = settings(kind, given, fifo=fifo)
            now = self._clock.time()
            mapping = EventSourceMapping(
                uuid=str(uuidlib.uuid4()),
                kind=kind,
                event_source_arn=event_source_arn,
                function_arn=ref.arn,
                account_id=self.account_id,
                region=self.region,
                state=State.CREATING,
                state_transition_reason=user_reason(kind),
                last_modified=now,
                **values,
            )
            mapping = replace(mapping, wanted_enabled=enabled)
            mapping_rows.put_mapping(
                conn,
                mapping.uuid,
                self.account_id,
                self.region,
                ref.name,
                event_source_arn,
                mapping.stored(),
                now,
            )
        self._emit("mapping", ref)
        return mapping

    def get_event_source_mapping(self, uuid: str) -> EventSourceMapping:
        """GetEventSourceMapping."""
        with self._db.read() as conn:
            return self._mapping(conn, uuid)

    def update_event_source_mapping(
        self,
        uuid: str,
        *,
        function_name: str | None = None,
        enabled: bool | None = None,
        **given: Any,
    ) -> EventSourceMapping:
        """UpdateEventSourceMapping: answers ``Updating``; the poller picks the change up."""
        for key in ("starting_position", "starting_position_timestamp"):
            if given.get(key) is not None:
                raise InvalidParameterValueException(
                    "Unsupported StartingPosition parameter for update: create a new mapping."
                )
        with self._db.transaction() as conn:
            current = self._mapping(conn, uuid)
            if current.state in (State.CREATING, State.UPDATING, State.DELETING):
                raise ResourceInUseException(
                    f"Cannot update the event source mapping {uuid}: it is {current.state}. "
                    "Please try again later."
                )
            function_arn, name = current.function_arn, _function_name(current.function_arn)
            if function_name is not None:
                ref, config = self._mapping_target(conn, function_name)
                function_arn, name = ref.arn, ref.name
            else:
                ref, config = self._mapping_target(conn, current.function_arn)
            fifo = self._check_source(conn, current.kind, current.event_source_arn, config)
            values = settings(current.kind, given, fifo=fifo, current=current)
            wanted = (
                current.state in (State.ENABLED, State.ENABLING) if enabled is None else enabled
            )
            mapping = EventSourceMapping(
                uuid=uuid,
                kind=current.kind,
                event_source_arn=current.event_source_arn,
                function_arn=function_arn,
                account_id=current.account_id,
                region=current.region,
                state=State.UPDATING,
                state_transition_reason=user_reason(current.kind),
                last_modified=self._clock.time(),
                last_processing_result=current.last_processing_result,
                **values,
            )
            mapping = replace(mapping, wanted_enabled=wanted)
            mapping_rows.put_mapping(
                conn,
                uuid,
                current.account_id,
                current.region,
                name,
                current.event_source_arn,
                mapping.stored(),
                self._clock.time(),
            )
        self._emit("mapping", ref)
        return mapping

    def delete_event_source_mapping(self, uuid: str) -> EventSourceMapping:
        """DeleteEventSourceMapping: answers ``Deleting``; it is gone once its poller stops."""
        with self._db.transaction() as conn:
            current = self._mapping(conn, uuid)
            if current.state is State.DELETING:
                raise ResourceInUseException(
                    f"Cannot delete the event source mapping {uuid}: it is being deleted."
                )
            mapping = current.with_state(State.DELETING, user_reason(current.kind))
            mapping_rows.put_mapping(
                conn,
                uuid,
                current.account_id,
                current.region,
                _function_name(current.function_arn),
                current.event_source_arn,
                mapping.stored(),
                self._clock.time(),
            )
        self._emit("mapping", self._ref(_function_name(current.function_arn), namespaced=False))
        return mapping

    def list_event_source_mappings(
        self,
        *,
        event_source_arn: str | None = None,
        function_name: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> EventSourceMappingList:
        """ListEventSourceMappings, filtered by source and/or function (100 per page)."""
        limit = self._page_size(max_items, 100)
        ref = None if function_name is None else self._ref(function_name, namespaced=False)
        with self._db.read() as conn:
            rows = mapping_rows.list_mappings(
                conn,
                account=self.account_id,
                region=self.region,
                source_arn=event_source_arn,
                function_name=None if ref is None else ref.name,
            )
        mappings = [EventSourceMapping.from_stored(u, a, r, t) for u, a, r, t in rows]
        if ref is not None and ref.qualifier is not None:
            mappings = [m for m in mappings if m.function_arn == ref.arn]
        page, next_marker = self._paginate(mappings, marker, limit)
        return EventSourceMappingList(tuple(page), next_marker)

    # helpers ------------------------------------------------------------------------------
    def _mapping(self, conn: sqlite3.Connection, uuid: str) -> EventSourceMapping:
        row = mapping_rows.get_mapping(conn, uuid)
        if row is None or row[1] != self.account_id:
            raise ResourceNotFoundException(_MISSING)
        return EventSourceMapping.from_stored(*row)

    def _mapping_target(
        self, conn: sqlite3.Connection, function_name: str
    ) -> tuple[FunctionRef, FunctionConfiguration]:
        """The function a mapping invokes (a name, ARN, version or alias) and the
        configuration its qualifier runs."""
        ref = self._ref(function_name, namespaced=False)
        latest = self._latest(conn, ref)
        if ref.qualifier is None or ref.qualifier == LATEST:
            return ref, latest
        rows = self._rows_for(ref)
        if qualifier_kind(ref.qualifier) is QualifierKind.VERSION:
            return ref, self._version_config(conn, rows, ref, ref.qualifier, latest)
        doc = rows.alias(conn, ref.name, ref.qualifier)
        if doc is None:
            raise ResourceNotFoundException(f"Function not found: {ref.arn}")
        alias = AliasConfiguration.from_aws(doc)
        return ref, self._version_config(conn, rows, ref, alias.function_version, latest)

    @staticmethod
    def _check_source(
        conn: sqlite3.Connection, kind: SourceKind, arn: str, config: FunctionConfiguration
    ) -> bool:
        """The source exists (and a queue hides messages long enough); True for FIFO."""
        if kind is SourceKind.SQS:
            from sandbox.store import queue_rows

            info = queue_rows.queue_info(conn, arn)
            if info is None:
                raise InvalidParameterValueException(_NO_QUEUE)
            if info.visibility_timeout < config.timeout:
                raise InvalidParameterValueException(
                    f"Queue visibility timeout: {info.visibility_timeout} seconds is less than "
                    f"Function timeout: {config.timeout} seconds"
                )
            return bool(info.fifo)
        from sandbox.store import stream_rows

        if not stream_rows.stream_exists(conn, arn):
            raise InvalidParameterValueException(
                f"Cannot access stream {arn}. Please ensure the role can perform the "
                "GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on "
                "your stream."
            )
        return False


def _function_name(function_arn: str) -> str:
    return function_arn.split(":")[6]


def _uuid_of(conn: sqlite3.Connection, source_arn: str, function_arn: str) -> str:
    for uuid, a, r, text in mapping_rows.list_mappings(conn, source_arn=source_arn):
        if EventSourceMapping.from_stored(uuid, a, r, text).function_arn == function_arn:
            return uuid
    return ""
