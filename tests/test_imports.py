"""Layering rules that must hold (ARCHITECTURE.md): checked in fresh interpreters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sandbox

HEAVY = ("IPython", "ipywidgets", "matplotlib", "ipykernel")
PACKAGE = Path(sandbox.__file__).parent


@pytest.mark.parametrize("module", ["sandbox", "sandbox.service", "sandbox.service.functions"])
def test_importing_loads_no_jupyter(module: str) -> None:
    code = (
        f"import sys, {module}; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_is_standard_library_only() -> None:
    allowed_first_party = {"sandbox.core", "sandbox.errors"}
    for path in (PACKAGE / "core").rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "sandbox":
                assert any(name.startswith(p) for p in allowed_first_party), (path, name)
            else:
                assert top in sys.stdlib_module_names, (path, name)


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("store", ("sandbox.service", "sandbox.runtime", "sandbox.notebook", "sandbox.http")),
        ("runtime", ("sandbox.service", "sandbox.notebook", "sandbox.http")),
        ("service", ("sandbox.notebook", "sandbox.http", "sandbox.resources", "sandbox.cli")),
        ("notebook", ("sandbox.http",)),
        ("http", ("sandbox.notebook",)),
    ],
)
def test_dependencies_point_one_way(layer: str, forbidden: tuple[str, ...]) -> None:
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(forbidden), f"{path} imports {name}"
