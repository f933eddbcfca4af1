"""Builders of the HTTP events: API Gateway REST (payload 1.0) and HTTP APIs (2.0),
function URLs and Application Load Balancers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import quote, quote_plus, urlencode

from sandbox.events._derive import Context, Event


# HTTP -------------------------------------------------------------------------------------
def _http_body(
    body: object, is_base64: bool | None, headers: dict[str, str], content_type: str
) -> tuple[str | None, bool]:
    """The body field and isBase64Encoded: bytes are base64-encoded, JSON-able values
    become JSON text (and a content-type header)."""
    if body is None:
        return None, bool(is_base64)
    if isinstance(body, bytes | bytearray):
        headers.setdefault(content_type, "application/octet-stream")
        return base64.b64encode(body).decode(), True
    if isinstance(body, str):
        return body, bool(is_base64)
    headers.setdefault(content_type, "application/json")
    return json.dumps(body), bool(is_base64)


def _query_lists(query: Mapping[str, object] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in (query or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        out[str(name)] = [str(v) for v in values]
    return out


def _apigateway_rest(
    event: Event,
    ctx: Context,
    method: str = "GET",
    path: str = "/hello",
    body: object = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, object] | None = None,
    is_base64: bool | None = None,
    stage: str = "prod",
) -> Event:
    method = method.upper()
    all_headers = dict(event["headers"])
    all_headers.update({str(k): str(v) for k, v in (headers or {}).items()})
    text, encoded = _http_body(body, is_base64, all_headers, "Content-Type")
    queries = (
        _query_lists(query) if query is not None else _query_lists(event["queryStringParameters"])
    )
    ctx_ = event["requestContext"]
    api_id = ctx_["apiId"]
    host = f"{api_id}.execute-api.{ctx.region}.amazonaws.com"
    if "Host" in all_headers and not (headers and "Host" in headers):
        all_headers["Host"] = host
    event.update(
        path=path,
        httpMethod=method,
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        # payload 1.0: the single-value map keeps the last value of a repeated parameter
        queryStringParameters={k: v[-1] for k, v in queries.items()} or None,
        multiValueQueryStringParameters=queries or None,
        pathParameters={"proxy": path.lstrip("/")} if path.strip("/") else None,
        body=text,
        isBase64Encoded=encoded,
    )
    ctx_.update(
        accountId=ctx.account,
        stage=stage,
        requestId=ctx.uuid(),
        extendedRequestId=ctx.b64(10),
        requestTime=ctx.clf(),
        requestTimeEpoch=ctx.ms,
        path=f"/{stage}{path}",
        httpMethod=method,
        domainName=host,
    )
    return event


def _v2(
    event: Event,
    ctx: Context,
    method: str,
    path: str,
    body: object,
    headers: Mapping[str, str] | None,
    query: Mapping[str, object] | None,
    is_base64: bool | None,
    cookies: Sequence[str] | None,
    domain: str,
) -> Event:
    method = method.upper()
    # payload 2.0: header names are lower case; repeated values are joined with commas
    all_headers = {k.lower(): v for k, v in event["headers"].items()}
    all_headers["host"] = domain
    all_headers.update({str(k).lower(): str(v) for k, v in (headers or {}).items()})
    all_headers.pop("content-length", None)
    if body is None:
        all_headers.pop("content-type", None)
    text, encoded = _http_body(body, is_base64, all_headers, "content-type")
    if text is not None:
        length = len(base64.b64decode(text)) if encoded else len(text.encode())
        all_headers["content-length"] = str(length)
    queries = (
        _query_lists(query)
        if query is not None
        else _query_lists(event.get("queryStringParameters"))
    )
    event["rawPath"] = path
    event["rawQueryString"] = urlencode(
        [(k, v) for k, vs in queries.items() for v in vs], quote_via=quote
    )
    if cookies:
        event["cookies"] = list(cookies)
    else:
        event.pop("cookies", None)
    event["headers"] = all_headers
    if queries:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in queries.items()}
    else:
        event.pop("queryStringParameters", None)
    if text is None:
        event.pop("body", None)  # payload 2.0 has no body key for an empty body
    else:
        event["body"] = text
    event["isBase64Encoded"] = encoded
    rc = event["requestContext"]
    rc.update(
        accountId=ctx.account,
        domainName=domain,
        requestId=ctx.b64(10),
        time=ctx.clf(),
        timeEpoch=ctx.ms,
    )
    rc["http"]["method"] = method
    rc["http"]["path"] = path
    return event


def _apigateway_http(
    event: Event,
    ctx: Context,
    method: str = "POST",
    path: str = "/orders",
    body: object = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, object] | None = None,
    is_base64: bool | None = None,
    cookies: Sequence[str] | None = None,
    route_key: str | None = None,
) -> Event:
    if body is None and "body" in event:
        body = event["body"]
    api_id = event["requestContext"]["apiId"]
    _v2(
        event,
        ctx,
        method,
        path,
        body,
        headers,
        query,
        is_base64,
        cookies,
        f"{api_id}.execute-api.{ctx.region}.amazonaws.com",
    )
    route = route_key or f"{method.upper()} {path}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    return event


def _function_url(
    event: Event,
    ctx: Context,
    method: str = "POST",
    path: str = "/orders",
    body: object = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, object] | None = None,
    is_base64: bool | None = None,
    cookies: Sequence[str] | None = None,
) -> Event:
    if body is None and "body" in event:
        body = event["body"]
    url_id = event["requestContext"]["apiId"]
    return _v2(
        event,
        ctx,
        method,
        path,
        body,
        headers,
        query,
        is_base64,
        cookies,
        f"{url_id}.lambda-url.{ctx.region}.on.aws",
    )


def _alb(
    event: Event,
    ctx: Context,
    method: str = "GET",
    path: str = "/health",
    body: object = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, object] | None = None,
    is_base64: bool | None = None,
    target_group: str = "my-targets",
) -> Event:
    all_headers = dict(event["headers"])
    all_headers.update({str(k).lower(): str(v) for k, v in (headers or {}).items()})
    text, encoded = _http_body(body, is_base64, all_headers, "content-type")
    queries = (
        _query_lists(query) if query is not None else _query_lists(event["queryStringParameters"])
    )
    event["requestContext"]["elb"]["targetGroupArn"] = ctx.arn(
        "elasticloadbalancing", f"targetgroup/{target_group}/{ctx.hex(16)}"
    )
    event.update(
        httpMethod=method.upper(),
        path=path,
        # ALB passes query values as they were sent (still URL-encoded), the last one wins
        queryStringParameters={k: quote_plus(v[-1]) for k, v in queries.items()},
        headers=all_headers,
        body=text if text is not None else "",  # ALB sends "" for an empty body
        isBase64Encoded=encoded,
    )
    return event


BUILDERS: dict[str, Callable[..., Event]] = {
    "apigateway-rest": _apigateway_rest,
    "apigateway-http": _apigateway_http,
    "function-url": _function_url,
    "alb": _alb,
}
