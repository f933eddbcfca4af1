"""Invoke through the public API (spec §1.2-1.4, §3): the result, the context object, what
a handler sees of its environment, its logs, and the three invocation types."""

from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox import Sandbox
from sandbox.runtime.isolation import probe

pytestmark = pytest.mark.timeout(30)

ARN = "arn:aws:lambda:us-east-1:123456789012:function"
NAMESPACES = probe()[0] and os.environ.get("LAMBDA_SANDBOX_ISOLATION", "auto") != "paths"

ECHO = """\
def lambda_handler(event, context):
    print("user line 1")
    print("user line 2")
    return {"got": event}
"""

CONTEXT = """\
import time

def lambda_handler(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(event.get("sleep", 0))
    second = context.get_remaining_time_in_millis()
    cc = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "invoked_function_arn": context.invoked_function_arn,
        "cognito_identity_id": context.identity.cognito_identity_id,
        "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
        "client_context": None if cc is None else {
            "custom": cc.custom,
            "env": cc.env,
            "app_title": cc.client.app_title,
            "installation_id": cc.client.installation_id,
        },
        "remaining": [first, second],
    }
"""

INSPECT = """\
import os
import tempfile
import time

def lambda_handler(event, context):
    root = os.environ["LAMBDA_TASK_ROOT"]
    try:
        with open(os.path.join(root, "written.txt"), "w") as f:
            f.write("x")
        task_root_writable = True
    except OSError:
        task_root_writable = False
    tmp = tempfile.gettempdir()
    if "write" in event:
        with open(os.path.join(tmp, event["write"]), "w") as f:
            f.write("x")
    time.sleep(event.get("sleep", 0))
    return {
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "tmp": tmp,
        "tmp_files": sorted(os.listdir(tmp)),
        "uid": os.getuid(),
        "task_root_writable": task_root_writable,
        "task_root_files": sorted(os.listdir(root)),
    }
"""

LOGGING = """\
import logging
import os
import sys

def lambda_handler(event, context):
    print("from-print")
    sys.stderr.write("from-stderr\\n")
    logging.warning("from-logging")
    logging.info("hidden-info")
    os.system("echo from-shell")
    return None
"""


def _report_re(rid: str, *, memory: int = 128, init: bool) -> str:
    """spec §1.4: the REPORT line, ``Init Duration`` only on a cold start."""
    init_part = r"Init Duration: \d+\.\d\d ms\t" if init else ""
    return (
        rf"^REPORT RequestId: {rid}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        rf"Memory Size: {memory} MB\tMax Memory Used: \d+ MB\t{init_part}$"
    )


