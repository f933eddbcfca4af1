"""The environment's Runtime/Extensions/Telemetry API endpoint, driven by plain HTTP clients.

Clients here talk to :class:`ApiServer` the way AWS's sample extensions and runtime clients
do (``http.client``/``urllib.request``, raw sockets for the fuzzing); the test itself plays
the sandbox driving the lifecycle.
"""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox.runtime.apiserver import RESPONSE_LIMIT, ApiServer, ExtensionInfo, RuntimeReply
from sandbox.runtime.telemetry_delivery import DROPPED_REASON

pytestmark = pytest.mark.timeout(30)

EXT = "/2020-01-01/extension"
RT = "/2018-06-01/runtime"
Reply = tuple[int, http.client.HTTPMessage, bytes]


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer(
        function_name="fn", function_version="$LATEST", handler="app.handler", account_id="1234"
    )
    server.expect_extensions(["ext-a", "ext-b"])
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(8) as executor:
        yield executor


def call(
    api: ApiServer,
    method: str,
    path: str,
    body: bytes | str | Mapping[str, object] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Reply:
    host, port = api.address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    data = body if body is None or isinstance(body, bytes | str) else json.dumps(body).encode()
    try:
        conn.request(method, path, data, headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def error_type(reply: Reply) -> str:
    return str(json.loads(reply[2])["errorType"])


def register(api: ApiServer, name: str, events: list[str] | None = None) -> str:
    events = ["INVOKE", "SHUTDOWN"] if events is None else events
    status, headers, body = call(
        api, "POST", f"{EXT}/register", {"events": events}, {"Lambda-Extension-Name": name}
    )
    assert status == 200, body
    return str(headers["Lambda-Extension-Identifier"])


def next_event(api: ApiServer, identifier: str) -> Reply:
    return call(
        api, "GET", f"{EXT}/event/next", headers={"Lambda-Extension-Identifier": identifier}
    )


def ident(identifier: str) -> dict[str, str]:
    return {"Lambda-Extension-Identifier": identifier}


def invoke(api: ApiServer, request_id: str = "req-1", event: bytes | None = None) -> None:
    api.dispatch_invoke(
        request_id,
        deadline_ms=1_700_000_003_000,
        invoked_function_arn="arn:aws:lambda:us-east-1:1234:function:fn",
        trace_id="Root=1-abc;Parent=def;Sampled=1",
        event=event,
    )


# -- Extensions API: register ----------------------------------------------------------


def test_register_returns_identifier_and_function_info(api: ApiServer) -> None:
    status, headers, body = call(
        api, "POST", f"{EXT}/register", {"events": ["INVOKE"]}, {"Lambda-Extension-Name": "ext-a"}
    )
    assert status == 200
    identifier = headers["Lambda-Extension-Identifier"]
    assert str(uuid.UUID(identifier)) == identifier
    assert json.loads(body) == {
        "functionName": "fn",
        "functionVersion": "$LATEST",
        "handler": "app.handler",
    }
    status, _, body = call(
        api,
        "POST",
        f"{EXT}/register",
        {"events": []},
        {"Lambda-Extension-Name": "ext-b", "Lambda-Extension-Accept-Feature": "accountId"},
    )
    assert status == 200
    assert json.loads(body)["accountId"] == "1234"
    assert api.registered() == [
        ExtensionInfo("ext-a", identifier, ("INVOKE",), internal=False),
        ExtensionInfo("ext-b", api.registered()[1].identifier, (), internal=False),
    ]


@pytest.mark.parametrize(
    ("headers", "body", "status", "expected"),
    [
        ({}, {"events": ["INVOKE"]}, 403, "Extension.MissingHeader"),
        (
            {"Lambda-Extension-Name": "ext-a"},
            {"events": ["BOOM"]},
            403,
            "Extension.InvalidEventType",
        ),
        ({"Lambda-Extension-Name": "ext-a"}, b"{not json", 400, "InvalidRequestFormat"),
        ({"Lambda-Extension-Name": "ext-a"}, {"events": "INVOKE"}, 400, "InvalidRequestFormat"),
        ({"Lambda-Extension-Name": "nope"}, {"events": []}, 403, "Extension.InvalidExtensionName"),
    ],
)
def test_register_rejections(
    api: ApiServer,
    headers: dict[str, str],
    body: bytes | dict[str, object],
    status: int,
    expected: str,
) -> None:
    api.expect_extensions(["ext-a"], allow_internal=False)
    reply = call(api, "POST", f"{EXT}/register", body, headers)
    assert (reply[0], error_type(reply)) == (status, expected)
    assert api.registered() == []


def test_duplicate_name_is_rejected(api: ApiServer) -> None:
    register(api, "ext-a")
    reply = call(api, "POST", f"{EXT}/register", {"events": []}, {"Lambda-Extension-Name": "ext-a"})
    assert (reply[0], error_type(reply)) == (403, "Extension.InvalidExtensionName")


def test_internal_extensions_register_but_not_for_shutdown(api: ApiServer) -> None:
    reply = call(
        api,
        "POST",
        f"{EXT}/register",
        {"events": ["INVOKE", "SHUTDOWN"]},
        {"Lambda-Extension-Name": "in-process"},
    )
    assert (reply[0], error_type(reply)) == (403, "Extension.InvalidEventType")
    register(api, "in-process", ["INVOKE"])
    assert [(e.name, e.internal) for e in api.registered()] == [("in-process", True)]


def test_registration_closed_after_init(api: ApiServer) -> None:
    register(api, "ext-a")
    api.close_registration()
    reply = call(api, "POST", f"{EXT}/register", {"events": []}, {"Lambda-Extension-Name": "ext-b"})
    assert (reply[0], error_type(reply)) == (403, "Extension.RegistrationClosed")


def test_eleventh_extension_is_rejected_and_recorded(api: ApiServer) -> None:
    names = [f"ext-{i}" for i in range(11)]
    api.expect_extensions(names, allow_internal=False)
    for name in names[:10]:
        register(api, name)
    reply = call(
        api, "POST", f"{EXT}/register", {"events": []}, {"Lambda-Extension-Name": "ext-10"}
    )
    assert (reply[0], error_type(reply)) == (403, "Extension.TooManyExtensions")
    assert [(n, k, d["errorType"]) for n, k, d in api.errors()] == [
        ("ext-10", "init", "Extension.TooManyExtensions")
    ]
    started = time.monotonic()
    assert api.wait_registered(5) is False  # fails fast on the recorded init error
    assert time.monotonic() - started < 1


def test_waits_succeed_at_once_without_expected_extensions() -> None:
    with ApiServer(function_name="f", function_version="1", handler="h", account_id="1") as api:
        assert api.wait_registered(0)
        assert api.wait_extensions_ready(0)
        assert api.wait_extensions_idle(0)


# -- Extensions API: events ----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "Extension.MissingExtensionIdentifier"),
        ({"Lambda-Extension-Identifier": "not-a-uuid"}, "Extension.InvalidExtensionIdentifier"),
        (
            {"Lambda-Extension-Identifier": str(uuid.uuid4())},
            "Extension.UnknownExtensionIdentifier",
        ),
    ],
)
def test_identifier_errors(api: ApiServer, headers: dict[str, str], expected: str) -> None:
    for method, path in [("GET", f"{EXT}/event/next"), ("PUT", "/2022-07-01/telemetry")]:
        reply = call(api, method, path, None, headers)
        assert (reply[0], error_type(reply)) == (403, expected)


