"""Execution-environment lifecycle (spec §1.1): warm reuse, freeze/thaw, scale-out,
keep-alive expiry, retirement on update/delete, close, and the telemetry bus that
records it all."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.core.telemetry import RecordKind
from sandbox.service.telemetry import TelemetryBus
from tests.conftest import eventually

pytestmark = pytest.mark.timeout(30)

COUNTER = """\
import os

count = 0

def lambda_handler(event, context):
    global count
    count += 1
    pid = int(os.readlink("/proc/self"))  # as the host sees it
    return {"count": count, "pid": pid, "stream": context.log_stream_name}
"""

FREEZE = """\
import os
import threading
import time

ticks = 0
started = False

def tick():
    global ticks
    while True:
        ticks += 1
        time.sleep(0.01)

def lambda_handler(event, context):
    global started
    if not started:
        started = True
        threading.Thread(target=tick, daemon=True).start()
    before = ticks
    time.sleep(event.get("sleep", 0))
    return {"before": before, "after": ticks, "pid": int(os.readlink("/proc/self"))}
"""

SLEEPER = """\
import os
import time

def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": int(os.readlink("/proc/self")), "stream": context.log_stream_name}
"""

CODE = """\
import os

def lambda_handler(event, context):
    return {{"code": "{code}", "pid": int(os.readlink("/proc/self")), "x": os.environ.get("XX")}}
"""

INIT_RE = re.compile(r"\tInit Duration: \d+\.\d\d ms\t")
ROW_KEYS = {
    "seq",
    "kind",
    "time",
    "end",
    "duration_ms",
    "function_name",
    "version",
    "env_id",
    "request_id",
    "phase",
    "init_type",
    "account_id",
}


def _state(pid: int) -> str | None:
    """The process state letter from /proc (``None``: no such process)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data.rsplit(")", 1)[1].split()[0]


def _gone(pid: int) -> bool:
    return _state(pid) in (None, "Z", "X")


def _shutdowns(sb: Sandbox) -> dict[str, str]:
    """env_id -> reason of every SHUTDOWN phase recorded."""
    return {
        str(row["env_id"]): str(row["reason"])
        for row in sb.telemetry.rows(kind="phase")
        if row["phase"] == "shutdown"
    }


# -- reuse and freeze ---------------------------------------------------------------------
@pytest.mark.process
def test_warm_reuse_keeps_module_globals(sb: Sandbox) -> None:
    sb.create_function("count", COUNTER)
    results = [sb.invoke("count", {}) for _ in range(3)]
    assert [r.payload["count"] for r in results] == [1, 2, 3]  # type: ignore[index]
    assert len({r.payload["pid"] for r in results}) == 1  # type: ignore[index]
    assert len({r.payload["stream"] for r in results}) == 1  # type: ignore[index]
    assert [bool(INIT_RE.search(r.logs[-1])) for r in results] == [True, False, False]
    (env,) = sb.environments()
    assert env["invocations"] == 3
    assert env["pid"] == results[0].payload["pid"]  # type: ignore[index]


@pytest.mark.process
def test_idle_environment_is_frozen(sb: Sandbox) -> None:
    sb.create_function("frz", FREEZE)
    first: dict[str, int] = sb.invoke("frz", {}).payload  # type: ignore[assignment]
    pid = first["pid"]
    # spec §1.1: between invocations every process of the environment is stopped
    assert eventually(lambda: _state(pid) == "T", 1.0), _state(pid)
    time.sleep(0.5)  # 50 ticks if the thread were running
    second: dict[str, int] = sb.invoke("frz", {}).payload  # type: ignore[assignment]
    assert second["before"] - first["after"] < 10
    # ... and the thread does run while an invocation is in progress
    busy: dict[str, int] = sb.invoke("frz", {"sleep": 0.3}).payload  # type: ignore[assignment]
    assert busy["after"] - busy["before"] >= 10
    assert busy["pid"] == pid


# -- scale-out (spec §1.1, §4) ------------------------------------------------------------
@pytest.mark.process
def test_concurrent_requests_get_their_own_environments(
    concurrently: Callable[..., list[Any]],
) -> None:
    # a real clock, so that the INVOKE spans have real extents to compare
    with Sandbox.ephemeral() as sb:
        sb.create_function("slow", SLEEPER)
        for _ in range(2):  # the second round reuses the four warm environments
            results = concurrently(4, lambda _i: sb.invoke("slow", {"sleep": 0.3}))
            assert len({r.payload["pid"] for r in results}) == 4
            assert len({r.payload["stream"] for r in results}) == 4
        assert len(sb.environments()) == 4
        # the INVOKE phase of each environment (a "phase" record, or the invocation record
        # that carries phase "invoke")
        spans: dict[str, list[tuple[float, float]]] = {}
        for rec in sb.telemetry.records():
            if rec.phase == "invoke":
                assert rec.end is not None
                spans.setdefault(rec.env_id, []).append((rec.time, rec.end))
        assert len(spans) == 4
        for env_spans in spans.values():
            assert len(env_spans) == 2
            (_, first_end), (second_start, _) = sorted(env_spans)
            assert first_end <= second_start  # one invocation at a time per environment


