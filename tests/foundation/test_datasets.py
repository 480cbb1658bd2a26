"""Tests of common/datasets.py and common/torch_data.py on fixture trees that mirror the real layouts.

Every fixture reproduces the folder and file names of the public dataset (FaceForensics++,
Celeb-DF v2, DFDC, Kaggle CSV) with empty placeholder videos; expected labels, splits and groups
are written out by hand from the dataset's documented conventions, never computed by our code.
"""
from __future__ import annotations

import csv
import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from common.datasets import (
    DATASET_NAMES,
    VideoRecord,
    check_no_group_leak,
    group_split,
    load_celebdf,
    load_dataset,
    load_dfdc,
    load_faceforensics,
    load_folder,
    load_kaggle_csv,
    load_synthetic,
    summarize,
)
from common.errors import DatasetLayoutError
from common.torch_data import (
    FaceCropDataset,
    FeatureSequenceDataset,
    VideoFramesDataset,
    balanced_sampler,
    collate_sequences,
    read_face_cache,
    read_feature_cache,
    record_id,
    write_face_cache,
    write_feature_cache,
)
from common.video import write_video
from tests.tolerances import (
    BALANCED_SAMPLER_SHARE_ATOL,
    DECODED_GREY_LEVEL_ATOL,
    GROUP_SPLIT_SHARE_ATOL,
    GROUP_SPLIT_STRATIFICATION_ATOL,
)

pytestmark = pytest.mark.foundation


def touch(path: Path, content: bytes = b"") -> Path:
    """Create an (empty) placeholder file and its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def by_name(records: list[VideoRecord]) -> dict[str, VideoRecord]:
    """Records keyed by '<parent folder name>/<file name>' (unique in every fixture below)."""
    return {f"{r.path.parent.name}/{r.path.name}": r for r in records}


def assert_one_line_error(error: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message, f"error message should be one line, got {message!r}"
    for fragment in fragments:
        assert fragment in message, f"error message should mention {fragment!r}, got {message!r}"


# --------------------------------------------------------------------------------------------
# FaceForensics++
# --------------------------------------------------------------------------------------------

FF_PAIRS = [("000", "003"), ("001", "002"), ("004", "005")]


def make_faceforensics(root: Path, methods=("Deepfakes", "FaceSwap"), compression="c23") -> Path:
    """FF++ tree: 6 YouTube originals, both directions of 3 pairs per method, masks, a c40 copy."""
    for identity in sorted({i for pair in FF_PAIRS for i in pair}):
        touch(root / "original_sequences" / "youtube" / compression / "videos" / f"{identity}.mp4")
        touch(root / "original_sequences" / "youtube" / "c40" / "videos" / f"{identity}.mp4")
    for method in methods:
        for target, source in FF_PAIRS:
            for name in (f"{target}_{source}.mp4", f"{source}_{target}.mp4"):
                touch(root / "manipulated_sequences" / method / compression / "videos" / name)
                touch(root / "manipulated_sequences" / method / "masks" / "videos" / name)
    return root


def make_ff_splits(folder: Path) -> Path:
    """Official split files: lists of [target, source] pairs, one pair per split here."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, pair in zip(("train", "val", "test"), FF_PAIRS):
        (folder / f"{split}.json").write_text(json.dumps([list(pair)]))
    return folder


def test_faceforensics_counts_labels_and_methods(tmp_path):
    records = load_faceforensics(make_faceforensics(tmp_path))
    assert len(records) == 6 + 2 * 6, f"expected 6 originals + 12 fakes (masks/ and c40/ ignored), got {len(records)}"
    assert [r.path for r in records] == sorted(r.path for r in records), "records must be sorted by path"
    for record in records:
        expected_label = 0 if "original_sequences" in record.path.parts else 1
        assert record.label == expected_label, f"{record.path} should have label {expected_label}"
        assert "masks" not in record.path.parts, f"mask video {record.path} was mistaken for a video"
        assert "c23" in record.path.parts, f"{record.path} is not of the requested compression c23"
        assert record.dataset == "faceforensics" and record.extra["compression"] == "c23"
    methods = sorted({r.method for r in records})
    assert methods == ["Deepfakes", "FaceSwap", "real"], f"methods found: {methods}"
    fake = next(r for r in records if r.path.name == "003_000.mp4" and r.method == "FaceSwap")
    assert (fake.extra["target_id"], fake.extra["source_id"]) == ("003", "000"), "fake name is <target>_<source>"


