"""Notebook widgets (ipywidgets): build events, invoke, watch concurrency and lifecycles live.

Thin views (STYLE.md): a callback parses its inputs, makes one sandbox call and renders the
answer. Live plots subscribe to the telemetry bus with a callback that only appends a
record and sets a dirty flag; one renderer thread per plot redraws at most ``hz`` times a
second and pushes PNG bytes into a ``widgets.Image`` (a push path that keeps working while
the kernel is busy in another cell). Text goes to ``Output.outputs`` directly, not through
``with out:``, which is fragile from threads and untestable without a kernel.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import ipywidgets as widgets

from sandbox.core.telemetry import RecordKind, TelemetryRecord
from sandbox.notebook.board import PipelineBoard
from sandbox.notebook.live import BusFeed
from sandbox.notebook.plots import (
    ConcurrencyFigure,
    TimelineFigure,
    concurrency_figure,
    concurrency_limits,
    timeline_figure,
)

__all__ = [
    "ConcurrencyPlot",
    "Dashboard",
    "EventBuilder",
    "InvokePanel",
    "LifecycleTimeline",
    "PipelineBoard",
]

log = logging.getLogger("sandbox.notebook")
CUSTOM = "custom JSON"
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
LOG_TAIL = 20


def _stream(text: str, name: str = "stdout") -> dict[str, str]:
    return {"output_type": "stream", "name": name, "text": text}


def _event_templates() -> tuple[list[str], Callable[[str], object] | None]:
    """Template names and the generator from ``sandbox.events``, when it offers them."""
    try:
        events = importlib.import_module("sandbox.events")
    except ImportError:
        return [], None
    kinds, generate = getattr(events, "kinds", None), getattr(events, "generate", None)
    if not callable(kinds) or not callable(generate):
        return [], None
    try:
        return [str(k) for k in kinds()], generate
    except Exception:
        log.exception("sandbox.events.kinds() failed")
        return [], None


SAVED = "saved: "  # prefix of a function's saved test events in the picker


class EventBuilder(widgets.VBox):  # type: ignore[misc]
    """A template picker and a JSON editor validated as you type.

    The picker offers custom JSON, the service event templates of :mod:`sandbox.events`,
    and — given a sandbox and a function — that function's saved test events
    (``sb.save_test_event``). ``event`` is the parsed payload (``None`` while the JSON is
    invalid); ``error`` shows why it is invalid.
    """

    def __init__(
        self, value: str = "{}", *, sb: Any = None, function_name: str | None = None
    ) -> None:
        names, self._generate = _event_templates()
        self._names = names
        self.sb = sb
        self.function_name: str | None = None
        self.template = widgets.Dropdown(
            options=[CUSTOM, *names], value=CUSTOM, description="Event"
        )
        self.editor = widgets.Textarea(
            value=value,
            placeholder='{"key": "value"}',
            layout=widgets.Layout(width="100%", height="140px"),
        )
        self.error = widgets.HTML(value="")
        self.event: object = None
        self.valid = False
        self.template.observe(self._on_template, names="value")
        self.editor.observe(self._on_edit, names="value")
        super().__init__([self.template, self.editor, self.error])
        self._validate(value)
        self.use_function(function_name)

    def use_function(self, function_name: str | None) -> None:
        """List ``function_name``'s saved test events in the picker."""
        self.function_name = function_name
        saved: list[str] = []
        lister = getattr(self.sb, "list_test_events", None)
        if function_name and callable(lister):
            try:
                saved = [SAVED + str(n) for n in lister(function_name)]
            except Exception:
                saved = []
        keep = self.template.value
        self.template.options = [CUSTOM, *saved, *self._names]
        self.template.value = keep if keep in self.template.options else CUSTOM

    def _on_template(self, change: dict[str, Any]) -> None:
        chosen = str(change["new"] or CUSTOM)
        if chosen.startswith(SAVED) and self.sb is not None and self.function_name:
            try:
                event = self.sb.get_test_event(self.function_name, chosen[len(SAVED) :])
                self.editor.value = json.dumps(event, indent=2)
            except Exception as exc:
                self.error.value = f"<span style='color:#d62728'>{exc}</span>"
            return
        if chosen == CUSTOM or self._generate is None:
            return
        try:
            self.editor.value = json.dumps(self._generate(change["new"]), indent=2)
        except Exception as exc:
            self.error.value = f"<span style='color:#d62728'>template failed: {exc}</span>"

    def _on_edit(self, change: dict[str, Any]) -> None:
        self._validate(change["new"])

    def _validate(self, text: str) -> None:
        try:
            self.event = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            self.event, self.valid = None, False
            self.error.value = (
                f"<span style='color:#d62728'>invalid JSON: {exc.msg} "
                f"(line {exc.lineno}, column {exc.colno})</span>"
            )
            return
        self.valid = True
        self.error.value = ""


