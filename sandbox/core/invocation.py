"""Invocation requests and results: payload rules, result shape, platform error payloads.

The result mirrors what boto3's ``invoke`` returns (``StatusCode``, ``Payload``,
``FunctionError``, ``ExecutedVersion``, ``LogResult``) in snake_case, plus the request id
and the invocation's log lines. Function failures are results, never exceptions.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from enum import StrEnum

from sandbox.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    validation_error,
)

__all__ = [
    "ASYNC_PAYLOAD_LIMIT",
    "RESPONSE_LIMIT",
    "SYNC_PAYLOAD_LIMIT",
    "InvocationType",
    "InvokeResult",
    "encode_payload",
    "exit_error",
    "log_tail",
    "oversized_response_error",
    "parse_client_context",
    "timeout_error",
]

SYNC_PAYLOAD_LIMIT = 6_291_456  # spec §3: 6 MB request
ASYNC_PAYLOAD_LIMIT = 1_048_576  # spec §3, §10: 1 MB since Oct 2025
RESPONSE_LIMIT = 6_291_556  # spec §1.1: the figure in AWS's error message
CLIENT_CONTEXT_LIMIT = 3583  # spec §10
_TAIL_BYTES = 4096  # spec §3: X-Amz-Log-Result carries the last 4 KB


class InvocationType(StrEnum):
    REQUEST_RESPONSE = "RequestResponse"
    EVENT = "Event"
    DRY_RUN = "DryRun"


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """The answer to ``invoke``.

    Attributes:
        status_code: 200 (RequestResponse), 202 (Event) or 204 (DryRun); a function error
            does not change it.
        payload: the response decoded from JSON (``None`` for 202/204 or ``null``).
        raw_payload: the response bytes, as boto3's ``Payload.read()``.
        function_error: ``"Unhandled"`` when the function failed, else ``None``.
        executed_version: the version that ran (``"3"`` for an alias pointing at 3).
        request_id: the invocation's request id.
        log_result: base64 of the last 4 KB of the log, when ``log_type="Tail"``.
        logs: the invocation's log lines (START ... REPORT).
    """

    status_code: int
    request_id: str
    payload: object = None
    raw_payload: bytes = b""
    function_error: str | None = None
    executed_version: str | None = None
    log_result: str | None = None
    logs: tuple[str, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return self.function_error is None

    @property
    def log_text(self) -> str:
        return "\n".join(self.logs)

    def to_aws(self) -> dict[str, object]:
        """The fields of boto3's invoke response (``Payload`` as bytes)."""
        out: dict[str, object] = {"StatusCode": self.status_code, "Payload": self.raw_payload}
        if self.function_error:
            out["FunctionError"] = self.function_error
        if self.executed_version and self.status_code == 200:
            out["ExecutedVersion"] = self.executed_version
        if self.log_result is not None:
            out["LogResult"] = self.log_result
        return out


def encode_payload(payload: object, invocation_type: InvocationType) -> bytes:
    """Turn what the caller passed into the request body, with AWS's checks.

    ``None`` is an empty body (the function receives ``{}``); ``bytes``/``str`` must be
    JSON; anything else is serialised to JSON.
    """
    if payload is None:
        body = b""
    elif isinstance(payload, bytes | bytearray | memoryview):
        body = bytes(payload)
        _check_json(body)
    elif isinstance(payload, str):
        body = payload.encode()
        _check_json(body)
    else:
        try:
            body = json.dumps(payload).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidRequestContentException(
                f"Could not parse request body into json: {exc}"
            ) from exc
    limit = ASYNC_PAYLOAD_LIMIT if invocation_type is InvocationType.EVENT else SYNC_PAYLOAD_LIMIT
    if len(body) > limit:
        if invocation_type is InvocationType.EVENT:
            raise RequestTooLargeException(
                f"{len(body)} byte payload is too large for the Event invocation type "
                f"(limit {ASYNC_PAYLOAD_LIMIT} bytes)"
            )
        raise RequestTooLargeException(
            f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction "
            "operation"
        )
    return body


def _check_json(body: bytes) -> None:
    if not body.strip():
        return
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        # spec §3: 400 InvalidRequestContentException
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from exc


def parse_client_context(client_context: str | None) -> dict[str, object] | None:
    """``ClientContext`` is base64-encoded JSON of at most 3,583 bytes (spec §3, §10)."""
    if client_context is None:
        return None
    if len(client_context) > CLIENT_CONTEXT_LIMIT:
        raise validation_error(
            "...",
            "clientContext",
            f"Member must have length less than or equal to {CLIENT_CONTEXT_LIMIT}",
        )
    try:
        decoded = json.loads(base64.b64decode(client_context, validate=True))
    except (ValueError, TypeError) as exc:
        raise InvalidParameterValueException(
            "Client context must be a valid Base64-encoded JSON object."
        ) from exc
    if not isinstance(decoded, dict):
        raise InvalidParameterValueException(
            "Client context must be a valid Base64-encoded JSON object."
        )
    return decoded


def timeout_error(request_id: str, timeout_s: float) -> dict[str, str]:
    """spec §1.1: the payload of a timed-out invocation (2025 format)."""
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": (
            f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
        ),
    }


def exit_error(
    request_id: str, description: str, error_type: str = "Runtime.ExitError"
) -> dict[str, str]:
    """spec §1.1: the runtime died (exit, crash, out of memory)."""
    return {
        "errorType": error_type,
        "errorMessage": f"RequestId: {request_id} Error: {description}",
    }


def oversized_response_error() -> dict[str, str]:
    return {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        f"({RESPONSE_LIMIT} bytes).",
    }


def log_tail(lines: list[str] | tuple[str, ...]) -> str:
    """Base64 of the last 4 KB of the invocation's log (``X-Amz-Log-Result``)."""
    text = ("\n".join(lines) + "\n").encode()
    return base64.b64encode(text[-_TAIL_BYTES:]).decode()
