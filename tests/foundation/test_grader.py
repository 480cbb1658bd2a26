"""The grader machinery: solution markers, template generation, TODO lines, the tree loader."""
import subprocess
import sys
import textwrap

import pytest

from grader import templates, tree
from grader.tasks import Task
from grader.todo import TodoError, todo_line

pytestmark = pytest.mark.foundation

TASKS = {"9.1": Task("9.1", "Demo task", points=1, file="template_demo.py", guide="9.1 Demo")}

SOLUTION = textwrap.dedent('''\
    """Demo exercise."""
    from __future__ import annotations

    import math


    def area(radius: float) -> float:
        """Area of a circle."""
        # BEGIN SOLUTION 9.1: multiply pi by the radius squared
        squared = radius ** 2
        return math.pi * squared
        # END SOLUTION


    def double(x):
        return 2 * x  # SOLUTION 9.1: return twice the input
    ''')


def test_blocks_are_found_with_their_task_hint_and_lines():
    blocks = templates.find_blocks(SOLUTION)
    assert [(b.task, b.hint, b.start, b.end) for b in blocks] == [
        ("9.1", "multiply pi by the radius squared", 9, 12),
        ("9.1", "return twice the input", 16, 16),
    ]


def test_template_replaces_each_block_by_a_todo_and_a_raise_at_the_same_indent():
    text = templates.make_template(SOLUTION, TASKS)
    assert "math.pi * squared" not in text and "return 2 * x" not in text, "solution code leaked into the template"
    assert "    # TODO 9.1: multiply pi by the radius squared" in text
    assert "    raise TodoError('9.1: return twice the input (IMPLEMENTATION_GUIDE.md, 9.1 Demo)')" in text
    assert text.index("from __future__") < text.index("from grader.todo import TodoError") < text.index("import math")
    namespace: dict = {}
    exec(compile(text, "template_demo.py", "exec"), namespace)  # the template imports fine
    with pytest.raises(TodoError) as error:
        namespace["area"](2.0)
    assert error.value.task == "9.1" and error.value.hint.startswith("multiply pi")


def test_stubbing_one_task_keeps_the_other_tasks_code():
    source = SOLUTION + "\n\ndef keep():\n    return 7  # SOLUTION 9.2: return seven\n"
    tasks = {**TASKS, "9.2": Task("9.2", "Other", 1, "template_demo.py", "9.2 Other")}
    text = templates.make_template(source, tasks, only_task="9.2")
    assert "math.pi * squared" in text and "raise TodoError('9.2: return seven" in text


@pytest.mark.parametrize("broken, message", [
    ("# BEGIN SOLUTION 9.1: a\nx = 1\n", "never closed"),
    ("x = 1\n# END SOLUTION\n", "without a BEGIN"),
    ("# BEGIN SOLUTION 9.1: a\n# BEGIN SOLUTION 9.1: b\n# END SOLUTION\n# END SOLUTION\n", "nested"),
    ("# BEGIN SOLUTION 9.1\nx = 1\n# END SOLUTION\n", "<task>: <hint>"),
    ("# BEGIN SOLUTION 9.1:   \nx = 1\n# END SOLUTION\n", "<task>: <hint>"),
])
def test_malformed_markers_are_rejected_with_the_line(broken, message):
    with pytest.raises(templates.MarkerError, match=message):
        templates.find_blocks(broken, "demo.py")


def test_unknown_task_is_rejected():
    with pytest.raises(templates.MarkerError, match="not declared"):
        templates.make_template("x = 1  # SOLUTION 7.7: set x\n", TASKS)


def test_todo_line_names_task_file_line_and_hint(tmp_path):
    exercise = tmp_path / "phase9" / "template_demo.py"
    exercise.parent.mkdir()
    exercise.write_text("def f():\n    raise TodoError('9.1: do it (IMPLEMENTATION_GUIDE.md, 9.1 Demo)')\n")
    namespace = {"TodoError": TodoError}
    exec(compile(exercise.read_text(), str(exercise), "exec"), namespace)
    with pytest.raises(TodoError) as error:
        namespace["f"]()
    assert todo_line(error.value, tmp_path) == "TODO 9.1 phase9/template_demo.py:2 - do it (IMPLEMENTATION_GUIDE.md, 9.1 Demo)"


def _run(code: str, env_tree: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin"}
    if env_tree:
        env[tree.ENV_VAR] = env_tree
    return subprocess.run([sys.executable, "-c", code], cwd=tree.ROOT, capture_output=True, text=True, env=env)


def test_loader_imports_exercises_from_the_chosen_tree_only():
    code = ("from grader import tree; tree.activate({!r}); "
            "import phase3_frequency_analysis.template_fft_analysis as m; print(m.__file__)")
    assert _run(code.format("solutions")).stdout.strip() == str(
        tree.SOLUTIONS_ROOT / "phase3_frequency_analysis" / "template_fft_analysis.py")
    assert _run(code.format("templates")).stdout.strip() == str(
        tree.ROOT / "phase3_frequency_analysis" / "template_fft_analysis.py")


def test_environment_variable_chooses_the_tree_and_switching_is_refused():
    code = ("from grader import tree; tree.activate(); import phase4_biological_signals.template_blink_detection as m; "
            "print(m.__file__); tree.activate('templates')")
    done = _run(code, env_tree="solutions")
    assert "solutions/phase4_biological_signals" in done.stdout
    assert "TreeError" in done.stderr and "cannot switch" in done.stderr