def test_faceforensics_groups_join_both_identities_of_a_pair(tmp_path):
    records = load_faceforensics(make_faceforensics(tmp_path))
    real_group = {r.path.stem: r.group for r in records if r.label == 0}
    for record in (r for r in records if r.label == 1):
        target, source = record.path.stem.split("_")
        assert record.group == real_group[target] == real_group[source], (
            f"fake {record.path.name} must share its group with originals {target} and {source}")
    assert len({r.group for r in records}) == len(FF_PAIRS), "one group per identity pair expected"


def test_faceforensics_official_splits_assign_pairs_and_their_identities(tmp_path):
    root = make_faceforensics(tmp_path / "ff")
    records = load_faceforensics(root, splits_dir=make_ff_splits(tmp_path / "splits"))
    expected = {"000": "train", "003": "train", "001": "val", "002": "val", "004": "test", "005": "test"}
    for record in records:
        identity = record.path.stem.split("_")[0]
        assert record.split == expected[identity], f"{record.path.name} should be in {expected[identity]}"


def test_faceforensics_methods_filter_and_compression(tmp_path):
    root = make_faceforensics(tmp_path)
    records = load_faceforensics(root, methods=["FaceSwap"])
    assert sorted({r.method for r in records}) == ["FaceSwap", "real"], "only FaceSwap fakes were asked for"
    c40 = load_faceforensics(make_faceforensics(tmp_path, compression="c40"), compression="c40")
    assert all("c40" in r.path.parts for r in c40), "compression c40 must read the c40 folders"


def test_faceforensics_actors_and_deepfakedetection_names(tmp_path):
    root = make_faceforensics(tmp_path)
    touch(root / "original_sequences/actors/c23/videos/01__exit_phone_room.mp4")
    touch(root / "original_sequences/actors/c23/videos/02__walking_down_street_outside_angry.mp4")
    touch(root / "original_sequences/actors/c23/videos/03__podium_speech_happy.mp4")
    touch(root / "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__exit_phone_room__YVGY8LOK.mp4")
    without = load_faceforensics(root)
    assert not any("actors" in r.path.parts or r.method == "DeepFakeDetection" for r in without), (
        "actors and DeepFakeDetection must be left out unless include_actors=True")
    records = by_name(load_faceforensics(root, include_actors=True))
    fake = records["videos/01_02__exit_phone_room__YVGY8LOK.mp4"]
    assert (fake.label, fake.method) == (1, "DeepFakeDetection")
    assert (fake.extra["target_id"], fake.extra["source_id"], fake.extra["scene"], fake.extra["code"]) == (
        "01", "02", "exit_phone_room", "YVGY8LOK"), f"DFD name parsed wrongly: {fake.extra}"
    actor_1 = records["videos/01__exit_phone_room.mp4"]
    actor_2 = records["videos/02__walking_down_street_outside_angry.mp4"]
    actor_3 = records["videos/03__podium_speech_happy.mp4"]
    assert actor_1.group == actor_2.group == fake.group, "DFD fake 01_02 must join actors 01 and 02"
    assert actor_3.group != fake.group, "actor 03 has no fake with 01/02 and must be its own group"


def test_faceforensics_layout_errors_say_what_was_expected(tmp_path):
    with pytest.raises(DatasetLayoutError) as error:
        load_faceforensics(tmp_path)
    assert_one_line_error(error, str(tmp_path), "original_sequences/youtube/c23/videos/*.mp4")

    root = make_faceforensics(tmp_path / "ff")
    with pytest.raises(DatasetLayoutError) as error:
        load_faceforensics(root, methods=["NeuralTextures"])
    assert_one_line_error(error, "manipulated_sequences/NeuralTextures/c23/videos")

    touch(root / "manipulated_sequences/Deepfakes/c23/videos/000-003.mp4")
    with pytest.raises(DatasetLayoutError) as error:
        load_faceforensics(root)
    assert_one_line_error(error, "000-003.mp4", "<target>_<source>.mp4")


def test_faceforensics_missing_split_file_is_named(tmp_path):
    root = make_faceforensics(tmp_path / "ff")
    splits = make_ff_splits(tmp_path / "splits")
    (splits / "test.json").unlink()
    with pytest.raises(DatasetLayoutError) as error:
        load_faceforensics(root, splits_dir=splits)
    assert_one_line_error(error, "test.json", "[target, source]")


# --------------------------------------------------------------------------------------------
# Celeb-DF v2
# --------------------------------------------------------------------------------------------

