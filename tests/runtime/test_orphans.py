"""No child outlives its sandbox, and a Jupyter interrupt does not kill idle environments.

Each test runs the owner of a sandbox in its own process (a stand-in for a Jupyter kernel)
and watches its environment processes from outside.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]

OWNER = """
import os, signal, sys, time
from sandbox import Sandbox
signal.signal(signal.SIGINT, lambda *a: print("interrupted", flush=True))  # as ipykernel does
sb = Sandbox(sys.argv[1])
sb.create_function("bg", '''
import os, subprocess, time
def lambda_handler(event, context):
    subprocess.Popen(["sleep", "300"])  # the handler's own child process
    me = os.readlink("/proc/self")  # host pids (the handler may be in a PID namespace)
    time.sleep(0.05)
    return int(open(f"/proc/{me}/task/{me}/children").read().split()[0])
''')
r = sb.invoke("bg")
env = sb.environments()[0]
zygote = sb._shared.engine().launcher.zygote_pid or 0  # 0: spawned, no zygote
print("pids", env["pid"], r.payload, zygote, flush=True)
for line in sys.stdin:  # each line: invoke again and report
    r = sb.invoke("bg")
    print("again", r.status_code, r.function_error, sb.environments()[0]["pid"], flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _start_owner(home: Path) -> tuple[subprocess.Popen[str], list[int]]:
    owner = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OWNER), str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    assert owner.stdout is not None
    line = owner.stdout.readline()
    assert line.startswith("pids"), line
    return owner, [int(p) for p in line.split()[1:] if int(p)]


def _wait_gone(pids: list[int], within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        if not any(_alive(p) for p in pids):
            return time.monotonic() - start
        time.sleep(0.02)
    alive = [p for p in pids if _alive(p)]
    raise AssertionError(f"still alive after {within} s: {alive}")


def test_owner_killed_by_sigkill_leaves_no_process(tmp_path: Path) -> None:
    owner, pids = _start_owner(tmp_path)
    env_pid, grandchild = pids[:2]
    assert all(_alive(p) for p in pids)
    owner.kill()  # SIGKILL: no atexit, no cleanup code runs
    owner.wait(10)
    took = _wait_gone(pids, within=1.0)  # issue: every environment process exits within 1 s
    assert took <= 1.0, (env_pid, grandchild, pids[2:])


def test_interrupt_does_not_kill_idle_environments(tmp_path: Path) -> None:
    owner, pids = _start_owner(tmp_path)
    env_pid = pids[0]
    assert owner.stdin is not None and owner.stdout is not None
    try:
        os.killpg(owner.pid, signal.SIGINT)  # what Jupyter's "interrupt kernel" sends
        assert owner.stdout.readline().strip() == "interrupted"
        time.sleep(0.2)
        assert _alive(env_pid), "an idle environment died on a kernel interrupt"
        owner.stdin.write("go\n")
        owner.stdin.flush()
        status, error, pid_after = owner.stdout.readline().split()[1:]
        assert (status, error, int(pid_after)) == ("200", "None", env_pid)  # same, warm env
    finally:
        owner.kill()
        owner.wait(10)
        _wait_gone(pids, within=2.0)


def test_normal_exit_closes_everything(tmp_path: Path) -> None:
    owner, pids = _start_owner(tmp_path)
    assert owner.stdin is not None
    owner.stdin.close()  # the script ends: atexit closes the sandbox
    assert owner.wait(20) == 0
    _wait_gone(pids, within=2.0)