class InvokePanel(widgets.VBox):  # type: ignore[misc]
    """Pick a function and a qualifier (its versions and aliases), an invocation type and
    an event; Invoke shows the status, the result or error, the log tail and REPORT."""

    def __init__(self, sb: Any, function_name: str | None = None) -> None:
        self.sb = sb
        self.function = widgets.Dropdown(description="Function", options=[])
        self.qualifier = widgets.Dropdown(description="Qualifier", options=["$LATEST"])
        self.invocation_type = widgets.Dropdown(
            description="Type", options=list(INVOCATION_TYPES), value="RequestResponse"
        )
        self.builder = EventBuilder(sb=sb)
        self.button = widgets.Button(description="Invoke", button_style="primary", icon="play")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.output = widgets.Output(layout=widgets.Layout(border="1px solid #ddd"))
        self.result: Any = None
        self.error: BaseException | None = None
        self.function.observe(self._on_function, names="value")
        self.button.on_click(self._on_invoke)
        self.refresh_button.on_click(lambda _b: self.refresh())
        super().__init__(
            [
                widgets.HBox([self.function, self.qualifier, self.invocation_type]),
                self.builder,
                widgets.HBox([self.button, self.refresh_button]),
                self.output,
            ]
        )
        self.refresh()
        if function_name is not None:
            self.function.value = function_name

    def refresh(self) -> None:
        """Reload the function names (and the selected function's qualifiers)."""
        names: list[str] = []
        marker: str | None = None
        while True:
            page = self.sb.list_functions(marker=marker)
            names += [f.function_name for f in page.functions]
            marker = page.next_marker
            if not marker:
                break
        current = self.function.value
        self.function.options = sorted(names)
        if current in names:
            self.function.value = current
            self._fill_qualifiers(current)

    def _on_function(self, change: dict[str, Any]) -> None:
        self._fill_qualifiers(change["new"])
        self.builder.use_function(change["new"])

    def _fill_qualifiers(self, function_name: str | None) -> None:
        options = ["$LATEST"]
        if function_name:
            versions = self.sb.list_versions_by_function(function_name).versions
            options += [v.version for v in versions if v.version != "$LATEST"]
            options += [a.name for a in self.sb.list_aliases(function_name).aliases]
        keep = self.qualifier.value if self.qualifier.value in options else "$LATEST"
        self.qualifier.options = options
        self.qualifier.value = keep

    def write(self, *parts: dict[str, str]) -> None:
        """The sink: replace what the output area shows."""
        self.output.outputs = tuple(parts)

    def _on_invoke(self, _button: object = None) -> None:
        self.result, self.error = None, None
        if not self.function.value:
            self.write(_stream("Choose a function first.\n", "stderr"))
            return
        if not self.builder.valid:
            self.write(_stream("The event is not valid JSON.\n", "stderr"))
            return
        try:
            result = self.sb.invoke(
                self.function.value,
                self.builder.event,
                qualifier=self.qualifier.value,
                invocation_type=self.invocation_type.value,
            )
        except Exception as exc:  # AWS errors are one line, never a traceback
            self.error = exc
            code = getattr(exc, "code", type(exc).__name__)
            self.write(_stream(f"{code}: {getattr(exc, 'message', exc)}\n", "stderr"))
            return
        self.result = result
        self.write(*self.render(result))

    @staticmethod
    def render(result: Any) -> list[dict[str, str]]:
        """Status, payload, the log tail and the REPORT line of an ``InvokeResult``."""
        status = f"StatusCode {result.status_code}  RequestId {result.request_id}"
        if result.executed_version:
            status += f"  ExecutedVersion {result.executed_version}"
        if result.function_error:
            status += f"  FunctionError {result.function_error}"
        parts = [_stream(status + "\n")]
        if result.status_code == 200:
            body = json.dumps(result.payload, indent=2, default=str)
            parts.append(_stream(body + "\n", "stderr" if result.function_error else "stdout"))
        logs = list(result.logs)
        report = [line for line in logs if line.startswith("REPORT")]
        tail = [line for line in logs if not line.startswith("REPORT")][-LOG_TAIL:]
        if tail:
            parts.append(_stream("--- log tail ---\n" + "".join(_line(x) for x in tail)))
        if report:
            parts.append(_stream(_line(report[-1])))
        return parts

    def close(self) -> None:
        self.builder.close()
        super().close()


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


