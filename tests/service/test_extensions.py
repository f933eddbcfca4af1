"""External extensions (spec §1.1, §2.2): plain scripts in a layer's ``extensions/`` that
use only the standard library's HTTP client, as AWS's own samples do."""

from __future__ import annotations

import json
import sys
import time

import pytest
from zips import unix_zip

from sandbox import Sandbox

EXTENSION = f"""#!{sys.executable}
import json, os, sys, time, urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(__file__)
MODE = os.environ.get("EXT_MODE", "")


def call(path, data=None, headers=None, method="GET"):
    request = urllib.request.Request(
        f"http://{{API}}/2020-01-01/extension/{{path}}", data=data, headers=headers or {{}},
        method=method,
    )
    return urllib.request.urlopen(request)


if MODE == "crash-at-init":
    sys.exit(3)
with call("register", json.dumps({{"events": ["INVOKE", "SHUTDOWN"]}}).encode(),
          {{"Lambda-Extension-Name": NAME}}, "POST") as reply:
    identifier = reply.headers["Lambda-Extension-Identifier"]
    info = json.load(reply)
hidden = [k for k in ("_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_STREAM_NAME")
          if k in os.environ]
print(f"[{{NAME}}] registered for {{info['functionName']}} {{info['functionVersion']}} "
      f"hidden-visible={{hidden}}", flush=True)
if MODE == "init-error":
    call("init/error", b"{{}}", {{"Lambda-Extension-Identifier": identifier,
         "Lambda-Extension-Function-Error-Type": "Extension.ConfigInvalid"}}, "POST").close()
    sys.exit(1)
while True:
    with call("event/next", headers={{"Lambda-Extension-Identifier": identifier}}) as reply:
        event = json.load(reply)
    if event["eventType"] == "SHUTDOWN":
        print(f"[{{NAME}}] SHUTDOWN {{event['shutdownReason']}}", flush=True)
        sys.exit(0)
    print(f"[{{NAME}}] INVOKE {{event['requestId']}} keys={{sorted(event)}}", flush=True)
    if MODE == "exit-error":
        call("exit/error", b"{{}}", {{"Lambda-Extension-Identifier": identifier,
             "Lambda-Extension-Function-Error-Type": "Extension.GaveUp"}}, "POST").close()
        sys.exit(1)
    time.sleep(float(os.environ.get("EXT_POST_SECONDS", "0")))
    print(f"[{{NAME}}] done {{event['requestId']}}", flush=True)
"""

HANDLER = """
import os, time

def lambda_handler(event, context):
    print("handler running")
    return {"api": os.environ["AWS_LAMBDA_RUNTIME_API"], "sleep": event.get("sleep")}
"""


def layer_with(*names: str) -> bytes:
    files = {f"extensions/{name}": EXTENSION for name in names}
    return unix_zip(dict(files), tuple(files))


def log_lines(sb: Sandbox, name: str) -> list[str]:
    return [
        str(r.detail.get("line", "")) for r in sb.telemetry.records(kind="log", function_name=name)
    ]


