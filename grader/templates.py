"""Generate the student templates from the reference solutions (one source of truth).

A solution marks the code a student writes::

    def radial_power_spectrum(image, n_bins=None):
        \"\"\"...\"\"\"
        # BEGIN SOLUTION 3.1: Take |FFT|^2, fftshift it, average over rings of equal radius
        spectrum = ...
        return profile
        # END SOLUTION

or, for a single line, ``return x @ w  # SOLUTION 5.1: multiply the inputs by the weights``.
The template gets, at the same indentation::

        # TODO 3.1: Take |FFT|^2, fftshift it, average over rings of equal radius
        raise TodoError("3.1: Take |FFT|^2, ... (IMPLEMENTATION_GUIDE.md, 3.1 Radial power spectrum)")

Commands (instructors; students never need them)::

    python -m grader.templates build    # rewrite every template from its solution
    python -m grader.templates check    # fail if a template is stale, a marker is wrong, or a module does not import

Every ``solutions/<phase>/...`` file has a template at ``<phase>/...``; files without markers
(``__init__.py``) are copied unchanged.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import importlib.util
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from grader import tree
from grader.tasks import Task, all_tasks

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?P<rest>.*)$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
ONE_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<code>\S.*?)\s+# SOLUTION(?P<rest>.*)$")
TASK_AND_HINT = re.compile(r"^ (?P<task>\d+\.\d+): (?P<hint>\S(?:.*\S)?)\s*$")
TODO_IMPORT = "from grader.todo import TodoError"
GENERATED_NOTE = "# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md)."
COMMENT_WIDTH = 96


class MarkerError(ValueError):
    """A solution file's markers are malformed (unbalanced, nested, unknown task, no hint)."""


@dataclass(frozen=True)
class SolutionBlock:
    """One marked region: lines [start, end] (1-based, inclusive) of a solution file."""

    task: str
    hint: str
    start: int
    end: int


def _task_and_hint(rest: str, where: str) -> tuple[str, str]:
    match = TASK_AND_HINT.match(rest)
    if not match:
        raise MarkerError(f"{where}: a marker needs ' <task>: <hint>', e.g. '# BEGIN SOLUTION 3.1: compute the spectrum'")
    return match.group("task"), match.group("hint")


def find_blocks(source: str, filename: str = "<solution>") -> list[SolutionBlock]:
    """Parse the solution markers of one file. Raises MarkerError on any malformed marker."""
    blocks: list[SolutionBlock] = []
    open_block: tuple[str, str, int] | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        where = f"{filename}:{number}"
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_block:
                raise MarkerError(f"{where}: BEGIN SOLUTION inside the block opened at line {open_block[2]} (nested)")
            task, hint = _task_and_hint(begin.group("rest"), where)
            open_block = (task, hint, number)
        elif end:
            if not open_block:
                raise MarkerError(f"{where}: END SOLUTION without a BEGIN SOLUTION")
            blocks.append(SolutionBlock(open_block[0], open_block[1], open_block[2], number))
            open_block = None
        elif "# SOLUTION" in line and "BEGIN SOLUTION" not in line:
            one = ONE_LINE.match(line)
            if not one:
                raise MarkerError(f"{where}: '# SOLUTION' marker must follow code on the same line")
            if open_block:
                raise MarkerError(f"{where}: one-line SOLUTION marker inside the block opened at line {open_block[2]}")
            task, hint = _task_and_hint(one.group("rest"), where)
            blocks.append(SolutionBlock(task, hint, number, number))
    if open_block:
        raise MarkerError(f"{filename}:{open_block[2]}: BEGIN SOLUTION never closed by END SOLUTION")
    return blocks


def _stub_lines(indent: str, task: Task, hint: str) -> list[str]:
    comment = textwrap.wrap(f"TODO {task.id}: {hint}", width=COMMENT_WIDTH - len(indent) - 2)
    lines = [f"{indent}# {comment[0]}"] + [f"{indent}#   {part}" for part in comment[1:]]
    message = f"{task.id}: {hint} (IMPLEMENTATION_GUIDE.md, {task.guide})"
    lines.append(f"{indent}raise TodoError({message!r})")
    return lines


def _import_line_index(lines: list[str], source: str) -> int:
    """Index after the module docstring and ``from __future__`` imports: where TodoError is imported."""
    module = ast.parse(source)
    index = 0
    for node in module.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant)
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if (is_docstring and index == 0) or is_future:
            index = node.end_lineno or index
        else:
            break
    return index


