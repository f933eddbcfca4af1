"""Custom runtimes (``provided.al2023``): a ``bootstrap`` executable drives the Runtime API
itself (spec §2.1) — a tiny standard-library one, and AWS's ``awslambdaric`` unmodified."""

from __future__ import annotations

import json
import sys

import pytest
from zips import unix_zip

from sandbox import Sandbox

BOOTSTRAP = f"""#!{sys.executable}
import http.client, json, os, sys

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
conn = http.client.HTTPConnection(host, int(port))
print("custom runtime starting in", os.getcwd(), flush=True)
if os.environ.get("FAIL_INIT"):
    body = json.dumps({{"errorMessage": "no config", "errorType": "Runtime.NoConfig"}})
    conn.request("POST", "/2018-06-01/runtime/init/error", body,
                 {{"Lambda-Runtime-Function-Error-Type": "Runtime.NoConfig"}})
    conn.getresponse().read()
    sys.exit(1)
while True:
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    reply = conn.getresponse()
    event = json.loads(reply.read() or b"{{}}")
    request_id = reply.getheader("Lambda-Runtime-Aws-Request-Id")
    print("got", request_id, flush=True)
    if event.get("crash"):
        os._exit(7)
    if event.get("fail"):
        body = json.dumps({{"errorMessage": "bad input", "errorType": "InputError"}})
        conn.request("POST", f"/2018-06-01/runtime/invocation/{{request_id}}/error", body,
                     {{"Lambda-Runtime-Function-Error-Type": "InputError"}})
    else:
        deadline = int(reply.getheader("Lambda-Runtime-Deadline-Ms"))
        answer = {{"echo": event, "deadline": deadline > 0,
                  "arn": reply.getheader("Lambda-Runtime-Invoked-Function-Arn")}}
        conn.request("POST", f"/2018-06-01/runtime/invocation/{{request_id}}/response",
                     json.dumps(answer))
    conn.getresponse().read()
"""


def package(files: dict[str, str]) -> bytes:
    return unix_zip(dict(files), tuple(n for n in files if n.endswith("bootstrap")))


@pytest.fixture
def sb() -> Sandbox:
    sandbox = Sandbox.ephemeral()
    yield sandbox  # type: ignore[misc]
    sandbox.close()


def test_a_bootstrap_serves_invocations(sb: Sandbox) -> None:
    sb.create_function(
        "custom", package({"bootstrap": BOOTSTRAP}), runtime="provided.al2023", handler="x.y"
    )
    result = sb.invoke("custom", {"hello": "runtime api"})
    assert result.function_error is None, result.payload
    assert result.payload["echo"] == {"hello": "runtime api"}
    assert result.payload["deadline"] is True
    assert result.payload["arn"].endswith(":function:custom")
    assert any(line.startswith("got ") for line in result.logs)
    again = sb.invoke("custom", {"n": 2})
    assert again.payload["echo"] == {"n": 2}
    assert "Init Duration" not in again.logs[-1]  # warm
    failed = sb.invoke("custom", {"fail": True})
    assert failed.function_error == "Unhandled"
    assert failed.payload["errorType"] == "InputError"


def test_a_layer_can_bring_the_bootstrap(sb: Sandbox) -> None:
    layer = sb.publish_layer_version("runtime", package({"bootstrap": BOOTSTRAP}))
    sb.create_function(
        "from-layer",
        package({"readme.txt": "no bootstrap here"}),
        runtime="provided.al2",
        handler="x.y",
        layers=[layer.layer_version_arn],
    )
    assert sb.invoke("from-layer", {"a": 1}).payload["echo"] == {"a": 1}


def test_init_error_crash_and_missing_bootstrap(sb: Sandbox) -> None:
    sb.create_function(
        "broken",
        package({"bootstrap": BOOTSTRAP}),
        runtime="provided.al2023",
        handler="x.y",
        environment={"Variables": {"FAIL_INIT": "1"}},
    )
    result = sb.invoke("broken", {})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.NoConfig"
    sb.create_function(
        "crashes", package({"bootstrap": BOOTSTRAP}), runtime="provided.al2023", handler="x.y"
    )
    crashed = sb.invoke("crashes", {"crash": True})
    assert crashed.payload["errorType"] == "Runtime.ExitError"
    assert "exit status 7" in crashed.payload["errorMessage"]
    assert sb.invoke("crashes", {"ok": 1}).payload["echo"] == {"ok": 1}  # reset, then fine
    sb.create_function(
        "nothing", package({"readme.txt": "x"}), runtime="provided.al2023", handler="x.y"
    )
    missing = sb.invoke("nothing", {})
    assert missing.function_error == "Unhandled"
    assert "exit status 127" in json.dumps(missing.payload)


def test_awslambdaric_runs_unmodified(sb: Sandbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("awslambdaric")
    ric_bootstrap = f"""#!/bin/sh
exec {sys.executable} -m awslambdaric app.handler
"""
    app = "def handler(event, context):\n    return {'ric': True, 'id': context.aws_request_id}\n"
    sb.create_function(
        "ric",
        package({"bootstrap": ric_bootstrap, "app.py": app}),
        runtime="provided.al2023",
        handler="app.handler",
    )
    result = sb.invoke("ric", {})
    assert result.function_error is None, (result.payload, result.logs)
    assert result.payload == {"ric": True, "id": result.request_id}
