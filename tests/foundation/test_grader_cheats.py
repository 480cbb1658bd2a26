"""The grader against the cheats of issue 18: each one is tried on a copy of the templates and earns nothing.

Every test copies the template tree (never the solutions) into a temporary folder, edits the copy
the way a student could, grades it in a fresh ``pytest --tree <copy>`` process and reads the
score from ``--score-json``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import tree
from grader.tasks import all_tasks

pytestmark = pytest.mark.foundation

ATTENTION = "phase5_advanced_methods/template_attention_mechanism.py"
SOLVED_ATTENTION = '''

def scaled_dot_product_attention(query, key, value, mask=None):
    """An honest, complete implementation written by the student."""
    import math
    import torch
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask.bool(), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights
'''


def template_copy(folder: Path) -> Path:
    for phase in tree.PHASES:
        shutil.copytree(tree.ROOT / phase, folder / phase, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def append(root: Path, relative: str, code: str) -> None:
    path = root / relative
    path.write_text(path.read_text(encoding="utf-8") + code, encoding="utf-8")


def grade(root: Path, task: str, *extra: str) -> tuple[dict, subprocess.CompletedProcess]:
    score = root.parent / f"score-{task}.json"
    phase_tests = f"tests/phase{task.split('.')[0]}"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tree", str(root), "--task", task,
               "--score-json", str(score), *extra, phase_tests]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200"}
    env.pop(tree.ENV_VAR, None)
    done = subprocess.run(command, cwd=tree.ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert score.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(score.read_text(encoding="utf-8")), done


def row(scores: dict, task: str) -> dict:
    return next(r for r in scores["tasks"] if r["task"] == task)


def test_an_honest_solution_in_a_tree_copy_earns_its_points(tmp_path):
    """The control for the cheats below: the same route, without cheating, earns full marks."""
    root = template_copy(tmp_path / "tree")
    append(root, ATTENTION, SOLVED_ATTENTION)
    scores, done = grade(root, "5.1")
    assert row(scores, "5.1")["earned"] == row(scores, "5.1")["points"] == 2, done.stdout[-2000:]
    assert not scores["flagged"] and not scores["solution_files_reached"] and not scores["task_list_differences"]
    assert done.returncode == 0


def test_points_come_from_the_course_not_from_the_students_tasks_list(tmp_path):
    root = template_copy(tmp_path / "tree")
    init = root / "phase2_temporal_analysis" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    raised = re.sub(r'(Task\("2\.1",[^)]*?points=)\d+', r"\g<1>200", text)
    assert raised != text
    init.write_text(raised, encoding="utf-8")
    canonical = all_tasks(tree.SOLUTIONS_ROOT)["2.1"].points
    scores, done = grade(root, "2.1")
    assert row(scores, "2.1")["points"] == canonical != 200, "the points must be the course's, not the tree's"
    assert scores["possible"] == sum(t.points for t in all_tasks(tree.SOLUTIONS_ROOT).values())
    assert any("2.1" in d and "200" in d for d in scores["task_list_differences"]), scores["task_list_differences"]
    assert "WARNING: this tree's TASKS differ from the course's" in done.stdout


def test_a_skip_raised_from_the_students_code_earns_nothing_and_is_shown(tmp_path):
    root = template_copy(tmp_path / "tree")
    append(root, ATTENTION, '''

def scaled_dot_product_attention(query, key, value, mask=None):
    import pytest
    pytest.skip("attention is optional, surely")
''')
    scores, done = grade(root, "5.1")
    graded = row(scores, "5.1")
    assert graded["skipped"] == graded["tests"] == 3 and graded["passed"] == 0
    assert graded["earned"] == 0 and scores["earned"] == 0
    assert all("optional, surely" in reason for reason in scores["skip_reasons"].values())
    assert re.search(r"5\.1 .* 0 +0 +0 +3 +0 / 2", done.stdout), "the table's skip column must show the 3 skips"
    assert "skipped graded tests (count as not done)" in done.stdout


def test_a_skip_of_one_test_among_passing_ones_costs_that_tests_share(tmp_path):
    root = template_copy(tmp_path / "tree")
    append(root, ATTENTION, SOLVED_ATTENTION + '''

_honest = scaled_dot_product_attention


def scaled_dot_product_attention(query, key, value, mask=None):
    if mask is not None:
        import pytest
        pytest.skip("masks are not my thing")
    return _honest(query, key, value, mask)
''')
    scores, _ = grade(root, "5.1")
    graded = row(scores, "5.1")
    assert graded["skipped"] >= 1 and graded["passed"] == graded["tests"] - graded["skipped"]
    assert graded["earned"] == round(2 * graded["passed"] / graded["tests"], 2) < 2


@pytest.mark.parametrize("how", ["runpy", "spec_from_file_location", "exec_open"])
def test_running_the_solution_file_by_path_is_flagged_and_earns_nothing(tmp_path, how):
    solution = str(tree.SOLUTIONS_ROOT / ATTENTION)
    load = {
        "runpy": f"import runpy\n_namespace = runpy.run_path({solution!r})\n"
                 "scaled_dot_product_attention = _namespace['scaled_dot_product_attention']\n",
        "spec_from_file_location": "import importlib.util\n"
                                   f"_spec = importlib.util.spec_from_file_location('borrowed', {solution!r})\n"
                                   "_module = importlib.util.module_from_spec(_spec)\n"
                                   "_spec.loader.exec_module(_module)\n"
                                   "scaled_dot_product_attention = _module.scaled_dot_product_attention\n",
        "exec_open": "_namespace = {'__name__': 'borrowed'}\n"
                     f"exec(open({solution!r}).read(), _namespace)\n"
                     "scaled_dot_product_attention = _namespace['scaled_dot_product_attention']\n",
    }[how]
    root = template_copy(tmp_path / "tree")
    append(root, ATTENTION, "\n\n" + load)
    scores, done = grade(root, "5.1")
    graded = row(scores, "5.1")
    assert graded["passed"] == graded["tests"] == 3, "the borrowed code does pass the tests ..."
    assert graded["earned"] == 0 and scores["earned"] == 0, "... but a flagged run earns nothing"
    assert scores["flagged"] and any(ATTENTION in f for f in scores["solution_files_reached"]), scores
    assert done.returncode != 0
    assert "ERROR: this run reached the reference solutions" in done.stdout and ATTENTION in done.stdout


def test_a_test_that_hangs_is_stopped_by_the_graded_timeout(tmp_path):
    root = template_copy(tmp_path / "tree")
    append(root, ATTENTION, '''

def scaled_dot_product_attention(query, key, value, mask=None):
    while True:
        pass
''')
    scores, done = grade(root, "5.1", "--graded-timeout", "1")
    graded = row(scores, "5.1")
    assert graded["failed"] == graded["tests"] == 3 and graded["earned"] == 0
    assert "TIMEOUT 5.1" in done.stdout and "--graded-timeout" in done.stdout
