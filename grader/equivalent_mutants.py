"""Mutants that no test can kill because they do not change behaviour (see :mod:`grader.mutants`).

Keyed by task, then by the mutant's stable id (``python -m grader.selfcheck --list-mutants`` prints
them); the value says why the mutant is equivalent. The self-check does not run a listed mutant;
it counts as not killed, so listing one lowers the kill rate (at least 95% is required).
"""

EQUIVALENT: dict[str, dict[str, str]] = {
    "1.1": {
        "crop_face:compare Gt->GtE#0": "side == size already returned the unresized copy two lines earlier, "
                                       "so > and >= pick the same interpolation",
    },
}
