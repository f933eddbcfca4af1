"""The executed-versions histogram: counts from telemetry, ticks from the alias, live frames."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from sandbox import Sandbox
from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.notebook.versions_view import (
    VersionsHistogram,
    alias_shares,
    executed_versions,
    versions_figure,
)
from tests.conftest import eventually

V1 = "def lambda_handler(event, context):\n    return 'one'\n"
V2 = "def lambda_handler(event, context):\n    return 'two'\n"


def _inv(
    seq: int, version: str, *, fn: str = "shop", qualifier: str | None = "live", **detail: object
) -> TelemetryRecord:
    return TelemetryRecord(
        seq,
        RecordKind.INVOCATION,
        float(seq),
        function_name=fn,
        version=version,
        detail={"status": "success", "qualifier": qualifier, **detail},
    )


def test_counts_only_finished_invocations_of_the_function_and_qualifier() -> None:
    records = [
        _inv(1, "1"),
        _inv(2, "2"),
        _inv(3, "1"),
        _inv(4, "2", status="queued"),  # an accepted event has run nothing yet
        _inv(5, "1", fn="other"),
        _inv(6, "", qualifier=None),  # $LATEST, unqualified
        TelemetryRecord(7, RecordKind.THROTTLE, 7.0, function_name="shop"),
    ]
    assert executed_versions(records, "shop", qualifier="live") == {"1": 2, "2": 1}
    assert executed_versions(records, "shop") == {"1": 2, "2": 1, "$LATEST": 1}
    assert executed_versions(records) == {"1": 3, "2": 1, "$LATEST": 1}
    assert executed_versions(records, "shop", qualifier="live", last=2) == {"2": 1, "1": 1}
    assert executed_versions(records, "shop", last=0) == {}


def test_the_figure_draws_one_bar_per_version_and_the_alias_ticks() -> None:
    records = [_inv(n, "1" if n % 4 else "2") for n in range(1, 41)]
    figure = versions_figure(records, "shop", qualifier="live", shares={"1": 0.75, "2": 0.25})
    assert figure.counts == {"1": 30, "2": 10} and figure.total == 40
    labels = [t.get_text() for t in figure.ax.get_xticklabels()]
    assert labels == ["version 1", "version 2"]
    heights = [p.get_height() for p in figure.ax.patches if isinstance(p, Rectangle)]
    assert heights == [30, 10]
    texts = [t.get_text() for t in figure.ax.texts]
    assert texts == ["30 (75 %)", "10 (25 %)"]
    ticks = [
        c.get_segments()[0][0][1] for c in figure.ax.collections if isinstance(c, LineCollection)
    ]
    assert ticks == [30.0, 10.0]  # share × requests
    assert "checkout" not in figure.ax.get_title() and "shop:live" in figure.ax.get_title()
    assert figure.to_png().startswith(b"\x89PNG")


def test_a_version_the_alias_routes_to_but_that_never_ran_has_an_empty_bar() -> None:
    figure = versions_figure([_inv(1, "1")], "shop", shares={"1": 0.9, "2": 0.1})
    assert [t.get_text() for t in figure.ax.get_xticklabels()] == ["version 1", "version 2"]
    assert [p.get_height() for p in figure.ax.patches if isinstance(p, Rectangle)] == [1, 0]


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.ephemeral(concurrency_limit=20) as sandbox:
        sandbox.create_function("shop", V1, publish=True)
        sandbox.update_function_code("shop", V2, publish=True)
        sandbox.create_alias("shop", "live", "1")
        yield sandbox


def test_alias_shares_give_the_primary_what_the_weights_leave(sb: Sandbox) -> None:
    assert alias_shares(sb.get_alias("shop", "live")) == {"1": 1.0}
    sb.update_alias("shop", "live", routing_config={"AdditionalVersionWeights": {"2": 0.25}})
    try:
        assert alias_shares(sb.get_alias("shop", "live")) == {"1": 0.75, "2": 0.25}
    finally:
        sb.update_alias("shop", "live", routing_config={"AdditionalVersionWeights": {}})


@pytest.mark.process
def test_the_live_histogram_follows_requests_and_the_alias_routing(sb: Sandbox) -> None:
    view = VersionsHistogram(sb, "shop", "live")
    try:
        assert view.png.startswith(b"\x89PNG") and view.counts == {}  # a first frame at once
        sb.invoke_many("shop", [{}] * 5, qualifier="live", concurrency=2)
        sb.invoke("shop")  # $LATEST: not through the alias, not counted
        assert eventually(lambda: view.counts == {"1": 5})
        assert eventually(lambda: view.figure.shares == {"1": 1.0})
        sb.update_alias(
            "shop", "live", function_version="2", routing_config={"AdditionalVersionWeights": {}}
        )
        sb.invoke("shop", qualifier="live")
        assert eventually(lambda: view.counts == {"1": 5, "2": 1})
        # read again on the frame: the rollout moved
        assert eventually(lambda: view.figure.shares == {"2": 1.0})
    finally:
        view.close()
        sb.update_alias("shop", "live", function_version="1")
    assert not view.running


@pytest.mark.process
def test_a_moving_window_keeps_only_the_latest_requests_made_from_now_on(sb: Sandbox) -> None:
    sb.invoke("shop", qualifier="$LATEST")  # before the view: not counted
    # its invocation record may reach the bus just after invoke returns (the environment
    # reports the end of INVOKE): wait for it, or the view could start before it
    assert eventually(lambda: sb.telemetry.records(kind="invocation", function_name="shop"))
    view = VersionsHistogram(sb, "shop", "$LATEST", last=3, from_now=True)
    try:
        assert view.counts == {}
        sb.invoke("shop", qualifier="$LATEST")
        assert eventually(lambda: view.counts == {"$LATEST": 1})
        for _ in range(4):
            sb.invoke("shop", qualifier="$LATEST")
        assert eventually(lambda: view.counts == {"$LATEST": 3})
        # the renderer thread redraws the figure (clears it, then titles it): read it settled
        assert eventually(lambda: view.figure.shares == {})  # a version, not an alias
        assert eventually(lambda: "last 3 requests" in view.figure.ax.get_title())
    finally:
        view.close()
