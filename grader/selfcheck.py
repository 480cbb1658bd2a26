"""The grader checks itself: ``python -m grader.selfcheck`` (part of ``make test`` and CI).

1. templates: every template is exactly what its solution generates, markers are well formed,
   and every module of both trees imports;
2. sync: templates and solutions expose the same modules, public names, signatures and docstrings;
3. tasks: every task has points, at least one solution block (hence a hint), a section in
   IMPLEMENTATION_GUIDE.md and at least one test;
4. all TODO: on the templates every graded test ends as TODO and none passes already;
5. stub swap: for each task, a copy of the solutions where only that task's blocks are replaced by
   their generated stubs makes every test of that task fail (a test that still passes asserts
   nothing about the task and is reported by name);
6. mutants: small wrong versions of each task's solution code (operator swaps, constant changes,
   ``return 0 * x``, swapped arguments; see ``grader/mutants.py``) must each make a test of that
   task fail, or be listed in ``grader/equivalent_mutants.py`` with a reason. Reports "killed of
   made" per task and requires >= 95% killed overall. By default a deterministic sample of
   ``--mutants-per-task`` (3) mutants per task runs; ``--all-mutants`` runs every one.

Nested pytest runs go to subprocesses (``--tree PATH`` chooses the tree), so one process never
loads two trees. Steps 5 and 6 collect only the test files that hold the task's tests, as the
templates' run of step 3 found them (collecting a whole phase folder costs seconds per run), and
step 5 checks that each run found as many tests of its task as that run did.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader import mutants as mutation
from grader import templates, tree
from grader.equivalent_mutants import EQUIVALENT
from grader.tasks import Task, all_tasks

GRADED_TEST_DIRS = [f"tests/phase{n}" for n in range(1, len(tree.PHASES) + 1)]


def _public_api(path: Path) -> dict[str, str]:
    """Name -> 'signature | docstring' for the module, its public functions, classes and methods."""
    module = ast.parse(path.read_text(encoding="utf-8"))
    api = {"<module>": ast.get_docstring(module) or ""}

    def describe(node, prefix=""):
        for child in node.body:
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if child.name.startswith("_") and not (child.name.startswith("__") and child.name.endswith("__")):
                    continue
                returns = f" -> {ast.unparse(child.returns)}" if child.returns else ""
                api[prefix + child.name] = f"({ast.unparse(child.args)}){returns} | {ast.get_docstring(child) or ''}"
            elif isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                bases = ", ".join(ast.unparse(b) for b in child.bases)
                api[prefix + child.name] = f"class({bases}) | {ast.get_docstring(child) or ''}"
                describe(child, prefix + child.name + ".")

    describe(module)
    return api


def check_templates() -> list[str]:
    return templates.check(import_modules=True)


def check_sync() -> list[str]:
    problems = []
    for relative in templates.solution_files():
        if relative.suffix != ".py":
            continue
        template = tree.ROOT / relative
        if not template.exists():
            problems.append(f"{relative}: no template")
            continue
        ours, theirs = _public_api(tree.SOLUTIONS_ROOT / relative), _public_api(template)
        for name in sorted(set(ours) | set(theirs)):
            if ours.get(name) != theirs.get(name):
                problems.append(f"{relative}: '{name}' differs between solution and template")
    return problems


def _run_pytest(args: list[str], score_path: Path) -> dict:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--score-json", str(score_path), *args]
    # one thread per run: the stub-swap runs go in parallel, one per core
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run(command, cwd=tree.ROOT, capture_output=True, text=True, env=env)
    if not score_path.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise RuntimeError(f"pytest {' '.join(args)} produced no score file:\n{tail}")
    return json.loads(score_path.read_text(encoding="utf-8"))


def _guide_headings() -> set[str]:
    guide = tree.ROOT / "IMPLEMENTATION_GUIDE.md"
    text = guide.read_text(encoding="utf-8") if guide.exists() else ""
    return {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}


def check_tasks(tasks: dict[str, Task], scores: dict) -> list[str]:
    problems = []
    tests_per_task = {row["task"]: row["tests"] for row in scores["tasks"]}
    headings = _guide_headings()
    for task in tasks.values():
        file = tree.SOLUTIONS_ROOT / tree.PHASES[task.phase - 1] / task.file
        if task.points <= 0:
            problems.append(f"task {task.id}: points must be positive")
        if not file.exists():
            problems.append(f"task {task.id}: its file {file.relative_to(tree.ROOT)} does not exist")
        elif not any(b.task == task.id for b in templates.find_blocks(file.read_text(encoding="utf-8"), str(file))):
            problems.append(f"task {task.id}: no '# BEGIN SOLUTION {task.id}: <hint>' block in {file.relative_to(tree.ROOT)}")
        if task.guide not in headings:
            problems.append(f"task {task.id}: IMPLEMENTATION_GUIDE.md has no section '{task.guide}' (its TODOs point there)")
        if not tests_per_task.get(task.id):
            problems.append(f"task {task.id}: no test carries @pytest.mark.task({task.id!r})")
    return problems


def check_all_todo(scores: dict) -> list[str]:
    problems = []
    for row in scores["tasks"]:
        not_todo = [n for n, outcome in row["outcomes"].items() if outcome != "todo"]
        for nodeid in not_todo:
            problems.append(f"task {row['task']}: on the templates {nodeid} ended '{row['outcomes'][nodeid]}', not TODO")
    if scores.get("leaked_solution_modules"):
        problems.append(f"grading the templates imported solutions: {scores['leaked_solution_modules']}")
    if scores.get("solution_files_reached"):
        problems.append(f"grading the templates reached files under solutions/: {scores['solution_files_reached']}")
    if scores.get("task_list_differences"):
        problems.append(f"the templates' TASKS differ from the solutions': {scores['task_list_differences']}")
    return problems


def task_test_files(scores: dict) -> dict[str, list[str]]:
    """Task id -> the test files that hold its graded tests, from a score file's node ids.

    A node id is ``path::name[params]``: ``{"1.2": {"tests/phase1/test_a.py::test_x": "todo"}}``
    gives ``{"1.2": ["tests/phase1/test_a.py"]}``.
    """
    return {row["task"]: sorted({nodeid.split("::")[0] for nodeid in row["outcomes"]}) for row in scores["tasks"]}


def _tests_of(task_id: str, files: dict[str, list[str]]) -> list[str]:
    """The files to collect for ``task_id``: its own, or its whole phase folder if none are known."""
    return files.get(task_id) or [GRADED_TEST_DIRS[int(task_id.split(".")[0]) - 1]]


def _stub_tree(task: Task, folder: Path) -> Path:
    """Copy of the solutions with only ``task``'s blocks replaced by stubs."""
    tasks = all_tasks(tree.SOLUTIONS_ROOT)
    for phase in tree.PHASES:
        shutil.copytree(tree.SOLUTIONS_ROOT / phase, folder / phase, ignore=shutil.ignore_patterns("__pycache__"))
    for path in (folder / tree.PHASES[task.phase - 1]).rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        stubbed = templates.make_template(source, tasks, str(path), only_task=task.id)
        if stubbed != source:
            path.write_text(stubbed, encoding="utf-8")
    return folder