def wait_for(predicate, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def sb() -> Sandbox:  # real time: extensions run on the wall clock
    sandbox = Sandbox.ephemeral()
    yield sandbox  # type: ignore[misc]
    sandbox.close()


def make(sb: Sandbox, name: str = "fn", *, extensions: tuple[str, ...] = ("logger",), **env: str):
    layer = sb.publish_layer_version(f"{name}-ext", layer_with(*extensions))
    return sb.create_function(
        name,
        HANDLER,
        layers=[layer.layer_version_arn],
        timeout=5,
        environment={"Variables": env} if env else None,
    )


def test_extensions_start_before_the_runtime_and_see_every_invoke(sb: Sandbox) -> None:
    make(sb, extensions=("logger", "metrics"))
    result = sb.invoke("fn", {})
    assert result.function_error is None, result.payload
    assert result.payload["api"].startswith("127.0.0.1:")
    lines = log_lines(sb, "fn")
    registered = [i for i, line in enumerate(lines) if "registered for fn $LATEST" in line]
    handler = lines.index("handler running")
    assert len(registered) == 2 and max(registered) < handler  # extension init first
    assert all("hidden-visible=[]" in lines[i] for i in registered)
    rid = result.request_id
    assert wait_for(lambda: sum(f"done {rid}" in line for line in log_lines(sb, "fn")) == 2)
    invoke_line = next(line for line in log_lines(sb, "fn") if f"INVOKE {rid}" in line)
    assert "keys=['deadlineMs', 'eventType', 'invokedFunctionArn', 'requestId', 'tracing']" in (
        invoke_line
    )
    phases = [r.phase for r in sb.telemetry.records(kind="phase", function_name="fn")]
    assert "extension-init" in phases


def test_the_environment_stays_busy_until_extensions_are_back_in_next(sb: Sandbox) -> None:
    make(sb, EXT_POST_SECONDS="0.4")
    cold = sb.invoke("fn", {})
    assert wait_for(lambda: f"[logger] done {cold.request_id}" in log_lines(sb, "fn"))
    assert wait_for(lambda: all(e["state"] == "idle" for e in sb.environments()))
    started = time.perf_counter()
    first = sb.invoke("fn", {})
    answered = time.perf_counter() - started
    assert answered < 0.35  # the caller does not wait for the extension's post-invoke work
    second = sb.invoke("fn", {})  # the only environment is still busy: a new one
    assert second.function_error is None
    envs = [e for e in sb.environments() if e["function_name"] == "fn"]
    assert len(envs) == 2
    assert wait_for(
        lambda: any(
            r.phase == "post-runtime-extensions" and r.request_id == first.request_id
            for r in sb.telemetry.records(kind="phase", function_name="fn")
        )
    )
    post = [
        r
        for r in sb.telemetry.records(kind="phase", function_name="fn")
        if r.phase == "post-runtime-extensions" and r.request_id == first.request_id
    ]
    assert post[0].duration_ms >= 300


def test_shutdown_reaches_the_extensions(sb: Sandbox) -> None:
    make(sb)
    sb.invoke("fn", {})
    sb.update_function_configuration("fn", description="retire the environment")
    assert wait_for(lambda: any("SHUTDOWN spindown" in line for line in log_lines(sb, "fn")))


@pytest.mark.parametrize(
    ("mode", "error_type"),
    [("crash-at-init", "Extension.Crash"), ("init-error", "Extension.ConfigInvalid")],
)
def test_an_extension_failing_at_init_fails_the_invocation(
    sb: Sandbox, mode: str, error_type: str
) -> None:
    make(sb, EXT_MODE=mode)
    result = sb.invoke("fn", {})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == error_type
    assert "handler running" not in log_lines(sb, "fn")


def test_more_than_ten_extensions_fail_init(sb: Sandbox) -> None:
    make(sb, extensions=tuple(f"ext{i:02d}" for i in range(11)))
    result = sb.invoke("fn", {})
    assert result.payload["errorType"] == "Extension.TooManyExtensions"


def test_functions_without_extensions_have_no_api_server(sb: Sandbox) -> None:
    sb.create_function("plain", HANDLER)
    assert sb.invoke("plain", {}).payload["api"] == "127.0.0.1:9001"
    assert json.dumps(sb.invoke("plain", {}).payload)


def test_a_burst_waits_for_each_environment_s_extensions(sb: Sandbox) -> None:
    make(sb)
    results = sb.invoke_many("fn", [{}] * 20, concurrency=4)
    assert all(r.function_error is None for r in results)  # type: ignore[union-attr]
    ids = {r.request_id for r in results}  # type: ignore[union-attr]
    assert wait_for(
        lambda: ids <= {line.split()[-1] for line in log_lines(sb, "fn") if "] done " in line}
    )


TELEMETRY_EXTENSION = f"""#!{sys.executable}
import json, os, threading, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = os.environ["AWS_LAMBDA_RUNTIME_API"]


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for item in batch:
            record = item["record"]
            detail = record if isinstance(record, str) else record.get("requestId", "")
            print(f"[telemetry] {{item['type']}} {{detail}}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
request = urllib.request.Request(
    f"http://{{API}}/2020-01-01/extension/register",
    data=json.dumps({{"events": ["SHUTDOWN"]}}).encode(),
    headers={{"Lambda-Extension-Name": "telemetry"}}, method="POST")
with urllib.request.urlopen(request) as reply:
    identifier = reply.headers["Lambda-Extension-Identifier"]
subscription = {{
    "schemaVersion": "2022-07-01",
    "types": ["platform", "function"],
    "buffering": {{"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25}},
    "destination": {{"protocol": "HTTP",
                    "URI": f"http://sandbox.localdomain:{{server.server_address[1]}}/"}},
}}
request = urllib.request.Request(
    f"http://{{API}}/2022-07-01/telemetry", data=json.dumps(subscription).encode(),
    headers={{"Lambda-Extension-Identifier": identifier}}, method="PUT")
urllib.request.urlopen(request).close()
while True:
    request = urllib.request.Request(
        f"http://{{API}}/2020-01-01/extension/event/next",
        headers={{"Lambda-Extension-Identifier": identifier}})
    with urllib.request.urlopen(request) as reply:
        if json.load(reply)["eventType"] == "SHUTDOWN":
            break
"""


def test_a_telemetry_api_subscriber_receives_platform_and_function_records(sb: Sandbox) -> None:
    files = {"extensions/telemetry": TELEMETRY_EXTENSION}
    layer = sb.publish_layer_version("telemetry", unix_zip(dict(files), tuple(files)))
    sb.create_function("watched", HANDLER, layers=[layer.layer_version_arn])
    result = sb.invoke("watched", {})
    assert result.function_error is None, result.payload
    rid = result.request_id
    expected = {
        "[telemetry] platform.initStart ",
        "[telemetry] platform.initReport ",
        f"[telemetry] platform.start {rid}",
        "[telemetry] function handler running",
        f"[telemetry] platform.runtimeDone {rid}",
        f"[telemetry] platform.report {rid}",
    }
    assert wait_for(lambda: expected <= set(log_lines(sb, "watched"))), log_lines(sb, "watched")


def test_the_timeline_draws_extension_init_and_the_work_after_the_response(sb: Sandbox) -> None:
    from sandbox.notebook.plots import timeline_figure

    make(sb, EXT_POST_SECONDS="0.05")
    rid = sb.invoke("fn", {}).request_id
    assert wait_for(
        lambda: any(
            r.phase == "post-runtime-extensions" and r.request_id == rid
            for r in sb.telemetry.records(kind="phase", function_name="fn")
        )
    )
    figure = timeline_figure(sb.telemetry.records(function_name="fn"))
    assert len(figure.extension_init.get_paths()) == 1
    assert len(figure.post_invoke.get_paths()) == 1
    labels = [t.get_text() for t in figure.ax.get_legend().get_texts()]
    assert "extension init" in labels and "extensions after response" in labels


def test_extensions_still_at_work_past_the_deadline_reset_the_environment() -> None:
    sandbox = Sandbox.ephemeral()
    try:
        layer = sandbox.publish_layer_version("slow", layer_with("slow"))
        sandbox.create_function(
            "late",
            HANDLER,
            layers=[layer.layer_version_arn],
            timeout=1,
            environment={"Variables": {"EXT_POST_SECONDS": "1.5"}},
        )
        first = sandbox.invoke("late", {})
        assert first.function_error is None  # the caller had its answer in time

        def post_invoke_ended() -> list[object]:
            return [
                r.detail.get("ok")
                for r in sandbox.telemetry.records(kind="phase", function_name="late")
                if r.phase == "post-runtime-extensions" and r.request_id == first.request_id
            ]

        assert wait_for(lambda: post_invoke_ended() == [False], 5)
        assert wait_for(
            lambda: any("did not finish (timeout)" in line for line in log_lines(sandbox, "late"))
        )
        again = sandbox.invoke("late", {})  # INIT again in the reset environment
        assert again.function_error is None
    finally:
        sandbox.close()  # with the extension still at work: closes cleanly


SLOW_OR_CRASHING = """
import os, time

def lambda_handler(event, context):
    if event.get("crash"):
        os._exit(5)
    time.sleep(event.get("sleep", 0))
    return "ok"
"""


def test_a_timeout_sends_shutdown_timeout_to_the_extensions(sb: Sandbox) -> None:
    layer = sb.publish_layer_version("ext", layer_with("logger"))
    sb.create_function("slow", SLOW_OR_CRASHING, layers=[layer.layer_version_arn], timeout=1)
    result = sb.invoke("slow", {"sleep": 3})
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert "[logger] SHUTDOWN timeout" in log_lines(sb, "slow")
    assert sb.invoke("slow", {}).payload == "ok"  # INIT again, extensions too
    assert (
        log_lines(sb, "slow").count("[logger] registered for slow $LATEST hidden-visible=[]") == 2
    )


def test_an_exit_error_resets_the_environment_after_the_invocation(sb: Sandbox) -> None:
    make(sb, EXT_MODE="exit-error")
    first = sb.invoke("fn", {})
    assert first.function_error is None  # the invocation itself succeeded
    assert wait_for(
        lambda: "Extension logger reported an exit error: Extension.GaveUp" in log_lines(sb, "fn")
    )
    assert wait_for(lambda: all(e["state"] != "busy" for e in sb.environments()))
    again = sb.invoke("fn", {})
    assert "Init Duration" in again.logs[-1]  # INIT again: the extension starts afresh