def make_celebdf(root: Path, test_lines: list[str] | None = None) -> Path:
    for name in ("id0_0000", "id0_0001", "id1_0000"):
        touch(root / "Celeb-real" / f"{name}.mp4")
    for name in ("00000", "00001"):
        touch(root / "YouTube-real" / f"{name}.mp4")
    for name in ("id0_id1_0000", "id0_id1_0001", "id1_id0_0000"):
        touch(root / "Celeb-synthesis" / f"{name}.mp4")
    if test_lines is None:  # the file's own convention: 1 = real, 0 = fake
        test_lines = ["1 Celeb-real/id0_0001.mp4", "0 Celeb-synthesis/id1_id0_0000.mp4", "1 YouTube-real/00001.mp4"]
    (root / "List_of_testing_videos.txt").write_text("\n".join(test_lines) + "\n")
    return root


def test_celebdf_labels_follow_folders_and_invert_the_test_list(tmp_path):
    records = by_name(load_celebdf(make_celebdf(tmp_path)))
    assert len(records) == 8, f"expected 3 Celeb-real + 2 YouTube-real + 3 Celeb-synthesis, got {len(records)}"
    expected_labels = {"Celeb-real": 0, "YouTube-real": 0, "Celeb-synthesis": 1}
    for name, record in records.items():
        assert record.label == expected_labels[name.split("/")[0]], f"{name}: wrong label {record.label}"
    # the listed real video has '1' in the file and must come out as REAL (0) in our convention
    assert records["Celeb-real/id0_0001.mp4"].label == 0, "'1' in List_of_testing_videos.txt means REAL"
    assert records["Celeb-synthesis/id1_id0_0000.mp4"].label == 1, "'0' in List_of_testing_videos.txt means FAKE"


def test_celebdf_listed_videos_are_test_and_the_rest_train(tmp_path):
    records = by_name(load_celebdf(make_celebdf(tmp_path)))
    test = sorted(name for name, r in records.items() if r.split == "test")
    assert test == ["Celeb-real/id0_0001.mp4", "Celeb-synthesis/id1_id0_0000.mp4", "YouTube-real/00001.mp4"]
    assert all(r.split == "train" for name, r in records.items() if name not in test), "unlisted videos are train"


def test_celebdf_groups_by_target_identity(tmp_path):
    records = by_name(load_celebdf(make_celebdf(tmp_path)))
    assert records["Celeb-synthesis/id0_id1_0000.mp4"].group == records["Celeb-real/id0_0000.mp4"].group, (
        "fake id0_id1_0000 (target id0) must share the group of id0's real videos")
    assert records["Celeb-synthesis/id1_id0_0000.mp4"].group == records["Celeb-real/id1_0000.mp4"].group
    assert records["Celeb-real/id0_0000.mp4"].group != records["Celeb-real/id1_0000.mp4"].group
    assert records["YouTube-real/00000.mp4"].group != records["YouTube-real/00001.mp4"].group
    assert records["Celeb-synthesis/id0_id1_0001.mp4"].extra["source_id"] == "id1"


def test_celebdf_list_written_in_our_convention_is_caught(tmp_path):
    root = make_celebdf(tmp_path, ["0 Celeb-real/id0_0001.mp4"])  # someone wrote 0 for real
    with pytest.raises(DatasetLayoutError) as error:
        load_celebdf(root)
    assert_one_line_error(error, "Celeb-real/id0_0001.mp4", "1 means REAL")


def test_celebdf_layout_errors(tmp_path):
    root = make_celebdf(tmp_path / "a")
    (root / "List_of_testing_videos.txt").unlink()
    with pytest.raises(DatasetLayoutError) as error:
        load_celebdf(root)
    assert_one_line_error(error, "List_of_testing_videos.txt")
    with pytest.raises(DatasetLayoutError) as error:
        load_celebdf(tmp_path / "empty_but_missing")
    assert_one_line_error(error, "Celeb-real/", "Celeb-synthesis/")
    root = make_celebdf(tmp_path / "b", ["0 Celeb-synthesis/id9_id8_0000.mp4"])
    with pytest.raises(DatasetLayoutError) as error:
        load_celebdf(root)
    assert_one_line_error(error, "missing", "id9_id8_0000.mp4")


# --------------------------------------------------------------------------------------------
# DFDC
# --------------------------------------------------------------------------------------------

