"""User-facing errors and the command-line wrapper that turns them into one-line messages.

Every mistake a user can make (a missing video, a folder that is not a dataset, a checkpoint for
another model, ``--device cuda`` without a GPU) raises a :class:`CourseError` subclass whose message
is one line naming the thing and the cause. Command-line tools wrap their ``main`` in
:func:`run_cli`, which prints ``error: <message>`` to stderr and exits with status 2 instead of
showing a traceback. Their parsers are :class:`ArgumentParser`, so a mistyped flag or a bad choice
is the same one line rather than argparse's usage block followed by its error.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn


class CourseError(Exception):
    """Base class of every error caused by user input (files, flags, layouts, checkpoints)."""


class VideoError(CourseError):
    """A video cannot be opened or decoded (missing, empty, truncated, not a video, no frames)."""


class DatasetLayoutError(CourseError):
    """A dataset folder does not match the layout the loader expects."""


class CheckpointError(CourseError):
    """A checkpoint file is not one of ours, is corrupt, or belongs to another architecture."""


class DeviceError(CourseError):
    """The requested compute device is not available (e.g. ``cuda`` without a GPU)."""


EXIT_USER_ERROR = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose mistakes (an unknown flag, a bad choice, a missing argument) raise a
    one-line :class:`CourseError`, shown by :func:`run_cli` as ``error: ...`` with exit status 2.

    Example: ``--calibration isotonic`` on ``python phase1_cnn_detection/train.py`` gives the single
    line ``error: argument --calibration: invalid choice: 'isotonic' (choose from 'platt',
    'two-sided'); see python phase1_cnn_detection/train.py --help``. ``--help`` still prints the
    full usage and exits 0.
    """

    def error(self, message: str) -> NoReturn:
        raise CourseError(f"{message}; see {self.prog} --help")


def fail(message: str) -> NoReturn:
    """Print ``error: message`` (one line) to stderr and exit with status 2."""
    one_line = " ".join(str(message).split())
    print(f"error: {one_line}", file=sys.stderr)
    raise SystemExit(EXIT_USER_ERROR)


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> NoReturn:
    """Run a tool's ``main(argv)``; a :class:`CourseError` becomes a one-line message and exit 2.

    An unfinished exercise (:class:`grader.todo.TodoError`) met by any tool becomes the same one
    line, naming the task, the template line and the hint. ``KeyboardInterrupt`` exits with 130.
    Anything else is a bug in our code and keeps its traceback.
    """
    from grader.todo import TodoError

    try:
        code = main(argv)
    except CourseError as error:
        fail(str(error))
    except TodoError as error:
        fail(todo_message(error))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130)
    raise SystemExit(code or 0)


def todo_message(error: BaseException) -> str:
    """One line for an unfinished exercise met by a tool: ``TODO 1.1 file:line - hint; finish that
    task or run with --solutions``."""
    from grader.todo import todo_line
    from grader.tree import exercise_root

    return f"{todo_line(error, exercise_root())}; finish that task or run with --solutions"
