"""``%%exercise ID``: one notebook cell is one attempt at an exercise.

Why a cell magic: the student writes ordinary code in an ordinary cell, and the verdict
appears right under it, with nothing to call or remember. The magic is a thin view over
:func:`sandbox.lab.start` and :func:`sandbox.lab.check`.

The sandbox checked is the notebook's ``sb`` (or the one ``%lambda`` uses when there is no
``sb``). In solutions mode (``$LAMBDA_SANDBOX_SOLUTIONS``) the solution replaces the cell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from IPython.core.magic import Magics, cell_magic, magics_class

from sandbox import lab

if TYPE_CHECKING:
    from sandbox import Sandbox

__all__ = ["ExerciseMagics", "register"]

_Method = Callable[..., Any]
_cell_magic = cast(Callable[[_Method], _Method], cell_magic)  # IPython's are untyped


@magics_class
class ExerciseMagics(Magics):
    @_cell_magic
    def exercise(self, line: str, cell: str) -> lab.Verdict | None:
        """``%%exercise 4.1``: set up exercise 4.1, run this cell, check, show the verdict."""
        exercise_id = line.strip()
        if not exercise_id:
            known = ", ".join(e.id for e in lab.exercises())
            print(f"Usage: %%exercise ID, one of: {known}")
            return None
        try:
            lab.get(exercise_id)
        except KeyError as exc:
            print(exc.args[0])
            return None
        shell: Any = self.shell
        sb = self._sandbox()
        if sb is None:
            print("No sandbox: create one first, e.g. sb = Sandbox.ephemeral()")
            return None
        if lab.solutions_mode():
            cell = lab.load_solutions()[exercise_id]["solution"]
        ex, window, names = lab.start(exercise_id, sb)
        user_ns: dict[str, Any] = shell.user_ns
        for name, value in names.items():
            user_ns.setdefault(name, value)
        try:  # IPython syntax too (%lambda lines, !commands), as in any other cell
            shell.ex(compile(shell.transform_cell(cell), f"<exercise {ex.id}>", "exec"))
        except Exception as exc:  # the student's error is shown, then judged
            shell.showtraceback()
            return lab.failed(ex.id, exc)
        return lab.check(ex.id, sb, window)

    def _sandbox(self) -> Sandbox | None:
        from sandbox import Sandbox

        shell: Any = self.shell
        candidate = shell.user_ns.get("sb")
        if isinstance(candidate, Sandbox) and not candidate.closed:
            return candidate
        magics = shell.magics_manager.registry.get("LambdaMagics")
        if magics is not None:
            return magics.sandbox  # type: ignore[no-any-return]
        return None


def register(ipython: Any) -> None:
    """Register ``%%exercise`` (idempotent)."""
    if "ExerciseMagics" not in ipython.magics_manager.registry:
        ipython.register_magics(ExerciseMagics)
