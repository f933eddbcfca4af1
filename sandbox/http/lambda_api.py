"""Lambda's REST-JSON API over HTTP: requests in botocore's wire shape, sandbox calls out.

Why a route table and not hand-written paths: boto3 and the AWS CLI build every request
from botocore's service model (method, ``requestUri``, which member travels in the path,
the query string, a header or the JSON body). ``lambda_routes.json`` holds exactly those
facts, generated from the model by ``tools/gen_lambda_routes.py`` so botocore is not a
runtime dependency; this module matches a request against it, rebuilds the operation's
input members, and calls the facade method of the same name in snake_case
(``GetFunctionConfiguration`` -> ``sb.get_function_configuration``). Operations whose
wire shape differs from the facade's signature (invoke, code uploads) have adapters in
:mod:`sandbox.http.lambda_ops`.

Every answer is AWS-shaped: a result is the model's JSON (timestamps as botocore parses
them), an error carries ``x-amzn-errortype`` and ``{"Type": ..., "Message": ...}``, and an
operation of the model the sandbox does not implement answers 501 *naming* it, so a
caller never gets a silent wrong answer.
"""

from __future__ import annotations

import base64
import inspect
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox import errors
from sandbox.http.protocol import Request, Response

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox

__all__ = ["Route", "error_response", "handle", "match", "routes", "snake"]

log = logging.getLogger(__name__)

_ROUTES_FILE = Path(__file__).with_name("lambda_routes.json")
# The model binds DeleteFunction's ``StatusCode`` member to the HTTP status (200 by
# default, for durable functions' deletions); a plain function's deletion answers 204.
_STATUS = {"DeleteFunction": 204}


@dataclass(frozen=True, slots=True)
class Route:
    """One operation of the model: where it lives and where its members travel."""

    op: str
    method: str
    segments: tuple[str, ...]  # literal segments, or "{Label}" for a path label
    query_literals: tuple[tuple[str, str], ...]  # "?find=LayerVersion"
    status: int
    inputs: Mapping[str, tuple[str, str, str]]  # member -> (location, wire name, type)
    outputs: Mapping[str, tuple[str, str, str]]

    @property
    def specificity(self) -> tuple[int, int]:
        """Routes with more literals win (``/layers?find=LayerVersion`` over ``/layers``)."""
        literal = sum(1 for s in self.segments if not s.startswith("{"))
        return (len(self.query_literals), literal)


@lru_cache(maxsize=1)
def routes() -> tuple[Route, ...]:
    """The route table, most specific first."""
    data = json.loads(_ROUTES_FILE.read_text())
    out = []
    for r in data["routes"]:
        path, _, query = r["uri"].partition("?")
        literals = tuple(
            (k, v) for k, _, v in (part.partition("=") for part in query.split("&") if part)
        )
        out.append(
            Route(
                op=r["op"],
                method=r["method"],
                segments=tuple(s for s in path.split("/") if s),
                query_literals=literals,
                status=int(r["status"]),
                inputs={k: tuple(v) for k, v in r["in"].items()},
                outputs={k: tuple(v) for k, v in r["out"].items()},
            )
        )
    out.sort(key=lambda route: route.specificity, reverse=True)
    return tuple(out)


def _bind(route: Route, parts: list[str], query: Mapping[str, list[str]]) -> dict[str, str] | None:
    if len(parts) != len(route.segments):
        return None
    labels: dict[str, str] = {}
    for want, got in zip(route.segments, parts, strict=True):
        if want.startswith("{"):
            if not got:
                return None
            labels[want.strip("{}+")] = got
        elif want != got:
            return None
    for key, value in route.query_literals:
        if value not in query.get(key, []):
            return None
    return labels


def match(request: Request) -> tuple[Route, dict[str, str]] | tuple[None, bool]:
    """The route a request names and its path labels; else ``(None, path_known)`` where
    ``path_known`` says some route has this path under another method (405 vs 404)."""
    parts = [p for p in request.path.split("/") if p]
    known = False
    for route in routes():
        labels = _bind(route, parts, request.query)
        if labels is None:
            continue
        if route.method == request.method:
            return route, labels
        known = True
    return None, known


def snake(name: str) -> str:
    """``PrincipalOrgID`` -> ``principal_org_id``; ``UUID`` -> ``uuid``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


# -- input ------------------------------------------------------------------------------


def _scalar(value: str, kind: str, member: str) -> object:
    if kind in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            raise errors.validation_error(value, member, "Member must be a number") from None
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise errors.validation_error(value, member, "Member must be a boolean")
        return value.lower() == "true"
    return value


def read_input(route: Route, labels: Mapping[str, str], request: Request) -> dict[str, Any]:
    """The operation's input members (CamelCase, as the model names them)."""
    given: dict[str, Any] = {}
    payload_member = None
    for member, (location, wire, kind) in route.inputs.items():
        if location == "uri":
            if wire in labels:
                given[member] = _scalar(labels[wire], kind, member)
        elif location == "querystring":
            values = request.query.get(wire)
            if values:
                given[member] = values if kind == "list" else _scalar(values[0], kind, member)
        elif location == "header":
            value = request.headers.get(wire.lower())
            if value is not None:
                given[member] = _scalar(value, kind, member)
        elif location == "payload":
            payload_member = member
    if payload_member is not None:
        given[payload_member] = request.body
    elif request.body.strip():
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.InvalidRequestContentException(
                f"Could not parse request body into json: {exc}"
            ) from None
        if not isinstance(body, dict):
            raise errors.InvalidRequestContentException(
                "Could not parse request body into json: expected a JSON object"
            )
        for key, value in body.items():
            given.setdefault(str(key), value)
    return given


