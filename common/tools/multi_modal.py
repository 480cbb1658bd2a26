"""``phase5_advanced_methods/multi_modal_detect.py``: every cue on one face track, one fused verdict.

    python phase5_advanced_methods/multi_modal_detect.py \\
        --visual-model xception.pt --temporal-model lstm.pt --frequency-model fft.pt \\
        [--biological pulse.pt] [--model OTHER.pt ...] [--fusion-model fusion.json] \\
        --input video.mp4 [--output report.json]

    # fit the fusion on a dataset's validation videos first (never its test videos):
    python phase5_advanced_methods/multi_modal_detect.py --visual-model ... --temporal-model ... \\
        --frequency-model ... --fit-fusion runs/mini-forensics --fusion-model fusion.json

    # with known-real footage of the person the video claims to show (task 5.17):
    python phase5_advanced_methods/multi_modal_detect.py ... --fusion-model fusion.json \\
        --input video.mp4 --reference real_1.mp4 --reference real_2.mp4

Each checkpoint is a detector of its registry kind (frame, clip, spectral, signal); the video is
decoded once and its faces found once for all of them (:func:`common.tools.detect.analyse_video`).
Their video scores are fused (:mod:`common.fusion`): by the fitted mixture of likelihood ratios of
``--fusion-model`` (phase 5's tasks 5.15-5.16), or, without one, by the mean of their calibrated
probabilities. The report is ``detect_video.py``'s version 2 report with one more entry in
``detectors``: ``fusion`` (kind ``fusion``), which says which kind of fake the video is most like,
lists each detector's contribution and decides the verdict. A
folder input gives one report per video and ``summary.csv``, as ``detect_video.py`` does.

``--reference`` (repeatable) names known-real videos of the person the input shows (for a folder, of
the person every video in it shows). They are analysed by the same detectors; each detector's person
offset is read from them and subtracted before the fusion's reference mode (:class:`common.fusion.PersonReference`),
and the ``fusion`` entry lists the offsets. It corrects detectors whose false alarms follow the person
(the phase-1 CNNs: guide, "The false alarms follow the person").
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any, Sequence

from common.atomic import same_file
from common.detectors import sha256_of
from common.errors import ArgumentParser, CourseError, VideoError
from common.fusion import LateFusion, fit_fusion, load_fusion, mean_fusion, save_fusion
from common.report import detector_verdict

MODALITY_FLAGS = (("visual_model", "visual"), ("temporal_model", "temporal"), ("frequency_model", "frequency"),
                  ("biological", "biological"))
"""Command-line flags of the outline and the modality each names."""

MODALITY_OF_PHASE = {"phase3_frequency_analysis": "frequency", "phase4_biological_signals": "biological"}
"""Phases whose every detector reads one modality, whatever its kind (phase 3's DCT CNN is a frame
network that reads frequencies); the other detectors' modality follows their kind."""
MODALITY_OF_KIND = {"frame": "visual", "clip": "temporal", "spectral": "frequency", "signal": "biological"}


def modality_of(row) -> str:
    """The modality a registered detector reads (``row``: its :class:`common.registry.Model`).

    Example: ``xceptionnet`` (phase 1, frame) -> "visual"; ``lstm`` (phase 2, clip) -> "temporal";
    ``dct_cnn`` (phase 3, frame) -> "frequency"; ``pulse`` (phase 4, signal) -> "biological";
    ``capsule_forensics`` (phase 5, frame) -> "visual".
    """
    return MODALITY_OF_PHASE.get(row.phase, MODALITY_OF_KIND.get(row.kind, row.kind))


def check_modalities(detectors: Sequence, paths: Sequence[str], positions: dict[int, str]) -> None:
    """Refuse a checkpoint given to the flag of another modality, and one detector given twice.

    ``detectors``, ``paths``: loaded in flag order; ``positions``: index -> the modality its flag names
    ("other" for ``--model``, which takes any detector). Both mistakes would be silent otherwise: the
    report would call a temporal detector's score "visual", and a detector given twice would count
    twice in the fused probability. Raises :class:`CourseError` (one line).
    """
    flags = {modality: flag for flag, modality in MODALITY_FLAGS}
    for index, modality in positions.items():
        reads = modality_of(detectors[index].row)
        if modality != "other" and reads != modality:
            row = detectors[index].row
            raise CourseError(f"--{flags[modality].replace('_', '-')} '{paths[index]}' holds {row.name}, a {reads} "
                              f"detector ({row.phase}, kind {row.kind}): give it to "
                              f"--{flags[reads].replace('_', '-') if reads in flags else 'model'}, or to --model")
    seen: dict[str, str] = {}
    for detector, path in zip(detectors, paths):
        if detector.sha256 in seen:
            raise CourseError(f"'{seen[detector.sha256]}' and '{path}' are the same detector (same SHA-256): "
                              "give each detector once, or its evidence counts twice in the fused verdict")
        seen[detector.sha256] = path

