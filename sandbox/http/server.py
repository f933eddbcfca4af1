"""The sandbox's AWS endpoint: one HTTP port that boto3 and the AWS CLI talk to.

``serve(sb)`` binds a :class:`EndpointServer`; ``lambda-sandbox serve`` runs it in the
foreground, ``Sandbox.serve()`` in a background thread sharing the notebook's state. Each
request becomes a :class:`~sandbox.http.protocol.Request` and is offered, in order, to the
SQS handler, the SNS handler (each imported lazily; either may be absent) and Lambda's
REST routes.

Security (why each rule exists):

* it binds 127.0.0.1 by default; any other address **requires** a token, because the
  endpoint runs arbitrary code on this machine for whoever can reach it;
* with a token, every request must carry it — as the SigV4 access key id
  (``aws_access_key_id=TOKEN``) or an ``x-sandbox-token`` header — compared in constant
  time (:func:`hmac.compare_digest`);
* SigV4 signatures are parsed for the account and region but **not verified**: the
  sandbox has no secret keys; this is safe on loopback only;
* bodies are bounded (Invoke: 6 MB plus a margin; anything else: a 50 MB zip in base64)
  and refused with 413 before they are read; sockets time out, so a slow or silent client
  cannot hold a thread forever; a malformed request gets a 400, never a crash.
"""

from __future__ import annotations

import contextlib
import hmac
import importlib
import ipaddress
import json
import logging
import socket
import threading
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from sandbox.http.protocol import Request, Response, access_key, build_request

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox

__all__ = ["DEFAULT_PORT", "EndpointServer", "is_loopback", "serve"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 5055
INVOKE_BODY_LIMIT = 6_291_456 + 1_048_576  # 6 MB payload + a margin: Lambda's own check
BODY_LIMIT = 72 * 1024 * 1024  # a 50 MB zip, base64-encoded in a JSON body
SOCKET_TIMEOUT = 30.0
_PROTOCOL_MODULES = ("sandbox.http.sqs_api", "sandbox.http.sns_api")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the endpoint on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _protocol_handlers() -> list[ModuleType]:
    """The SQS and SNS handler modules that exist (another part of the sandbox)."""
    found = []
    for name in _PROTOCOL_MODULES:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"Type": "User", "Message": message}).encode()
    return Response(
        status,
        body,
        {
            "Content-Type": "application/json",
            "x-amzn-errortype": code,
            "x-amzn-RequestId": str(uuid.uuid4()),
        },
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connections
    timeout = SOCKET_TIMEOUT
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, oversized headers, unknown
        method) as AWS-shaped JSON over HTTP/1.1, even to a request that named no version."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        code_name = "InvalidRequestException" if code < 500 else "ServiceException"
        self._send(_error(code, code_name, message or phrase))

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        endpoint = self.server.endpoint
        try:
            response = self._answer(endpoint)
        except Exception:  # the server must survive whatever a handler does
            log.exception("endpoint: unhandled error")
            response = _error(500, "ServiceException", "The sandbox endpoint failed")
            response.headers["x-amzn-errortype"] = "ServiceException"
        self._send(response)

    def _answer(self, endpoint: EndpointServer) -> Response:
        split = urlsplit(self.path)
        path = unquote(split.path, errors="replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        if "transfer-encoding" in headers:
            self.close_connection = True
            return _error(411, "LengthRequiredException", "Send the body with a Content-Length")
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return _error(400, "InvalidRequestContentException", "Invalid Content-Length")
        limit = (
            INVOKE_BODY_LIMIT
            if ("/invocations" in path or "/invoke-async" in path)
            else (BODY_LIMIT)
        )
        if length > limit:
            self.close_connection = True  # the unread body must not be parsed as a request
            return _error(
                413,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {limit} bytes for the {self.command} operation",
            )
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True
            return _error(400, "InvalidRequestContentException", "The body ended early")
        akid, _ = access_key(headers)
        if endpoint.token is not None and not endpoint.authorized(
            akid, headers.get("x-sandbox-token")
        ):
            return _error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        sb = endpoint.sandbox
        request = build_request(
            self.command, self.path, headers, body, account_id=sb.account_id, region=sb.region
        )
        return endpoint.handle(request)

    def _send(self, response: Response) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        body = b"" if self.command == "HEAD" else response.body
        lines = [f"HTTP/1.1 {response.status} {reason}"]
        for key, value in response.headers.items():
            if key.lower() not in ("content-length", "connection"):
                lines.append(f"{key}: {value}")
        lines.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body)  # one write: no Nagle/delayed-ACK stall
        self.log_request(response.status, len(body))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    endpoint: EndpointServer


class EndpointServer:
    """A bound endpoint. ``serve_forever()`` in the foreground, ``start()`` for a
    background thread, ``close()`` to stop (idempotent)."""

    def __init__(self, sandbox: Sandbox, host: str, port: int, token: str | None) -> None:
        if not is_loopback(host) and not token:
            raise ValueError(
                f"binding {host} exposes code execution beyond this machine: give a token "
                "(clients send it as aws_access_key_id or an x-sandbox-token header)"
            )
        self.sandbox = sandbox
        self.host = host
        self.token = token or None
        self._views: dict[str, Sandbox] = {sandbox.account_id: sandbox}
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.endpoint = self
        self._thread: threading.Thread | None = None
        self._closed = False
        self._served = False  # BaseServer.shutdown() waits forever on a never-served server
        self._lock = threading.Lock()
        self._handlers = _protocol_handlers()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def authorized(self, akid: str | None, header: str | None) -> bool:
        """Constant-time check of the token, given as access key id or header."""
        assert self.token is not None
        want = self.token.encode()
        ok = False
        for given in (akid, header):
            if given is not None:
                ok |= hmac.compare_digest(given.encode("utf-8", "replace"), want)
        return ok

    def view(self, account_id: str) -> Sandbox:
        """The sandbox acting as ``account_id`` (one view per account, reused)."""
        with self._lock:
            found = self._views.get(account_id)
            if found is None:
                found = self._views[account_id] = self.sandbox.for_account(account_id)
            return found

    def handle(self, request: Request) -> Response:
        from sandbox.http import lambda_api

        sb = self.view(request.account_id)
        for module in self._handlers:
            answer = module.handle(sb, request)
            if answer is not None:
                return answer  # type: ignore[no-any-return]
        return lambda_api.handle(sb, request)

    def start(self) -> EndpointServer:
        """Serve from a daemon thread (what ``Sandbox.serve()`` does)."""
        with self._lock:
            if self._thread is None:
                self._served = True
                self._thread = threading.Thread(
                    target=self._httpd.serve_forever,
                    kwargs={"poll_interval": 0.2},
                    name=f"lambda-sandbox-endpoint-{self.port}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``close()`` (or KeyboardInterrupt)."""
        with self._lock:
            self._served = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread, served = self._thread, self._served
        if served:
            self._httpd.shutdown()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> EndpointServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = DEFAULT_PORT, token: str | None = None
) -> EndpointServer:
    """Bind the endpoint for ``sandbox`` (``port=0`` picks a free port). Call
    ``.serve_forever()`` or ``.start()`` on the result."""
    return EndpointServer(sandbox, host, port, token)
