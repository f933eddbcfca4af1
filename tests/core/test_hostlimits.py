"""Host limits (sandbox.core.hostlimits): where each setting comes from, and which idle
environments make room when a sandbox is full. Pure rules: no processes, no clock."""

from __future__ import annotations

import pytest

from sandbox.core.hostlimits import HostLimits, choose_reclaim, env_name, setting


def test_env_name_follows_the_keyword() -> None:
    assert env_name("max_environments") == "LAMBDA_SANDBOX_MAX_ENVIRONMENTS"
    assert env_name("concurrency_limit") == "LAMBDA_SANDBOX_CONCURRENCY_LIMIT"


def test_keyword_wins_over_the_environment_variable() -> None:
    environ = {"LAMBDA_SANDBOX_MAX_ENVIRONMENTS": "9"}
    assert setting("max_environments", 3, environ, default=None, minimum=1) == 3
    assert setting("max_environments", None, environ, default=None, minimum=1) == 9


def test_unset_or_empty_variable_gives_the_default() -> None:
    assert setting("concurrency_limit", None, {}, default=1000, minimum=1) == 1000
    blank = {"LAMBDA_SANDBOX_CONCURRENCY_LIMIT": "  "}
    assert setting("concurrency_limit", None, blank, default=1000, minimum=1) == 1000


def test_bad_values_name_their_source() -> None:
    bad = {"LAMBDA_SANDBOX_MAX_ENVIRONMENTS": "lots"}
    with pytest.raises(ValueError, match=r"^\$LAMBDA_SANDBOX_MAX_ENVIRONMENTS must be an integer"):
        setting("max_environments", None, bad, default=None, minimum=1)
    zero = {"LAMBDA_SANDBOX_MAX_ENVIRONMENTS": "0"}
    with pytest.raises(ValueError, match=r"MAX_ENVIRONMENTS must be at least 1, not 0$"):
        setting("max_environments", None, zero, default=None, minimum=1)
    with pytest.raises(ValueError, match=r"^max_environments must be at least 1, not -2$"):
        setting("max_environments", -2, {}, default=None, minimum=1)
    with pytest.raises(ValueError, match="must be an integer"):
        setting("max_environments", True, {}, default=None, minimum=1)


def test_resolve_reads_both_limits() -> None:
    environ = {
        "LAMBDA_SANDBOX_MAX_ENVIRONMENTS": "12",
        "LAMBDA_SANDBOX_MAX_ADDRESS_SPACE_MB": "2048",
    }
    assert HostLimits.resolve(environ) == HostLimits(12, 2048)
    assert HostLimits.resolve({}) == HostLimits(None, None)
    with pytest.raises(ValueError, match="at least 256"):
        HostLimits.resolve({}, max_address_space_mb=100)


def test_no_reclaim_while_there_is_room() -> None:
    assert choose_reclaim(2, 3, [(1.0, "a")]) == []


def test_longest_idle_go_first() -> None:
    idle = [(30.0, "recent"), (10.0, "oldest"), (20.0, "older")]
    assert choose_reclaim(3, 3, idle) == ["oldest"]
    assert choose_reclaim(4, 3, idle) == ["oldest", "older"]


def test_no_room_when_the_rest_are_busy() -> None:
    # three held, cap three, only one idle: reclaiming it makes room
    assert choose_reclaim(3, 3, [(5.0, "idle")]) == ["idle"]
    # two more than the cap would be needed, one idle: no room
    assert choose_reclaim(4, 3, [(5.0, "idle")]) is None
    assert choose_reclaim(3, 3, []) is None
