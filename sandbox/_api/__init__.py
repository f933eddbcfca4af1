"""The public operations of :class:`~sandbox.Sandbox`, one module per concept."""