def make_template(source: str, tasks: dict[str, Task], filename: str = "<solution>", only_task: str | None = None) -> str:
    """Return the template text for one solution file.

    ``only_task`` stubs the blocks of that task alone and keeps the rest of the solution (used by
    the stub-swap self-check to prove each task's tests fail without its code).
    """
    blocks = find_blocks(source, filename)
    for block in blocks:
        if block.task not in tasks:
            raise MarkerError(f"{filename}:{block.start}: task {block.task} is not declared in its phase's TASKS")
    chosen = [b for b in blocks if only_task is None or b.task == only_task]
    lines = source.splitlines()
    if not chosen:
        return source
    out: list[str] = []
    starts = {b.start: b for b in chosen}
    skip_until = 0
    for number, line in enumerate(lines, start=1):
        if number <= skip_until:
            continue
        block = starts.get(number)
        if block is None:
            out.append(line)
            continue
        indent = (BEGIN.match(line) or ONE_LINE.match(line)).group("indent")  # type: ignore[union-attr]
        out.extend(_stub_lines(indent, tasks[block.task], block.hint))
        skip_until = block.end
    insert_at = _import_line_index(lines, source)
    header = [GENERATED_NOTE] if only_task is None else []
    out = header + out[:insert_at] + ["", TODO_IMPORT] + out[insert_at:]
    return "\n".join(out) + "\n"


def solution_files() -> list[Path]:
    """Every file of every phase in ``solutions/`` (relative to ``solutions/``), sorted."""
    files = []
    for phase in tree.PHASES:
        for path in sorted((tree.SOLUTIONS_ROOT / phase).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files.append(path.relative_to(tree.SOLUTIONS_ROOT))
    return files


def expected_templates() -> dict[Path, bytes]:
    """Map template path (relative to the repository root) -> the bytes it must contain."""
    tasks = all_tasks(tree.SOLUTIONS_ROOT)
    expected: dict[Path, bytes] = {}
    for relative in solution_files():
        data = (tree.SOLUTIONS_ROOT / relative).read_bytes()
        if relative.suffix == ".py":
            data = make_template(data.decode("utf-8"), tasks, str(relative)).encode("utf-8")
        expected[relative] = data
    return expected


def build() -> list[Path]:
    """Write every template from its solution. Returns the paths that changed."""
    changed = []
    for relative, data in expected_templates().items():
        target = tree.ROOT / relative
        if not target.exists() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            changed.append(relative)
    return changed


def _orphan_templates() -> list[Path]:
    """Exercise files (``template_*.py``) in the template tree that have no solution."""
    solutions = set(solution_files())
    orphans = []
    for phase in tree.PHASES:
        for path in sorted((tree.ROOT / phase).glob("template_*.py")):
            relative = path.relative_to(tree.ROOT)
            if relative not in solutions:
                orphans.append(relative)
    return orphans


def _import_problems(root_name: str, modules: list[str]) -> list[str]:
    """Import each module in a fresh interpreter on the given tree; return one line per failure."""
    if not modules:
        return []
    script = textwrap.dedent(
        f"""
        import importlib, sys, traceback
        from grader import tree
        tree.activate({root_name!r})
        for name in {modules!r}:
            try:
                importlib.import_module(name)
            except BaseException as error:
                print(f"{{name}}: {{type(error).__name__}}: {{error}}".splitlines()[0])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tree.ROOT, capture_output=True, text=True, timeout=600)
    problems = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0:
        problems.append(f"import check crashed: {done.stderr.strip().splitlines()[-1:]}")
    return problems


def _has_course_requirements() -> bool:
    """Whether this interpreter can import the exercise modules' dependencies (torch, cv2)."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "cv2"))


def check(import_modules: bool = True) -> list[str]:
    """Every reason the template tree is not exactly what the solutions generate (empty = in sync)."""
    problems: list[str] = []
    try:
        expected = expected_templates()
    except (MarkerError, SyntaxError) as error:
        return [f"marker error: {error}"]
    for relative, data in expected.items():
        target = tree.ROOT / relative
        if not target.exists():
            problems.append(f"missing template {relative} (run: python -m grader.templates build)")
        elif target.read_bytes() != data:
            diff = difflib.unified_diff(
                target.read_text(encoding="utf-8").splitlines(), data.decode("utf-8").splitlines(), lineterm="", n=0
            )
            first = next((d for d in list(diff)[2:] if d[:1] in "+-"), "")
            problems.append(f"stale template {relative} (run: python -m grader.templates build); first difference: {first[:120]}")
    problems += [f"template {p} has no solution at solutions/{p}" for p in _orphan_templates()]
    if import_modules and not problems and not _has_course_requirements():
        print("templates: import check skipped: this Python lacks the course's requirements (use .venv/bin/python)")
    elif import_modules and not problems:
        modules = [".".join(p.with_suffix("").parts) for p in expected if p.suffix == ".py" and p.name != "__init__.py"]
        problems += [f"template does not import: {line}" for line in _import_problems("templates", modules)]
        problems += [f"solution does not import: {line}" for line in _import_problems("solutions", modules)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.templates", description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=["build", "check"], help="build the templates or check them")
    parser.add_argument("--check", action="store_true", help="same as the 'check' command")
    parser.add_argument("--no-import", action="store_true", help="skip importing every module (faster)")
    args = parser.parse_args(argv)
    if args.command == "build":
        changed = build()
        print(f"templates: {len(changed)} file(s) written" + "".join(f"\n  {p}" for p in changed))
        problems = check(import_modules=not args.no_import)
    elif args.command == "check" or args.check:
        problems = check(import_modules=not args.no_import)
    else:
        parser.error("say 'build' or 'check'")
    for problem in problems:
        print(f"  {problem}")
    print("templates: in sync with solutions" if not problems else f"templates: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
