"""The pipeline board and the application dashboard, without a browser or a kernel."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from sandbox import Sandbox
from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.notebook.board import PipelineBoard, QueueDepth, pipeline_stats
from sandbox.notebook.widgets import Dashboard
from tests.conftest import eventually

QUEUE = "arn:aws:sqs:us-east-1:123456789012:"


def _record(seq: int, kind: RecordKind, fn: str, t: float, **fields: object) -> TelemetryRecord:
    detail = dict(fields.pop("detail", {}))  # type: ignore[call-overload]
    return TelemetryRecord(seq, kind, t, function_name=fn, detail=detail, **fields)  # type: ignore[arg-type]


def test_the_depth_history_keeps_changes_and_reaches_now() -> None:
    from sandbox.notebook.board import QueueDepthFigure

    figure = QueueDepthFigure(["a", "b"])
    figure.update_samples(
        [(100.0, {"a": 0, "b": 1}), (101.0, {"a": 4, "b": 1}), (103.0, {"a": 4, "b": 0})]
    )
    xs, ys = figure.queue_lines["a"].get_data()
    assert list(xs) == [0.0, 1.0, 3.0] and list(ys) == [0, 4, 4]
    assert figure.ax.get_ylim()[1] > 4 and figure.to_png().startswith(b"\x89PNG")


def test_stats_count_versions_throttles_the_async_queue_and_batches() -> None:
    inv = RecordKind.INVOCATION
    records = [
        _record(1, RecordKind.POLL, "validate", 0.0, detail={"status": "batch", "size": 5}),
        _record(2, RecordKind.POLL, "validate", 0.1, detail={"status": "settled"}),
        _record(
            3,
            inv,
            "validate",
            0.0,
            end=1.0,
            version="$LATEST",
            detail={"status": "success", "cold": True},
        ),
        _record(4, RecordKind.ASYNC, "charge", 1.0, detail={"status": "queued"}),
        _record(5, RecordKind.ASYNC, "charge", 1.0, detail={"status": "queued"}),
        _record(6, RecordKind.THROTTLE, "charge", 1.1, detail={"reason": "x"}),
        _record(7, RecordKind.ASYNC, "charge", 1.1, detail={"status": "retry"}),
        _record(8, inv, "charge", 1.0, end=2.0, version="1", detail={"status": "success"}),
        _record(9, inv, "charge", 1.5, end=2.5, version="2", detail={"status": "error"}),
        _record(10, inv, "charge", 2.0, end=3.0, version="1", detail={"status": "success"}),
        _record(11, RecordKind.ASYNC, "charge", 2.0, detail={"status": "succeeded"}),
        _record(12, RecordKind.ASYNC, "charge", 2.5, detail={"status": "failed"}),
        _record(
            13,
            RecordKind.ASYNC,
            "charge",
            2.0,
            detail={"status": "delivered", "destination": QUEUE + "charged"},
        ),
        _record(
            14,
            RecordKind.ASYNC,
            "charge",
            2.5,
            detail={"status": "delivered", "destination": QUEUE + "failed"},
        ),
        _record(15, inv, "other", 0.0, end=1.0, detail={"status": "success"}),
    ]
    stats = pipeline_stats(records, ["validate", "charge"], {"orders": QueueDepth(3, 2, 9)})
    assert list(stats.functions) == ["validate", "charge"]  # "other" is not watched
    validate, charge = stats.functions["validate"], stats.functions["charge"]
    assert (validate.batches, validate.batch_records, validate.cold_starts) == (1, 5, 1)
    assert (charge.invocations, charge.errors, charge.throttles, charge.peak) == (3, 1, 1, 2)
    assert dict(charge.versions) == {"1": 2, "2": 1}
    assert (charge.queued, charge.retries, charge.succeeded, charge.failed) == (2, 1, 1, 1)
    assert dict(charge.delivered) == {"charged": 1, "failed": 1}
    text = stats.text()
    assert "1:2 2:1" in text and "2/1/1/1" in text and "charged:1 failed:1" in text
    assert "queue orders: 3 visible, 2 in flight, peak 9" in text
    assert "v1: 2 v2: 1" in stats.html() and "<b>orders</b>" in stats.html()
    assert "<td>$LATEST: 1</td>" in stats.html()  # a version number gets a "v", $LATEST not
    every = pipeline_stats(records)
    assert set(every.functions) == {"validate", "charge", "other"}


@pytest.fixture(scope="module")
def app() -> Iterator[Sandbox]:
    """Two functions: ``front`` invokes nothing, ``back`` is invoked asynchronously and
    reports to a queue; the queue ``inbox`` holds two messages nobody reads."""
    with Sandbox.ephemeral(concurrency_limit=10) as sandbox:
        code = "def lambda_handler(event, context):\n    return {'n': event.get('n')}\n"
        sandbox.create_function("front", code)
        sandbox.create_function("back", code, publish=True)
        sandbox.sqs.create_queue("done")
        sandbox.put_function_event_invoke_config(
            "back", destination_config={"OnSuccess": {"Destination": QUEUE + "done"}}
        )
        inbox = sandbox.sqs.create_queue("inbox")["QueueUrl"]
        for n in range(2):
            sandbox.sqs.send_message(inbox, json.dumps({"n": n}))
        yield sandbox


@pytest.mark.process
def test_the_board_follows_several_functions_and_queues_live(app: Sandbox) -> None:
    board = PipelineBoard(app, ["front", "back"], ["inbox", "done"])
    assert board.frames >= 1 and "<table" in board.html.value  # a first frame at once
    assert board.stats.queues["inbox"].visible == 2
    app.invoke("front", {"n": 1})
    for n in range(3):
        app.invoke("back", {"n": n}, invocation_type="Event")
    app.drain(10)
    assert eventually(
        lambda: (
            board.stats.functions["back"].delivered.get("done") == 3
            and board.stats.queues.get("done", QueueDepth(0, 0, 0)).visible == 3
        )
    ), board.stats.text()
    assert board.stats.functions["front"].invocations == 1
    assert "done:3" in board.text()
    # the depth history: inbox stayed at 2, done rose to 3, and the picture shows it
    assert board.queue_plot is not None and bytes(board.queue_plot.value).startswith(b"\x89PNG")
    assert board.samples[0][1]["inbox"] == 2 and board.samples[-1][1]["done"] == 3
    xs, ys = board.depth_figure.queue_lines["done"].get_data()
    assert list(ys)[-1] == 3 and len(xs) == len(board.samples)
    board.close()
    assert not board.running
    frames = board.frames
    app.invoke("front", {})
    time.sleep(0.3)
    assert board.frames == frames  # unsubscribed and stopped


@pytest.mark.process
def test_an_application_dashboard_shows_several_functions_by_version(app: Sandbox) -> None:
    dashboard = Dashboard(
        app, functions=["front", "back"], queues=["inbox"], by="version", invoke=False
    )
    assert dashboard.invoke_panel is None and dashboard.board is not None
    assert dashboard.children == (dashboard.board, dashboard.tabs)
    assert dashboard.tabs.children[2] is dashboard.board.queue_plot  # the Queues tab
    assert dashboard.tabs.get_title(2) == "Queues"
    assert dashboard.tabs.selected_index == 1  # concurrency first
    app.put_function_concurrency("back", 3)
    dashboard.concurrency.refresh_limits()  # no single function: the account line only
    assert set(dashboard.concurrency.figure.limits) == {"account"}
    app.invoke("back", {"n": 9}, qualifier="1")
    app.invoke("front", {"n": 9})
    series = dashboard.concurrency.figure.series_lines
    assert eventually(lambda: {"back:1", "front:$LATEST"} <= set(series)), set(series)
    assert eventually(lambda: dashboard.timeline.figure.invoke_count >= 2)
    assert "inbox: 2 visible" in dashboard.text()
    dashboard.close()
    assert not dashboard.timeline.running and not dashboard.concurrency.running
    assert not dashboard.board.running
    app.delete_function_concurrency("back")


@pytest.mark.process
def test_limits_of_names_the_function_whose_lines_are_drawn(app: Sandbox) -> None:
    app.put_function_concurrency("back", 4)
    dashboard = Dashboard(app, functions=["front", "back"], limits_of="back", invoke=False)
    plot = dashboard.concurrency
    assert plot.figure.limits["reserved"] == 4
    app.put_function_concurrency("back", 2)
    plot.refresh_limits()
    assert plot.figure.limits["reserved"] == 2
    dashboard.close()
    app.delete_function_concurrency("back")
