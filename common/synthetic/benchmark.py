"""Writing the mini-forensics benchmark to disk: videos, ground truth and a manifest.

Layout (``write_benchmark(out_dir)``)::

    out_dir/
      manifest.json                  # written last: it only ever lists files that exist
      videos/{train,val,test}/<clip_id>.mp4   # H.264 (common.video.write_video)
      truth/<clip_id>.npz            # ClipTruth.save

Identities, not clips, are split 70/15/15 into train/val/test, so that no face (shown, or swapped
in) appears in two splits; ``group`` = the shown identity, as dataset loaders group fakes with
their originals (DFDC) or by pair (FaceForensics++). Clip ids are neutral (``clip_00042``): the
label is in the manifest, never in the file name.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.atomic import atomic_output
from common.errors import CourseError
from common.synthetic.faces import IDENTITIES
from common.synthetic.manipulations import FAKE_METHODS, check_method
from common.synthetic.render import make_clip
from common.synthetic.variants import DEFAULT_VARIANT, get_variant

MANIFEST_NAME = "manifest.json"
BENCHMARK_NAME = "mini-forensics"
MANIFEST_VERSION = 1
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)


def assign_splits(identities: list[str], seed: int, fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> dict[str, str]:
    """Assign each identity to "train", "val" or "test" (shuffled by ``seed``, sizes ~ fractions).

    Returns {identity: split}. Example: the 102 identities split 71 / 15 / 16.
    """
    order = np.random.default_rng(np.random.SeedSequence([seed, 1])).permutation(len(identities))
    n_val = int(round(fractions[1] * len(identities)))
    n_test = int(round(fractions[2] * len(identities)))
    n_train = len(identities) - n_val - n_test
    splits = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    return {identities[index]: split for index, split in zip(order, splits)}


def _clips_per_split(n_clips: int) -> dict[str, int]:
    """How many clips each split gets: 15% val, 15% test (at least one each from 3 clips on)."""
    n_val = int(round(SPLIT_FRACTIONS[1] * n_clips))
    n_test = int(round(SPLIT_FRACTIONS[2] * n_clips))
    if n_clips >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
    return {"train": n_clips - n_val - n_test, "val": n_val, "test": n_test}


def _check_arguments(n_clips: int, n_frames: int, size: int, fps: float, methods: list[str], fake_fraction: float) -> None:
    if n_clips < 1:
        raise CourseError(f"the number of clips must be at least 1, got {n_clips}")
    if not 0.0 <= fake_fraction <= 1.0:
        raise CourseError(f"fake_fraction must be between 0 and 1, got {fake_fraction}")
    for method in methods:
        check_method(method)
    if n_frames < 1:
        raise CourseError(f"the number of frames must be at least 1, got {n_frames}")
    if size < 32 or fps <= 0:
        raise CourseError(f"size must be >= 32 and fps > 0, got size={size}, fps={fps}")


def _fakes_per_split(per_split: dict[str, int], fake_fraction: float) -> dict[str, int]:
    """Share round(fake_fraction * total) fakes among the splits (largest remainders first)."""
    wanted = {split: fake_fraction * count for split, count in per_split.items()}
    fakes = {split: int(np.floor(value)) for split, value in wanted.items()}
    missing = int(round(fake_fraction * sum(per_split.values()))) - sum(fakes.values())
    for split in sorted(wanted, key=lambda name: fakes[name] - wanted[name])[:max(0, missing)]:
        fakes[split] += 1
    return fakes


def plan_clips(n_clips: int, seed: int, methods: list[str], fake_fraction: float,
               identities: list[str] | None = None) -> list[dict]:
    """Decide every clip before rendering any: split, method, identity, swap source and seed.

    As in FaceForensics++, every fake is made FROM a real clip of its split: it shares that
    original's identity and seed, hence its background, head motion, lighting, blinks, pulse and
    noise, and differs only by the manipulation. A detector therefore cannot tell real from fake by
    who is shown or where; it has to find the artefact. round(fake_fraction * n_clips) clips are
    fakes, shared among the splits in proportion, the methods cycling evenly; the originals'
    identities cycle through the split's identities (shuffled), and a swap source is another
    identity of the same split. With no real clip in a split (fake_fraction = 1) each fake gets a
    scene of its own. identities: the pool (default all of IDENTITIES). Returns a list of dicts with keys clip_id, split, method, identity,
    source_identity, seed, original (the clip_id of the real clip it was made from, or None).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    identities = list(IDENTITIES if identities is None else identities)
    split_of = assign_splits(identities, seed)
    plans, index, n_fakes_so_far = [], 0, 0
    per_split = _clips_per_split(n_clips)
    fakes_per_split = _fakes_per_split(per_split, fake_fraction)
    for split, count in per_split.items():
        members = [name for name in identities if split_of[name] == split]
        members = [members[k] for k in rng.permutation(len(members))]
        n_fake = fakes_per_split[split]
        n_real = count - n_fake
        originals = []
        for k in range(n_real):
            clip_seed = int(np.random.SeedSequence([seed, 3, index]).generate_state(1)[0])
            originals.append({"clip_id": f"clip_{index:05d}", "split": split, "method": "real",
                              "identity": members[k % len(members)], "source_identity": None,
                              "seed": clip_seed, "original": None})
            index += 1
        fakes = []
        for k in range(n_fake):
            method = methods[(n_fakes_so_far + k) % len(methods)]
            if originals:
                base = originals[k % len(originals)]
                identity, clip_seed, original = base["identity"], base["seed"], base["clip_id"]
            else:
                identity = members[k % len(members)]
                clip_seed = int(np.random.SeedSequence([seed, 3, index]).generate_state(1)[0])
                original = None
            source = None
            if method in ("FaceSwap", "Deepfake"):
                others = [name for name in members if name != identity]
                source = others[int(rng.integers(len(others)))]
            fakes.append({"clip_id": f"clip_{index:05d}", "split": split, "method": method, "identity": identity,
                          "source_identity": source, "seed": clip_seed, "original": original})
            index += 1
        n_fakes_so_far += n_fake
        plans.extend(originals + fakes)
    return _renumber_shuffled(plans, rng)


