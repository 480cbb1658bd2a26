"""``detect_video.py``: score one video (or a folder of videos) with one or several trained detectors.

    python detect_video.py --input suspicious_video.mp4 --model xception_best.pt --output report.json
    python detect_video.py --input clip.mp4 --model xception_best.pt --model frame_difference_best.pt \
        --output report.json

Every detector says which frames and which face crops it needs (:mod:`common.detectors`); the
video is decoded once for the union of those frames, its faces are found once (MTCNN, batched) and
linked into tracks, and each detector reads its inputs from that one face track
(:func:`common.face_track.build_track`). Frame detectors follow DeepfakeBench and the DFDC winner:
``--frames`` evenly spaced frames (32 by default), every face scored; by default each persistent
face *track* gets the aggregate of its faces' scores (``mean``, ``median``, ``max`` or the DFDC
winner's ``confident``) and the video's score is the most suspicious track's, so one swapped person
among real ones makes the video FAKE while a brief, small or doubtful detection (a *minor* track,
listed in the report) cannot decide it (``--face-policy track``); ``max`` and ``largest`` score per
frame instead. Clip detectors score a contiguous run of the main face's crops.

The verdict: each detector compares its video score with its threshold (the checkpoint's unless
``--threshold`` overrides it); the report's top-level verdict is the first ``--model``'s (a fusion
model, when one is given, will decide instead). Nothing is dropped silently: a planned frame
without a face or that could not be decoded is listed with its ``status`` and ``reason``; a
detector that found no face or could not run says so (``NO_FACE`` / ``UNDECIDED``, exit status 0).

Memory stays bounded for any resolution and any number of frames: frames are decoded in chunks,
shrunk to at most 1920 px, and only the face crops are kept. The report format (version 2) is in
``docs/report_schema.md``; it is validated before it is written, atomically. A folder input
writes one report per video into the output folder plus ``summary.csv``.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from common.atomic import same_file
from common.detectors import FACE_POLICIES, Detector, DetectorResult, check_settings, sha256_of
from common.device import resolve_device
from common.distributed import Distributed, gather_to_main, start_distributed, stop_distributed
from common.errors import ArgumentParser, CourseError, VideoError
from common.face_track import FaceTrack, build_track
from common.metrics import AGGREGATIONS
from common.report import SCHEMA_NAME, SCHEMA_VERSION, detector_verdict, write_report, write_text_atomic

SUMMARY_COLUMNS = ("video", "verdict", "video_score", "threshold", "frames_sampled", "frames_with_face",
                   "frames_without_face", "report", "error")


# --------------------------------------------------------------------------------------------
# Detectors and the face detector
# --------------------------------------------------------------------------------------------


def load_detectors(checkpoints: Sequence[str | Path], device: str = "auto", **settings: Any) -> list[Detector]:
    """Load every checkpoint as a detector of its kind; names are the file stems (made distinct).

    ``settings`` (``frames``, ``aggregation``, ``face_policy``, ``threshold``, ``batch_size``, ``clips``) apply
    to every detector. Raises CheckpointError / DeviceError (one line).
    """
    detectors: list[Detector] = []
    for path in checkpoints:
        name = Path(path).stem
        taken = {detector.name for detector in detectors}
        number = 2
        while name in taken:
            name, number = f"{Path(path).stem}_{number}", number + 1
        detectors.append(Detector.load(path, device, name=name, **settings))
    return detectors


def resolve_detect_every(requested: int | None, detectors: Sequence[Detector]) -> int:
    """The ``--detect-every`` of a run: the one asked for, else the one the detectors were trained with
    when their checkpoints record it and agree, else 1 (every frame). Example: trained with 8 and 8,
    nothing asked -> 8; trained with 8 and 1 -> 1 (and :func:`tracking_notes` names the one with 8)."""
    if requested is not None:
        return int(requested)
    trained = {d.trained_detect_every for d in detectors if d.trained_detect_every is not None}
    return trained.pop() if len(trained) == 1 else 1


def tracking_notes(detectors: Sequence[Detector], detect_every: int) -> list[str]:
    """One line per detector whose checkpoint was trained on faces tracked otherwise than ``detect_every``:
    a clip detector reads the tracker's frame-to-frame jitter, which differs between faces found on every
    frame and faces interpolated between keyframes (guide, "A second dataset"). Example: trained with 8,
    run with 1 -> ["note: temporal_features was trained on faces found every 8 frames; this run finds them
    every 1 (--detect-every 8 tracks them as in its training)"]."""
    return [f"note: {d.name} was trained on faces found every {d.trained_detect_every} frames; this run finds "
            f"them every {detect_every} (--detect-every {d.trained_detect_every} tracks them as in its training)"
            for d in detectors if d.trained_detect_every is not None and d.trained_detect_every != detect_every]


def make_face_detector(detectors: Sequence[Detector]) -> Any:
    """One face detector (MTCNN, every face of a frame) for all the detectors of a run."""
    from common import exercises

    first = detectors[0]
    return exercises.face_extractor(first.device, size=first.prep.size, scale=first.prep.scale, select="all",
                                    track=False)


# --------------------------------------------------------------------------------------------
# One video
# --------------------------------------------------------------------------------------------


def face_track_for(video_path: str | Path, detectors: Sequence[Detector], face_detector: Any,
                   detect_every: int = 1) -> FaceTrack:
    """The one face track every detector of a run reads: the union of their frame plans and crops."""
    return build_track(video_path, [d.frame_plan() for d in detectors], [d.crop_spec() for d in detectors],
                       face_detector, detect_every=detect_every)


def analyse_video(video_path: str | Path, detectors: Detector | Sequence[Detector], *, face_detector: Any = None,
                  tree: str = "templates", detect_every: int = 1, track: FaceTrack | None = None) -> dict:
    """Score one video with every detector and return its report (version 2, see ``docs/report_schema.md``).

    Args:
        video_path: the video file.
        detectors: from :func:`load_detectors` (or one :class:`common.detectors.Detector`).
        face_detector: shared face detector (default: :func:`make_face_detector`).
        tree: name of the exercise tree (recorded in the report).
        detect_every: run MTCNN on the video's frames 0, ``detect_every``, 2 x ``detect_every``, ...
            and interpolate the faces between agreeing keyframes (:func:`common.face_track.detect_on_keyframes`).
        track: the video's face track when it was already built (:func:`face_track_for`, e.g. by
            the folder mode's background worker); its decode and face seconds count in ``total``.

    Raises:
        VideoError: the file is not a readable video, or no planned frame decodes.
    """
    started = time.perf_counter()
    detectors = [detectors] if isinstance(detectors, Detector) else list(detectors)
    built_before = track is not None
    if track is None:
        track = face_track_for(video_path, detectors, face_detector or make_face_detector(detectors), detect_every)
    tick = time.perf_counter()
    results = [detector.run(track) for detector in detectors]
    model_seconds = time.perf_counter() - tick
    tick = time.perf_counter()
    report = track_report(track, detectors, results, tree=tree)
    report_seconds = time.perf_counter() - tick
    report["timings_s"] = {**{stage: round(seconds, 4) for stage, seconds in track.timings_s.items()},
                           "model": round(model_seconds, 4), "report": round(report_seconds, 4),
                           "total": round(time.perf_counter() - started
                                          + (sum(track.timings_s.values()) if built_before else 0.0), 4)}
    return report


def _face_entry(face, scores: dict[str, float]) -> dict:
    return {"box": face.box, "crop_box": face.crop_box, "landmarks": face.landmarks.tolist(),
            "face_probability": face.probability, "track_id": face.track_id, "interpolated": face.interpolated,
            "scores": scores}


def detector_entry(detector: Detector, result: DetectorResult) -> dict:
    """The report's entry for one detector: who it is, how it ran, what it found."""
    entry = {**detector.describe(), "status": result.status, "reason": result.reason,
             "raw_video_score": result.raw_video_score, "video_score": result.video_score,
             "verdict": detector_verdict(result.status, result.video_score, detector.threshold)}
    if result.frame_scores is not None:
        entry["frame_scores"] = [{key: frame[key] for key in ("index", "fake_probability", "scored_face")}
                                 for frame in result.frame_scores]
    if result.window_scores is not None:
        entry["window_scores"] = result.window_scores
    if result.track_scores is not None:
        entry["track_scores"] = result.track_scores
        entry["verdict_track"] = result.verdict_track
    if result.signals is not None:
        entry["signals"] = result.signals
    return entry


def track_report(track: FaceTrack, detectors: Sequence[Detector], results: Sequence[DetectorResult], *,
                 tree: str) -> dict:
    """Assemble the report of one video from its face track and the detectors' results."""
    face_scores: dict[int, dict[int, dict[str, float]]] = {}
    for detector, result in zip(detectors, results):
        for frame in result.frame_scores or []:
            for position, score in enumerate(frame["face_scores"]):
                face_scores.setdefault(frame["index"], {}).setdefault(position, {})[detector.name] = score
    frames = [{"index": frame.index, "timestamp_s": frame.timestamp_s, "status": frame.status, "reason": frame.reason,
               "faces": [_face_entry(face, face_scores.get(frame.index, {}).get(position, {}))
                         for position, face in enumerate(frame.faces)]}
              for frame in track.frames]
    entries = [detector_entry(detector, result) for detector, result in zip(detectors, results)]
    decided = entries[0]
    first = detectors[0]
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tree": tree,
        "input": {"path": str(track.path), "kind": track.settings["input_kind"], "sha256": sha256_of(track.path),
                  "video": track.info.to_dict()},
        "versions": _versions(),
        "settings": {"face_policy": first.face_policy,
                     **{k: v for k, v in track.settings.items() if k != "input_kind"}, "device": str(first.device),
                     "batch_size": int(first.batch_size)},
        "frames": frames,
        "tracks": [summary.to_dict() for summary in track.tracks()],
        "detectors": entries,
        "decided_by": decided["name"],
        "summary": {
            "frames_sampled": len(frames),
            "frames_with_face": sum(f["status"] == "face" for f in frames),
            "frames_without_face": sum(f["status"] == "no_face" for f in frames),
            "frames_not_decoded": sum(f["status"] == "decode_failed" for f in frames),
            "faces_found": sum(len(f["faces"]) for f in frames),
            "tracks": len(track.tracks()),
            "minor_tracks": sum(summary.minor for summary in track.tracks()),
            "frames_with_several_faces": sum(len(f["faces"]) > 1 for f in frames),
            "frames_decoded": track.frames_decoded,
            "frames_through_face_detector": track.frames_detected,
            "faces_interpolated": track.faces_interpolated,
        },
        "video_score": decided["video_score"],
        "verdict": decided["verdict"],
        "threshold": decided["threshold"],
        "threshold_overridden": decided["threshold_overridden"],
        "aggregation": decided["aggregation"],
    }


