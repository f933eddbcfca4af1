"""Exercises that check themselves: the end of every lab.

Why it exists: a student who changes a setting and sees "it ran" has not learnt whether it
ran *for the right reason*. Each exercise states a task; its check reads the sandbox's real
state and telemetry (the same bus the plots and ``sb.explain`` read), says what it saw
when the task is not met yet, offers hints one at a time, and never prints the answer.

In a notebook an exercise is one cell (``%load_ext sandbox`` registers the magic)::

    %%exercise 4.1
    # your code here: make the third burst throttle exactly 5 requests
    sb.put_function_concurrency("burst", ...)

The cell magic runs the exercise's set-up (idempotent: it creates what the task needs if
the lab's earlier cells did not), then the cell, then the check, and shows a verdict.
Without IPython, :func:`attempt` does the same around a block::

    with lab.attempt("4.1", sb):
        sb.put_function_concurrency("burst", 10)

Exercises are defined next to this module (``sandbox/lab/lab_NN_*.py``) with
:func:`exercise`. Solutions are not part of the package: they live in
``notebooks/solutions/`` with plausible wrong answers, so an instructor can hand out the
labs without them. With ``LAMBDA_SANDBOX_SOLUTIONS`` set to that folder the magic runs
the solution instead of the cell: CI executes every lab that way to prove every check can
pass, and tests run every wrong answer to prove every check can fail.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.core.telemetry import RecordKind, TelemetryRecord

if TYPE_CHECKING:
    from sandbox import Sandbox

__all__ = [
    "SOLUTIONS_ENV",
    "Exercise",
    "NotYet",
    "Verdict",
    "Window",
    "attempt",
    "check",
    "ensure_function",
    "exercise",
    "exercises",
    "get",
    "load_solutions",
    "progress",
    "run",
]

SOLUTIONS_ENV = "LAMBDA_SANDBOX_SOLUTIONS"


class NotYet(Exception):
    """Raised by a check: the task is not met. The message says what the check *saw*
    ("the third burst throttled 0 requests"), never what the answer is."""


@dataclass(frozen=True)
class Window:
    """The telemetry an attempt produced: records emitted after the attempt started.

    Checks read the bus through this, so what happened in earlier cells (or an earlier,
    wrong attempt) never counts for the current one."""

    sandbox: Sandbox
    since_seq: int

    def records(
        self, kind: RecordKind | str | None = None, function_name: str | None = None
    ) -> list[TelemetryRecord]:
        """The records since the attempt started, oldest first."""
        return self.sandbox.telemetry.records(
            kind=kind, function_name=function_name, since_seq=self.since_seq
        )

    def invocations(self, function_name: str | None = None) -> list[TelemetryRecord]:
        """Finished invocations (``detail`` has ``status``, ``cold``, ``executed_version``)."""
        return self.records(RecordKind.INVOCATION, function_name)

    def throttles(self, function_name: str | None = None) -> list[TelemetryRecord]:
        """Requests refused by a limit (``detail`` has ``reason``)."""
        return self.records(RecordKind.THROTTLE, function_name)

    def cold_starts(self, function_name: str | None = None) -> list[TelemetryRecord]:
        """Invocations that waited for an INIT."""
        return [r for r in self.invocations(function_name) if r.detail.get("cold")]


def ensure_function(sb: Sandbox, name: str, code: str, **settings: Any) -> None:
    """Create ``name`` from ``code`` unless it exists: the idempotent step of most set-ups
    (a student who ran the lab's cells has it already, the harness's fresh sandbox not)."""
    try:
        sb.get_function(name)
    except sb.exceptions.ResourceNotFoundException:
        sb.create_function(name, code, **settings)


Check = Callable[["Sandbox", Window], "str | None"]
Setup = Callable[["Sandbox"], "Mapping[str, object] | None"]


@dataclass(frozen=True)
class Exercise:
    """One task of a lab: ``id`` is "<lab>.<n>" (``"4.1"``)."""

    id: str
    title: str
    task: str
    check: Check
    hints: tuple[str, ...] = ()
    setup: Setup | None = None
    wait: float = 0.0  # seconds the check may keep retrying (asynchronous effects)

    @property
    def lab(self) -> int:
        return int(self.id.split(".")[0])


@dataclass(frozen=True)
class Verdict:
    """What a check found. ``message`` is the check's observation (a failure) or its
    congratulation (a success); ``hint`` is the next hint after a failure."""

    exercise: Exercise
    passed: bool
    message: str
    hint: str = ""
    attempts: int = 1

    def __str__(self) -> str:
        head = f"Exercise {self.exercise.id} ({self.exercise.title})"
        if self.passed:
            return f"✅ {head}: passed." + (f" {self.message}" if self.message else "")
        text = f"❌ {head}: not yet. {self.message}"
        return text + (f"\n   Hint {self._hint_number()}: {self.hint}" if self.hint else "")

    def __bool__(self) -> bool:
        return self.passed

    def _hint_number(self) -> int:
        return min(self.attempts, len(self.exercise.hints))

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        colour, mark = ("#e6f4ea", "✅") if self.passed else ("#fdecea", "❌")
        title = f"<b>{mark} Exercise {escape(self.exercise.id)}</b> {escape(self.exercise.title)}"
        body = escape(self.message)
        if not self.passed:
            body = f"<b>Not yet.</b> {body}"
            if self.hint:
                body += f"<br><i>Hint {self._hint_number()}:</i> {escape(self.hint)}"
        elif body:
            body = f"<b>Passed.</b> {body}"
        else:
            body = "<b>Passed.</b>"
        return (
            f'<div style="background:{colour};padding:6px 10px;border-radius:4px">'
            f"{title}<br>{body}</div>"
        )


_REGISTRY: dict[str, Exercise] = {}
_ATTEMPTS: dict[str, int] = {}
_PASSED: set[str] = set()
_LOADED = False
_LOCK = threading.Lock()


def exercise(
    id: str,
    *,
    title: str,
    task: str,
    hints: tuple[str, ...] = (),
    setup: Setup | None = None,
    wait: float = 0.0,
) -> Callable[[Check], Check]:
    """Register the decorated check as exercise ``id``.

    The check gets the sandbox and the attempt's :class:`Window`; it returns ``None`` or a
    short congratulation when the task is met, and raises :class:`NotYet` with what it saw
    otherwise. ``setup(sb)`` must be idempotent and may return names the task's code uses
    (they are added to a notebook's namespace only where missing). ``wait`` lets a check of
    something asynchronous retry for that many seconds before it gives its verdict."""

    def register(check_fn: Check) -> Check:
        if id in _REGISTRY and _REGISTRY[id].check.__qualname__ != check_fn.__qualname__:
            raise ValueError(f"exercise {id} is defined twice")
        _REGISTRY[id] = Exercise(id, title, task, check_fn, tuple(hints), setup, wait)
        return check_fn

    return register


def _load() -> None:
    """Import every ``sandbox.lab.lab_*`` module once (each registers its exercises)."""
    global _LOADED
    with _LOCK:
        if _LOADED:
            return
        for module in pkgutil.iter_modules(__path__):
            if module.name.startswith("lab_"):
                importlib.import_module(f"{__name__}.{module.name}")
        _LOADED = True


def exercises(lab: int | None = None) -> list[Exercise]:
    """Every exercise (of one lab), in order."""
    _load()
    found = [e for e in _REGISTRY.values() if lab is None or e.lab == lab]
    return sorted(found, key=lambda e: tuple(int(part) for part in e.id.split(".")))


def get(exercise_id: str) -> Exercise:
    """The exercise ``exercise_id``; a ``KeyError`` that lists the known ids otherwise."""
    _load()
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        known = ", ".join(e.id for e in exercises())
        raise KeyError(f"no exercise {exercise_id!r}; the exercises are: {known}") from None


def start(exercise_id: str, sb: Sandbox) -> tuple[Exercise, Window, dict[str, object]]:
    """Run the exercise's set-up and open its telemetry window (the magic's first step)."""
    ex = get(exercise_id)
    names = dict(ex.setup(sb) or {}) if ex.setup else {}
    last = sb.telemetry.records()
    return ex, Window(sb, last[-1].seq if last else 0), names


def check(exercise_id: str, sb: Sandbox, window: Window | None = None) -> Verdict:
    """Check ``exercise_id`` against ``sb`` now (over all telemetry kept, unless a window
    is given), count the attempt and choose the next hint."""
    ex = get(exercise_id)
    window = window or Window(sb, 0)
    deadline = time.monotonic() + ex.wait
    while True:
        try:
            message = ex.check(sb, window) or ""
            return _verdict(ex, passed=True, message=message)
        except NotYet as exc:
            if time.monotonic() >= deadline:
                return _verdict(ex, passed=False, message=str(exc))
        time.sleep(0.05)


def failed(exercise_id: str, error: BaseException) -> Verdict:
    """The verdict when the attempt's own code raised: the error is the observation."""
    message = f"your code raised {type(error).__name__}: {error}"
    return _verdict(get(exercise_id), passed=False, message=message)


