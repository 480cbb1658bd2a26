"""The course's graded tasks.

Each phase package declares its tasks in ``__init__.py``::

    TASKS = [Task("3.1", "Radial power spectrum", points=2,
                  file="template_fft_analysis.py", guide="3.1 Radial power spectrum")]

A task id is ``<phase>.<k>``; tests carry ``@pytest.mark.task("3.1")``; solution blocks carry
``# BEGIN SOLUTION 3.1: <hint>``. The grader, the template generator and the self-checks all read
this one list.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from grader import tree


@dataclass(frozen=True)
class Task:
    """One graded exercise step.

    id: "<phase>.<k>", e.g. "3.1".  title: short name.  points: weight in the score table.
    file: the exercise file (relative to the phase folder).  guide: the IMPLEMENTATION_GUIDE.md
    section that explains it.
    """

    id: str
    title: str
    points: int
    file: str
    guide: str

    @property
    def phase(self) -> int:
        return int(self.id.split(".")[0])

    @property
    def sort_key(self) -> tuple[int, int]:
        major, minor = self.id.split(".")
        return int(major), int(minor)


def literal_calls(init_file: Path, variable: str) -> list[tuple[list, dict]]:
    """``(args, kwargs)`` of each call in the literal list ``variable = [Name(...), ...]`` of a phase
    ``__init__.py``, read without importing it (``TASKS`` here, ``MODELS`` in ``common.registry``)."""
    module = ast.parse(init_file.read_text(encoding="utf-8"), filename=str(init_file))
    for node in module.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == variable for t in node.targets):
            return [([ast.literal_eval(a) for a in call.args],
                     {k.arg: ast.literal_eval(k.value) for k in call.keywords})
                    for call in node.value.elts]  # type: ignore[attr-defined]
    return []


def _tasks_of_phase(init_file: Path) -> list[Task]:
    """Read ``TASKS`` from a phase ``__init__.py`` without importing it (a literal list of Task calls)."""
    return [Task(*args, **kwargs) for args, kwargs in literal_calls(init_file, "TASKS")]


def all_tasks(root: Path | None = None) -> dict[str, Task]:
    """Every task of every phase, in order, keyed by id (read from the tree at ``root``)."""
    root = root or tree.exercise_root()
    found: dict[str, Task] = {}
    for phase in tree.PHASES:
        init = root / phase / "__init__.py"
        if init.exists():
            for task in _tasks_of_phase(init):
                if task.id in found:
                    raise ValueError(f"task {task.id} is declared twice ({init})")
                found[task.id] = task
    return dict(sorted(found.items(), key=lambda item: item[1].sort_key))