def stub_swap_one(task: Task, files: dict[str, list[str]], expected_tests: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix=f"stub-{task.id}-") as tmp:
        stub_root = _stub_tree(task, Path(tmp) / "tree")
        scores = _run_pytest(["--tree", str(stub_root), "--task", task.id, *_tests_of(task.id, files)],
                             Path(tmp) / "score.json")
    row = next(r for r in scores["tasks"] if r["task"] == task.id)
    problems = [f"task {task.id}: {nodeid} still {outcome} with the task's code replaced by its stub"
                for nodeid, outcome in row["outcomes"].items() if outcome == "passed"]
    if row["tests"] != expected_tests:
        problems.append(f"task {task.id}: the stub swap ran {row['tests']} of its tests, the templates' run "
                        f"{expected_tests}")
    return problems


def check_stub_swap(tasks: dict[str, Task], workers: int, scores: dict) -> list[str]:
    files = task_test_files(scores)
    counts = {row["task"]: row["tests"] for row in scores["tasks"]}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda task: stub_swap_one(task, files, counts.get(task.id, 0)), tasks.values()))
    return [problem for result in results for problem in result]


MIN_KILL_RATE = 0.95
"""Share of the run mutants (listed equivalents excluded, as mutation scores are counted) to kill."""
MAX_EQUIVALENT_SHARE = 0.10
"""At most this share of all mutants may be listed as equivalent (each with its reason)."""
MUTANT_TIMEOUT_S = 30  # per graded test: a mutant that loops forever is killed by the timeout