def test_next_blocks_until_invoke_and_carries_metadata_only(
    api: ApiServer, pool: ThreadPoolExecutor
) -> None:
    a, b = register(api, "ext-a"), register(api, "ext-b", ["SHUTDOWN"])
    assert not api.wait_extensions_ready(0.05)
    first_a, first_b = pool.submit(next_event, api, a), pool.submit(next_event, api, b)
    assert api.wait_extensions_ready(5)
    time.sleep(0.05)
    assert not first_a.done() and not first_b.done()
    invoke(api, event=b'{"secret": 1}')
    status, headers, body = first_a.result(5)
    assert status == 200
    assert uuid.UUID(headers["Lambda-Extension-Event-Identifier"])
    assert json.loads(body) == {
        "eventType": "INVOKE",
        "deadlineMs": 1_700_000_003_000,
        "requestId": "req-1",
        "invokedFunctionArn": "arn:aws:lambda:us-east-1:1234:function:fn",
        "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-abc;Parent=def;Sampled=1"},
    }
    assert not first_b.done()  # ext-b registered for SHUTDOWN only
    assert not api.wait_extensions_idle(0.05)  # ext-a is still post-processing
    second_a = pool.submit(next_event, api, a)
    assert api.wait_extensions_idle(5)
    assert api.dispatch_shutdown("spindown", 1_700_000_005_000) == ["ext-a", "ext-b"]
    for future in (second_a, first_b):
        status, _, body = future.result(5)
        assert json.loads(body) == {
            "eventType": "SHUTDOWN",
            "shutdownReason": "spindown",
            "deadlineMs": 1_700_000_005_000,
        }


