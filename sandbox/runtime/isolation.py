"""What the function sees of the filesystem: ``/var/task``, ``/opt`` and ``/tmp``.

On Lambda the code is at ``/var/task`` (read-only), layers at ``/opt`` (read-only) and the
only writable place is ``/tmp`` (spec §1.1). Where Linux lets an unprivileged process make
a user and mount namespace, each environment gets exactly that view: a private ``/tmp``,
the version's code bound read-only at ``/var/task`` and its layers at ``/opt``; the
process runs as uid 993, like Lambda's ``sbx_user1051``. Elsewhere (macOS, kernels without
unprivileged user namespaces, or a Python installed under ``/opt``, ``/var`` or ``/tmp``
that the new view would hide) the same content sits at per-environment paths and
``LAMBDA_TASK_ROOT``/``TMPDIR`` point there (docs/fidelity.md).

:func:`enter` runs in the environment process, before anything starts a thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Isolation", "Mounts", "enter", "mount_view", "split", "supervise", "unshare"]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
LAMBDA_UID = 993  # sbx_user1051 on Lambda
_HIDDEN_ROOTS = ("/var", "/opt", "/tmp")
_SLEEP = shutil.which("sleep")  # PID 1 of an environment's namespace (found once, in the zygote)
_CAT = shutil.which("cat")  # PID 1 when the zygote forks: ends at the end of its input


@dataclass(frozen=True, slots=True)
class Mounts:
    """Paths the function sees, and the binds that make them (empty: no namespace)."""

    task_root: str
    tmp: str
    opt: str
    bind: dict[str, str] = field(default_factory=dict)


class Isolation:
    """Chooses between the namespace view and per-environment paths."""

    def __init__(self, mode: str | None = None) -> None:
        requested = mode or os.environ.get("LAMBDA_SANDBOX_ISOLATION", "auto")
        if requested not in ("auto", "namespaces", "paths"):
            raise ValueError(f"unknown isolation {requested!r} (auto, namespaces or paths)")
        self.reason = ""
        if requested == "paths":
            self.namespaces, self.reason = False, "paths requested"
        else:
            self.namespaces, self.reason = probe()
            if requested == "namespaces" and not self.namespaces:
                raise RuntimeError(f"namespace isolation is not available here: {self.reason}")
        self.mode = "namespaces" if self.namespaces else "paths"

    def mounts(self, code: Path, tmp: Path, opt: Path | None = None) -> Mounts:
        opt_dir = opt or _empty_dir(tmp.parent / "opt")
        if not self.namespaces:
            if os.geteuid() == 0:
                # root ignores the read-only modes of the shared extraction: give this
                # environment its own copy, so a write can never reach another one
                own = tmp.parent / "task"
                if not own.exists():
                    shutil.copytree(code, own, symlinks=True)
                code = own
                if opt is not None:
                    own_opt = tmp.parent / "opt-layers"
                    if not own_opt.exists():
                        shutil.copytree(opt, own_opt, symlinks=True)
                    opt_dir = own_opt
            return Mounts(str(code), str(tmp), str(opt_dir))
        tmp.chmod(0o1777)  # writable by the sandbox user
        return Mounts(
            "/var/task",
            "/tmp",
            "/opt",
            {"/var/task": str(code), "/opt": str(opt_dir), "/tmp": str(tmp)},
        )


def _empty_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


_PROBED: tuple[bool, str] | None = None


def probe() -> tuple[bool, str]:
    """Can this machine give environments their own ``/var/task``, ``/opt`` and ``/tmp``?
    (Measured once per process, in a throwaway child.)"""
    global _PROBED
    if _PROBED is None:
        _PROBED = _probe()
    return _PROBED


def _probe() -> tuple[bool, str]:
    if not sys.platform.startswith("linux"):
        return False, f"{sys.platform} has no mount namespaces"
    import json as _json

    import sandbox

    # what an environment process may still import after the view is in place
    needed = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(os.__file__),
        os.path.dirname(_json.__file__),
        os.path.dirname(os.path.dirname(sandbox.__file__)),
    }
    hidden = [p for p in needed if p and p.startswith(tuple(r + "/" for r in _HIDDEN_ROOTS))]
    if hidden:
        return False, f"Python or its packages live under {hidden[0]}, which the view would hide"
    code = "from sandbox.runtime.isolation import _selftest; _selftest()"
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            timeout=20,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"probe failed: {exc}"
    if result.returncode != 0 or b"ok" not in result.stdout:
        return False, (result.stderr.decode(errors="replace").strip().splitlines() or ["unknown"])[
            -1
        ]
    return True, "user and mount namespaces"


def _selftest() -> None:
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="lambda-sandbox-probe-"))
    for name in ("code", "opt", "tmp"):
        (base / name).mkdir()
    (base / "code" / "probe.txt").write_text("ok")
    (base / "tmp").chmod(0o1777)
    pid = os.fork()
    if pid == 0:
        try:
            enter(
                {
                    "/var/task": str(base / "code"),
                    "/opt": str(base / "opt"),
                    "/tmp": str(base / "tmp"),
                }
            )
            assert Path("/var/task/probe.txt").read_text() == "ok"
            Path("/tmp/w").write_text("x")
            try:
                Path("/var/task/nope").write_text("x")
                os._exit(3)
            except OSError:
                pass
            os._exit(0)
        except BaseException as exc:
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    import shutil

    shutil.rmtree(base, ignore_errors=True)
    if os.waitstatus_to_exitcode(status) == 0:
        print("ok")
    else:
        sys.exit(1)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


_LIBC: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL:
    """libc, loaded once (in the zygote, see :func:`preload`): a ``CDLL`` made after the
    fork would cost every environment its own copy of the pages it writes."""
    global _LIBC
    if _LIBC is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mount.argtypes = [
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_void_p,
        ]
        libc.unshare.argtypes = [ctypes.c_int]
        _LIBC = libc
    return _LIBC


def preload() -> None:
    """Called in the zygote before it forks: resolve what :func:`unshare` and
    :func:`mount_view` use."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            _libc()