def make_dfdc_part(folder: Path, entries: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(json.dumps(entries))
    for name in entries:
        touch(folder / name)
    return folder


DFDC_PART_0 = {
    "aagfhgtpmv.mp4": {"label": "FAKE", "split": "train", "original": "vudstovrck.mp4"},
    "vudstovrck.mp4": {"label": "REAL", "split": "train", "original": None},
    "aapnvogymq.mp4": {"label": "FAKE", "split": "train", "original": "vudstovrck.mp4"},
}
DFDC_PART_1 = {
    "bbhtdfuqxq.mp4": {"label": "FAKE", "split": "train", "original": "xnojggkrxt.mp4"},
    "xnojggkrxt.mp4": {"label": "REAL", "split": "train", "original": None},
}


def test_dfdc_reads_flat_and_nested_parts_and_groups_fakes_with_originals(tmp_path):
    make_dfdc_part(tmp_path / "dfdc_train_part_0", DFDC_PART_0)
    make_dfdc_part(tmp_path / "dfdc_train_part_1" / "dfdc_train_part_1", DFDC_PART_1)  # nested one deeper
    touch(tmp_path / "dfdc_train_part_0" / "notes.txt")
    records = {r.path.name: r for r in load_dfdc(tmp_path)}
    assert sorted(records) == sorted([*DFDC_PART_0, *DFDC_PART_1]), f"videos found: {sorted(records)}"
    for name, entry in {**DFDC_PART_0, **DFDC_PART_1}.items():
        assert records[name].label == (1 if entry["label"] == "FAKE" else 0), f"{name}: wrong label"
        original = entry["original"] or name
        assert records[name].group == records[original].group, f"{name} must share the group of {original}"
        assert records[name].extra["dfdc_split"] == "train"
        assert records[name].split is None, "DFDC training videos are left for group_split to distribute"
    assert records["aagfhgtpmv.mp4"].group != records["bbhtdfuqxq.mp4"].group
    assert records["bbhtdfuqxq.mp4"].extra["part"] == "dfdc_train_part_1"


def test_dfdc_test_set_with_labels_csv(tmp_path):
    folder = tmp_path / "test_videos"
    for name in ("aassnaulhq.mp4", "aayfryxljh.mp4", "acazlolrpz.mp4"):
        touch(folder / name)
    (folder / "labels.csv").write_text("filename,label\naassnaulhq.mp4,0\naayfryxljh.mp4,1\nacazlolrpz.mp4,1\n")
    records = {r.path.name: r for r in load_dfdc(tmp_path)}
    assert {name: r.label for name, r in records.items()} == {
        "aassnaulhq.mp4": 0, "aayfryxljh.mp4": 1, "acazlolrpz.mp4": 1}, "labels.csv 0/1 means REAL/FAKE"
    assert all(r.split == "test" for r in records.values()), "the test set is split 'test'"


def test_dfdc_layout_errors(tmp_path):
    with pytest.raises(DatasetLayoutError) as error:
        load_dfdc(tmp_path)
    assert_one_line_error(error, str(tmp_path), "dfdc_train_part_N/metadata.json")
    part = make_dfdc_part(tmp_path / "dfdc_train_part_3", DFDC_PART_1)
    (part / "xnojggkrxt.mp4").unlink()
    with pytest.raises(DatasetLayoutError) as error:
        load_dfdc(tmp_path)
    assert_one_line_error(error, "xnojggkrxt.mp4", "missing")


# --------------------------------------------------------------------------------------------
# Kaggle CSV
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file_column, label_column", [
    ("filename", "label"), ("VideoName", "Label"), ("video", "class"), ("FILE", "CLASS"), ("name", "label")])
def test_kaggle_csv_detects_columns_case_insensitively(tmp_path, file_column, label_column):
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        touch(tmp_path / "videos" / name)
    (tmp_path / "meta.csv").write_text(
        f"{file_column},width,{label_column}\na.mp4,640,REAL\nb.mp4,640,FAKE\nc.mp4,480,fake\n")
    records = {r.path.name: r for r in load_kaggle_csv(tmp_path / "meta.csv", tmp_path / "videos")}
    assert {name: r.label for name, r in records.items()} == {"a.mp4": 0, "b.mp4": 1, "c.mp4": 1}


