"""The course grader as a pytest plugin: task marks, TODO lines, score table, cheat guards.

Registered by the root ``conftest.py`` once the exercise tree is chosen.

* Tasks and points come from one canonical list the student does not edit: the ``TASKS`` of the
  phase ``__init__.py`` files in ``solutions/``. When the graded tree's own ``TASKS`` differ (ids,
  points, files) the run says so (and ``--score-json`` lists the differences); the canonical
  points are used either way.
* A test under ``tests/phase<N>/`` must carry ``@pytest.mark.task("<N>.<k>")`` for a declared task.
  A task earns ``points * passed / tests``: only a passing test counts; a failure, a TODO, a
  timeout and a skip (even one raised from the student's code) count as not done. Skips are shown
  in their own column with their reason.
* Unfinished work is reported as one line per task, not per test:
  ``TODO 1.5 (6 tests) phase1_cnn_detection/template_efficientnet.py:95 - <hint>`` (the first TODO
  of the task in its file); ``-v`` lists the tests under it. On the solutions tree a ``TodoError``
  stays a hard failure with its traceback.
* ``--next`` names the first unfinished task and the first function to write in it.
* Every graded test runs under a timeout (``--graded-timeout``, 60 s by default; 0 turns it off).
* On any tree but the solutions, reaching code under ``solutions/`` without the loader (reading,
  compiling or running a file there, see :mod:`grader.guard`) or importing a module from there
  fails the run, names the files, and the run earns 0 points.
* A student's plain ``pytest`` (templates) collects only the graded tests (``tests/phase*``);
  ``--task`` collects only the phases of the chosen tasks; ``pytest --solutions`` runs everything.
"""
from __future__ import annotations

import ast
import json
import shutil
import signal
import textwrap
import threading
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader import guard, tree
from grader.tasks import Task, all_tasks
from grader.todo import TodoError, raise_site

GRADED_DIR = "tests/phase"  # tests under tests/phase1..5 are graded and must carry a task mark
DEFAULT_TIMEOUT_S = 60.0
OUTCOMES = ("passed", "failed", "todo", "skipped")


class GradedTestTimeout(Exception):
    """A graded test ran longer than ``--graded-timeout`` seconds."""


class Gradebook:
    """Outcome of every graded test, grouped by task."""

    def __init__(self, tasks: dict[str, Task]):
        self.tasks = tasks
        self.outcomes: dict[str, dict[str, str]] = defaultdict(dict)  # task -> nodeid -> outcome
        self.todo_sites: dict[str, tuple[str, int, str]] = {}  # nodeid -> (file, line, hint)
        self.todo_tasks: dict[str, str] = {}  # nodeid -> task
        self.skip_reasons: dict[str, str] = {}  # nodeid -> reason
        self.flagged = False  # solution code was reached: the run earns nothing

    def record(self, task: str, nodeid: str, outcome: str) -> None:
        rank = {"passed": 0, "skipped": 1, "failed": 2, "todo": 3}
        previous = self.outcomes[task].get(nodeid)
        if previous is None or rank[outcome] > rank[previous]:
            self.outcomes[task][nodeid] = outcome

    def rows(self) -> list[dict]:
        rows = []
        for task in self.tasks.values():
            outcomes = list(self.outcomes.get(task.id, {}).values())
            counts = {k: outcomes.count(k) for k in OUTCOMES}
            earned = round(task.points * counts["passed"] / len(outcomes), 2) if outcomes and not self.flagged else 0.0
            rows.append({"task": task.id, "title": task.title, "file": task.file, "points": task.points,
                         "earned": earned, "tests": len(outcomes), **counts,
                         "outcomes": dict(sorted(self.outcomes.get(task.id, {}).items()))})
        return rows

    def todo_summary(self) -> list[dict]:
        """One entry per task with TODO tests: the first TODO site in the task's file, the test count."""
        summary = []
        for task in self.tasks.values():
            nodeids = [n for n, outcome in self.outcomes.get(task.id, {}).items() if outcome == "todo"]
            sites = [self.todo_sites[n] for n in nodeids if n in self.todo_sites]
            if not sites:
                continue
            own_file = f"{tree.PHASES[task.phase - 1]}/{task.file}"
            file, line, hint = min(sites, key=lambda s: (s[0] != own_file, s[0], s[1]))
            count = len(nodeids)
            summary.append({"task": task.id, "tests": count, "file": file, "line": line, "hint": hint,
                            "nodeids": sorted(nodeids),
                            "line_text": f"TODO {task.id} ({count} test{'s' * (count != 1)}) {file}:{line} - {hint}"})
        return summary


