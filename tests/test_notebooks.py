"""The lab notebooks run: every ``notebooks/*.ipynb`` executes top to bottom in a kernel.

Why it exists: a lab that stops half-way with a traceback is a broken lesson. Each notebook
runs in a real ``python3`` kernel through nbclient (notes/jupyter-recipes §8), with
``LAMBDA_SANDBOX_HOME`` and the working directory inside pytest's ``tmp_path`` so nothing
touches ``~``, and with the repository root on ``PYTHONPATH`` so the kernel imports this
checkout of ``sandbox`` even when it is not installed. The kernel inherits both variables.

Besides "no cell raised", a few outputs are checked per notebook: the lessons they exist
to show (a cold start's ``REPORT`` with ``Init Duration``; a notebook-defined handler that
ran in another process than the kernel), from the dict below and from
``tests/notebooks_expected/<notebook stem>.txt`` (one expected string per line).

The labs run in solutions mode (``LAMBDA_SANDBOX_SOLUTIONS``, see ``sandbox.lab``): every
``%%exercise`` cell runs its stored solution, and its verdict must say it passed. That the
checks also *fail* on wrong answers is tests/lab/test_exercises.py's business.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "python3"

# Text that some code cell's output must contain, per notebook.
EXPECTED_OUTPUT: dict[str, tuple[str, ...]] = {
    "01-first-function.ipynb": ("REPORT RequestId", "Init Duration", "Sandbox.Timedout"),
    "05-extensions.ipynb": (
        "[logger] registered for",
        "SHUTDOWN spindown",
        "Extension.Crash",
        "[telemetry] platform.report",
    ),
    "06-destinations.ipynb": (
        "202 None",
        "done RetriesExhausted attempts: 3",
        "tried again after 60 s",
        '"condition": "RetriesExhausted"',
        "error: order 2 has no address",
        "NOTIFY: Success from ship -> {'shipped': 3}",
        "ErrorMessage: order 4 has no address",
        "and the on-failure destination got: RetriesExhausted",
        '"condition": "ZeroReservedConcurrency"',
        '"approximateInvokeCount": 0',
    ),
    "07-triggers.ipynb": (
        "state: Enabled",
        "closed by batch-size",
        "closed by window",
        "RetryAttemptsExhausted",
        '"batchSize": 1',
        "got ['poison']",
        "ANNOUNCE: holiday.jpg is 4096 bytes",
        "s3 invoked -> measure",
        "sns invoked -> announce",
        "has no resource-based policy: add_permission for sns.amazonaws.com",
        "Scheduled Event",
    ),
    "03-layers.ipynb": (
        "'shout': 'LAYERS ARE SHARED!'",
        "config, branding: {'settings': {'greeting': 'HOWDY'}",
        "Cannot reference more than 5 layers.",
        "branding:1 and arn:aws:lambda:us-east-1:123456789012:layer:branding:2 are versions",
        "403 User: arn:aws:iam::210987654321:root is not authorized",
        "CROSS ACCOUNT!",
        "partner's function: STILL HERE!",
        "textkit:1 does not exist.",
        "FROM AN IMAGE?",
        "Please don't provide Handler or Runtime or Layer",
    ),
}
EXPECTED_DIR = Path(__file__).resolve().parent / "notebooks_expected"


def _expected(name: str) -> list[str]:
    """The strings some output of notebook ``name`` must contain."""
    extra = EXPECTED_DIR / f"{Path(name).stem}.txt"
    lines = extra.read_text().splitlines() if extra.exists() else []
    return [*EXPECTED_OUTPUT.get(name, ()), *(line for line in lines if line.strip())]


# Notebooks that print "kernel pid <n>, handler pid <m>" to show where a handler ran.
SHOWS_PROCESSES = {"01-first-function.ipynb"}
_PIDS = re.compile(r"kernel pid (\d+), handler pid (\d+)")


def _outputs_text(cell: dict[str, object]) -> str:
    """Everything a code cell printed or displayed, as text."""
    parts: list[str] = []
    for output in cell.get("outputs", []):  # type: ignore[union-attr]
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data"):
            parts.append(output["data"].get("text/plain", ""))
        elif output["output_type"] == "error":
            parts.append("\n".join(output["traceback"]))
    return "".join(parts)


def _ensure_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the ``python3`` kernelspec findable: install ipykernel's into ``tmp_path``
    (not into ``~``) when this machine has none."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL in KernelSpecManager().find_kernel_specs():
        return
    from ipykernel.kernelspec import install

    prefix = tmp_path / "jupyter-prefix"
    install(kernel_name=KERNEL, prefix=str(prefix))
    data_dir = prefix / "share" / "jupyter"
    existing = os.environ.get("JUPYTER_PATH")
    monkeypatch.setenv(
        "JUPYTER_PATH", os.pathsep.join([str(data_dir), *([existing] if existing else [])])
    )
    assert KERNEL in KernelSpecManager().find_kernel_specs()


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_SANDBOX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAMBDA_SANDBOX_SOLUTIONS", str(ROOT / "notebooks" / "solutions"))
    pythonpath = os.environ.get("PYTHONPATH")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT), *([pythonpath] if pythonpath else [])])
    )
    _ensure_kernel(tmp_path, monkeypatch)
    workdir = tmp_path / "work"
    workdir.mkdir()

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)

    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = [
        (number, cell.source)
        for number, cell in enumerate(code_cells, 1)
        if any(output["output_type"] == "error" for output in cell.get("outputs", []))
    ]
    assert not errors, f"{path.name}: code cells with an error output: {errors}"
    texts = [_outputs_text(cell) for cell in code_cells]
    everything = "\n".join(texts)

    for expected in _expected(path.name):
        assert expected in everything, f"{path.name}: no cell output contains {expected!r}"
    for cell, text in zip(code_cells, texts, strict=True):
        if cell.source.startswith("%%exercise"):
            first = cell.source.splitlines()[0]
            assert "✅ Exercise" in text and "not yet" not in text, f"{path.name} {first}: {text}"
    if path.name.startswith("01-"):
        # the first invocation's own cell shows a cold start's REPORT line
        invoke_cell = next(
            text
            for cell, text in zip(code_cells, texts, strict=True)
            if "sb.invoke(" in cell.source
        )
        assert re.search(r"REPORT RequestId: \S+\t.*Init Duration: [\d.]+ ms", invoke_cell), (
            invoke_cell
        )

    if path.name in SHOWS_PROCESSES:
        match = _PIDS.search(everything)
        assert match, f"{path.name}: no 'kernel pid <n>, handler pid <m>' line in the outputs"
        kernel_pid, handler_pid = (int(g) for g in match.groups())
        assert kernel_pid != handler_pid, "the handler ran inside the kernel process"
        assert handler_pid != os.getpid()  # nor in pytest's process
        assert kernel_pid != os.getpid()


def test_notebooks_exist_and_have_no_stored_outputs() -> None:
    """Labs are committed clean: students run them, the repository holds no stale output."""
    assert NOTEBOOKS, "no notebooks/*.ipynb found"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown", f"{path.name}: start with an introduction"
        stored = [
            c.source for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)
        ]
        assert not stored, f"{path.name}: cells with stored outputs: {stored}"
