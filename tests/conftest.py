"""Shared fixtures: throwaway sandboxes on a fake clock, cleaned up after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import FakeClock, Sandbox

HANDLER_SOURCE = "def lambda_handler(event, context):\n    return {'ok': True, 'event': event}\n"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> Iterator[Sandbox]:
    sandbox = Sandbox.ephemeral(clock=clock)
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture
def make_function(sb: Sandbox):  # type: ignore[no-untyped-def]
    """Factory: create a function from source (default: an echo handler)."""

    def make(name: str = "fn", source: str = HANDLER_SOURCE, **kwargs: object):  # type: ignore[no-untyped-def]
        return sb.create_function(name, source, **kwargs)

    return make


def ipython_shell():  # type: ignore[no-untyped-def]
    """The test IPython shell. IPython's ``globalipapp.get_ipython`` answers only its first
    caller (later calls return None), so every test module asks here."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    return start_ipython() or get_ipython()


def eventually(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass (bounded, for effects
    another thread produces: a renderer's frame, a record emitted after a reply)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
