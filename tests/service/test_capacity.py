"""max_environments (sandbox.service.capacity): a sandbox holds at most that many execution
environments; the longest-idle make room, busy and provisioned ones are never touched, and
a request that finds every one busy is throttled like an account out of concurrency."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.errors import InvalidParameterValueException, TooManyRequestsException
from tests.conftest import HANDLER_SOURCE

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]

ACCOUNT = "ConcurrentInvocationLimitExceeded"


def hold(event, context):  # type: ignore[no-untyped-def]
    """Stay busy until the test closes the connection."""
    import socket

    with socket.create_connection(("127.0.0.1", event["port"]), timeout=20) as conn:
        conn.recv(1)
    return "released"


def _live(sb: Sandbox) -> list[dict[str, object]]:
    return [e for e in sb.environments() if e["state"] not in ("shutting-down", "stopped")]


def test_the_longest_idle_environment_is_reclaimed(clock: FakeClock) -> None:
    with Sandbox.ephemeral(clock=clock, max_environments=2) as sb:
        for name in ("a", "b", "c"):
            sb.create_function(name, HANDLER_SOURCE)
        sb.invoke("a")
        clock.advance(5)
        sb.invoke("b")
        clock.advance(5)
        sb.invoke("a")  # warm: a is now the most recently used
        clock.advance(1)
        third = sb.invoke("c")
        assert sorted(e["function_name"] for e in _live(sb)) == ["a", "c"]
        (gone,) = [
            r
            for r in sb.telemetry.records(kind="env.state", request_id=third.request_id)
            if r.detail["state"] == "reclaimed"
        ]
        assert gone.function_name == "b"
        assert gone.detail["reason"] == "max-environments"
        assert gone.detail["max_environments"] == 2
        assert gone.detail["idle_s"] == 6.0
        assert gone.detail["for_function"] == "c"
        stopped = sb.telemetry.records(kind="env.state", env_id=gone.env_id)
        assert [r.detail["reason"] for r in stopped][-2:] == ["reclaimed", "reclaimed"]
        assert stopped[-1].detail["state"] == "stopped"
        why = sb.explain(third.request_id)
        assert why.cause == "first-request"
        assert f"reclaimed the longest-idle environment(s): {gone.env_id} of b (idle 6.0 s)" in (
            why.sentence
        )
        # b's next request is a cold start, and says why
        again = sb.invoke("b")
        why = sb.explain(again.request_id)
        assert (why.outcome, why.cause) == ("cold-start", "reclaimed")
        assert "reclaimed to make room" in why.sentence
        assert len(_live(sb)) == 2
        assert sb._shared.engine().envs.capacity.held() == 2  # type: ignore[union-attr]


@contextmanager
def _listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(20)
    try:
        yield server
    finally:
        server.close()


def test_all_busy_throttles_and_busy_environments_finish() -> None:
    with Sandbox.ephemeral(max_environments=2) as sb, _listener() as server:
        sb.create_function("hold", hold, timeout=30)
        sb.create_function("other", HANDLER_SOURCE)
        port = server.getsockname()[1]
        results: list[object] = []
        threads = [
            threading.Thread(target=lambda: results.append(sb.invoke("hold", {"port": port})))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        conns = [server.accept()[0] for _ in threads]  # both environments are busy now
        try:
            with pytest.raises(TooManyRequestsException, match=r"^Rate Exceeded\.") as caught:
                sb.invoke("other")
            assert caught.value.reason == ACCOUNT
            (record,) = sb.telemetry.records(kind="throttle", request_id=caught.value.request_id)
            assert record.detail["limit"] == "max-environments"
            assert record.detail["limit_value"] == 2
            why = sb.explain(str(caught.value.request_id))
            assert why.cause == "max-environments"
            assert "holds at most 2 execution environments (max_environments)" in why.sentence
            # nothing busy was reclaimed
            assert not [
                r
                for r in sb.telemetry.records(kind="env.state")
                if r.detail["state"] == "reclaimed"
            ]
        finally:
            for conn in conns:
                conn.close()
        for t in threads:
            t.join(20)
        assert [r.payload for r in results] == ["released", "released"]  # type: ignore[attr-defined]
        # the two are idle now: the next function reclaims one of them and runs
        assert sb.invoke("other", {"n": 1}).payload["event"] == {"n": 1}  # type: ignore[index]
        assert len(_live(sb)) == 2


def _wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_an_async_event_that_finds_no_room_is_retried(clock: FakeClock) -> None:
    with Sandbox.ephemeral(clock=clock, max_environments=1) as sb, _listener() as server:
        sb.create_function("hold", hold, timeout=30)
        sb.create_function("other", HANDLER_SOURCE)
        port = server.getsockname()[1]
        busy = threading.Thread(target=lambda: sb.invoke("hold", {"port": port}))
        busy.start()
        conn = server.accept()[0]
        try:
            queued = sb.invoke("other", {"n": 1}, invocation_type="Event")
            assert queued.status_code == 202

            def retries() -> list[dict[str, object]]:
                rows = sb.telemetry.rows(kind="async", request_id=queued.request_id)
                return [r for r in rows if r["status"] == "retry"]

            _wait_for(retries)
            assert retries()[0]["reason"] == f"throttled ({ACCOUNT})"
        finally:
            conn.close()
        busy.join(20)
        clock.advance(1)  # the throttle's backoff starts at 1 s
        assert sb.drain(20)
        (row,) = [r for r in sb.async_events() if r["request_id"] == queued.request_id]
        assert (row["outcome"], row["attempts"]) == ("Success", 1)  # hold's idle one made room


def test_provisioned_environments_are_never_reclaimed() -> None:
    with Sandbox.ephemeral(max_environments=1) as sb:
        sb.create_function("fn", HANDLER_SOURCE, publish=True)
        sb.invoke("fn")  # an idle on-demand environment of $LATEST
        sb.put_provisioned_concurrency_config("fn", "1", 1)
        ready = sb.wait_for_provisioned_concurrency("fn", "1", timeout=20)
        assert ready.status == "READY"  # the on-demand one made room
        assert [e["init_type"] for e in _live(sb)] == ["provisioned-concurrency"]
        with pytest.raises(TooManyRequestsException) as caught:
            sb.invoke("fn")  # $LATEST needs an on-demand environment: no room
        assert sb.explain(str(caught.value.request_id)).cause == "max-environments"
        served = sb.invoke("fn", qualifier="1")
        assert sb.explain(served.request_id).outcome == "provisioned"


def test_provisioned_allocation_without_room_fails() -> None:
    with Sandbox.ephemeral(max_environments=1) as sb:
        sb.create_function("fn", HANDLER_SOURCE, publish=True)
        sb.update_function_code("fn", HANDLER_SOURCE.replace("True", "1"))
        assert sb.publish_version("fn").version == "2"
        sb.put_provisioned_concurrency_config("fn", "1", 1)
        assert sb.wait_for_provisioned_concurrency("fn", "1", timeout=20).status == "READY"
        sb.put_provisioned_concurrency_config("fn", "2", 1)
        second = sb.wait_for_provisioned_concurrency("fn", "2", timeout=20)
        assert second.status == "FAILED"
        assert "maximum number of execution environments (max_environments)" in str(
            second.status_reason
        )


def test_settings_from_the_spawner_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_SANDBOX_MAX_ENVIRONMENTS", "3")
    monkeypatch.setenv("LAMBDA_SANDBOX_MAX_ADDRESS_SPACE_MB", "2048")
    monkeypatch.setenv("LAMBDA_SANDBOX_CONCURRENCY_LIMIT", "20")
    with Sandbox.ephemeral() as sb:
        assert (sb.host_limits.max_environments, sb.host_limits.max_address_space_mb) == (3, 2048)
        assert sb.get_account_settings().concurrent_executions == 20
    with Sandbox.ephemeral(max_environments=5, concurrency_limit=10) as sb:  # keywords win
        assert sb.host_limits.max_environments == 5
        assert sb.get_account_settings().concurrent_executions == 10
    monkeypatch.setenv("LAMBDA_SANDBOX_MAX_ENVIRONMENTS", "none")
    with pytest.raises(
        InvalidParameterValueException,
        match=r"^\$LAMBDA_SANDBOX_MAX_ENVIRONMENTS must be an integer, not 'none'$",
    ):
        Sandbox.ephemeral()
