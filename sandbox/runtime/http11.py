"""A minimal HTTP/1.1 server for the sandbox's local platform endpoints.

:class:`HttpServer` serves one handler on an ephemeral port, one thread per connection. It
reads requests (``Content-Length`` or chunked bodies, ``Expect: 100-continue``, keep-alive
by default on HTTP/1.1 and on request on HTTP/1.0, limits on header lines, header count and
header bytes) and writes responses with a ``Content-Length``. Errors are answered with the
JSON ``{"errorMessage", "errorType"}`` body Lambda's local APIs use.

It is hand-written rather than built on :mod:`http.server` or a web framework because it
sits on every invocation's path (a runtime's ``next`` and response, each extension's
``next``): parsing is a few ``readline`` calls per request, connections stay open across
requests and across long-polls parked for minutes, and ``sandbox.runtime`` gains no
dependency. It knows nothing about Lambda: :mod:`sandbox.runtime.apiserver` routes the
requests and decides what they mean.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
from collections.abc import Callable

__all__ = [
    "JSON_CONTENT",
    "Handler",
    "Headers",
    "HttpError",
    "HttpServer",
    "Request",
    "Result",
    "error_body",
]

DRAIN_LIMIT = 64 * 1024 * 1024  # larger bodies are not even read: the connection is dropped
MAX_HEADER_LINE = 1_100_000  # Lambda-Runtime-Function-XRay-Error-Cause may be ~1 MB (§2.1)
MAX_HEADER_BYTES = 2 * 1024 * 1024
MAX_HEADERS = 100
JSON_CONTENT = ("Content-Type", "application/json")
_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}

Headers = list[tuple[str, str]]


class HttpError(Exception):
    """Answer the request with ``status`` and a JSON error body; ``close`` drops the
    connection afterwards (the request could not be read to its end)."""

    def __init__(self, status: int, error_type: str, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message, self.close = status, error_type, message, close


class Request:
    """One request: ``headers`` have lower-case names; ``path`` has no query string.

    A body over the server's ``body_limit`` is read and dropped: ``body`` is then empty
    and ``too_large`` True, for the handler to answer as it sees fit.
    """

    __slots__ = ("body", "headers", "keep_alive", "method", "path", "too_large")

    def __init__(self, method: str, path: str, headers: dict[str, str], keep_alive: bool) -> None:
        self.method, self.path, self.headers, self.keep_alive = method, path, headers, keep_alive
        self.body = b""
        self.too_large = False

    def json(self) -> object:
        """The body parsed as JSON (``{}`` when blank); 400 ``InvalidRequestFormat`` else."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(400, "InvalidRequestFormat", f"Invalid JSON body: {exc}") from exc


Result = tuple[int, Headers, bytes, Callable[[], None] | None]
"""``(status, headers, body, undo)``; ``undo`` runs when the response could not be sent."""

Handler = Callable[[Request], Result]


def _read_chunked(rfile: io.BufferedReader, limit: int) -> tuple[bytes | None, bool]:
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1024)
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError as exc:
            raise HttpError(400, "InvalidRequestFormat", "bad chunk size", True) from exc
        if size == 0:
            while rfile.readline(MAX_HEADER_LINE) not in (b"\r\n", b"\n", b""):
                pass  # trailers are ignored
            return (None if total > limit else b"".join(parts)), total > limit
        total += size
        if total > DRAIN_LIMIT:
            raise HttpError(413, "RequestTooLarge", "request body too large", True)
        chunk = rfile.read(size)
        rfile.readline(4)
        if len(chunk) < size:
            raise HttpError(400, "InvalidRequestFormat", "truncated body", True)
        if total <= limit:
            parts.append(chunk)


def _read_request(rfile: io.BufferedReader, sock: socket.socket, limit: int) -> Request | None:
    """One request from the connection; None at a clean or truncated end of stream."""
    line = rfile.readline(MAX_HEADER_LINE)
    while line in (b"\r\n", b"\n"):
        line = rfile.readline(MAX_HEADER_LINE)
    if not line.endswith(b"\n") and len(line) < MAX_HEADER_LINE:
        return None  # end of stream, possibly mid-line
    parts = line.split()
    if not line.endswith(b"\n") or len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise HttpError(400, "InvalidRequestFormat", "malformed request line", True)
    headers: dict[str, str] = {}
    total = 0
    while True:
        raw = rfile.readline(MAX_HEADER_LINE)
        total += len(raw)
        if not raw.endswith(b"\n") and len(raw) < MAX_HEADER_LINE:
            return None
        if raw in (b"\r\n", b"\n"):
            break
        if not raw.endswith(b"\n") or total > MAX_HEADER_BYTES or len(headers) >= MAX_HEADERS:
            raise HttpError(431, "InvalidRequestFormat", "request headers too large", True)
        name, sep, value = raw.partition(b":")
        if not sep or not name.strip():
            raise HttpError(400, "InvalidRequestFormat", "malformed header line", True)
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("utf-8", "replace")
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection
    if parts[2] == b"HTTP/1.0":
        keep_alive = "keep-alive" in connection
    method, target = parts[0].decode("latin-1"), parts[1].decode("latin-1")
    request = Request(method, target.split("?", 1)[0], headers, keep_alive)
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length_text = headers.get("content-length", "0")
    if not chunked and not length_text.isdigit():
        raise HttpError(400, "InvalidRequestFormat", "bad Content-Length", True)
    length = 0 if chunked else int(length_text)
    if length > DRAIN_LIMIT:
        raise HttpError(413, "RequestTooLarge", "request body too large", True)
    if headers.get("expect", "").lower() == "100-continue" and (chunked or length):
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if chunked:
        body, request.too_large = _read_chunked(rfile, limit)
        request.body = body or b""
        return request
    if length > limit:
        request.too_large = True
        while length > 0:  # drain, so the client reads our 413 instead of a reset
            got = len(rfile.read(min(length, 1 << 20)))
            if not got:
                return None
            length -= got
        return request
    request.body = rfile.read(length)
    return request if len(request.body) == length else None


