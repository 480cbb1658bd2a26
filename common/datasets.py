"""Dataset layouts: turn the folders of public deepfake datasets into one list of labelled videos.

Every loader reads a dataset exactly as its authors distribute it (folder and file names included)
and returns the same thing: a list of :class:`VideoRecord`, sorted by path, each saying where the
video is, whether it is FAKE (1) or REAL (0), which manipulation made it, and which *group* it
belongs to. A group is the set of videos that share a face: a real video, the fakes made from it,
and the fakes that pasted its face elsewhere. Splitting by video instead of by group lets a
detector memorise identities and report accuracy it does not have; :func:`group_split` and
:func:`check_no_group_leak` keep every group on one side.

Supported layouts (see the docstring of each loader for details):

* FaceForensics++ (Rossler et al., ICCV 2019): ``original_sequences/`` and
  ``manipulated_sequences/`` with official ``train/val/test.json`` pair lists.
* Celeb-DF v2 (Li et al., CVPR 2020): ``Celeb-real/``, ``YouTube-real/``, ``Celeb-synthesis/`` and
  ``List_of_testing_videos.txt`` (in which ``1`` means REAL).
* DFDC (Dolhansky et al., 2020): ``dfdc_train_part_N/metadata.json`` parts and the test set's
  ``labels.csv``.
* Kaggle-style metadata CSV (a file-name column and a REAL/FAKE label column).
* A plain ``real/`` + ``fake/`` folder, and the course's own synthetic *mini-forensics* benchmark.

Label convention everywhere: ``1 = FAKE``, ``0 = REAL``.
"""
from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from common.errors import DatasetLayoutError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
SPLIT_NAMES = ("train", "val", "test")
FAKE, REAL = 1, 0


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video of a dataset.

    Attributes:
        path: where the video file is (absolute when the loader was given an absolute root).
        label: ``1`` for FAKE, ``0`` for REAL.
        method: ``"real"`` for pristine videos, otherwise the manipulation (e.g. ``"Deepfakes"``).
        group: the identity/original that must never straddle splits (e.g. ``"youtube:000+003"``).
        split: ``"train"``, ``"val"`` or ``"test"`` when the dataset assigns one, else ``None``.
        dataset: the loader's name (``"faceforensics"``, ``"celebdf"``, ...).
        extra: dataset-specific facts (compression, target/source identities, ...).
    """

    path: Path
    label: int
    method: str
    group: str
    split: str | None
    dataset: str
    extra: dict = field(default_factory=dict, compare=False, hash=False)


# --------------------------------------------------------------------------------------------
# Small helpers shared by the loaders
# --------------------------------------------------------------------------------------------

def is_video_file(path: Path) -> bool:
    """True when ``path`` is a file with a video extension (.mp4 .avi .mov .mkv .webm, any case)."""
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS


def is_image_file(path: Path) -> bool:
    """True when ``path`` is a file with an image extension (.jpg .jpeg .png .bmp .webp .tif .tiff, any case)."""
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def list_videos(folder: Path, *, recursive: bool = False, images: bool = False) -> list[Path]:
    """Video files in ``folder`` (optionally in its subfolders too, and images too), sorted by path."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in candidates if is_video_file(p) or (images and is_image_file(p)))


def _require_dir(root: Path, dataset_title: str, expected: str) -> Path:
    """Return ``root`` as a Path, or raise a one-line error if it is not an existing folder."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(
            f"not a {dataset_title} root '{root}': folder does not exist (expected {expected})")
    return root


def _sorted_records(records: Iterable[VideoRecord]) -> list[VideoRecord]:
    return sorted(records, key=lambda record: str(record.path))


def _parse_label_word(value: str, where: str) -> int:
    """``"FAKE"``/``"1"`` -> 1 and ``"REAL"``/``"0"`` -> 0 (case-insensitive); else a layout error."""
    word = value.strip().upper()
    if word in ("FAKE", "1"):
        return FAKE
    if word in ("REAL", "0"):
        return REAL
    raise DatasetLayoutError(f"{where}: label '{value}' is not REAL/FAKE (or 0/1 with 1 = FAKE)")


def _normalise_split(value: str | None) -> str | None:
    """Map ``"train"``, ``"val"``/``"valid"``/``"validation"``, ``"test"`` to our names; else None."""
    if value is None:
        return None
    word = str(value).strip().lower()
    if word in ("val", "valid", "validation", "dev"):
        return "val"
    if word in ("train", "test"):
        return word
    return None


class _UnionFind:
    """Disjoint sets of strings: identities joined by a fake video end up in one component."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)

    def components(self) -> dict[str, list[str]]:
        members: dict[str, list[str]] = defaultdict(list)
        for item in self.parent:
            members[self.find(item)].append(item)
        return {root: sorted(items) for root, items in members.items()}


def _component_name(prefix: str, members: list[str]) -> str:
    """Readable group name: ``prefix:000+003``; components of more than 4 identities are shortened."""
    if len(members) <= 4:
        return f"{prefix}:{'+'.join(members)}"
    return f"{prefix}:{members[0]}+{len(members) - 1}more"


