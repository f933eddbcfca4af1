"""Asynchronous invocation's rules (spec §7): settings, retry schedule, invocation records.

Pure functions and frozen values only; the queue that applies them is
:mod:`sandbox.service.asyncqueue`. What is here:

* :class:`EventInvokeConfig` — ``MaximumRetryAttempts`` (0-2), ``MaximumEventAgeInSeconds``
  (60-21,600) and the ``OnSuccess``/``OnFailure`` destinations of one qualifier, with
  AWS's validation and response shape;
* the schedule: a function error is retried after ~1 min, then ~2 min; a throttle or a
  system error goes back to the queue with a backoff from 1 s doubling to 5 min, without
  using up a retry;
* the **invocation record** a destination receives, and each target's envelope (the
  EventBridge event, the S3 key, the dead-letter message's attributes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sandbox.core.clock import iso8601_ms
from sandbox.errors import InvalidParameterValueException, validation_error

__all__ = [
    "DEFAULT_MAXIMUM_EVENT_AGE",
    "DEFAULT_MAXIMUM_RETRY_ATTEMPTS",
    "SNS_MESSAGE_LIMIT",
    "AttemptResponse",
    "Condition",
    "DestinationKind",
    "EventInvokeConfig",
    "destination_kind",
    "dlq_error_message",
    "eventbridge_event",
    "failure_backoff",
    "invocation_record",
    "retry_delay",
    "s3_record_key",
    "settings",
    "shrink_for_sns",
]

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE = 21_600  # six hours
MINIMUM_EVENT_AGE = 60
RETRY_DELAYS = (60.0, 120.0)  # "about one minute", then "about two minutes"
BACKOFF_FIRST, BACKOFF_LAST = 1.0, 300.0  # throttles and system errors: 1 s ... 5 min
SNS_MESSAGE_LIMIT = 262_144  # an SNS message: 256 KB
DESTINATION_ARN_LIMIT = 350
_DESTINATION_PATTERN = re.compile(
    r"^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:"
    r"(\d{12})?:(.*)"
)
_LAMBDA_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}[a-z-]*-\d:\d{12}:function:[a-zA-Z0-9-_]+(:[a-zA-Z0-9$_-]+)?$"
)
_SQS_SNS_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:(sqs|sns):[a-z]{2}[a-z-]*-\d:\d{12}:[a-zA-Z0-9_.-]+$"
)
_BUS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:events:[a-z]{2}[a-z-]*-\d:\d{12}:event-bus/[\w.\-/]+$")
_BUCKET_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class Condition(StrEnum):
    """Why an invocation record was sent (its ``requestContext.condition``)."""

    SUCCESS = "Success"
    RETRIES_EXHAUSTED = "RetriesExhausted"
    EVENT_AGE_EXCEEDED = "EventAgeExceeded"
    ZERO_RESERVED_CONCURRENCY = "ZeroReservedConcurrency"


class DestinationKind(StrEnum):
    FUNCTION = "lambda"
    QUEUE = "sqs"
    TOPIC = "sns"
    EVENT_BUS = "events"
    BUCKET = "s3"


def destination_kind(arn: str) -> DestinationKind:
    """Which kind of target a destination ARN names.

    Raises:
        InvalidParameterValueException: "The destination ARN <arn> is invalid." for any
            other service, a malformed ARN, or a FIFO queue or topic (AWS supports
            standard ones only).
    """
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    ok = {
        "lambda": _LAMBDA_ARN,
        "sqs": _SQS_SNS_ARN,
        "sns": _SQS_SNS_ARN,
        "events": _BUS_ARN,
        "s3": _BUCKET_ARN,
    }.get(service)
    if ok is None or not ok.match(arn):
        raise InvalidParameterValueException(f"The destination ARN {arn} is invalid.")
    if service in ("sqs", "sns") and arn.endswith(".fifo"):
        raise InvalidParameterValueException(
            f"The destination ARN {arn} is invalid. FIFO queues and topics are not "
            "supported as destinations."
        )
    return DestinationKind(service)


@dataclass(frozen=True, slots=True)
class EventInvokeConfig:
    """The asynchronous-invocation settings of one qualifier (``None``: not set).

    ``function_arn`` always carries the qualifier (``...:orders:$LATEST`` when the
    configuration was made on the unqualified function).
    """

    function_arn: str
    last_modified: float
    maximum_retry_attempts: int | None = None
    maximum_event_age_in_seconds: int | None = None
    on_success: str | None = None
    on_failure: str | None = None

    @property
    def retries(self) -> int:
        if self.maximum_retry_attempts is None:
            return DEFAULT_MAXIMUM_RETRY_ATTEMPTS
        return self.maximum_retry_attempts

    @property
    def maximum_age(self) -> int:
        if self.maximum_event_age_in_seconds is None:
            return DEFAULT_MAXIMUM_EVENT_AGE
        return self.maximum_event_age_in_seconds

    def to_aws(self) -> dict[str, object]:
        """The response shape: unset fields omitted, an unset destination shown as ``{}``."""
        out: dict[str, object] = {
            "LastModified": datetime.fromtimestamp(self.last_modified, UTC),
            "FunctionArn": self.function_arn,
        }
        if self.maximum_retry_attempts is not None:
            out["MaximumRetryAttempts"] = self.maximum_retry_attempts
        if self.maximum_event_age_in_seconds is not None:
            out["MaximumEventAgeInSeconds"] = self.maximum_event_age_in_seconds
        out["DestinationConfig"] = {
            "OnSuccess": {"Destination": self.on_success} if self.on_success else {},
            "OnFailure": {"Destination": self.on_failure} if self.on_failure else {},
        }
        return out

    def stored(self) -> dict[str, object]:
        """What the store keeps (the ARN and the time are columns of their own)."""
        return {
            "MaximumRetryAttempts": self.maximum_retry_attempts,
            "MaximumEventAgeInSeconds": self.maximum_event_age_in_seconds,
            "OnSuccess": self.on_success,
            "OnFailure": self.on_failure,
        }

    @classmethod
    def from_stored(
        cls, function_arn: str, last_modified: float, doc: Mapping[str, object]
    ) -> EventInvokeConfig:
        def number(key: str) -> int | None:
            value = doc.get(key)
            return value if isinstance(value, int) else None

        def text(key: str) -> str | None:
            value = doc.get(key)
            return value if isinstance(value, str) and value else None

        return cls(
            function_arn,
            last_modified,
            number("MaximumRetryAttempts"),
            number("MaximumEventAgeInSeconds"),
            text("OnSuccess"),
            text("OnFailure"),
        )


def settings(
    maximum_retry_attempts: object = None,
    maximum_event_age_in_seconds: object = None,
    destination_config: object = None,
) -> tuple[int | None, int | None, dict[str, str | None]]:
    """Check the parameters of Put/UpdateFunctionEventInvokeConfig.

    Returns ``(retries, age, destinations)`` where ``destinations`` holds only the keys
    given (``OnSuccess``/``OnFailure``; ``None`` for a destination given empty, which
    removes it). Raises AWS's ValidationException or InvalidParameterValueException.
    """
    retries = _bounded(maximum_retry_attempts, "maximumRetryAttempts", 0, 2)
    age = _bounded(
        maximum_event_age_in_seconds,
        "maximumEventAgeInSeconds",
        MINIMUM_EVENT_AGE,
        DEFAULT_MAXIMUM_EVENT_AGE,
    )
    destinations: dict[str, str | None] = {}
    if destination_config is not None:
        if not isinstance(destination_config, Mapping):
            raise InvalidParameterValueException("DestinationConfig must be a JSON object.")
        for key in destination_config:
            if key not in ("OnSuccess", "OnFailure"):
                raise InvalidParameterValueException(
                    f"Unknown parameter in DestinationConfig: {key!r}, must be one of: "
                    "OnSuccess, OnFailure"
                )
        for key in ("OnSuccess", "OnFailure"):
            if key not in destination_config:
                continue
            target = destination_config[key]
            if target is None:
                destinations[key] = None
                continue
            if not isinstance(target, Mapping) or set(target) - {"Destination"}:
                raise InvalidParameterValueException(
                    f"DestinationConfig.{key} must be an object with one key, Destination."
                )
            arn = target.get("Destination")
            if arn is None or arn == "":
                destinations[key] = None
                continue
            if not isinstance(arn, str):
                raise InvalidParameterValueException(
                    f"DestinationConfig.{key}.Destination must be a string."
                )
            member = f"destinationConfig.{key[0].lower()}{key[1:]}.destination"
            if len(arn) > DESTINATION_ARN_LIMIT:
                raise validation_error(
                    arn,
                    member,
                    f"Member must have length less than or equal to {DESTINATION_ARN_LIMIT}",
                )
            if not _DESTINATION_PATTERN.match(arn):
                raise validation_error(
                    arn,
                    member,
                    "Member must satisfy regular expression pattern: "
                    + _DESTINATION_PATTERN.pattern,
                )
            kind = destination_kind(arn)
            if kind is DestinationKind.BUCKET and key == "OnSuccess":
                raise InvalidParameterValueException(
                    f"The destination ARN {arn} is invalid. S3 buckets are supported only as "
                    "on-failure destinations."
                )
            destinations[key] = arn
    return retries, age, destinations


def _bounded(value: object, member: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValueException(f"{member} must be an integer, not {value!r}.")
    if value < low:
        raise validation_error(
            value, member, f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise validation_error(
            value, member, f"Member must have value less than or equal to {high}"
        )
    return value


# the schedule --------------------------------------------------------------------------
def retry_delay(attempts_made: int) -> float:
    """Platform seconds before the next try after the ``attempts_made``-th function error."""
    return RETRY_DELAYS[min(max(attempts_made, 1), len(RETRY_DELAYS)) - 1]


def failure_backoff(throttled_in_a_row: int) -> float:
    """Platform seconds before a throttled (or system-failed) event is tried again: 1 s,
    2 s, 4 s ... up to 5 min."""
    exponent = max(throttled_in_a_row, 1) - 1
    return min(BACKOFF_LAST, BACKOFF_FIRST * 2.0 ** min(exponent, 16))


# records -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AttemptResponse:
    """What one invocation answered, as the record's ``responseContext`` needs it."""

    executed_version: str
    function_error: str | None
    payload: object  # the function's response, decoded JSON (or text)

    def to_json(self) -> str:
        return json.dumps(
            {
                "executedVersion": self.executed_version,
                "functionError": self.function_error,
                "payload": self.payload,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> AttemptResponse:
        doc = json.loads(text)
        return cls(doc["executedVersion"], doc.get("functionError"), doc.get("payload"))


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: Condition,
    approximate_invoke_count: int,
    request_payload: object,
    timestamp: float,
    response: AttemptResponse | None,
) -> dict[str, object]:
    """The invocation record sent to a destination (spec §7), field by field.

    ``responseContext``/``responsePayload`` are absent when no invocation ran
    (``ZeroReservedConcurrency``, or an event that aged out while only being throttled);
    ``functionError`` appears only on an error.
    """
    record: dict[str, object] = {
        "version": "1.0",
        "timestamp": iso8601_ms(timestamp),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": str(condition),
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
    }
    if response is not None:
        context: dict[str, object] = {
            "statusCode": 200,
            "executedVersion": response.executed_version,
        }
        if response.function_error:
            context["functionError"] = response.function_error
        record["responseContext"] = context
        record["responsePayload"] = response.payload
    return record


def shrink_for_sns(record: dict[str, object]) -> dict[str, object]:
    """A record too large for an SNS message loses its payloads (spec §7)."""
    if len(json.dumps(record).encode()) <= SNS_MESSAGE_LIMIT:
        return record
    return {k: v for k, v in record.items() if k not in ("requestPayload", "responsePayload")}


def eventbridge_event(
    record: Mapping[str, object],
    *,
    event_id: str,
    account_id: str,
    region: str,
    bus_arn: str,
    function_arn: str,
    timestamp: float,
) -> dict[str, object]:
    """The event a destination event bus receives: the record as ``detail``."""
    success = _condition(record) == Condition.SUCCESS
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Lambda Function Invocation Result - "
        + ("Success" if success else "Failure"),
        "source": "lambda",
        "account": account_id,
        "time": iso8601_ms(timestamp)[:19] + "Z",
        "region": region,
        "resources": [bus_arn, function_arn],
        "detail": dict(record),
    }


def _condition(record: Mapping[str, object]) -> str:
    context = record.get("requestContext")
    return str(context.get("condition")) if isinstance(context, Mapping) else ""


def s3_record_key(function_name: str, timestamp: float, unique: str) -> str:
    """Where an on-failure record lands in a bucket:
    ``aws/lambda/async/<function>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``."""
    at = datetime.fromtimestamp(timestamp, UTC)
    return f"aws/lambda/async/{function_name}/{at:%Y/%m/%d}/{at:%Y-%m-%dT%H.%M.%S}-{unique}"


def dlq_error_message(response: AttemptResponse | None, fallback: str) -> str:
    """The dead-letter message's ``ErrorMessage`` attribute: the error's message, first
    1 KB."""
    message = fallback
    if response is not None and isinstance(response.payload, Mapping):
        value = response.payload.get("errorMessage")
        if isinstance(value, str):
            message = value
    return message.encode()[:1024].decode(errors="ignore")