def test_invoke_queued_for_a_busy_extension(api: ApiServer, pool: ThreadPoolExecutor) -> None:
    a = register(api, "ext-a", ["INVOKE"])
    invoke(api, "req-early")  # not parked yet: delivered on its first next
    assert json.loads(next_event(api, a)[2])["requestId"] == "req-early"
    assert not api.wait_extensions_idle(0.05)
    parked = pool.submit(next_event, api, a)
    assert api.wait_extensions_idle(5)
    invoke(api, "req-2")
    assert json.loads(parked.result(5)[2])["requestId"] == "req-2"


@pytest.mark.parametrize("reason", ["spindown", "timeout", "failure"])
def test_shutdown_reasons(api: ApiServer, pool: ThreadPoolExecutor, reason: str) -> None:
    a = register(api, "ext-a", ["SHUTDOWN"])
    register(api, "ext-b", ["INVOKE"])
    pending = pool.submit(next_event, api, a)
    assert api.dispatch_shutdown(reason, 42) == ["ext-a"]
    assert json.loads(pending.result(5)[2])["shutdownReason"] == reason
    with pytest.raises(ValueError, match="shutdown reason"):
        api.dispatch_shutdown("SPINDOWN", 42)


@pytest.mark.parametrize("kind", ["init", "exit"])
def test_extension_errors_are_recorded_and_lock_the_extension(api: ApiServer, kind: str) -> None:
    a = register(api, "ext-a")
    reply = call(api, "POST", f"{EXT}/{kind}/error", {"errorMessage": "x"}, ident(a))
    assert (reply[0], error_type(reply)) == (403, "Extension.MissingHeader")
    body = {"errorMessage": "boom", "errorType": "Extension.Boom", "stackTrace": ["l1"]}
    headers = ident(a) | {"Lambda-Extension-Function-Error-Type": "Extension.Boom"}
    status, _, answer = call(api, "POST", f"{EXT}/{kind}/error", body, headers)
    assert (status, json.loads(answer)) == (202, {"status": "OK"})
    ((name, recorded_kind, details),) = api.errors()
    assert (name, recorded_kind, details["errorType"], details["errorMessage"]) == (
        "ext-a",
        kind,
        "Extension.Boom",
        "boom",
    )
    assert details["stackTrace"] == ["l1"]
    for method, path in [("GET", f"{EXT}/event/next"), ("POST", f"{EXT}/exit/error")]:
        reply = call(api, method, path, None, headers)
        assert (reply[0], error_type(reply)) == (403, "Extension.InvalidExtensionState")
    if kind == "init":
        started = time.monotonic()
        assert api.wait_extensions_ready(5) is False  # fails fast on the init error
        assert time.monotonic() - started < 1


