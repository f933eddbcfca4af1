"""The commands of ``lambda-sandbox`` that start something else: ``lab`` and ``serve``.

``lab`` hands over to JupyterLab on the lab notebooks; ``serve`` runs the AWS endpoint
(:mod:`sandbox.http.server`) in the foreground. Both import what they need only when run,
so the command line works (and says what to install) without the optional parts.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import ipaddress
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.cli_commands import UsageError

if TYPE_CHECKING:
    from sandbox import Sandbox

__all__ = ["NotAvailable", "add_parsers", "cmd_lab", "cmd_serve", "notebooks_dir"]

DEFAULT_PORT = 5055


class NotAvailable(Exception):
    """A part of the sandbox this installation lacks: exit code 2 with what to do."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``lab`` and ``serve``."""
    lab = sub.add_parser(
        "lab",
        help="open JupyterLab on the lab notebooks",
        description="Run JupyterLab (python -m jupyterlab) on the course: the checkout's "
        "notebooks/ when run from a clone, else a copy of the installed course in "
        "./lambda-sandbox-course (made once; your edits are kept). Start with 00-tour.ipynb. "
        'Needs the lab extra: pip install ".[lab]".',
    )
    lab.add_argument("--notebooks", metavar="DIR", help="another notebooks directory")
    lab.add_argument(
        "--print-command", action="store_true", help="print the command instead of running it"
    )
    serve = sub.add_parser(
        "serve",
        help="serve the store to boto3 and the AWS CLI on a local endpoint",
        description="Run the sandbox's AWS endpoint (Lambda REST API, SQS and SNS) in the "
        "foreground until Ctrl-C. Point a client at it with endpoint_url. Any --host other "
        "than loopback needs --token: the endpoint runs code for whoever reaches it.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to bind (127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"the port ({DEFAULT_PORT}; 0: any)"
    )
    serve.add_argument("--token", help="required by every request (as aws_access_key_id)")
    serve.add_argument("--home", default=argparse.SUPPRESS, help="the store directory")


COURSE_COPY = "lambda-sandbox-course"


def installed_course() -> Path:
    """Where ``pip install`` put the lab notebooks (``share/lambda-sandbox/notebooks`` under
    the environment's prefix: the wheel's data files, as Jupyter's own packages do)."""
    return Path(sys.prefix) / "share" / "lambda-sandbox" / "notebooks"


def notebooks_dir(given: str | None = None) -> Path:
    """The lab notebooks: ``given``, else the checkout's ``notebooks/``, else
    ``./notebooks``, else a copy of the installed course in ``./lambda-sandbox-course``.

    Why a copy: students edit the labs, and the installed files belong to the package
    (read-only on a shared JupyterHub image). The copy is made once; later runs only add
    notebooks a newer version brought, so nobody's work is overwritten."""
    if given is not None:
        candidates = [Path(given).expanduser()]
    else:
        checkout = Path(__file__).resolve().parent.parent / "notebooks"
        candidates = [checkout, Path.cwd() / "notebooks"]
    for path in candidates:
        if path.is_dir():
            return path
    source = installed_course()
    if given is None and source.is_dir():
        return copy_course(source, Path.cwd() / COURSE_COPY)
    raise UsageError(f"no notebooks directory at {candidates[0]}: give one with --notebooks DIR")


def copy_course(source: Path, target: Path) -> Path:
    """Copy the notebooks of ``source`` missing from ``target`` (never overwrite one)."""
    target.mkdir(parents=True, exist_ok=True)
    for notebook in sorted(source.glob("*.ipynb")):
        if not (target / notebook.name).exists():
            shutil.copyfile(notebook, target / notebook.name)
    return target


def cmd_lab(args: argparse.Namespace) -> int:
    """Run JupyterLab on the notebooks (or print the command)."""
    folder = notebooks_dir(args.notebooks)
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={folder}"]
    if args.print_command:
        print(" ".join(command))
        return 0
    if importlib.util.find_spec("jupyterlab") is None:
        raise NotAvailable('JupyterLab is not installed: pip install ".[lab]"')
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:  # Ctrl-C stops JupyterLab, which has said goodbye itself
        return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_serve_args(args: argparse.Namespace) -> None:
    """Refuse what must not start, before the store is opened."""
    if not _is_loopback(args.host) and not args.token:
        raise UsageError(
            f"--host {args.host} exposes code execution beyond this machine: "
            "give --token TOKEN (clients send it as aws_access_key_id)"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number (0-65535)")


def cmd_serve(sb: Sandbox, args: argparse.Namespace) -> int:
    """Serve ``sb`` until Ctrl-C."""
    try:
        server_module = importlib.import_module("sandbox.http.server")
    except ModuleNotFoundError as exc:
        if exc.name not in ("sandbox.http", "sandbox.http.server"):
            raise
        raise NotAvailable("the HTTP endpoint is not available in this build") from exc
    try:
        server = server_module.serve(sb, host=args.host, port=args.port, token=args.token)
    except OSError as exc:
        raise UsageError(f"cannot bind {args.host}:{args.port}: {exc.strerror or exc}") from exc
    print(f"lambda-sandbox: serving {sb.home} at {server.url} (Ctrl-C stops)")
    print(
        f"  boto3.client('lambda', endpoint_url='{server.url}', region_name='{sb.region}', "
        f"aws_access_key_id='{args.token or 'x'}', aws_secret_access_key='x')",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
