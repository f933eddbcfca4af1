"""Same-page merging: idle environments of one function share the pages they all wrote.

Why it exists: an environment is forked from the zygote, so its code and the zygote's heap
are shared copy-on-write; what is left private (about 2.5 MiB, docs/performance.md) is
mostly pages CPython *wrote* — reference counts and 3.11's adaptive counters on shared
objects, the runtime loop's own objects. Those writes are the same in every environment of
a function, so the pages are byte-for-byte equal across environments. Linux's kernel
same-page merging (KSM) finds equal pages and keeps one copy-on-write copy; since Linux 6.4
a process opts its whole address space in with ``prctl(PR_SET_MEMORY_MERGE)``, and its
children inherit it. The zygote opts in, so every environment does.

It costs nothing unless the machine runs KSM's scanner (``/sys/kernel/mm/ksm/run`` = 1, a
host setting only root can change); then the scanner's CPU time is the price, paid in the
background. ``LAMBDA_SANDBOX_MEMORY_MERGE``: ``auto`` (default: opt in when the scanner
runs), ``on`` (opt in regardless), ``off``.

Merged pages are shared between environments, as on a real host they are not: a process
can, in principle, time copy-on-write faults to learn whether another process holds a page
with given content. Environments of one sandbox all belong to one student, so the sandbox
accepts that; ``off`` turns it off (docs/fidelity.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = [
    "KSM_RUN",
    "PR_GET_MEMORY_MERGE",
    "PR_SET_MEMORY_MERGE",
    "ksm_running",
    "opt_in",
    "wanted",
]

PR_SET_MEMORY_MERGE = 67  # linux/prctl.h, Linux 6.4
PR_GET_MEMORY_MERGE = 68
KSM_RUN = Path("/sys/kernel/mm/ksm/run")
ENV = "LAMBDA_SANDBOX_MEMORY_MERGE"


def ksm_running(run_file: Path = KSM_RUN) -> bool:
    """True when the kernel's same-page scanner runs (``run`` is 1)."""
    try:
        return run_file.read_text().strip() == "1"
    except OSError:
        return False


def wanted(environ: Mapping[str, str] = os.environ, run_file: Path = KSM_RUN) -> bool:
    """Whether the zygote should opt in, from ``LAMBDA_SANDBOX_MEMORY_MERGE``."""
    setting = environ.get(ENV, "auto").strip().lower()
    if setting in ("on", "1", "true", "yes"):
        return True
    if setting in ("off", "0", "false", "no"):
        return False
    return ksm_running(run_file)


def opt_in(prctl: Callable[[int, int], bool], environ: Mapping[str, str] = os.environ) -> bool:
    """Opt this process (and every process it forks from now on) in, when wanted; True if
    it is opted in (False also on kernels older than 6.4, which refuse the option)."""
    return wanted(environ) and prctl(PR_SET_MEMORY_MERGE, 1)
