"""Event source mappings from :class:`~sandbox.Sandbox`: a function reading a queue or a
stream (spec §8.2-8.4), with boto3's operation and parameter names in snake_case."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.core.mappings import EventSourceMapping

if TYPE_CHECKING:
    from sandbox._sandbox import _Shared
    from sandbox.service.functions import FunctionService
    from sandbox.service.mappings import EventSourceMappingList

__all__ = ["MappingsAPI"]


class MappingsAPI:
    """``create/get/update/list/delete_event_source_mapping``."""

    _functions: FunctionService
    _shared: _Shared

    def create_event_source_mapping(
        self,
        function_name: str,
        event_source_arn: str,
        *,
        enabled: bool = True,
        batch_size: int | None = None,
        maximum_batching_window_in_seconds: int | None = None,
        starting_position: str | None = None,
        starting_position_timestamp: datetime | float | None = None,
        parallelization_factor: int | None = None,
        maximum_retry_attempts: int | None = None,
        maximum_record_age_in_seconds: int | None = None,
        bisect_batch_on_function_error: bool | None = None,
        tumbling_window_in_seconds: int | None = None,
        destination_config: Mapping[str, Any] | None = None,
        filter_criteria: Mapping[str, Any] | None = None,
        function_response_types: Sequence[str] | None = None,
        scaling_config: Mapping[str, Any] | None = None,
    ) -> EventSourceMapping:
        """Make ``function_name`` read ``event_source_arn`` (an SQS queue, a Kinesis stream
        or a DynamoDB stream). Answers with ``State`` ``Creating``; the poller starts at once
        and the state becomes ``Enabled`` (or ``Disabled`` with ``enabled=False``).

        Example:
            >>> sb.create_event_source_mapping(  # doctest: +SKIP
            ...     "worker", "arn:aws:sqs:us-east-1:123456789012:jobs", batch_size=5
            ... ).to_aws()["State"]
            'Creating'
        """
        mapping = self._functions.create_event_source_mapping(
            function_name, event_source_arn, enabled=enabled, **_given(locals())
        )
        self._shared.mapping_runner().poke()
        return mapping

    def get_event_source_mapping(self, uuid: str) -> EventSourceMapping:
        return self._functions.get_event_source_mapping(uuid)

    def update_event_source_mapping(
        self,
        uuid: str,
        *,
        function_name: str | None = None,
        enabled: bool | None = None,
        batch_size: int | None = None,
        maximum_batching_window_in_seconds: int | None = None,
        parallelization_factor: int | None = None,
        maximum_retry_attempts: int | None = None,
        maximum_record_age_in_seconds: int | None = None,
        bisect_batch_on_function_error: bool | None = None,
        tumbling_window_in_seconds: int | None = None,
        destination_config: Mapping[str, Any] | None = None,
        filter_criteria: Mapping[str, Any] | None = None,
        function_response_types: Sequence[str] | None = None,
        scaling_config: Mapping[str, Any] | None = None,
    ) -> EventSourceMapping:
        """Change a mapping (answers ``Updating``; its poller restarts with the change)."""
        mapping = self._functions.update_event_source_mapping(
            uuid, function_name=function_name, enabled=enabled, **_given(locals())
        )
        self._shared.mapping_runner().poke()
        return mapping

    def delete_event_source_mapping(self, uuid: str) -> EventSourceMapping:
        """Delete a mapping (answers ``Deleting``; it is gone once its poller stopped)."""
        mapping = self._functions.delete_event_source_mapping(uuid)
        self._shared.mapping_runner().poke()
        return mapping

    def list_event_source_mappings(
        self,
        *,
        event_source_arn: str | None = None,
        function_name: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> EventSourceMappingList:
        return self._functions.list_event_source_mappings(
            event_source_arn=event_source_arn,
            function_name=function_name,
            marker=marker,
            max_items=max_items,
        )

    def wait_for_event_source_mapping(
        self, uuid: str, state: str = "Enabled", timeout: float = 10.0
    ) -> EventSourceMapping:
        """Wait (real seconds, bounded) until a mapping reaches ``state`` (``Enabled`` or
        ``Disabled``), as boto3's waiters do; :class:`TimeoutError` if it does not."""
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while True:
            mapping = self.get_event_source_mapping(uuid)
            if str(mapping.state) == state:
                return mapping
            if time.monotonic() > deadline:
                raise TimeoutError(f"mapping {uuid} is {mapping.state}, not {state}")
            pause.wait(0.01)

    def wait_for_event_source_mapping_deleted(self, uuid: str, timeout: float = 10.0) -> None:
        """Wait (bounded) until a deleted mapping is gone."""
        from sandbox.errors import ResourceNotFoundException

        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while time.monotonic() < deadline:
            try:
                self.get_event_source_mapping(uuid)
            except ResourceNotFoundException:
                return
            pause.wait(0.01)
        raise TimeoutError(f"mapping {uuid} still exists")


_NOT_SETTINGS = {"self", "function_name", "event_source_arn", "enabled", "uuid", "mapping"}


def _given(names: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in names.items() if k not in _NOT_SETTINGS and v is not None}
