"""The widgets work in a real browser: JupyterLab, Debian's Chromium, Playwright.

Why it exists: the widget tests in ``tests/notebook`` click buttons in Python, which proves
the callbacks but not that a student sees anything. Here a real JupyterLab server (on
127.0.0.1, with a token) runs a small notebook in a real kernel, Debian's Chromium renders
it (driven by Playwright's driver through ``executable_path``; no browser is downloaded),
the Invoke button of an ``InvokePanel`` is clicked with the mouse, and the test asserts
that the result appears in the panel and that the ``LifecycleTimeline`` image changes
(its PNG bytes, fetched in the page and hashed, not only its ``src``). Screenshots go to
``tmp_path``, and to ``docs/images/`` when ``LAMBDA_SANDBOX_UPDATE_SCREENSHOTS`` is set.
Recipe: notes/jupyter-recipes §7b.

Isolation: the server's config, runtime, data, workspace and settings directories, the
sandbox home and ``TMPDIR`` all live in ``tmp_path``; the kernel imports this checkout of
``sandbox`` (``PYTHONPATH`` = the repository root, ahead of any installed copy). Every wait
is bounded; the server, its kernels, their children and the browser are ended in
``finally`` blocks.

It skips, with the reason, only when Chromium, JupyterLab or Playwright is missing;
``.ci/run`` installs them so that CI runs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
NOTEBOOK = "browser_widgets.ipynb"
FUNCTION = "hello"
DONE_MARKER = "ALL CELLS RAN"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The notebook is the kernel's only view of the test: small, and the last cell prints a
# marker, so "every cell ran" is one text to wait for (run-all stops at the first error).
CELLS = [
    "import sandbox\nprint('sandbox imported from', sandbox.__file__)",
    "from sandbox import Sandbox",
    "sb = Sandbox.ephemeral()",
    (
        f"sb.create_function({FUNCTION!r}, '''\n"
        "def lambda_handler(event, context):\n"
        "    print('hello from the handler')\n"
        "    return {'greeting': 'hello ' + event.get('name', 'world')}\n"
        "''')"
    ),
    "from sandbox.notebook.widgets import Dashboard, InvokePanel, LifecycleTimeline",
    (
        f"panel = InvokePanel(sb, {FUNCTION!r})\n"
        'panel.builder.editor.value = \'{"name": "browser"}\'\n'
        "panel.builder.editor.layout.height = '48px'\n"
        "panel.add_class('sbt-invoke-panel')\n"
        "panel"
    ),
    (
        f"timeline = LifecycleTimeline(sb, {FUNCTION!r})\n"
        "timeline.add_class('sbt-timeline')\n"
        "timeline"
    ),
    (
        f"dashboard = Dashboard(sb, {FUNCTION!r})\n"
        "dashboard.invoke_panel.builder.editor.layout.height = '48px'\n"
        "dashboard.add_class('sbt-dashboard')\n"
        "dashboard"
    ),
    f"print({DONE_MARKER!r})",
]

# True when the notebook's kernel exists and is idle (window.jupyterapp comes from
# LabApp.expose_app_in_browser).
KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session
    && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

# Start "run all" without awaiting its promise (evaluate would then wait unboundedly);
# its outcome is polled with a bounded wait_for_function.
RUN_ALL = """() => {
  window.__sbtRunAll = null;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    () => { window.__sbtRunAll = 'done'; },
    (e) => { window.__sbtRunAll = 'error: ' + e; });
  return true;
}"""

# Screenshots: no status bar or header, cell code collapsed (commands exist in Lab 4).
TIDY = """async () => {
  const app = window.jupyterapp;
  for (const id of ['statusbar:toggle', 'application:toggle-header']) {
    if (app.commands.hasCommand(id) && app.commands.isToggled(id)) {
      await app.commands.execute(id);
    }
  }
  await app.commands.execute('notebook:hide-all-cell-code');
  return true;
}"""

# A hash of the bytes behind an <img> (blob: or data: URL), computed in the page.
IMAGE_HASH = """async (img) => {
  if (!img.src) return null;
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 0x01000193); }
  return bytes.length + ':' + (h >>> 0).toString(16);
}"""


def _need(condition: bool, reason: str) -> None:
    if not condition:
        pytest.skip(reason)


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    _need(
        os.access(path, os.X_OK),
        "Debian's Chromium is not installed (apt-get install chromium; .ci/run does it)",
    )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_lab_dirs(
    base: Path, port: int, token: str, root_dir: Path
) -> tuple[Path, dict[str, str]]:
    """Server config, settings that keep the screen clean, and the environment."""
    dirs = {name: base / name for name in ("config", "runtime", "data", "workspaces", "settings")}
    for path in dirs.values():
        path.mkdir(parents=True)
    config = dirs["config"] / "jupyter_server_config.py"
    config.write_text(
        "\n".join(
            [
                "c.ServerApp.ip = '127.0.0.1'",
                f"c.ServerApp.port = {port}",
                "c.ServerApp.port_retries = 0",
                "c.ServerApp.open_browser = False",
                "c.ServerApp.allow_root = True",
                f"c.ServerApp.root_dir = {str(root_dir)!r}",
                f"c.IdentityProvider.token = {token!r}",
                "c.ServerApp.password = ''",
                "c.LabApp.expose_app_in_browser = True",
                "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'",
                f"c.LabServerApp.workspaces_dir = {str(dirs['workspaces'])!r}",
                f"c.LabServerApp.user_settings_dir = {str(dirs['settings'])!r}",
                "",
            ]
        )
    )
    settings = {
        # no "official Jupyter news?" toast over the screenshot
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        # cells scrolled off-screen stay in the DOM, so locators find them
        "notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, value in settings.items():
        package, plugin = name.split("/")
        target = dirs["settings"] / "@jupyterlab" / package / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))

    tmp = base / "tmp"
    tmp.mkdir()
    env = dict(os.environ)
    pythonpath = env.get("PYTHONPATH")
    env.update(
        {
            # the kernel (a child of the server) imports this checkout, not a stale install
            "PYTHONPATH": os.pathsep.join([str(ROOT), *([pythonpath] if pythonpath else [])]),
            "JUPYTER_CONFIG_DIR": str(dirs["config"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "JUPYTER_DATA_DIR": str(dirs["data"]),
            "IPYTHONDIR": str(base / "ipython"),
            "LAMBDA_SANDBOX_HOME": str(base / "sandbox-home"),
            "TMPDIR": str(tmp),
            "MPLBACKEND": "Agg",
        }
    )
    return config, env


def _write_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, path)


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"JupyterLab was not ready in time:\n{log.read_text()[-3000:]}")


def _stop_server(server: subprocess.Popen[bytes], base_url: str, token: str) -> None:
    """Ask the server to shut down (it ends its kernels), then end whatever is left of
    it and its descendants (kernels run in sessions of their own; the sandbox's workers
    are the kernels' children)."""
    import psutil

    try:
        family = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(Exception):
        request = urllib.request.Request(
            f"{base_url}api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        urllib.request.urlopen(request, timeout=5).close()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
    _, alive = psutil.wait_procs(family, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5)


@contextlib.contextmanager
def _jupyterlab(base: Path, root_dir: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server; yields (base URL, token)."""
    token = secrets.token_hex(16)
    port = _free_port()
    config, env = _write_lab_dirs(base, port, token, root_dir)
    log = base / "jupyterlab.log"
    base_url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", f"--config={config}", "--no-browser"],
            cwd=root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(f"{base_url}api/status?token={token}", server, log, time.monotonic() + 60)
            yield base_url, token
        finally:
            _stop_server(server, base_url, token)


def _image_hash(page: Any, selector: str) -> str | None:
    img = page.locator(selector).first
    return img.evaluate(IMAGE_HASH)  # type: ignore[no-any-return]


def _wait_for_new_image(page: Any, selector: str, before: str | None, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    current = before
    while time.monotonic() < deadline:
        current = _image_hash(page, selector)
        if current is not None and current != before:
            return current
        page.wait_for_timeout(200)
    pytest.fail(f"the timeline image did not change in {seconds} s (still {current})")


def _click_invoke(page: Any, scope: str) -> None:
    button = page.locator(f"{scope} button", has_text="Invoke").first
    button.scroll_into_view_if_needed(timeout=10_000)
    button.click(timeout=10_000)


def _wait_for_result(page: Any, scope: str, seconds: float) -> str:
    """The text of the panel's Output area once it shows a REPORT line."""
    output = page.locator(f"{scope} .widget-output").first
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = output.inner_text(timeout=5_000)
        if "REPORT RequestId" in text:
            return text
        page.wait_for_timeout(200)
    pytest.fail(f"no result in {scope} after {seconds} s; it shows:\n{text}")


def _screenshot(page: Any, selectors: list[str], name: str, tmp_path: Path) -> None:
    """A screenshot of the notebook cells holding ``selectors`` (one clip around them)."""
    cells = [page.locator(".jp-Cell", has=page.locator(s)).first for s in selectors]
    cells[0].evaluate("(cell) => cell.scrollIntoView({block: 'start'})", timeout=10_000)
    page.wait_for_timeout(300)  # let the scroll settle
    boxes = [cell.bounding_box(timeout=10_000) for cell in cells]
    assert all(boxes), f"{name}: a cell is not rendered"
    viewport = page.viewport_size
    # JupyterLab scrolls inside the notebook panel, not the page: clip to the viewport
    left = max(0.0, min(b["x"] for b in boxes))
    top = max(0.0, min(b["y"] for b in boxes))
    right = min(float(viewport["width"]), max(b["x"] + b["width"] for b in boxes))
    bottom = min(float(viewport["height"]), max(b["y"] + b["height"] for b in boxes))
    shot = tmp_path / name
    page.screenshot(
        path=str(shot),
        clip={"x": left, "y": top, "width": right - left, "height": bottom - top},
        timeout=10_000,
    )
    if os.environ.get("LAMBDA_SANDBOX_UPDATE_SCREENSHOTS"):  # refresh the docs' pictures
        IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, IMAGES / name)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_invoke_panel_in_jupyterlab_shows_the_result_and_redraws_the_timeline(
    tmp_path: Path,
) -> None:
    chromium = _chromium()
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip("JupyterLab is not installed (pip install '.[lab]'; .ci/run does it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install '.[lab]'; .ci/run does it)")

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _write_notebook(notebooks / NOTEBOOK)
    started = time.monotonic()

    with _jupyterlab(tmp_path / "lab", notebooks) as (base_url, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.set_default_timeout(30_000)
            page.goto(f"{base_url}lab/tree/{NOTEBOOK}?reset&token={token}", timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # room for widgets

            page.evaluate(RUN_ALL)
            page.wait_for_function("() => window.__sbtRunAll !== null", timeout=120_000)
            state = page.evaluate("() => window.__sbtRunAll")
            assert state == "done", f"run-all: {state}"
            outputs = page.locator(".jp-OutputArea-output")
            outputs.filter(has_text=DONE_MARKER).first.wait_for(timeout=30_000)
            page.wait_for_function(KERNEL_IDLE, timeout=30_000)
            tracebacks = outputs.filter(has_text="Traceback")
            assert tracebacks.count() == 0, tracebacks.first.inner_text()
            # the kernel imported this checkout, not a copy in site-packages
            imported = outputs.filter(has_text="sandbox imported from").first.inner_text()
            assert str(ROOT / "sandbox" / "__init__.py") in imported, imported

            panel = ".sbt-invoke-panel"
            timeline_img = ".sbt-timeline img"
            page.locator(timeline_img).first.wait_for(state="visible", timeout=30_000)
            page.wait_for_function(
                "(s) => { const i = document.querySelector(s); return !!i && !!i.src; }",
                arg=timeline_img,
                timeout=30_000,
            )
            before = _image_hash(page, timeline_img)
            src_before = page.locator(timeline_img).first.get_attribute("src")

            _click_invoke(page, panel)
            text = _wait_for_result(page, panel, seconds=60)
            assert "StatusCode 200" in text, text
            assert '"greeting": "hello browser"' in text, text
            assert "hello from the handler" in text, text

            after = _wait_for_new_image(page, timeline_img, before, seconds=30)
            assert after != before
            assert page.locator(timeline_img).first.get_attribute("src") != src_before
            page.wait_for_timeout(500)  # the renderer may push one more frame (10 Hz)
            # the screenshots show the widgets, not the code or the chrome around them
            page.evaluate(TIDY)
            # the panel with its result and, below it, the redrawn timeline
            _screenshot(page, [panel, ".sbt-timeline"], "invoke-panel.png", tmp_path)

            dashboard = ".sbt-dashboard"
            dashboard_img = f"{dashboard} img.widget-image"  # the first is the Lifecycle tab's
            dash_before = _image_hash(page, dashboard_img)
            _click_invoke(page, dashboard)
            dash_text = _wait_for_result(page, dashboard, seconds=60)
            assert "StatusCode 200" in dash_text, dash_text
            _wait_for_new_image(page, dashboard_img, dash_before, seconds=30)
            page.wait_for_timeout(500)
            _screenshot(page, [dashboard], "dashboard.png", tmp_path)
        finally:
            browser.close()
    elapsed = time.monotonic() - started
    print(f"\nbrowser test: {elapsed:.1f} s, screenshots in {tmp_path}")
