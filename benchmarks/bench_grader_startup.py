"""Benchmark: how long a student waits for the grader on the templates (issue 15).

Run from the repository root:

    python benchmarks/bench_grader_startup.py            # best of 3 runs of each command
    python benchmarks/bench_grader_startup.py --runs 1

Each command runs in a fresh interpreter (``python -m pytest -q -p no:cacheprovider ...``) on the
template tree, and the script prints, for

* ``pytest --task 3.1``: the start-up (``--collect-only``: interpreter, plugin, collection of
  that task's phase) and the whole run (7 TODO tests);
* ``pytest`` (every graded test): the start-up (collecting tests/phase1..5, which imports the
  exercise modules and their libraries: torch, torchvision, timm, facenet-pytorch) and the run.

The aim for ``pytest --task 3.1`` is under 5 s on an idle 2-core machine. Figures are wall-clock
seconds, the best of ``--runs`` runs (the first run also warms the file cache).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    ("pytest --task 3.1", ["--task", "3.1"]),
    ("pytest (all graded tests)", []),
]


def wall_time(args: list[str]) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DEEPFAKE_COURSE_TREE", None)  # the templates
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each command; the best is printed")
    args = parser.parse_args(argv)
    print(f"grader start-up on the templates ({os.cpu_count()} CPUs, best of {args.runs})")
    print(f"{'command':<30}{'start-up (collect) s':>22}{'whole run s':>14}")
    for label, command in COMMANDS:
        startup = min(wall_time([*command, "--collect-only"]) for _ in range(args.runs))
        whole = min(wall_time(command) for _ in range(args.runs))
        print(f"{label:<30}{startup:>22.2f}{whole:>14.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
