"""Every exercise of the course can pass and can fail.

For each exercise registered in ``sandbox.lab``: in a fresh sandbox, its stored solution
(``notebooks/solutions/``) passes; the empty answer (the cell as a student first sees it)
and every plausible wrong answer fail; and no failure's message or hint shows any of the
solution's secrets. The notebooks and the registry agree: every ``%%exercise ID`` cell of
``notebooks/*.ipynb`` names a registered exercise, and every registered exercise appears
in exactly one lab.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from sandbox import Sandbox, lab

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = lab.load_solutions(ROOT / "notebooks" / "solutions")
EXERCISES = [e for e in lab.exercises() if e.lab < 90]  # 9x: the mechanism's own tests
_CELL = re.compile(r"\A%%exercise\s+(\S+)")


def _notebook_ids() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            match = _CELL.match(cell.source) if cell.cell_type == "code" else None
            if match:
                found.setdefault(match.group(1), []).append(path.name)
    return found


@pytest.fixture
def fresh() -> Iterator[Sandbox]:
    sandbox = Sandbox.ephemeral(concurrency_limit=50)
    lab.reset_progress()
    try:
        yield sandbox
    finally:
        sandbox.close()


def test_every_notebook_exercise_is_registered_and_has_a_solution() -> None:
    in_notebooks = _notebook_ids()
    registered = {e.id for e in EXERCISES}
    assert set(in_notebooks) == registered, set(in_notebooks) ^ registered
    assert all(len(names) == 1 for names in in_notebooks.values()), in_notebooks
    for ex in EXERCISES:
        answer = SOLUTIONS.get(ex.id)
        assert answer, f"exercise {ex.id} has no solution in notebooks/solutions/"
        assert answer["wrong"], f"exercise {ex.id} has no wrong answer to prove it can fail"
        assert ex.hints, f"exercise {ex.id} gives no hint"


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_the_solution_passes(ex: lab.Exercise, fresh: Sandbox) -> None:
    verdict = lab.run(ex.id, fresh, SOLUTIONS[ex.id]["solution"])
    assert verdict.passed, str(verdict)


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_the_empty_and_the_wrong_answers_fail_without_revealing_the_answer(
    ex: lab.Exercise,
) -> None:
    """Each answer in a sandbox of its own, all at once: a failing check of something
    asynchronous keeps looking for its ``wait`` seconds, and those waits overlap."""
    answer = SOLUTIONS[ex.id]
    codes = ["", *answer["wrong"]]

    def attempt(code: str) -> lab.Verdict:
        sandbox = Sandbox.ephemeral(concurrency_limit=50)
        try:
            return lab.run(ex.id, sandbox, code)
        finally:
            sandbox.close()

    with ThreadPoolExecutor(max_workers=len(codes)) as pool:
        verdicts = list(pool.map(attempt, codes))
    for code, verdict in zip(codes, verdicts, strict=True):
        assert not verdict.passed, f"{ex.id} passed a wrong answer:\n{code}"
        shown = "\n".join([str(verdict), verdict._repr_html_(), *ex.hints, ex.task])
        for secret in answer.get("secrets", []):
            assert secret not in shown, f"{ex.id} reveals {secret!r} for the answer:\n{code}"
