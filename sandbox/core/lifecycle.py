"""The execution environment's state machine (spec §1.1), with its transition table.

Guarded transitions in the LocalStack style: every change is checked against
:data:`TRANSITIONS` and an illegal one raises, so a lifecycle bug shows up as an error
instead of a silently wrong timeline.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "COLD_CAUSES",
    "DEFAULT_KEEP_ALIVE",
    "TRANSITIONS",
    "EnvironmentState",
    "IllegalTransition",
    "check_transition",
]

# How long an idle environment lives. AWS does not document it ("observed minutes", spec
# §1.1); ten minutes is the sandbox's default and a Sandbox setting.
DEFAULT_KEEP_ALIVE = 600.0

# Why an invocation had to initialise an environment (machine-readable causes).
COLD_CAUSES = {
    "first-request": "the first request to this version: no environment existed yet",
    "new-code-or-configuration": "the code or configuration changed, so the environments of "
    "the previous revision were retired",
    "new-version": "the first request to a version other versions had served before",
    "all-busy": "every environment of this version was busy with another request",
    "provisioned-spillover": "every provisioned environment was busy: the request spilled "
    "over to an on-demand environment",
    "keep-alive-expired": "the idle environments had been shut down after their keep-alive",
    "reset": "the environment was reset after a timeout or crash and ran INIT again",
    "init-failed": "INIT had failed in this environment, so it ran again inside the request",
    "no-idle-environment": "no idle environment was available",
    "reclaimed": "its idle environments had been reclaimed to make room for others: the "
    "sandbox holds at most max_environments environments at once",
}


class EnvironmentState(StrEnum):
    STARTING = "starting"  # process launched, INIT running
    IDLE = "idle"  # initialised and frozen, waiting for work
    BUSY = "busy"  # running an invocation
    RESETTING = "resetting"  # after a timeout/crash: process replaced, INIT to run again
    FAILED = "failed"  # INIT failed; the next invocation retries it (suppressed init)
    SHUTTING_DOWN = "shutting-down"
    STOPPED = "stopped"


S = EnvironmentState
TRANSITIONS: dict[EnvironmentState, frozenset[EnvironmentState]] = {
    S.STARTING: frozenset({S.IDLE, S.BUSY, S.FAILED, S.SHUTTING_DOWN}),
    S.IDLE: frozenset({S.BUSY, S.SHUTTING_DOWN}),
    S.BUSY: frozenset({S.IDLE, S.RESETTING, S.FAILED, S.SHUTTING_DOWN}),
    S.RESETTING: frozenset({S.IDLE, S.BUSY, S.FAILED, S.SHUTTING_DOWN}),
    S.FAILED: frozenset({S.BUSY, S.SHUTTING_DOWN}),
    S.SHUTTING_DOWN: frozenset({S.STOPPED}),
    S.STOPPED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A lifecycle bug: the environment was asked to move where it cannot."""


def check_transition(current: EnvironmentState, new: EnvironmentState) -> None:
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"environment cannot go from {current} to {new}")