def test_kaggle_deepfake_faces_metadata_groups_fakes_and_finds_face_images(tmp_path):
    # the 'deepfake-faces' layout of seed 001: metadata.csv lists .mp4 names, faces_224/ holds .jpg crops
    rows = [("aagfhgtpmv.mp4", "FAKE", "vudstovrck.mp4"), ("vudstovrck.mp4", "REAL", ""),
            ("bbhtdfuqxq.mp4", "FAKE", "xnojggkrxt.mp4"), ("xnojggkrxt.mp4", "REAL", "")]
    with open(tmp_path / "metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["videoname", "original_width", "original_height", "label", "original"])
        for name, label, original in rows:
            writer.writerow([name, 129, 129, label, original])
            touch(tmp_path / "faces_224" / name.replace(".mp4", ".jpg"))
    records = {r.extra["listed_name"]: r for r in load_kaggle_csv(tmp_path / "metadata.csv")}
    assert records["aagfhgtpmv.mp4"].path == tmp_path / "faces_224" / "aagfhgtpmv.jpg"
    assert records["aagfhgtpmv.mp4"].group == records["vudstovrck.mp4"].group, "fake groups with its original"
    assert records["aagfhgtpmv.mp4"].group != records["bbhtdfuqxq.mp4"].group
    assert [records[name].label for name, _, _ in rows] == [1, 0, 1, 0]


def test_kaggle_csv_errors_name_the_expected_columns_and_bad_rows(tmp_path):
    touch(tmp_path / "a.mp4")
    (tmp_path / "bad.csv").write_text("clip,verdict\na.mp4,REAL\n")
    with pytest.raises(DatasetLayoutError) as error:
        load_kaggle_csv(tmp_path / "bad.csv")
    assert_one_line_error(error, "no file column", "filename", "videoname", "clip, verdict")
    (tmp_path / "label.csv").write_text("filename,label\na.mp4,maybe\n")
    with pytest.raises(DatasetLayoutError) as error:
        load_kaggle_csv(tmp_path / "label.csv")
    assert_one_line_error(error, "line 2", "maybe", "REAL/FAKE")
    (tmp_path / "missing.csv").write_text("filename,label\nzzz.mp4,FAKE\n")
    with pytest.raises(DatasetLayoutError) as error:
        load_kaggle_csv(tmp_path / "missing.csv")
    assert_one_line_error(error, "zzz.mp4", "not in")


# --------------------------------------------------------------------------------------------
# real/ + fake/ folder, mini-forensics, load_dataset
# --------------------------------------------------------------------------------------------

def test_folder_loader_reads_classes_methods_and_video_extensions(tmp_path):
    touch(tmp_path / "real" / "a.mp4")
    touch(tmp_path / "real" / "day2" / "b.MOV")
    touch(tmp_path / "fake" / "c.avi")
    touch(tmp_path / "fake" / "Deepfakes" / "d.mkv")
    touch(tmp_path / "fake" / "Deepfakes" / "x" / "e.webm")
    touch(tmp_path / "fake" / "notes.txt")
    records = {r.path.name: r for r in load_folder(tmp_path)}
    assert {n: (r.label, r.method) for n, r in records.items()} == {
        "a.mp4": (0, "real"), "b.MOV": (0, "real"), "c.avi": (1, "fake"),
        "d.mkv": (1, "Deepfakes"), "e.webm": (1, "Deepfakes")}, "wrong classes/methods or a non-video read"
    assert len({r.group for r in records.values()}) == 5 and all(r.split is None for r in records.values())


def test_folder_loader_split_subfolders_and_error(tmp_path):
    touch(tmp_path / "ds" / "train" / "real" / "a.mp4")
    touch(tmp_path / "ds" / "test" / "fake" / "b.mp4")
    records = {r.path.name: r.split for r in load_folder(tmp_path / "ds")}
    assert records == {"a.mp4": "train", "b.mp4": "test"}
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError) as error:
        load_folder(tmp_path / "empty")
    assert_one_line_error(error, "real/", "fake/")


def make_synthetic(root: Path) -> Path:
    clips = []
    for number, (label, method, identity, split) in enumerate(
            [(0, "real", "p0", "train"), (1, "faceswap", "p0", "train"), (0, "real", "p1", "test")]):
        clip_id = f"clip{number:03d}"
        touch(root / "videos" / split / f"{clip_id}.mp4")
        touch(root / "truth" / f"{clip_id}.npz")
        clips.append({"file": f"videos/{split}/{clip_id}.mp4", "clip_id": clip_id, "label": label, "method": method,
                      "identity": identity, "group": identity, "split": split, "n_frames": 90, "size": 128,
                      "heart_rate_bpm": 72.0 if label == 0 else None, "blink_times_s": [0.5, 2.25],
                      "truth": f"truth/{clip_id}.npz"})
    manifest = {"name": "mini-forensics", "version": 1, "seed": 7, "fps": 30.0, "clips": clips}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_synthetic_manifest_is_read_with_its_extras(tmp_path):
    records = {r.extra["clip_id"]: r for r in load_synthetic(make_synthetic(tmp_path))}
    assert {c: (r.label, r.method, r.group, r.split) for c, r in records.items()} == {
        "clip000": (0, "real", "p0", "train"), "clip001": (1, "faceswap", "p0", "train"),
        "clip002": (0, "real", "p1", "test")}
    clip = records["clip000"]
    assert clip.path == tmp_path / "videos/train/clip000.mp4" and clip.extra["truth"] == tmp_path / "truth/clip000.npz"
    assert (clip.extra["identity"], clip.extra["heart_rate_bpm"], clip.extra["blink_times_s"]) == ("p0", 72.0, [0.5, 2.25])
    assert records["clip001"].extra["heart_rate_bpm"] is None