def unshare(*, pid_namespace: bool) -> None:
    """New user and mount namespaces for this (single-threaded) process — uid 993 inside —
    and, with ``pid_namespace``, a new PID namespace for its *next children* (see
    :func:`supervise`). Kept small: every page touched here is copied into each process
    forked afterwards."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | (CLONE_NEWPID if pid_namespace else 0)
    _check(_libc().unshare(flags), "unshare")
    for path, text in (
        ("/proc/self/setgroups", "deny"),
        ("/proc/self/uid_map", f"{LAMBDA_UID} {uid} 1"),
        ("/proc/self/gid_map", f"{LAMBDA_UID} {gid} 1"),
    ):
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)


def mount_view(binds: dict[str, str]) -> None:
    """Inside the new namespaces: ``/var/task`` and ``/opt`` read-only, a private ``/tmp``.

    ``binds`` maps ``/var/task``, ``/opt`` and ``/tmp`` to host directories.
    """
    libc = _libc()

    def mount(
        src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
    ) -> None:
        _check(
            libc.mount(
                src.encode() if src else None,
                target.encode(),
                fstype.encode() if fstype else None,
                flags,
                data.encode() if data else None,
            ),
            f"mount {target}",
        )

    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # hold every source before anything is covered (sources may live under /tmp or /var)
    sources = {target: os.open(src, os.O_PATH | os.O_DIRECTORY) for target, src in binds.items()}
    mount("tmpfs", "/var", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for sub in ("task", "runtime", "lang", "tmp"):
        os.mkdir(f"/var/{sub}")
    for target in ("/var/task", "/opt"):
        if target in sources:
            mount(f"/proc/self/fd/{sources[target]}", target, None, MS_BIND | MS_REC)
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    if "/tmp" in sources:
        mount(f"/proc/self/fd/{sources['/tmp']}", "/tmp", None, MS_BIND | MS_REC)
    for fd in sources.values():
        os.close(fd)


def enter(binds: dict[str, str]) -> None:
    """Give this (single-threaded) process Lambda's filesystem view, in one step."""
    unshare(pid_namespace=False)
    mount_view(binds)


