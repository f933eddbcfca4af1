"""The documentation's examples run: every ```python block of ``docs/*.md`` executes.

Why it exists: the docs teach by example and show the expected output, so an example that
no longer runs is a bug. A page's blocks run in order in one fresh namespace, as the cells
of one notebook, with ``LAMBDA_SANDBOX_HOME``, temporary files and the working directory
all inside pytest's ``tmp_path``, so nothing touches ``~``. Each block's text is registered
with :mod:`linecache`, as IPython does for cells, so ``inspect.getsource`` works on the
functions a block defines (the sandbox packages a notebook function from its source).

Blocks fenced as ```python no-run (boto3 against real AWS, say) are skipped; blocks in
other languages (```bash ...) are ignored.
"""

from __future__ import annotations

import linecache
import re
import tempfile
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import pytest

from sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PYTHON = frozenset({"python", "py", "python3"})
NO_RUN = "no-run"

# CommonMark fences: three or more backticks or tildes, indented at most three spaces.
_OPENING = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    """One ```python block: its 1-based number among the page's python blocks, the line
    of its opening fence, its info-string words after the language, and its text."""

    number: int
    line: int
    options: tuple[str, ...]
    source: str

    @property
    def runs(self) -> bool:
        return NO_RUN not in self.options


def python_blocks(markdown: str) -> list[Block]:
    """The python fenced blocks of a Markdown text, in order (no-run ones included).

    Raises:
        ValueError: a python block is never closed.
    """
    lines = markdown.splitlines(keepends=True)
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _OPENING.match(lines[i].rstrip("\n"))
        if not opening or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if closing.match(lines[j])), None)
        words = opening["info"].split()
        is_python = bool(words) and words[0].lower() in PYTHON
        if end is None:
            if is_python:
                raise ValueError(f"the python block opened on line {i + 1} is never closed")
            break
        if is_python:
            body = "".join(_outdent(line, indent) for line in lines[i + 1 : end])
            blocks.append(Block(len(blocks) + 1, i + 1, tuple(words[1:]), body))
        i = end + 1
    return blocks


def _outdent(line: str, indent: int) -> str:
    """Remove up to ``indent`` leading spaces (a fence's own indentation, CommonMark)."""
    stripped = len(line) - len(line.lstrip(" "))
    return line[min(stripped, indent) :]


def run_blocks(blocks: Iterable[Block], label: str, namespace: dict[str, object]) -> None:
    """Execute the runnable blocks in order in ``namespace``; fail on the first error with
    the block's number, line and text."""
    filenames: list[str] = []
    try:
        for block in blocks:
            if not block.runs:
                continue
            filename = f"<{label} block {block.number}>"
            linecache.cache[filename] = (
                len(block.source),
                None,
                block.source.splitlines(keepends=True),
                filename,
            )
            filenames.append(filename)
            try:
                exec(compile(block.source, filename, "exec"), namespace)
            except Exception:
                pytest.fail(
                    f"{label}: python block {block.number} (line {block.line}) failed:\n\n"
                    f"{block.source}\n{traceback.format_exc()}",
                    pytrace=False,
                )
    finally:
        for filename in filenames:
            linecache.cache.pop(filename, None)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Store, temporary files and working directory under ``tmp_path``."""
    monkeypatch.setenv("LAMBDA_SANDBOX_HOME", str(tmp_path / "home"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # Sandbox.ephemeral()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", DOCS, ids=[page.name for page in DOCS])
@pytest.mark.usefixtures("isolated")
def test_page_examples_run(page: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    try:
        run_blocks(python_blocks(page.read_text()), f"docs/{page.name}", namespace)
    finally:
        for value in list(namespace.values()):
            if isinstance(value, Sandbox):
                value.close()


PAGE = dedent(
    """\
    Some prose.

    ```python
    x = 1
    ```

    ```bash
    echo "not python"
    ```

    ```python no-run
    import boto3
    ```

    1. In a list:

       ````python
       y = x + 1  # ``` here does not end the block
       ````

    Inline ```python``` is not a fence.
    """
)


def test_blocks_are_found_in_order_and_no_run_is_skipped() -> None:
    blocks = python_blocks(PAGE)
    assert [(b.number, b.line, b.runs) for b in blocks] == [
        (1, 3, True),
        (2, 11, False),  # no-run
        (3, 17, True),
    ]
    assert blocks[0].source == "x = 1\n"
    assert blocks[2].source == "y = x + 1  # ``` here does not end the block\n"
    namespace: dict[str, object] = {}
    run_blocks(blocks, "page.md", namespace)
    assert namespace["y"] == 2 and "boto3" not in namespace


def test_a_failing_block_is_reported_with_its_number_and_text() -> None:
    blocks = python_blocks("```python\nok = True\n```\n\n```python\n1 / 0\n```\n")
    expected = r"(?s)page\.md: python block 2 \(line 5\) failed:.*1 / 0.*ZeroDivisionError"
    with pytest.raises(pytest.fail.Exception, match=expected):
        run_blocks(blocks, "page.md", {})


def test_an_unclosed_python_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="line 3 is never closed"):
        python_blocks("Text.\n\n```python\nx = 1\n")
