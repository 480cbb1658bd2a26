"""Which exercise tree is under test: the student's templates or the reference solutions.

The course has two trees with the same five phase packages::

    phase1_cnn_detection/...              <- templates (students edit these)
    solutions/phase1_cnn_detection/...    <- reference solutions (same relative paths)

``activate(tree)`` installs an import hook so that ``import phase3_frequency_analysis.template_fft_analysis``
loads the file from the chosen tree. It is called exactly once per process, before any exercise
module is imported: by the root ``conftest.py`` (``pytest`` / ``pytest --solutions``) and by every
command-line tool (``--solutions``). The two trees are never loaded in one process.

The tree is chosen, in order, by the explicit argument, then the environment variable
``DEEPFAKE_COURSE_TREE`` (``templates``, ``solutions`` or a path; handy in an IDE), then
``templates``.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS_ROOT = ROOT / "solutions"
ENV_VAR = "DEEPFAKE_COURSE_TREE"
PHASES = (
    "phase1_cnn_detection",
    "phase2_temporal_analysis",
    "phase3_frequency_analysis",
    "phase4_biological_signals",
    "phase5_advanced_methods",
)

_active_root: Path | None = None
_active_name: str | None = None


class TreeError(RuntimeError):
    """The exercise tree was chosen twice, differently, or does not exist."""


def resolve(tree: str | os.PathLike | None = None) -> tuple[str, Path]:
    """Turn a tree choice into (name, root folder). ``None`` reads ``DEEPFAKE_COURSE_TREE``."""
    choice = str(tree) if tree is not None else os.environ.get(ENV_VAR, "templates")
    if choice == "templates":
        return "templates", ROOT
    if choice == "solutions":
        return "solutions", SOLUTIONS_ROOT
    path = Path(choice).resolve()
    if not (path / PHASES[0]).is_dir():
        raise TreeError(f"'{choice}' is not an exercise tree: expected {PHASES[0]}/ inside it")
    return str(path), path


class _ExerciseTreeFinder(importlib.abc.MetaPathFinder):
    """Resolves the top-level phase packages to the active tree; submodules follow ``__path__``."""

    def __init__(self, root: Path):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in PHASES:
            return None
        package_dir = self.root / fullname
        return importlib.util.spec_from_file_location(
            fullname, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
        )


def activate(tree: str | os.PathLike | None = None) -> Path:
    """Choose the exercise tree for this process and install the import hook. Returns its root.

    Calling it again with the same tree is a no-op; with another tree it raises ``TreeError``
    (reloading exercise modules from a second tree in one process is how graders end up silently
    grading the wrong code).
    """
    global _active_root, _active_name
    name, root = resolve(tree)
    if _active_root is not None:
        if root != _active_root:
            raise TreeError(f"exercise tree already set to {_active_name}; cannot switch to {name}")
        return root
    already = [m for m in PHASES if m in sys.modules]
    if already:
        raise TreeError(f"{already[0]} was imported before the exercise tree was chosen")
    sys.meta_path.insert(0, _ExerciseTreeFinder(root))
    _active_root, _active_name = root, name
    os.environ[ENV_VAR] = name  # subprocesses (e.g. DataLoader workers) inherit the choice
    return root


def exercise_root() -> Path:
    """Root of the active tree (activating the default one if none was chosen yet)."""
    return _active_root if _active_root is not None else activate()


def active_name() -> str:
    """``templates``, ``solutions`` or the path of a custom tree."""
    exercise_root()
    return str(_active_name)


def modules_loaded_from(folder: Path) -> list[str]:
    """Names of imported modules whose file lies under ``folder`` (used to catch a leaked solution)."""
    folder = folder.resolve()
    leaked = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(folder):
            leaked.append(name)
    return sorted(leaked)


def add_tree_argument(parser) -> None:
    """Add ``--solutions`` to a tool's argparse parser (use ``activate_from_args`` after parsing)."""
    parser.add_argument(
        "--solutions",
        action="store_true",
        help="run the reference solutions instead of your templates (default: $%s or templates)" % ENV_VAR,
    )


def activate_from_args(args) -> Path:
    """Activate the tree a tool's parsed arguments ask for."""
    return activate("solutions" if getattr(args, "solutions", False) else None)
