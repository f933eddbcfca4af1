"""The Lambda operations whose wire shape is not the facade's signature.

Why adapters: most operations map member for member onto a ``Sandbox`` method; these do
not — ``Invoke`` answers with a raw payload, a status code and headers
(``X-Amz-Executed-Version``, ``X-Amz-Function-Error``, ``X-Amz-Log-Result``); code uploads
carry base64 blobs inside the JSON body; ``UpdateFunctionConfiguration`` takes keyword
settings the facade forwards as ``**settings``. An S3 code location is refused by name:
the sandbox keeps no S3 bucket of deployment packages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sandbox import errors
from sandbox.http.lambda_api import Route, blob, call, json_response, to_wire
from sandbox.http.protocol import Response

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox

__all__ = ["ACCEPTS", "ADAPTERS"]

Adapter = Callable[["Sandbox", Route, dict[str, Any], str], Response]

_S3 = ("S3Bucket", "S3Key", "S3ObjectVersion")


def _code(value: object, op: str) -> dict[str, object]:
    """A ``Code``/``Content`` structure with its ``ZipFile`` decoded."""
    if not isinstance(value, Mapping):
        raise errors.InvalidParameterValueException(f"Code must be a structure in {op}")
    code = dict(value)
    for key in _S3:
        if key in code:
            raise errors.InvalidParameterValueException(
                f"The sandbox does not support {key} in {op}: upload the package as ZipFile"
            )
    if "ZipFile" in code:
        code["ZipFile"] = blob(code["ZipFile"], "ZipFile")
    return code


def _invoke(sb: Sandbox, route: Route, given: dict[str, Any], request_id: str) -> Response:
    body = given.pop("Payload", b"")
    result = sb.invoke(
        given["FunctionName"],
        body if body.strip() else None,
        qualifier=given.get("Qualifier"),
        invocation_type=given.get("InvocationType") or "RequestResponse",
        log_type=given.get("LogType") or "None",
        client_context=given.get("ClientContext"),
    )
    headers = {"x-amzn-RequestId": result.request_id or request_id}
    if result.status_code == 200:
        headers["Content-Type"] = "application/json"
        if result.executed_version:
            headers["X-Amz-Executed-Version"] = result.executed_version
    if result.function_error:
        headers["X-Amz-Function-Error"] = result.function_error
    if result.log_result is not None:
        headers["X-Amz-Log-Result"] = result.log_result
    payload = result.raw_payload if result.status_code == 200 else b""
    return Response(result.status_code, payload, headers)


def _invoke_async(sb: Sandbox, route: Route, given: dict[str, Any], request_id: str) -> Response:
    """The deprecated InvokeAsync: an Event invoke answering ``{"Status": 202}``."""
    body = given.get("InvokeArgs", b"")
    result = sb.invoke(
        given["FunctionName"], body if body.strip() else None, invocation_type="Event"
    )
    return Response(202, b"", {"x-amzn-RequestId": result.request_id or request_id})


def _create_function(sb: Sandbox, route: Route, given: dict[str, Any], request_id: str) -> Response:
    if "Code" not in given:
        raise errors.validation_error("null", "code", "Member must not be null")
    code = _code(given.pop("Code"), route.op)
    if set(code) == {"ZipFile"}:
        code_arg: object = code["ZipFile"]
    else:
        code_arg = code
    accepted = _ACCEPTED_CREATE
    result = call(route.op, lambda **kw: sb.create_function(code=code_arg, **kw), given, accepted)
    return json_response(route.status, to_wire(result), request_id)


def _update_code(sb: Sandbox, route: Route, given: dict[str, Any], request_id: str) -> Response:
    for key in _S3:
        if key in given:
            raise errors.InvalidParameterValueException(
                f"The sandbox does not support {key} in {route.op}: upload the package as ZipFile"
            )
    if "ZipFile" in given:
        given["ZipFile"] = blob(given["ZipFile"], "ZipFile")
    accepted = frozenset(
        {
            "function_name",
            "zip_file",
            "publish",
            "dry_run",
            "revision_id",
            "architectures",
            "image_uri",
        }
    )
    result = call(route.op, sb.update_function_code, given, accepted)
    return json_response(route.status, to_wire(result), request_id)


def _publish_layer(sb: Sandbox, route: Route, given: dict[str, Any], request_id: str) -> Response:
    if "Content" not in given:
        raise errors.validation_error("null", "content", "Member must not be null")
    content = _code(given.pop("Content"), route.op)
    if "ZipFile" not in content:
        raise errors.InvalidParameterValueException("Content must have a ZipFile")
    accepted = frozenset(
        {
            "layer_name",
            "description",
            "compatible_runtimes",
            "compatible_architectures",
            "license_info",
        }
    )
    result = call(
        route.op,
        lambda **kw: sb.publish_layer_version(content=content["ZipFile"], **kw),
        given,
        accepted,
    )
    return json_response(route.status, to_wire(result), request_id)


_ACCEPTED_CREATE = frozenset(
    {
        "function_name",
        "runtime",
        "role",
        "handler",
        "description",
        "timeout",
        "memory_size",
        "publish",
        "environment",
        "layers",
        "package_type",
        "architectures",
        "ephemeral_storage",
        "tracing_config",
        "dead_letter_config",
        "logging_config",
        "tags",
        "image_config",
    }
)

ADAPTERS: dict[str, Adapter] = {
    "Invoke": _invoke,
    "InvokeAsync": _invoke_async,
    "CreateFunction": _create_function,
    "UpdateFunctionCode": _update_code,
    "PublishLayerVersion": _publish_layer,
}

ACCEPTS: dict[str, frozenset[str]] = {
    # the facade forwards these as **settings, so its signature cannot tell
    "UpdateFunctionConfiguration": frozenset(
        {
            "function_name",
            "role",
            "handler",
            "description",
            "timeout",
            "memory_size",
            "environment",
            "runtime",
            "layers",
            "ephemeral_storage",
            "tracing_config",
            "dead_letter_config",
            "logging_config",
            "revision_id",
            "image_config",
        }
    ),
}
