"""Timeline and concurrency figures built from a real sandbox's telemetry (Agg, no pyplot)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from sandbox import Sandbox
from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.notebook.plots import (
    TimelineFigure,
    concurrency_figure,
    decimate_steps,
    timeline_figure,
)

SLEEPER = (
    "import time\n"
    "def lambda_handler(event, context):\n"
    "    time.sleep((event or {}).get('sleep', 0))\n"
    "    if (event or {}).get('fail'):\n"
    "        raise ValueError('boom')\n"
    "    return {'ok': True}\n"
)


@pytest.fixture(scope="module")
def burst() -> Iterator[Sandbox]:
    """Reserved concurrency 2, a burst of 4 (2 throttled), then 2 warm ones, one failing."""
    with Sandbox.ephemeral() as sb:
        sb.create_function("fn", SLEEPER)
        sb.put_function_concurrency("fn", 2)
        sb.invoke_many("fn", [{"sleep": 0.2}] * 4, concurrency=4)
        sb.invoke_many("fn", [{"sleep": 0.05}, {"fail": True}], concurrency=2)
        yield sb


def _records(sb: Sandbox) -> list[TelemetryRecord]:
    return sb.telemetry.records(function_name="fn")


@pytest.mark.process
def test_timeline_lanes_spans_cold_and_throttles(burst: Sandbox) -> None:
    records = _records(burst)
    invocations = [r for r in records if r.kind == RecordKind.INVOCATION]
    envs = {r.env_id for r in records if r.kind == RecordKind.PHASE}
    fig = timeline_figure(records)
    assert len(fig.lanes) == len(envs) == 2
    assert fig.invoke_count == len(invocations) == 4
    assert fig.cold_count == sum(bool(r.detail["cold"]) for r in invocations) == 2
    assert len(fig.init.get_paths()) == 2
    assert len(fig.throttles.get_xdata()) == 2  # the 2 refused requests
    # labels: one per environment, then the throttle lane
    labels = [t.get_text() for t in fig.ax.get_yticklabels()]
    assert labels[-1] == "throttles" and all("fn:$LATEST" in t for t in labels[:-1])
    assert all("on-demand" in t for t in labels[:-1])
    # the failing request is coloured as an error; request ids are readable
    colours = {tuple(np.round(c, 3)) for c in fig.invoke.get_facecolors()}
    assert len(colours) == 2
    assert {t.get_text() for t in fig.labels} == {r.request_id[:8] for r in invocations}
    # relative time axis, rendered to PNG
    assert fig.ax.get_xlim()[0] == 0.0
    assert fig.to_png().startswith(b"\x89PNG")


@pytest.mark.process
def test_timeline_legend_used_lists_only_what_is_drawn(burst: Sandbox) -> None:
    def legend(fig: TimelineFigure) -> list[str]:
        box = fig.ax.get_legend()
        assert box is not None
        return [t.get_text() for t in box.get_texts()]

    records = _records(burst)
    every = legend(timeline_figure(records))
    assert "extension init" in every and "INVOKE timeout" in every and len(every) == 12
    used = legend(timeline_figure(records, legend="used"))
    # two cold environments, one failing request, two throttles; no extension, no timeout
    assert set(used) == {
        "INIT",
        "runtime init",
        "function init",
        "INVOKE success",
        "INVOKE error",
        "cold start",
        "throttle",
    }
    assert used == [label for label in every if label in used]  # the same order
    growing = timeline_figure([r for r in records if r.kind != RecordKind.THROTTLE], legend="used")
    assert "throttle" not in legend(growing)
    growing.update(records)  # a live figure's legend follows what arrives
    assert "throttle" in legend(growing)
    with pytest.raises(ValueError, match="legend must be 'all' or 'used'"):
        timeline_figure(records, legend="some")


@pytest.mark.process
def test_timeline_update_moves_vertices_without_rebuilding(burst: Sandbox) -> None:
    records = _records(burst)
    first = [r for r in records if r.seq <= max(r.seq for r in records if r.kind == "throttle")]
    fig = timeline_figure(first)
    invoke, cold, children = fig.invoke, fig.cold, list(fig.ax.collections)
    before = fig.invoke_count
    fig.update(records)
    assert fig.invoke is invoke and fig.cold is cold and list(fig.ax.collections) == children
    assert fig.invoke_count == 4 > before


@pytest.mark.process
def test_concurrency_steps_match_the_service(burst: Sandbox) -> None:
    records = _records(burst)
    fig = concurrency_figure(records, limits={"reserved": 2, "provisioned": 1, "account": 4})
    x, y = fig.series("fn")
    expected = burst.concurrency("fn")
    assert list(y) == [level for _, level in expected]
    assert np.allclose(x + fig.t0, [t for t, _ in expected])
    line = fig.series_lines["fn"]
    assert line.get_drawstyle() == "steps-post"
    assert max(line.get_ydata()) == 2
    assert {n: ln.get_ydata()[0] for n, ln in fig.limit_lines.items()} == {
        "reserved": 2,
        "provisioned": 1,
        "account": 4,
    }
    assert list(fig.throttles.get_ydata()) == [2.0, 2.0]  # in flight when refused


@pytest.mark.process
def test_concurrency_update_reuses_lines(burst: Sandbox) -> None:
    records = _records(burst)
    fig = concurrency_figure(records[:10], by="version")
    fig.update(records)
    line = fig.series_lines["fn:$LATEST"]
    fig.update(records)
    assert fig.series_lines["fn:$LATEST"] is line and len(fig.series_lines) == 1


@pytest.mark.process
def test_sandbox_plot_methods(burst: Sandbox) -> None:
    timeline = burst.plot_timeline("fn")
    assert timeline.invoke_count == 4 and len(timeline.lanes) == 2
    assert burst.plot_timeline("fn", last=0.0).invoke_count <= 1
    concurrency = burst.plot_concurrency("fn")
    assert concurrency.limit_lines["reserved"].get_ydata()[0] == 2
    assert "account" in concurrency.limit_lines  # drawn, labelled off scale (1,000)
    assert "off scale" in concurrency.limit_lines["account"].get_label()


def test_decimation_keeps_extremes() -> None:
    x = np.linspace(0, 1, 100_000)
    y = np.zeros_like(x)
    y[12_345] = 7.0
    dx, dy = decimate_steps(x, y, 500)
    assert len(dx) <= 4 * 500 and dy.max() == 7.0 and dy.min() == 0.0
    short_x, short_y = decimate_steps(x[:10], y[:10], 500)
    assert short_x is not None and len(short_x) == len(short_y) == 10


def test_empty_figures_draw() -> None:
    assert timeline_figure([]).to_png().startswith(b"\x89PNG")
    assert concurrency_figure([]).to_png().startswith(b"\x89PNG")
