"""The zygote: a pre-warmed fork server that starts execution environments.

Why: starting Python costs ~70 ms and 12 MiB per process, a fork of a process that has
already imported the runtime costs about a millisecond and 2-3 MiB (notes/jupyter-recipes
§2). Forking the Jupyter kernel itself is unsafe (it runs eight threads whose locks a
child would inherit), so one single-threaded helper process — the zygote — is started
once through ``multiprocess`` and forks every environment.

The zygote runs in its own process group (a Jupyter "interrupt" does not reach it) and
dies with the process that owns the sandbox (``PR_SET_PDEATHSIG``); every environment
dies with the zygote, even while frozen, because SIGKILL also reaches stopped processes.

Protocol on the zygote socket (framed as in :mod:`sandbox.runtime.bootstrap`):

* parent -> zygote ``{"op": "fork", "seq": n}`` + spec JSON, with the environment's
  control and log descriptors attached (``SCM_RIGHTS``);
* zygote -> parent ``{"op": "forked", "seq": n, "pid": pid}`` and, whenever a child
  ends, ``{"op": "exit", "pid": pid, "status": wait_status}``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
from typing import Any

from sandbox.runtime import bootstrap, memorymerge
from sandbox.runtime.limits import apply_limits

__all__ = ["harden_child", "run_environment", "set_parent_death_signal", "zygote_main"]

_LEN = struct.Struct("!I")
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _find_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# looked up once, in the zygote: a ``CDLL`` made after the fork (it creates a class and
# its caches) would cost every environment a few hundred KiB of private pages
_PRCTL = _find_prctl()


def _prctl(option: int, value: int) -> bool:
    if _PRCTL is None:
        return False
    return bool(_PRCTL(option, value, 0, 0, 0) == 0)


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent (thread) dies."""
    return _prctl(PR_SET_PDEATHSIG, int(sig))


