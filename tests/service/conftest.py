"""Fixtures of the service tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

Concurrently = Callable[[int, Callable[[int], Any]], list[Any]]


def _concurrently(n: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(i)`` in ``n`` threads started together; their results in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


@pytest.fixture
def concurrently() -> Concurrently:
    """``concurrently(n, call)``: ``call(i)`` in ``n`` threads at once, results in order."""
    return _concurrently