FUSED_THRESHOLD = 0.5


def fusion_entry(entries: Sequence[dict], fusion: LateFusion | None, source: Path | None,
                 references: dict[str, Sequence[dict]] | None = None) -> dict[str, Any]:
    """The report's ``fusion`` detector entry for one video's detector entries; ``references``: the
    detector entries of each known-real reference video of the person, by path (reference mode)."""
    if references:
        fused = fusion.fuse(entries, list(references.values()))
    else:
        fused = fusion.fuse(entries) if fusion is not None else mean_fusion(entries)
    score = fused["video_score"]
    status = "ok" if score is not None else "could_not_run"
    identity = (sha256_of(source) if source is not None else
                hashlib.sha256("".join(entry["sha256"] for entry in entries).encode()).hexdigest())
    return {
        "name": "fusion", "kind": "fusion", "architecture": "late_fusion" if fusion is not None else "mean",
        "checkpoint": str(source) if source is not None else "", "sha256": identity,
        "threshold": FUSED_THRESHOLD, "checkpoint_threshold": FUSED_THRESHOLD, "threshold_overridden": False,
        "aggregation": ("mixture of likelihood ratios of the log-odds minus each person offset read from reference "
                        "footage, Platt-calibrated" if references else
                        "mixture of likelihood ratios, Platt-calibrated" if fusion is not None else
                        "mean of calibrated probabilities"),
        "status": status, "reason": None if score is not None else "none of the detectors could score this video",
        "raw_video_score": fused["raw_video_score"], "video_score": score,
        "verdict": detector_verdict(status, score, FUSED_THRESHOLD),
        "most_like": fused.get("most_like"), "kinds": fused.get("kinds"),
        "contributions": fused["contributions"],
        **({"reference": {"videos": [str(path) for path in references]}} if references else {}),
    }


def add_fusion(report: dict, fusion: LateFusion | None, source: Path | None, modalities: dict[str, str],
               references: dict[str, Sequence[dict]] | None = None) -> dict:
    """Append the ``fusion`` entry to a report, mark each detector's modality, and let fusion decide."""
    for entry in report["detectors"]:
        entry["modality"] = modalities.get(entry["name"], entry["kind"])
    entry = fusion_entry(report["detectors"], fusion, source, references)
    report["detectors"].append(entry)
    report.update({"decided_by": "fusion", "video_score": entry["video_score"], "verdict": entry["verdict"],
                   "threshold": entry["threshold"], "threshold_overridden": False, "aggregation": entry["aggregation"]})
    return report


def print_modalities(report: dict) -> None:
    """One line per detector (modality, score, verdict, or why it could not run), then the fused verdict."""
    for entry in report["detectors"][:-1]:
        score = "-" if entry["video_score"] is None else f"{entry['video_score']:.3f}"
        note = entry["reason"] or entry["verdict"]
        print(f"  {entry['modality']:<10s} {entry['name']} ({entry['kind']}): {score}  {note}")
    fused = report["detectors"][-1]
    parts = ", ".join(f"{c['name']} {c['contribution']:+.2f}" for c in fused["contributions"] if c["contributed"])
    missing = [c["name"] for c in fused["contributions"] if not c["contributed"]]
    score = "-" if fused["video_score"] is None else f"{fused['video_score']:.3f}"
    like = (f"if fake, most like the fakes {fused['most_like']} claims (share "
            f"{max(k['share'] for k in fused['kinds']):.2f}); "
            if fused.get("most_like") else "")
    if fused.get("reference"):
        offsets = ", ".join(f"{c['name']} {c['person_offset']:+.2f} (shrinkage {c['shrinkage']:.2f}, "
                            f"{c['references_read']} read)" for c in fused["contributions"])
        print(f"  reference footage ({len(fused['reference']['videos'])} videos): person offsets subtracted: {offsets}")
    print(f"fused ({fused['architecture']}): {fused['verdict']} (probability {score}, threshold 0.5; {like}"
          f"contributions {parts or 'none'}{'; could not run: ' + ', '.join(missing) if missing else ''})")


