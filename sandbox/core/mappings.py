"""Event source mappings (spec §8.2-8.4): the settings, their defaults and their rules.

An event source mapping is a Lambda resource that *reads* a queue or a stream and invokes
a function synchronously with batches of records. This module holds what a mapping is —
:class:`EventSourceMapping`, in the shape ``CreateEventSourceMapping`` answers — and
:func:`settings`, which applies the defaults of each kind of source and every validation
rule, with AWS's messages. The pollers that do the reading live in
:mod:`sandbox.service.pollers`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sandbox.core.asyncinvoke import destination_kind
from sandbox.core.patterns import PatternError, parse_pattern
from sandbox.errors import InvalidParameterValueException, ValidationException, validation_error

__all__ = [
    "EventSourceMapping",
    "SourceKind",
    "State",
    "mapping_arn",
    "settings",
    "source_kind",
]

MAX_PAYLOAD = 6 * 1024 * 1024  # a batch stops growing at 6 MB
MAX_FILTERS = 5
MAX_PATTERN = 4096


class SourceKind(StrEnum):
    SQS = "sqs"
    KINESIS = "kinesis"
    DYNAMODB = "dynamodb"

    @property
    def label(self) -> str:
        """How AWS's messages name the kind of source."""
        return {"sqs": "SQS", "kinesis": "Kinesis", "dynamodb": "DynamoDB"}[self.value]

    @property
    def is_stream(self) -> bool:
        return self is not SourceKind.SQS


class State(StrEnum):
    CREATING = "Creating"
    ENABLING = "Enabling"
    ENABLED = "Enabled"
    DISABLING = "Disabling"
    DISABLED = "Disabled"
    UPDATING = "Updating"
    DELETING = "Deleting"


def source_kind(arn: str) -> SourceKind:
    """What an ``EventSourceArn`` names; an unsupported source is refused."""
    parts = arn.split(":")
    service = parts[2] if len(parts) > 5 and parts[0] == "arn" else ""
    if service == "sqs":
        return SourceKind.SQS
    if service == "kinesis" and parts[5].startswith("stream/"):
        return SourceKind.KINESIS
    if service == "dynamodb" and "/stream/" in parts[5]:
        return SourceKind.DYNAMODB
    raise InvalidParameterValueException(
        f"Unsupported event source: {arn}. lambda-sandbox reads SQS queues, Kinesis streams "
        "and DynamoDB streams."
    )


def mapping_arn(region: str, account_id: str, uuid: str) -> str:
    return f"arn:aws:lambda:{region}:{account_id}:event-source-mapping:{uuid}"


