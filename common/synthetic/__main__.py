"""Command line: write the mini-forensics benchmark.

    python -m common.synthetic --out data/mini-forensics [--clips 200] [--frames 64] [--size 128]
                               [--fps 25] [--seed 0] [--methods FaceSwap GANUpsample ...]
                               [--variant ff|celeb] [--disjoint-from celeb]

Prints the number of clips per split and method, then the manifest's path. Blink and pulse phases
need long clips: add ``--frames 250`` (10 s at 25 fps) or more. ``--variant celeb`` makes the
Celeb-DF-like second dataset (other faces, 192-px frames, smoother swaps, CRF 23; see
:mod:`common.synthetic.variants`); ``--disjoint-from celeb`` keeps only the faces the other variant
never shows, for a train-on-one / test-on-the-other experiment.
"""
from __future__ import annotations

import argparse

from common.errors import ArgumentParser, CourseError, run_cli
from common.synthetic.benchmark import summarise, write_benchmark
from common.synthetic.manipulations import METHODS
from common.synthetic.variants import DEFAULT_VARIANT, VARIANTS, disjoint_identities


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m common.synthetic",
                            description="Write the mini-forensics synthetic deepfake benchmark (videos, truth, manifest.json).")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--clips", type=int, default=200, help="number of clips (default 200)")
    parser.add_argument("--frames", type=int, default=64, help="frames per clip (default 64; use >= 250 for blink/pulse phases)")
    parser.add_argument("--size", type=int, default=None, help="frame side in pixels (default: the variant's, 128 or 192)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate (default 25)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole benchmark (default 0)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, metavar="METHOD",
                        help=f"manipulation methods of the fakes (default all): {' '.join(METHODS[1:])}")
    parser.add_argument("--fake-fraction", type=float, default=0.5, help="share of fake clips (default 0.5)")
    parser.add_argument("--variant", default=DEFAULT_VARIANT, choices=list(VARIANTS),
                        help="how the clips are made: ff (default) or celeb (Celeb-DF-like second dataset)")
    parser.add_argument("--disjoint-from", default=None, choices=list(VARIANTS), metavar="VARIANT",
                        help="use only the faces that this other variant never shows")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seed < 0:
        raise CourseError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.disjoint_from == args.variant:
        raise CourseError(f"--disjoint-from must name another variant than --variant {args.variant}")
    identities = disjoint_identities(args.variant, args.disjoint_from) if args.disjoint_from else None
    manifest = write_benchmark(args.out, n_clips=args.clips, seed=args.seed, n_frames=args.frames, size=args.size,
                               fps=args.fps, methods=args.methods, fake_fraction=args.fake_fraction,
                               progress=not args.no_progress, variant=args.variant, identities=identities)
    print(summarise(manifest))
    print(f"manifest: {manifest}")
    return 0


if __name__ == "__main__":
    run_cli(main)