def _task_of(item) -> str | None:
    marks = list(item.iter_markers("task"))
    return str(marks[0].args[0]) if marks and marks[0].args else None


def _is_graded(item) -> bool:
    path = Path(item.path).resolve()
    return path.is_relative_to(tree.ROOT) and path.relative_to(tree.ROOT).as_posix().startswith(GRADED_DIR)


def _todo_in_chain(error: BaseException | None) -> TodoError | None:
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, TodoError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def task_list_differences(canonical: dict[str, Task], root: Path) -> list[str]:
    """How the TASKS of the tree at ``root`` differ from the canonical list (ids, points, files)."""
    try:
        student = all_tasks(root)
    except Exception as error:  # a broken phase __init__.py: say so, grade with the canonical list
        return [f"the tree's TASKS could not be read ({type(error).__name__}: {error})"]
    differences = []
    for task_id in sorted(set(canonical) | set(student), key=lambda t: tuple(int(p) for p in t.split("."))):
        ours, theirs = canonical.get(task_id), student.get(task_id)
        if theirs is None:
            differences.append(f"task {task_id} is missing from the tree's TASKS")
        elif ours is None:
            differences.append(f"task {task_id} is not a course task (ignored)")
        else:
            if theirs.points != ours.points:
                differences.append(f"task {task_id}: points {theirs.points} in the tree, {ours.points} in the course")
            if theirs.file != ours.file:
                differences.append(f"task {task_id}: file {theirs.file} in the tree, {ours.file} in the course")
    return differences


