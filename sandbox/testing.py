"""Helpers for testing code that uses the sandbox, as ``trio.testing`` does for trio.

``FakeClock`` moves only when told to, so a test can jump over a keep-alive or a retry
backoff instead of sleeping through it.
"""

from __future__ import annotations

from sandbox.core.clock import FakeClock

__all__ = ["FakeClock"]