def _versions() -> dict[str, str]:
    import av
    import cv2

    import common

    try:
        import facenet_pytorch
        facenet = getattr(facenet_pytorch, "__version__", "installed")
    except ImportError:  # pragma: no cover - the face extractor would have failed first
        facenet = "not installed"
    try:
        import torchvision
        torchvision_version = torchvision.__version__
    except ImportError:  # pragma: no cover
        torchvision_version = "not installed"
    return {"python": platform.python_version(), "torch": str(torch.__version__),
            "torchvision": str(torchvision_version), "numpy": np.__version__, "opencv": cv2.__version__,
            "av": av.__version__, "facenet_pytorch": str(facenet),
            "course": str(getattr(common, "__version__", "unversioned"))}


# --------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------


def _report_names(videos: list[Path]) -> dict[Path, str]:
    """``<stem>.json`` per video, or ``<file name>.json`` where two videos share a stem."""
    stems = [video.stem for video in videos]
    return {video: (f"{video.stem}.json" if stems.count(video.stem) == 1 else f"{video.name}.json")
            for video in videos}


def summary_row(video: Path, report: dict | None, report_path: Path | None, error: str = "") -> dict:
    """One ``summary.csv`` row (see :data:`SUMMARY_COLUMNS`); ``report`` is None for a failed video."""
    if report is None:
        return {"video": str(video), "verdict": "ERROR", "video_score": "", "threshold": "", "frames_sampled": "",
                "frames_with_face": "", "frames_without_face": "", "report": "", "error": error}
    score = report["video_score"]
    return {"video": str(video), "verdict": report["verdict"], "video_score": "" if score is None else f"{score:.6f}",
            "threshold": f"{report['threshold']:.6f}", "frames_sampled": report["summary"]["frames_sampled"],
            "frames_with_face": report["summary"]["frames_with_face"],
            "frames_without_face": report["summary"]["frames_without_face"], "report": str(report_path), "error": ""}


