"""Speed of the mini-forensics generator (a script that prints figures, not a test).

    python benchmarks/bench_synthetic.py [--clips 200] [--long-clips 50]

Measures, on this machine's CPU:
1. one clip in memory (``make_clip``), 64 frames of 128x128 and 250 frames (10 s), per method,
   after the face sprites are cached (MTCNN runs once per source image), and the cold first call;
2. ``write_benchmark`` from cold caches: 200 clips of 64 frames (target: under two minutes), and
   a smaller set of 250-frame clips, with the per-clip cost (H.264 writing and truth included).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.synthetic import METHODS, make_clip, write_benchmark  # noqa: E402
from common.synthetic import faces  # noqa: E402


def _seconds(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def _folder_size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200, help="clips of 64 frames to write (default 200)")
    parser.add_argument("--long-clips", type=int, default=50, help="clips of 250 frames to write (default 50)")
    args = parser.parse_args()

    start = time.perf_counter()
    make_clip("real", seed=0, n_frames=64, identity="astronaut")
    print(f"cold first clip (loads MTCNN, detects one face): {time.perf_counter() - start:.2f} s")

    print("\nmake_clip, in memory, size 128, face sprite cached (median of 5 seeds)")
    print(f"{'method':<16} {'64 frames':>10} {'250 frames':>11}")
    for method in METHODS:
        short = _seconds(lambda: make_clip(method, seed=1, n_frames=64, identity="astronaut",
                                           source_identity="grace_hopper" if method in ("FaceSwap", "Deepfake") else None), 5)
        long = _seconds(lambda: make_clip(method, seed=1, n_frames=250, identity="astronaut",
                                          source_identity="grace_hopper" if method in ("FaceSwap", "Deepfake") else None), 3)
        print(f"{method:<16} {statistics.median(short):>9.3f}s {statistics.median(long):>10.3f}s")

    for n_clips, n_frames in ((args.clips, 64), (args.long_clips, 250)):
        if n_clips <= 0:
            continue
        faces.load_face.cache_clear()  # count MTCNN on every source image, as a fresh run does
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            write_benchmark(folder, n_clips=n_clips, n_frames=n_frames, size=128, seed=0, progress=False)
            elapsed = time.perf_counter() - start
            size_mb = _folder_size_mb(Path(folder))
        print(f"\nwrite_benchmark: {n_clips} clips x {n_frames} frames of 128x128 in {elapsed:.1f} s "
              f"({elapsed / n_clips:.2f} s/clip, {size_mb:.0f} MiB on disk)")


if __name__ == "__main__":
    main()