# --------------------------------------------------------------------------------------------
# FaceForensics++
# --------------------------------------------------------------------------------------------

FF_COMPRESSIONS = ("raw", "c23", "c40")
FF_YOUTUBE_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")
FF_ACTOR_METHODS = ("DeepFakeDetection",)
FF_METHODS = FF_YOUTUBE_METHODS + FF_ACTOR_METHODS
_FF_PAIR_NAME = re.compile(r"^(?P<target>\d+)_(?P<source>\d+)$")
_FF_DFD_NAME = re.compile(r"^(?P<target>\d+)_(?P<source>\d+)__(?P<scene>.+)__(?P<code>[A-Za-z0-9]{8})$")
_FF_ACTOR_NAME = re.compile(r"^(?P<actor>\d+)__(?P<scene>.+)$")


def _read_ff_splits(splits_dir: Path) -> dict[frozenset[str], str]:
    """Read the official ``train/val/test.json`` lists of [target, source] pairs.

    Returns a map from the unordered pair ``{target, source}`` to its split name.
    """
    splits_dir = Path(splits_dir)
    pair_split: dict[frozenset[str], str] = {}
    for split in SPLIT_NAMES:
        path = splits_dir / f"{split}.json"
        if not path.is_file():
            raise DatasetLayoutError(
                f"FaceForensics++ splits folder '{splits_dir}' has no {split}.json "
                "(expected train.json, val.json, test.json: lists of [target, source] pairs)")
        try:
            pairs = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise DatasetLayoutError(f"FaceForensics++ split file '{path}' is not valid JSON: {error}") from None
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise DatasetLayoutError(
                f"FaceForensics++ split file '{path}': expected a JSON list of [target, source] pairs")
        for target, source in pairs:
            key = frozenset((str(target), str(source)))
            if key in pair_split and pair_split[key] != split:
                raise DatasetLayoutError(
                    f"FaceForensics++ pair {target}_{source} is in both {pair_split[key]}.json and {split}.json")
            pair_split[key] = split
    return pair_split


def _ff_requested_methods(root: Path, compression: str, methods: Iterable[str] | None,
                          include_actors: bool) -> list[str]:
    """Resolve ``methods``: the ones asked for (each must exist), or every method present on disk."""
    if methods is None:
        wanted = FF_YOUTUBE_METHODS + (FF_ACTOR_METHODS if include_actors else ())
        return [m for m in wanted if (root / "manipulated_sequences" / m / compression / "videos").is_dir()]
    resolved = []
    for method in methods:
        if method not in FF_METHODS:
            raise DatasetLayoutError(
                f"unknown FaceForensics++ method '{method}': expected one of {', '.join(FF_METHODS)}")
        folder = root / "manipulated_sequences" / method / compression / "videos"
        if not folder.is_dir():
            raise DatasetLayoutError(
                f"FaceForensics++ root '{root}' has no {method} videos: expected "
                f"manipulated_sequences/{method}/{compression}/videos/*.mp4")
        resolved.append(method)
    return resolved


