"""From :class:`~sandbox.Sandbox`:
event source mappings: create/get/update/list/delete_event_source_mapping (being written).
"""

from __future__ import annotations

__all__ = ["MappingsAPI"]


class MappingsAPI:
    """Placeholder, filled in by the triggers work."""