def test_synthetic_layout_errors(tmp_path):
    with pytest.raises(DatasetLayoutError) as error:
        load_synthetic(tmp_path)
    assert_one_line_error(error, "manifest.json")
    root = make_synthetic(tmp_path / "s")
    (root / "videos/test/clip002.mp4").unlink()
    with pytest.raises(DatasetLayoutError) as error:
        load_synthetic(root)
    assert_one_line_error(error, "clip002", "missing")


def test_load_dataset_dispatches_by_name(tmp_path):
    assert set(DATASET_NAMES) == {"faceforensics", "celebdf", "dfdc", "kaggle", "folder", "synthetic"}
    root = make_faceforensics(tmp_path)
    assert load_dataset("faceforensics", root, methods=["Deepfakes"]) == load_faceforensics(root, methods=["Deepfakes"])
    with pytest.raises(DatasetLayoutError) as error:
        load_dataset("ffhq", root)
    assert_one_line_error(error, "ffhq", "faceforensics")


# --------------------------------------------------------------------------------------------
# group_split, check_no_group_leak, summarize
# --------------------------------------------------------------------------------------------

def random_records(n_groups: int = 200, seed: int = 1, assigned: int = 0) -> list[VideoRecord]:
    """Groups of 1-3 videos with mixed labels; the first ``assigned`` groups already have a split."""
    rng = random.Random(seed)
    records = []
    for g in range(n_groups):
        split = ("train", "val", "test")[g % 3] if g < assigned else None
        for v in range(rng.randint(1, 3)):
            label = int(rng.random() < 0.4)
            records.append(VideoRecord(Path(f"/d/g{g:03d}_{v}.mp4"), label, "real" if label == 0 else "X",
                                       f"g{g:03d}", split, "test"))
    return records


def groups_of(records) -> set[str]:
    return {r.group for r in records}


def test_group_split_never_puts_a_group_on_two_sides(tmp_path):
    records = random_records(assigned=30)
    splits = group_split(records, seed=3)
    for a, b in itertools.combinations(splits, 2):  # brute force over every pair of splits
        shared = groups_of(splits[a]) & groups_of(splits[b])
        assert not shared, f"groups {sorted(shared)[:3]} are in both {a} and {b}"
    placed = sorted(str(r.path) for part in splits.values() for r in part)
    assert placed == sorted(str(r.path) for r in records), "every record must land in exactly one split"
    for name, part in splits.items():
        assert all(r.split == name for r in part), f"records in {name} must have split='{name}'"


def test_group_split_respects_splits_the_dataset_assigned():
    records = random_records(assigned=30)
    splits = group_split(records, seed=0)
    landed = {r.path: name for name, part in splits.items() for r in part}
    for record in records:
        if record.split is not None:
            assert landed[record.path] == record.split, f"{record.path} was moved out of its given split"


def test_group_split_shares_and_stratification():
    records = random_records()
    splits = group_split(records, fractions=(0.7, 0.15, 0.15), seed=0)
    overall_fake = np.mean([r.label for r in records])
    for name, share in zip(("train", "val", "test"), (0.7, 0.15, 0.15)):
        got = len(splits[name]) / len(records)
        assert abs(got - share) <= GROUP_SPLIT_SHARE_ATOL, f"{name} holds {got:.3f} of the records, wanted {share}"
        fake = np.mean([r.label for r in splits[name]])
        assert abs(fake - overall_fake) <= GROUP_SPLIT_STRATIFICATION_ATOL, (
            f"{name} is {fake:.2f} fake vs {overall_fake:.2f} overall: labels not stratified")