class _LivePlot(widgets.VBox):  # type: ignore[misc]
    """A figure fed by the telemetry bus and redrawn by one renderer thread."""

    figure: TimelineFigure | ConcurrencyFigure

    def __init__(
        self,
        sb: Any,
        function_name: str | None,
        *,
        hz: float,
        functions: Collection[str] | None = None,
    ) -> None:
        self.sb = sb
        self.function_name = function_name
        # several functions at once (an application); ``function_name`` alone is one
        self.functions = frozenset(functions) if functions else None
        self.frames = 0
        self.last_render_ms = 0.0
        self._feed = BusFeed(
            sb.telemetry, self._wants, self._render, hz=hz, name=type(self).__name__
        )
        self.period = self._feed.period
        self.image = widgets.Image(format="png")
        self._render()  # a first frame at once, so even a headless run saves a picture
        super().__init__([self.image])
        self._feed.start()

    def _wants(self, record: TelemetryRecord) -> bool:
        if record.kind == RecordKind.LOG:
            return False
        if self.functions is not None:
            return record.function_name in self.functions
        return self.function_name is None or record.function_name == self.function_name

    def _update_figure(self, records: list[TelemetryRecord]) -> None:
        self.figure.update(records)

    def _render(self) -> None:
        started = time.perf_counter()
        self._update_figure(self._feed.records())
        self.image.value = self.figure.to_png()
        self.frames += 1
        self.last_render_ms = (time.perf_counter() - started) * 1000

    def refresh(self) -> None:
        """Redraw on the next tick (e.g. after changing limits)."""
        self._feed.refresh()

    @property
    def png(self) -> bytes:
        """The last frame pushed to the image."""
        return bytes(self.image.value)

    @property
    def running(self) -> bool:
        return self._feed.running

    def close(self) -> None:
        """Unsubscribe from the bus and stop the renderer thread."""
        feed = getattr(self, "_feed", None)  # absent if __init__ failed half-way
        if feed is not None:
            feed.stop()
        try:  # plain try: close() also runs from __del__ at interpreter exit, module-less
            self.image.close()
        except Exception:
            pass
        super().close()