def test_error_post_wakes_a_parked_next(api: ApiServer, pool: ThreadPoolExecutor) -> None:
    a = register(api, "ext-a")
    parked = pool.submit(next_event, api, a)
    api.expect_extensions(["ext-a"])
    assert api.wait_extensions_ready(5)
    headers = ident(a) | {"Lambda-Extension-Function-Error-Type": "Extension.Crash"}
    assert call(api, "POST", f"{EXT}/exit/error", b"", headers)[0] == 202
    reply = parked.result(5)
    assert (reply[0], error_type(reply)) == (403, "Extension.InvalidExtensionState")
    assert api.errors()[0][2]["body"] is None


# -- Runtime API ---------------------------------------------------------------------


def runtime_next(api: ApiServer) -> Reply:
    return call(api, "GET", f"{RT}/invocation/next", timeout=10)


def test_runtime_next_response_cycle(api: ApiServer, pool: ThreadPoolExecutor) -> None:
    parked = pool.submit(runtime_next, api)
    assert api.wait_runtime_next(5)
    api.dispatch_invoke(
        "req-9",
        deadline_ms=123,
        invoked_function_arn="arn:fn",
        trace_id="Root=1",
        event=b'{"k": "v"}',
        client_context='{"custom": {}}',
        cognito_identity='{"cognitoIdentityId": "i"}',
    )
    status, headers, body = parked.result(5)
    assert (status, body) == (200, b'{"k": "v"}')
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-9"
    assert headers["Lambda-Runtime-Deadline-Ms"] == "123"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == "arn:fn"
    assert headers["Lambda-Runtime-Trace-Id"] == "Root=1"
    assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {}}'
    assert headers["Lambda-Runtime-Cognito-Identity"] == '{"cognitoIdentityId": "i"}'
    assert headers["Content-Type"] == "application/json"
    assert not api.wait_runtime_next(0.05)  # busy with req-9
    status, _, body = call(api, "POST", f"{RT}/invocation/req-9/response", b'"done"')
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    assert api.wait_runtime_reply(5) == RuntimeReply("response", "req-9", b'"done"', None)
    assert api.wait_runtime_reply(0.01) is None
    reply = call(api, "POST", f"{RT}/invocation/req-9/response", b'"again"')
    assert (reply[0], error_type(reply)) == (400, "InvalidRequestID")


def test_runtime_error_and_unknown_request_id(api: ApiServer, pool: ThreadPoolExecutor) -> None:
    reply = call(api, "POST", f"{RT}/invocation/nobody/response", b"{}")
    assert (reply[0], error_type(reply)) == (400, "InvalidRequestID")
    parked = pool.submit(runtime_next, api)
    invoke(api, "req-e", event=b"{}")
    assert parked.result(5)[0] == 200
    reply = call(api, "POST", f"{RT}/invocation/other/error", b"{}")
    assert (reply[0], error_type(reply)) == (400, "InvalidRequestID")
    body = b'{"errorMessage": "bad", "errorType": "ValueError", "stackTrace": []}'
    headers = {
        "Lambda-Runtime-Function-Error-Type": "Runtime.Custom",
        "Lambda-Runtime-Function-XRay-Error-Cause": '{"exceptions": []}',
    }
    assert call(api, "POST", f"{RT}/invocation/req-e/error", body, headers)[0] == 202
    assert api.wait_runtime_reply(5) == RuntimeReply(
        "error", "req-e", body, "Runtime.Custom", '{"exceptions": []}'
    )


def test_runtime_init_error(api: ApiServer) -> None:
    body = b'{"errorMessage": "no module", "errorType": "Runtime.ImportModuleError"}'
    assert call(api, "POST", f"{RT}/init/error", body)[0] == 202
    started = time.monotonic()
    assert not api.wait_runtime_next(5)  # returns at once: the runtime failed init
    assert time.monotonic() - started < 1
    reply = api.wait_runtime_reply(1)
    assert reply == RuntimeReply("init_error", "", body, "Runtime.ImportModuleError")