def build_parser() -> argparse.ArgumentParser:
    from grader.tree import add_tree_argument

    parser = ArgumentParser(prog="multi_modal_detect.py",
                            description="Fuse detectors of every phase into one calibrated verdict.")
    parser.add_argument("--visual-model", help="frame detector checkpoint (phase 1, or phase 5's capsules and "
                                               "attention CNN; e.g. xception.pt)")
    parser.add_argument("--temporal-model",
                        help="clip detector checkpoint (phase 2, or phase 5's integrated system; e.g. lstm.pt)")
    parser.add_argument("--frequency-model", help="spectral or frame detector checkpoint (phase 3, e.g. fft.pt)")
    parser.add_argument("--biological", help="signal detector checkpoint (phase 4: blinks, pulse, combined)")
    parser.add_argument("--model", action="append", default=[], help="any other detector checkpoint (repeatable)")
    parser.add_argument("--fusion-model", help="fusion model JSON (from --fit-fusion); without it: mean of probabilities")
    parser.add_argument("--fit-fusion", metavar="DATA_ROOT", action="append", default=[],
                        help="fit the fusion on this dataset's validation videos and write --fusion-model "
                             "(repeatable: the validation videos of every dataset given, e.g. short clips and "
                             "10-s clips that phase 4 can read)")
    parser.add_argument("--dataset", default=None, help="layout of --fit-fusion's dataset (default: detected)")
    parser.add_argument("--split-seed", type=int, default=0, help="the split of --fit-fusion (as train.py --seed)")
    parser.add_argument("--input", help="a video file, or a folder of videos")
    parser.add_argument("--reference", action="append", default=[], metavar="VIDEO",
                        help="a known-real video of the person the input shows (repeatable): each detector's person "
                             "offset is read from them and subtracted before the fusion (needs a fusion model "
                             "fitted with its reference mode)")
    parser.add_argument("--output", help="report .json (a folder for a folder input); default: print only")
    parser.add_argument("--frames", type=int, default=None, help="evenly spaced frames for frame detectors")
    parser.add_argument("--clips", type=int, default=1, help="clips per video for clip detectors")
    parser.add_argument("--detect-every", type=int, default=None, metavar="K",
                        help="MTCNN on the video's frames 0, K, 2K, ... only (K frames at 25 fps: every K/25 s), faces "
                             "interpolated between agreeing keyframes (default: as the detectors were trained, when "
                             "they agree, else 1)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_tree_argument(parser)
    return parser


def _checkpoints(args: argparse.Namespace) -> tuple[list[str], dict[int, str]]:
    """The checkpoints in flag order and the modality of each position."""
    paths, modalities = [], {}
    for flag, modality in MODALITY_FLAGS:
        value = getattr(args, flag)
        if value:
            modalities[len(paths)] = modality
            paths.append(value)
    for value in args.model:
        modalities[len(paths)] = "other"
        paths.append(value)
    return paths, modalities


def _check_arguments(args: argparse.Namespace, paths: list[str]) -> None:
    from common.tools.detect import _folder_output, _single_output, check_output_folder

    if not paths:
        raise CourseError("give at least one detector: --visual-model, --temporal-model, --frequency-model, "
                          "--biological or --model")
    if not args.input and not args.fit_fusion:
        raise CourseError("nothing to do: give --input (a video or folder) and/or --fit-fusion DATA_ROOT")
    if args.fit_fusion:
        if not args.fusion_model:
            raise CourseError("--fit-fusion writes the fitted fusion to --fusion-model PATH: give one")
        if Path(args.fusion_model).suffix.lower() != ".json":
            raise CourseError(f"--fusion-model '{args.fusion_model}' should be a .json file: --fit-fusion writes "
                              "the fitted fusion there as JSON")
        for root in args.fit_fusion:
            if not Path(root).is_dir():
                raise CourseError(f"--fit-fusion '{root}': no such dataset folder")
        check_output_folder(Path(args.fusion_model).parent if str(Path(args.fusion_model).parent) else Path("."),
                            f"fusion model '{args.fusion_model}'")
    elif args.fusion_model and not Path(args.fusion_model).is_file():
        raise CourseError(f"--fusion-model '{args.fusion_model}': no such file (fit one with --fit-fusion)")
    if args.input:
        source = Path(args.input)
        if not source.exists():
            raise VideoError(f"cannot read video '{source}': no such file or folder")
        if args.output:
            _folder_output(Path(args.output), source) if source.is_dir() else _single_output(Path(args.output))
        elif source.is_dir():
            raise CourseError("a folder input needs --output FOLDER for its reports and summary.csv")
    _check_references(args)
    _check_outputs_are_not_inputs(args, paths)
    too_small = [value for value in (args.clips, args.frames, args.detect_every) if value is not None and value < 1]
    if too_small:
        raise CourseError("--clips, --frames and --detect-every must be at least 1")


def _check_references(args: argparse.Namespace) -> None:
    """Refuse (one line) references without an input or a fitted fusion, missing or folder references, a
    reference given twice, and the input itself as its own reference."""
    if not args.reference:
        return
    if not args.input:
        raise CourseError("--reference is footage of the person an --input video shows: give --input too")
    if not args.fusion_model:
        raise CourseError("--reference needs --fusion-model (or --fit-fusion): the person offsets are read with "
                          "the fusion's reference mode")
    for reference in args.reference:
        if not Path(reference).is_file():
            raise VideoError(f"cannot read reference video '{reference}': no such file")
        if same_file(reference, args.input):
            raise CourseError(f"--reference '{reference}' is the --input video itself: a video cannot be its own "
                              "reference; give other, known-real footage of the person")
        if Path(args.input).is_dir() and Path(args.input).resolve() in Path(reference).resolve().parents:
            raise CourseError(f"--reference '{reference}' lies in the --input folder, so it would be analysed as its "
                              "own reference: keep reference footage outside the folder")
    for i, reference in enumerate(args.reference):
        if any(same_file(reference, other) for other in args.reference[:i]):
            raise CourseError(f"--reference '{reference}' is given twice: each reference video counts once")


def _check_outputs_are_not_inputs(args: argparse.Namespace, paths: list[str]) -> None:
    """Refuse an output (the fitted fusion, the report) that is one of the files this run reads, or the
    other output: writing it would destroy a checkpoint, the evidence or the fusion just fitted."""
    outputs = {"--output": args.output, "--fusion-model": args.fusion_model if args.fit_fusion else None}
    inputs = {**{f"checkpoint '{path}'": path for path in paths}, "--input": args.input,
              **{f"--reference '{path}'": path for path in args.reference},
              "--fusion-model": None if args.fit_fusion else args.fusion_model}
    for flag, output in outputs.items():
        if output is None:
            continue
        others = {**inputs, **{name: path for name, path in outputs.items() if name != flag}}
        for name, source in others.items():
            if source is not None and same_file(output, source):
                raise CourseError(f"{flag} '{output}' is also {name}: write it to another file")


def fit_on_validation(detectors: list, data_root: str | Path | Sequence[str | Path], dataset: str | None, seed: int,
                      *, progress: bool = True, tree: str = "templates",
                      detect_every: int = 1) -> tuple[LateFusion, list[str]]:
    """Run every detector on the validation videos of a dataset (or of several, pooled) and fit the
    fusion on their scores.

    Returns ``(fusion, skipped)``: videos that could not be read are listed, not used.
    """
    from tqdm import tqdm

    from common.experiment import load_records, split_for_training
    from common.tools.detect import analyse_video, make_face_detector

    roots = [data_root] if isinstance(data_root, (str, Path)) else list(data_root)
    validation = []
    for root in roots:
        _, records = load_records(dataset, root)
        validation += split_for_training(records, seed)["val"]
    face_detector = make_face_detector(detectors)
    entries, labels, people, skipped = [], [], [], []
    for record in tqdm(validation, desc="validation videos", unit="video", disable=not progress):
        try:
            report = analyse_video(record.path, detectors, face_detector=face_detector, tree=tree,
                                   detect_every=detect_every)
        except VideoError as error:
            skipped.append(f"{record.path}: {error}")
            continue
        entries.append(report["detectors"])
        labels.append(record.label)
        people.append(record.group)
    return fit_fusion(entries, labels, people=people), skipped


def check_fusion(fusion: LateFusion, detectors: list, source: Path, with_references: bool) -> None:
    """Refuse (one line) a fusion model fitted on other detectors, and references for a fusion model
    without a reference mode."""
    fusion.check_detectors([{**detector.describe(), "name": detector.name} for detector in detectors], str(source))
    if with_references and fusion.reference is None:
        if "reference_not_fitted" in fusion.validation:
            raise CourseError(f"fusion model '{source}' was fitted without its reference mode, because task 5.17 "
                              "was a TODO: finish it and refit with --fit-fusion, or leave out --reference")
        raise CourseError(f"fusion model '{source}' has no reference mode (its validation set had no two people "
                          "with two real videos each): refit it with --fit-fusion, or leave out --reference")


def analyse_references(paths: Sequence[str], detectors: list, *, tree: str,
                       detect_every: int) -> dict[str, list[dict]] | None:
    """Every detector's entries on each reference video, by path (None without references). Run before
    anything is written: a reference that cannot be read stops the run with one line, since a verdict
    must not quietly lose the footage it was asked to compare with."""
    from common.tools.detect import analyse_video

    if not paths:
        return None
    references = {}
    for path in paths:
        report = analyse_video(Path(path), detectors, tree=tree, detect_every=detect_every)
        references[str(path)] = report["detectors"]
        ran = sum(entry["status"] == "ok" for entry in report["detectors"])
        print(f"reference {path}: {ran} of {len(detectors)} detectors scored it")
    return references


def main(argv: list[str] | None = None) -> int:
    """Command line (module docstring). Exit 0 on success; bad input: one ``error:`` line, exit 2."""
    from common.device import resolve_device
    from common.tools.detect import (analyse_folder, analyse_video, load_detectors, resolve_detect_every,
                                     tracking_notes, write_report)
    from grader.tree import activate_from_args, active_name

    args = build_parser().parse_args(argv)
    activate_from_args(args)
    paths, positions = _checkpoints(args)
    _check_arguments(args, paths)
    device = resolve_device(args.device)
    detectors = load_detectors(paths, device, frames=args.frames, clips=args.clips)
    check_modalities(detectors, paths, positions)
    args.detect_every = resolve_detect_every(args.detect_every, detectors)
    for line in tracking_notes(detectors, args.detect_every):
        print(line)
    modalities = {detector.name: modality_of(detector.row) for detector in detectors}
    fusion, source = None, None
    if args.fusion_model and not args.fit_fusion:
        source = Path(args.fusion_model)
        fusion = load_fusion(source)
        check_fusion(fusion, detectors, source, bool(args.reference) and bool(args.input))
    references = analyse_references(args.reference, detectors, tree=active_name(), detect_every=args.detect_every)
    if args.fit_fusion:
        fusion, skipped = fit_on_validation(detectors, args.fit_fusion, args.dataset, args.split_seed,
                                            progress=not args.quiet, tree=active_name(),
                                            detect_every=args.detect_every)
        source = save_fusion(args.fusion_model, fusion)
        figures = fusion.validation
        print(f"fusion fitted on {figures['n_videos']} validation videos ({figures['n_fake']} fake; "
              f"out-of-fold AUC {figures['out_of_fold_auc']:.3f}): {source}")
        for name in fusion.names:
            print(f"  {name}: validation AUC {figures['detector_auc'].get(name, float('nan')):.3f}")
        for kind in fusion.kinds:
            readers = ", ".join(f"{name} {slope:.2f}" for name, slope in zip(fusion.names, kind.slopes) if slope > 0)
            print(f"  kind of fake claimed by {kind.claimed_by}: {kind.n_fakes} validation fakes; slopes of its "
                  f"log-likelihood ratio per unit of log-odds: {readers or 'none'}")
        if fusion.reference is not None:
            figures = fusion.reference.validation
            print(f"  reference mode: {figures['people_with_references']} of {figures['people']} people with two or "
                  f"more real videos; out-of-fold AUC with person offsets {figures['out_of_fold_auc']:.3f}")
        elif "reference_not_fitted" in figures:
            print(f"  reference mode: not fitted: {figures['reference_not_fitted']}")
        for line in skipped:
            print(f"  skipped: {line}")
        check_fusion(fusion, detectors, source, references is not None)
    if not args.input:
        return 0

    def finish(report: dict) -> dict:
        return add_fusion(report, fusion, source, modalities, references)

    input_path = Path(args.input)
    if input_path.is_dir():
        rows, summary = analyse_folder(input_path, detectors, Path(args.output), progress=not args.quiet,
                                       tree=active_name(), postprocess=finish, detect_every=args.detect_every)
        for row in rows or []:
            print(f"{row['verdict']:9s} {row['video_score'] or '-':>9s}  {row['video']}")
        print(f"summary: {summary}")
        return 0
    report = finish(analyse_video(input_path, detectors, tree=active_name(), detect_every=args.detect_every))
    print_modalities(report)
    if args.output:
        print(f"report: {write_report(Path(args.output), report)}")
    return 0