def load_faceforensics(root: str | Path, *, compression: str = "c23", methods: Iterable[str] | None = None,
                       include_actors: bool = False, splits_dir: str | Path | None = None) -> list[VideoRecord]:
    """Load FaceForensics++ as downloaded by its official script.

    Layout read (``<c>`` is ``compression``; ``masks/`` folders beside ``<c>/`` are never read)::

        original_sequences/youtube/<c>/videos/000.mp4 ... 999.mp4          REAL
        original_sequences/actors/<c>/videos/01__exit_phone_room.mp4        REAL (include_actors)
        manipulated_sequences/<Method>/<c>/videos/000_003.mp4               FAKE, <target>_<source>
        manipulated_sequences/DeepFakeDetection/<c>/videos/01_02__exit_phone_room__YVGY8LOK.mp4

    Args:
        root: the folder holding ``original_sequences/`` and ``manipulated_sequences/``.
        compression: ``"raw"``, ``"c23"`` (default, the benchmark setting) or ``"c40"``.
        methods: manipulations to load, e.g. ``["Deepfakes", "FaceSwap"]``; ``None`` loads every
            YouTube-based method present (and DeepFakeDetection too when ``include_actors``).
        include_actors: also load the paid-actor originals (``original_sequences/actors``).
        splits_dir: folder with the official ``train.json``, ``val.json``, ``test.json`` (lists of
            [target, source] pairs); when given, a pair's fakes and both its originals get its split.

    Returns:
        Records sorted by path. ``group`` is the connected set of identities that fakes join
        (for YouTube, exactly the pair: ``"youtube:000+003"``), so no identity can be on both sides
        of a split. ``extra`` holds ``compression``, ``collection`` (youtube/actors), ``target_id``,
        ``source_id`` (fakes) or ``identity`` (reals), and ``scene``/``code`` for DeepFakeDetection.

    Example:
        >>> records = load_faceforensics("/data/FF++", methods=["Deepfakes"])  # doctest: +SKIP
        >>> records[0].method, records[0].label                                  # doctest: +SKIP
        ('Deepfakes', 1)
    """
    if compression not in FF_COMPRESSIONS:
        raise DatasetLayoutError(
            f"unknown FaceForensics++ compression '{compression}': expected one of {', '.join(FF_COMPRESSIONS)}")
    youtube_expected = f"original_sequences/youtube/{compression}/videos/*.mp4"
    root = _require_dir(root, "FaceForensics++", youtube_expected)
    chosen = _ff_requested_methods(root, compression, methods, include_actors)
    needs_youtube = methods is None or any(m in FF_YOUTUBE_METHODS for m in chosen) or not include_actors
    collections = (["youtube"] if needs_youtube else []) + (["actors"] if include_actors else [])

    # (path, label, method, collection, identities, extra) before groups are known
    pending: list[tuple[Path, int, str, str, tuple[str, ...], dict]] = []
    for collection in collections:
        folder = root / "original_sequences" / collection / compression / "videos"
        videos = list_videos(folder) if folder.is_dir() else []
        if not videos:
            raise DatasetLayoutError(
                f"not a FaceForensics++ root '{root}': expected original_sequences/{collection}/{compression}/videos/*.mp4")
        for video in videos:
            identity, extra = _ff_original_identity(video, collection)
            extra.update(compression=compression, collection=collection)
            pending.append((video, REAL, "real", collection, (identity,), extra))

    if not chosen:
        raise DatasetLayoutError(
            f"not a FaceForensics++ root '{root}': expected manipulated_sequences/<Method>/{compression}/videos/*.mp4 "
            f"for a method among {', '.join(FF_YOUTUBE_METHODS)}")
    for method in chosen:
        collection = "actors" if method in FF_ACTOR_METHODS else "youtube"
        for video in list_videos(root / "manipulated_sequences" / method / compression / "videos"):
            target, source, extra = _ff_fake_identities(video, method)
            extra.update(compression=compression, collection=collection, target_id=target, source_id=source)
            pending.append((video, FAKE, method, collection, (target, source), extra))

    pair_split = _read_ff_splits(Path(splits_dir)) if splits_dir is not None else {}
    identity_split = {identity: split for pair, split in pair_split.items() for identity in pair}

    links = _UnionFind()
    for _, _, _, collection, identities, _ in pending:
        for identity in identities:
            links.union(f"{collection}/{identities[0]}", f"{collection}/{identity}")
    group_of = {}
    for members in links.components().values():
        collection = members[0].split("/")[0]
        name = _component_name(collection, [m.split("/", 1)[1] for m in members])
        group_of.update({member: name for member in members})

    records = []
    for path, label, method, collection, identities, extra in pending:
        if len(identities) == 2 and collection == "youtube":
            split = pair_split.get(frozenset(identities))
        elif len(identities) == 1 and collection == "youtube":
            split = identity_split.get(identities[0])
        else:
            split = None  # the official split files list YouTube pairs only
        group = group_of[f"{collection}/{identities[0]}"]
        records.append(VideoRecord(path, label, method, group, split, "faceforensics", extra))
    return _sorted_records(records)


def _ff_original_identity(video: Path, collection: str) -> tuple[str, dict]:
    """Identity of an original video: ``000.mp4`` -> ``"000"``; ``01__scene.mp4`` -> ``"01"``."""
    if collection == "youtube":
        if not video.stem.isdigit():
            raise DatasetLayoutError(
                f"FaceForensics++ original '{video}': expected a numbered name like 000.mp4")
        return video.stem, {"identity": video.stem}
    match = _FF_ACTOR_NAME.match(video.stem)
    if match is None:
        raise DatasetLayoutError(
            f"FaceForensics++ actor video '{video}': expected <actor>__<scene>.mp4 like 01__exit_phone_room.mp4")
    return match["actor"], {"identity": match["actor"], "scene": match["scene"]}


def _ff_fake_identities(video: Path, method: str) -> tuple[str, str, dict]:
    """Target and source identities of a fake: ``000_003.mp4`` -> ``("000", "003")``."""
    if method in FF_ACTOR_METHODS:
        match = _FF_DFD_NAME.match(video.stem)
        if match is None:
            raise DatasetLayoutError(
                f"FaceForensics++ {method} video '{video}': expected <target>_<source>__<scene>__<id8>.mp4")
        return match["target"], match["source"], {"scene": match["scene"], "code": match["code"]}
    match = _FF_PAIR_NAME.match(video.stem)
    if match is None:
        raise DatasetLayoutError(
            f"FaceForensics++ {method} video '{video}': expected <target>_<source>.mp4 like 000_003.mp4")
    return match["target"], match["source"], {}


# --------------------------------------------------------------------------------------------
# Celeb-DF (v2)
# --------------------------------------------------------------------------------------------

