"""The student's feedback loop (issue 15): fast start, graded tests only, one TODO line per task, --next."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from grader import tree
from grader.plugin import Gradebook, first_todo_in_file
from grader.tasks import all_tasks

pytestmark = pytest.mark.foundation

FACE_EXTRACTION = tree.ROOT / "phase1_cnn_detection" / "template_face_extraction.py"


def pytest_on_templates(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "100"}
    env.pop(tree.ENV_VAR, None)  # the templates, whatever tree this test process grades
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=tree.ROOT, capture_output=True, text=True, env=env, timeout=300)


def line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_first_todo_in_a_file_is_the_first_function_to_write():
    line, function, hint = first_todo_in_file(FACE_EXTRACTION, "1.1")
    assert function == "square_crop_box", "crop_face calls square_crop_box: write that first"
    assert line == line_of(FACE_EXTRACTION, "raise TodoError('1.1: the side is scale")
    assert line < line_of(FACE_EXTRACTION, "def crop_face(")
    assert hint.startswith("the side is scale")
    assert first_todo_in_file(FACE_EXTRACTION, "1.2")[1] == "similarity_transform"
    assert first_todo_in_file(FACE_EXTRACTION, "9.9") is None


def test_todo_summary_is_one_line_per_task_at_its_first_site_in_the_tasks_file():
    book = Gradebook(all_tasks(tree.SOLUTIONS_ROOT))
    file = "phase1_cnn_detection/template_face_extraction.py"
    for number, (site, line) in enumerate([("a", 108), ("b", 84), ("c", 84), ("d", 108)]):
        nodeid = f"tests/phase1/test_face_extraction.py::test_{site}{number}"
        book.record("1.1", nodeid, "todo")
        book.todo_sites[nodeid] = (file, line, f"hint at {line}")
    book.record("1.1", "tests/phase1/test_face_extraction.py::test_passes", "passed")
    [entry] = book.todo_summary()
    assert entry["line_text"] == f"TODO 1.1 (4 tests) {file}:84 - hint at 84"
    assert len(entry["nodeids"]) == 4


def test_task_run_collects_only_its_phase_and_prints_one_todo_line_per_task():
    import re

    done = pytest_on_templates("--task", "3.1", "--next", "-q")
    counted = re.search(r"(\d+) todo in", done.stdout)
    assert counted and int(counted.group(1)) >= 7 and "error" not in done.stdout.lower(), done.stdout[-3000:]
    todo_lines = [line for line in done.stdout.splitlines() if line.startswith("TODO ")]
    assert len(todo_lines) == 1 and todo_lines[0].startswith(
        f"TODO 3.1 ({counted.group(1)} tests) phase3_frequency_analysis/template_fft_analysis.py:"), done.stdout
    assert all(len(line) <= 100 for line in done.stdout.splitlines() if "TODO" in line or line.startswith("    "))
    assert "next: task 3.1" in done.stdout and "write log_power_spectrum at" in done.stdout


def test_next_names_the_first_function_of_the_first_unfinished_task():
    done = pytest_on_templates("--task", "1.1", "--next", "-q")
    line = first_todo_in_file(FACE_EXTRACTION, "1.1")[0]
    assert f"write square_crop_box at phase1_cnn_detection/template_face_extraction.py:{line}" in done.stdout, \
        done.stdout[-3000:]


def test_students_plain_run_collects_only_the_graded_tests():
    done = pytest_on_templates("--collect-only", "-q")
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected and all(line.startswith("tests/phase") for line in collected), \
        [line for line in collected if not line.startswith("tests/phase")][:5]
