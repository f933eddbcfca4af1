"""From :class:`~sandbox.Sandbox`:
a function's resource-based policy: add_permission, get_policy, remove_permission (being written).
"""

from __future__ import annotations

__all__ = ["PermissionsAPI"]


class PermissionsAPI:
    """Placeholder, filled in by the triggers work."""
