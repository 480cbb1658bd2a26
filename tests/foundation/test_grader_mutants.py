"""The mutation step of the self-check (grader/mutants.py, grader/equivalent_mutants.py)."""
from __future__ import annotations

import ast
import textwrap

import pytest

from grader import mutants, selfcheck, tree
from grader.equivalent_mutants import EQUIVALENT
from grader.tasks import Task, all_tasks

pytestmark = pytest.mark.foundation

TASKS = {"9.1": Task("9.1", "Demo task", points=1, file="template_demo.py", guide="9.1 Demo")}

SOURCE = textwrap.dedent('''\
    import math


    def outside(x):
        return x + 1


    def area(radius, scale=2.0):
        if radius < 0:
            raise ValueError(f"radius {radius + 1} < 0")
        # BEGIN SOLUTION 9.1: pi r squared, scaled
        squared = radius ** 2
        return math.pi * squared * scale
        # END SOLUTION


    def pair(a, b):
        return math.atan2(a, b), -a  # SOLUTION 9.1: the angle and minus a
    ''')


def by_id(found):
    return {m.id: m for m in found}


def test_mutants_are_made_only_inside_solution_blocks_with_stable_ids():
    found = by_id(mutants.mutants_of_source(SOURCE, "phase9/template_demo.py", TASKS))
    assert all(m.task == "9.1" for m in found.values())
    assert not any(m.id.startswith("outside") for m in found.values()), "code outside the blocks is never mutated"
    assert not any("radius + 1" in m.replacement or "Lt" in m.id for m in found.values()), \
        "the guard and the raise before the block are not part of the task"
    expected = {
        "area:binop Pow->Mult#0": "(radius * 2)",
        "area:const 2->3#0": "(3)",
        "area:binop Mult->Div#0": "(math.pi * squared / scale)",
        "area:binop Mult->Div#1": "(math.pi / squared)",
        "area:return zero#0": "0 * (math.pi * squared * scale)",
        "pair:return zero#0": "0 * (math.atan2(a, b))",
        "pair:swap math.atan2#0": "(math.atan2(b, a))",
        "pair:unary drop-USub#0": "(a)",
    }
    for mutant_id, replacement in expected.items():
        assert found[mutant_id].replacement == replacement, (mutant_id, found[mutant_id].replacement)


def test_each_mutant_applies_to_valid_python_that_differs_in_one_place():
    for mutant in mutants.mutants_of_source(SOURCE, "phase9/template_demo.py", TASKS):
        mutated = mutants.apply(SOURCE, mutant)
        ast.parse(mutated)
        assert mutated != SOURCE
        changed = [n for n, (a, b) in enumerate(zip(SOURCE.splitlines(), mutated.splitlines())) if a != b]
        assert changed == [mutant.line - 1], (mutant.id, changed)


def test_the_sample_is_deterministic_and_all_returns_everything():
    found = mutants.mutants_of_source(SOURCE, "phase9/template_demo.py", TASKS)
    assert mutants.sample(found, 3) == mutants.sample(list(reversed(found)), 3)
    assert len(mutants.sample(found, 3)) == 3 and mutants.sample(found, None) == found


def test_every_listed_equivalent_mutant_exists_and_has_a_reason():
    made = mutants.all_mutants(all_tasks(tree.SOLUTIONS_ROOT))
    for task, listed in EQUIVALENT.items():
        ids = {m.id for m in made[task]}
        for mutant_id, reason in listed.items():
            assert mutant_id in ids, f"{task} {mutant_id} is listed but no longer made"
            assert len(reason) > 20, f"{task} {mutant_id}: say why it is equivalent"
    assert all(made[task] for task in made), "every task has mutants"


def test_a_mutant_of_the_attention_solution_is_killed_by_its_tests():
    made = mutants.all_mutants(all_tasks(tree.SOLUTIONS_ROOT))
    mutant = by_id(made["5.1"])["scaled_dot_product_attention:binop Div->Mult#0"]
    killed, first_failure = selfcheck.mutant_killed(mutant, {})  # no file map: the whole phase folder
    assert killed and first_failure.startswith("tests/phase5/")


def test_the_self_check_collects_each_task_from_the_files_its_tests_are_in():
    scores = {"tasks": [
        {"task": "1.2", "outcomes": {"tests/phase1/test_a.py::test_x": "todo", "tests/phase1/test_a.py::test_y[3]": "todo",
                                     "tests/phase1/test_b.py::TestZ::test_z": "todo"}},
        {"task": "1.3", "outcomes": {}},
    ]}
    files = selfcheck.task_test_files(scores)
    assert files == {"1.2": ["tests/phase1/test_a.py", "tests/phase1/test_b.py"], "1.3": []}
    assert selfcheck._tests_of("1.2", files) == ["tests/phase1/test_a.py", "tests/phase1/test_b.py"]
    assert selfcheck._tests_of("1.3", files) == ["tests/phase1"]  # none known: the phase folder
    assert selfcheck._tests_of("5.1", files) == ["tests/phase5"]
