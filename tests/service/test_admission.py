"""Admission at invoke time (spec §3, §4): reserved concurrency, the account quota,
provisioned concurrency and its spillover, the scaling rate and the request rate — and what
the telemetry, ``explain`` and the metrics say about each throttle and cold start.

Handlers hold their concurrency by sleeping 0.2-0.3 s. Where requests must overlap in
platform time (ConcurrentExecutions) the sandbox runs on the real clock; the rate limits run
on a ``FakeClock`` so that refills happen exactly when the test advances it.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.core.invocation import InvokeResult
from sandbox.core.lifecycle import COLD_CAUSES
from sandbox.errors import LambdaError, TooManyRequestsException
from tests.conftest import eventually

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]

RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT = "ConcurrentInvocationLimitExceeded"
RATE = "FunctionInvocationRateLimitExceeded"
REASONS = {
    ACCOUNT,
    RESERVED,
    RATE,
    "ReservedFunctionInvocationRateLimitExceeded",
    "CallerRateLimitExceeded",
    "ConcurrentSnapshotCreateLimitExceeded",
}
INIT_RE = re.compile(r"\tInit Duration: \d+\.\d\d ms\t")

SLEEPER = """
import os, time
VERSION = "v1"
def lambda_handler(event, context):
    time.sleep((event or {}).get("sleep", 0))
    return {
        "init": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"],
        "version": context.function_version,
        "env": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
        "code": VERSION,
    }