def test_group_split_is_deterministic_by_seed():
    records = random_records()
    first = group_split(records, seed=5)
    again = group_split(list(reversed(records)), seed=5)
    other = group_split(records, seed=6)
    assert first == again, "the same seed must give the same split whatever the input order"
    assert first != other, "a different seed should give a different split"


def test_group_split_on_faceforensics_keeps_official_splits(tmp_path):
    records = load_faceforensics(make_faceforensics(tmp_path / "ff"), splits_dir=make_ff_splits(tmp_path / "s"))
    splits = group_split(records, seed=0)
    assert {name: sorted({r.path.stem.split("_")[0] for r in part}) for name, part in splits.items()} == {
        "train": ["000", "003"], "val": ["001", "002"], "test": ["004", "005"]}


def test_group_split_rejects_bad_fractions_and_conflicting_groups():
    with pytest.raises(ValueError, match="sum"):
        group_split(random_records(10), fractions=(0.5, 0.2, 0.2))
    conflict = [VideoRecord(Path("/a.mp4"), 0, "real", "g", "train", "x"),
                VideoRecord(Path("/b.mp4"), 1, "X", "g", "test", "x")]
    with pytest.raises(ValueError, match="'g'"):
        group_split(conflict)


def test_check_no_group_leak_names_the_leaking_group():
    a = VideoRecord(Path("/a.mp4"), 0, "real", "id7", None, "x")
    b = VideoRecord(Path("/b.mp4"), 1, "X", "id7", None, "x")
    c = VideoRecord(Path("/c.mp4"), 1, "X", "id8", None, "x")
    check_no_group_leak({"train": [a, b], "test": [c]})
    with pytest.raises(ValueError, match="id7"):
        check_no_group_leak({"train": [a, c], "test": [b]})


def test_summarize_counts_by_hand():
    records = [VideoRecord(Path("/a.mp4"), 0, "real", "g1", "train", "ff"),
               VideoRecord(Path("/b.mp4"), 1, "Deepfakes", "g1", "train", "ff"),
               VideoRecord(Path("/c.mp4"), 1, "FaceSwap", "g2", None, "ff")]
    assert summarize(records) == {
        "total": 3, "groups": 2, "by_label": {"real": 1, "fake": 2},
        "by_method": {"Deepfakes": 1, "FaceSwap": 1, "real": 1},
        "by_split": {"train": {"total": 2, "real": 1, "fake": 1}, "unassigned": {"total": 1, "real": 0, "fake": 1}},
        "by_dataset": {"ff": 3}}
    json.dumps(summarize(records))  # must be JSON-serialisable for tools


# --------------------------------------------------------------------------------------------
# torch_data: caches, datasets, collate, sampler
# --------------------------------------------------------------------------------------------

def test_collate_pads_with_zeros_and_masks_real_steps():
    batch = [{"features": torch.tensor([[1.0, 10.0], [2.0, 20.0]]), "label": torch.tensor(0.0), "video_id": "a"},
             {"features": torch.tensor([[3.0, 30.0], [4.0, 40.0], [5.0, 50.0]]), "label": torch.tensor(1.0),
              "video_id": "b"}]
    out = collate_sequences(batch)
    expected = torch.tensor([[[1.0, 10.0], [2.0, 20.0], [0.0, 0.0]], [[3.0, 30.0], [4.0, 40.0], [5.0, 50.0]]])
    assert torch.equal(out["features"], expected), f"padding wrong: {out['features']}"
    assert out["lengths"].tolist() == [2, 3] and out["lengths"].dtype == torch.int64
    assert out["mask"].tolist() == [[True, True, False], [True, True, True]] and out["mask"].dtype == torch.bool
    assert out["labels"].tolist() == [0.0, 1.0] and out["labels"].dtype == torch.float32
    assert out["video_ids"] == ["a", "b"]


def test_feature_cache_round_trip_and_sequence_dataset(tmp_path):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(t, 4)).astype(np.float32) for t in (3, 5)]
    for number, features in enumerate(arrays):
        write_feature_cache(tmp_path / f"v{number}.npz", features, np.arange(len(features)) * 2, number % 2, group="g")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v0.npz", "v1.npz"], "temporary files were left behind"
    cache = read_feature_cache(tmp_path / "v1.npz")
    assert np.array_equal(cache.features, arrays[1]) and cache.frame_indices.tolist() == [0, 2, 4, 6, 8]
    assert cache.label == 1 and cache.meta == {"group": "g"}
    from_dir, from_list = FeatureSequenceDataset(tmp_path), FeatureSequenceDataset([(a, i % 2) for i, a in enumerate(arrays)])
    for data in (from_dir, from_list):
        batch = collate_sequences([data[0], data[1]])
        assert batch["features"].shape == (2, 5, 4) and batch["lengths"].tolist() == [3, 5]
        assert torch.equal(batch["features"][0, :3], torch.from_numpy(arrays[0]))
        assert batch["labels"].tolist() == [0.0, 1.0]


