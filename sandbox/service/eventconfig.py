"""The control plane of asynchronous invocation: event invoke configs (spec §7).

``PutFunctionEventInvokeConfig`` replaces a qualifier's settings (what is left out is
reset), ``UpdateFunctionEventInvokeConfig`` merges into them; Get, List and Delete. A
config belongs to one qualifier — ``$LATEST`` (what the unqualified function means), a
version or an alias — and goes away with it. What the settings *do* is the async queue's
job (:mod:`sandbox.service.asyncqueue`), which reads them at every attempt.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.core.arns import LATEST, FunctionRef, QualifierKind, function_arn, qualifier_kind
from sandbox.core.asyncinvoke import DestinationKind, EventInvokeConfig, destination_kind, settings
from sandbox.errors import (
    InvalidParameterValueException,
    ResourceNotFoundException,
    validation_error,
)
from sandbox.service.scope import FunctionScope
from sandbox.store.functions import FunctionRows

__all__ = ["EventConfigMixin", "EventInvokeConfigList"]

_NOTHING = "You must specify at least one of error handling or destination setting."
_SELF = "You can't specify the function as a destination for itself."


@dataclass(frozen=True, slots=True)
class EventInvokeConfigList:
    function_event_invoke_configs: tuple[EventInvokeConfig, ...]
    next_marker: str | None = None

    def to_aws(self) -> dict[str, object]:
        out: dict[str, object] = {
            "FunctionEventInvokeConfigs": [c.to_aws() for c in self.function_event_invoke_configs]
        }
        if self.next_marker:
            out["NextMarker"] = self.next_marker
        return out


class EventConfigMixin(FunctionScope):
    """Event invoke configs of the functions of one account."""

    def put_function_event_invoke_config(
        self,
        function_name: str,
        qualifier: str | None = None,
        *,
        maximum_retry_attempts: int | None = None,
        maximum_event_age_in_seconds: int | None = None,
        destination_config: Mapping[str, object] | None = None,
    ) -> EventInvokeConfig:
        """PutFunctionEventInvokeConfig: replace the qualifier's settings."""
        retries, age, destinations = settings(
            maximum_retry_attempts, maximum_event_age_in_seconds, destination_config
        )
        if retries is None and age is None and not any(destinations.values()):
            raise InvalidParameterValueException(_NOTHING)
        with self._db.transaction() as conn:
            ref, key = self._event_target(conn, function_name, qualifier)
            self._check_destinations(conn, ref, destinations)
            config = EventInvokeConfig(
                function_arn(ref.region, ref.account_id, ref.name, key),
                self._clock.time(),
                retries,
                age,
                destinations.get("OnSuccess"),
                destinations.get("OnFailure"),
            )
            self._rows_for(ref).put_event_config(
                conn, ref.name, key, config.stored(), config.last_modified
            )
        return config

    def update_function_event_invoke_config(
        self,
        function_name: str,
        qualifier: str | None = None,
        *,
        maximum_retry_attempts: int | None = None,
        maximum_event_age_in_seconds: int | None = None,
        destination_config: Mapping[str, object] | None = None,
    ) -> EventInvokeConfig:
        """UpdateFunctionEventInvokeConfig: change only the settings given (a destination
        given as ``{}`` is removed)."""
        retries, age, destinations = settings(
            maximum_retry_attempts, maximum_event_age_in_seconds, destination_config
        )
        if retries is None and age is None and not destinations:
            raise InvalidParameterValueException(_NOTHING)
        with self._db.transaction() as conn:
            ref, key = self._event_target(conn, function_name, qualifier)
            current = self._stored_config(conn, ref, key)
            if current is None:
                raise self._missing(ref, key)
            self._check_destinations(conn, ref, destinations)
            config = EventInvokeConfig(
                current.function_arn,
                self._clock.time(),
                current.maximum_retry_attempts if retries is None else retries,
                current.maximum_event_age_in_seconds if age is None else age,
                destinations.get("OnSuccess", current.on_success),
                destinations.get("OnFailure", current.on_failure),
            )
            self._rows_for(ref).put_event_config(
                conn, ref.name, key, config.stored(), config.last_modified
            )
        return config

    def get_function_event_invoke_config(
        self, function_name: str, qualifier: str | None = None
    ) -> EventInvokeConfig:
        """GetFunctionEventInvokeConfig."""
        with self._db.read() as conn:
            ref, key = self._event_target(conn, function_name, qualifier)
            config = self._stored_config(conn, ref, key)
        if config is None:
            raise self._missing(ref, key)
        return config

    def delete_function_event_invoke_config(
        self, function_name: str, qualifier: str | None = None
    ) -> None:
        """DeleteFunctionEventInvokeConfig (events already queued keep the defaults)."""
        with self._db.transaction() as conn:
            ref, key = self._event_target(conn, function_name, qualifier)
            if not self._rows_for(ref).delete_event_config(conn, ref.name, key):
                raise self._missing(ref, key)

    def list_function_event_invoke_configs(
        self, function_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> EventInvokeConfigList:
        """ListFunctionEventInvokeConfigs of a function, all its qualifiers (50 per page)."""
        ref = self._ref(function_name, namespaced=False)
        self._unqualified(ref, "ListFunctionEventInvokeConfigs")
        if max_items is not None and max_items > 50:
            raise validation_error(
                max_items, "maxItems", "Member must have value less than or equal to 50"
            )
        limit = self._page_size(max_items, 50)
        with self._db.read() as conn:
            self._latest(conn, ref)
            rows = self._rows_for(ref).event_configs(conn, ref.name)
        configs = [
            EventInvokeConfig.from_stored(
                function_arn(ref.region, ref.account_id, ref.name, q), modified, doc
            )
            for q, doc, modified in rows
        ]
        page, next_marker = self._paginate(configs, marker, limit)
        return EventInvokeConfigList(tuple(page), next_marker)

    def event_invoke_config(self, function_name: str, qualifier: str | None) -> EventInvokeConfig:
        """The settings an event queued for ``function_name:qualifier`` follows now (the
        defaults when none are set). Used by the async queue at every attempt."""
        ref = self._ref(function_name, qualifier, namespaced=False)
        key = ref.qualifier or LATEST
        with self._db.read() as conn:
            config = self._stored_config(conn, ref, key)
        if config is None:
            return EventInvokeConfig(function_arn(ref.region, ref.account_id, ref.name, key), 0.0)
        return config

    # helpers ------------------------------------------------------------------------------
    def _event_target(
        self, conn: sqlite3.Connection, function_name: str, qualifier: str | None
    ) -> tuple[FunctionRef, str]:
        ref = self._ref(function_name, qualifier, namespaced=False)
        self._latest(conn, ref)
        key = ref.qualifier or LATEST
        rows = self._rows_for(ref)
        kind = qualifier_kind(key)
        missing = (
            kind is QualifierKind.VERSION and rows.version(conn, ref.name, int(key)) is None
        ) or (kind is QualifierKind.ALIAS and rows.alias(conn, ref.name, key) is None)
        if missing:
            raise ResourceNotFoundException(f"Function not found: {ref.arn}")
        return ref, key

    def _stored_config(
        self, conn: sqlite3.Connection, ref: FunctionRef, key: str
    ) -> EventInvokeConfig | None:
        found = self._rows_for(ref).event_configs(conn, ref.name, key)
        if not found:
            return None
        _, doc, modified = found[0]
        return EventInvokeConfig.from_stored(
            function_arn(ref.region, ref.account_id, ref.name, key), modified, doc
        )

    @staticmethod
    def _missing(ref: FunctionRef, key: str) -> ResourceNotFoundException:
        arn = function_arn(ref.region, ref.account_id, ref.name, key)
        return ResourceNotFoundException(f"The function {arn} doesn't have an EventInvokeConfig")

    def _check_destinations(
        self, conn: sqlite3.Connection, ref: FunctionRef, destinations: Mapping[str, str | None]
    ) -> None:
        """A function destination must exist and must not be the function itself."""
        for arn in destinations.values():
            if arn is None or destination_kind(arn) is not DestinationKind.FUNCTION:
                continue
            parts = arn.split(":")
            region, account, name = parts[3], parts[4], parts[6]
            target_qualifier = parts[7] if len(parts) > 7 else None
            if (account, region, name) == (ref.account_id, ref.region, ref.name):
                raise InvalidParameterValueException(_SELF)
            rows = FunctionRows((account, region))
            invalid = InvalidParameterValueException(f"The destination ARN {arn} is invalid.")
            if rows.latest(conn, name) is None:
                raise invalid
            if target_qualifier is None or target_qualifier == LATEST:
                continue
            if qualifier_kind(target_qualifier) is QualifierKind.VERSION:
                if rows.version(conn, name, int(target_qualifier)) is None:
                    raise invalid
            elif rows.alias(conn, name, target_qualifier) is None:
                raise invalid