class ConcurrencyPlot(_LivePlot):
    """Live step plot of concurrent executions per function (or version), with the
    reserved / provisioned / account limits and throttle markers."""

    def __init__(
        self,
        sb: Any,
        function_name: str | None = None,
        *,
        by: str = "function",
        hz: float = 10.0,
        width: float = 10.0,
        height: float = 3.5,
        functions: Sequence[str] | None = None,
        limits_of: str | None = None,
    ) -> None:
        # whose reserved / provisioned lines to draw: with several functions, name one
        self.limits_of = limits_of or function_name
        shown = ", ".join(functions) if functions else function_name
        self.figure = concurrency_figure(
            (),
            by=by,
            limits=concurrency_limits(sb, self.limits_of),
            width=width,
            height=height,
            title=f"Concurrency: {shown}" if shown else None,
        )
        super().__init__(sb, function_name, hz=hz, functions=functions)

    def refresh_limits(self) -> None:
        """Read the limits again (after put_function_concurrency ...) and redraw."""
        assert isinstance(self.figure, ConcurrencyFigure)
        self.figure.set_limits(concurrency_limits(self.sb, self.limits_of))
        self.refresh()


class LifecycleTimeline(_LivePlot):
    """Live swim lanes, one per execution environment (see ``TimelineFigure``)."""

    def __init__(
        self,
        sb: Any,
        function_name: str | None = None,
        *,
        hz: float = 10.0,
        width: float = 10.0,
        height: float | None = None,
        functions: Sequence[str] | None = None,
    ) -> None:
        # several functions: the lane labels name them, and a title would meet the legend
        title = None if functions else function_name
        self.figure = timeline_figure((), width=width, height=height, title=title)
        super().__init__(sb, function_name, hz=hz, functions=functions)


class Dashboard(widgets.VBox):  # type: ignore[misc]
    """An InvokePanel above tabs with the live timeline and concurrency plot.

    ``Dashboard(sb, "hello")`` watches one function. An application of several functions
    passes ``functions=[...]`` (plots and board show those, together), the SQS ``queues``
    whose depth to follow, ``by="version"`` to split concurrency per version (a canary),
    and ``limits_of`` for the function whose reserved and provisioned lines to draw. With
    ``functions`` or ``queues`` a :class:`PipelineBoard` (counts per function, the async
    queue, batches, executed versions, queue depths) sits above the tabs, and ``queues``
    adds a *Queues* tab: their depth over time. ``invoke=False``
    leaves out the InvokePanel (a load drives the application, not a button)."""

    def __init__(
        self,
        sb: Any,
        function_name: str | None = None,
        *,
        functions: Sequence[str] | None = None,
        queues: Sequence[str] = (),
        by: str = "function",
        limits_of: str | None = None,
        invoke: bool = True,
        hz: float = 10.0,
    ) -> None:
        focus = function_name or (functions[0] if functions else None)
        self.invoke_panel = InvokePanel(sb, focus) if invoke else None
        self.board = PipelineBoard(sb, functions, queues) if functions or queues else None
        self.timeline = LifecycleTimeline(sb, function_name, functions=functions, hz=hz)
        self.concurrency = ConcurrencyPlot(
            sb, function_name, by=by, functions=functions, limits_of=limits_of, hz=hz
        )
        tabs = [self.timeline, self.concurrency]
        if self.board is not None and self.board.queue_plot is not None:
            tabs.append(self.board.queue_plot)  # the queues' depth over time
        self.tabs = widgets.Tab(children=tabs)
        for index, title in enumerate(("Lifecycle", "Concurrency", "Queues")[: len(tabs)]):
            self.tabs.set_title(index, title)
        if functions:  # an application opens on concurrency: throttles and versions
            self.tabs.selected_index = 1
        parts = [self.invoke_panel, self.board, self.tabs]
        super().__init__([p for p in parts if p is not None])

    def text(self) -> str:
        """The board's numbers as plain text (empty without a board)."""
        return self.board.text() if self.board is not None else ""

    def close(self) -> None:
        children = (self.invoke_panel, self.board, self.timeline, self.concurrency, self.tabs)
        for child in children:
            # plain try: close() also runs from __del__ at interpreter exit, module-less
            try:
                if child is not None:
                    child.close()
            except Exception:
                pass
        super().close()
