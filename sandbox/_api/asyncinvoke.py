"""Asynchronous invocation from :class:`~sandbox.Sandbox`: event invoke configs and the
queue's events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sandbox.core.arns import LATEST, function_arn
from sandbox.core.asyncinvoke import EventInvokeConfig

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.service.eventconfig import EventInvokeConfigList
    from sandbox.service.functions import FunctionService

__all__ = ["AsyncAPI"]


class AsyncAPI:
    """``*_function_event_invoke_config`` and a view of the async queue."""

    _functions: FunctionService
    _shared: _Shared
    account_id: str
    region: str

    def put_function_event_invoke_config(
        self,
        function_name: str,
        qualifier: str | None = None,
        *,
        maximum_retry_attempts: int | None = None,
        maximum_event_age_in_seconds: int | None = None,
        destination_config: Mapping[str, object] | None = None,
    ) -> EventInvokeConfig:
        """Set how asynchronous invocations of a function, version or alias are handled,
        replacing any earlier settings (what is left out goes back to its default).

        Args:
            maximum_retry_attempts: retries after a function error, 0 to 2 (default 2).
            maximum_event_age_in_seconds: how long an event may wait, 60 to 21,600
                (default 21,600: six hours).
            destination_config: ``{"OnSuccess": {"Destination": arn}, "OnFailure":
                {"Destination": arn}}``; a function, queue, topic or event bus ARN (a
                bucket on failure only).
        """
        return self._functions.put_function_event_invoke_config(
            function_name,
            qualifier,
            maximum_retry_attempts=maximum_retry_attempts,
            maximum_event_age_in_seconds=maximum_event_age_in_seconds,
            destination_config=destination_config,
        )

    def update_function_event_invoke_config(
        self,
        function_name: str,
        qualifier: str | None = None,
        *,
        maximum_retry_attempts: int | None = None,
        maximum_event_age_in_seconds: int | None = None,
        destination_config: Mapping[str, object] | None = None,
    ) -> EventInvokeConfig:
        """Change only the settings given (``{"OnSuccess": {}}`` removes that destination)."""
        return self._functions.update_function_event_invoke_config(
            function_name,
            qualifier,
            maximum_retry_attempts=maximum_retry_attempts,
            maximum_event_age_in_seconds=maximum_event_age_in_seconds,
            destination_config=destination_config,
        )

    def get_function_event_invoke_config(
        self, function_name: str, qualifier: str | None = None
    ) -> EventInvokeConfig:
        return self._functions.get_function_event_invoke_config(function_name, qualifier)

    def delete_function_event_invoke_config(
        self, function_name: str, qualifier: str | None = None
    ) -> None:
        self._functions.delete_function_event_invoke_config(function_name, qualifier)

    def list_function_event_invoke_configs(
        self, function_name: str, *, marker: str | None = None, max_items: int | None = None
    ) -> EventInvokeConfigList:
        return self._functions.list_function_event_invoke_configs(
            function_name, marker=marker, max_items=max_items
        )

    def async_events(self, function_name: str | None = None) -> list[dict[str, object]]:
        """The asynchronous events of this account, oldest first (a sandbox extra: AWS
        does not show its queue). Each row: ``request_id``, ``function_arn``, ``state``
        (queued, running, done), ``attempts``, ``outcome`` (Success, RetriesExhausted,
        EventAgeExceeded, ZeroReservedConcurrency, Dropped), ``deliveries``, ``reason``,
        ``received``, ``due``, ``finished`` (platform times) and ``origin``."""
        sql = (
            "SELECT request_id, name, qualifier, state, attempts, outcome, detail, received, "
            "due, finished, origin FROM async_events WHERE account=? AND region=?"
        )
        params: tuple[object, ...] = (self.account_id, self.region)
        if function_name is not None:
            sql += " AND name=?"
            params += (function_name,)
        rows = self._shared.db.query(sql + " ORDER BY received, rowid", params)
        out: list[dict[str, object]] = []
        for rid, name, qualifier, state, attempts, outcome, detail, rec, due, fin, origin in rows:
            info = json.loads(str(detail)) if detail else {}
            out.append(
                {
                    "request_id": rid,
                    "function_arn": function_arn(
                        self.region, self.account_id, str(name), str(qualifier or LATEST)
                    ),
                    "state": state,
                    "attempts": attempts,
                    "outcome": outcome,
                    "deliveries": info.get("deliveries", []),
                    "reason": info.get("reason"),
                    "received": rec,
                    "due": None if state == "done" else due,
                    "finished": fin,
                    "origin": origin,
                }
            )
        return out