def first_todo_in_file(path: Path, task: str) -> tuple[int, str, str] | None:
    """(line, function, hint) of the first ``raise TodoError('<task>: ...')`` in a file, or None."""
    try:
        module = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    found = []

    def visit(node, qualname: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = qualname
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{qualname}.{child.name}" if qualname else child.name
            elif (isinstance(child, ast.Raise) and isinstance(child.exc, ast.Call)
                    and getattr(child.exc.func, "id", None) == "TodoError" and child.exc.args
                    and isinstance(child.exc.args[0], ast.Constant) and isinstance(child.exc.args[0].value, str)):
                error = TodoError(child.exc.args[0].value)
                if error.task == task:
                    found.append((child.lineno, qualname or "<module>", error.hint))
            visit(child, name)

    visit(module, "")
    return min(found) if found else None


class CourseGrader:
    """pytest plugin: task marks, TODO reporting, score table, cheat guards, timeouts."""

    def __init__(self, config):
        self.config = config
        self.tree_name = tree.active_name()
        self.root = tree.exercise_root()
        canonical = all_tasks(tree.SOLUTIONS_ROOT)  # read before the guard is installed
        self.differences = task_list_differences(canonical, self.root) if self.tree_name != "solutions" else []
        self.book = Gradebook(canonical)
        self.timeout = float(config.getoption("graded_timeout") or 0)
        if self.tree_name != "solutions":
            guard.install()

    # ---- collection ------------------------------------------------------------------------

    def _wanted_test_dirs(self, config) -> set[str] | None:
        """Which ``tests/<dir>`` to collect, or None for all of them."""
        tasks = config.getoption("task")
        if tasks:
            return {f"phase{task.split('.')[0]}" for task in tasks}
        from_testpaths = config.args_source == pytest.Config.ArgsSource.TESTPATHS
        if self.tree_name != "solutions" and from_testpaths and not config.getoption("all_tests"):
            return {f"phase{n}" for n in range(1, len(tree.PHASES) + 1)}  # a student grading their work
        return None

    def pytest_ignore_collect(self, collection_path, config):
        wanted = self._wanted_test_dirs(config)
        if wanted is None:
            return None
        path = Path(collection_path)
        if path.is_dir() and path.parent == tree.ROOT / "tests" and path.name not in wanted:
            return True
        return None

    def pytest_report_header(self, config):
        lines = [f"exercise tree under test: {self.tree_name} ({self.root})"]
        if self._wanted_test_dirs(config) is not None and not config.getoption("task"):
            lines.append("graded tests only (tests/phase*); pytest --all-tests also runs tests/foundation and tests/tools")
        lines += [f"WARNING: {line}" for line in self._difference_lines()]
        return lines

    def _difference_lines(self) -> list[str]:
        if not self.differences:
            return []
        return ["this tree's TASKS differ from the course's (solutions/*/__init__.py); "
                "points come from the course's list: " + "; ".join(self.differences)]

    def pytest_collection_modifyitems(self, session, config, items):
        problems = []
        for item in items:
            task = _task_of(item)
            if _is_graded(item) and task is None:
                problems.append(f"{item.nodeid}: graded test without @pytest.mark.task(...)")
            elif task is not None and task not in self.book.tasks:
                problems.append(f"{item.nodeid}: task {task} is not declared in any phase's TASKS")
        if problems:
            raise pytest.UsageError("task marks:\n  " + "\n  ".join(problems))
        wanted = set(config.getoption("task"))
        if wanted:
            unknown = wanted - set(self.book.tasks)
            if unknown:
                raise pytest.UsageError(f"unknown task(s): {', '.join(sorted(unknown))}; known: {', '.join(self.book.tasks)}")
            config.hook.pytest_deselected(items=[i for i in items if _task_of(i) not in wanted])
            items[:] = [i for i in items if _task_of(i) in wanted]

    # ---- timeouts ----------------------------------------------------------------------------

    @contextmanager
    def _alarm(self, item):
        usable = (self.timeout > 0 and _task_of(item) is not None and hasattr(signal, "setitimer")
                  and threading.current_thread() is threading.main_thread())
        if not usable:
            yield
            return

        def expired(signum, frame):
            raise GradedTestTimeout(f"graded test ran over {self.timeout:g} s (--graded-timeout): an endless loop, "
                                    "or far too much work?")

        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item):
        with self._alarm(item):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        with self._alarm(item):
            return (yield)

    # ---- reports -----------------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        report.course_task = _task_of(item)
        error = call.excinfo.value if call.excinfo is not None else None
        todo = _todo_in_chain(error)
        if todo is not None and self.tree_name != "solutions":
            file, line = raise_site(todo, self.root)
            report.outcome = "failed"
            report.longrepr = f"TODO {todo.task} {file}:{line} - {todo.hint}"
            report.course_todo = (file, line, todo.hint)
        elif isinstance(error, GradedTestTimeout) and report.course_task is not None:
            report.longrepr = f"TIMEOUT {report.course_task} {item.nodeid} - {error}"

    def pytest_report_teststatus(self, report, config):
        if getattr(report, "course_todo", None):
            return "todo", "T", ("TODO", {"yellow": True})
        return None

    def pytest_runtest_logreport(self, report):
        task = getattr(report, "course_task", None)
        if task is None or (report.when != "call" and report.passed):
            return
        if getattr(report, "course_todo", None):
            self.book.record(task, report.nodeid, "todo")
            self.book.todo_sites.setdefault(report.nodeid, report.course_todo)
            self.book.todo_tasks[report.nodeid] = task
        elif report.skipped:
            self.book.record(task, report.nodeid, "skipped")
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            if hasattr(report, "wasxfail"):
                reason = f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
            self.book.skip_reasons.setdefault(report.nodeid, reason.removeprefix("Skipped: "))
        else:
            self.book.record(task, report.nodeid, report.outcome)

    # ---- cheats --------------------------------------------------------------------------

    def solution_files_reached(self) -> list[str]:
        """Files under solutions/ read, compiled or run in this process (any tree but the solutions)."""
        return guard.violations() if self.tree_name != "solutions" else []

    def leaked_solutions(self) -> list[str]:
        """On any other tree, a module imported from solutions/ means the wrong code was graded."""
        return tree.modules_loaded_from(tree.SOLUTIONS_ROOT) if self.tree_name != "solutions" else []

    def _flag(self) -> bool:
        self.book.flagged = bool(self.solution_files_reached() or self.leaked_solutions())
        return self.book.flagged

    def pytest_sessionfinish(self, session, exitstatus):
        if self._flag():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        path = self.config.getoption("score_json")
        if path:
            rows = self.book.rows()
            data = {"tree": self.tree_name, "root": str(self.root), "tasks": rows,
                    "earned": round(sum(r["earned"] for r in rows), 2), "possible": sum(r["points"] for r in rows),
                    "todo_lines": {n: f"TODO {self.book.todo_tasks[n]} {f}:{ln} - {h}"
                                   for n, (f, ln, h) in self.book.todo_sites.items()},
                    "todo_tasks": self.book.todo_summary(),
                    "skip_reasons": self.book.skip_reasons,
                    "task_list_differences": self.differences,
                    "solution_files_reached": self.solution_files_reached(),
                    "leaked_solution_modules": self.leaked_solutions(),
                    "flagged": self.book.flagged}
            Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")

    # ---- terminal ----------------------------------------------------------------------------

    def _wrapped(self, write, text: str, indent: str = "    ") -> None:
        width = max(40, shutil.get_terminal_size((100, 24)).columns)
        for line in textwrap.wrap(text, width=width, subsequent_indent=indent, break_on_hyphens=False) or [""]:
            write(line)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        write = terminalreporter.write_line
        todo = self.book.todo_summary()
        if todo:
            terminalreporter.section("unfinished exercises (TODO), one line per task", sep="-", yellow=True)
            for entry in todo:
                self._wrapped(write, entry["line_text"])
                if config.getoption("verbose") > 0:
                    for nodeid in entry["nodeids"]:
                        write(f"      {nodeid}")
        if self.book.skip_reasons:
            terminalreporter.section("skipped graded tests (count as not done)", sep="-", yellow=True)
            for nodeid, reason in sorted(self.book.skip_reasons.items()):
                self._wrapped(write, f"SKIP {nodeid} - {reason}")
        rows = [r for r in self.book.rows() if r["tests"] or not config.getoption("task")]
        flagged = self._flag()
        for line in self._difference_lines():
            self._wrapped(write, f"WARNING: {line}")
        if not any(r["tests"] for r in rows) and not flagged:
            return  # only ungraded tests (foundation, tools) ran: no score table
        terminalreporter.section(f"score: {self.tree_name} tree ({self.root})", sep="=", bold=True)
        phase = None
        for row in rows:
            if row["task"].split(".")[0] != phase:
                phase = row["task"].split(".")[0]
                write("")
                write(f"phase {phase}: {tree.PHASES[int(phase) - 1]}", bold=True)
                write(f"{'task':<6}{'title':<44}{'pass':>5}{'fail':>5}{'todo':>5}{'skip':>5}{'points':>14}")
            points = f"{row['earned']:g} / {row['points']}"
            title = row["title"] if row["tests"] else row["title"] + " (no tests run)"
            write(f"{row['task']:<6}{title[:43]:<44}{row['passed']:>5}{row['failed']:>5}{row['todo']:>5}"
                  f"{row['skipped']:>5}{points:>14}")
        write("")
        write(f"total: {sum(r['earned'] for r in rows):g} / {sum(r['points'] for r in rows)} points", bold=True)
        if flagged:
            reached = self.solution_files_reached() + [f"module {m}" for m in self.leaked_solutions()]
            write(f"ERROR: this run reached the reference solutions without the tree loader, so it earns 0 points: "
                  f"{', '.join(reached)}", red=True)
        if config.getoption("next"):
            self.print_next(write, rows)

    def print_next(self, write, rows) -> None:
        for row in rows:
            if row["tests"] and row["passed"] < row["tests"]:
                task = self.book.tasks[row["task"]]
                relative = f"{tree.PHASES[task.phase - 1]}/{task.file}"
                write("")
                write(f"next: task {row['task']} {row['title']} ({relative})", bold=True)
                first = first_todo_in_file(self.root / relative, task.id) if row["todo"] else None
                if first is not None:
                    line, function, hint = first
                    self._wrapped(write, f"  write {function} at {relative}:{line} - {hint}", indent="      ")
                    write(f"  then run: pytest --task {row['task']}")
                else:
                    left = row["failed"] + row["todo"] + row["skipped"]
                    write(f"  {left} test(s) not passing yet: run pytest --task {row['task']} -v")
                return
        write("")
        write("next: nothing left - every task passes", bold=True)
