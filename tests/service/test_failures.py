"""How a function fails (spec §1.1, §1.4, §3): each failure mode answers with AWS's exact
payload, log lines and REPORT, the environment recovers as Lambda's does, and no hostile
handler can leave a process behind or take the sandbox (or its owner) down with it."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

import sandbox
from sandbox import Sandbox
from sandbox.core.invocation import InvokeResult
from sandbox.runtime.isolation import probe
from sandbox.service import environments

OK = """\
def lambda_handler(event, context):
    return {"ok": True}
"""

RAISES = """\
def lambda_handler(event, context):
    raise ValueError("boom")
"""

TIMES_OUT = """\
import os
import tempfile
import time

count = 0
MARKER = os.path.join(tempfile.gettempdir(), "written-before-timeout")

def lambda_handler(event, context):
    global count
    count += 1
    if event.get("write"):
        with open(MARKER, "w") as f:
            f.write("still here")
    if event.get("sleep"):
        time.sleep(5)
    if not os.path.exists(MARKER):
        return {"count": count, "marker": None}
    with open(MARKER) as f:
        return {"count": count, "marker": f.read()}
"""

CRASHES = """\
import ctypes
import os
import signal
import sys

def lambda_handler(event, context):
    if event.get("crash"):
        {statement}
    return "alive"
"""

ALLOCATES = """\
def lambda_handler(event, context):
    if event.get("allocate"):
        block = bytearray(400 * 2**20)
        block[::4096] = b"x" * len(block[::4096])
        return len(block)
    return "alive"
"""

IMPORTS_MISSING = """\
import not_a_module_xyz

def lambda_handler(event, context):
    return "unreachable"
"""

FAILS_AT_IMPORT = """\
raise Exception("Runtime startup fails")

def lambda_handler(event, context):
    return "unreachable"
"""

SYNTAX_ERROR = """\
def lambda_handler(event, context)
    return 1
"""

SLOW_INIT = """\
import time

time.sleep(3)

def lambda_handler(event, context):
    return "initialised"
"""

HOST_PID_HELPER = """
def host_pid(ns_pid=None):
    # a pid as the host sees it (the handler may run in a PID namespace)
    me = int(os.readlink("/proc/self"))
    if ns_pid is None:
        return me
    for child in open(f"/proc/{me}/task/{me}/children").read().split():
        with open(f"/proc/{child}/status") as f:
            for line in f:
                if line.startswith("NSpid:") and line.split()[-1] == str(ns_pid):
                    return int(child)
    return ns_pid
"""


SPAWNS = """\
import os
import subprocess
import time


# HOST_PID

def lambda_handler(event, context):
    child = subprocess.Popen(["sleep", "1000"], start_new_session=event.get("new_session", False))
    print("PID", host_pid(), host_pid(child.pid), flush=True)
    time.sleep(event.get("sleep", 0))
    return child.pid
""".replace("# HOST_PID\n", HOST_PID_HELPER)

SPINS = """\
import os


# HOST_PID

def lambda_handler(event, context):
    print("PID", host_pid(), flush=True)
    while True:
        pass
""".replace("# HOST_PID\n", HOST_PID_HELPER)

CLOSES_FDS = """\
import os


# HOST_PID

def lambda_handler(event, context):
    print("PID", host_pid(), flush=True)
    os.closerange(0, 1024)
    return "closed everything"
""".replace("# HOST_PID\n", HOST_PID_HELPER)

STOPS_ITSELF = """\
import os
import signal


# HOST_PID