def write_summary_csv(path: str | Path, rows: list[dict]) -> Path:
    """Write the folder summary (one row per video, columns :data:`SUMMARY_COLUMNS`) atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(path, buffer.getvalue())


def list_inputs(folder: Path) -> list[Path]:
    """The videos and images of a folder (not recursive); a one-line error when there are none."""
    from common.datasets import list_videos

    found = list_videos(folder, images=True)
    if not found:
        raise CourseError(f"input folder '{folder}' contains no video or image files (.mp4, .avi, .mov, .mkv, "
                          f".webm, .jpg, .png ...)")
    return found


def tracks_ahead(videos: Sequence[Path], detectors: Sequence[Detector], face_detector: Any, detect_every: int = 1,
                 background: bool = True) -> Iterator[tuple[FaceTrack | None, VideoError | None]]:
    """``(track, None)`` or ``(None, error)`` for each video in turn; with ``background``, a worker
    thread decodes the *next* video and finds its faces while the caller scores this one (PyAV,
    OpenCV and torch release the GIL), so the device is not left waiting for the decoder."""
    def build(video: Path) -> tuple[FaceTrack | None, VideoError | None]:
        try:
            return face_track_for(video, detectors, face_detector, detect_every), None
        except VideoError as error:
            return None, error

    if not background:
        yield from (build(video) for video in videos)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-track") as worker:
        pending = worker.submit(build, videos[0]) if videos else None
        for number in range(len(videos)):
            result = pending.result()
            pending = worker.submit(build, videos[number + 1]) if number + 1 < len(videos) else None
            yield result


def analyse_folder(folder: str | Path, detectors: Sequence[Detector], output_dir: str | Path, *,
                   progress: bool = True, processes: Distributed | None = None,
                   postprocess: Callable[[dict], dict] | None = None, background: bool = True,
                   **options: Any) -> tuple[list[dict] | None, Path]:
    """Analyse every video of ``folder`` (not recursive); write ``<name>.json`` reports and ``summary.csv``.

    A video that cannot be read does not stop the others: its row in the summary has verdict
    ``ERROR`` and the one-line reason. ``postprocess`` completes each report before it is written
    (``multi_modal_detect.py`` adds the fused verdict). Under ``torchrun`` (``processes``, see
    :mod:`common.distributed`) process k of N analyses videos k, k + N, k + 2N, ... and rank 0
    gathers the rows and writes the one ``summary.csv``, in the folder's order.

    Returns:
        ``(summary rows, summary.csv path)``; the rows are ``None`` on ranks other than 0.

    Raises:
        CourseError: the folder holds no video or image file.
    """
    processes = processes or Distributed()
    folder, output_dir = Path(folder), Path(output_dir)
    videos = list_inputs(folder)
    names = _report_names(videos)
    face_detector = options.pop("face_detector", None) or make_face_detector(detectors)
    detect_every = int(options.pop("detect_every", 1))
    Path(output_dir).mkdir(exist_ok=True)
    mine = list(enumerate(videos))[processes.rank::processes.world_size]
    tracks = tracks_ahead([video for _, video in mine], detectors, face_detector, detect_every, background)
    rows = []
    for (position, video), (track, error) in tqdm(zip(mine, tracks), total=len(mine), desc="videos", unit="video",
                                                  disable=not progress or not processes.is_main):
        if error is not None:
            rows.append((position, summary_row(video, None, None, str(error))))
            continue
        report = analyse_video(video, detectors, track=track, **options)
        if postprocess is not None:
            report = postprocess(report)
        report_path = write_report(output_dir / names[video], report)
        rows.append((position, summary_row(video, report, report_path)))
    gathered = gather_to_main(rows, processes)
    summary_path = output_dir / "summary.csv"
    if gathered is None:
        return None, summary_path
    ordered = [row for _, row in sorted(gathered, key=lambda item: item[0])]
    return ordered, write_summary_csv(summary_path, ordered)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from grader.tree import add_tree_argument

    parser = ArgumentParser(
        prog="detect_video.py",
        description="Score a video (or every video of a folder) with one or several trained deepfake detectors.",
    )
    parser.add_argument("--input", required=True, help="a video file, or a folder of videos")
    parser.add_argument("--model", required=True, action="append",
                        help="checkpoint written by a phase's train.py; repeat it to run several detectors "
                             "(the first one decides the verdict)")
    parser.add_argument("--output", required=True,
                        help="report .json for a video; for a folder input, the folder for the reports and summary.csv")
    parser.add_argument("--frames", type=int, default=None,
                        help="evenly spaced frames for frame detectors (default: as in training, 32 for a "
                             "checkpoint that does not say)")
    parser.add_argument("--aggregation", choices=AGGREGATIONS, default="mean",
                        help="frame scores -> video score (default mean; 'confident' is the DFDC winner's)")
    parser.add_argument("--face-policy", choices=FACE_POLICIES, default="track",
                        help="several faces: score each persistent face track and keep the most FAKE one (track, "
                             "default; brief, small or doubtful detections are reported, not scored), or per frame "
                             "the most FAKE face (max) or the largest (largest)")
    parser.add_argument("--clips", type=int, default=1,
                        help="clip detectors: contiguous clips per video, evenly spread (default 1, the middle); "
                             "the report lists each clip's score, the video's scores over time")
    parser.add_argument("--threshold", type=float, default=None,
                        help="decision threshold on the video score (default: each checkpoint's)")
    parser.add_argument("--detect-every", type=int, default=None, metavar="K",
                        help="run the face detector on the video's frames 0, K, 2K, ... only and interpolate the faces "
                             "between keyframes that agree; K counts frames at 25 fps (2K at 50 fps: every K/25 s) "
                             "(default: as the detectors were trained, when their "
                             "checkpoints say so and agree, else 1: every frame; saves work when K exceeds the "
                             "spacing of the frames read, e.g. 32 for a frame CNN's 32 frames of a 10-s clip)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--batch-size", type=int, default=64, help="inputs per forward pass (default 64)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_tree_argument(parser)
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    if args.frames is not None and args.frames < 1:
        raise CourseError(f"--frames must be at least 1, got {args.frames}")
    if args.batch_size < 1:
        raise CourseError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.clips < 1:
        raise CourseError(f"--clips must be at least 1, got {args.clips}")
    if args.detect_every is not None and args.detect_every < 1:
        raise CourseError(f"--detect-every must be at least 1, got {args.detect_every}")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CourseError(f"--threshold must lie in [0, 1], got {args.threshold}")
    check_settings(args.aggregation, args.face_policy)


def check_output_folder(folder: Path, what: str) -> None:
    """Fail early (one line) when ``folder`` is missing or cannot be written, before any analysis."""
    if not folder.is_dir():
        raise CourseError(f"cannot write {what}: folder '{folder}' does not exist" if not folder.exists()
                          else f"cannot write {what}: '{folder}' is not a folder")
    probe = folder / f".write-test-{time.time_ns()}.tmp"
    try:
        probe.write_bytes(b"")
    except OSError as error:
        raise CourseError(f"cannot write {what} in '{folder}': {error.strerror or error}") from None
    probe.unlink(missing_ok=True)


def _single_output(output: Path) -> None:
    if output.is_dir():
        raise CourseError(f"--output '{output}' is a folder; give a .json file for a single video")
    if output.suffix.lower() != ".json":
        raise CourseError(f"--output '{output}' should be a .json file")
    check_output_folder(output.parent if str(output.parent) else Path("."), f"report '{output}'")


def _folder_output(output: Path, source: Path) -> None:
    """Check (create nothing): the reports folder of a folder input ``source`` may exist, must not be a
    file or ``source`` itself (reports among the videos would replace any .json of the same name there),
    and does not end in .json (that is a report file name: a folder input writes one report per video)."""
    if same_file(output, source):
        raise CourseError(f"--output '{output}' is the input folder: give another folder for the reports, or they "
                          "would be written among the videos, over any .json file of the same name")
    if output.exists() and not output.is_dir():
        raise CourseError(f"--output '{output}' is a file; for a folder input give a folder for the reports")
    if output.suffix.lower() == ".json" and not output.is_dir():
        raise CourseError(f"--output '{output}' ends in .json, but a folder input writes one report per video "
                          f"and summary.csv: give a folder name")
    check_output_folder(output.parent if str(output.parent) else Path("."), f"reports folder '{output}'")


def main(argv: list[str] | None = None) -> int:
    """Command line: see ``python detect_video.py --help``. Exit 0 on success (verdict NO_FACE included).

    Every argument is checked, and every detector loaded, before any output is created.
    """
    from grader.tree import activate_from_args, active_name

    args = build_parser().parse_args(argv)
    activate_from_args(args)
    _check_arguments(args)
    source, output = Path(args.input), Path(args.output)
    if not source.exists():
        raise VideoError(f"cannot read video '{source}': no such file or folder")
    _folder_output(output, source) if source.is_dir() else _single_output(output)
    device = resolve_device(args.device)
    processes = Distributed()
    if source.is_dir():
        list_inputs(source)  # a folder without videos or images: one line before anything is loaded
        processes, device = start_distributed(device)  # under torchrun: one process per GPU (or CPU share)
    detectors = load_detectors(args.model, device, frames=args.frames, aggregation=args.aggregation,
                               face_policy=args.face_policy, threshold=args.threshold, batch_size=args.batch_size,
                               clips=args.clips)
    args.detect_every = resolve_detect_every(args.detect_every, detectors)
    for line in tracking_notes(detectors, args.detect_every):
        print(line)
    if source.is_dir():
        try:
            return _run_folder(source, detectors, output, not args.quiet, active_name(), processes,
                               detect_every=args.detect_every)
        finally:
            stop_distributed(processes)
    report = analyse_video(source, detectors, tree=active_name(), detect_every=args.detect_every)
    write_report(output, report)
    _print_verdict(report, output)
    return 0


def _run_folder(source: Path, detectors: list[Detector], output: Path, progress: bool, tree: str,
                processes: Distributed, detect_every: int = 1) -> int:
    rows, summary_path = analyse_folder(source, detectors, output, progress=progress, tree=tree, processes=processes,
                                        detect_every=detect_every)
    if rows is None:
        return 0  # another process reports
    for row in rows:
        score = row["video_score"] or "-"
        print(f"{row['verdict']:9s} {score:>9s}  {row['video']}")
    failed = [row for row in rows if row["verdict"] == "ERROR"]
    print(f"summary: {summary_path}")
    if failed:
        raise CourseError(f"{len(failed)} of {len(rows)} videos could not be analysed "
                          f"(first: {failed[0]['error']}); see {summary_path}")
    return 0


def _print_verdict(report: dict, output: Path) -> None:
    summary = report["summary"]
    what = "frames have" if report["input"]["kind"] == "video" else "image has"
    for entry in report["detectors"]:
        score = "-" if entry["video_score"] is None else f"{entry['video_score']:.3f}"
        note = entry["reason"] or f"threshold {entry['threshold']:.3f}, {entry['aggregation']}"
        print(f"  {entry['name']} ({entry['kind']}): {entry['verdict']} (score {score}; {note})")
    decided = f" by {report['decided_by']}" if len(report["detectors"]) > 1 else ""
    if report["video_score"] is None:
        print(f"verdict: {report['verdict']}{decided} (no score: {report['detectors'][0]['reason']}; "
              f"{summary['frames_with_face']} of {summary['frames_sampled']} {what} a face)")
    else:
        print(f"verdict: {report['verdict']}{decided} (video score {report['video_score']:.3f}, threshold "
              f"{report['threshold']:.3f}; {summary['frames_with_face']} of {summary['frames_sampled']} {what} "
              f"a face)")
    print(f"report: {output}")
