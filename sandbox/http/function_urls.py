"""The local endpoint of function URLs: HTTP requests in, synchronous invocations out.

On AWS a function URL is ``https://<url-id>.lambda-url.<region>.on.aws/``. The sandbox
serves every URL of a sandbox from **one** HTTP server on loopback (127.0.0.1, an
ephemeral port), started on first use and stopped when the sandbox closes. A request
reaches a URL either by a path prefix, ``http://127.0.0.1:<port>/<url-id>/orders?id=7``
(what :meth:`FunctionUrlServer.endpoint` hands out), or by the ``Host`` header
``<url-id>.lambda-url.<region>.localhost[:<port>]``; either way the function sees the
path *after* the url-id and AWS's host name, exactly as it would on AWS.

Per request, following the developer guide ("Invoking Lambda function URLs", "Security
and auth model", "Creating and managing Lambda function URLs"):

1. a CORS preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
   of a URL with ``Cors`` settings is answered here, without invoking;
2. the auth type is enforced (403 ``{"Message":"Forbidden"}``);
3. the request becomes the payload format 2.0 event and the function is invoked
   **synchronously** (the function's timeout applies; the body is bounded at 6 MB);
4. the answer is mapped back: a result with a ``statusCode`` is a response, any other
   JSON is a 200 ``application/json`` body; a function error is 502, a throttle 429;
5. one ``TRIGGER`` telemetry record is written (source ``function-url``).

It is built on :mod:`http.server` (a thread per connection): unlike
:mod:`sandbox.runtime.http11` it keeps repeated headers and the raw query string, which
the event needs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from sandbox.core.clock import Clock
from sandbox.core.invocation import SYNC_PAYLOAD_LIMIT
from sandbox.core.telemetry import RecordKind
from sandbox.errors import LambdaError, SandboxClosedError, TooManyRequestsException
from sandbox.service.telemetry import TelemetryBus
from sandbox.service.urls import FunctionUrl, authorize, find_url, iam_caller
from sandbox.store.db import Database

if TYPE_CHECKING:
    from sandbox.service.invoke import InvokeService

__all__ = ["FunctionUrlServer", "function_response", "url_event"]

log = logging.getLogger(__name__)

Headers = list[tuple[str, str]]
BODY_LIMIT = SYNC_PAYLOAD_LIMIT  # a request body is bounded like a synchronous payload: 6 MB
_JSON = ("content-type", "application/json")
_HOST = re.compile(r"^(?P<id>[a-z0-9]+)\.lambda-url\.[a-z0-9-]+\.localhost(:\d+)?$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_TYPES = frozenset(
    {"application/json", "application/javascript", "application/xml", "application/yaml"}
)
# headers the endpoint computes itself: a function's own values are dropped
_MANAGED = frozenset({"content-length", "transfer-encoding", "connection"})
_FORBIDDEN = b'{"Message":"Forbidden"}'
_FUNCTION_ERROR = b"Internal Server Error"  # the body AWS answers a failed function with
_TOO_LARGE = json.dumps(
    {"Message": f"Request must be smaller than {BODY_LIMIT} bytes for the InvokeFunction operation"}
).encode()


# the event --------------------------------------------------------------------------------
def _is_text(content_type: str | None) -> bool:
    """Whether a body of this content type travels as text (else base64): ``text/*``,
    JSON, JavaScript, XML and YAML, and ``+json``/``+xml`` types."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media.startswith("text/")
        or media in _TEXT_TYPES
        or media.endswith("+json")
        or media.endswith("+xml")
    )


def _clf(epoch: float) -> str:
    """``05/Jan/2025:08:00:00 +0000`` (``requestContext.time``), whatever the locale."""
    t = datetime.fromtimestamp(epoch, UTC)
    return f"{t.day:02d}/{_MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S} +0000"


def url_event(
    url: FunctionUrl,
    *,
    method: str,
    path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    now: float,
    request_id: str,
) -> dict[str, object]:
    """The payload format 2.0 event a request to ``url`` becomes (urls-invocation,
    "Request payload format").

    Header names are lower-cased and repeated headers joined with commas; ``Cookie``
    headers become ``cookies``; ``host`` and the ``x-forwarded-*`` headers are what AWS's
    front end would send; repeated query parameters are joined with commas in
    ``queryStringParameters``; a body that is not text is base64-encoded.
    """
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        elif key not in ("host", "transfer-encoding", "connection"):
            merged[key] = f"{merged[key]},{value}" if key in merged else value
    merged["host"] = url.domain_name
    merged.setdefault("x-forwarded-for", source_ip)
    merged["x-forwarded-proto"] = "https"
    merged["x-forwarded-port"] = "443"
    merged.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{secrets.token_hex(12)}")
    if body:
        merged["content-length"] = str(len(body))
    event: dict[str, object] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = merged
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    if query:
        event["queryStringParameters"] = query
    context: dict[str, object] = {
        # NONE: the caller is anonymous; AWS_IAM: the signer's account (here the owner's)
        "accountId": "anonymous" if url.auth_type == "NONE" else url.account_id,
        "apiId": url.url_id,
        "authentication": None,
    }
    if url.auth_type == "AWS_IAM":
        key_id = iam_caller(merged.get("authorization")) or ""
        context["authorizer"] = {
            "iam": {
                "accessKey": key_id,
                "accountId": url.account_id,
                "callerId": key_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{url.account_id}:root",
                "userId": key_id,
            }
        }
    context.update(
        {
            "domainName": url.domain_name,
            "domainPrefix": url.url_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": _clf(now),
            "timeEpoch": int(now * 1000),
        }
    )
    event["requestContext"] = context
    encoded = False
    if body:
        text: str | None = None
        if _is_text(merged.get("content-type")):
            with contextlib.suppress(UnicodeDecodeError):
                text = body.decode("utf-8")
        encoded = text is None
        event["body"] = base64.b64encode(body).decode() if text is None else text
    event["isBase64Encoded"] = encoded
    return event


# the response -----------------------------------------------------------------------------
def _header_value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def function_response(raw: bytes) -> tuple[int, Headers, bytes]:
    """Map a function's successful result to ``(status, headers, body)`` (urls-invocation,
    "Response payload format"): a JSON object with ``statusCode`` is a response
    (``headers``, ``body``, ``cookies`` as ``set-cookie``, ``isBase64Encoded``); anything
    else is the body of a 200 ``application/json`` answer. A malformed response is 502."""
    try:
        doc = json.loads(raw) if raw.strip() else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or "statusCode" not in doc:
        return 200, [_JSON], raw
    try:
        return _structured(doc)
    except (TypeError, ValueError, binascii.Error):
        return 502, [_JSON], _FUNCTION_ERROR


def _structured(doc: Mapping[str, object]) -> tuple[int, Headers, bytes]:
    status = doc["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int | str):
        raise TypeError("statusCode")
    code = int(status)
    if not 100 <= code <= 599:
        raise ValueError("statusCode")
    raw_headers = doc.get("headers") or {}
    cookies = doc.get("cookies") or []
    if not isinstance(raw_headers, Mapping) or not isinstance(cookies, list):
        raise TypeError("headers")
    headers: Headers = [
        (str(k).lower(), _header_value(v))
        for k, v in raw_headers.items()
        if str(k).lower() not in _MANAGED and v is not None
    ]
    if not any(k == "content-type" for k, _ in headers):
        headers.append(_JSON)
    headers.extend(("set-cookie", str(c)) for c in cookies)
    body = doc.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        data = json.dumps(body).encode()
    elif doc.get("isBase64Encoded") is True:
        data = base64.b64decode(body, validate=True)
    else:
        data = body.encode()
    return code, headers, data


# CORS -------------------------------------------------------------------------------------
def _allowed_origin(cors: Mapping[str, object], origin: str) -> str | None:
    """The ``Access-Control-Allow-Origin`` to send for ``origin``, or None if not allowed."""
    raw = cors.get("AllowOrigins")
    origins = [str(o) for o in raw] if isinstance(raw, list) else []
    if "*" in origins:
        return origin if cors.get("AllowCredentials") else "*"
    return origin if origin in origins else None


def _joined(cors: Mapping[str, object], key: str) -> str | None:
    values = cors.get(key)
    return ", ".join(str(v) for v in values) if isinstance(values, list) and values else None


def _cors_headers(cors: Mapping[str, object], origin: str, *, preflight: bool) -> Headers:
    """The Access-Control-* headers of a URL's ``Cors`` settings (urls-configuration,
    "Cross-origin resource sharing"): all of them on a preflight answer, the origin,
    credentials and exposed headers on any other answer."""
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return []
    out: Headers = [("access-control-allow-origin", allowed)]
    if allowed != "*":
        out.append(("vary", "Origin"))
    if cors.get("AllowCredentials"):
        out.append(("access-control-allow-credentials", "true"))
    if preflight:
        for key, header in (
            ("AllowMethods", "access-control-allow-methods"),
            ("AllowHeaders", "access-control-allow-headers"),
        ):
            if (value := _joined(cors, key)) is not None:
                out.append((header, value))
        if "MaxAge" in cors:
            out.append(("access-control-max-age", str(cors["MaxAge"])))
    elif (exposed := _joined(cors, "ExposeHeaders")) is not None:
        out.append(("access-control-expose-headers", exposed))
    return out


# the server -------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # closing does not wait for a request still running a function

    def __init__(self, app: FunctionUrlServer) -> None:
        self.app = app
        super().__init__(("127.0.0.1", 0), _Handler)


class FunctionUrlServer:
    """The loopback HTTP server of one sandbox's function URLs (every account's).

    Args:
        db: the store (URLs are looked up per request, so changes apply at once).
        clock: platform time for the event's ``time``.
        bus: where ``TRIGGER`` records go.
        invoker_for: ``(account_id, region) -> InvokeService``, the sandbox's invoke path.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        bus: TelemetryBus,
        invoker_for: Callable[[str, str], InvokeService],
    ) -> None:
        self.db, self.clock, self.bus, self.invoker_for = db, clock, bus, invoker_for
        self._server = _Server(self)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"function-urls:{self.port}",
            daemon=True,
        )
        self._closed = False
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def endpoint(self, url_id: str) -> str:
        """``http://127.0.0.1:<port>/<url-id>/``: where the URL is served locally."""
        return f"http://127.0.0.1:{self.port}/{url_id}/"

    def close(self) -> None:
        """Stop accepting requests and free the port; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FunctionUrlServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    """One connection; every method goes through :meth:`handle_any`."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    server_version = "lambda-sandbox"
    sys_version = ""
    timeout = 120  # an idle kept-alive connection is dropped after two minutes

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests are on the telemetry bus, not on stderr."""

    def handle_any(self) -> None:
        try:
            self._handle()
        except SandboxClosedError:
            self.close_connection = True
            self._send(503, [_JSON], b'{"Message":"Service Unavailable"}')
        except Exception:
            log.exception("function URL request %s %s failed", self.command, self.path)
            self.close_connection = True
            self._send(500, [_JSON], b'{"Message":"Internal Server Error"}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

    def _handle(self) -> None:
        app = self.server.app
        if app.closed:  # a kept-alive connection outlives the server's listening socket
            raise SandboxClosedError("the function URL server is closed")
        arrived = app.clock.time()
        raw_path, _, raw_query = self.path.partition("?")
        url_id, path = self._route(raw_path)
        body = self._read_body()
        url = find_url(app.db, url_id) if url_id else None
        if url is None:
            self._send(404, [_JSON], b'{"Message":"Not Found"}')
            return
        # the answer waits until the request is on the bus: a caller that reads the
        # telemetry right after its response finds it there
        self._held: list[tuple[int, Headers, bytes]] | None = []
        try:
            status, request_id = self._serve(app, url, path, raw_query, body, arrived)
        finally:
            held, self._held = self._held, None
        app.bus.emit(
            RecordKind.TRIGGER,
            time=arrived,
            function_name=url.function_name,
            request_id=request_id,
            account_id=url.account_id,
            detail={
                "source": "function-url",
                "url_id": url.url_id,
                "qualifier": url.qualifier,
                "method": self.command,
                "path": path,
                "status": status,
            },
        )
        for answer in held or []:
            self._send(*answer)

    def _route(self, raw_path: str) -> tuple[str, str]:
        """(url-id, path the function sees) from the Host header or the path prefix."""
        host = self.headers.get("host", "").lower()
        if match := _HOST.match(host):
            return match["id"], raw_path or "/"
        url_id, _, rest = raw_path.lstrip("/").partition("/")
        return url_id, "/" + rest

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is over the limit (the connection then
        closes after the answer, so nothing more is read)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("content-length", "0").strip() or "0"
        if not length_text.isdigit():  # unreadable: answer, then drop the connection
            self.close_connection = True
            return b""
        length = int(length_text)
        if length > BODY_LIMIT:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                return None
            if size == 0:
                while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > BODY_LIMIT:
                self.close_connection = True
                return None
            parts.append(self.rfile.read(size))
            self.rfile.readline(4)

    def _serve(
        self,
        app: FunctionUrlServer,
        url: FunctionUrl,
        path: str,
        query: str,
        body: bytes | None,
        now: float,
    ) -> tuple[int, str]:
        """Answer one request for ``url``; (the status sent, the invocation's request id)."""
        origin = self.headers.get("origin")
        cors = url.cors if origin else None
        preflight = self.command == "OPTIONS" and "access-control-request-method" in self.headers
        if cors is not None and origin is not None and preflight:
            self._send(200, _cors_headers(cors, origin, preflight=True), b"")
            return 200, ""
        if not authorize(app.db, url, self.headers.get("authorization")):
            self._send(403, [_JSON, ("x-amzn-ErrorType", "AccessDeniedException")], _FORBIDDEN)
            return 403, ""
        if body is None:
            self._send(413, [_JSON], _TOO_LARGE)
            return 413, ""
        event = url_event(
            url,
            method=self.command,
            path=path,
            raw_query=query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            now=now,
            request_id=str(uuid.uuid4()),
        )
        status, headers, data, request_id = self._invoke(app, url, event)
        if cors is not None and origin is not None:
            # the URL's CORS settings win over the function's own (urls-configuration)
            headers = [h for h in headers if not h[0].startswith("access-control-")]
            headers.extend(_cors_headers(cors, origin, preflight=False))
        if request_id:
            headers.append(("x-amzn-RequestId", request_id))
        self._send(status, headers, data)
        return status, request_id

    @staticmethod
    def _invoke(
        app: FunctionUrlServer, url: FunctionUrl, event: dict[str, object]
    ) -> tuple[int, Headers, bytes, str]:
        """Invoke synchronously and map the outcome to an HTTP answer."""
        try:
            result = app.invoker_for(url.account_id, url.region).invoke(url.function_arn, event)
        except TooManyRequestsException as exc:
            body = json.dumps({"Message": exc.message}).encode()
            headers = [_JSON, ("x-amzn-ErrorType", exc.code)]
            return 429, headers, body, exc.request_id or ""
        except LambdaError as exc:
            body = json.dumps({"Message": exc.message}).encode()
            return exc.status_code, [_JSON, ("x-amzn-ErrorType", exc.code)], body, ""
        except SandboxClosedError:
            return 503, [_JSON], b'{"Message":"Service Unavailable"}', ""
        except Exception:
            log.exception("function URL %s: the invocation failed", url.url_id)
            return 500, [_JSON], b'{"Message":"Internal Server Error"}', ""
        if result.function_error:
            return 502, [_JSON], _FUNCTION_ERROR, result.request_id
        status, headers, data = function_response(result.raw_payload)
        return status, headers, data, result.request_id

    _held: list[tuple[int, Headers, bytes]] | None = None

    def _send(self, status: int, headers: Headers, body: bytes) -> None:
        if self._held is not None:  # _handle sends it once the telemetry is written
            self._held.append((status, headers, body))
            return
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client went away: nothing to answer
            self.close_connection = True