def test_too_large_response_is_413(api: ApiServer, pool: ThreadPoolExecutor) -> None:
    parked = pool.submit(runtime_next, api)
    invoke(api, "req-big", event=b"{}")
    parked.result(5)
    big = b'"' + b"x" * RESPONSE_LIMIT + b'"'
    status, _, body = call(api, "POST", f"{RT}/invocation/req-big/response", big)
    assert status == 413
    assert json.loads(body) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    reply = api.wait_runtime_reply(5)
    assert reply is not None
    assert (reply.kind, reply.request_id, reply.error_type) == (
        "too_large",
        "req-big",
        "Function.ResponseSizeTooLarge",
    )


def test_exactly_the_limit_is_accepted(api: ApiServer, pool: ThreadPoolExecutor) -> None:
    parked = pool.submit(runtime_next, api)
    invoke(api, "req-edge", event=b"{}")
    parked.result(5)
    payload = b"y" * RESPONSE_LIMIT
    assert call(api, "POST", f"{RT}/invocation/req-edge/response", payload)[0] == 202
    reply = api.wait_runtime_reply(5)
    assert reply is not None and reply.kind == "response" and len(reply.body) == RESPONSE_LIMIT


def test_urllib_runtime_loop(api: ApiServer) -> None:
    base = f"http://{api.address}{RT}"

    def runtime() -> None:
        for _ in range(3):
            with urllib.request.urlopen(f"{base}/invocation/next", timeout=10) as response:
                request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
                event = response.read()
            request = urllib.request.Request(
                f"{base}/invocation/{request_id}/response", data=event[::-1], method="POST"
            )
            urllib.request.urlopen(request, timeout=10).read()

    thread = threading.Thread(target=runtime, daemon=True)
    thread.start()
    for i in range(3):
        invoke(api, f"r{i}", event=f"[{i}]".encode())
        reply = api.wait_runtime_reply(5)
        assert reply is not None and (reply.request_id, reply.body) == (f"r{i}", f"]{i}[".encode())
    thread.join(5)


# -- Telemetry API -------------------------------------------------------------------


class Receiver:
    """A tiny HTTP listener standing in for an extension's telemetry endpoint."""

    def __init__(self, protocol: str = "HTTP/1.1") -> None:
        self.batches: queue.Queue[tuple[str, str, list[dict[str, object]]]] = queue.Queue()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = protocol

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.entered.set()
                outer.gate.wait(10)
                outer.batches.put((self.path, self.headers["Host"], json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def records(
        self, until: Callable[[list[dict[str, object]]], bool], timeout: float = 5
    ) -> list[dict[str, object]]:
        got: list[dict[str, object]] = []
        deadline = time.monotonic() + timeout
        while not until(got):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out with {len(got)} records"
            try:
                got.extend(self.batches.get(timeout=remaining)[2])
            except queue.Empty:
                continue
        return got

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    listener = Receiver()
    try:
        yield listener
    finally:
        listener.close()


def subscription(port: int, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "schemaVersion": "2022-12-13",
        "types": ["platform", "function"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{port}/tel"},
    }
    return body | overrides


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"schemaVersion": "2020-08-15"}, "schemaVersion"),
        ({"types": ["platform", "kernel"]}, "types"),
        ({"types": []}, "types"),
        ({"buffering": {"maxItems": 999}}, "maxItems must be between 1000 and 10000"),
        ({"buffering": {"maxBytes": 2_000_000}}, "maxBytes"),
        ({"buffering": {"timeoutMs": 10}}, "timeoutMs must be between 25 and 30000"),
        ({"buffering": {"timeoutMs": "100"}}, "timeoutMs must be an integer"),
        ({"destination": {"protocol": "HTTP", "URI": "http://example.com:80/"}}, "URI"),
        ({"destination": {"protocol": "HTTPS", "URI": "https://sandbox:1/"}}, "protocol"),
        ({"destination": {"protocol": "TCP", "port": 0}}, "port"),
        ({"destination": None}, "destination"),
    ],
)
def test_subscription_validation(
    api: ApiServer, overrides: dict[str, object], fragment: str
) -> None:
    a = register(api, "ext-a")
    status, _, body = call(
        api, "PUT", "/2022-07-01/telemetry", subscription(9, **overrides), ident(a)
    )
    assert status == 400
    assert json.loads(body)["errorType"] == "ValidationError"
    assert fragment in json.loads(body)["errorMessage"]
    assert api.subscriptions() == []