# -- keep-alive (spec §1.1) ---------------------------------------------------------------
@pytest.mark.process
def test_idle_environment_spins_down_after_keep_alive() -> None:
    clock = FakeClock()
    with Sandbox.ephemeral(clock=clock, keep_alive=60) as sb:
        sb.create_function("ka", COUNTER)
        first = sb.invoke("ka", {})
        pid = first.payload["pid"]  # type: ignore[index]
        (env,) = sb.environments()
        clock.advance(30)
        time.sleep(0.6)  # give the scheduler a chance to (wrongly) act
        assert [e["state"] for e in sb.environments()] == ["idle"]
        assert not _gone(pid)
        clock.advance(31)
        assert eventually(lambda: sb.environments() == [], 2.0), sb.environments()
        assert eventually(lambda: _gone(pid), 2.0)
        assert _shutdowns(sb) == {env["env_id"]: "spindown"}
        again = sb.invoke("ka", {})
        assert again.payload["count"] == 1  # type: ignore[index]
        assert again.payload["pid"] != pid  # type: ignore[index]
        assert INIT_RE.search(again.logs[-1])
        (record,) = sb.telemetry.records(kind="invocation", request_id=again.request_id)
        assert record.detail["cold"] is True


@pytest.mark.process
def test_keep_alive_counts_from_the_last_invocation() -> None:
    clock = FakeClock()
    with Sandbox.ephemeral(clock=clock, keep_alive=60) as sb:
        sb.create_function("ka", COUNTER)
        pid = sb.invoke("ka", {}).payload["pid"]  # type: ignore[index]
        clock.advance(50)
        assert sb.invoke("ka", {}).payload["count"] == 2  # type: ignore[index]
        clock.advance(50)  # 100 s after the first invocation, 50 s after the last
        time.sleep(0.6)
        assert [e["pid"] for e in sb.environments()] == [pid]
        clock.advance(11)
        assert eventually(lambda: sb.environments() == [], 2.0), sb.environments()
        assert eventually(lambda: _gone(pid), 2.0)


# -- retirement on change (spec §1.1, §5) -------------------------------------------------
@pytest.mark.process
def test_code_update_retires_latest_environments_only(sb: Sandbox) -> None:
    sb.create_function("up", CODE.format(code="A"), publish=True)
    v1 = sb.invoke("up:1", {})
    latest = sb.invoke("up", {})
    assert v1.payload["code"] == latest.payload["code"] == "A"  # type: ignore[index]
    envs = {e["version"]: e for e in sb.environments()}
    assert set(envs) == {"1", "$LATEST"}

    sb.update_function_code("up", CODE.format(code="B"))
    assert eventually(lambda: _gone(latest.payload["pid"]))  # type: ignore[index]
    assert _shutdowns(sb) == {envs["$LATEST"]["env_id"]: "update"}
    # the published version's environment is untouched
    assert [(e["env_id"], e["state"]) for e in sb.environments()] == [(envs["1"]["env_id"], "idle")]
    assert not _gone(v1.payload["pid"])  # type: ignore[index]

    new = sb.invoke("up", {})
    assert new.payload["code"] == "B"  # type: ignore[index]
    assert INIT_RE.search(new.logs[-1])
    old = sb.invoke("up:1", {})
    assert old.payload == v1.payload  # same code, same (warm) process
    assert not INIT_RE.search(old.logs[-1])


@pytest.mark.process
def test_update_during_an_invocation_retires_the_environment_afterwards(sb: Sandbox) -> None:
    source = SLEEPER.replace("return {", 'return {"code": "A", ')
    sb.create_function("busy", source)
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(sb.invoke("busy", {"sleep": 0.5})))
    worker.start()
    assert eventually(lambda: [e["state"] for e in sb.environments()] == ["busy"], 2.0)
    sb.update_function_code("busy", source.replace('"A"', '"B"'))
    worker.join(10)
    (old,) = results
    assert old.function_error is None
    assert old.payload["code"] == "A"  # the running invocation finishes on the old code
    assert eventually(lambda: _gone(old.payload["pid"]))
    assert list(_shutdowns(sb).values()) == ["update"]
    assert sb.invoke("busy", {}).payload["code"] == "B"  # type: ignore[index]


@pytest.mark.process
def test_configuration_update_retires_latest_environments(sb: Sandbox) -> None:
    sb.create_function("cfg", CODE.format(code="A"), environment={"XX": "1"})
    before = sb.invoke("cfg", {})
    assert before.payload["x"] == "1"  # type: ignore[index]
    (env,) = sb.environments()
    sb.update_function_configuration("cfg", environment={"Variables": {"XX": "2"}})
    assert sb.environments() == []
    assert eventually(lambda: _gone(env["pid"]))  # type: ignore[arg-type]
    assert _shutdowns(sb) == {env["env_id"]: "update"}
    after = sb.invoke("cfg", {})
    assert after.payload["x"] == "2"  # type: ignore[index]
    assert INIT_RE.search(after.logs[-1])


