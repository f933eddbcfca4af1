"""``lambda-sandbox demo``: one small application, an order pipeline, that exercises the
seven concepts in order — Event, Layer, Extension, Qualifier, Concurrency, Destination,
Trigger — prints what each step shows and why, and saves two pictures of the Concurrency
step, the part a picture explains best.

It runs on any store and can run again on the same one: :func:`sandbox.demo.app.reset`
deletes what an earlier run left first.

>>> from pathlib import Path
>>> from sandbox import Sandbox
>>> from sandbox.demo import run_demo
>>> with Sandbox.ephemeral() as sb:  # doctest: +SKIP
...     run_demo(sb, pictures=Path.cwd())
"""

from __future__ import annotations

from pathlib import Path

from sandbox import Sandbox, __version__
from sandbox.demo.app import reset
from sandbox.demo.building import step_event, step_extension, step_layer, step_qualifier
from sandbox.demo.delivery import step_destination, step_trigger
from sandbox.demo.pictures import save_pictures
from sandbox.demo.scaling import step_concurrency

__all__ = ["run_demo"]


def run_demo(sb: Sandbox, *, pictures: Path) -> int:
    """Run the demo on ``sb``, print its report, write its pictures into ``pictures``.

    Returns:
        The exit status: 0.
    """
    print(
        f"lambda-sandbox {__version__}: store at {sb.home} (account {sb.account_id}, {sb.region})"
    )
    print("The demo builds an order pipeline, one Lambda concept at a time.")
    reset(sb)
    event = step_event(sb)
    lib = step_layer(sb, event)
    step_extension(sb, event, lib)
    step_qualifier(sb, lib)
    phases = step_concurrency(sb)
    step_destination(sb)
    step_trigger(sb)
    print(f"\nThe telemetry bus recorded {len(sb.telemetry):,} events (sb.telemetry.rows()).")
    save_pictures(sb, pictures, phases)
    print(
        'Next: the course, ten labs with exercises that check themselves: pip install ".[lab]" '
        "&& lambda-sandbox lab (docs/course.md). In a notebook: %load_ext sandbox."
    )
    return 0