def test_face_cache_round_trip_and_crop_dataset(tmp_path):
    rng = np.random.default_rng(1)
    records = [VideoRecord(tmp_path / f"{name}.mp4", label, "real" if label == 0 else "Deepfakes", f"grp-{name}", None, "x")
               for name, label in (("a", 0), ("b", 1))]
    faces = {r.path.stem: rng.integers(0, 256, size=(n, 8, 8, 3), dtype=np.uint8) for r, n in zip(records, (2, 3))}
    for record in records:
        write_face_cache(tmp_path / "cache" / f"{record_id(record)}.npz", faces[record.path.stem],
                         [0, 5, 10][: len(faces[record.path.stem])], record.label, group=record.group)
    cache = read_face_cache(tmp_path / "cache" / f"{record_id(records[1])}.npz")
    assert np.array_equal(cache.faces, faces["b"]) and cache.frame_indices.tolist() == [0, 5, 10] and cache.label == 1
    data = FaceCropDataset(tmp_path / "cache", records)
    assert len(data) == 5, "one item per cached face"
    assert data.groups == ["grp-a"] * 2 + ["grp-b"] * 3 and data.labels == [0, 0, 1, 1, 1]
    image, label, video_id = data[3]
    expected = faces["b"][1].transpose(2, 0, 1).astype(np.float32) / 255.0  # HWC uint8 -> CHW [0, 1]
    assert image.dtype == torch.float32 and np.allclose(image.numpy(), expected), "face tensor is not face/255 in CHW"
    assert label.item() == 1.0 and video_id == record_id(records[1])
    flipped = FaceCropDataset(tmp_path / "cache", transform=lambda x: x.flip(-1))  # every .npz of the folder
    same_face = flipped.video_ids.index(video_id) + 1  # second face of video b
    assert torch.equal(flipped[same_face][0], image.flip(-1)), "transform must be applied to each image"
    assert flipped.groups[same_face] == "grp-b", "without records the group comes from the cache metadata"


def test_face_crop_dataset_reports_missing_caches(tmp_path):
    (tmp_path / "cache").mkdir()
    record = VideoRecord(tmp_path / "a.mp4", 0, "real", "g", None, "x")
    with pytest.raises(DatasetLayoutError) as error:
        FaceCropDataset(tmp_path / "cache", [record])
    assert_one_line_error(error, record_id(record), "skip_missing")
    assert len(FaceCropDataset(tmp_path / "cache", [record], skip_missing=True)) == 0


def test_balanced_sampler_draws_classes_equally_and_by_seed():
    labels = [0] * 90 + [1] * 10
    draws = list(balanced_sampler(labels, num_samples=20000, seed=0))
    fake_share = np.mean([labels[i] for i in draws])
    assert abs(fake_share - 0.5) <= BALANCED_SAMPLER_SHARE_ATOL, f"FAKE drawn {fake_share:.3f} of the time, not 0.5"
    assert list(balanced_sampler(labels, seed=3)) == list(balanced_sampler(labels, seed=3)), "same seed, same draws"


def test_video_frames_dataset_decodes_evenly_spaced_frames(tmp_path):
    levels = np.arange(20) * 12  # frame k is flat grey 12k
    frames = [np.full((32, 48, 3), level, dtype=np.uint8) for level in levels]
    path = write_video(tmp_path / "clip.mp4", frames, fps=10, crf=0)
    data = VideoFramesDataset([VideoRecord(path, 1, "X", "g", None, "x")], n_frames=5)
    item = data[0]
    assert item["frames"].shape == (5, 3, 32, 48) and item["frames"].dtype == torch.float32
    assert item["label"].item() == 1.0 and item["path"] == str(path)
    indices = item["index"].tolist()
    assert len(indices) == 5 and indices == sorted(indices) and indices[0] == 0 and indices[-1] >= 15
    means = item["frames"].mean(dim=(1, 2, 3)).numpy()
    assert np.allclose(means, levels[indices] / 255.0, atol=DECODED_GREY_LEVEL_ATOL), (
        f"frame values {means} do not match the grey levels written at indices {indices}")