def _renumber_shuffled(plans: list[dict], rng: np.random.Generator) -> list[dict]:
    """Shuffle the clips within each split and number them in that order, so that a clip id says
    nothing about its label (originals would otherwise come first)."""
    shuffled = []
    for split in SPLITS:
        members = [plan for plan in plans if plan["split"] == split]
        shuffled += [members[k] for k in rng.permutation(len(members))]
    new_id = {plan["clip_id"]: f"clip_{number:05d}" for number, plan in enumerate(shuffled)}
    return [{**plan, "clip_id": new_id[plan["clip_id"]],
             "original": new_id.get(plan["original"]) if plan["original"] else None} for plan in shuffled]


def write_benchmark(out_dir: str | os.PathLike, *, n_clips: int = 200, seed: int = 0, n_frames: int = 64,
                    size: int | None = None, fps: float = 25.0, methods: list[str] | None = None,
                    fake_fraction: float = 0.5, progress: bool = True, variant: str = DEFAULT_VARIANT,
                    identities: list[str] | None = None) -> Path:
    """Render and write the benchmark; return the path of its ``manifest.json``.

    out_dir: folder to write (created).  n_clips: total clips.  seed: the whole benchmark is a
    function of it.  n_frames, size, fps: of every clip (use n_frames >= 250 for the blink and pulse
    phases).  methods: manipulation methods of the fakes (default all of FAKE_METHODS; "real" is
    accepted and ignored, the share of real clips is 1 - fake_fraction).  progress: tqdm bar.
    variant: how the clips are made, "ff" (default) or the Celeb-DF-like "celeb"
    (:mod:`common.synthetic.variants`); size defaults to the variant's frame side and the videos
    are written at its CRF.  identities: restrict the variant's faces to these (e.g.
    ``disjoint_identities("ff", "celeb")`` for a cross-variant test; at least 6, for 3 splits).

    "variant" (the variant's name) and "identities" (the sorted pool) are recorded unless the
    benchmark is the plain default (variant "ff", every identity), whose manifest is unchanged.

    Any previous manifest is removed first and the new one written last (via a temporary file and
    a rename), so an interrupted run never leaves a manifest listing missing files.
    Manifest: {"name", "version", "seed", "fps", ["variant", "identities",] "clips": [{"file", "clip_id", "label", "method",
    "identity", "group", "split", "n_frames", "size", "heart_rate_bpm", "blink_times_s", "truth"}]}.
    """
    from common.video import write_video

    made = get_variant(variant)
    size = made.size if size is None else size
    pool = list(made.identities) if identities is None else list(dict.fromkeys(identities))
    foreign = [name for name in pool if name not in made.identities]
    if foreign:
        raise CourseError(f"identities: {', '.join(foreign[:3])} not among the {variant!r} variant's faces")
    if len(pool) < 6:
        raise CourseError(f"identities: give at least 6 (two per split), got {len(pool)}")
    fake_methods = [m for m in (FAKE_METHODS if methods is None else methods) if m != "real"]
    _check_arguments(n_clips, n_frames, size, fps, list(methods or []) + fake_methods, fake_fraction)
    if not fake_methods and fake_fraction > 0:
        raise CourseError("no manipulation method given for the fake clips (methods is empty or only 'real')")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise CourseError(f"cannot write the benchmark to '{out_dir}': it is a file, not a folder")
    manifest_path = out_dir / MANIFEST_NAME
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest_path.unlink(missing_ok=True)
        for split in SPLITS:
            (out_dir / "videos" / split).mkdir(parents=True, exist_ok=True)
        (out_dir / "truth").mkdir(exist_ok=True)
    except OSError as error:
        raise CourseError(f"cannot write the benchmark to '{out_dir}': {error.strerror or error}") from None

    entries = []
    for plan in tqdm(plan_clips(n_clips, seed, fake_methods, fake_fraction, pool), desc=f"mini-forensics {variant}",
                     unit="clip", disable=not progress):
        clip = make_clip(plan["method"], seed=plan["seed"], n_frames=n_frames, size=size, fps=fps,
                         identity=plan["identity"], source_identity=plan["source_identity"], variant=variant)
        video = Path("videos") / plan["split"] / f"{plan['clip_id']}.mp4"
        truth = Path("truth") / f"{plan['clip_id']}.npz"
        write_video(out_dir / video, clip.frames, fps, crf=made.crf)
        clip.truth.save(out_dir / truth)
        entries.append({
            "file": video.as_posix(), "clip_id": plan["clip_id"], "label": clip.truth.label,
            "method": plan["method"], "identity": plan["identity"], "group": plan["identity"],
            "split": plan["split"], "n_frames": int(n_frames), "size": int(size),
            "original": plan["original"], "heart_rate_bpm": clip.truth.heart_rate_bpm,
            "blink_times_s": [round(float(t), 6) for t in clip.truth.blink_times_s],
            "truth": truth.as_posix(),
        })
    manifest = {"name": BENCHMARK_NAME, "version": MANIFEST_VERSION, "seed": int(seed), "fps": float(fps),
                "clips": entries}
    if variant != DEFAULT_VARIANT or pool != list(made.identities):
        # A plain default benchmark keeps its manifest as it always was (no "variant" key means "ff").
        manifest = {**manifest, "variant": variant, "identities": sorted(pool)}
    with atomic_output(manifest_path) as temporary:
        temporary.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest_path


def summarise(manifest_path: str | os.PathLike) -> str:
    """A short text table of clip counts per split and method, from a manifest file."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    counts = Counter((clip["split"], clip["method"]) for clip in manifest["clips"])
    methods = sorted({method for _, method in counts}, key=lambda m: (m != "real", m))
    width = max(len(m) for m in methods + ["method"])
    lines = [f"{'method':<{width}}  " + "  ".join(f"{split:>5}" for split in SPLITS) + "  total"]
    for method in methods:
        row = [counts[(split, method)] for split in SPLITS]
        lines.append(f"{method:<{width}}  " + "  ".join(f"{n:>5}" for n in row) + f"  {sum(row):>5}")
    totals = [sum(counts[(split, m)] for m in methods) for split in SPLITS]
    lines.append(f"{'all':<{width}}  " + "  ".join(f"{n:>5}" for n in totals) + f"  {sum(totals):>5}")
    return "\n".join(lines)
