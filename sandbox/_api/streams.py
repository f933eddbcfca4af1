"""From :class:`~sandbox.Sandbox`:
the stream and table stand-ins, sb.kinesis and sb.dynamodb (being written).
"""

from __future__ import annotations

__all__ = ["StreamsAPI"]


class StreamsAPI:
    """Placeholder, filled in by the triggers work."""