@pytest.mark.process
def test_delete_function_shuts_down_its_environments(sb: Sandbox) -> None:
    sb.create_function("gone", CODE.format(code="A"), publish=True)
    sb.create_function("kept", CODE.format(code="K"))
    pids = [sb.invoke(q, {}).payload["pid"] for q in ("gone", "gone:1")]  # type: ignore[index]
    kept = sb.invoke("kept", {}).payload["pid"]  # type: ignore[index]
    doomed = {e["env_id"] for e in sb.environments() if e["function_name"] == "gone"}
    assert len(doomed) == 2
    sb.delete_function("gone")
    assert [e["function_name"] for e in sb.environments()] == ["kept"]
    assert all(eventually(lambda p=p: _gone(p)) for p in pids)
    assert not _gone(kept)
    assert set(_shutdowns(sb)) == doomed
    with pytest.raises(sb.exceptions.ResourceNotFoundException):
        sb.invoke("gone", {})


# -- close ----------------------------------------------------------------------------
@pytest.mark.process
def test_close_shuts_everything_down_and_is_idempotent() -> None:
    sb = Sandbox.ephemeral(clock=FakeClock())
    sb.create_function("a", COUNTER)
    sb.create_function("b", COUNTER)
    pids = [sb.invoke(name, {}).payload["pid"] for name in ("a", "b")]  # type: ignore[index]
    env_ids = {e["env_id"] for e in sb.environments()}
    sb.close()
    assert sb.closed
    assert sb.environments() == []
    assert all(eventually(lambda p=p: _gone(p)) for p in pids)
    assert _shutdowns(sb) == dict.fromkeys(env_ids, "close")
    sb.close()  # idempotent
    with pytest.raises(sb.exceptions.SandboxClosedError):
        sb.invoke("a", {})


def test_invoking_a_closed_sandbox_that_never_ran_anything() -> None:
    sb = Sandbox.ephemeral(clock=FakeClock())
    sb.create_function("a", COUNTER)
    sb.close()
    with pytest.raises(sb.exceptions.SandboxClosedError):
        sb.invoke("a", {})


# -- the telemetry bus --------------------------------------------------------------------
@pytest.mark.process
def test_telemetry_rows_and_records(sb: Sandbox) -> None:
    sb.create_function("tel", COUNTER)
    first = sb.invoke("tel", {})
    second = sb.invoke("tel", {})
    rows = sb.telemetry.rows()
    assert rows
    for row in rows:
        assert set(row) >= ROW_KEYS
        assert row["kind"] in {str(k) for k in RecordKind}
    seqs = [row["seq"] for row in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    def invocation(rid: str) -> dict[str, object]:
        (rec,) = [r for r in sb.telemetry.records(request_id=rid) if r.kind == "invocation"]
        assert rec.function_name == "tel" and rec.version == "$LATEST"
        return dict(rec.detail)

    assert invocation(first.request_id)["cold"] is True
    assert invocation(first.request_id)["status"] == "success"
    assert invocation(second.request_id)["cold"] is False
    kinds = {r.kind for r in sb.telemetry.records(request_id=first.request_id)}
    assert {"invocation", "log"} <= kinds


@pytest.mark.process
def test_subscribers_receive_records_and_a_raising_one_is_detached(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sb.create_function("sub", COUNTER)
    received: list[Any] = []
    unsubscribe = sb.telemetry.subscribe(received.append)
    calls = 0

    def broken(_record: object) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("observer bug")

    sb.telemetry.subscribe(broken)
    with caplog.at_level(logging.ERROR, logger="sandbox.telemetry"):
        first = sb.invoke("sub", {})
        second = sb.invoke("sub", {})
    assert first.ok and second.ok
    assert second.payload["count"] == 2  # type: ignore[index]
    assert calls == 1  # detached after it raised
    assert any("detaching" in rec.getMessage() for rec in caplog.records)
    rids = {r.request_id for r in received if r.kind == "invocation"}
    assert rids == {first.request_id, second.request_id}
    unsubscribe()
    count = len(received)
    sb.invoke("sub", {})
    assert len(received) == count


def test_telemetry_ring_is_bounded() -> None:
    bus = TelemetryBus(FakeClock(), capacity=10)
    for i in range(20):
        bus.emit(RecordKind.LOG, detail={"line": f"line {i}"})
    assert len(bus) == 10
    assert [r.seq for r in bus.records()] == list(range(11, 21))
    assert [row["line"] for row in bus.rows()] == [f"line {i}" for i in range(10, 20)]


# -- spawn fallback -----------------------------------------------------------------------
@pytest.mark.process
@pytest.mark.slow
def test_spawn_start_method_runs_a_function() -> None:
    with Sandbox.ephemeral(clock=FakeClock(), start_method="spawn") as sb:
        sb.create_function("sp", COUNTER)
        r = sb.invoke("sp", {})
        assert r.status_code == 200 and r.function_error is None, r.payload
        assert r.payload["count"] == 1  # type: ignore[index]
        assert INIT_RE.search(r.logs[-1])
        (env,) = sb.environments()
        assert env["pid"] == r.payload["pid"]  # type: ignore[index]
