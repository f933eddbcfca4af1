"""The Runtime, Extensions and Telemetry API endpoint of one execution environment.

On Lambda, every process inside an environment reaches the platform through one local HTTP
endpoint, ``AWS_LAMBDA_RUNTIME_API``: external extensions register and long-poll for
``INVOKE``/``SHUTDOWN`` events, a custom runtime long-polls for invocations and posts their
results, and extensions subscribe to the Telemetry API (spec §2). :class:`ApiServer` is
that endpoint for one sandbox environment: the Lambda APIs' semantics over a small
HTTP/1.1 server on ``127.0.0.1`` (:mod:`sandbox.runtime.http11`), whose other side is a
Python interface for the sandbox (the *driver*): it says which extensions to expect,
dispatches events, waits - always with a timeout - for extensions and the runtime to
answer, and feeds telemetry records that :mod:`sandbox.runtime.telemetry_delivery` batches
to subscribers.

Nothing here knows about functions beyond the three strings ``register`` returns, and
nothing here decides what a failure means: errors are recorded for the driver to read.

Where AWS is silent the sandbox picks: unknown paths answer 404 ``NotFound``, wrong methods
405 ``MethodNotAllowed``, unparsable bodies 400 ``InvalidRequestFormat``, a closed server
500 ``Sandbox.Shutdown``; a runtime calling ``invocation/next`` without posting a result
abandons that invocation; streamed responses (chunked bodies) are accepted whole.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence

from sandbox.core.clock import Clock, RealClock, iso8601_ms
from sandbox.runtime.apistate import ExtensionInfo, ExtensionState, RuntimeReply
from sandbox.runtime.http11 import JSON_CONTENT as _JSON
from sandbox.runtime.http11 import Headers, HttpError, HttpServer, Request, Result, error_body
from sandbox.runtime.telemetry_delivery import (
    SubscriptionError,
    TelemetryDelivery,
    parse_subscription,
)

__all__ = ["MAX_EXTENSIONS", "RESPONSE_LIMIT", "ApiServer", "ExtensionInfo", "RuntimeReply"]

MAX_EXTENSIONS = 10  # spec §2.2: Extension.TooManyExtensions
RESPONSE_LIMIT = 6_291_556  # spec §1.1: synchronous response payload limit, bytes
EVENT_TYPES = ("INVOKE", "SHUTDOWN")
SHUTDOWN_REASONS = ("spindown", "timeout", "failure")  # spec §2.2: lowercase on the wire
TOO_LARGE_MESSAGE = (
    f"Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."
)
_RUNTIME = "/2018-06-01/runtime/"
_INVOCATION = _RUNTIME + "invocation/"
_EXTENSION = "/2020-01-01/extension/"
_OK = b'{"status":"OK"}'

EventHook = Callable[[str, dict[str, object]], None]


def _forbidden(error_type: str, message: str) -> HttpError:
    return HttpError(403, error_type, message)


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


class ApiServer:
    """The ``AWS_LAMBDA_RUNTIME_API`` endpoint of one execution environment.

    Starts serving on ``host`` (an ephemeral port) at construction; :attr:`address` is the
    value for ``AWS_LAMBDA_RUNTIME_API``. Thread-safe; every wait takes a timeout;
    :meth:`close` (or leaving the ``with`` block) answers every long-poll with a 500 and
    stops all threads.

    Args:
        function_name: ``functionName`` returned by ``register``.
        function_version: ``functionVersion`` returned by ``register``.
        handler: ``handler`` returned by ``register``.
        account_id: ``accountId``, returned when the extension accepts that feature.
        host: Interface to bind.
        on_event: Called (never under the lock; exceptions swallowed) with ``register``,
            ``next``, ``init_error``, ``exit_error``, ``subscribe``, ``delivery`` and
            ``dropped`` and a details dict, for the sandbox's telemetry bus.
        clock: Platform time for telemetry record timestamps.
    """

    address: str
    """``127.0.0.1:PORT``: the value of ``AWS_LAMBDA_RUNTIME_API`` in the environment."""

    def __init__(
        self,
        *,
        function_name: str,
        function_version: str,
        handler: str,
        account_id: str,
        host: str = "127.0.0.1",
        on_event: EventHook | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._function = {
            "functionName": function_name,
            "functionVersion": function_version,
            "handler": handler,
        }
        self._account_id = account_id
        self._on_event = on_event
        self._clock: Clock = clock or RealClock()
        self._cond = threading.Condition()
        self._closed = False
        self._expected: tuple[str, ...] = ()
        self._allow_internal = True
        self._registration_open = True
        self._by_id: dict[str, ExtensionState] = {}
        self._by_name: dict[str, ExtensionState] = {}
        self._errors: list[tuple[str, str, dict[str, object]]] = []
        self._current: list[ExtensionState] = []  # recipients of the last INVOKE/SHUTDOWN
        self._rt_pending: tuple[str, Headers, bytes] | None = None
        self._rt_inflight: str | None = None
        self._rt_waiting = 0
        self._replies: deque[RuntimeReply] = deque()
        self._delivery = TelemetryDelivery(
            on_event=on_event, now_iso=lambda: iso8601_ms(self._clock.time())
        )
        self._routes: dict[str, tuple[str, Callable[[Request], Result]]] = {
            _EXTENSION + "register": ("POST", self._register),
            _EXTENSION + "event/next": ("GET", self._extension_next),
            _EXTENSION + "init/error": ("POST", lambda r: self._extension_error(r, "init")),
            _EXTENSION + "exit/error": ("POST", lambda r: self._extension_error(r, "exit")),
            _INVOCATION + "next": ("GET", self._runtime_next),
            _RUNTIME + "init/error": ("POST", self._runtime_init_error),
            "/2022-07-01/telemetry": ("PUT", lambda r: self._subscribe(r, "telemetry")),
            "/2020-08-15/logs": ("PUT", lambda r: self._subscribe(r, "logs")),
        }
        self._http = HttpServer(
            self._dispatch, host=host, body_limit=RESPONSE_LIMIT, name="lambda-api"
        )
        self.address = self._http.address

    # -- driver interface -------------------------------------------------------------

    def expect_extensions(self, names: Sequence[str], *, allow_internal: bool = True) -> None:
        """Declare the external extensions (executables in ``/opt/extensions``) to expect.

        Args:
            names: Their file names; only these may register as external extensions.
            allow_internal: Whether other names may register, as internal extensions.
        """
        with self._cond:
            self._expected = tuple(names)
            self._allow_internal = allow_internal

    def registered(self) -> list[ExtensionInfo]:
        """Registered extensions, in registration order."""
        with self._cond:
            return [e.info() for e in self._by_name.values()]

    def wait_registered(self, timeout: float) -> bool:
        """Wait until every expected external extension has registered (end of Extension
        init). False on timeout, on close, or as soon as an init error is recorded."""
        return self._wait(lambda: all(n in self._by_name for n in self._expected), timeout)

    def wait_extensions_ready(self, timeout: float) -> bool:
        """Wait until every expected external extension has registered and called
        ``event/next`` (internal ones: registered). True at once if none are expected.
        False on timeout, on close, or as soon as an init error is recorded."""

        def ready() -> bool:
            for name in self._expected:
                ext = self._by_name.get(name)
                if ext is None or not ext.nexted:
                    return False
            return True

        return self._wait(ready, timeout)

    def errors(self) -> list[tuple[str, str, dict[str, object]]]:
        """Recorded extension errors: ``(name, "init" | "exit", details)``; ``details`` has
        ``errorType`` (the header), ``errorMessage``, ``stackTrace`` and the raw ``body``.
        A rejected 11th registration is recorded as an ``init`` error
        ``Extension.TooManyExtensions``."""
        with self._cond:
            return list(self._errors)

    def close_registration(self) -> None:
        """End of INIT: later ``register`` calls get ``Extension.RegistrationClosed``."""
        with self._cond:
            self._registration_open = False

    def dispatch_invoke(
        self,
        request_id: str,
        *,
        deadline_ms: int,
        invoked_function_arn: str,
        trace_id: str,
        event: bytes | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> None:
        """Send ``INVOKE`` to every extension registered for it and, when ``event`` is
        given, hand the event to the custom runtime's ``invocation/next``. Extensions that
        are still busy get the event on their next ``next`` call."""
        payload = json.dumps(
            {
                "eventType": "INVOKE",
                "deadlineMs": deadline_ms,
                "requestId": request_id,
                "invokedFunctionArn": invoked_function_arn,
                "tracing": {"type": "X-Amzn-Trace-Id", "value": trace_id},
            }  # spec §2.2: metadata only, never the event body
        ).encode()
        headers: Headers = [
            _JSON,
            ("Lambda-Runtime-Aws-Request-Id", _one_line(request_id)),
            ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", _one_line(invoked_function_arn)),
            ("Lambda-Runtime-Trace-Id", _one_line(trace_id)),
        ]
        if client_context is not None:
            headers.append(("Lambda-Runtime-Client-Context", _one_line(client_context)))
        if cognito_identity is not None:
            headers.append(("Lambda-Runtime-Cognito-Identity", _one_line(cognito_identity)))
        with self._cond:
            if self._closed:
                return
            self._current = [
                e for e in self._by_name.values() if "INVOKE" in e.events and not e.errored
            ]
            for ext in self._current:
                ext.pending = payload
            if event is not None:
                self._rt_pending = (request_id, headers, event)
            self._cond.notify_all()

    def wait_runtime_next(self, timeout: float) -> bool:
        """Wait until the custom runtime is parked in ``invocation/next`` (after INIT: the
        runtime's init is done). False on timeout, on close, or once it posted an init
        error (read it with :meth:`wait_runtime_reply`)."""
        return self._wait(
            lambda: self._rt_waiting > 0 and self._rt_pending is None,
            timeout,
            lambda: any(r.kind == "init_error" for r in self._replies),
        )

    def wait_runtime_reply(self, timeout: float) -> RuntimeReply | None:
        """The runtime's next reply (response, error, init error, too-large response), or
        None after ``timeout`` seconds or on close."""
        with self._cond:
            if self._cond.wait_for(lambda: self._replies or self._closed, timeout):
                return self._replies.popleft() if self._replies else None
            return None

    def wait_extensions_idle(self, timeout: float) -> bool:
        """Wait until every extension that got the last ``INVOKE`` (or ``SHUTDOWN``) has
        called ``event/next`` again (or posted an error). False on timeout or close."""
        return self._wait(
            lambda: all(
                e.errored or (e.pending is None and not e.delivered) for e in self._current
            ),
            timeout,
            lambda: False,
        )

    def dispatch_shutdown(self, reason: str, deadline_ms: int) -> list[str]:
        """Send ``SHUTDOWN`` to the extensions registered for it; return their names.

        Raises:
            ValueError: ``reason`` is not ``spindown``, ``timeout`` or ``failure``.
        """
        if reason not in SHUTDOWN_REASONS:
            raise ValueError(f"shutdown reason must be one of {SHUTDOWN_REASONS}: {reason!r}")
        payload = json.dumps(
            {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms}
        ).encode()
        with self._cond:
            if self._closed:
                return []
            self._current = [
                e for e in self._by_name.values() if "SHUTDOWN" in e.events and not e.errored
            ]
            for ext in self._current:
                ext.pending = payload
            self._cond.notify_all()
            return [e.name for e in self._current]

    def publish(self, type: str, record: object, time: str | None = None) -> None:
        """Offer one telemetry record (``platform.*``, ``function``, ``extension``) to the
        subscribers of its category; ``time`` defaults to now on the sandbox clock."""
        if self._delivery.active:
            self._delivery.publish(type, record, time or iso8601_ms(self._clock.time()))

    def flush(self, timeout: float) -> None:
        """Deliver every buffered telemetry record now; give up after ``timeout`` seconds."""
        self._delivery.flush(timeout)

    def subscriptions(self) -> list[dict[str, object]]:
        """Telemetry/Logs API subscriptions (extension, api, schemaVersion, types,
        buffering, destination)."""
        return [s.as_dict() for s in self._delivery.subscriptions()]

    def close(self) -> None:
        """Answer every long-poll with 500, close all connections, stop all threads.
        Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._http.begin_close()  # every response from now on closes its connection
            self._closed = True
            self._cond.notify_all()
        self._http.close(1.0)  # long-polls answer 500 first
        self._delivery.close()

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ApiServer({self.address}, function={self._function['functionName']!r})"

    # -- internals --------------------------------------------------------------------

    def _wait(
        self, done: Callable[[], bool], timeout: float, failed: Callable[[], bool] | None = None
    ) -> bool:
        failed = failed or (lambda: any(kind == "init" for _, kind, _ in self._errors))
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._closed and not failed():
                if done():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return False

    def _emit(self, kind: str, details: dict[str, object]) -> None:
        if self._on_event is not None:
            with contextlib.suppress(Exception):
                self._on_event(kind, details)

    def _dispatch(self, request: Request) -> Result:
        path = request.path
        route = self._routes.get(path)
        if route is None and path.startswith(_INVOCATION):
            request_id, _, action = path[len(_INVOCATION) :].rpartition("/")
            if request_id and "/" not in request_id and action in ("response", "error"):
                route = ("POST", lambda r: self._runtime_result(r, request_id, action))
        if route is None:
            raise HttpError(404, "NotFound", f"Unknown path {path}")
        method, handler = route
        if request.method != method:
            raise HttpError(405, "MethodNotAllowed", f"{request.method} not allowed on {path}")
        if self._closed:
            raise HttpError(500, "Sandbox.Shutdown", "The execution environment is shut down")
        return handler(request)

    def _closed_error(self) -> HttpError:
        return HttpError(500, "Sandbox.Shutdown", "The execution environment is shutting down")

    def _extension_for(self, request: Request) -> ExtensionState:
        """The calling extension (caller holds the lock); spec §2.2 error codes."""
        identifier = request.headers.get("lambda-extension-identifier")
        if not identifier:
            raise _forbidden(
                "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier"
            )
        try:
            identifier = str(uuid.UUID(identifier))
        except ValueError as exc:
            raise _forbidden(
                "Extension.InvalidExtensionIdentifier",
                f"Invalid Lambda-Extension-Identifier: {identifier}",
            ) from exc
        ext = self._by_id.get(identifier)
        if ext is None:
            raise _forbidden(
                "Extension.UnknownExtensionIdentifier", f"Unknown extension {identifier}"
            )
        if ext.errored:
            raise _forbidden(
                "Extension.InvalidExtensionState",
                f"Extension {ext.name} already reported an {ext.errored} error",
            )
        return ext

    def _register(self, request: Request) -> Result:
        name = request.headers.get("lambda-extension-name")
        if not name:
            raise _forbidden("Extension.MissingHeader", "Missing Lambda-Extension-Name header")
        body = request.json()
        events = body.get("events", []) if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise HttpError(400, "InvalidRequestFormat", 'Body must be {"events": [...]}')
        for event in events:
            if event not in EVENT_TYPES:
                raise _forbidden("Extension.InvalidEventType", f"Unknown event type: {event}")
        with self._cond:
            if not self._registration_open:
                raise _forbidden(
                    "Extension.RegistrationClosed", "Registration is only allowed during init"
                )
            if name in self._by_name:
                raise _forbidden(
                    "Extension.InvalidExtensionName", f"Extension {name} is already registered"
                )
            internal = name not in self._expected
            if internal and not self._allow_internal:
                raise _forbidden(
                    "Extension.InvalidExtensionName",
                    f"Extension name {name} does not match an executable in /opt/extensions",
                )
            if internal and "SHUTDOWN" in events:  # spec §2.2: internal ones may not
                raise _forbidden(
                    "Extension.InvalidEventType",
                    "Internal extensions cannot register for SHUTDOWN",
                )
            if len(self._by_name) >= MAX_EXTENSIONS:
                message = f"Too many extensions: at most {MAX_EXTENSIONS} can register"
                details: dict[str, object] = {
                    "errorType": "Extension.TooManyExtensions",
                    "errorMessage": message,
                }
                self._errors.append((name, "init", details))
                self._cond.notify_all()
                raise _forbidden("Extension.TooManyExtensions", message)
            ext = ExtensionState(name, tuple(dict.fromkeys(events)), internal)
            self._by_name[name] = self._by_id[ext.identifier] = ext
            self._cond.notify_all()
        reply: dict[str, str] = dict(self._function)
        if "accountId" in request.headers.get("lambda-extension-accept-feature", ""):
            reply["accountId"] = self._account_id
        details = {"name": name, "identifier": ext.identifier, "events": list(ext.events)}
        self._emit("register", details | {"internal": internal})
        headers = [_JSON, ("Lambda-Extension-Identifier", ext.identifier)]
        return 200, headers, json.dumps(reply).encode(), None

    def _extension_next(self, request: Request) -> Result:
        with self._cond:
            ext = self._extension_for(request)
            ext.delivered = False  # calling next = done with the previous event
            ext.nexted = True
            self._cond.notify_all()
        self._emit("next", {"name": ext.name})
        with self._cond:
            while ext.pending is None and not self._closed and not ext.errored:
                self._cond.wait()
            if self._closed:
                raise self._closed_error()
            payload = ext.pending
            if payload is None:  # it posted an error from another connection meanwhile
                raise _forbidden("Extension.InvalidExtensionState", f"{ext.name} has failed")
            ext.pending, ext.delivered = None, True

        def undo() -> None:  # the extension never got it: keep it for its next call
            with self._cond:
                if ext.pending is None:
                    ext.pending, ext.delivered = payload, False

        headers = [_JSON, ("Lambda-Extension-Event-Identifier", str(uuid.uuid4()))]
        return 200, headers, payload, undo

    def _extension_error(self, request: Request, kind: str) -> Result:
        with self._cond:
            ext = self._extension_for(request)
            error_type = request.headers.get("lambda-extension-function-error-type")
            if not error_type:
                raise _forbidden(
                    "Extension.MissingHeader", "Missing Lambda-Extension-Function-Error-Type"
                )
            try:
                body: object = json.loads(request.body) if request.body.strip() else None
            except ValueError:
                body = request.body.decode("utf-8", "replace")
            fields = body if isinstance(body, dict) else {}
            details: dict[str, object] = {
                "errorType": error_type,
                "errorMessage": fields.get("errorMessage", ""),
                "stackTrace": fields.get("stackTrace", []),
                "body": body,
            }
            ext.errored = kind
            self._errors.append((ext.name, kind, details))
            self._cond.notify_all()
        self._emit(f"{kind}_error", {"name": ext.name, "errorType": error_type})
        return 202, [_JSON], _OK, None

    def _runtime_next(self, request: Request) -> Result:
        with self._cond:
            self._rt_inflight = None  # a next without a result abandons the invocation
            self._rt_waiting += 1
            self._cond.notify_all()
            try:
                while self._rt_pending is None and not self._closed:
                    self._cond.wait()
            finally:
                self._rt_waiting -= 1
                self._cond.notify_all()
            if self._closed or self._rt_pending is None:
                raise self._closed_error()
            pending = self._rt_pending
            request_id, headers, event = pending
            self._rt_pending, self._rt_inflight = None, request_id

        def undo() -> None:
            with self._cond:
                if self._rt_pending is None and self._rt_inflight == request_id:
                    self._rt_pending, self._rt_inflight = pending, None

        return 200, headers, event, undo

    def _runtime_result(self, request: Request, request_id: str, action: str) -> Result:
        error_type = None
        if action == "error":
            error_type = request.headers.get("lambda-runtime-function-error-type")
            error_type = error_type or self._body_error_type(request.body)
        xray = request.headers.get("lambda-runtime-function-xray-error-cause")
        with self._cond:
            if request_id != self._rt_inflight:
                raise HttpError(400, "InvalidRequestID", f"Invalid request ID: {request_id}")
            if request.too_large and action == "error":
                raise HttpError(413, "RequestTooLarge", "error payload too large")
            self._rt_inflight = None
            if request.too_large:  # spec §1.1: oversized response
                body = error_body("Function.ResponseSizeTooLarge", TOO_LARGE_MESSAGE)
                reply = RuntimeReply("too_large", request_id, body, "Function.ResponseSizeTooLarge")
            else:
                kind = "response" if action == "response" else "error"
                reply = RuntimeReply(kind, request_id, request.body, error_type, xray)
            self._replies.append(reply)
            self._cond.notify_all()
        if reply.kind == "too_large":
            return 413, [_JSON], reply.body, None
        return 202, [_JSON], _OK, None

    def _runtime_init_error(self, request: Request) -> Result:
        if request.too_large:
            raise HttpError(413, "RequestTooLarge", "error payload too large")
        error_type = request.headers.get("lambda-runtime-function-error-type")
        reply = RuntimeReply(
            "init_error",
            "",
            request.body,
            error_type or self._body_error_type(request.body),
            request.headers.get("lambda-runtime-function-xray-error-cause"),
        )
        with self._cond:
            self._replies.append(reply)
            self._cond.notify_all()
        return 202, [_JSON], _OK, None

    @staticmethod
    def _body_error_type(body: bytes) -> str | None:
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        value = parsed.get("errorType") if isinstance(parsed, dict) else None
        return value if isinstance(value, str) else None

    def _subscribe(self, request: Request, api: str) -> Result:
        with self._cond:
            ext = self._extension_for(request)
        if request.too_large:
            raise HttpError(413, "RequestTooLarge", "subscription body too large")
        try:
            subscription = parse_subscription(ext.name, api, request.json())
            self._delivery.subscribe(subscription)
        except SubscriptionError as exc:
            raise HttpError(400, exc.error_type, exc.message) from exc
        record_type = (
            "platform.telemetrySubscription" if api == "telemetry" else "platform.logsSubscription"
        )
        types = list(subscription.types)
        self.publish(record_type, {"name": ext.name, "state": "Subscribed", "types": types})
        self._emit("subscribe", subscription.as_dict())
        return 200, [_JSON], b'"OK"', None