CELEBDF_TEST_LIST = "List_of_testing_videos.txt"
_CELEB_REAL_NAME = re.compile(r"^(?P<target>id\d+)_(?P<number>\d+)$")
_CELEB_FAKE_NAME = re.compile(r"^(?P<target>id\d+)_(?P<source>id\d+)_(?P<number>\d+)$")
_CELEB_FOLDERS = {"Celeb-real": REAL, "YouTube-real": REAL, "Celeb-synthesis": FAKE}


def _read_celebdf_test_list(path: Path) -> dict[str, int]:
    """Parse ``List_of_testing_videos.txt`` into ``{"<subdir>/<name>.mp4": our_label}``.

    The file's own convention is ``1 = REAL``, ``0 = FAKE``: it is inverted here to ours.
    """
    listed: dict[str, int] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise DatasetLayoutError(
                f"{path} line {number}: expected '<1=real|0=fake> <subdir>/<name>.mp4', got '{line.strip()}'")
        file_label, relative = parts
        listed[relative] = REAL if file_label == "1" else FAKE
    return listed


def load_celebdf(root: str | Path) -> list[VideoRecord]:
    """Load Celeb-DF (v2) as distributed.

    Layout read::

        Celeb-real/id0_0000.mp4          REAL  (590 videos of 59 celebrities)
        YouTube-real/00000.mp4           REAL  (300, optional folder)
        Celeb-synthesis/id0_id16_0000.mp4  FAKE: target id0's video 0000 with the face of id16
        List_of_testing_videos.txt       518 lines '<1=real|0=fake> <subdir>/<name>.mp4'

    Careful: in the test list ``1`` means REAL. We invert it to our ``1 = FAKE`` and check it
    agrees with the folder the video is in. Listed videos get split ``"test"``, all others
    ``"train"``. Groups are the target identity (``"celeb:id0"``); each YouTube-real video is its
    own group (``"youtube:00000"``). The source identity (whose face was pasted in) is kept in
    ``extra["source_id"]`` but not joined into the group: the 59 celebrities are swapped among
    each other so widely that joining sources would leave a single group. The official test list
    is not guaranteed to be identity-disjoint from the remaining videos.

    Args:
        root: the folder holding ``Celeb-real/``, ``Celeb-synthesis/`` and the test list.
    Returns:
        Records sorted by path; ``extra`` has ``target_id``/``source_id`` (when known) and ``number``.
    """
    expected = "Celeb-real/, Celeb-synthesis/ and List_of_testing_videos.txt"
    root = _require_dir(root, "Celeb-DF", expected)
    for required in ("Celeb-real", "Celeb-synthesis"):
        if not (root / required).is_dir():
            raise DatasetLayoutError(f"not a Celeb-DF root '{root}': expected {required}/*.mp4 ({expected})")
    test_list = root / CELEBDF_TEST_LIST
    if not test_list.is_file():
        raise DatasetLayoutError(f"not a Celeb-DF root '{root}': expected {CELEBDF_TEST_LIST}")
    listed = _read_celebdf_test_list(test_list)

    records = []
    for folder, label in _CELEB_FOLDERS.items():
        if not (root / folder).is_dir():
            continue
        for video in list_videos(root / folder):
            relative = f"{folder}/{video.name}"
            if relative in listed and listed[relative] != label:
                raise DatasetLayoutError(
                    f"{test_list}: '{relative}' is listed as {'REAL' if listed[relative] == REAL else 'FAKE'} "
                    f"but lies in {folder}/ (remember: in this file 1 means REAL)")
            group, extra = _celebdf_group(video, folder)
            split = "test" if relative in listed else "train"
            method = "real" if label == REAL else "Celeb-synthesis"
            records.append(VideoRecord(video, label, method, group, split, "celebdf", extra))

    on_disk = {f"{r.path.parent.name}/{r.path.name}" for r in records}
    missing = sorted(set(listed) - on_disk)
    if missing:
        raise DatasetLayoutError(
            f"Celeb-DF root '{root}': {len(missing)} video(s) of {CELEBDF_TEST_LIST} are missing, e.g. {missing[0]}")
    return _sorted_records(records)


def _celebdf_group(video: Path, folder: str) -> tuple[str, dict]:
    """Group and identity facts of one Celeb-DF video, from its file name."""
    if folder == "YouTube-real":
        return f"youtube:{video.stem}", {"number": video.stem}
    pattern = _CELEB_FAKE_NAME if folder == "Celeb-synthesis" else _CELEB_REAL_NAME
    match = pattern.match(video.stem)
    if match is None:
        shape = "id<t>_id<s>_<nnnn>.mp4" if folder == "Celeb-synthesis" else "id<k>_<nnnn>.mp4"
        raise DatasetLayoutError(f"Celeb-DF video '{video}': expected a name like {shape}")
    extra = {"target_id": match["target"], "number": match["number"]}
    if folder == "Celeb-synthesis":
        extra["source_id"] = match["source"]
    return f"celeb:{match['target']}", extra