def test_malformed_subscription_body(api: ApiServer) -> None:
    a = register(api, "ext-a")
    reply = call(api, "PUT", "/2022-07-01/telemetry", b"[oops", ident(a))
    assert (reply[0], error_type(reply)) == (400, "InvalidRequestFormat")


def test_http_delivery_by_timeout(api: ApiServer, receiver: Receiver) -> None:
    a = register(api, "ext-a")
    status, _, body = call(
        api, "PUT", "/2022-07-01/telemetry", subscription(receiver.port), ident(a)
    )
    assert (status, json.loads(body)) == (200, "OK")
    assert api.subscriptions()[0]["buffering"] == {
        "maxItems": 1000,
        "maxBytes": 262144,
        "timeoutMs": 25,
    }
    api.publish("platform.start", {"requestId": "r1", "version": "$LATEST"})
    api.publish("function", "hello\n", time="2025-01-05T08:00:00.000Z")
    api.publish("extension", "not subscribed")
    records = receiver.records(lambda got: len(got) >= 3)
    assert [r["type"] for r in records] == [
        "platform.telemetrySubscription",
        "platform.start",
        "function",
    ]
    assert records[0]["record"] == {
        "name": "ext-a",
        "state": "Subscribed",
        "types": ["platform", "function"],
    }
    assert records[2] == {
        "time": "2025-01-05T08:00:00.000Z",
        "type": "function",
        "record": "hello\n",
    }
    stamp = str(records[1]["time"])
    assert len(stamp) == 24 and stamp.endswith("Z") and stamp[19] == "."


def test_http_delivery_by_max_items_and_flush(api: ApiServer, receiver: Receiver) -> None:
    a = register(api, "ext-a")
    body = subscription(receiver.port, types=["function"])
    body["buffering"] = {"maxItems": 1000, "timeoutMs": 30000}
    assert call(api, "PUT", "/2022-07-01/telemetry", body, ident(a))[0] == 200
    for i in range(2500):
        api.publish("function", f"line {i}")
    first = receiver.batches.get(timeout=5)
    second = receiver.batches.get(timeout=5)
    assert (first[0], first[1]) == ("/tel", f"sandbox.localdomain:{receiver.port}")
    assert [len(first[2]), len(second[2])] == [1000, 1000]
    assert receiver.batches.empty()
    api.flush(5)
    rest = receiver.batches.get(timeout=1)[2]
    assert len(rest) == 500 and rest[-1]["record"] == "line 2499"


def test_logs_dropped_after_a_stalled_receiver(receiver: Receiver) -> None:
    events: list[tuple[str, dict[str, object]]] = []
    with ApiServer(
        function_name="fn",
        function_version="1",
        handler="h",
        account_id="1",
        on_event=lambda kind, details: events.append((kind, details)),
    ) as api:
        api.expect_extensions(["ext-a"])
        a = register(api, "ext-a")
        receiver.gate.clear()
        assert (
            call(api, "PUT", "/2022-07-01/telemetry", subscription(receiver.port), ident(a))[0]
            == 200
        )
        assert receiver.entered.wait(5)  # the subscription record is stuck in delivery
        for i in range(10_500):
            api.publish("function", f"l{i}")
        receiver.gate.set()
        api.flush(10)
        records = receiver.records(lambda got: sum(r["type"] == "function" for r in got) >= 10_000)
        dropped = [r for r in records if r["type"] == "platform.logsDropped"]
        assert len(dropped) == 1
        record = dropped[0]["record"]
        assert isinstance(record, dict)
        assert record["reason"] == DROPPED_REASON
        assert record["droppedRecords"] == 500
        assert record["droppedBytes"] == sum(
            len(
                json.dumps(
                    {"time": "x" * 24, "type": "function", "record": f"l{i}"}, separators=(",", ":")
                )
            )
            for i in range(10_000, 10_500)
        )
        assert records.index(dropped[0]) == 1  # first record of the batch after the stall
        kinds = {kind for kind, _ in events}
        assert {"register", "subscribe", "delivery", "dropped"} <= kinds


