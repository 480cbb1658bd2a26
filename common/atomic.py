"""Atomic file output: a file the course writes is either complete or absent.

Every writer (videos, checkpoints, reports, caches, plots, manifests) goes through
:func:`atomic_output`: it writes to a hidden temporary file in the destination folder and renames
it over the destination (``os.replace``, atomic on POSIX and Windows) only when writing finished.
An exception, a Ctrl-C or a full disk leaves the previous file, or nothing, never half a file.

:func:`check_output_dir` is the other half: a tool calls it on its output folder before any work, so
that a file given as that folder is a one-line error at once, not a traceback when results are written.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def default_file_mode() -> int:
    """The mode a new file gets from ``open()`` under the process's umask: ``0o666 & ~umask``.

    Example: with the usual umask 022 this is ``0o644`` (owner reads and writes, others read).
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it replaces ``path``, on any error it is removed.

    The temporary file sits in the same folder (so the rename never crosses file systems) and ends
    with the destination's suffix (so libraries that pick a format from the suffix, e.g. a video
    container or ``np.savez``, behave as for the real name). Missing folders are created.

    Example:
        >>> with atomic_output("report.json") as temporary:     # doctest: +SKIP
        ...     temporary.write_text("{}")
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, default_file_mode())  # mkstemp makes 0600; give what open() would
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file or folder: the same path once symlinks and ``..`` are resolved, or
    hard links to one file. A tool refuses an output that is one of its inputs with it.

    Example: ``same_file("runs/../clip.mp4", "clip.mp4")`` -> True.
    """
    a, b = Path(a), Path(b)
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))


def check_output_dir(folder: str | os.PathLike, flag: str = "--output-dir") -> None:
    """Raise a one-line :class:`common.errors.CourseError` unless ``folder`` is a folder or can be made
    one: a tool checks this before any work, so that a file given as its output folder (or a folder
    under a file) is not found only when the results are written.

    Example: ``check_output_dir("notes.txt/runs")`` with ``notes.txt`` a file raises
    "--output-dir 'notes.txt/runs': 'notes.txt' is a file, not a folder".
    """
    from common.errors import CourseError

    path = Path(folder)
    for existing in (path, *path.parents):
        if existing.exists():
            if not existing.is_dir():
                raise CourseError(f"{flag} '{folder}': '{existing}' is a file, not a folder")
            return

