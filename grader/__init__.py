"""The course's grading machinery, kept apart from the library in ``common/``.

    tree        which exercise tree is imported: the student's templates or the solutions
    tasks       the graded tasks (``TASKS`` of each phase) and their points
    todo        ``TodoError``, raised by an unfinished template, and its one-line form
    templates   templates generated from the solutions (``python -m grader.templates build|check``)
    plugin      the pytest plugin: task marks, TODO lines, the score table (``conftest.py`` loads it)
    selfcheck   the instructors' checks that the grader can be trusted (``python -m grader.selfcheck``)
"""
