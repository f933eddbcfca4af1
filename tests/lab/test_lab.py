"""The ``sandbox.lab`` mechanism: set-up, the attempt's telemetry window, verdicts, hints,
solutions mode and the ``%%exercise`` magic, on a throwaway exercise."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from sandbox import Sandbox, lab
from sandbox.lab import NotYet, Window
from tests.conftest import ipython_shell

ECHO = "def lambda_handler(event, context):\n    return event\n"


def _setup(sb: Sandbox) -> Mapping[str, object]:
    try:
        sb.get_function("t-echo")
    except sb.exceptions.ResourceNotFoundException:
        sb.create_function("t-echo", ECHO)
    return {"greeting": "hi"}


@lab.exercise(
    "99.1",
    title="invoke t-echo three times",
    task="Invoke the function t-echo exactly three times.",
    hints=("Count your calls.", "sb.invoke runs one request."),
    setup=_setup,
)
def _three(sb: Sandbox, window: Window) -> str:
    n = len(window.invocations("t-echo"))
    if n != 3:
        raise NotYet(f"t-echo ran {n} time(s) in this attempt.")
    return "Three requests, three INVOKE phases."


@pytest.fixture
def esb(clock) -> Iterator[Sandbox]:  # type: ignore[no-untyped-def]
    sandbox = Sandbox.ephemeral(clock=clock)
    lab.reset_progress()
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.mark.process
def test_a_right_answer_passes_and_counts_only_its_own_window(esb: Sandbox) -> None:
    _setup(esb)
    esb.invoke("t-echo", {})  # before the attempt: must not count
    verdict = lab.run("99.1", esb, "for _ in range(3):\n    sb.invoke('t-echo', {'g': greeting})\n")
    assert verdict.passed, str(verdict)
    assert str(verdict).startswith("✅ Exercise 99.1")
    assert "Three requests" in str(verdict)
    assert "Passed." in verdict._repr_html_()


@pytest.mark.process
def test_a_wrong_answer_fails_with_what_was_seen_and_hints_in_turn(esb: Sandbox) -> None:
    first = lab.run("99.1", esb, "sb.invoke('t-echo', {})\n")
    assert not first.passed
    assert "t-echo ran 1 time(s)" in str(first)
    assert "Hint 1: Count your calls." in str(first)
    second = lab.run("99.1", esb, "")
    assert "ran 0 time(s)" in second.message
    assert "Hint 2: sb.invoke runs one request." in str(second)
    third = lab.run("99.1", esb, "")
    assert third.hint == "sb.invoke runs one request."  # the last hint stays
    assert "Not yet." in third._repr_html_()
    assert "3" in str(lab.progress(99)) and "tried" in str(lab.progress(99))


@pytest.mark.process
def test_code_that_raises_is_a_failed_attempt_not_a_crash(esb: Sandbox) -> None:
    verdict = lab.run("99.1", esb, "sb.invoke('no-such-function')\n")
    assert not verdict.passed
    assert "your code raised ResourceNotFoundException" in verdict.message


def test_unknown_ids_list_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"no exercise '0\.0'.*99\.1"):
        lab.get("0.0")


def test_wait_retries_an_asynchronous_check_until_its_deadline(esb: Sandbox) -> None:
    seen: list[int] = []

    @lab.exercise("99.2", title="eventually", task="t", wait=0.3)
    def _eventually(sb: Sandbox, window: Window) -> None:
        seen.append(1)
        if len(seen) < 3:
            raise NotYet("not yet there")

    assert lab.check("99.2", esb).passed
    assert len(seen) == 3

    @lab.exercise("99.3", title="never", task="t", wait=0.1)
    def _never(sb: Sandbox, window: Window) -> None:
        raise NotYet("still nothing")

    verdict = lab.check("99.3", esb)
    assert not verdict.passed and verdict.message == "still nothing"


def test_solutions_load_from_the_folder_in_the_environment(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "99-test.py").write_text(
        'SOLUTIONS = {"99.1": {"solution": "x = 1\\n", "wrong": [""], "secrets": []}}\n'
    )
    monkeypatch.delenv(lab.SOLUTIONS_ENV, raising=False)
    assert not lab.solutions_mode()
    assert lab.load_solutions() == {}
    monkeypatch.setenv(lab.SOLUTIONS_ENV, str(tmp_path))
    assert lab.solutions_mode()
    assert lab.load_solutions()["99.1"]["solution"] == "x = 1\n"


@pytest.mark.process
def test_the_cell_magic_runs_set_up_cell_and_check(
    esb: Sandbox, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    shell = ipython_shell()
    shell.run_line_magic("load_ext", "sandbox")
    shell.user_ns["sb"] = esb
    monkeypatch.delenv(lab.SOLUTIONS_ENV, raising=False)
    wrong = shell.run_cell_magic("exercise", "99.1", "sb.invoke('t-echo', {})\n")
    assert isinstance(wrong, lab.Verdict) and not wrong.passed
    assert shell.user_ns["greeting"] == "hi"  # the set-up's names, where missing
    right = shell.run_cell_magic(
        "exercise", "99.1", "for _ in range(3):\n    sb.invoke('t-echo', {})\n"
    )
    assert right.passed
    shell.run_line_magic("lambda", "use sb")  # %lambda drives the notebook's sb too
    magic_lines = shell.run_cell_magic(
        "exercise", "99.1", "%lambda invoke t-echo\n" * 3
    )  # IPython syntax works in an exercise cell
    assert magic_lines.passed, str(magic_lines)
    raised = shell.run_cell_magic("exercise", "99.1", "1 / 0\n")
    assert not raised.passed and "ZeroDivisionError" in raised.message
    assert shell.run_cell_magic("exercise", "nope", "pass\n") is None
    assert "no exercise 'nope'" in capsys.readouterr().out
    # solutions mode replaces the cell with the stored solution
    (tmp_path / "99.py").write_text(
        "SOLUTIONS = {'99.1': {'solution': "
        "'for _ in range(3):\\n    sb.invoke(\"t-echo\", {})\\n', 'wrong': [], 'secrets': []}}\n"
    )
    monkeypatch.setenv(lab.SOLUTIONS_ENV, str(tmp_path))
    assert shell.run_cell_magic("exercise", "99.1", "pass\n").passed
    del shell.user_ns["sb"]
