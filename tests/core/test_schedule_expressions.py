"""Schedule expressions: rate(...) and AWS's six-field cron(...), next firing times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.core.schedules import CronSchedule, RateSchedule, parse_schedule

START = datetime(2025, 1, 5, 8, 0, tzinfo=UTC).timestamp()  # a Sunday, 08:00 UTC


def firings(expression: str, count: int, after: float = START) -> list[str]:
    schedule = parse_schedule(expression)
    out = []
    moment = after
    for _ in range(count):
        found = schedule.next_after(moment, START)
        assert found is not None
        out.append(datetime.fromtimestamp(found, UTC).strftime("%a %Y-%m-%d %H:%M"))
        moment = found
    return out


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(12 hours)", 43200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
    ],
)
def test_rates(expression: str, seconds: int) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, RateSchedule) and schedule.seconds == seconds
    # counted from the anchor: first one period after it, then every period
    assert schedule.next_after(START, START) == START + seconds
    assert schedule.next_after(START + seconds, START) == START + 2 * seconds
    assert schedule.next_after(START + seconds - 0.5, START) == START + seconds
    assert schedule.next_after(START - 100, START) == START + seconds


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # EventBridge user guide examples
        ("cron(0 12 * * ? *)", ["Sun 2025-01-05 12:00", "Mon 2025-01-06 12:00"]),
        ("cron(15 10 ? * 6L 2025-2026)", ["Fri 2025-01-31 10:15", "Fri 2025-02-28 10:15"]),
        ("cron(0 18 ? * MON-FRI *)", ["Mon 2025-01-06 18:00", "Tue 2025-01-07 18:00"]),
        ("cron(0 8 1 * ? *)", ["Sat 2025-02-01 08:00", "Sat 2025-03-01 08:00"]),
        (
            "cron(0/15 * ? * MON-FRI *)",
            ["Mon 2025-01-06 00:00", "Mon 2025-01-06 00:15", "Mon 2025-01-06 00:30"],
        ),
        ("cron(0/10 * ? * MON-FRI *)", ["Mon 2025-01-06 00:00", "Mon 2025-01-06 00:10"]),
        ("cron(0/5 8-17 ? * MON-FRI *)", ["Mon 2025-01-06 08:00", "Mon 2025-01-06 08:05"]),
        ("cron(0 9 ? * 2#1 *)", ["Mon 2025-01-06 09:00", "Mon 2025-02-03 09:00"]),
        # L, W, LW, names, lists
        ("cron(0 8 L * ? *)", ["Fri 2025-01-31 08:00", "Fri 2025-02-28 08:00"]),
        ("cron(0 8 1W * ? *)", ["Mon 2025-02-03 08:00", "Mon 2025-03-03 08:00"]),
        ("cron(0 8 15W * ? *)", ["Wed 2025-01-15 08:00", "Fri 2025-02-14 08:00"]),
        ("cron(0 0 LW * ? *)", ["Fri 2025-01-31 00:00", "Fri 2025-02-28 00:00"]),
        ("cron(0 0 ? * L *)", ["Sat 2025-01-11 00:00", "Sat 2025-01-18 00:00"]),
        ("cron(30 6 1,15 JAN-MAR ? *)", ["Wed 2025-01-15 06:30", "Sat 2025-02-01 06:30"]),
        ("cron(0 7 ? * SUN,SAT *)", ["Sat 2025-01-11 07:00", "Sun 2025-01-12 07:00"]),
        ("cron(0 0 29 2 ? *)", ["Tue 2028-02-29 00:00", "Sun 2032-02-29 00:00"]),
    ],
)
def test_cron(expression: str, expected: list[str]) -> None:
    assert isinstance(parse_schedule(expression), CronSchedule)
    assert firings(expression, len(expected)) == expected


def test_cron_fires_after_the_moment_not_at_it() -> None:
    noon = datetime(2025, 1, 5, 12, 0, tzinfo=UTC).timestamp()
    assert firings("cron(0 12 * * ? *)", 1, after=noon) == ["Mon 2025-01-06 12:00"]
    assert firings("cron(0 12 * * ? *)", 1, after=noon - 0.001) == ["Sun 2025-01-05 12:00"]


def test_cron_that_has_ended() -> None:
    assert parse_schedule("cron(0 12 * * ? 2020)").next_after(START, 0) is None


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(-1 minutes)",
        "rate(5 seconds)",
        "rate(5  minutes)",
        "rate(five minutes)",
        "cron(0 12 * * * *)",
        "cron(0 12 ? * ? *)",
        "cron(60 12 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 12 32 * ? *)",
        "cron(0 12 * 13 ? *)",
        "cron(0 12 ? * 8 *)",
        "cron(0 12 * * ? 1969)",
        "cron(0 12 * * ?)",
        "cron(0 12 * * ? * *)",
        "cron(0 12 * FOO ? *)",
        "cron(0 12 5-1 * ? *)",
        "cron(0 12 ? * 2#6 *)",
        "every 5 minutes",
        "",
    ],
)
def test_invalid_expressions(expression: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(expression)