def lambda_handler(event, context):
    print("PID", host_pid(), flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
    return "resumed"
""".replace("# HOST_PID\n", HOST_PID_HELPER)

FORKS_AND_EXITS = """\
import os
import time


# HOST_PID

def lambda_handler(event, context):
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    print("PID", host_pid(), host_pid(child), flush=True)
    os._exit(2)
""".replace("# HOST_PID\n", HOST_PID_HELPER)

KILLS_ITS_PARENT = """\
import os
import signal

def lambda_handler(event, context):
    parent = os.getppid()
    if parent == event["owner"]:
        return "my parent is the sandbox's owner"
    if parent == 0:  # the runtime's parent is outside its PID namespace: out of reach
        return "my parent is out of reach"
    try:
        os.kill(parent, signal.SIGKILL)
    except PermissionError:
        return "not permitted"
    return "killed"
"""

KILLS_THE_OWNER = """\
import os

from sandbox import Sandbox

HANDLER = '''
import os
import signal

def lambda_handler(event, context):
    if event.get("target"):
        try:
            os.kill(event["target"], signal.SIGKILL)
        except (PermissionError, ProcessLookupError):
            return "not permitted"
    return int(os.readlink("/proc/self"))
'''

with Sandbox.ephemeral() as sb:
    sb.create_function("hostile", HANDLER)
    print("ENV", sb.invoke("hostile").payload, flush=True)
    result = sb.invoke("hostile", {"target": os.getpid()})
    print("SURVIVED", result.payload, flush=True)
"""

NAMESPACES = probe()[0] and os.environ.get("LAMBDA_SANDBOX_ISOLATION", "auto") != "paths"
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


# --- helpers ---------------------------------------------------------------------------


def invoke_source(
    sb: Sandbox, source: object, payload: object = None, *, name: str = "fn", **config: object
) -> InvokeResult:
    """Create function ``name`` from ``source`` and invoke it once."""
    sb.create_function(name, source, **config)  # type: ignore[arg-type]
    return sb.invoke(name, payload)


def report(result: InvokeResult) -> str:
    """The invocation's REPORT line."""
    (line,) = [line for line in result.logs if line.startswith("REPORT RequestId: ")]
    assert line.startswith(f"REPORT RequestId: {result.request_id}\t")
    return line


def log_stream(sb: Sandbox, name: str) -> list[str]:
    """Every line the function's log streams received, in order (CloudWatch's view)."""
    return [str(r.detail["line"]) for r in sb.telemetry.records(kind="log", function_name=name)]


def printed_pids(result: InvokeResult) -> list[int]:
    """The pids a handler printed on a ``PID ...`` line."""
    return [int(p) for line in result.logs if line.startswith("PID ") for p in line.split()[1:]]


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs; a zombie has exited (it only awaits reaping by init)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def still_running(pids: Iterable[int], within: float = 2.0) -> set[int]:
    """The pids still running after waiting up to ``within`` seconds for them to end."""
    left = set(pids)
    deadline = time.monotonic() + within
    while True:
        left = {pid for pid in left if _running(pid)}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def kill_leftovers(pids: Iterable[int]) -> None:
    """Clean up after a test that found processes left behind (the ones it started)."""
    for pid in pids:
        if _running(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def assert_sandbox_works(sb: Sandbox, name: str = "healthy") -> None:
    """Another function still runs normally."""
    result = invoke_source(sb, OK, {"x": 1}, name=name)
    assert (result.status_code, result.function_error, result.payload) == (200, None, {"ok": True})


def zip_of(source: str) -> dict[str, bytes]:
    """A deployment package holding ``lambda_function.py`` (source text is parsed on
    upload, so code with a syntax error has to come as a zip, as it does on AWS)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("lambda_function.py", source)
    return {"ZipFile": buf.getvalue()}


# --- function errors -------------------------------------------------------------------


@pytest.mark.process
def test_unhandled_exception(sb: Sandbox) -> None:
    result = invoke_source(sb, RAISES)

    assert result.status_code == 200
    assert result.function_error == "Unhandled"
    payload = result.payload
    assert isinstance(payload, dict)
    assert list(payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert payload["errorMessage"] == "boom"
    assert payload["errorType"] == "ValueError"
    assert payload["requestId"] == result.request_id
    stack = payload["stackTrace"]
    assert isinstance(stack, list) and all(isinstance(frame, str) for frame in stack)
    assert stack[-1].endswith(
        'lambda_function.py", line 2, in lambda_handler\n    raise ValueError("boom")\n'
    )
    assert "[ERROR] ValueError: boom" in result.logs
    assert "Traceback (most recent call last):" in result.logs
    assert "Status:" not in report(result)


@pytest.mark.process
def test_unhandled_exception_stack_trace_is_only_user_code(sb: Sandbox) -> None:
    result = invoke_source(sb, RAISES)

    stack = result.payload["stackTrace"]  # type: ignore[index]
    assert len(stack) == 1
    assert stack[0].endswith(
        'lambda_function.py", line 2, in lambda_handler\n    raise ValueError("boom")\n'
    )
    assert not any("sandbox/runtime" in line for line in result.logs)


@pytest.mark.process
def test_non_serialisable_result_is_a_marshal_error(sb: Sandbox) -> None:
    result = invoke_source(sb, "def lambda_handler(event, context):\n    return {1, 2, 3}\n")

    assert (result.status_code, result.function_error) == (200, "Unhandled")
    payload = result.payload
    assert isinstance(payload, dict)
    assert payload["errorType"] == "Runtime.MarshalError"
    assert payload["errorMessage"].startswith(
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert payload["requestId"] == result.request_id
    assert payload["stackTrace"] == []
    assert (
        "[ERROR] Runtime.MarshalError: Unable to marshal response: "
        "Object of type set is not JSON serializable"
    ) in result.logs


@pytest.mark.process
def test_oversized_response(sb: Sandbox) -> None:
    result = invoke_source(sb, "def lambda_handler(event, context):\n    return 'x' * 7_000_000\n")

    assert (result.status_code, result.function_error) == (200, "Unhandled")
    assert result.payload == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
    }


# --- timeout ---------------------------------------------------------------------------


@pytest.mark.process
@pytest.mark.timeout(60)
def test_timeout_resets_the_environment_but_keeps_tmp(sb: Sandbox) -> None:
    name = "slow"
    sb.create_function(name, TIMES_OUT, timeout=1)
    assert sb.invoke(name, {}).payload == {"count": 1, "marker": None}
    assert sb.invoke(name, {"write": True}).payload == {"count": 2, "marker": "still here"}

    started = time.monotonic()
    result = sb.invoke(name, {"sleep": True})
    elapsed = time.monotonic() - started

    rid = result.request_id
    assert elapsed < 4
    assert (result.status_code, result.function_error) == (200, "Unhandled")
    assert result.payload == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {rid} Error: Task timed out after 1.00 seconds",
    }
    pattern = rf"^{TIMESTAMP} {re.escape(rid)} Task timed out after 1\.00 seconds$"
    assert [line for line in result.logs if re.match(pattern, line)]
    assert "\tStatus: timeout" in report(result)

    after = sb.invoke(name, {})  # globals start over, /tmp survived, INIT ran again
    assert after.function_error is None
    assert after.payload == {"count": 1, "marker": "still here"}
    assert "\tInit Duration: " in report(after)


# --- the runtime dies ------------------------------------------------------------------


@pytest.mark.process
@pytest.mark.parametrize(
    ("statement", "description"),
    [
        ("sys.exit(0)", "Runtime exited without providing a reason"),
        ("sys.exit(3)", "Runtime exited with error: exit status 3"),
        ("os._exit(1)", "Runtime exited with error: exit status 1"),
        ("ctypes.string_at(0)", "Runtime exited with error: signal: segmentation fault"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "Runtime exited with error: signal: killed"),
    ],
)
def test_runtime_exit(sb: Sandbox, statement: str, description: str) -> None:
    result = invoke_source(sb, CRASHES.replace("{statement}", statement), {"crash": True})

    rid = result.request_id
    assert (result.status_code, result.function_error) == (200, "Unhandled")
    assert result.payload == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {rid} Error: {description}",
    }
    assert "\tStatus: error\tError Type: Runtime.ExitError" in report(result)

    after = sb.invoke("fn", {})
    assert (after.function_error, after.payload) == (None, "alive")
    assert "\tInit Duration: " in report(after)


@pytest.mark.process
@pytest.mark.timeout(60)
def test_out_of_memory(sb: Sandbox) -> None:
    result = invoke_source(sb, ALLOCATES, {"allocate": True}, memory_size=128)

    rid = result.request_id
    assert (result.status_code, result.function_error) == (200, "Unhandled")
    assert result.payload == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {rid} Error: Runtime exited with error: signal: killed",
    }
    line = report(result)
    assert "\tStatus: error\tError Type: Runtime.OutOfMemory" in line
    used = re.search(r"\tMax Memory Used: (\d+) MB\t", line)
    assert used is not None and int(used.group(1)) >= 128

    after = sb.invoke("fn", {})
    assert (after.function_error, after.payload) == (None, "alive")
    assert "\tInit Duration: " in report(after)


# --- INIT fails --------------------------------------------------------------------------


@pytest.mark.process
@pytest.mark.parametrize(
    ("code", "handler", "error_type", "message"),
    [
        pytest.param(
            IMPORTS_MISSING,
            None,
            "Runtime.ImportModuleError",
            "Unable to import module 'lambda_function': No module named 'not_a_module_xyz'",
            id="missing-module",
        ),
        pytest.param(
            OK,
            "lambda_function.nope",
            "Runtime.HandlerNotFound",
            "Handler 'nope' missing on module 'lambda_function'",
            id="missing-handler",
        ),
        pytest.param(
            zip_of(SYNTAX_ERROR),
            "lambda_function.lambda_handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'lambda_function': expected ':' (lambda_function.py, line 1)",
            id="syntax-error",
        ),
        pytest.param(
            FAILS_AT_IMPORT,
            None,
            "Exception",
            "Runtime startup fails",
            id="raises-at-import",
        ),
    ],
)
def test_init_error_payload(
    sb: Sandbox, code: object, handler: str | None, error_type: str, message: str
) -> None:
    result = invoke_source(sb, code, handler=handler)

    assert (result.status_code, result.function_error) == (200, "Unhandled")
    payload = result.payload
    assert isinstance(payload, dict)
    assert payload["errorType"] == error_type
    assert payload["errorMessage"] == message
    assert payload["requestId"] == ""
    assert isinstance(payload["stackTrace"], list)
    if error_type == "Exception":
        assert payload["stackTrace"][-1].endswith(
            'lambda_function.py", line 1, in <module>\n'
            '    raise Exception("Runtime startup fails")\n'
        )
    assert f"[ERROR] {error_type}: {message}" in result.logs
    invoke_phase = f"\tPhase: invoke\tStatus: error\tError Type: {error_type}"
    assert [line for line in result.logs if line.startswith("INIT_REPORT") and invoke_phase in line]
    assert f"\tStatus: error\tError Type: {error_type}" in report(result)


@pytest.mark.process
def test_init_error_is_retried_by_every_invoke_until_the_code_is_fixed(sb: Sandbox) -> None:
    first = invoke_source(sb, IMPORTS_MISSING)

    init_report = re.compile(
        r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: (init|invoke)\tStatus: error"
        r"\tError Type: Runtime\.ImportModuleError$"
    )
    assert any(line.startswith("INIT_START Runtime Version: ") for line in first.logs)
    assert [m[1] for line in first.logs if (m := init_report.match(line))] == ["invoke"]
    stream = log_stream(sb, "fn")  # the failed INIT, then the suppressed one in the invoke
    assert [m[1] for line in stream if (m := init_report.match(line))] == ["init", "invoke"]
    assert sum(line.startswith("INIT_START ") for line in stream) == 2

    second = sb.invoke("fn")  # no "permanently broken" state: INIT is tried again
    assert second.function_error == "Unhandled"
    assert second.payload == first.payload
    assert [m[1] for line in second.logs if (m := init_report.match(line))] == ["invoke"]

    sb.update_function_code("fn", OK)
    fixed = sb.invoke("fn")
    assert (fixed.function_error, fixed.payload) == (None, {"ok": True})
    assert "\tInit Duration: " in report(fixed)


@pytest.mark.process
def test_init_exception_stack_trace_has_no_runtime_frames(sb: Sandbox) -> None:
    result = invoke_source(sb, FAILS_AT_IMPORT)

    stack = result.payload["stackTrace"]  # type: ignore[index]
    assert "importlib" in stack[0]
    assert not any("sandbox/runtime" in frame for frame in stack)


@pytest.mark.process
def test_syntax_error_stack_trace_points_at_the_line(sb: Sandbox) -> None:
    result = invoke_source(sb, zip_of(SYNTAX_ERROR), handler="lambda_function.lambda_handler")

    stack = result.payload["stackTrace"]  # type: ignore[index]
    assert len(stack) == 1
    assert re.fullmatch(
        r'  File "[^"]*/lambda_function\.py" Line 1\n    def lambda_handler\(event, context\)\n',
        stack[0],
    )


@pytest.mark.process
@pytest.mark.timeout(60)
def test_init_timeout(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environments, "INIT_LIMIT_S", 1.0)

    started = time.monotonic()
    result = invoke_source(sb, SLOW_INIT, timeout=2)
    elapsed = time.monotonic() - started

    rid = result.request_id
    assert elapsed < 6  # 1 s INIT limit, then the suppressed INIT bounded by the 2 s timeout
    assert (result.status_code, result.function_error) == (200, "Unhandled")
    payload = result.payload
    assert isinstance(payload, dict)
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"] == f"RequestId: {rid} Error: Task timed out after 2.00 seconds"
    timeout_report = re.compile(
        r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: (\w+)\tStatus: timeout"
    )
    stream = log_stream(sb, "fn")
    assert [m[1] for line in stream if (m := timeout_report.match(line))] == ["init", "invoke"]
    assert [m[1] for line in result.logs if (m := timeout_report.match(line))] == ["invoke"]


@pytest.mark.process
@pytest.mark.timeout(60)
def test_init_timeout_answers_like_an_invoke_timeout(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(environments, "INIT_LIMIT_S", 1.0)

    result = invoke_source(sb, SLOW_INIT, timeout=2)

    rid = result.request_id
    assert result.payload == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {rid} Error: Task timed out after 2.00 seconds",
    }
    assert "\tStatus: timeout" in report(result)


# --- hostile handlers ----------------------------------------------------------------------


def assert_timed_out(result: InvokeResult, seconds: str = "1.00") -> None:
    rid = result.request_id
    assert (result.status_code, result.function_error) == (200, "Unhandled")
    assert result.payload == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {rid} Error: Task timed out after {seconds} seconds",
    }


@pytest.mark.process
@pytest.mark.timeout(60)
def test_children_die_with_a_timed_out_environment(sb: Sandbox) -> None:
    result = invoke_source(sb, SPAWNS, {"sleep": 5}, timeout=1)

    assert_timed_out(result)
    pids = printed_pids(result)
    assert len(pids) == 2
    assert still_running(pids) == set()  # the reset killed the runtime and its child
    assert_sandbox_works(sb)
    sb.close()
    assert still_running(pids) == set()


@pytest.mark.process
@pytest.mark.timeout(60)
@pytest.mark.skipif(
    not NAMESPACES and os.environ.get("LAMBDA_SANDBOX_START_METHOD") == "spawn",
    reason="spawned environments without namespaces have no zygote to adopt escaped "
    "processes (docs/fidelity.md)",
)
def test_children_in_a_new_session_die_on_close(sb: Sandbox) -> None:
    result = invoke_source(sb, SPAWNS, {"new_session": True})
    pids = printed_pids(result)
    try:
        assert result.function_error is None
        assert len(pids) == 2
        sb.close()
        assert still_running(pids) == set()
    finally:
        kill_leftovers(pids)


@pytest.mark.process
@pytest.mark.timeout(60)
@pytest.mark.parametrize("source", [SPINS, STOPS_ITSELF], ids=["infinite-loop", "stops-itself"])
def test_handler_that_never_returns_times_out(sb: Sandbox, source: str) -> None:
    started = time.monotonic()
    result = invoke_source(sb, source, timeout=1)

    assert time.monotonic() - started < 4
    assert_timed_out(result)
    pids = printed_pids(result)
    assert len(pids) == 1
    assert_sandbox_works(sb)
    sb.close()
    assert still_running(pids) == set()


@pytest.mark.process
@pytest.mark.timeout(60)
def test_handler_that_closes_its_descriptors(sb: Sandbox) -> None:
    started = time.monotonic()
    result = invoke_source(sb, CLOSES_FDS, timeout=1)

    assert time.monotonic() - started < 4
    rid = result.request_id
    assert (result.status_code, result.function_error) == (200, "Unhandled")
    payload = result.payload
    assert isinstance(payload, dict)
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].startswith(f"RequestId: {rid} Error: Runtime exited")
    pids = printed_pids(result)
    assert len(pids) == 1
    assert_sandbox_works(sb)
    sb.close()
    assert still_running(pids) == set()


@pytest.mark.process
@pytest.mark.timeout(60)
def test_runtime_that_forks_then_exits(sb: Sandbox) -> None:
    started = time.monotonic()
    result = invoke_source(sb, FORKS_AND_EXITS, timeout=2)
    elapsed = time.monotonic() - started
    pids = printed_pids(result)
    try:
        rid = result.request_id
        assert result.payload == {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {rid} Error: Runtime exited with error: exit status 2",
        }
        assert elapsed < 1.5
    finally:
        sb.close()
        assert still_running(pids) == set()


@pytest.mark.process
@pytest.mark.timeout(60)
def test_handler_cannot_break_the_sandbox_by_killing_its_parent(sb: Sandbox) -> None:
    result = invoke_source(sb, KILLS_ITS_PARENT, {"owner": os.getpid()})
    if result.payload == "my parent is the sandbox's owner":
        pytest.skip("environments are this process's children: nothing else to kill")

    assert result.function_error is None
    assert_sandbox_works(sb)


@pytest.mark.process
@pytest.mark.timeout(60)
@pytest.mark.xfail(
    not NAMESPACES,
    strict=True,
    reason="without namespaces (isolation='paths') a handler runs as the owner's user in the "
    "owner's PID namespace, so it can SIGKILL the process that owns the sandbox",
)
def test_handler_cannot_kill_the_sandbox_owner(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(KILLS_THE_OWNER)
    package_root = str(Path(sandbox.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": package_root}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=45
    )
    env_pids = [
        int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("ENV ")
    ]
    try:
        assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
        assert "SURVIVED" in proc.stdout
    finally:
        assert env_pids and still_running(env_pids) == set()


# --- the owner keeps going -----------------------------------------------------------------


@pytest.mark.process
@pytest.mark.timeout(60)
def test_sandbox_survives_every_failure_mode(sb: Sandbox) -> None:
    failing = {
        "raises": (RAISES, {}, {}),
        "exits": (CRASHES.replace("{statement}", "sys.exit(3)"), {"crash": True}, {}),
        "segfaults": (CRASHES.replace("{statement}", "ctypes.string_at(0)"), {"crash": True}, {}),
        "oom": (ALLOCATES, {"allocate": True}, {"memory_size": 128}),
        "spins": (SPINS, {}, {"timeout": 1}),
        "closes-fds": (CLOSES_FDS, {}, {"timeout": 1}),
        "stops": (STOPS_ITSELF, {}, {"timeout": 1}),
        "bad-import": (IMPORTS_MISSING, {}, {}),
    }
    pids: list[int] = []
    for name, (source, event, config) in failing.items():
        result = invoke_source(sb, source, event, name=name, **config)
        assert (result.status_code, result.function_error) == (200, "Unhandled"), name
        pids += printed_pids(result)
    pids += [int(row["pid"]) for row in sb.environments() if row["pid"] is not None]  # type: ignore[call-overload]

    assert_sandbox_works(sb)
    sb.close()
    assert still_running(pids) == set()
