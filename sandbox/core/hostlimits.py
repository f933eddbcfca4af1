"""Host limits: what one sandbox may take from the machine it runs on.

Why: in a classroom, thirty to two hundred kernels share a JupyterHub node, and each
kernel's sandbox starts real processes. AWS has no such limits (its fleet is someone
else's problem), so these are the sandbox's own settings, not AWS quotas:

* ``max_environments``: how many execution environments one sandbox holds at once, idle
  ones of every function included. Beyond it, the idle environment that has been idle the
  longest is reclaimed (AWS, too, may shut an idle environment down at any time, spec
  §1.1); when every one is busy, the request is throttled as when the account is out of
  concurrency (spec §4).
* ``max_address_space_mb``: a ceiling on each environment process's virtual memory
  (``RLIMIT_AS``), a safety net under the function's own ``MemorySize``.

Each setting comes from a ``Sandbox(...)`` keyword or, when that is not given, from an
environment variable (``LAMBDA_SANDBOX_<NAME>``), so a JupyterHub spawner can set it for
every kernel. Pure rules: the environment is passed in as a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "ENV_PREFIX",
    "MIN_ADDRESS_SPACE_MB",
    "HostLimits",
    "choose_reclaim",
    "env_name",
    "setting",
]

ENV_PREFIX = "LAMBDA_SANDBOX_"
# A Python runtime forked from the zygote already maps ~100 MiB before it imports anything.
MIN_ADDRESS_SPACE_MB = 256
T = TypeVar("T")


def env_name(keyword: str) -> str:
    """The environment variable of a ``Sandbox`` keyword: ``max_environments`` ->
    ``LAMBDA_SANDBOX_MAX_ENVIRONMENTS``."""
    return ENV_PREFIX + keyword.upper()


def setting(
    keyword: str,
    explicit: int | None,
    environ: Mapping[str, str],
    *,
    default: int | None,
    minimum: int,
) -> int | None:
    """One integer setting: the keyword if given, else its environment variable, else
    ``default``. An empty variable counts as unset.

    Raises:
        ValueError: the value is not an integer, or is below ``minimum`` (the message names
            the keyword or the variable, whichever the value came from).
    """
    source = keyword
    value: int | None = explicit
    if value is None:
        name = env_name(keyword)
        raw = environ.get(name, "").strip()
        if not raw:
            return default
        source = f"${name}"
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{source} must be an integer, not {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{source} must be an integer, not {value!r}")
    if value < minimum:
        raise ValueError(f"{source} must be at least {minimum}, not {value}")
    return value


@dataclass(frozen=True, slots=True)
class HostLimits:
    """What one sandbox may hold on its machine (``None``: no limit).

    Attributes:
        max_environments: execution environments held at once (idle or busy, provisioned
            ones included).
        max_address_space_mb: virtual memory of each environment process, in MiB.
    """

    max_environments: int | None = None
    max_address_space_mb: int | None = None

    @classmethod
    def resolve(
        cls,
        environ: Mapping[str, str],
        *,
        max_environments: int | None = None,
        max_address_space_mb: int | None = None,
    ) -> HostLimits:
        """The limits from keywords, falling back to ``LAMBDA_SANDBOX_*`` variables."""
        return cls(
            setting("max_environments", max_environments, environ, default=None, minimum=1),
            setting(
                "max_address_space_mb",
                max_address_space_mb,
                environ,
                default=None,
                minimum=MIN_ADDRESS_SPACE_MB,
            ),
        )


def choose_reclaim(held: int, cap: int, idle: Sequence[tuple[float, T]]) -> list[T] | None:
    """Which idle environments to shut down so that one more fits under ``cap``.

    ``held`` environments exist now; ``idle`` lists the reclaimable ones as
    ``(idle_since, environment)``. The longest-idle go first (the least likely to be
    reused, as with keep-alive expiry). ``None`` when even reclaiming every idle one would
    not make room: every other environment is busy.
    """
    needed = held + 1 - cap
    if needed <= 0:
        return []
    if needed > len(idle):
        return None
    ordered = sorted(idle, key=lambda pair: pair[0])
    return [env for _, env in ordered[:needed]]