def _verdict(ex: Exercise, *, passed: bool, message: str) -> Verdict:
    with _LOCK:
        attempts = _ATTEMPTS[ex.id] = _ATTEMPTS.get(ex.id, 0) + 1
        if passed:
            _PASSED.add(ex.id)
    hint = "" if passed or not ex.hints else ex.hints[min(attempts, len(ex.hints)) - 1]
    return Verdict(ex, passed, message, hint, attempts)


def run(
    exercise_id: str, sb: Sandbox, code: str, namespace: dict[str, object] | None = None
) -> Verdict:
    """Set up, execute ``code`` (Python source) with ``sb`` in its namespace, and check:
    what the magic does, callable from tests and plain Python."""
    ex, window, names = start(exercise_id, sb)
    scope: dict[str, object] = {"sb": sb, "__name__": "__main__"}
    scope.update(names)
    if namespace:
        scope.update(namespace)
    try:
        exec(compile(code, f"<exercise {ex.id}>", "exec"), scope)
    except Exception as exc:  # a wrong attempt is a verdict, not a crash
        return failed(ex.id, exc)
    return check(ex.id, sb, window)


@contextmanager
def attempt(exercise_id: str, sb: Sandbox) -> Iterator[Window]:
    """``with lab.attempt("4.1", sb): ...``: set up, run the block, print the verdict."""
    ex, window, _names = start(exercise_id, sb)
    try:
        yield window
    except Exception as exc:
        print(failed(ex.id, exc))
        return
    print(check(ex.id, sb, window))


