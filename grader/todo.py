"""``TodoError``: what an unfinished exercise raises, and how the grader prints it.

Templates are generated from the solutions (see ``grader/templates.py``): every solution block is
replaced by a TODO comment and ``raise TodoError("<task>: <what to do> (IMPLEMENTATION_GUIDE.md, <section>)")``.
The grader turns that exception into one readable line instead of a traceback::

    TODO 3.1 phase3_frequency_analysis/template_fft_analysis.py:42 - Take |FFT|^2 ...
"""
from __future__ import annotations

import re
import traceback
from pathlib import Path

_TASK_PREFIX = re.compile(r"^\s*(?P<task>\d+\.\d+)\s*:\s*(?P<hint>.*)$", re.S)


class TodoError(NotImplementedError):
    """Raised by a template where a student still has to write code.

    The message starts with the task id: ``"3.1: <what to implement> (IMPLEMENTATION_GUIDE.md, §3.1)"``.
    """

    @property
    def task(self) -> str:
        match = _TASK_PREFIX.match(str(self))
        return match.group("task") if match else "?"

    @property
    def hint(self) -> str:
        match = _TASK_PREFIX.match(str(self))
        return (match.group("hint") if match else str(self)).strip()


def raise_site(error: BaseException, root: Path) -> tuple[str, int]:
    """Return (path relative to ``root``, line number) of the frame that raised ``error``.

    The innermost traceback frame whose file lies under ``root`` is the template line holding the
    ``raise TodoError(...)``.
    """
    site = ("?", 0)
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename).resolve()
        try:
            site = (path.relative_to(root).as_posix(), frame.lineno or 0)
        except ValueError:
            continue
    return site


def todo_line(error: TodoError, root: Path) -> str:
    """One line for a report: ``TODO <task> <file>:<line> - <hint>``."""
    path, line = raise_site(error, root)
    return f"TODO {error.task} {path}:{line} - {error.hint}"