"""
SLEEPER_V2 = SLEEPER.replace('VERSION = "v1"', 'VERSION = "v2"')


# -- helpers ------------------------------------------------------------------------------
def _split(
    results: list[InvokeResult | LambdaError],
) -> tuple[list[InvokeResult], list[TooManyRequestsException]]:
    """The results that ran, and the throttles (nothing else is expected)."""
    ok = [r for r in results if isinstance(r, InvokeResult)]
    throttled = [r for r in results if isinstance(r, TooManyRequestsException)]
    assert len(ok) + len(throttled) == len(results), results
    return ok, throttled


def _assert_throttle(e: object, reason: str) -> None:
    assert isinstance(e, TooManyRequestsException), e
    assert e.code == "TooManyRequestsException"
    assert e.status_code == 429
    assert e.message == "Rate Exceeded."
    assert e.reason == reason
    assert e.to_aws()["Reason"] == reason


def _throttles(sb: Sandbox, function_name: str | None = None) -> list[dict[str, object]]:
    rows = sb.telemetry.rows(kind="throttle")
    return [r for r in rows if function_name is None or r["function_name"] == function_name]


def _metrics(sb: Sandbox, function_name: str, **kwargs: object) -> dict[str, object]:
    (row,) = sb.metrics(function_name, **kwargs)  # type: ignore[arg-type]
    return row  # type: ignore[no-any-return]


def _peak(sb: Sandbox, function_name: str) -> int:
    return max((level for _, level in sb.concurrency(function_name)), default=0)


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _provisioned_envs(sb: Sandbox) -> list[dict[str, object]]:
    return [e for e in sb.environments() if e["init_type"] == "provisioned-concurrency"]


def _published(sb: Sandbox, name: str = "fn", **kwargs: object) -> None:
    """``name`` with version 1 published and alias ``live`` on it."""
    sb.create_function(name, SLEEPER, publish=True, **kwargs)  # type: ignore[arg-type]
    sb.create_alias(name, "live", "1")


# -- reserved concurrency -----------------------------------------------------------------
def test_reserved_concurrency_caps_a_burst() -> None:
    with Sandbox.ephemeral() as sb:
        sb.create_function("fn", SLEEPER)
        sb.put_function_concurrency("fn", 3)
        results = sb.invoke_many("fn", [{"sleep": 0.3}] * 6, concurrency=6)
        ok, throttled = _split(results)
        assert len(ok) == 3 and len(throttled) == 3
        for e in throttled:
            _assert_throttle(e, RESERVED)
        assert len({r.payload["env"] for r in ok}) == 3  # type: ignore[index]
        rows = _throttles(sb, "fn")
        assert len(rows) == 3
        assert {(r["reason"], r["limit"], r["limit_value"]) for r in rows} == {
            (RESERVED, "reserved", 3)
        }
        for row in rows:
            why = sb.explain(str(row["request_id"]))
            assert (why.outcome, why.cause) == ("throttled", "reserved")
            assert RESERVED in why.sentence
            assert "reserved concurrency (3)" in why.sentence
            assert why.details["limit_value"] == 3
        m = _metrics(sb, "fn")
        assert (m["Invocations"], m["Errors"], m["Throttles"]) == (3, 0, 3)
        assert m["ConcurrentExecutions"] == 3 == _peak(sb, "fn")
        assert m["ColdStarts"] == 3


def test_reserved_concurrency_caps_concurrent_invoke_calls() -> None:
    with Sandbox.ephemeral() as sb:
        sb.create_function("fn", SLEEPER)
        sb.put_function_concurrency("fn", 2)
        results: list[object] = []

        def call() -> None:
            results.append(sb.invoke("fn", {"sleep": 0.3}))

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        # both requests hold their lease once their environments exist
        assert eventually(lambda: len(sb.environments()) == 2)
        with pytest.raises(TooManyRequestsException, match=re.escape("Rate Exceeded.")) as e:
            sb.invoke("fn", {})
        _assert_throttle(e.value, RESERVED)
        for t in threads:
            t.join(10)
        assert [r.status_code for r in results] == [200, 200]  # type: ignore[attr-defined]
        assert sb.invoke("fn", {}).status_code == 200  # the leases were given back
        assert _peak(sb, "fn") <= 2
        m = _metrics(sb, "fn")
        assert (m["Invocations"], m["Throttles"]) == (3, 1)


def test_reserved_zero_throttles_every_request(sb: Sandbox) -> None:
    _published(sb)
    sb.put_function_concurrency("fn", 0)
    for name in ("fn", "fn:1", "fn:live", "fn:$LATEST"):  # function level: every qualifier
        with pytest.raises(TooManyRequestsException) as e:
            sb.invoke(name, {})
        _assert_throttle(e.value, RESERVED)
    burst = sb.invoke_many("fn", [{}] * 3, concurrency=3)
    for item in burst:
        _assert_throttle(item, RESERVED)
    assert sb.environments() == []
    rows = _throttles(sb, "fn")
    assert len(rows) == 7
    assert {(r["limit"], r["limit_value"]) for r in rows} == {("reserved", 0)}
    why = sb.explain(str(rows[0]["request_id"]))
    assert (why.outcome, why.cause) == ("throttled", "reserved")
    assert "reserved concurrency is 0" in why.sentence
    m = _metrics(sb, "fn")
    assert (m["Invocations"], m["Throttles"], m["ConcurrentExecutions"]) == (0, 7, 0)
    # asynchronous invocation is still accepted (spec §4)
    assert sb.invoke("fn", {}, invocation_type="Event").status_code == 202
    sb.delete_function_concurrency("fn")
    assert sb.invoke("fn", {}).status_code == 200


# -- the account quota --------------------------------------------------------------------
def test_account_quota_caps_an_unreserved_burst() -> None:
    with Sandbox.ephemeral(concurrency_limit=10) as sb:
        sb.create_function("fn", SLEEPER)
        results = sb.invoke_many("fn", [{"sleep": 0.3}] * 15, concurrency=15)
        ok, throttled = _split(results)
        assert len(ok) == 10 and len(throttled) == 5
        for e in throttled:
            _assert_throttle(e, ACCOUNT)
        rows = _throttles(sb, "fn")
        assert {(r["reason"], r["limit"], r["limit_value"]) for r in rows} == {
            (ACCOUNT, "account", 10)
        }
        why = sb.explain(str(rows[0]["request_id"]))
        assert (why.outcome, why.cause) == ("throttled", "account")
        assert "quota 10" in why.sentence and ACCOUNT in why.sentence
        m = _metrics(sb, "fn")
        assert (m["Invocations"], m["Throttles"], m["ColdStarts"]) == (10, 5, 10)
        assert m["ConcurrentExecutions"] == 10 == _peak(sb, "fn")
        assert m["UnreservedConcurrentExecutions"] == 10


def test_another_reservation_shrinks_the_unreserved_pool() -> None:
    with Sandbox.ephemeral(concurrency_limit=10) as sb:
        sb.create_function("fn", SLEEPER)
        sb.create_function("other", SLEEPER)
        sb.put_function_concurrency("other", 4)
        results = sb.invoke_many("fn", [{"sleep": 0.3}] * 8, concurrency=8)
        ok, throttled = _split(results)
        assert len(ok) == 6 and len(throttled) == 2
        for e in throttled:
            _assert_throttle(e, ACCOUNT)
        assert _peak(sb, "fn") == 6
        # the reserved function keeps its 4, whatever the others do
        ok, throttled = _split(sb.invoke_many("other", [{"sleep": 0.2}] * 5, concurrency=5))
        assert len(ok) == 4
        _assert_throttle(throttled[0], RESERVED)


# -- provisioned concurrency ------------------------------------------------------------
def test_provisioned_environments_serve_without_cold_start() -> None:
    with Sandbox.ephemeral() as sb:
        _published(sb)
        put = sb.put_provisioned_concurrency_config("fn", "live", 2)
        assert put.status == "IN_PROGRESS"
        assert put.allocated_provisioned_concurrent_executions < 2
        ready = sb.wait_for_provisioned_concurrency("fn", "live")
        assert ready.status == "READY"
        assert ready.available_provisioned_concurrent_executions == 2
        envs = _provisioned_envs(sb)
        assert len(envs) == 2
        assert all((e["version"], e["state"]) == ("1", "idle") for e in envs)
        served = sb.invoke("fn:live", {})
        assert served.payload["init"] == "provisioned-concurrency"  # type: ignore[index]
        assert served.executed_version == "1"
        assert served.logs[-1].startswith("REPORT") and not INIT_RE.search(served.logs[-1])
        why = sb.explain(served.request_id)
        assert (why.outcome, why.cause) == ("provisioned", "provisioned")
        (record,) = sb.telemetry.records(kind="invocation", request_id=served.request_id)
        assert record.init_type == "provisioned-concurrency" and record.detail["cold"] is False
        # $LATEST has no provisioned concurrency: an on-demand cold start
        latest = sb.invoke("fn", {})
        assert latest.payload["init"] == "on-demand"  # type: ignore[index]
        assert INIT_RE.search(latest.logs[-1])
        assert sb.explain(latest.request_id).outcome == "cold-start"
        rows = {r["qualifier"]: r for r in sb.metrics("fn", by="qualifier")}  # type: ignore[union-attr]
        assert rows["live"]["ProvisionedConcurrencyInvocations"] == 1
        assert rows["live"]["ColdStarts"] == 0
        assert rows["$LATEST"]["ProvisionedConcurrencyInvocations"] == 0


def test_spillover_to_on_demand_when_provisioned_are_busy() -> None:
    with Sandbox.ephemeral() as sb:
        _published(sb)
        sb.put_provisioned_concurrency_config("fn", "live", 1)
        assert sb.wait_for_provisioned_concurrency("fn", "live").status == "READY"
        results = sb.invoke_many("fn:live", [{"sleep": 0.3}] * 3, concurrency=3)
        ok, throttled = _split(results)
        assert len(ok) == 3 and not throttled
        inits = sorted(r.payload["init"] for r in ok)  # type: ignore[index]
        assert inits == ["on-demand", "on-demand", "provisioned-concurrency"]
        causes = sorted(sb.explain(r.request_id).cause for r in ok)
        assert causes == ["provisioned", "provisioned-spillover", "provisioned-spillover"]
        for r in ok:
            why = sb.explain(r.request_id)
            if why.cause == "provisioned-spillover":
                assert why.outcome == "cold-start"
                assert COLD_CAUSES["provisioned-spillover"] in why.sentence
                assert INIT_RE.search(r.logs[-1])
        rows = {r["qualifier"]: r for r in sb.metrics("fn", by="qualifier")}  # type: ignore[union-attr]
        live = rows["live"]
        assert live["Invocations"] == 3
        assert live["ProvisionedConcurrencyInvocations"] == 1
        assert live["ProvisionedConcurrencySpilloverInvocations"] == 2
        assert live["ColdStarts"] == 2
        assert live["ConcurrentExecutions"] == 3
        assert live["ProvisionedConcurrencyUtilization"] == 1.0


def test_provisioned_equal_to_reserved_throttles_unprovisioned_qualifiers() -> None:
    with Sandbox.ephemeral() as sb:
        _published(sb)
        sb.put_function_concurrency("fn", 2)
        sb.put_provisioned_concurrency_config("fn", "live", 2)
        assert sb.wait_for_provisioned_concurrency("fn", "live").status == "READY"
        for name in ("fn", "fn:$LATEST", "fn:1"):  # spec §4 (observed)
            with pytest.raises(TooManyRequestsException) as e:
                sb.invoke(name, {})
            _assert_throttle(e.value, RESERVED)
        # the alias runs on its provisioned environments, and cannot spill over
        results = sb.invoke_many("fn:live", [{"sleep": 0.3}] * 3, concurrency=3)
        ok, throttled = _split(results)
        assert [r.payload["init"] for r in ok] == ["provisioned-concurrency"] * 2  # type: ignore[index]
        assert len(throttled) == 1
        _assert_throttle(throttled[0], RESERVED)
        assert _throttles(sb, "fn")[-1]["qualifier"] == "live"
        assert _peak(sb, "fn") == 2


def test_provisioned_is_carved_out_of_reserved() -> None:
    with Sandbox.ephemeral() as sb:
        _published(sb)
        sb.put_function_concurrency("fn", 3)
        sb.put_provisioned_concurrency_config("fn", "live", 1)
        sb.wait_for_provisioned_concurrency("fn", "live")
        # 1 provisioned + 2 on demand: the alias spills over twice, then is throttled
        ok, throttled = _split(sb.invoke_many("fn:live", [{"sleep": 0.3}] * 4, concurrency=4))
        assert sorted(r.payload["init"] for r in ok) == [  # type: ignore[index]
            "on-demand",
            "on-demand",
            "provisioned-concurrency",
        ]
        _assert_throttle(throttled[0], RESERVED)
        # $LATEST only has the 2 on-demand
        ok, throttled = _split(sb.invoke_many("fn", [{"sleep": 0.3}] * 3, concurrency=3))
        assert len(ok) == 2
        _assert_throttle(throttled[0], RESERVED)
        row = _throttles(sb, "fn")[-1]
        assert (row["limit"], row["limit_value"]) == ("reserved", 3)
        assert _peak(sb, "fn") <= 3


def test_moving_the_alias_recreates_provisioned_environments() -> None:
    with Sandbox.ephemeral() as sb:
        _published(sb)
        sb.update_function_code("fn", SLEEPER_V2)
        sb.publish_version("fn")
        sb.put_provisioned_concurrency_config("fn", "live", 2)
        sb.wait_for_provisioned_concurrency("fn", "live")
        old = {str(e["env_id"]): int(e["pid"]) for e in _provisioned_envs(sb)}  # type: ignore[call-overload]
        assert len(old) == 2
        sb.update_alias("fn", "live", function_version="2")
        config = sb.wait_for_provisioned_concurrency("fn", "live")
        assert config.status == "READY" and config.allocated_provisioned_concurrent_executions == 2
        new = _provisioned_envs(sb)
        assert len(new) == 2
        assert all(e["version"] == "2" for e in new)
        assert not old.keys() & {e["env_id"] for e in new}
        served = sb.invoke("fn:live", {})
        assert served.executed_version == "2"
        assert served.payload["code"] == "v2"  # type: ignore[index]
        assert served.payload["init"] == "provisioned-concurrency"  # type: ignore[index]
        assert sb.explain(served.request_id).outcome == "provisioned"
        assert eventually(lambda: all(_gone(pid) for pid in old.values()))
        for env_id in old:
            states = [
                (r["state"], r["reason"])
                for r in sb.telemetry.rows(kind="env.state")
                if r["env_id"] == env_id
            ]
            assert ("stopped", "provisioned-concurrency-changed") in states
            shutdowns = [
                r["reason"]
                for r in sb.telemetry.rows(kind="phase", env_id=env_id)
                if r["phase"] == "shutdown"
            ]
            assert shutdowns == ["provisioned-concurrency-changed"]


def test_deleting_the_config_shuts_its_environments_down() -> None:
    with Sandbox.ephemeral() as sb:
        _published(sb)
        sb.put_provisioned_concurrency_config("fn", "live", 2)
        sb.wait_for_provisioned_concurrency("fn", "live")
        pids = [int(e["pid"]) for e in _provisioned_envs(sb)]  # type: ignore[call-overload]
        sb.delete_provisioned_concurrency_config("fn", "live")
        assert _provisioned_envs(sb) == []
        assert eventually(lambda: all(_gone(pid) for pid in pids))
        reasons = {
            r["reason"] for r in sb.telemetry.rows(kind="env.state") if r.get("state") == "stopped"
        }
        assert reasons == {"provisioned-concurrency-removed"}
        after = sb.invoke("fn:live", {})
        assert after.payload["init"] == "on-demand"  # type: ignore[index]
        assert sb.explain(after.request_id).outcome == "cold-start"


def test_deleting_the_function_removes_everything() -> None:
    with Sandbox.ephemeral() as sb:
        _published(sb)
        sb.put_function_concurrency("fn", 5)
        sb.put_provisioned_concurrency_config("fn", "live", 2)
        sb.wait_for_provisioned_concurrency("fn", "live")
        sb.invoke("fn", {})
        pids = [int(e["pid"]) for e in sb.environments()]  # type: ignore[call-overload]
        assert len(pids) == 3
        sb.delete_function("fn")
        assert sb.environments() == []
        assert eventually(lambda: all(_gone(pid) for pid in pids))
        settings = sb.get_account_settings().to_aws()
        assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000  # type: ignore[index]
        assert settings["AccountUsage"]["FunctionCount"] == 0  # type: ignore[index]
        _published(sb)  # the same name again starts from nothing
        assert sb.get_function_concurrency("fn").to_aws() == {}
        assert sb.list_provisioned_concurrency_configs("fn").provisioned_concurrency_configs == ()
        again = sb.invoke("fn:live", {})
        assert again.payload["init"] == "on-demand"  # type: ignore[index]
        assert _provisioned_envs(sb) == []


# -- the scaling rate and the request rate (fake clock) -------------------------------------
def test_scaling_rate_limits_new_environments() -> None:
    clock = FakeClock()
    with Sandbox.ephemeral(clock=clock, scaling_rate=3, scaling_period=10) as sb:
        sb.create_function("fn", SLEEPER)
        ok, throttled = _split(sb.invoke_many("fn", [{"sleep": 0.2}] * 5, concurrency=5))
        assert len(ok) == 3 and len(throttled) == 2
        assert all(isinstance(e, TooManyRequestsException) for e in throttled)
        assert all(e.reason in REASONS and e.status_code == 429 for e in throttled)
        rows = _throttles(sb, "fn")
        assert {(r["limit"], r["limit_value"]) for r in rows} == {("scaling-rate", 3)}
        why = sb.explain(str(rows[0]["request_id"]))
        assert (why.outcome, why.cause) == ("throttled", "scaling-rate")
        assert "at most 3 new environments" in why.sentence
        # the three environments are warm; no new one can start yet
        ok, throttled = _split(sb.invoke_many("fn", [{"sleep": 0.2}] * 4, concurrency=4))
        assert len(ok) == 3 and len(throttled) == 1
        assert len(sb.environments()) == 3
        clock.advance(4)  # continuous refill at 0.3 per second: one more environment
        ok, throttled = _split(sb.invoke_many("fn", [{"sleep": 0.2}] * 5, concurrency=5))
        assert len(ok) == 4 and len(throttled) == 1
        assert sum(bool(INIT_RE.search(r.logs[-1])) for r in ok) == 1
        assert len(sb.environments()) == 4
        clock.advance(100)  # refilled, never above the rate
        ok, throttled = _split(sb.invoke_many("fn", [{"sleep": 0.2}] * 8, concurrency=8))
        assert len(ok) == 7 and len(throttled) == 1
        m = _metrics(sb, "fn")
        assert (m["ColdStarts"], m["Throttles"]) == (7, 5)


def test_request_rate_limit() -> None:
    clock = FakeClock()
    with Sandbox.ephemeral(clock=clock, concurrency_limit=10, request_rate_factor=1) as sb:
        sb.create_function("fn", SLEEPER)
        for _ in range(10):
            assert sb.invoke("fn", {}).status_code == 200
        with pytest.raises(TooManyRequestsException) as e:
            sb.invoke("fn", {})
        _assert_throttle(e.value, RATE)
        assert e.value.retry_after_seconds is not None and e.value.retry_after_seconds >= 1
        with pytest.raises(TooManyRequestsException):
            sb.invoke("fn", {})  # still nothing until the clock moves
        (row, _) = _throttles(sb, "fn")
        assert (row["reason"], row["limit"], row["limit_value"]) == (RATE, "request-rate", 10)
        why = sb.explain(str(row["request_id"]))
        assert (why.outcome, why.cause) == ("throttled", "request-rate")
        assert "more than 10 requests" in why.sentence
        clock.advance(0.15)  # 10 per second: one more request
        assert sb.invoke("fn", {}).status_code == 200
        with pytest.raises(TooManyRequestsException):
            sb.invoke("fn", {})
        clock.advance(1)
        for _ in range(10):
            assert sb.invoke("fn", {}).status_code == 200
        with pytest.raises(TooManyRequestsException):
            sb.invoke("fn", {})
        m = _metrics(sb, "fn")
        assert (m["Invocations"], m["Throttles"]) == (21, 4)


# -- explanations of cold starts ------------------------------------------------------------
def test_explain_names_each_cold_start_cause() -> None:
    clock = FakeClock()
    with Sandbox.ephemeral(clock=clock, keep_alive=60) as sb:
        sb.create_function("fn", SLEEPER, timeout=1)

        def cause(result: object) -> str:
            assert isinstance(result, InvokeResult), result
            why = sb.explain(result.request_id)
            if why.outcome == "cold-start":
                assert COLD_CAUSES[why.cause] in why.sentence
            return why.cause

        assert cause(sb.invoke("fn", {})) == "first-request"
        assert cause(sb.invoke("fn", {})) == "warm"
        assert sb.explain(sb.invoke("fn", {}).request_id).outcome == "warm-start"
        burst = sb.invoke_many("fn", [{"sleep": 0.2}] * 2, concurrency=2)
        assert sorted(cause(r) for r in burst) == ["all-busy", "warm"]
        clock.advance(61)  # past the keep-alive: every environment spins down
        assert eventually(lambda: sb.environments() == [])
        assert cause(sb.invoke("fn", {})) == "keep-alive-expired"
        sb.update_function_code("fn", SLEEPER_V2)
        assert cause(sb.invoke("fn", {})) == "new-code-or-configuration"
        timed_out = sb.invoke("fn", {"sleep": 2})
        assert timed_out.payload["errorType"] == "Sandbox.Timedout"  # type: ignore[index]
        assert cause(sb.invoke("fn", {})) == "reset"
        m = _metrics(sb, "fn")
        assert m["Errors"] == 1
        assert m["ColdStarts"] == 5
        assert m["Throttles"] == 0


# -- exact refill boundaries ----------------------------------------------------------------
def test_scaling_rate_refills_one_environment_per_interval() -> None:
    clock = FakeClock()
    with Sandbox.ephemeral(clock=clock, scaling_rate=3, scaling_period=10) as sb:
        sb.create_function("fn", SLEEPER)
        ok, throttled = _split(sb.invoke_many("fn", [{"sleep": 0.2}] * 4, concurrency=4))
        assert (len(ok), len(throttled)) == (3, 1)
        clock.advance(10 / 3)  # one environment's worth of refill
        ok, throttled = _split(sb.invoke_many("fn", [{"sleep": 0.2}] * 5, concurrency=5))
        assert (len(ok), len(throttled)) == (4, 1)


def test_request_rate_refills_one_request_per_tenth_of_a_second() -> None:
    clock = FakeClock()
    with Sandbox.ephemeral(clock=clock, concurrency_limit=10, request_rate_factor=1) as sb:
        sb.create_function("fn", SLEEPER)
        for _ in range(10):
            sb.invoke("fn", {})
        with pytest.raises(TooManyRequestsException):
            sb.invoke("fn", {})
        clock.advance(0.1)
        assert sb.invoke("fn", {}).status_code == 200


@pytest.mark.process
def test_a_throttle_carries_its_request_id_for_explain(sb: Sandbox) -> None:
    sb.create_function("zero", "def lambda_handler(e, c):\n    return 1\n")
    sb.put_function_concurrency("zero", 0)
    with pytest.raises(sb.exceptions.TooManyRequestsException) as caught:
        sb.invoke("zero")
    assert caught.value.request_id
    explanation = sb.explain(caught.value.request_id)
    assert (explanation.outcome, explanation.cause) == ("throttled", "reserved")