def _encode(status: int, headers: Headers, body: bytes, close: bool) -> bytes:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    head.extend(f"{k}: {v}" for k, v in headers)
    head.append(f"Content-Length: {len(body)}")
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def error_body(error_type: str, message: str) -> bytes:
    """The JSON error body: ``{"errorMessage": message, "errorType": error_type}``."""
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _linger(conn: socket.socket, limit: int = 4 << 20) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(0.5)
        while limit > 0 and (chunk := conn.recv(65536)):
            limit -= len(chunk)


class HttpServer:
    """Serve ``handler`` on ``host`` (an ephemeral port) from construction until
    :meth:`close`; one thread accepts, one thread per connection serves it.

    ``handler`` runs on the connection's thread and may block (long-polls). It returns a
    :data:`Result` or raises :class:`HttpError`; any other exception is answered 500
    ``Sandbox.Failure`` and closes the connection.

    Args:
        handler: Answers one request.
        host: Interface to bind.
        body_limit: Bodies larger than this are drained, not kept (``Request.too_large``).
        name: Prefix of the thread names.
    """

    address: str
    """``HOST:PORT`` the server listens on."""

    def __init__(self, handler: Handler, *, host: str, body_limit: int, name: str) -> None:
        self._handler = handler
        self._body_limit = body_limit
        self._name = name
        self._cond = threading.Condition()
        self._closing = False
        self._closed = False
        self._conns: set[socket.socket] = set()
        self._busy = 0  # requests being handled (including parked long-polls)
        self._listener = socket.create_server((host, 0), backlog=64)
        self.address = f"{host}:{self._listener.getsockname()[1]}"
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"{name}-{self.address}", daemon=True
        )
        self._acceptor.start()

    def begin_close(self) -> None:
        """From now on every response closes its connection and no connection is
        accepted. Idempotent; :meth:`close` does it too."""
        with self._cond:
            self._closing = True

    def close(self, timeout: float = 1.0) -> None:
        """Let requests being handled answer (up to ``timeout`` seconds), then close the
        listener and every connection and stop the acceptor. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closing = self._closed = True
            self._cond.wait_for(lambda: self._busy == 0, timeout)
            conns = list(self._conns)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(1.0)

    def __enter__(self) -> HttpServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpServer({self.address}, name={self._name!r})"

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._cond:
                if self._closing:
                    conn.close()
                    return
                self._conns.add(conn)
            name = f"{self._name}-conn-{self.address}"
            threading.Thread(target=self._serve, args=(conn,), name=name, daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self._closing:
                undo: Callable[[], None] | None = None
                request: Request | None = None
                try:
                    request = _read_request(rfile, conn, self._body_limit)
                    if request is None:
                        return
                    with self._cond:
                        self._busy += 1  # close() lets this request finish
                    status, headers, body, undo = self._handler(request)
                    close = False
                except HttpError as exc:
                    status, headers, close = exc.status, [JSON_CONTENT], exc.close
                    body = error_body(exc.error_type, exc.message)
                except Exception as exc:  # a bug here must not kill the connection thread
                    status, headers, close = 500, [JSON_CONTENT], True
                    body = error_body("Sandbox.Failure", f"{type(exc).__name__}: {exc}")
                close = close or self._closing or request is None or not request.keep_alive
                try:
                    conn.sendall(_encode(status, headers, body, close))
                except OSError:
                    if undo is not None:
                        undo()
                    return
                finally:
                    if request is not None:
                        with self._cond:
                            self._busy -= 1
                            self._cond.notify_all()
                if close:
                    if request is None:  # a broken request: drain it so the client reads our
                        _linger(conn)  # answer instead of a connection reset
                    return
        except OSError:
            return
        finally:
            with self._cond:
                self._conns.discard(conn)
            rfile.close()
            conn.close()