@dataclass(frozen=True, slots=True)
class EventSourceMapping:
    """One mapping, as AWS describes it (``to_aws``), plus the function it invokes."""

    uuid: str
    kind: SourceKind
    event_source_arn: str
    function_arn: str
    account_id: str
    region: str
    state: State
    state_transition_reason: str
    last_modified: float
    batch_size: int
    maximum_batching_window_in_seconds: int
    function_response_types: tuple[str, ...] = ()
    filter_patterns: tuple[str, ...] = ()
    maximum_concurrency: int | None = None
    starting_position: str | None = None
    starting_position_timestamp: float | None = None
    parallelization_factor: int = 1
    maximum_retry_attempts: int = -1
    maximum_record_age_in_seconds: int = -1
    bisect_batch_on_function_error: bool = False
    tumbling_window_in_seconds: int = 0
    on_failure: str | None = None
    last_processing_result: str = "No records processed"
    wanted_enabled: bool = True  # where Creating/Updating lead: Enabled, or Disabled

    @property
    def polling(self) -> bool:
        """Whether its poller should run: enabled, or on its way to being enabled."""
        if self.state in (State.ENABLED, State.ENABLING):
            return True
        return self.state in (State.CREATING, State.UPDATING) and self.wanted_enabled

    @property
    def report_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    @property
    def patterns(self) -> list[dict[str, Any]]:
        return [parse_pattern(p) for p in self.filter_patterns]

    def with_state(self, state: State, reason: str | None = None) -> EventSourceMapping:
        return replace(
            self, state=state, state_transition_reason=reason or self.state_transition_reason
        )

    def to_aws(self) -> dict[str, Any]:
        """The fields ``GetEventSourceMapping`` answers for this kind of source."""
        out: dict[str, Any] = {"UUID": self.uuid}
        if self.kind.is_stream:
            out["StartingPosition"] = self.starting_position
            if self.starting_position_timestamp is not None:
                out["StartingPositionTimestamp"] = datetime.fromtimestamp(
                    self.starting_position_timestamp, UTC
                )
        out["BatchSize"] = self.batch_size
        out["MaximumBatchingWindowInSeconds"] = self.maximum_batching_window_in_seconds
        if self.kind.is_stream:
            out["ParallelizationFactor"] = self.parallelization_factor
        out["EventSourceArn"] = self.event_source_arn
        if self.filter_patterns:
            out["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in self.filter_patterns]}
        out["FunctionArn"] = self.function_arn
        out["LastModified"] = datetime.fromtimestamp(self.last_modified, UTC)
        if self.kind.is_stream:
            out["LastProcessingResult"] = self.last_processing_result
        out["State"] = str(self.state)
        out["StateTransitionReason"] = self.state_transition_reason
        if self.kind.is_stream:
            out["DestinationConfig"] = {
                "OnFailure": {"Destination": self.on_failure} if self.on_failure else {}
            }
        out["FunctionResponseTypes"] = list(self.function_response_types)
        if self.kind.is_stream:
            out["MaximumRecordAgeInSeconds"] = self.maximum_record_age_in_seconds
            out["BisectBatchOnFunctionError"] = self.bisect_batch_on_function_error
            out["MaximumRetryAttempts"] = self.maximum_retry_attempts
            out["TumblingWindowInSeconds"] = self.tumbling_window_in_seconds
        if self.maximum_concurrency is not None:
            out["ScalingConfig"] = {"MaximumConcurrency": self.maximum_concurrency}
        out["EventSourceMappingArn"] = mapping_arn(self.region, self.account_id, self.uuid)
        return out

    def stored(self) -> str:
        doc = {
            "kind": str(self.kind),
            "event_source_arn": self.event_source_arn,
            "function_arn": self.function_arn,
            "state": str(self.state),
            "state_transition_reason": self.state_transition_reason,
            "last_modified": self.last_modified,
            "batch_size": self.batch_size,
            "window": self.maximum_batching_window_in_seconds,
            "function_response_types": list(self.function_response_types),
            "filter_patterns": list(self.filter_patterns),
            "maximum_concurrency": self.maximum_concurrency,
            "starting_position": self.starting_position,
            "starting_position_timestamp": self.starting_position_timestamp,
            "parallelization_factor": self.parallelization_factor,
            "maximum_retry_attempts": self.maximum_retry_attempts,
            "maximum_record_age_in_seconds": self.maximum_record_age_in_seconds,
            "bisect": self.bisect_batch_on_function_error,
            "tumbling_window": self.tumbling_window_in_seconds,
            "on_failure": self.on_failure,
            "last_processing_result": self.last_processing_result,
            "wanted_enabled": self.wanted_enabled,
        }
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_stored(cls, uuid: str, account_id: str, region: str, text: str) -> EventSourceMapping:
        d = json.loads(text)
        return cls(
            uuid=uuid,
            kind=SourceKind(d["kind"]),
            event_source_arn=d["event_source_arn"],
            function_arn=d["function_arn"],
            account_id=account_id,
            region=region,
            state=State(d["state"]),
            state_transition_reason=d["state_transition_reason"],
            last_modified=float(d["last_modified"]),
            batch_size=int(d["batch_size"]),
            maximum_batching_window_in_seconds=int(d["window"]),
            function_response_types=tuple(d["function_response_types"]),
            filter_patterns=tuple(d["filter_patterns"]),
            maximum_concurrency=d["maximum_concurrency"],
            starting_position=d["starting_position"],
            starting_position_timestamp=d["starting_position_timestamp"],
            parallelization_factor=int(d["parallelization_factor"]),
            maximum_retry_attempts=int(d["maximum_retry_attempts"]),
            maximum_record_age_in_seconds=int(d["maximum_record_age_in_seconds"]),
            bisect_batch_on_function_error=bool(d["bisect"]),
            tumbling_window_in_seconds=int(d["tumbling_window"]),
            on_failure=d["on_failure"],
            last_processing_result=d["last_processing_result"],
            wanted_enabled=bool(d.get("wanted_enabled", True)),
        )


def user_reason(kind: SourceKind) -> str:
    """``StateTransitionReason`` after a user's action (spec §8.2)."""
    return "USER_INITIATED" if kind is SourceKind.SQS else "User action"


# validation ------------------------------------------------------------------------------
_STREAM_ONLY = (
    "starting_position",
    "starting_position_timestamp",
    "parallelization_factor",
    "maximum_retry_attempts",
    "maximum_record_age_in_seconds",
    "bisect_batch_on_function_error",
    "tumbling_window_in_seconds",
)


def settings(
    kind: SourceKind,
    given: Mapping[str, Any],
    *,
    fifo: bool = False,
    current: EventSourceMapping | None = None,
) -> dict[str, Any]:
    """The mapping's settings: ``current`` (on update) or the kind's defaults, with the
    parameters ``given`` (snake_case names of CreateEventSourceMapping) applied and every
    rule of spec §8.2-8.4 checked. Returns keyword arguments of :class:`EventSourceMapping`.
    """
    out: dict[str, Any] = _defaults(kind) if current is None else _current(current)
    for key, value in given.items():
        if value is None:
            continue
        if key in _STREAM_ONLY and not kind.is_stream:
            raise InvalidParameterValueException(
                f"Unsupported {_api_name(key)} parameter for given event source mapping type."
                if key != "starting_position"
                else f"Unsupported starting position for arn type: {kind.label}"
            )
        out[key] = value
    _check_numbers(kind, out, fifo)
    _check_starting_position(kind, out, creating=current is None)
    _check_types(out)
    dest = given.get("destination_config")
    if dest is not None:
        out["on_failure"] = _on_failure(kind, dest)
    out.pop("destination_config", None)
    filters = given.get("filter_criteria")
    if filters is not None:
        out["filter_patterns"] = _filters(filters)
    out.pop("filter_criteria", None)
    scaling = given.get("scaling_config")
    if scaling is not None:
        out["maximum_concurrency"] = _scaling(kind, scaling)
    out.pop("scaling_config", None)
    types = given.get("function_response_types")
    if types is not None:
        out["function_response_types"] = _response_types(types)
    return out


def _defaults(kind: SourceKind) -> dict[str, Any]:
    if kind is SourceKind.SQS:
        return {"batch_size": 10, "maximum_batching_window_in_seconds": 0}
    return {
        "batch_size": 100,
        "maximum_batching_window_in_seconds": 0,
        "parallelization_factor": 1,
        "maximum_retry_attempts": -1,
        "maximum_record_age_in_seconds": -1,
        "bisect_batch_on_function_error": False,
        "tumbling_window_in_seconds": 0,
    }


def _current(m: EventSourceMapping) -> dict[str, Any]:
    out = {
        "batch_size": m.batch_size,
        "maximum_batching_window_in_seconds": m.maximum_batching_window_in_seconds,
        "function_response_types": m.function_response_types,
        "filter_patterns": m.filter_patterns,
        "maximum_concurrency": m.maximum_concurrency,
    }
    if m.kind.is_stream:
        out.update(
            starting_position=m.starting_position,
            starting_position_timestamp=m.starting_position_timestamp,
            parallelization_factor=m.parallelization_factor,
            maximum_retry_attempts=m.maximum_retry_attempts,
            maximum_record_age_in_seconds=m.maximum_record_age_in_seconds,
            bisect_batch_on_function_error=m.bisect_batch_on_function_error,
            tumbling_window_in_seconds=m.tumbling_window_in_seconds,
            on_failure=m.on_failure,
        )
    return out


def _api_name(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def _int(out: Mapping[str, Any], key: str) -> int:
    value = out[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValueException(f"{_api_name(key)} must be an integer.")
    return value


def _range(value: int, member: str, low: int, high: int) -> None:
    if value < low:
        raise validation_error(
            value, member, f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise validation_error(
            value, member, f"Member must have value less than or equal to {high}"
        )


def _check_numbers(kind: SourceKind, out: dict[str, Any], fifo: bool) -> None:
    batch = _int(out, "batch_size")
    window = _int(out, "maximum_batching_window_in_seconds")
    _range(batch, "batchSize", 1, 10_000)
    _range(window, "maximumBatchingWindowInSeconds", 0, 300)
    if kind is SourceKind.SQS and fifo:
        if batch > 10:
            raise InvalidParameterValueException(
                "Batch size for FIFO queues must be between 1 and 10."
            )
        if window > 0:
            raise InvalidParameterValueException(
                "Batching window is not supported for FIFO queues."
            )
    elif kind is SourceKind.SQS and batch > 10 and window < 1:
        raise InvalidParameterValueException(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10"
        )
    if not kind.is_stream:
        return
    _range(_int(out, "parallelization_factor"), "parallelizationFactor", 1, 10)
    _range(_int(out, "maximum_retry_attempts"), "maximumRetryAttempts", -1, 10_000)
    age = _int(out, "maximum_record_age_in_seconds")
    if age != -1:
        _range(age, "maximumRecordAgeInSeconds", 60, 604_800)
    _range(_int(out, "tumbling_window_in_seconds"), "tumblingWindowInSeconds", 0, 900)


def _check_starting_position(kind: SourceKind, out: dict[str, Any], *, creating: bool) -> None:
    if not kind.is_stream:
        return
    position = out.get("starting_position")
    if position is None:
        raise ValidationException(  # AWS writes null without quotes here
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null"
        )
    if position not in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
        raise validation_error(
            position,
            "startingPosition",
            "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]",
        )
    if position == "AT_TIMESTAMP":
        if kind is SourceKind.DYNAMODB:
            raise InvalidParameterValueException(
                f"Unsupported starting position for arn type: {kind.label}"
            )
        stamp = out.get("starting_position_timestamp")
        if isinstance(stamp, datetime):
            out["starting_position_timestamp"] = stamp.timestamp()
        elif not isinstance(stamp, (int, float)):
            raise InvalidParameterValueException(
                "StartingPositionTimestamp must be provided with AT_TIMESTAMP."
            )


def _check_types(out: Mapping[str, Any]) -> None:
    if "bisect_batch_on_function_error" in out and not isinstance(
        out["bisect_batch_on_function_error"], bool
    ):
        raise InvalidParameterValueException("BisectBatchOnFunctionError must be a boolean.")


def _on_failure(kind: SourceKind, dest: object) -> str | None:
    if not isinstance(dest, Mapping):
        raise InvalidParameterValueException("DestinationConfig must be an object.")
    if not kind.is_stream or dest.get("OnSuccess"):  # OnSuccess: no kind of mapping has it
        raise InvalidParameterValueException(
            "Unsupported DestinationConfig parameter for given event source mapping type."
        )
    target = dest.get("OnFailure") or {}
    if not isinstance(target, Mapping):
        raise InvalidParameterValueException("DestinationConfig.OnFailure must be an object.")
    arn = target.get("Destination")
    if not arn:
        return None
    if not isinstance(arn, str) or destination_kind(arn).value not in ("sqs", "sns", "s3"):
        raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")
    return arn


def _filters(criteria: object) -> tuple[str, ...]:
    if not isinstance(criteria, Mapping) or not isinstance(criteria.get("Filters", []), Sequence):
        raise InvalidParameterValueException("Invalid filter pattern definition.")
    patterns: list[str] = []
    for item in criteria.get("Filters", []):
        pattern = item.get("Pattern") if isinstance(item, Mapping) else None
        if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN:
            raise InvalidParameterValueException("Invalid filter pattern definition.")
        try:
            parse_pattern(pattern)
        except PatternError as exc:
            raise InvalidParameterValueException("Invalid filter pattern definition.") from exc
        patterns.append(pattern)
    if len(patterns) > MAX_FILTERS:
        raise InvalidParameterValueException(
            f"The number of filters exceeds the limit of {MAX_FILTERS}."
        )
    return tuple(patterns)


def _scaling(kind: SourceKind, scaling: object) -> int | None:
    if kind is not SourceKind.SQS:
        raise InvalidParameterValueException(
            "Unsupported ScalingConfig parameter for given event source mapping type."
        )
    if not isinstance(scaling, Mapping):
        raise InvalidParameterValueException("ScalingConfig must be an object.")
    value = scaling.get("MaximumConcurrency")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValueException("MaximumConcurrency must be an integer.")
    _range(value, "scalingConfig.maximumConcurrency", 2, 1000)
    return value


def _response_types(types: object) -> tuple[str, ...]:
    if not isinstance(types, Sequence) or isinstance(types, str):
        raise InvalidParameterValueException("FunctionResponseTypes must be a list.")
    for t in types:
        if t != "ReportBatchItemFailures":
            raise validation_error(
                list(types),
                "functionResponseTypes",
                "Member must satisfy constraint: [Member must satisfy enum value set: "
                "[ReportBatchItemFailures]]",
            )
    return tuple(dict.fromkeys(types))
