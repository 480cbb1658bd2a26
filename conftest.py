"""The course grader: chooses the exercise tree, reads task marks, prints TODOs and the score table.

    pytest                      grade your templates (phase folders)
    pytest --solutions          grade the reference solutions (instructors, CI)
    pytest --task 3.1           run one task's tests
    pytest --next               ... and say which task to do next: the first function to write
    pytest --all-tests          on the templates, also run the ungraded tests (foundation, tools)
    pytest --score-json s.json  write the score table as JSON

The tree is chosen here, once, before any test module is imported (see ``grader/tree.py``).
"""
from __future__ import annotations

from grader import tree
from grader.plugin import CourseGrader


def pytest_addoption(parser):
    group = parser.getgroup("course", "deepfake-detection course grader")
    group.addoption("--solutions", action="store_true", help="grade the reference solutions in solutions/")
    group.addoption("--tree", default=None, help="grade the exercise tree at PATH (self-checks use this)")
    group.addoption("--task", action="append", default=[], help="run only this task's tests (repeatable), e.g. --task 3.1")
    group.addoption("--score-json", default=None, help="write the per-task score table to this JSON file")
    group.addoption("--next", action="store_true", help="print the first unfinished task and the first function to write")
    group.addoption("--graded-timeout", type=float, default=60.0, metavar="SECONDS",
                    help="fail a graded test that runs longer than this (default 60; 0 turns the timeout off)")
    group.addoption("--all-tests", action="store_true",
                    help="on the templates, also run tests/foundation and tests/tools (default: graded tests only)")


def pytest_configure(config):
    config.addinivalue_line("markers", "task(id): the graded task this test belongs to (declared in the phase's TASKS)")
    choice = "solutions" if config.getoption("solutions") else config.getoption("tree")
    tree.activate(choice)
    config.pluginmanager.register(CourseGrader(config), "course-grader")


