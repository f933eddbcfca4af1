"""Pure Lambda semantics: records, ARNs and qualifiers, validation, routing, the clock.

Standard library only: no processes, no Jupyter, no I/O but JSON (ARCHITECTURE.md).
"""
