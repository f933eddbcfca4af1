"""From :class:`~sandbox.Sandbox`:
function URLs: create/get/update/delete/list_function_url_config(s) and the local
endpoint (being written).
"""

from __future__ import annotations

__all__ = ["FunctionUrlAPI"]


class FunctionUrlAPI:
    """Placeholder, filled in by the triggers work."""
