"""Host limits applied inside an environment process, before the runtime starts.

Why: ``MemorySize`` is enforced by watching the runtime's resident memory from outside
(:mod:`sandbox.runtime.process`), which a fast allocation can overshoot between two looks.
On a machine a class shares, ``max_address_space_mb`` (:mod:`sandbox.core.hostlimits`)
adds a hard ceiling the kernel enforces: ``RLIMIT_AS`` on the environment's processes (the
runtime, and what it starts, each inherit it). A process that reaches it gets ``ENOMEM``:
Python raises ``MemoryError`` in the handler. Lambda has no such second limit; it is the
sandbox's guard for the host, not a model of Lambda's memory (docs/fidelity.md).
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["apply_limits"]


def apply_limits(spec: dict[str, Any]) -> None:
    """Set this process's resource limits from the environment's spec (no-op if none)."""
    address_space_mb = spec.get("address_space_mb")
    if not address_space_mb:
        return
    with contextlib.suppress(ImportError, ValueError, OSError):  # no resource module: none
        import resource

        limit = int(address_space_mb) * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