def _wait_for(pid: int) -> int:
    while True:
        try:
            reaped, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        if reaped == pid:
            return status


def _exit_like(status: int) -> None:
    """End this process the way ``status`` says another one ended."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def supervise(keep_open: tuple[int, ...]) -> None:
    """After ``unshare(pid_namespace=True)``: split into three processes and return in the
    runtime (which then calls :func:`mount_view`).

    * this process stays outside the namespace: it waits for the runtime, then ends the
      namespace and ends exactly as the runtime did (so the zygote reports the runtime's
      exit status);
    * its first child is PID 1 of the namespace, which only holds the namespace open (an
      exec'd ``sleep``: a few hundred KiB instead of a Python process); when it is killed,
      the kernel kills every process left in the namespace — nothing a handler starts, even
      in a new session, outlives its environment, and nothing outside can be signalled;
    * its second child, PID 2, is the runtime (as PID 1 it would ignore signals it has no
      handler for, so ``os.kill(os.getpid(), SIGKILL)`` in a handler would do nothing).

    Orphans of the handler's own processes stay zombies until the environment ends.
    ``keep_open`` are the runtime's descriptors, closed in the supervising process.
    """
    from sandbox.runtime.zygote import set_parent_death_signal

    init = os.fork()
    if init == 0:  # PID 1 of the namespace
        set_parent_death_signal(signal.SIGKILL)  # dies with the supervising process
        for fd in keep_open:
            os.close(fd)
        if _SLEEP:
            with contextlib.suppress(OSError):
                os.execv(_SLEEP, ["lambda-sandbox-init", "2147483647"])
        while True:  # no sleep binary: a Python init that reaps
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                signal.pause()
            except InterruptedError:
                continue
    runtime = os.fork()
    if runtime:  # outside the namespace: mirror the runtime's end
        for fd in keep_open:
            os.close(fd)
        status = _wait_for(runtime)
        with contextlib.suppress(OSError):
            os.kill(init, signal.SIGKILL)  # ends the namespace and whatever is left in it
        _wait_for(init)
        _exit_like(status)
    set_parent_death_signal(signal.SIGKILL)


def split(keep_open: tuple[int, ...], report_fd: int, life_fd: int) -> None:
    """After ``unshare(pid_namespace=True)`` in a process the zygote forked: start PID 1
    and the runtime, report both pids to the zygote on ``report_fd``, and end; returns in
    the runtime (which then calls :func:`mount_view`). One Python process per
    environment: this one ends, and the zygote (a child subreaper) adopts both.

    * PID 1 of the namespace is an exec'd ``cat`` reading ``life_fd``, a pipe whose only
      writer is the zygote: it ends when the zygote closes that end (the runtime has
      ended) or dies, and with it, by the kernel's hand, every process left in the
      namespace — nothing a handler starts, even in a new session, outlives its
      environment, and nothing outside can be signalled;
    * PID 2 is the runtime (as PID 1 it would ignore signals it has no handler for, so
      ``os.kill(os.getpid(), SIGKILL)`` in a handler would do nothing), the zygote's child
      once this process has ended, so the zygote sees how it ends.

    ``keep_open`` are the runtime's descriptors, closed in PID 1.
    """
    init = os.fork()
    if init == 0:  # PID 1 of the namespace
        with contextlib.suppress(OSError):
            os.dup2(life_fd, 0)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            for fd in (*keep_open, report_fd, life_fd, null):
                os.close(fd)
            if _CAT:
                os.execv(_CAT, ["lambda-sandbox-init"])
        while True:  # no cat binary: a Python init that waits for the end of its input
            try:
                if not os.read(0, 4096):
                    os._exit(0)
            except InterruptedError:
                continue
            except OSError:
                os._exit(0)
    runtime = os.fork()
    if runtime:  # tell the zygote who is who, and leave the two to it
        os.write(report_fd, f"{init} {runtime}".encode())
        os._exit(0)
    os.close(report_fd)
    os.close(life_fd)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # the environment's process group is the runtime's