# -- the result and the log lines ---------------------------------------------------------
@pytest.mark.process
def test_basic_invoke_result_and_log_lines(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    first = sb.invoke("fn", {"a": 1})
    assert first.status_code == 200
    assert first.function_error is None
    assert first.payload == {"got": {"a": 1}}
    assert first.raw_payload == b'{"got": {"a": 1}}'
    assert first.executed_version == "$LATEST"
    rid = first.request_id
    assert str(uuid.UUID(rid)) == rid
    assert first.logs[:-1] == (
        f"START RequestId: {rid} Version: $LATEST",
        "user line 1",
        "user line 2",
        f"END RequestId: {rid}",
    )
    assert re.match(_report_re(rid, init=True), first.logs[-1]), first.logs[-1]

    second = sb.invoke("fn", {"a": 2})
    assert second.request_id != rid
    assert second.logs[0] == f"START RequestId: {second.request_id} Version: $LATEST"
    assert re.match(_report_re(second.request_id, init=False), second.logs[-1]), second.logs[-1]

    # spec §1.4: INIT_START comes before the first START in the log stream, once
    lines = [str(row["line"]) for row in sb.telemetry.rows(kind="log")]
    init_starts = [i for i, line in enumerate(lines) if line.startswith("INIT_START")]
    assert len(init_starts) == 1
    assert init_starts[0] < lines.index(f"START RequestId: {rid} Version: $LATEST")
    assert re.match(
        r"^INIT_START Runtime Version: python:3\.13\.v\d+\t"
        r"Runtime Version ARN: arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$",
        lines[init_starts[0]],
    )


# -- the context object (spec §1.3) -------------------------------------------------------
@pytest.mark.process
def test_context_object_attributes(sb: Sandbox) -> None:
    sb.create_function("ctx", CONTEXT, memory_size=256, timeout=5)
    r = sb.invoke("ctx", {})
    p: dict[str, Any] = r.payload  # type: ignore[assignment]
    assert p["aws_request_id"] == r.request_id
    assert p["function_name"] == "ctx"
    assert p["function_version"] == r.executed_version == "$LATEST"
    assert p["memory_limit_in_mb"] == "256"  # a string, read from the environment
    assert p["log_group_name"] == "/aws/lambda/ctx"
    assert re.match(r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$", p["log_stream_name"])
    assert p["invoked_function_arn"] == f"{ARN}:ctx"
    assert p["cognito_identity_id"] is None
    assert p["cognito_identity_pool_id"] is None
    assert p["client_context"] is None


@pytest.mark.process
def test_invoked_function_arn_is_what_the_caller_wrote(sb: Sandbox) -> None:
    sb.create_function("ctx", CONTEXT, publish=True)
    sb.create_alias("ctx", "live", "1")

    def arn(name: str, qualifier: str | None = None) -> tuple[str, str, str | None]:
        r = sb.invoke(name, {}, qualifier=qualifier)
        p: dict[str, Any] = r.payload  # type: ignore[assignment]
        return p["invoked_function_arn"], p["function_version"], r.executed_version

    assert arn("ctx") == (f"{ARN}:ctx", "$LATEST", "$LATEST")
    assert arn("ctx:$LATEST") == (f"{ARN}:ctx:$LATEST", "$LATEST", "$LATEST")
    assert arn("ctx", "$LATEST") == (f"{ARN}:ctx:$LATEST", "$LATEST", "$LATEST")
    assert arn("ctx:live") == (f"{ARN}:ctx:live", "1", "1")
    assert arn("ctx", "1") == (f"{ARN}:ctx:1", "1", "1")
    assert arn("ctx", "live") == (f"{ARN}:ctx:live", "1", "1")
    assert arn(f"{ARN}:ctx:live") == (f"{ARN}:ctx:live", "1", "1")
    assert arn(f"{ARN}:ctx") == (f"{ARN}:ctx", "$LATEST", "$LATEST")


@pytest.mark.process
def test_client_context_reaches_the_handler(sb: Sandbox) -> None:
    sb.create_function("ctx", CONTEXT)
    doc = {
        "client": {"installation_id": "inst-1", "app_title": "My App"},
        "custom": {"tenant": "blue"},
        "env": {"locale": "en"},
    }
    encoded = base64.b64encode(json.dumps(doc).encode()).decode()
    r = sb.invoke("ctx", {}, client_context=encoded)
    assert r.payload["client_context"] == {  # type: ignore[index]
        "custom": {"tenant": "blue"},
        "env": {"locale": "en"},
        "app_title": "My App",
        "installation_id": "inst-1",
    }


@pytest.mark.process
def test_remaining_time_counts_down(sb: Sandbox) -> None:
    sb.create_function("ctx", CONTEXT, timeout=5)
    first, second = sb.invoke("ctx", {"sleep": 0.2}).payload["remaining"]  # type: ignore[index]
    assert 0 < second < first <= 5000
    assert first - second >= 150


# -- weighted alias routing (spec §5) -----------------------------------------------------
VERSIONED = """\
import os

CODE = "{code}"

def lambda_handler(event, context):
    return {{
        "code": CODE,
        "env_version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "context_version": context.function_version,
        "arn": context.invoked_function_arn,
    }}
"""


@pytest.mark.process
def test_weighted_alias_routes_between_versions(sb: Sandbox) -> None:
    sb.create_function("w", VERSIONED.format(code="1"), publish=True)
    sb.update_function_code("w", VERSIONED.format(code="2"), publish=True)
    sb.create_alias("w", "live", "1", routing_config={"AdditionalVersionWeights": {"2": 0.5}})
    seen = set()
    for _ in range(60):
        r = sb.invoke("w:live", {})
        p: dict[str, Any] = r.payload  # type: ignore[assignment]
        assert r.executed_version in ("1", "2")
        assert p["code"] == r.executed_version
        # never the alias name (spec §1.2)
        assert p["env_version"] == p["context_version"] == r.executed_version
        assert p["arn"] == f"{ARN}:w:live"
        assert r.logs[0] == f"START RequestId: {r.request_id} Version: {r.executed_version}"
        seen.add(r.executed_version)
    assert seen == {"1", "2"}


# -- the environment a handler runs in (spec §1.1, §1.2) ----------------------------------
@pytest.mark.process
def test_environment_variables(sb: Sandbox) -> None:
    sb.create_function(
        "envfn", INSPECT, memory_size=192, environment={"Variables": {"STAGE": "dev"}}
    )
    first = sb.invoke("envfn", {})
    second = sb.invoke("envfn", {})
    env: dict[str, str] = first.payload["env"]  # type: ignore[index]
    assert env["_HANDLER"] == "lambda_function.lambda_handler"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "envfn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "192"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/envfn"
    assert re.match(
        r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$", env["AWS_LAMBDA_LOG_STREAM_NAME"]
    )
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == sb.environments()[0]["log_stream"]
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["TZ"] == ":UTC"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert env[key]
    assert env["STAGE"] == "dev"
    # spec §1.2: the trace header of the *current* invocation
    trace = env["_X_AMZN_TRACE_ID"]
    assert re.match(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01]", trace)
    assert second.payload["env"]["_X_AMZN_TRACE_ID"] != trace  # type: ignore[index]


@pytest.mark.process
def test_filesystem_view(sb: Sandbox) -> None:
    sb.create_function("fs", INSPECT)
    p: dict[str, Any] = sb.invoke("fs", {}).payload  # type: ignore[assignment]
    env = p["env"]
    namespaces = sb.isolation == "namespaces"
    assert p["cwd"] == env["LAMBDA_TASK_ROOT"]
    assert "lambda_function.py" in p["task_root_files"]
    if namespaces or os.geteuid() != 0:  # without a read-only mount, root can write anyway
        assert p["task_root_writable"] is False  # spec §1.1: /var/task is read-only
        assert "written.txt" not in p["task_root_files"]
    # whatever happened in there, the shared code of the version is untouched
    code = sb._shared.artifacts.extracted(sb.get_function_configuration("fs").code_sha256_hex)
    assert sorted(os.listdir(code)) == ["lambda_function.py"]
    if namespaces:
        assert env["LAMBDA_TASK_ROOT"] == "/var/task"
        assert p["cwd"] == "/var/task"
        assert p["tmp"] == "/tmp"
        assert p["uid"] == 993


@pytest.mark.process
def test_tmp_is_private_per_environment_and_gone_after_shutdown(
    sb: Sandbox, concurrently: Callable[..., list[Any]]
) -> None:
    sb.create_function("fs", INSPECT)
    names = ["a.txt", "b.txt"]
    results = concurrently(2, lambda i: sb.invoke("fs", {"write": names[i], "sleep": 0.3}))
    streams = {r.payload["env"]["AWS_LAMBDA_LOG_STREAM_NAME"] for r in results}
    assert len(streams) == 2  # two environments
    for name, r in zip(names, results, strict=True):
        assert r.payload["tmp_files"] == [name]  # each sees only its own file
    # a code change retires both environments; a new one starts with an empty /tmp
    sb.update_function_configuration("fs", description="v2")
    assert sb.environments() == []
    assert sb.invoke("fs", {}).payload["tmp_files"] == []  # type: ignore[index]


@pytest.mark.process
def test_paths_isolation_task_root_is_a_host_directory() -> None:
    with Sandbox.ephemeral(isolation="paths") as sb:
        sb.create_function("fs", INSPECT)
        p: dict[str, Any] = sb.invoke("fs", {}).payload  # type: ignore[assignment]
        root = Path(p["env"]["LAMBDA_TASK_ROOT"])
        assert root.is_absolute() and root.is_dir()
        assert (root / "lambda_function.py").is_file()
        assert p["cwd"] == str(root)


@pytest.mark.process
def test_paths_isolation_tmp_is_private_and_removed(concurrently: Callable[..., list[Any]]) -> None:
    with Sandbox.ephemeral(isolation="paths") as sb:
        sb.create_function("fs", INSPECT)
        names = ["a.txt", "b.txt"]
        results = concurrently(2, lambda i: sb.invoke("fs", {"write": names[i], "sleep": 0.3}))
        tmps = {Path(r.payload["tmp"]) for r in results}
        assert len(tmps) == 2 and Path("/tmp") not in tmps  # one directory per environment
        for name, r in zip(names, results, strict=True):
            assert r.payload["tmp_files"] == [name]
        sb.update_function_configuration("fs", description="v2")  # shuts both down
        assert not any(tmp.exists() for tmp in tmps)


# -- logs (spec §1.4, §3) -----------------------------------------------------------------
@pytest.mark.process
def test_log_lines_from_print_stderr_logging_and_subprocess(sb: Sandbox) -> None:
    sb.create_function("logs", LOGGING)
    r = sb.invoke("logs", {})
    rid = r.request_id
    assert r.payload is None and r.raw_payload == b"null"
    body = list(r.logs[1:-2])
    assert body[0] == "from-print"
    assert body[1] == "from-stderr"
    assert re.match(
        rf"^\[WARNING\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{rid}\tfrom-logging$", body[2]
    ), body[2]
    assert body[3:] == ["from-shell"]
    assert not any("hidden-info" in line for line in r.logs)  # root level WARNING


@pytest.mark.process
def test_tail_log_result_is_the_last_4_kb(sb: Sandbox) -> None:
    source = (
        "def lambda_handler(event, context):\n"
        "    for i in range(100):\n"
        "        print(f'{i:03d}' + 'x' * 97)\n"
    )
    sb.create_function("tail", source)
    assert sb.invoke("tail", {}).log_result is None
    r = sb.invoke("tail", {}, log_type="Tail")
    assert r.log_result is not None
    raw = base64.b64decode(r.log_result)
    assert len(raw) <= 4096
    text = raw.decode()
    assert text.rstrip("\n").endswith(r.logs[-1])
    assert f"END RequestId: {r.request_id}" in text
    assert "099" + "x" * 97 in text


@pytest.mark.process
def test_on_log_receives_lines_live(sb: Sandbox) -> None:
    source = (
        "import time\n"
        "def lambda_handler(event, context):\n"
        "    print('first')\n"
        "    time.sleep(0.5)\n"
        "    print('second')\n"
    )
    sb.create_function("live", source)
    sb.invoke("live", {})  # warm up: INIT is not what is measured
    arrivals: list[tuple[str, float]] = []
    r = sb.invoke("live", {}, on_log=lambda line: arrivals.append((line, time.monotonic())))
    returned = time.monotonic()
    assert [line for line, _ in arrivals] == list(r.logs)
    first_at = next(t for line, t in arrivals if line == "first")
    assert returned - first_at >= 0.3


# -- invocation types and request checks (spec §3) ----------------------------------------
def test_dry_run_validates_without_running(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    r = sb.invoke("fn", {"a": 1}, invocation_type="DryRun")
    assert r.status_code == 204
    assert r.payload is None and r.raw_payload == b""
    assert r.function_error is None and r.executed_version is None
    assert sb.environments() == []
    assert sb.telemetry.rows(kind="env.state") == []


@pytest.mark.process
def test_event_returns_202_at_once_and_runs_later(sb: Sandbox) -> None:
    source = (
        "import time\n"
        "def lambda_handler(event, context):\n"
        "    time.sleep(0.5)\n"
        "    print('side-effect', event['n'])\n"
    )
    sb.create_function("bg", source)
    t0 = time.monotonic()
    r = sb.invoke("bg", {"n": 7}, invocation_type="Event")
    assert time.monotonic() - t0 < 0.3
    assert r.status_code == 202
    assert r.payload is None and r.raw_payload == b""
    assert r.executed_version is None  # spec §3: no X-Amz-Executed-Version on 202
    assert sb.drain(10)
    records = sb.telemetry.rows(kind="invocation", request_id=r.request_id)
    assert any(
        row["status"] == "success" and row["invocation_type"] == "Event" for row in records
    ), records
    lines = [row["line"] for row in sb.telemetry.rows(kind="log", request_id=r.request_id)]
    assert "side-effect 7" in lines


def test_invalid_json_payload(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    with pytest.raises(
        sb.exceptions.InvalidRequestContentException,
        match=r"^Could not parse request body into json",
    ):
        sb.invoke("fn", "{not json")
    with pytest.raises(
        sb.exceptions.InvalidRequestContentException,
        match=r"^Could not parse request body into json",
    ):
        sb.invoke("fn", b"\xff\xfe")


def test_sync_payload_limit(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    limit = 6_291_456
    at_limit = '"' + "x" * (limit - 2) + '"'
    assert sb.invoke("fn", at_limit, invocation_type="DryRun").status_code == 204
    with pytest.raises(
        sb.exceptions.RequestTooLargeException,
        match=r"^Request must be smaller than 6291456 bytes for the InvokeFunction operation$",
    ) as info:
        sb.invoke("fn", at_limit + " ")
    assert info.value.code == "RequestEntityTooLargeException"
    assert info.value.status_code == 413


def test_event_payload_limit(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    payload = json.dumps({"data": "x" * 1_100_000})
    n = len(payload.encode())
    with pytest.raises(
        sb.exceptions.RequestTooLargeException,
        match=rf"^{n} byte payload is too large for the Event invocation type "
        r"\(limit 1048576 bytes\)$",
    ):
        sb.invoke("fn", payload, invocation_type="Event")


@pytest.mark.process
def test_payload_forms(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    event = {"k": [1, 2], "s": "é"}
    assert sb.invoke("fn", event).payload == {"got": event}  # a dict is JSON-encoded
    assert sb.invoke("fn", json.dumps(event)).payload == {"got": event}
    assert sb.invoke("fn", json.dumps(event).encode()).payload == {"got": event}
    assert sb.invoke("fn", [1, "two"]).payload == {"got": [1, "two"]}
    assert sb.invoke("fn").payload == {"got": {}}  # spec §1.3: an empty body is {}


def test_invoking_a_missing_function(sb: Sandbox) -> None:
    with pytest.raises(
        sb.exceptions.ResourceNotFoundException,
        match=r"^Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope$",
    ):
        sb.invoke("nope", {})


def test_unknown_invocation_type(sb: Sandbox) -> None:
    sb.create_function("fn", ECHO)
    with pytest.raises(
        sb.exceptions.ValidationException,
        match=re.escape(
            "1 validation error detected: Value 'Bogus' at 'invocationType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
        ),
    ):
        sb.invoke("fn", {}, invocation_type="Bogus")
