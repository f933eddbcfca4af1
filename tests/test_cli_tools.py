"""``lambda-sandbox lab`` and ``serve``: what they would run, and what they refuse."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sandbox import Sandbox
from sandbox.cli import main

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_lab_prints_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "--print-command"]) == 0
    command = capsys.readouterr().out.split()
    assert command == [sys.executable, "-m", "jupyterlab", f"--notebook-dir={NOTEBOOKS}"]


def test_lab_runs_jupyterlab_on_the_notebooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())

    def call(cmd: list[str]) -> int:
        ran.append(cmd)
        return 0

    monkeypatch.setattr("subprocess.call", call)
    assert main(["lab", "--notebooks", str(tmp_path)]) == 0
    assert ran == [[sys.executable, "-m", "jupyterlab", f"--notebook-dir={tmp_path}"]]


def test_lab_without_jupyterlab(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr("subprocess.call", lambda cmd: pytest.fail("ran"))
    assert main(["lab"]) == 2
    assert capsys.readouterr().err == (
        'lambda-sandbox: JupyterLab is not installed: pip install ".[lab]"\n'
    )


def test_lab_without_notebooks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "--notebooks", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err == f"lambda-sandbox: no notebooks directory at {tmp_path / 'none'}: " + (
        "give one with --notebooks DIR\n"
    )


def test_serve_refuses_a_public_host_without_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for host in ("0.0.0.0", "192.168.1.4", "example.org"):
        assert main(["serve", "--home", str(tmp_path), "--host", host]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"lambda-sandbox: --host {host} exposes code execution beyond this machine: "
            "give --token TOKEN (clients send it as aws_access_key_id)\n"
        )
    assert not (tmp_path / "lambda.db").exists()  # refused before the store was opened
    assert main(["serve", "--home", str(tmp_path), "--port", "70000"]) == 2
    assert "--port 70000 is not a port number" in capsys.readouterr().err


def test_serve_without_the_endpoint_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "sandbox.http.server", None)  # import fails
    assert main(["serve", "--home", str(tmp_path), "--port", "0"]) == 2
    assert capsys.readouterr().err == (
        "lambda-sandbox: the HTTP endpoint is not available in this build\n"
    )


def test_serve_passes_its_options_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command hands the store, host, port and token to ``serve`` and closes the
    server when ``serve_forever`` ends (Ctrl-C)."""
    calls: list[dict[str, Any]] = []

    class FakeServer:
        url = "http://10.0.0.5:6000"
        closed = False

        def serve_forever(self) -> None:
            raise KeyboardInterrupt

        def close(self) -> None:
            FakeServer.closed = True

    class FakeModule:
        @staticmethod
        def serve(sb: Sandbox, **kwargs: Any) -> FakeServer:
            calls.append({"home": sb.home, **kwargs})
            return FakeServer()

    monkeypatch.setitem(sys.modules, "sandbox.http.server", FakeModule)
    args = ["serve", "--home", str(tmp_path), "--host", "10.0.0.5", "--port", "6000"]
    assert main([*args, "--token", "s3cret"]) == 0
    assert calls == [{"home": tmp_path, "host": "10.0.0.5", "port": 6000, "token": "s3cret"}]
    assert FakeServer.closed
    out = capsys.readouterr().out
    assert out.startswith(f"lambda-sandbox: serving {tmp_path} at http://10.0.0.5:6000 ")
    assert "aws_access_key_id='s3cret'" in out


def test_serve_port_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class FakeModule:
        @staticmethod
        def serve(sb: Sandbox, **kwargs: Any) -> None:
            raise OSError(98, "Address already in use")

    monkeypatch.setitem(sys.modules, "sandbox.http.server", FakeModule)
    assert main(["serve", "--home", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "lambda-sandbox: cannot bind 127.0.0.1:5055: Address already in use\n"
    )


@pytest.mark.timeout(30)
def test_serve_answers_boto3_style_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real endpoint, on a free port: ListFunctions sees the store's functions."""
    server_module = pytest.importorskip("sandbox.http.server")
    with Sandbox(tmp_path) as sb:
        sb.create_function("listed", "def lambda_handler(e, c):\n    return 1\n")
    real_serve = server_module.serve
    answers: list[dict[str, Any]] = []

    def serve_then_ask(sb: Sandbox, **kwargs: Any) -> Any:
        server = real_serve(sb, **kwargs)

        def ask() -> None:
            try:
                with urllib.request.urlopen(f"{server.url}/2015-03-31/functions/", timeout=10) as r:
                    answers.append(json.loads(r.read()))
            finally:
                server.close()

        threading.Thread(target=ask, daemon=True).start()
        return server

    monkeypatch.setattr(server_module, "serve", serve_then_ask)
    assert main(["serve", "--home", str(tmp_path), "--port", "0"]) == 0
    assert [f["FunctionName"] for f in answers[0]["Functions"]] == ["listed"]
    assert "lambda-sandbox: serving " in capsys.readouterr().out


def test_lab_copies_the_installed_course_once_and_keeps_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed from a wheel (no checkout, no ./notebooks): the course is copied into
    ./lambda-sandbox-course, and a second run keeps the student's edits."""
    from sandbox import cli_tools

    prefix = tmp_path / "prefix"
    course = prefix / "share" / "lambda-sandbox" / "notebooks"
    course.mkdir(parents=True)
    (course / "00-tour.ipynb").write_text("{}")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(cli_tools.sys, "prefix", str(prefix))
    monkeypatch.setattr(cli_tools, "__file__", str(tmp_path / "site" / "sandbox" / "cli_tools.py"))
    folder = cli_tools.notebooks_dir()
    assert folder == work / "lambda-sandbox-course"
    assert (folder / "00-tour.ipynb").read_text() == "{}"
    (folder / "00-tour.ipynb").write_text("my answers")
    (course / "08-qualifiers.ipynb").write_text("{}")  # a newer version brings a lab
    assert cli_tools.notebooks_dir() == folder
    assert (folder / "00-tour.ipynb").read_text() == "my answers"
    assert (folder / "08-qualifiers.ipynb").exists()