def mutant_killed(mutant: mutation.Mutant, files: dict[str, list[str]]) -> tuple[bool, str]:
    """Run the mutant's task tests on a mutated copy of the solutions; (killed, first failing test)."""
    task = mutant.task
    with tempfile.TemporaryDirectory(prefix=f"mutant-{task}-") as tmp:
        root = mutation.mutated_tree(mutant, Path(tmp) / "tree")
        try:
            scores = _run_pytest(["--tree", str(root), "--task", task, "-x", "--graded-timeout", str(MUTANT_TIMEOUT_S),
                                  *_tests_of(task, files)], Path(tmp) / "score.json")
        except RuntimeError as error:  # the mutant broke collection (e.g. an import-time error): killed
            return True, str(error).splitlines()[0]
    row = next(r for r in scores["tasks"] if r["task"] == task)
    failing = [n for n, outcome in row["outcomes"].items() if outcome != "passed"]
    return bool(failing) or row["tests"] == 0, (failing[0] if failing else "")


def check_mutants(tasks: dict[str, Task], workers: int, per_task: int | None, scores: dict) -> list[str]:
    made = mutation.all_mutants(tasks)
    chosen: dict[str, list[mutation.Mutant]] = {}
    equivalent: dict[str, list[mutation.Mutant]] = {}
    for task_id, found in made.items():
        listed = EQUIVALENT.get(task_id, {})
        equivalent[task_id] = [m for m in found if m.id in listed]
        runnable = [m for m in found if m.id not in listed]
        chosen[task_id] = mutation.sample(runnable, per_task)
    jobs = [m for task_id in tasks for m in chosen[task_id]]
    files = task_test_files(scores)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(jobs, pool.map(lambda mutant: mutant_killed(mutant, files), jobs)))
    problems, killed_total, run_total, listed_total = [], 0, 0, 0
    for task_id in tasks:
        killed = sum(results[m][0] for m in chosen[task_id])
        listed = len(equivalent[task_id])
        survivors = [m for m in chosen[task_id] if not results[m][0]]
        scope = "all" if per_task is None else f"sample of {len(chosen[task_id])} of {len(made[task_id]) - listed}"
        print(f"    task {task_id}: {killed} of {len(chosen[task_id])} mutants killed "
              f"({scope}; {listed} more listed as equivalent)", flush=True)
        killed_total += killed
        run_total += len(chosen[task_id])
        listed_total += listed
        for m in survivors:
            problems.append(f"task {task_id}: mutant {m.id!r} survived ({m.file} {m.description}: "
                            f"-> {m.replacement}); strengthen the tests or list it in grader/equivalent_mutants.py")
    made_total = sum(len(found) for found in made.values())
    rate = killed_total / run_total if run_total else 1.0
    print(f"    mutants: {killed_total} of {run_total} run killed ({100 * rate:.1f}%, at least {100 * MIN_KILL_RATE:.0f}% "
          f"required); {listed_total} of the {made_total} made are listed as equivalent, not run", flush=True)
    if rate < MIN_KILL_RATE:
        problems.append(f"only {100 * rate:.1f}% of the mutants were killed (at least {100 * MIN_KILL_RATE:.0f}% required)")
    if listed_total > MAX_EQUIVALENT_SHARE * made_total:
        problems.append(f"{listed_total} of {made_total} mutants are listed as equivalent (at most "
                        f"{100 * MAX_EQUIVALENT_SHARE:.0f}%): kill them with tests instead")
    for task_id, listed in EQUIVALENT.items():
        if task_id not in tasks:
            continue
        unknown = set(listed) - {m.id for m in made.get(task_id, [])}
        problems += [f"task {task_id}: grader/equivalent_mutants.py lists {i!r}, which is no longer made" for i in sorted(unknown)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.selfcheck", description="The grader checks itself.")
    parser.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)), help="parallel stub-swap runs")
    parser.add_argument("--skip-stub-swap", action="store_true", help="skip the stub swap (local use only)")
    parser.add_argument("--skip-mutants", action="store_true", help="skip the mutation step (local use only)")
    parser.add_argument("--all-mutants", action="store_true", help="run every mutant, not the default sample")
    parser.add_argument("--mutants-per-task", type=int, default=3, help="sampled mutants per task (default 3)")
    parser.add_argument("--list-mutants", action="store_true", help="print every mutant's task and id, and exit")
    parser.add_argument("--task", action="append", metavar="ID",
                        help="stub swap and mutants for this task only (repeatable; local use while writing a task)")
    args = parser.parse_args(argv)
    if args.list_mutants:
        for task_id, found in mutation.all_mutants(all_tasks(tree.SOLUTIONS_ROOT)).items():
            for m in found:
                print(f"{task_id}  {m.id}  ({m.file} {m.description}: -> {m.replacement})")
        return 0
    tasks = all_tasks(tree.SOLUTIONS_ROOT)
    if args.task:
        unknown = sorted(set(args.task) - set(tasks))
        if unknown:
            print(f"error: no task {', '.join(unknown)} (declared: {', '.join(tasks)})", file=sys.stderr)
            return 2
        checked = {task_id: tasks[task_id] for task_id in args.task}
    else:
        checked = tasks
    failures = 0

    def report(number: int, title: str, run) -> None:
        nonlocal failures
        start = time.perf_counter()
        problems = run()
        seconds = time.perf_counter() - start
        status = "ok" if not problems else f"FAILED ({len(problems)})"
        print(f"self-check {number}/6 {title}: {status} [{seconds:.1f} s]", flush=True)
        for problem in problems:
            print(f"    {problem}", flush=True)
        failures += bool(problems)

    report(1, "templates are generated from the solutions and import", check_templates)
    report(2, "templates and solutions expose the same API", check_sync)
    with tempfile.TemporaryDirectory() as tmp:
        template_scores = _run_pytest(GRADED_TEST_DIRS, Path(tmp) / "templates.json")
    report(3, f"every task ({len(tasks)}) has points, a hint, a guide section and tests", lambda: check_tasks(tasks, template_scores))
    report(4, "on the templates every graded test is TODO", lambda: check_all_todo(template_scores))
    if args.skip_stub_swap:
        print("self-check 5/6 stub swap: skipped (--skip-stub-swap)")
    else:
        report(5, "stub swap: each task's tests fail without its code",
               lambda: check_stub_swap(checked, args.workers, template_scores))
    if args.skip_mutants:
        print("self-check 6/6 mutants: skipped (--skip-mutants)")
    else:
        per_task = None if args.all_mutants else args.mutants_per_task
        scope = "every mutant" if per_task is None else f"a sample of {per_task} per task; --all-mutants for all"
        report(6, f"mutants: each task's tests kill wrong versions of its code ({scope})",
               lambda: check_mutants(checked, args.workers, per_task, template_scores))
    print("self-check: all passed" if not failures else f"self-check: {failures} check(s) failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