def load_solutions(folder: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """The solutions in ``folder`` (default: ``$LAMBDA_SANDBOX_SOLUTIONS``): every
    ``*.py`` there defines ``SOLUTIONS = {"4.1": {"solution": code, "wrong": [code, ...],
    "secrets": [text, ...]}}``. ``secrets`` are strings a check's output must never show."""
    where = folder if folder is not None else os.environ.get(SOLUTIONS_ENV)
    if not where:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(where).glob("*.py")):
        scope: dict[str, Any] = {"__name__": f"solutions_{path.stem}"}
        exec(compile(path.read_text(), str(path), "exec"), scope)
        found.update(scope.get("SOLUTIONS", {}))
    return found


def solutions_mode() -> bool:
    """True when ``$LAMBDA_SANDBOX_SOLUTIONS`` names a folder of solutions."""
    return bool(os.environ.get(SOLUTIONS_ENV))


@dataclass
class _Progress:
    rows: list[tuple[str, str, str, int]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{'exercise':<9} {'status':<8} {'attempts':>8}  title"]
        lines += [f"{i:<9} {s:<8} {n:>8}  {t}" for i, t, s, n in self.rows]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{escape(i)}</td><td>{escape(s)}</td><td>{n}</td><td>{escape(t)}</td></tr>"
            for i, t, s, n in self.rows
        )
        return (
            "<table><tr><th>exercise</th><th>status</th><th>attempts</th><th>title</th></tr>"
            f"{cells}</table>"
        )


def progress(lab: int | None = None) -> _Progress:
    """This kernel's progress: each exercise passed, tried, or not tried yet."""
    rows = []
    for ex in exercises(lab):
        tries = _ATTEMPTS.get(ex.id, 0)
        status = "passed" if ex.id in _PASSED else ("tried" if tries else "-")
        rows.append((ex.id, ex.title, status, tries))
    return _Progress(rows)


def reset_progress() -> None:
    """Forget attempts and passes (tests; a student starting a lab again)."""
    with _LOCK:
        _ATTEMPTS.clear()
        _PASSED.clear()
