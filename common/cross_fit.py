"""Cross-fitting: a score for every training and validation video from a model that never saw its person.

A detector's Platt calibration and the late fusion are fitted on the validation split, and on
mini-forensics's 10-s benchmark that is 15 people: a calibration fitted on 15 people did not hold
for 15 others (docs/calibration_log.md, "The same experts on 480 new videos"). Cross-fitting (the "stacking" of
Wolpert 1992; scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` calibrates the same way)
uses every person of the training and validation splits instead:

1. split the train + val people into K folds (:func:`person_folds`, no person in two folds);
2. for fold k, train the detector on the other folds, with fold k + 1 as its validation split for
   early stopping and fold k as its test split (:func:`fold_splits`), and score fold k's videos;
3. every train and val video now has an *out-of-fold* score from a model that saw neither it nor
   its person: fit the calibration (and the fusion) on those scores, K times more people than the
   validation split alone, and apply it to the detector trained as usual.

A fold's split is handed to the ordinary training pipeline as a mini-forensics benchmark of its
own (:func:`write_split_benchmark`): the same videos (linked, not copied), a manifest that assigns
each clip its fold's split, and so the same face-cache files (their names depend on the last four
path components only), so no face is tracked twice.

Example: 87 people in 5 folds -> 5 trainings per detector, each on about 52 people, validated on
about 17 and scoring about 17; the calibration is then fitted on all 87 people's videos.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from common.calibration import DEFAULT_CALIBRATION, Calibration, fit_calibration
from common.datasets import VideoRecord
from common.errors import CourseError
from common.report import write_text_atomic


def person_folds(records: Sequence[VideoRecord], k: int) -> list[list[VideoRecord]]:
    """Split records into ``k`` folds by person (``record.group``), no person in two folds.

    People are dealt largest first to the fold with the fewest videos so far (ties: the lower fold),
    which is deterministic and balances the folds' sizes, as scikit-learn's ``GroupKFold`` does.
    Each fold keeps the records' order. Example: people with 3, 2, 2, 1 videos in 2 folds ->
    fold 0 holds the 3 and the 1, fold 1 the two 2s.

    Raises:
        CourseError: ``k`` below 2 or above the number of people.
    """
    people: dict[str, int] = {}
    for record in records:
        people[record.group] = people.get(record.group, 0) + 1
    if k < 2 or k > len(people):
        raise CourseError(f"cross-fitting needs 2 <= folds <= the number of people ({len(people)}), got {k}")
    sizes, fold_of = [0] * k, {}
    for person, count in sorted(people.items(), key=lambda item: (-item[1], item[0])):
        fold = int(np.argmin(sizes))
        fold_of[person] = fold
        sizes[fold] += count
    return [[r for r in records if fold_of[r.group] == fold] for fold in range(k)]


def fold_splits(folds: Sequence[Sequence[VideoRecord]], k: int) -> dict[str, list[VideoRecord]]:
    """Fold ``k``'s training run: test = fold k (the videos it scores), val = fold k + 1 (mod K, early
    stopping and the run's own calibration), train = every other fold. Example with 3 folds, k = 2:
    test fold 2, val fold 0, train fold 1."""
    n = len(folds)
    if not 0 <= k < n:
        raise CourseError(f"fold {k} of {n}: expected 0 <= k < {n}")
    return {"train": [r for i, fold in enumerate(folds) if i not in (k, (k + 1) % n) for r in fold],
            "val": list(folds[(k + 1) % n]), "test": list(folds[k])}


def write_split_benchmark(data_root: str | os.PathLike, destination: str | os.PathLike,
                          splits: dict[str, Sequence[VideoRecord]]) -> Path:
    """A mini-forensics benchmark at ``destination`` holding only the records of ``splits``, each clip
    in its new split; ``videos/`` and ``truth/`` are links to ``data_root``'s. Returns ``destination``.

    The clips keep their files' paths inside the benchmark, so a face cache made for ``data_root``
    serves this benchmark too. Raises :class:`CourseError` when ``data_root`` has no manifest.
    """
    data_root, destination = Path(data_root).resolve(), Path(destination)
    manifest_path = data_root / "manifest.json"
    if not manifest_path.is_file():
        raise CourseError(f"'{data_root}' is not a mini-forensics benchmark (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    split_of = {Path(record.path).resolve(): split for split, records in splits.items() for record in records}
    clips = []
    for clip in manifest["clips"]:
        split = split_of.get((data_root / clip["file"]).resolve())
        if split is not None:
            clips.append({**clip, "split": split})
    destination.mkdir(parents=True, exist_ok=True)
    for folder in ("videos", "truth"):
        link = destination / folder
        if not link.exists():
            os.symlink(data_root / folder, link)
    write_text_atomic(destination / "manifest.json", json.dumps({**manifest, "clips": clips}, indent=1) + "\n")
    return destination


def out_of_fold_calibration(entries: Sequence[dict | None], labels: Sequence[int], methods: Sequence[str],
                            sees: Sequence[str] | None = None, people: Sequence | None = None,
                            method: str = DEFAULT_CALIBRATION) -> Calibration:
    """The calibration of one detector fitted on its out-of-fold raw video scores, as ``train.py`` fits
    it on validation videos (``method``: the checkpoint's, ``"platt"`` or ``"two-sided"``).

    entries: per video, the detector's report entry (``status``, ``raw_video_score``; None or a
    failed entry is left out); labels: 1 FAKE, 0 REAL; methods: each video's manipulation.
    sees: an expert's manipulations (fakes of other methods are left out, as its own validation
    leaves them out); None keeps every video. people: each video's person, for the knot's test
    (None: every video its own person). Returns :func:`common.calibration.fit_calibration`'s fit.
    Example: raw scores 0.2, 0.3 (real) and 0.7, 0.9 (fake) -> a calibration with a > 0.
    """
    scores, kept, who = [], [], []
    for k, (entry, label, manipulation) in enumerate(zip(entries, labels, methods)):
        if entry is None or entry.get("status") != "ok" or entry.get("raw_video_score") is None:
            continue
        if label == 1 and sees is not None and manipulation not in sees:
            continue
        scores.append(float(entry["raw_video_score"]))
        kept.append(int(label))
        who.append(k if people is None else people[k])
    return fit_calibration(scores, kept, who, "mean", method)


def recalibrated(entry: dict, calibration: Calibration) -> dict:
    """A copy of a detector's report entry with its video probability from ``calibration`` applied to
    its raw video score (and the verdict at 0.5 redone); an entry without a score is returned as is."""
    if entry.get("status") != "ok" or entry.get("raw_video_score") is None:
        return dict(entry)
    score = float(calibration.apply(entry["raw_video_score"]))
    return {**entry, "video_score": score, "verdict": "FAKE" if score >= 0.5 else "REAL",
            "calibration": {**calibration.to_dict(), "fitted_on": "out-of-fold scores"}}


def write_recalibrated_checkpoint(source: str | os.PathLike, destination: str | os.PathLike,
                                  calibration: Calibration, fitted_on: str) -> Path:
    """A copy of the checkpoint ``source`` whose stored calibration is ``calibration`` (the network,
    threshold and everything else unchanged), written atomically to ``destination``; the calibration
    records ``fitted_on`` (e.g. "out-of-fold scores of 87 people (5 folds)"). Returns ``destination``."""
    from common.checkpoint import load_checkpoint, load_state_into, save_checkpoint
    from common.models import build_model

    saved = load_checkpoint(source)
    model = load_state_into(build_model(saved.architecture, **saved.model_config), saved)
    extra = {**saved.extra, "calibration": {**calibration.to_dict(), "fitted_on": fitted_on}}
    return save_checkpoint(destination, model, architecture=saved.architecture, model_config=saved.model_config,
                           metrics=saved.metrics, threshold=saved.threshold, training_config=saved.training_config,
                           extra=extra)
