"""A new user reaches the tour and finishes it: JupyterLab on the course, "Run All" in a
real browser, every code cell of ``00-tour.ipynb`` executed and none raised.

Why it exists: the README's promise is "install, ``lambda-sandbox lab``, open the tour".
The nbclient test (tests/test_notebooks.py) proves the tour's code runs in a kernel; this
proves it runs the way a student meets it — the folder ``lambda-sandbox lab`` opens, a
JupyterLab page, the Run All command, no solutions (exercises show their verdicts without
help) — and it takes the server, the kernel and the sandbox's processes down afterwards.
Skips like tests/browser/test_jupyterlab.py when Chromium, JupyterLab or Playwright is
missing; ``.ci/run`` installs them.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from sandbox.cli_tools import notebooks_dir
from tests.browser.test_jupyterlab import (
    CHROMIUM_ARGS,
    KERNEL_IDLE,
    RUN_ALL,
    _chromium,
    _jupyterlab,
)

TOUR = "00-tour.ipynb"

# [code cells, code cells that never ran] of the open notebook's model
EXECUTED = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  let code = 0, missing = 0;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code') { code++; if (!cell.executionCount) missing++; }
  }
  return [code, missing];
}"""


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_new_user_runs_the_tour_to_the_end_in_jupyterlab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = _chromium()
    pytest.importorskip("jupyterlab", reason="pip install '.[lab]'; .ci/run does it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install '.[lab]'")
    monkeypatch.delenv("LAMBDA_SANDBOX_SOLUTIONS", raising=False)  # a student has none

    course = tmp_path / "course"  # what `lambda-sandbox lab` opens, copied: the run edits it
    shutil.copytree(notebooks_dir(), course, ignore=shutil.ignore_patterns("solutions"))
    assert (course / TOUR).exists()

    lab = _jupyterlab(tmp_path / "lab", course)
    with lab as (base_url, token), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.set_default_timeout(30_000)
            page.goto(f"{base_url}lab/tree/{TOUR}?reset&token={token}", timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            started = time.monotonic()
            page.evaluate(RUN_ALL)
            page.wait_for_function("() => window.__sbtRunAll !== null", timeout=180_000)
            assert page.evaluate("() => window.__sbtRunAll") == "done"
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            code, missing = page.evaluate(EXECUTED)
            tracebacks = page.locator(".jp-OutputArea-output").filter(has_text="Traceback")
            assert tracebacks.count() == 0, tracebacks.first.inner_text()
            assert code > 5 and missing == 0, f"{missing} of {code} code cells never ran"
            print(f"\nthe tour ran in {time.monotonic() - started:.1f} s in JupyterLab")
        finally:
            browser.close()
