"""The course grader as a pytest plugin: task marks, TODO lines, score table, leaked-solution guard.

Registered by the root ``conftest.py`` once the exercise tree is chosen. A test under
``tests/phase<N>/`` must carry ``@pytest.mark.task("<N>.<k>")`` for a task declared in that phase's
``TASKS``. A test that hits a ``TodoError`` is reported as one line,
``TODO 3.1 phase3_frequency_analysis/template_fft_analysis.py:42 - <hint>``, not a traceback (on the
solutions tree a ``TodoError`` stays a hard failure with its traceback). A task earns
``points * passed / tests`` of its points.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from grader import tree
from grader.tasks import Task, all_tasks
from grader.todo import TodoError, todo_line

GRADED_DIR = "tests/phase"  # tests under tests/phase1..5 are graded and must carry a task mark


class Gradebook:
    """Outcome of every graded test, grouped by task."""

    def __init__(self, tasks: dict[str, Task]):
        self.tasks = tasks
        self.outcomes: dict[str, dict[str, str]] = defaultdict(dict)  # task -> nodeid -> outcome
        self.todo_lines: dict[str, str] = {}  # nodeid -> "TODO 3.1 file:line - hint"

    def record(self, task: str, nodeid: str, outcome: str) -> None:
        rank = {"passed": 0, "skipped": 1, "failed": 2, "todo": 3}
        previous = self.outcomes[task].get(nodeid)
        if previous is None or rank[outcome] > rank[previous]:
            self.outcomes[task][nodeid] = outcome

    def rows(self) -> list[dict]:
        rows = []
        for task in self.tasks.values():
            outcomes = list(self.outcomes.get(task.id, {}).values())
            counts = {k: outcomes.count(k) for k in ("passed", "failed", "todo", "skipped")}
            graded = counts["passed"] + counts["failed"] + counts["todo"]
            earned = round(task.points * counts["passed"] / graded, 2) if graded else 0.0
            rows.append({"task": task.id, "title": task.title, "file": task.file, "points": task.points,
                         "earned": earned, "tests": len(outcomes), **counts,
                         "outcomes": dict(sorted(self.outcomes.get(task.id, {}).items()))})
        return rows


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


class CourseGrader:
    """pytest plugin: task marks, TODO reporting, score table, leaked-solution guard."""

    def __init__(self, config):
        self.config = config
        self.tree_name = tree.active_name()
        self.root = tree.exercise_root()
        self.book = Gradebook(all_tasks(self.root))

    def pytest_report_header(self, config):
        return f"exercise tree under test: {self.tree_name} ({self.root})"

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

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        report.course_task = _task_of(item)
        todo = _todo_in_chain(call.excinfo.value) if call.excinfo is not None else None
        if todo is not None and self.tree_name != "solutions":
            report.outcome = "failed"
            report.longrepr = todo_line(todo, self.root)
            report.course_todo = True

    def pytest_report_teststatus(self, report, config):
        if getattr(report, "course_todo", False):
            return "todo", "T", ("TODO", {"yellow": True})
        return None

    def pytest_runtest_logreport(self, report):
        task = getattr(report, "course_task", None)
        if task is None or (report.when != "call" and report.passed):
            return
        if getattr(report, "course_todo", False):
            self.book.record(task, report.nodeid, "todo")
            self.book.todo_lines.setdefault(report.nodeid, str(report.longrepr))
        else:
            self.book.record(task, report.nodeid, report.outcome)

    def leaked_solutions(self) -> list[str]:
        """In template mode, any module imported from solutions/ means the grader graded the wrong tree."""
        return tree.modules_loaded_from(tree.SOLUTIONS_ROOT) if self.tree_name == "templates" else []

    def pytest_sessionfinish(self, session, exitstatus):
        if self.leaked_solutions():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        path = self.config.getoption("score_json")
        if path:
            rows = self.book.rows()
            data = {"tree": self.tree_name, "root": str(self.root), "tasks": rows,
                    "earned": round(sum(r["earned"] for r in rows), 2), "possible": sum(r["points"] for r in rows),
                    "todo_lines": self.book.todo_lines, "leaked_solution_modules": self.leaked_solutions()}
            Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        write = terminalreporter.write_line
        if self.book.todo_lines:
            terminalreporter.section("unfinished exercises (TODO)", sep="-", yellow=True)
            for nodeid, line in self.book.todo_lines.items():
                write(f"{line}   [{nodeid}]")
        rows = [r for r in self.book.rows() if r["tests"] or not config.getoption("task")]
        if not any(r["tests"] for r in rows):
            return  # only ungraded tests (foundation, tools) ran: no score table
        terminalreporter.section(f"score: {self.tree_name} tree ({self.root})", sep="=", bold=True)
        phase = None
        for row in rows:
            if row["task"].split(".")[0] != phase:
                phase = row["task"].split(".")[0]
                write("")
                write(f"phase {phase}: {tree.PHASES[int(phase) - 1]}", bold=True)
                write(f"{'task':<6}{'title':<44}{'pass':>5}{'fail':>5}{'todo':>5}{'points':>14}")
            points = f"{row['earned']:g} / {row['points']}"
            title = row["title"] if row["tests"] else row["title"] + " (no tests run)"
            write(f"{row['task']:<6}{title[:43]:<44}{row['passed']:>5}{row['failed']:>5}{row['todo']:>5}{points:>14}")
        write("")
        write(f"total: {sum(r['earned'] for r in rows):g} / {sum(r['points'] for r in rows)} points", bold=True)
        leaked = self.leaked_solutions()
        if leaked:
            write(f"ERROR: grading the templates imported reference solutions: {', '.join(leaked)}", red=True)
        if config.getoption("next"):
            self.print_next(write, rows)

    def print_next(self, write, rows) -> None:
        for row in rows:
            if row["tests"] and row["passed"] < row["tests"]:
                todo = next((self.book.todo_lines[n] for n in row["outcomes"] if n in self.book.todo_lines), None)
                write("")
                write(f"next: task {row['task']} {row['title']} ({row['file']})", bold=True)
                write(f"  {todo}" if todo else f"  {row['failed']} failing test(s): run pytest --task {row['task']}")
                return
        write("")
        write("next: nothing left - every task passes", bold=True)
