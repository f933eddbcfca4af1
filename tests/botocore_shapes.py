"""Checking the sandbox's answers against botocore's output shapes (the services' models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["conforms"]


def conforms(shape: Any, value: Any, path: str = "$") -> list[str]:
    """Where ``value`` breaks botocore's output shape (members, required ones, types)."""
    kinds = {
        "string": str,
        "integer": int,
        "long": int,
        "boolean": bool,
        "timestamp": datetime,
        "blob": bytes,
        "list": list,
        "map": dict,
        "structure": dict,
    }
    fits = isinstance(value, kinds[shape.type_name])  # (kept in a name: no narrowing)
    if not fits:
        return [f"{path}: {type(value).__name__} is not {shape.type_name}"]
    problems = []
    if shape.type_name == "structure":
        problems += [f"{path}.{m}: missing" for m in shape.required_members if m not in value]
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{path}.{name}: not in the model")
            else:
                problems += conforms(shape.members[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        for i, member in enumerate(value):
            problems += conforms(shape.member, member, f"{path}[{i}]")
    return problems