def harden_child(expected_parent: int) -> None:
    """First lines of every environment: own process group, die with the parent."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != expected_parent:  # the parent died before prctl took effect
        os._exit(70)


def _send(sock: socket.socket, header: dict[str, Any]) -> None:
    head = json.dumps(header).encode()
    sock.sendall(_LEN.pack(len(head) + 1) + head + b"\n")


def _recv_request(sock: socket.socket) -> tuple[dict[str, Any], bytes, list[int]] | None:
    """One fork request: its header, the request (header line and spec) and the two
    descriptors."""
    raw, fds, _flags, _addr = socket.recv_fds(sock, 4, 2)
    if not raw:
        return None
    while len(raw) < 4:
        more = sock.recv(4 - len(raw))
        if not more:
            return None
        raw += more
    (size,) = _LEN.unpack(raw)
    data = b""
    while len(data) < size:
        chunk, more_fds, _flags, _addr = socket.recv_fds(sock, size - len(data), 2)
        if not chunk:
            return None
        data += chunk
        fds.extend(more_fds)
    return json.loads(data[: data.index(b"\n")]), data, fds


def _start(req: socket.socket, forker: int, manager: int) -> None:
    """In a child of the forking half: take one request and start its environment (both
    views go through such a starter, which ends at once: the manager, a child subreaper,
    adopts the environment). Never returns."""
    global _report
    with contextlib.suppress(Exception):
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    me = os.getpid()
    data, ancillary, _flags, _addr = req.recvmsg(1 << 20, socket.CMSG_SPACE(4 * 4))
    req.close()
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(struct.unpack(f"{len(payload) // 4}i", payload[: len(payload) // 4 * 4]))
    ctrl_fd, log_fd, info_w, *rest = fds
    cut = data.index(b"\n")
    header, spec_bytes = json.loads(data[:cut]), data[cut + 1 :]
    _report = (me, info_w)
    if header.get("ns"):  # this process unshares and splits (isolation.split)
        run_environment(forker, ctrl_fd, log_fd, spec_bytes, (info_w, rest[0]))
    try:
        pid = os.fork()
    except OSError:
        os.write(info_w, b"fail %d %d" % (me, 1 << 8))
        os._exit(1)
    if pid == 0:  # the environment, once this process has ended and the manager adopted it
        _report = None
        os.close(info_w)
        deadline = time.monotonic() + 5.0  # never spin for ever (a stopped starter)
        while os.getppid() == me and time.monotonic() < deadline:
            os.sched_yield()
        run_environment(manager, ctrl_fd, log_fd, spec_bytes)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    os.write(info_w, b"%d" % pid)
    os._exit(0)


# (a starter's pid, its report descriptor): a starter that fails says so on that descriptor
_report: tuple[int, int] | None = None


def run_environment(
    parent: int,
    ctrl_fd: int,
    log_fd: int,
    spec_bytes: bytes,
    start_fds: tuple[int, int] | None = None,
) -> None:
    """Become an environment (forked by the zygote or spawned): never return."""
    code = 1
    try:
        harden_child(parent)
        os.set_inheritable(ctrl_fd, False)
        spec = json.loads(spec_bytes)
        apply_limits(spec)  # max_address_space_mb (sandbox.runtime.limits)
        bootstrap.run(ctrl_fd, log_fd, spec, start_fds)
        code = 0
    except SystemExit as exc:  # sys.exit() inside a handler ends the runtime
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        if _report is not None and _report[0] == os.getpid():  # a starter that failed
            with contextlib.suppress(OSError):
                os.write(_report[1], b"fail %d %d" % (os.getpid(), (code & 0xFF) << 8))
        os._exit(code)


_FILLER: list[object] = []  # blocks that filled the zygote's pools (see _fill_pools)


def _free_blocks() -> dict[int, int]:
    """Free blocks of pymalloc's used pools, by block size (``sys._debugmallocstats``,
    which CPython writes to descriptor 2)."""
    import re
    import tempfile

    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as f:
            os.dup2(f.fileno(), 2)
            try:
                sys._debugmallocstats()
            finally:
                os.dup2(saved, 2)
            f.seek(0)
            text = f.read().decode(errors="replace")
    finally:
        os.close(saved)
    free: dict[int, int] = {}
    for line in text.splitlines():
        row = re.fullmatch(r"\s*\d+\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s*", line)
        if row:
            free[int(row[1])] = int(row[2])
    return free


def _fill_pools() -> None:
    """Fill the free blocks of pymalloc's used pools, once, before the zygote freezes.

    pymalloc serves an allocation from the first pool of its size class with a free
    block. In a warmed-up zygote, such pools are spread over the whole heap, so the first
    objects a child makes would each copy a different page of the zygote's; with them
    full, a child's new objects go side by side into fresh pools. The filler objects are
    never touched again (a few hundred KiB, shared by every environment)."""
    if not hasattr(sys, "_debugmallocstats"):
        return
    with contextlib.suppress(Exception):
        for _round in range(3):
            free = {size: n for size, n in _free_blocks().items() if n}
            if not free:
                return
            for size, n in free.items():
                if size <= 16:
                    _FILLER.extend(object() for _ in range(n))
                elif size <= 32:
                    _FILLER.extend(float(i) for i in range(n))
                else:  # a bytes object of length k takes 33 + k bytes
                    _FILLER.extend(b"\0" * (size - 33) for _ in range(n))


def zygote_main(sock: socket.socket, preload: list[str]) -> None:
    """The zygote's loop: fork on request, report every child's exit."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # out of the kernel's group: interrupts do not reach us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_parent_death_signal(signal.SIGKILL)
    # orphans of an environment (a handler's daemon, a child in its own session) become our
    # children instead of init's, so they can be killed when their environment ends
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    memorymerge.opt_in(_prctl)  # equal private pages of environments shared, where Linux can
    for name in preload:
        with contextlib.suppress(ImportError):
            __import__(name)
    with contextlib.suppress(ValueError, OSError):  # a descriptor per environment
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from sandbox.runtime import isolation

    isolation.preload()
    with contextlib.suppress(Exception):
        from sandbox.runtime.rehearsal import rehearse

        rehearse()
    import gc

    gc.collect()
    _fill_pools()
    gc.freeze()  # keep the preloaded heap shared (copy-on-write) with every child
    me = os.getpid()
    # The forking half: a child that does nothing but fork, once per byte on a pipe. Every
    # page a process writes after a fork stays private to the child forked before (the
    # child keeps the original), so the process environments are forked from must write
    # as little as possible: this one reads a byte and forks. Its children (starters) take
    # one request each from a packet socket and start an environment; this process, a
    # child subreaper, adopts it and does all the bookkeeping.
    req, req_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    trigger_r, trigger_w = os.pipe()
    forker = os.fork()
    if forker == 0:
        sock.close()
        req.close()
        os.close(trigger_w)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # starters end at once: no zombies
        set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != me:
            os._exit(0)
        _fork_loop(trigger_r)  # returns in a starter only
        os.close(trigger_r)
        _start(req_child, os.getppid(), me)
    req_child.close()
    os.close(trigger_r)
    _forker[0] = forker
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "sock")
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    _send(sock, {"op": "ready", "pid": me})
    while True:
        for key, _events in selector.select():
            if isinstance(key.data, int):  # a starter has reported (or ended)
                selector.unregister(key.fd)
                _started(sock, key.data)
                continue
            if key.data == "wake":
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 512):
                        pass
                _reap(sock)
                continue
            request = _recv_request(sock)
            if request is None:  # the owner went away: stop, children die with us
                os._exit(0)
            header, data, fds = request
            info_r, info_w = os.pipe()
            passed = [*fds, info_w]
            life_w = None
            if header.get("ns"):  # see isolation.split
                life_r, life_w = os.pipe()
                passed.append(life_r)
            rights = struct.pack(f"{len(passed)}i", *passed)
            req.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
            os.write(trigger_w, b"f")
            for fd in passed:
                os.close(fd)
            os.set_blocking(info_r, False)
            starters[info_r] = (header["seq"], life_w)
            selector.register(info_r, selectors.EVENT_READ, info_r)
        _reap(sock)


