"""What a student sees of the async queue: ``sb.explain``, ``sb.metrics``, the timeline's
async lane, the ``%lambda async`` and ``%lambda destinations`` magics, and one platform
timeline per store across sessions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.core.clock import RealClock, ScaledClock, iso8601
from sandbox.store.db import Database
from sandbox.store.timeline import continue_timeline
from tests.conftest import ipython_shell
from tests.service.test_async import FAILING, OK, wait_for, waiting

pytestmark = pytest.mark.timeout(90)
QUEUE = "arn:aws:sqs:us-east-1:123456789012:"


@pytest.mark.process
def test_explain_tells_the_events_story(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("orders", FAILING)
    sb.sqs.create_queue("failed")
    sb.put_function_event_invoke_config(
        "orders",
        maximum_retry_attempts=1,
        destination_config={"OnFailure": {"Destination": QUEUE + "failed"}},
    )
    rid = sb.invoke("orders", {"n": 1}, invocation_type="Event").request_id
    wait_for(lambda: waiting(sb, rid, 1))
    pending = sb.explain(rid)
    assert (pending.outcome, pending.cause) == ("async-pending", "queued")
    assert "tried again after 60 s" in pending.sentence
    assert pending.sentence.endswith("still in the queue.")
    clock.advance(60)
    assert sb.drain(20)
    done = sb.explain(rid)
    assert (done.outcome, done.cause) == ("async-failure", "RetriesExhausted")
    assert "handled as RetriesExhausted after 2 invocation(s)" in done.sentence
    assert f"the record was sent to OnFailure {QUEUE}failed" in done.sentence
    assert done.details["attempts"] == 2 and done.details["retries_scheduled"] == 1


@pytest.mark.process
def test_async_metrics(sb: Sandbox) -> None:
    sb.create_function("orders", FAILING)
    sb.create_function("fine", OK)
    sb.put_function_event_invoke_config(
        "orders",
        maximum_retry_attempts=0,
        destination_config={"OnFailure": {"Destination": QUEUE + "missing"}},
    )
    sb.update_function_configuration("orders", dead_letter_config={"TargetArn": QUEUE + "gone"})
    for _ in range(3):
        sb.invoke("orders", {}, invocation_type="Event")
    sb.invoke("fine", {}, invocation_type="Event")
    assert sb.drain(20)
    rows = {r["function_name"]: r for r in sb.metrics()}
    assert rows["orders"]["AsyncEventsReceived"] == 3
    assert rows["orders"]["AsyncEventsDropped"] == 3
    assert rows["orders"]["DestinationDeliveryFailures"] == 3
    assert rows["orders"]["DeadLetterErrors"] == 3
    assert rows["orders"]["Errors"] == 3
    assert rows["fine"]["AsyncEventsReceived"] == 1 and rows["fine"]["AsyncEventsDropped"] == 0
    assert rows["fine"]["AsyncEventAgeMax"] is not None


@pytest.mark.process
def test_timeline_has_an_async_lane(sb: Sandbox, clock: FakeClock) -> None:
    sb.create_function("orders", FAILING)
    rid = sb.invoke("orders", {}, invocation_type="Event").request_id
    wait_for(lambda: waiting(sb, rid, 1))
    figure = sb.plot_timeline()
    assert "async queue" in [t.get_text() for t in figure.ax.get_yticklabels()]
    queued_x, _ = figure.async_marks["queued"].get_data()
    retry_x, _ = figure.async_marks["retry"].get_data()
    assert len(queued_x) == 1 and len(retry_x) == 1
    wait_x, _ = figure.retry_waits.get_data()
    assert wait_x[1] - wait_x[0] == pytest.approx(60, abs=1)  # drawn up to the due time
    labels = [t.get_text() for t in figure.ax.get_legend().get_texts()]
    assert "retry scheduled" in labels and "record delivered" in labels
    assert figure.to_png().startswith(b"\x89PNG")


def test_timeline_without_async_events_keeps_its_legend() -> None:
    from sandbox.notebook.plots import TimelineFigure

    figure = TimelineFigure([])
    labels = [t.get_text() for t in figure.ax.get_legend().get_texts()]
    assert "retry scheduled" not in labels


@pytest.mark.process
def test_magics_async_and_destinations(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    shell = ipython_shell()
    shell.run_line_magic("load_ext", "sandbox")
    magics = shell.magics_manager.registry["LambdaMagics"]
    magics.use(sb)
    sb.create_function("orders", OK)
    sb.sqs.create_queue("ok")
    shell.run_line_magic("lambda", f"destinations orders --retries 1 --on-success {QUEUE}ok")
    out = capsys.readouterr().out
    assert f"orders:$LATEST: retries 1, maximum age 21600 s, on success -> {QUEUE}ok" in out
    shell.run_line_magic("lambda", "destinations orders --max-age 120 --on-success ''")
    out = capsys.readouterr().out
    assert "retries 1, maximum age 120 s, on success -> -, on failure -> -" in out
    rid = sb.invoke("orders", {"x": 1}, invocation_type="Event").request_id
    assert sb.drain(20)
    table = shell.run_line_magic("lambda", "async orders")
    assert table.columns[:5] == ("RequestId", "Function", "State", "Attempts", "Outcome")
    assert table.rows == [(rid[:8], "orders:$LATEST", "done", 1, "Success", "", "invoke")]
    shell.run_line_magic("lambda", "destinations orders --delete")
    assert "deleted" in capsys.readouterr().out
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="doesn't have an EventInvokeConfig"):
        shell.run_line_magic("lambda", "destinations orders")
    magics.close()


def test_platform_time_is_one_timeline_per_store(tmp_path: Path) -> None:
    db = Database(tmp_path / "lambda.db")
    first = continue_timeline(db, 600)
    assert isinstance(first, ScaledClock)
    pause = 0.05
    time.sleep(pause)  # a short real pause: 30 platform seconds at this speed
    ahead = first.time()
    second = continue_timeline(db, None)  # a real-time session after a fast one
    assert isinstance(second, ScaledClock) and second.time_scale == 1.0
    assert second.time() >= ahead  # never behind what the store has seen
    (doc,) = db.query("SELECT value FROM meta WHERE key='timeline'")
    assert json.loads(str(doc[0]))["scale"] == 1.0
    db.close()
    fresh = Database(tmp_path / "other.db")
    assert isinstance(continue_timeline(fresh, None), RealClock)
    fresh.close()


def test_sandbox_clock_continues_across_sessions(tmp_path: Path) -> None:
    with Sandbox(tmp_path, time_scale=1000) as first:
        first.create_function("f", OK)
        time.sleep(0.05)
        reached = first.clock.time()
    with Sandbox(tmp_path, time_scale=1000) as second:
        assert second.clock.time() >= reached
        modified = second.get_function("f").configuration.last_modified
        assert modified <= iso8601(second.clock.time())  # stored times are never ahead
    with pytest.raises(Sandbox.exceptions.InvalidParameterValueException):
        Sandbox(tmp_path, time_scale=-1)


@pytest.mark.process
def test_magics_mappings(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    shell = ipython_shell()
    shell.run_line_magic("load_ext", "sandbox")
    magics = shell.magics_manager.registry["LambdaMagics"]
    magics.use(sb)
    sb.create_function("orders", OK)
    sb.sqs.create_queue("jobs")
    shell.run_line_magic("lambda", f"mappings orders --source {QUEUE}jobs --batch-size 5")
    out = capsys.readouterr().out
    assert f"{QUEUE}jobs -> arn:aws:lambda:us-east-1:123456789012:function:orders" in out
    (mapping,) = sb.list_event_source_mappings().event_source_mappings
    sb.wait_for_event_source_mapping(mapping.uuid, "Enabled")
    table = shell.run_line_magic("lambda", "mappings")
    assert table.rows == [(mapping.uuid[:8], "jobs", "orders", "Enabled", 5, 0, "")]
    shell.run_line_magic("lambda", f"mappings --delete {mapping.uuid}")
    assert "deleting" in capsys.readouterr().out
    sb.wait_for_event_source_mapping_deleted(mapping.uuid)
    magics.close()


def test_magics_queue(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    shell = ipython_shell()
    shell.run_line_magic("load_ext", "sandbox")
    magics = shell.magics_manager.registry["LambdaMagics"]
    magics.use(sb)
    shell.run_line_magic("lambda", "queue jobs --create --send one")
    out = capsys.readouterr().out
    assert "jobs: https://sqs.us-east-1.amazonaws.com/123456789012/jobs" in out
    assert "jobs: sent 1 message(s)" in out and "jobs: 1 visible, 0 in flight, 0 delayed" in out
    shell.run_cell_magic("lambda", "queue jobs", "two\nthree\n")
    assert "jobs: 3 visible" in capsys.readouterr().out
    table = shell.run_line_magic("lambda", "queue jobs --receive 10")
    assert sorted(row[1] for row in table.rows) == ["one", "three", "two"]
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="The specified queue does not exist"):
        shell.run_line_magic("lambda", "queue nope")
    magics.close()