def blob(value: object, member: str) -> bytes:
    """A blob member of a JSON body: base64 text, as botocore sends it."""
    if not isinstance(value, str):
        raise errors.InvalidRequestContentException(f"{member} must be base64-encoded text")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise errors.InvalidRequestContentException(
            f"Could not parse request body into json: {member} is not valid base64"
        ) from None


@lru_cache(maxsize=256)
def _parameters(function: Callable[..., object]) -> frozenset[str]:
    return frozenset(inspect.signature(function).parameters)


def call(
    op: str, method: Callable[..., object], given: Mapping[str, Any], accepted: frozenset[str]
) -> object:
    """Call a facade method with the members it takes; a member it does not take is
    refused by name (the sandbox would otherwise ignore a setting the caller relies on)."""
    kwargs: dict[str, Any] = {}
    for member, value in given.items():
        name = snake(member)
        if name not in accepted:
            raise errors.InvalidParameterValueException(
                f"The sandbox does not support {member} in {op}"
            )
        kwargs[name] = value
    return method(**kwargs)


# -- output ---------------------------------------------------------------------------


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()  # rest-json's default timestampFormat: unixTimestamp
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_response(status: int, body: object, request_id: str) -> Response:
    headers = {"x-amzn-RequestId": request_id}
    if status == 204 or body is None:
        return Response(status, b"", headers)
    headers["Content-Type"] = "application/json"
    data = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
    return Response(status, data, headers)


def error_response(error: errors.LambdaError, request_id: str | None = None) -> Response:
    """AWS's error answer: ``x-amzn-errortype`` names the code, the body carries
    ``Type`` and ``Message`` (and ``Reason`` for a throttle)."""
    body: dict[str, object] = {"Type": error.type, "Message": error.message}
    for key, value in error.to_aws().items():
        if key not in ("Type", "message"):
            body[key] = value
    rid = getattr(error, "request_id", None) or request_id or str(uuid.uuid4())
    response = json_response(error.status_code, body, rid)
    response.headers["x-amzn-errortype"] = error.code
    retry = getattr(error, "retry_after_seconds", None)
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


def named_error(status: int, code: str, message: str, error_type: str = "User") -> Response:
    """An error answer for a condition with no LambdaError class (unknown path, 501)."""
    body = {"Type": error_type, "Message": message}
    response = json_response(status, body, str(uuid.uuid4()))
    response.headers["x-amzn-errortype"] = code
    return response


def to_wire(result: object) -> object:
    if result is None:
        return None
    to_aws = getattr(result, "to_aws", None)
    return to_aws() if callable(to_aws) else result


# -- dispatch -------------------------------------------------------------------------


def handle(sb: Sandbox, request: Request) -> Response:
    """Answer one Lambda API request (always an answer: a result or an AWS error)."""
    from sandbox.http.lambda_ops import ACCEPTS, ADAPTERS

    route, known = match(request)
    if route is None:
        if known:
            return named_error(
                405, "MethodNotAllowedException", f"{request.method} is not allowed on this path"
            )
        return named_error(
            404,
            "UnknownOperationException",
            f"No Lambda operation matches {request.method} {request.path}",
        )
    assert isinstance(known, dict)
    request_id = str(uuid.uuid4())
    try:
        given = read_input(route, known, request)
        adapter = ADAPTERS.get(route.op)
        if adapter is not None:
            return adapter(sb, route, given, request_id)
        method = getattr(sb, snake(route.op), None)
        if method is None or not callable(method):
            return named_error(
                501,
                "NotImplementedException",
                f"The sandbox does not implement the Lambda operation {route.op}",
            )
        accepted = ACCEPTS.get(route.op) or _parameters(method)
        result = call(route.op, method, given, accepted)
        return json_response(_STATUS.get(route.op, route.status), to_wire(result), request_id)
    except errors.LambdaError as error:
        return error_response(error, request_id)
    except errors.SandboxClosedError:
        return error_response(errors.ServiceException("The sandbox is closed"), request_id)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # a member of the wrong JSON type reached the sandbox: the caller's mistake
        log.debug("bad input to %s", route.op, exc_info=True)
        return error_response(
            errors.InvalidParameterValueException(f"Invalid request to {route.op}: {exc}"),
            request_id,
        )