def test_flush_is_bounded_by_its_timeout(api: ApiServer, receiver: Receiver) -> None:
    a = register(api, "ext-a")
    receiver.gate.clear()
    assert (
        call(api, "PUT", "/2022-07-01/telemetry", subscription(receiver.port), ident(a))[0] == 200
    )
    api.publish("function", "stuck")
    started = time.monotonic()
    api.flush(0.2)
    assert time.monotonic() - started < 1


def test_resubscribing_moves_delivery_to_a_closing_receiver(
    api: ApiServer, receiver: Receiver
) -> None:
    a = register(api, "ext-a")
    assert (
        call(api, "PUT", "/2022-07-01/telemetry", subscription(receiver.port), ident(a))[0] == 200
    )
    receiver.records(lambda got: len(got) >= 1)
    second = Receiver("HTTP/1.0")  # closes the connection after every batch
    try:
        body = subscription(second.port, types=["function"])
        body["destination"] = {"protocol": "HTTP", "URI": f"http://sandbox:{second.port}/x"}
        assert call(api, "PUT", "/2022-07-01/telemetry", body, ident(a))[0] == 200
        for i in range(3):
            api.publish("function", f"to second {i}")
            api.flush(5)
        records = second.records(lambda got: len(got) >= 3)
        assert [r["record"] for r in records] == [f"to second {i}" for i in range(3)]
        assert len(api.subscriptions()) == 1
    finally:
        second.close()


def test_internal_extension_receives_invoke(api: ApiServer, pool: ThreadPoolExecutor) -> None:
    inner = register(api, "in-process", ["INVOKE"])
    parked = pool.submit(next_event, api, inner)
    invoke(api, "req-int")
    assert json.loads(parked.result(5)[2])["requestId"] == "req-int"
    assert api.dispatch_shutdown("spindown", 1) == []


def test_tcp_destination(api: ApiServer) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    port = listener.getsockname()[1]
    a = register(api, "ext-a")
    body = subscription(port, destination={"protocol": "TCP", "port": port}, types=["extension"])
    assert call(api, "PUT", "/2022-07-01/telemetry", body, ident(a))[0] == 200
    api.publish("extension", "ext says hi")
    api.publish("function", "not for this one")
    conn, _ = listener.accept()
    conn.settimeout(5)
    data = b""
    while not data.endswith(b"\n"):
        data += conn.recv(65536)
    lines = [json.loads(line) for line in data.splitlines()]
    assert [(r["type"], r["record"]) for r in lines] == [("extension", "ext says hi")]
    conn.close()
    listener.close()


def test_logs_api_and_one_api_per_extension(api: ApiServer, receiver: Receiver) -> None:
    a = register(api, "ext-a")
    body = subscription(receiver.port, schemaVersion="2021-03-18")
    assert call(api, "PUT", "/2020-08-15/logs", body, ident(a))[0] == 200
    reply = call(api, "PUT", "/2022-07-01/telemetry", subscription(receiver.port), ident(a))
    assert reply[0] == 400 and "not both" in json.loads(reply[2])["errorMessage"]
    records = receiver.records(lambda got: len(got) >= 1)
    assert records[0]["type"] == "platform.logsSubscription"
    assert api.subscriptions()[0]["api"] == "logs"


