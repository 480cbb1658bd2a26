"""Catch reference-solution code reached without the tree loader (an audit hook).

The import hook of :mod:`grader.tree` makes ``import phase1_cnn_detection...`` load the student's
tree, but nothing stops a template from reading or running ``solutions/...`` by path
(``runpy.run_path``, ``importlib.util.spec_from_file_location``, ``exec(open(...).read())``,
``subprocess`` with ``cat``). :func:`install` adds a ``sys.addaudithook`` hook that records every

* ``open`` of a file under ``solutions/`` (``open``, ``io.open_code``, ``os.open``; what the import
  system and ``runpy`` use to read source and byte code),
* ``compile`` / ``exec`` of code whose file name lies under ``solutions/``,
* ``subprocess.Popen`` / ``os.exec`` / ``os.posix_spawn`` / ``os.system`` naming a file there.

The one thing allowed is *reading* (and ``ast.parse``-ing) a phase's ``__init__.py`` there: it
holds the canonical ``TASKS`` and ``MODELS`` lists (read by :mod:`grader.tasks` and
``common.registry``), no solution code. Executing it is still recorded.

Audit hooks cannot be removed, so the grader installs this only in a process that grades a tree
other than the solutions (``pytest`` on the templates, ``pytest --tree PATH``), after it has read
the canonical task list. The plugin fails such a run, names the files and credits it 0 points.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from grader import tree

_installed = False
_violations: dict[str, str] = {}  # path relative to the repository -> first way it was reached
_local = threading.local()
_EXEC_EVENTS = {"subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system"}


def _roots() -> tuple[str, ...]:
    plain = os.path.normpath(str(tree.SOLUTIONS_ROOT))
    real = os.path.realpath(plain)
    return tuple({plain, real})


def _under_solutions(path, roots: tuple[str, ...]) -> str | None:
    """The real path of ``path`` when it lies under solutions/, else None."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        return None
    text = os.fspath(path)
    if not text or text.startswith("<"):
        return None
    full = os.path.realpath(os.path.join(os.getcwd(), text)) if not os.path.isabs(text) else os.path.realpath(text)
    for root in roots:
        if full == root or full.startswith(root + os.sep):
            return full
    return None


def _allowed_read(full: str, roots: tuple[str, ...]) -> bool:
    """Reading a phase's ``__init__.py`` (TASKS and MODELS, no solution code) is allowed."""
    for root in roots:
        if full.startswith(root + os.sep):
            parts = Path(full[len(root) + 1:]).parts
            return len(parts) == 2 and parts[0] in tree.PHASES and parts[1] == "__init__.py"
    return False


def _record(full: str, how: str) -> None:
    relative = full
    for root in _roots():
        if full.startswith(root + os.sep):
            relative = "solutions/" + full[len(root) + 1:]
            break
    _violations.setdefault(relative, how)


def _hook(event: str, args: tuple) -> None:
    if event not in ("open", "exec", "compile") and event not in _EXEC_EVENTS:
        return
    if getattr(_local, "busy", False):
        return
    _local.busy = True
    try:
        roots = _roots()
        if event == "open":
            full = _under_solutions(args[0], roots) if args else None
            if full and not _allowed_read(full, roots) and not os.path.isdir(full):
                _record(full, "read")
        elif event == "exec":
            code = args[0] if args else None
            full = _under_solutions(getattr(code, "co_filename", None), roots)
            if full:
                _record(full, "executed")
        elif event == "compile":
            full = _under_solutions(args[1], roots) if len(args) > 1 else None
            if full and not _allowed_read(full, roots):  # ast.parse of TASKS / MODELS compiles too
                _record(full, "compiled")
        else:
            for arg in _flatten(args):
                full = _under_solutions(arg, roots) if isinstance(arg, (str, bytes, os.PathLike)) else None
                if full and os.path.isfile(full):
                    _record(full, f"passed to {event}")
    except Exception:  # an audit hook must never break the code it watches
        pass
    finally:
        _local.busy = False


def _flatten(values, depth: int = 0):
    for value in values:
        if isinstance(value, (list, tuple)) and depth < 2:
            yield from _flatten(value, depth + 1)
        else:
            yield value


def install() -> None:
    """Install the hook once per process (it cannot be removed: never install it for the solutions)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True


def installed() -> bool:
    return _installed


def violations() -> list[str]:
    """``'solutions/...: read'`` for every file under solutions/ reached so far, sorted."""
    return [f"{path} ({how})" for path, how in sorted(_violations.items())]