# --------------------------------------------------------------------------------------------
# DFDC
# --------------------------------------------------------------------------------------------

def _find_files_near(root: Path, name: str, max_depth: int = 2) -> list[Path]:
    """Files called ``name`` in ``root`` or up to ``max_depth`` folders below it, sorted."""
    found = []
    for depth in range(max_depth + 1):
        pattern = "/".join(["*"] * depth + [name])
        found.extend(p for p in root.glob(pattern) if p.is_file())
    return sorted(found)


def load_dfdc(root: str | Path) -> list[VideoRecord]:
    """Load the DeepFake Detection Challenge training parts and/or its test set.

    Layout read (each part may sit one folder deeper, as some unzip tools leave it)::

        dfdc_train_part_0/metadata.json   {"x.mp4": {"label": "FAKE", "split": "train", "original": "y.mp4"}}
        dfdc_train_part_0/x.mp4
        <test folder>/labels.csv           filename,label   (label 0 = REAL, 1 = FAKE)
        <test folder>/*.mp4

    ``root`` may also be a single part or the test folder itself. A fake is grouped with its
    original (group = the original's file name) so that the two never straddle a split. Every
    training video says ``"split": "train"`` (the competition's training set); that is kept in
    ``extra["dfdc_split"]`` and ``split`` is left ``None`` so :func:`group_split` can carve
    validation/test sets from it. Test-set videos get ``split = "test"``.

    Returns:
        Records sorted by path; ``extra`` has ``part`` (folder name) and ``original`` for fakes.
    """
    expected = "dfdc_train_part_N/metadata.json or a folder of .mp4 with labels.csv"
    root = _require_dir(root, "DFDC", expected)
    metadata_files = _find_files_near(root, "metadata.json")
    label_files = _find_files_near(root, "labels.csv")
    if not metadata_files and not label_files:
        raise DatasetLayoutError(f"not a DFDC root '{root}': expected {expected}")
    records = []
    for metadata in metadata_files:
        records.extend(_load_dfdc_part(metadata))
    for labels in label_files:
        records.extend(_load_dfdc_test(labels))
    return _sorted_records(records)


def _load_dfdc_part(metadata_path: Path) -> list[VideoRecord]:
    """Records of one training part described by its ``metadata.json``."""
    try:
        metadata = json.loads(metadata_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetLayoutError(f"DFDC metadata '{metadata_path}' is not valid JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise DatasetLayoutError(
            f"DFDC metadata '{metadata_path}': expected an object {{\"x.mp4\": {{\"label\": ..., \"original\": ...}}}}")
    part = metadata_path.parent
    records, missing = [], []
    for name, entry in sorted(metadata.items()):
        if not isinstance(entry, dict) or "label" not in entry:
            raise DatasetLayoutError(f"DFDC metadata '{metadata_path}': entry '{name}' has no \"label\"")
        label = _parse_label_word(str(entry["label"]), f"DFDC metadata '{metadata_path}' entry '{name}'")
        path = part / name
        if not path.is_file():
            missing.append(name)
            continue
        original = entry.get("original") if label == FAKE else None
        extra = {"part": part.name, "dfdc_split": entry.get("split")}
        if original:
            extra["original"] = original
        split = _normalise_split(entry.get("split"))
        split = None if split == "train" else split
        method = "real" if label == REAL else "DFDC"
        records.append(VideoRecord(path, label, method, f"dfdc:{original or name}", split, "dfdc", extra))
    if missing:
        raise DatasetLayoutError(
            f"DFDC part '{part}': {len(missing)} video(s) named in metadata.json are missing, e.g. {missing[0]}")
    return records


def _load_dfdc_test(labels_path: Path) -> list[VideoRecord]:
    """Records of the DFDC test layout: a folder of videos with ``labels.csv`` (filename,label)."""
    folder = labels_path.parent
    header, rows = _read_csv_rows(labels_path)
    columns = _detect_columns(labels_path, header)
    records = []
    for number, row in enumerate(rows, start=2):
        name = row[columns["file"]].strip()
        label = _parse_label_word(row[columns["label"]], f"{labels_path} line {number}")
        path = folder / name
        if not path.is_file():
            raise DatasetLayoutError(f"DFDC test set '{folder}': video '{name}' listed in labels.csv is missing")
        method = "real" if label == REAL else "DFDC"
        records.append(VideoRecord(path, label, method, f"dfdc:{name}", "test", "dfdc", {"part": folder.name}))
    return records


# --------------------------------------------------------------------------------------------
# Kaggle-style CSV
# --------------------------------------------------------------------------------------------

FILE_COLUMN_NAMES = ("filename", "file", "file_name", "video", "videoname", "video_name", "name",
                     "path", "filepath", "file_path")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "target")


def _read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and all rows (as dicts of strings) of a CSV file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            return list(reader.fieldnames or []), rows
    except OSError as error:
        raise DatasetLayoutError(f"cannot read CSV '{path}': {error.strerror}") from None