def test_delivery_failure_never_raises(api: ApiServer) -> None:
    spare = socket.create_server(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there any more
    a = register(api, "ext-a")
    assert call(api, "PUT", "/2022-07-01/telemetry", subscription(port), ident(a))[0] == 200
    api.publish("function", "lost")
    api.flush(2)


# -- lifecycle, robustness, HTTP details --------------------------------------------


def test_close_unblocks_long_polls_promptly(pool: ThreadPoolExecutor) -> None:
    api = ApiServer(function_name="f", function_version="1", handler="h", account_id="1")
    api.expect_extensions(["ext-a"])
    a = register(api, "ext-a")
    polls: list[Future[Reply]] = [pool.submit(next_event, api, a), pool.submit(runtime_next, api)]
    assert api.wait_extensions_ready(5) and api.wait_runtime_next(5)
    started = time.monotonic()
    api.close()
    for poll in polls:
        assert poll.result(2)[0] == 500
    assert time.monotonic() - started < 1.5
    api.close()  # idempotent
    assert api.wait_runtime_reply(1) is None
    assert api.wait_extensions_idle(1) is False
    invoke(api)  # a no-op once closed
    with pytest.raises(OSError):
        call(api, "GET", f"{EXT}/event/next", None, ident(a), timeout=1)


def test_keep_alive_and_connection_close(api: ApiServer) -> None:
    host, port = api.address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    for _ in range(3):
        conn.request("POST", f"{EXT}/register", b"{}", {"Lambda-Extension-Name": "ext-a"})
        response = conn.getresponse()
        response.read()
    sock = conn.sock
    conn.request("GET", "/nowhere")
    response = conn.getresponse()
    assert response.status == 404 and conn.sock is sock  # same connection all along
    response.read()
    conn.request("PUT", f"{EXT}/register", headers={"Connection": "close"})
    response = conn.getresponse()
    assert (response.status, response.getheader("Connection")) == (405, "close")
    conn.close()


def raw(api: ApiServer, data: bytes, shut: bool = True) -> bytes:
    host, port = api.address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_fuzzed_requests_leave_the_server_responsive(api: ApiServer) -> None:
    assert raw(api, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(api, b"\x00\xff\xfe" * 1000 + b"\r\n").startswith(b"HTTP/1.1 400")
    huge = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 1_200_000 + b"\r\n\r\n"
    assert raw(api, huge).startswith(b"HTTP/1.1 431")
    many = b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(200)) + b"\r\n"
    assert raw(api, many).startswith(b"HTTP/1.1 431")
    assert raw(api, b"POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert (
        raw(api, b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        == b""
    )
    assert raw(api, b"GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost") == b""
    assert raw(api, b"") == b""
    for seed in range(20):
        blob = bytes((seed * 7919 + i * 104729) % 256 for i in range(200 + seed * 50))
        raw(api, blob)
    chunked = (
        b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        b'Expect: 100-continue\r\nConnection: close\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'
    )
    answer = raw(api, chunked)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202")
    reply = api.wait_runtime_reply(1)
    assert reply is not None and reply.body == b'{"a":1}'
    register(api, "ext-a")  # still serving
    assert raw(api, b"GET /2020-01-01/extension/register HTTP/1.0\r\n\r\n").startswith(
        b"HTTP/1.1 405"
    )


def test_event_hook_failures_are_swallowed(pool: ThreadPoolExecutor) -> None:
    seen: list[str] = []

    def hook(kind: str, details: dict[str, object]) -> None:
        seen.append(kind)
        raise RuntimeError("observer bug")

    with ApiServer(
        function_name="f", function_version="1", handler="h", account_id="1", on_event=hook
    ) as api:
        api.expect_extensions(["ext-a"])
        a = register(api, "ext-a")
        parked = pool.submit(next_event, api, a)
        assert api.wait_extensions_ready(5)
        invoke(api)
        assert parked.result(5)[0] == 200
        headers = ident(a) | {"Lambda-Extension-Function-Error-Type": "Extension.X"}
        assert call(api, "POST", f"{EXT}/init/error", b"{}", headers)[0] == 202
    assert seen == ["register", "next", "init_error"]
