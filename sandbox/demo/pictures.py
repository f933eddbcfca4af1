"""The demo's two pictures: the Concurrency step as a lifecycle timeline and as a
concurrency plot, each marked with the step's four phases and what to see in each.

Only that step is drawn: it is where a picture says more than the text (environments
appearing, requests refused, environments initialised before any request). The whole
demo on one axis would not do: a 0.3 s burst beside a minute of setup is a sliver.
matplotlib is imported only here, so the demo runs without it and says why there are no
pictures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox import Sandbox
from sandbox.demo.scaling import NAME, Phase

__all__ = ["save_pictures"]

_TITLE = 0.35  # inches above the timeline's legend for its title
_SHADE = "#f2f2f2"  # every other phase, so their borders show without lines over spans


def _records(sb: Sandbox, phases: Sequence[Phase]) -> list[Any]:
    start, end = phases[0].start, phases[-1].end
    return [
        r
        for r in sb.telemetry.records(function_name=NAME)
        if r.kind != "log" and start <= r.time <= end
    ]


def _mark_phases(ax: Any, phases: Sequence[Phase], t0: float, y: float, **text: Any) -> None:
    """Shade every other phase and write its number and note at height ``y``."""
    for i, phase in enumerate(phases):
        x0, x1 = max(phase.start - t0, 0.0), phase.end - t0
        if i % 2:
            ax.axvspan(x0, x1, color=_SHADE, zorder=0, linewidth=0)
        ax.text((x0 + x1) / 2, y, f"{i + 1}. {phase.label}", ha="center", **text)


def _timeline(records: list[Any], phases: Sequence[Phase]) -> Any:
    from sandbox.notebook.plots import timeline_figure

    # one lane more than the figure sizes itself for (the phases' notes go on top), and a
    # title above the legend (the figure's own title shares the legend's line)
    height = timeline_figure(records, legend="used").get_figheight() + 0.6 + _TITLE
    figure = timeline_figure(records, legend="used", height=height)
    figure.subplots_adjust(top=figure.subplotpars.top - _TITLE / height)
    figure.suptitle(
        f"{NAME} in step 5 (Concurrency): one lane per execution environment",
        y=1 - 0.08 / height,
        va="top",
    )
    bottom, _ = figure.ax.get_ylim()  # inverted: the first lane is at the top
    figure.ax.set_ylim(bottom, -1.6)
    _mark_phases(figure.ax, phases, figure.t0 or 0.0, -1.05, va="center", fontsize=8)
    return figure


def _concurrency(records: list[Any], phases: Sequence[Phase]) -> Any:
    from sandbox.notebook.plots import LIMIT_STYLES, concurrency_figure

    figure = concurrency_figure(
        records,
        by="version",
        height=4.2,
        title=f"{NAME} in step 5 (Concurrency): requests in flight",
    )
    ax: Any = figure.ax  # matplotlib's stubs want literal line styles
    t0 = figure.t0 or 0.0
    for group, line in figure.series_lines.items():
        version = group.rpartition(":")[2]
        line.set_label("$LATEST" if version == "$LATEST" else f"version {version} (alias live)")
    limits = []  # each limit only while it was set, not across the whole picture
    for phase in phases:
        if phase.limit is not None:
            color, style = LIMIT_STYLES[phase.limit[0]]
            limits.append(
                ax.hlines(
                    phase.limit[1],
                    phase.start - t0,
                    phase.end - t0,
                    colors=color,
                    linestyles=style,
                    linewidth=1.5,
                    label=f"{phase.limit[0]} = {phase.limit[1]}",
                )
            )
    _, top = ax.get_ylim()
    ax.set_ylim(ax.get_ylim()[0], top + 1.5)
    _mark_phases(ax, phases, t0, top + 1.3, va="top", fontsize=8)
    handles = [*figure.series_lines.values(), *limits]
    if any(r.kind == "throttle" for r in records):
        handles.append(figure.throttles)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    figure.subplots_adjust(left=0.07, right=0.78)
    return figure


def save_pictures(sb: Sandbox, folder: Path, phases: Sequence[Phase]) -> None:
    """Write ``demo-timeline.png`` and ``demo-concurrency.png`` into ``folder``."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        print(f"(no pictures: {exc.name or exc} is not installed)")
        return
    records = _records(sb, phases)
    figures = {
        "demo-timeline.png": _timeline(records, phases),
        "demo-concurrency.png": _concurrency(records, phases),
    }
    print("\nStep 5 as pictures (what sb.plot_timeline() and sb.plot_concurrency() draw):")
    for filename, figure in figures.items():
        path = folder / filename
        path.write_bytes(figure.to_png())
        print(f"   {path}")