def _fork_loop(trigger: int) -> None:
    """The forking half's loop: returns in each child, never in the forking half."""
    read, fork = os.read, os.fork
    while True:
        if not read(trigger, 1):  # the manager has ended
            os._exit(0)
        if not fork():
            return


_forker = [0]  # the forking half's pid
environments: set[int] = set()  # the zygote's own children; anything else is an orphan
# starter's report pipe -> (request seq, the life pipe's write end in the namespaces view)
starters: dict[int, tuple[int, int | None]] = {}
inits: dict[int, tuple[int, int]] = {}  # runtime pid -> (its PID 1, the life pipe's write end)
_early: dict[int, int] = {}  # exits reaped before their starter reported: pid -> status


def _started(sock: socket.socket, info_r: int) -> None:
    """A starter has written the pid of the runtime (and, in the namespaces view, of its
    PID 1 first), or how it failed: the environment is the runtime, or the starter."""
    seq, life_w = starters.pop(info_r)
    try:
        data = os.read(info_r, 64)
    except OSError:
        data = b""
    os.close(info_r)
    fields = data.split()
    status = None
    if fields[:1] == [b"fail"] and len(fields) == 3:  # the starter ended (a child of the forker)
        pid, status = int(fields[1]), int(fields[2])
    elif len(fields) in (1, 2) and all(f.isdigit() for f in fields):
        pid = int(fields[-1])
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        status = _early.pop(pid, None)
        if len(fields) == 2 and life_w is not None:
            inits[pid] = (int(fields[0]), life_w)
            life_w = None
    else:  # killed before it could say anything: nothing to answer with
        os._exit(1)
    if life_w is not None:
        os.close(life_w)
    if status is None:
        environments.add(pid)
    _send(sock, {"op": "forked", "seq": seq, "pid": pid})
    if status is not None:  # already ended
        _send(sock, {"op": "exit", "pid": pid, "status": status})
        ns = inits.pop(pid, None)
        if ns is not None:
            _ended_ns(*ns)
        _kill_orphans()
    if not starters:
        _early.clear()


def _ended(sock: socket.socket, pid: int, status: int) -> None:
    environments.discard(pid)
    _send(sock, {"op": "exit", "pid": pid, "status": status})
    ns = inits.pop(pid, None)
    if ns is not None:
        _ended_ns(*ns)


def _ended_ns(init: int, life_w: int) -> None:
    """End a PID namespace: its PID 1 reads to the end of this pipe."""
    os.close(life_w)
    with contextlib.suppress(OSError):
        os.kill(init, signal.SIGKILL)


def _reap(sock: socket.socket) -> None:
    ended = False
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise
        if pid == 0:
            break
        if pid in environments:
            ended = True
            _ended(sock, pid, status)
        elif pid == _forker[0]:  # the forking half died: nothing can start any more
            os._exit(1)
        elif starters:  # perhaps a starter, or a runtime whose starter has not reported
            _early[pid] = status
    if ended:
        _kill_orphans()


def _kill_orphans() -> None:
    """Kill adopted descendants of environments that have ended (no process outlives its
    environment, even one that left the environment's process group)."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as f:
            children = [int(p) for p in f.read().split()]
    except OSError:
        return
    keep = environments | {_forker[0]} | {init for init, _ in inits.values()}
    for pid in children:
        if pid in keep:
            continue
        with contextlib.suppress(OSError):
            group = os.getpgid(pid)
            if group != os.getpgrp():  # never our own group
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