def _detect_columns(path: Path, header: Iterable[str]) -> dict[str, str]:
    """Find the file-name and label columns among common spellings (case-insensitive).

    Returns ``{"file": <column>, "label": <column>}`` plus ``"original"`` and ``"split"`` when
    such columns exist.
    """
    by_lower = {name.strip().lower(): name for name in header if name is not None}
    found: dict[str, str] = {}
    for role, spellings in (("file", FILE_COLUMN_NAMES), ("label", LABEL_COLUMN_NAMES)):
        match = next((by_lower[s] for s in spellings if s in by_lower), None)
        if match is None:
            raise DatasetLayoutError(
                f"CSV '{path}' has no {role} column: expected one of {', '.join(spellings)} "
                f"(case-insensitive), found {', '.join(by_lower) or 'no header'}")
        found[role] = match
    for role in ("original", "split"):
        if role in by_lower:
            found[role] = by_lower[role]
    return found


def _index_by_stem(folder: Path) -> dict[str, list[Path]]:
    """Video and image files under ``folder`` (recursively), indexed by file stem."""
    index: dict[str, list[Path]] = defaultdict(list)
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS:
            index[path.stem].append(path)
    return index


def load_kaggle_csv(csv_path: str | Path, video_dir: str | Path | None = None) -> list[VideoRecord]:
    """Load a Kaggle-style metadata CSV: one row per video with its name and a REAL/FAKE label.

    The column names are detected case-insensitively: the file column among
    ``filename, file, file_name, video, videoname, video_name, name, path, filepath, file_path``
    and the label column among ``label, labels, class, target``. Labels are ``REAL``/``FAKE`` (any
    case) or ``0``/``1`` with ``1 = FAKE``. Optional columns: ``original`` (a fake's source video,
    as in the ``deepfake-faces`` metadata.csv: the fake is grouped with it) and ``split``.

    Each file is looked up in ``video_dir`` (default: the CSV's folder) by its name; when that
    file is absent, a unique file with the same stem and a video or image extension is used (the
    ``deepfake-faces`` dataset lists ``abc.mp4`` but ships the face crop ``faces_224/abc.jpg``).

    Args:
        csv_path: the CSV file.
        video_dir: folder the names are relative to.
    Returns:
        Records sorted by path; ``method`` is ``"real"`` or ``"fake"``; ``extra`` has ``row`` (the
        CSV line number) and ``listed_name``.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DatasetLayoutError(f"Kaggle metadata CSV '{csv_path}' does not exist")
    video_dir = Path(video_dir) if video_dir is not None else csv_path.parent
    if not video_dir.is_dir():
        raise DatasetLayoutError(f"video folder '{video_dir}' for '{csv_path}' does not exist")
    header, rows = _read_csv_rows(csv_path)
    columns = _detect_columns(csv_path, header)
    if not rows:
        raise DatasetLayoutError(f"Kaggle metadata CSV '{csv_path}' has a header but no rows")
    by_stem: dict[str, list[Path]] | None = None
    records, missing = [], []
    for number, row in enumerate(rows, start=2):
        name = (row[columns["file"]] or "").strip()
        label = _parse_label_word(row[columns["label"]] or "", f"{csv_path} line {number}")
        path = video_dir / name
        if not path.is_file():
            if by_stem is None:
                by_stem = _index_by_stem(video_dir)
            same_stem = by_stem.get(Path(name).stem, [])
            if len(same_stem) != 1:
                missing.append(name)
                continue
            path = same_stem[0]
        original = (row.get(columns.get("original", ""), "") or "").strip() if label == FAKE else ""
        group = f"kaggle:{Path(original).stem if original else Path(name).stem}"
        split = _normalise_split(row.get(columns["split"])) if "split" in columns else None
        extra = {"row": number, "listed_name": name}
        if original:
            extra["original"] = original
        records.append(VideoRecord(path, label, "real" if label == REAL else "fake", group, split, "kaggle", extra))
    if missing:
        raise DatasetLayoutError(
            f"{len(missing)} file(s) listed in '{csv_path}' are not in '{video_dir}', e.g. {missing[0]}")
    return _sorted_records(records)


# --------------------------------------------------------------------------------------------
# Plain real/ + fake/ folder
# --------------------------------------------------------------------------------------------

def load_folder(root: str | Path) -> list[VideoRecord]:
    """Load a folder of your own videos sorted into ``real/`` and ``fake/``.

    Layout read (subfolders are searched recursively)::

        real/**/*.mp4                 REAL, method "real"
        fake/*.mp4                    FAKE, method "fake"
        fake/<Method>/**/*.mp4        FAKE, method "<Method>"

    The same layout may also sit under ``train/``, ``val/`` and ``test/``, which then become the
    split. Without identity information every video is its own group (its path below the root).

    Returns:
        Records sorted by path.
    """
    expected = "real/ and fake/ subfolders with videos (optionally under train/ val/ test/)"
    root = _require_dir(root, "real/fake folder", expected)
    split_roots = [(split, root / split) for split in SPLIT_NAMES if (root / split).is_dir()]
    if not split_roots:
        split_roots = [(None, root)]
    records = []
    for split, base in split_roots:
        records.extend(_load_real_fake(root, base, split))
    if not records:
        raise DatasetLayoutError(f"not a real/fake folder '{root}': expected {expected}")
    return _sorted_records(records)


def _load_real_fake(root: Path, base: Path, split: str | None) -> list[VideoRecord]:
    records = []
    for class_name, label in (("real", REAL), ("fake", FAKE)):
        folder = base / class_name
        if not folder.is_dir():
            continue
        for video in list_videos(folder, recursive=True):
            below = video.relative_to(folder).parts
            method = "real" if label == REAL else (below[0] if len(below) > 1 else "fake")
            group = f"folder:{video.relative_to(root).with_suffix('').as_posix()}"
            records.append(VideoRecord(video, label, method, group, split, "folder", {}))
    return records


# --------------------------------------------------------------------------------------------
# mini-forensics synthetic benchmark
# --------------------------------------------------------------------------------------------

_SYNTHETIC_CLIP_KEYS = ("file", "clip_id", "label", "method", "identity", "group", "split", "n_frames",
                        "size", "heart_rate_bpm", "blink_times_s", "truth")


def load_synthetic(root: str | Path) -> list[VideoRecord]:
    """Load the course's synthetic *mini-forensics* benchmark from its ``manifest.json``.

    The manifest (paths relative to ``root``) is::

        {"name": "mini-forensics", "version": 1, "seed": int, "fps": float,
         "clips": [{"file": "videos/<split>/<clip_id>.mp4", "clip_id": str, "label": 0|1,
                    "method": str, "identity": str, "group": str, "split": "train"|"val"|"test",
                    "n_frames": int, "size": int, "heart_rate_bpm": float|null,
                    "blink_times_s": [float], "truth": "truth/<clip_id>.npz"}]}

    Returns:
        Records sorted by path; ``extra`` has ``clip_id``, ``identity``, ``heart_rate_bpm``,
        ``blink_times_s``, ``truth`` (absolute path of the ground-truth ``.npz``), ``n_frames``,
        ``size`` and ``fps``.
    """
    expected = "manifest.json with name 'mini-forensics', version 1 and clips"
    root = _require_dir(root, "mini-forensics", expected)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise DatasetLayoutError(f"not a mini-forensics root '{root}': expected {expected}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetLayoutError(f"mini-forensics manifest '{manifest_path}' is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("name") != "mini-forensics" or manifest.get("version") != 1:
        raise DatasetLayoutError(f"'{manifest_path}' is not a mini-forensics manifest: expected {expected}")
    if not isinstance(manifest.get("clips"), list):
        raise DatasetLayoutError(f"mini-forensics manifest '{manifest_path}': expected a \"clips\" list")
    fps = float(manifest.get("fps", 0.0))
    records = []
    for position, clip in enumerate(manifest["clips"]):
        absent = [key for key in _SYNTHETIC_CLIP_KEYS if not isinstance(clip, dict) or key not in clip]
        if absent:
            raise DatasetLayoutError(
                f"mini-forensics manifest '{manifest_path}': clip {position} lacks {', '.join(absent)}")
        path = root / clip["file"]
        if not path.is_file():
            raise DatasetLayoutError(f"mini-forensics clip '{clip['clip_id']}': video '{path}' is missing")
        if clip["label"] not in (REAL, FAKE) or _normalise_split(clip["split"]) is None:
            raise DatasetLayoutError(
                f"mini-forensics clip '{clip['clip_id']}': expected label 0|1 and split train|val|test")
        extra = {
            "clip_id": clip["clip_id"], "identity": clip["identity"],
            "heart_rate_bpm": clip["heart_rate_bpm"], "blink_times_s": list(clip["blink_times_s"]),
            "truth": root / clip["truth"], "n_frames": int(clip["n_frames"]), "size": int(clip["size"]),
            "fps": fps,
        }
        records.append(VideoRecord(path, int(clip["label"]), str(clip["method"]), str(clip["group"]),
                                   _normalise_split(clip["split"]), "synthetic", extra))
    return _sorted_records(records)


# --------------------------------------------------------------------------------------------
# One entry point
# --------------------------------------------------------------------------------------------

LOADERS: dict[str, Callable[..., list[VideoRecord]]] = {
    "faceforensics": load_faceforensics,
    "celebdf": load_celebdf,
    "dfdc": load_dfdc,
    "kaggle": load_kaggle_csv,
    "folder": load_folder,
    "synthetic": load_synthetic,
}
DATASET_NAMES: tuple[str, ...] = tuple(LOADERS)


def load_dataset(name: str, root: str | Path, **kwargs: Any) -> list[VideoRecord]:
    """Load a dataset by name: one of :data:`DATASET_NAMES`.

    ``root`` is the dataset folder (for ``"kaggle"``, the CSV file); ``kwargs`` go to the loader,
    e.g. ``load_dataset("faceforensics", "/data/FF++", compression="c40")``.
    """
    if name not in LOADERS:
        raise DatasetLayoutError(f"unknown dataset '{name}': expected one of {', '.join(DATASET_NAMES)}")
    return LOADERS[name](root, **kwargs)


# --------------------------------------------------------------------------------------------
# Group-aware splitting
# --------------------------------------------------------------------------------------------

def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers (train, val, test) summing to 1, got {fractions}")


def _assigned_split_of_groups(records: list[VideoRecord]) -> dict[str, str]:
    """The split each group already has from the dataset; ValueError when a group has two."""
    assigned: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record.split is not None:
            assigned[record.group].add(record.split)
    for group, splits in assigned.items():
        if len(splits) > 1:
            raise ValueError(f"group '{group}' is already assigned to several splits: {', '.join(sorted(splits))}")
    return {group: splits.pop() for group, splits in assigned.items()}


def group_split(records: Iterable[VideoRecord], *, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                seed: int = 0) -> dict[str, list[VideoRecord]]:
    """Split records into train/val/test without any group on two sides.

    Records whose dataset already assigned a split keep it; so do the unassigned records of a
    group that has one. The remaining groups are distributed: they are grouped into strata by
    majority label, shuffled with ``seed``, and each goes to the split furthest below its target
    share (``fractions`` of that stratum's records), so labels are roughly stratified.

    Args:
        records: the records to split.
        fractions: (train, val, test) shares of the unassigned records; they must sum to 1.
        seed: seed of the shuffle; the same seed and records give the same split.
    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``, each sorted by path, with every
        record's ``split`` field set to the split it landed in.

    Example:
        >>> splits = group_split(records, fractions=(0.8, 0.1, 0.1), seed=0)  # doctest: +SKIP
        >>> check_no_group_leak(splits)                                        # doctest: +SKIP
    """
    _check_fractions(fractions)
    records = list(records)
    split_of_group = _assigned_split_of_groups(records)

    members: dict[str, list[VideoRecord]] = defaultdict(list)
    for record in records:
        if record.group not in split_of_group:
            members[record.group].append(record)
    strata: dict[int, list[str]] = defaultdict(list)
    for group in sorted(members):
        labels = [r.label for r in members[group]]
        strata[int(sum(labels) * 2 >= len(labels))].append(group)

    rng = random.Random(seed)
    open_splits = [name for name, share in zip(SPLIT_NAMES, fractions) if share > 0]
    for stratum in sorted(strata):
        groups = strata[stratum]
        rng.shuffle(groups)
        total = sum(len(members[g]) for g in groups)
        target = {name: share * total for name, share in zip(SPLIT_NAMES, fractions)}
        filled = {name: 0 for name in SPLIT_NAMES}
        for group in groups:
            chosen = max(open_splits, key=lambda name: target[name] - filled[name])
            split_of_group[group] = chosen
            filled[chosen] += len(members[group])

    splits: dict[str, list[VideoRecord]] = {name: [] for name in SPLIT_NAMES}
    for record in records:
        split = record.split or split_of_group[record.group]
        splits[split].append(replace(record, split=split))
    return {name: _sorted_records(items) for name, items in splits.items()}


def check_no_group_leak(splits: dict[str, Iterable[VideoRecord]]) -> None:
    """Raise ValueError naming the first group (alphabetically) found in more than one split.

    Args:
        splits: ``{"train": records, "val": records, ...}`` as returned by :func:`group_split`.
    """
    where: dict[str, set[str]] = defaultdict(set)
    for name, records in splits.items():
        for record in records:
            where[record.group].add(name)
    leaking = sorted(group for group, names in where.items() if len(names) > 1)
    if leaking:
        first = leaking[0]
        raise ValueError(
            f"group '{first}' leaks across splits {', '.join(sorted(where[first]))} "
            f"({len(leaking)} leaking group(s) in all)")


def summarize(records: Iterable[VideoRecord]) -> dict[str, Any]:
    """Count records per split, label and method (JSON-serialisable, for tools and the README).

    Returns:
        ``{"total": n, "groups": n_groups, "by_label": {"real": n, "fake": n},
        "by_method": {method: n}, "by_split": {split: {"total", "real", "fake"}},
        "by_dataset": {name: n}}``; records without a split count under ``"unassigned"``.
    """
    records = list(records)
    by_split: dict[str, dict[str, int]] = {}
    for record in records:
        counts = by_split.setdefault(record.split or "unassigned", {"total": 0, "real": 0, "fake": 0})
        counts["total"] += 1
        counts["fake" if record.label == FAKE else "real"] += 1
    return {
        "total": len(records),
        "groups": len({r.group for r in records}),
        "by_label": {"real": sum(r.label == REAL for r in records), "fake": sum(r.label == FAKE for r in records)},
        "by_method": dict(sorted(Counter(r.method for r in records).items())),
        "by_split": dict(sorted(by_split.items())),
        "by_dataset": dict(sorted(Counter(r.dataset for r in records).items())),
    }
