"""Scheduled EventBridge rules fire on the sandbox clock: a FakeClock fires them when a test
advances it (nobody sleeps through a schedule), disabling or deleting stops them, a restart
re-arms them, two sandboxes on one home deliver each firing once, and the function gets the
"Scheduled Event" envelope of spec §9 (or the target's Input)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox

ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn"
RULE = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/tick"
ECHO = "def lambda_handler(event, context):\n    return event\n"

pytestmark = pytest.mark.timeout(60)


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait (bounded, in real time) for the scheduler thread to catch up."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        pause.wait(0.01)


def settle() -> None:
    """Give the scheduler thread a moment, to show that nothing more happens."""
    threading.Event().wait(0.3)


def fired(sb: Sandbox) -> list[dict[str, object]]:
    return [r for r in sb.telemetry.rows(kind="trigger") if r["trigger"] == "schedule"]


def scheduled(sb: Sandbox, expression: str = "rate(5 minutes)", name: str = "tick") -> None:
    sb.eventbridge.put_rule(name, schedule_expression=expression)
    sb.eventbridge.put_targets(name, [{"Id": "fn", "Arn": FN}])


def test_rate_fires_every_period_from_creation(sb: Sandbox, clock: FakeClock) -> None:
    t0 = clock.time()
    scheduled(sb)
    clock.advance(299)
    settle()
    assert fired(sb) == []
    clock.advance(1)
    wait_for(lambda: len(fired(sb)) == 1)
    (record,) = fired(sb)
    assert record["time"] == pytest.approx(t0 + 300)
    assert record["source_arn"] == RULE
    assert record["principal"] == "events.amazonaws.com"
    assert record["status"] == "failed"  # no such function yet
    clock.advance(300)
    wait_for(lambda: len(fired(sb)) == 2)


def test_without_permission_each_firing_is_denied(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("fn", ECHO)
    scheduled(sb, "rate(1 minute)")
    clock.advance(60)
    wait_for(lambda: len(fired(sb)) == 1)
    (record,) = fired(sb)
    assert record["status"] == "denied"
    assert "events.amazonaws.com" in str(record["reason"])


def test_a_jump_of_the_clock_fires_every_missed_period(sb: Sandbox, clock: FakeClock) -> None:
    t0 = clock.time()
    scheduled(sb)
    clock.advance(900)
    wait_for(lambda: len(fired(sb)) == 3)
    settle()
    assert [r["time"] for r in fired(sb)] == [pytest.approx(t0 + 300 * k) for k in (1, 2, 3)]


def test_disable_enable_delete_and_reschedule(sb: Sandbox, clock: FakeClock) -> None:
    events = sb.eventbridge
    scheduled(sb)
    events.disable_rule("tick")
    clock.advance(600)
    settle()
    assert fired(sb) == []
    t1 = clock.time()
    events.enable_rule("tick")  # counts from now
    clock.advance(299)
    settle()
    assert fired(sb) == []
    clock.advance(1)
    wait_for(lambda: len(fired(sb)) == 1)
    assert fired(sb)[0]["time"] == pytest.approx(t1 + 300)
    events.put_rule("tick", schedule_expression="rate(1 hour)")  # a new schedule re-arms
    t2 = clock.time()
    clock.advance(300)
    settle()
    assert len(fired(sb)) == 1
    clock.advance(3300)
    wait_for(lambda: len(fired(sb)) == 2)
    assert fired(sb)[1]["time"] == pytest.approx(t2 + 3600)
    events.remove_targets("tick", ["fn"])
    events.delete_rule("tick")
    clock.advance(7200)
    settle()
    assert len(fired(sb)) == 2


def test_updating_other_settings_keeps_the_rhythm(sb: Sandbox, clock: FakeClock) -> None:
    t0 = clock.time()
    scheduled(sb)
    clock.advance(200)
    sb.eventbridge.put_rule("tick", schedule_expression="rate(5 minutes)", description="same")
    clock.advance(100)
    wait_for(lambda: len(fired(sb)) == 1)
    assert fired(sb)[0]["time"] == pytest.approx(t0 + 300)


def test_cron_fires_at_its_utc_times(sb: Sandbox, clock: FakeClock) -> None:
    # the FakeClock starts at 2025-01-05T08:00:00Z
    scheduled(sb, "cron(0 12 * * ? *)")
    clock.advance(4 * 3600 - 1)
    settle()
    assert fired(sb) == []
    clock.advance(1)
    wait_for(lambda: len(fired(sb)) == 1)
    assert fired(sb)[0]["time"] == pytest.approx(1_736_078_400.0)  # 2025-01-05T12:00:00Z


def test_schedules_resume_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    t0 = clock.time()
    with Sandbox(tmp_path / "home", clock=clock) as sb:
        scheduled(sb)
        clock.advance(300)
        wait_for(lambda: len(fired(sb)) == 1)
    clock.advance(1000)  # closed: these firings are not made up
    with Sandbox(tmp_path / "home", clock=clock) as again:
        settle()
        assert fired(again) == []
        clock.advance(200)  # t0 + 1500: the next firing of the rule's rhythm
        wait_for(lambda: len(fired(again)) == 1)
        assert fired(again)[0]["time"] == pytest.approx(t0 + 1500)


def test_two_sandboxes_on_one_home_deliver_each_firing_once(tmp_path: Path) -> None:
    clock = FakeClock()
    with Sandbox(tmp_path / "home", clock=clock) as first:
        scheduled(first)
        with Sandbox(tmp_path / "home", clock=clock) as second:
            for _ in range(3):
                clock.advance(300)
                settle()
            wait_for(lambda: len(fired(first)) + len(fired(second)) == 3)
            settle()
            times = sorted(float(str(r["time"])) for r in fired(first) + fired(second))
            assert len(set(times)) == 3


@pytest.mark.process
@pytest.mark.timeout(90)
def test_targets_get_the_scheduled_event_or_their_input(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("fn", ECHO)
    url = sb.sqs.create_queue("seen")["QueueUrl"]
    sb.put_function_event_invoke_config(
        "fn",
        destination_config={"OnSuccess": {"Destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:seen"}},
    )
    sb.add_permission(
        "fn", "schedule", "lambda:InvokeFunction", "events.amazonaws.com", source_arn=RULE
    )
    sb.eventbridge.put_rule("tick", schedule_expression="cron(0 12 * * ? *)")
    sb.eventbridge.put_targets(
        "tick",
        [{"Id": "plain", "Arn": FN}, {"Id": "input", "Arn": FN, "Input": '{"job": "report"}'}],
    )
    clock.advance(4 * 3600)
    wait_for(lambda: len(fired(sb)) == 2)
    records = {str(r["target_id"]): r for r in fired(sb)}
    assert {r["status"] for r in records.values()} == {"invoked"}
    assert sb.drain(60)
    got = sb.sqs.receive_message(url, max_number_of_messages=10)["Messages"]
    payloads = {
        json.loads(m["Body"])["requestContext"]["requestId"]: json.loads(m["Body"])[
            "requestPayload"
        ]
        for m in got
    }
    envelope = payloads[str(records["plain"]["request_id"])]
    assert set(envelope) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert envelope["version"] == "0"
    assert envelope["detail-type"] == "Scheduled Event"
    assert envelope["source"] == "aws.events"
    assert envelope["account"] == ACCOUNT
    assert envelope["region"] == "us-east-1"
    assert envelope["time"] == "2025-01-05T12:00:00Z"
    assert envelope["resources"] == [RULE]
    assert envelope["detail"] == {}
    assert payloads[str(records["input"]["request_id"])] == {"job": "report"}
