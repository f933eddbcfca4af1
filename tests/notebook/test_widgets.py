"""Widgets without a browser or a kernel: set values, click, assert on outputs and images."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from sandbox import Sandbox
from sandbox.notebook.widgets import (
    ConcurrencyPlot,
    Dashboard,
    EventBuilder,
    InvokePanel,
    LifecycleTimeline,
)
from tests.conftest import eventually

ECHO = (
    "def lambda_handler(event, context):\n"
    "    print('handling', event)\n"
    "    if event.get('fail'):\n"
    "        raise ValueError('boom')\n"
    "    return {'double': event.get('x', 0) * 2, 'version': context.function_version}\n"
)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.ephemeral() as sandbox:
        sandbox.create_function("echo", ECHO, publish=True)
        sandbox.create_alias("echo", "live", "1")
        sandbox.create_function("other", ECHO)
        yield sandbox


def _text(panel: InvokePanel) -> str:
    return "".join(o.get("text", "") for o in panel.output.outputs)


def test_event_builder_flags_invalid_json() -> None:
    builder = EventBuilder()
    assert builder.valid and builder.event == {}
    builder.editor.value = '{"x": '
    assert not builder.valid and builder.event is None
    assert "invalid JSON" in builder.error.value
    builder.editor.value = '{"x": 21}'
    assert builder.valid and builder.event == {"x": 21} and builder.error.value == ""
    assert builder.template.options[0] == "custom JSON"
    builder.close()


@pytest.mark.process
def test_invoke_panel_invokes_with_a_qualifier(sb: Sandbox) -> None:
    panel = InvokePanel(sb)
    assert set(panel.function.options) == {"echo", "other"}
    panel.function.value = "echo"
    assert list(panel.qualifier.options) == ["$LATEST", "1", "live"]
    panel.function.value = "other"
    assert list(panel.qualifier.options) == ["$LATEST"]  # follows the function
    panel.function.value = "echo"
    panel.qualifier.value = "live"
    panel.builder.editor.value = '{"x": 21}'
    panel.button.click()
    assert panel.error is None
    assert panel.result.payload == {"double": 42, "version": "1"}
    text = _text(panel)
    assert "StatusCode 200" in text and '"double": 42' in text
    assert "handling {'x': 21}" in text  # the log tail
    assert text.rstrip().splitlines()[-1].startswith("REPORT RequestId: " + panel.result.request_id)
    panel.close()


@pytest.mark.process
def test_invoke_panel_shows_function_and_api_errors(sb: Sandbox) -> None:
    panel = InvokePanel(sb, "echo")
    panel.builder.editor.value = '{"fail": true}'
    panel.button.click()
    assert panel.result.function_error == "Unhandled"
    assert "FunctionError Unhandled" in _text(panel) and "ValueError" in _text(panel)
    panel.builder.editor.value = "{oops"
    panel.button.click()
    assert panel.result is None and "not valid JSON" in _text(panel)
    panel.builder.editor.value = "{}"
    panel.qualifier.options = ["nope"]
    panel.button.click()
    assert panel.result is None and panel.error is not None
    assert _text(panel).startswith("ResourceNotFoundException: ")
    panel.close()


@pytest.mark.process
@pytest.mark.parametrize("view", [ConcurrencyPlot, LifecycleTimeline])
def test_live_plots_push_new_frames_and_stop_on_close(
    sb: Sandbox, view: type[ConcurrencyPlot | LifecycleTimeline]
) -> None:
    plot = view(sb, "echo")
    assert plot.png.startswith(b"\x89PNG")  # a first frame at once
    first, frames = plot.png, plot.frames
    sb.invoke("echo", {"x": 1})
    assert eventually(lambda: plot.frames > frames and plot.png != first)
    assert plot.running
    plot.close()
    assert not plot.running
    after = plot.frames
    sb.invoke("echo", {"x": 2})
    time.sleep(0.3)
    assert plot.frames == after  # unsubscribed and stopped


@pytest.mark.process
def test_a_broken_view_never_breaks_an_invocation(sb: Sandbox) -> None:
    plot = LifecycleTimeline(sb, "echo")

    def broken(records: object) -> None:
        raise RuntimeError("renderer bug")

    plot.figure.update = broken  # type: ignore[method-assign,assignment]
    assert sb.invoke("echo", {"x": 3}).payload["double"] == 6  # type: ignore[index]
    time.sleep(0.2)
    assert plot.running  # the renderer logs and carries on
    plot.close()


@pytest.mark.process
def test_dashboard_builds_and_closes(sb: Sandbox) -> None:
    dashboard = Dashboard(sb, "echo")
    assert dashboard.invoke_panel.function.value == "echo"
    assert dashboard.tabs.children == (dashboard.timeline, dashboard.concurrency)
    dashboard.invoke_panel.button.click()
    assert dashboard.invoke_panel.result.status_code == 200
    dashboard.close()
    assert not dashboard.timeline.running and not dashboard.concurrency.running


def test_event_builder_lists_service_templates_when_there_are_some() -> None:
    events = pytest.importorskip("sandbox.events")
    if not hasattr(events, "kinds"):
        pytest.skip("sandbox.events has no templates yet")
    builder = EventBuilder()
    kinds = list(events.kinds())
    assert list(builder.template.options) == ["custom JSON", *kinds]
    builder.template.value = kinds[0]
    assert builder.valid and isinstance(builder.event, dict) and builder.event
    builder.close()


@pytest.mark.process
def test_event_builder_offers_the_functions_saved_test_events() -> None:
    from sandbox import Sandbox
    from sandbox.notebook.widgets import SAVED, InvokePanel

    with Sandbox.ephemeral() as sb:
        sb.create_function("echo", "def lambda_handler(e, c):\n    return e\n")
        sb.save_test_event("echo", "order", {"order": 42})
        panel = InvokePanel(sb, "echo")
        try:
            panel.function.value = "echo"
            assert f"{SAVED}order" in panel.builder.template.options
            panel.builder.template.value = f"{SAVED}order"
            assert panel.builder.event == {"order": 42}
            panel.button.click()
            assert panel.result.payload == {"order": 42}
        finally:
            panel.close()
