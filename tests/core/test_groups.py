"""Splits that do not leak: groups never straddle splits, duplicates are found and kept together."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from foveal.core.data.scan import scan_dataset
from foveal.core.errors import ConfigError, DatasetError
from foveal.core.split.duplicates import duplicates_across_splits, merge_duplicates, near_duplicate_groups
from foveal.core.split.groups import GroupRule, find_groups
from foveal.core.split.make import SPLITS, group_kfold, leaking_groups, make_group_split
from tests import factory
from tests.factory import real_weights


class _Rec:
    """The fields of ImageRecord a split reads."""

    def __init__(self, rel: str, label: str) -> None:
        self.rel, self.label, self.path = rel, label, rel


@st.composite
def layouts(draw):
    n_classes = draw(st.integers(2, 3))
    n_groups = draw(st.integers(12, 40))
    records, groups = [], {}
    for g in range(n_groups):
        label = f"c{draw(st.integers(0, n_classes - 1))}"
        for i in range(draw(st.integers(1, 5))):
            other = draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans())  # a few mixed groups
            rec = _Rec(f"g{g}_{i}.png", f"c{(int(label[1:]) + 1) % n_classes}" if other else label)
            records.append(rec)
            groups[rec.rel] = f"name:g{g}"
    return records, tuple(f"c{k}" for k in range(n_classes)), groups


@settings(max_examples=60, deadline=None)
@given(layouts(), st.integers(0, 10_000))
def test_no_group_is_ever_in_two_splits(layout, seed):
    records, classes, groups = layout
    split = make_group_split(records, classes, 0.15, 0.15, seed, groups)
    assert leaking_groups(split, groups) == []
    assert sorted(r.rel for s in SPLITS for r in split.of(s)) == sorted(r.rel for r in records)
    assert split.train and split.val and split.test
    again = make_group_split(list(reversed(records)), classes, 0.15, 0.15, seed, groups)
    assert [[r.rel for r in again.of(s)] for s in SPLITS] == [[r.rel for r in split.of(s)] for s in SPLITS]


@settings(max_examples=25, deadline=None)
@given(layouts(), st.integers(3, 6))
def test_group_kfold_tests_every_group_once(layout, k):
    records, classes, groups = layout
    folds = group_kfold(records, classes, k, 7, groups, 0.15)
    tested = [r.rel for f in folds for r in f.test]
    assert sorted(tested) == sorted(r.rel for r in records)
    for f in folds:
        assert leaking_groups(f, groups) == []


def test_more_folds_than_images_in_any_class_still_keeps_groups_whole():
    # found by the property test above: 12 one-image groups, 5 and 7 per class, so the validation folds of the
    # remaining images outnumber each class (scikit-learn's stratified folds refuse that)
    labels = [0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    records = [_Rec(f"g{g}_0.png", f"c{c}") for g, c in enumerate(labels)]
    groups = {r.rel: f"name:{r.rel.split('_')[0]}" for r in records}
    split = make_group_split(records, ("c0", "c1"), 0.15, 0.15, 0, groups)
    assert leaking_groups(split, groups) == []
    assert sorted(r.rel for s in SPLITS for r in split.of(s)) == sorted(r.rel for r in records)
    assert split.train and split.val and split.test


def test_too_few_groups_is_explained():
    records = [_Rec(f"p{i % 3}_{i}.png", f"c{i % 2}") for i in range(12)]
    groups = {r.rel: r.rel.split("_")[0] for r in records}
    with pytest.raises(DatasetError, match="Only 3 group"):
        make_group_split(records, ("c0", "c1"), 0.15, 0.15, 0, groups)


def test_filename_and_dicom_groups(tmp_path):
    data = tmp_path / "data"
    for cls in ("a", "b"):
        (data / cls).mkdir(parents=True)
    for name in ("P001_left.png", "P001_right.png", "P002_x.png", "nounderscore.png"):
        Image.fromarray(factory.gradient()).save(data / "a" / name)
    import pydicom

    for k, patient in enumerate(("ANON-7", "ANON-7", "ANON-8")):
        path = factory.write_dicom(data / "b" / f"scan{k}.dcm", (np.arange(64 * 64).reshape(64, 64) % 4000))
        ds = pydicom.dcmread(path)
        ds.PatientID = patient
        ds.save_as(path)
    summary = scan_dataset(data)
    by_name = find_groups(summary.images, GroupRule("filename"))
    assert by_name["a/P001_left.png"] == by_name["a/P001_right.png"] != by_name["a/P002_x.png"]
    assert by_name["a/nounderscore.png"] == "file:a/nounderscore.png"  # no rule match: a group of its own
    by_regex = find_groups(summary.images, GroupRule("filename", r"^P(\d+)"))
    assert by_regex["a/P001_left.png"] == "name:001"
    by_dicom = find_groups(summary.images, GroupRule("dicom"))
    assert by_dicom["b/scan0.dcm"] == by_dicom["b/scan1.dcm"] == "dicom:PatientID=ANON-7"
    assert by_dicom["b/scan2.dcm"] != by_dicom["b/scan0.dcm"]
    with pytest.raises(ConfigError, match="regular expression"):
        GroupRule("filename", "([unclosed").validate()


def test_duplicates_are_found_after_resize_and_jpeg_reencode(tmp_path):
    rng = np.random.default_rng(3)
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "b").mkdir(parents=True)
    for i in range(16):  # distinct smooth pictures: blurred noise at different seeds
        small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        big = Image.fromarray(small).resize((160, 120), Image.Resampling.BICUBIC)
        big.save(data / "a" / f"img{i:02d}.png")
    with Image.open(data / "a" / "img03.png") as original:
        original.resize((80, 60), Image.Resampling.BILINEAR).save(data / "b" / "copy_small.png")
        original.convert("RGB").save(data / "b" / "copy.jpg", quality=70)
    summary = scan_dataset(data)
    groups = near_duplicate_groups(summary.images)
    assert groups == [("a/img03.png", "b/copy.jpg", "b/copy_small.png")]
    merged = merge_duplicates({r.rel: f"file:{r.rel}" for r in summary.images}, groups)
    assert len({merged[f] for f in groups[0]}) == 1
    assert len(set(merged.values())) == len(summary.images) - 2


def test_training_keeps_groups_and_duplicates_in_one_split(tmp_path):
    from foveal.core.training import TrainConfig, train

    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    for k, cls in enumerate(("red", "blue")):
        (data / cls).mkdir(parents=True)
        for patient in range(8):
            for view in range(3):
                arr = rng.integers(0, 60, (40, 40, 3), dtype=np.uint8)
                arr[..., 2 * k] += 150
                Image.fromarray(arr).save(data / cls / f"P{k}{patient:02d}_{view}.png")
    with Image.open(data / "red" / "P000_0.png") as im:
        im.save(data / "red" / "X999_copy.png")  # a duplicate, other "patient"
    # The fixed head: where each image went is tested here, not the recipe.
    result = train(TrainConfig(str(data), epochs=1, weights=real_weights(), image_size=32, group_by="filename",
                               keep_duplicates_together=True, recipe="manual", out_dir=str(tmp_path / "run")))
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    info = run["split_info"]
    assert info["leaking_groups"] == [] and info["duplicates_across_splits"] == []
    where = {row["file"]: s for s in SPLITS for row in run["split"][s]}
    for cls in ("red", "blue"):
        for patient in {f.split("/")[1].split("_")[0] for f in where if f.startswith(cls)} - {"X999"}:
            assert len({s for f, s in where.items() if f.startswith(f"{cls}/{patient}_")}) == 1
    assert where["red/X999_copy.png"] == where["red/P000_0.png"]
    assert set(info["balance"]["train"]) == {"n", "red", "blue"}
    # A fixed split file gives back exactly that split.
    again = train(TrainConfig(str(data), epochs=1, weights=real_weights(), image_size=32, seed=99, recipe="manual",
                              split_file=str(Path(result.run_dir) / "run.json"), out_dir=str(tmp_path / "run2")))
    run2 = json.loads((Path(again.run_dir) / "run.json").read_text())
    assert run2["split"] == run["split"]


def test_duplicates_across_splits_are_reported():
    from foveal.core.split.make import Split

    a, b, c = _Rec("a/1.png", "a"), _Rec("b/2.png", "b"), _Rec("a/3.png", "a")
    split = Split((a,), (b,), (c,))
    assert duplicates_across_splits(split, [("a/1.png", "a/3.png")]) == [{"a/1.png": "train", "a/3.png": "test"}]


def test_a_fixed_file_name_prefix_is_detected_and_the_pattern_that_splits_it_suggested(tmp_path):
    from foveal.core.split.plan import SplitSpec, prepare_split
    from foveal.core.split.preview import split_preview

    data = tmp_path / "scans"
    for cls in ("normal", "tumour"):
        (data / cls).mkdir(parents=True)
    for patient in range(12, 24):
        cls = "normal" if patient % 2 else "tumour"
        for slice_ in range(3):
            Image.fromarray(factory.gradient(seed=patient * 3 + slice_)).save(
                data / cls / f"Scan_{patient:05d}_{slice_:02d}.png")
    summary = scan_dataset(data)
    spec = SplitSpec(0.15, 0.15, 1, "filename", None, False, None)
    with pytest.raises(DatasetError) as caught:  # one group cannot be split: the message says why and what to do
        prepare_split(summary, spec)
    words = str(caught.value)
    assert "36 of 36 file names begin with 'Scan_'" in words and r"^([^_]+_[^_]+)_" in words
    assert "12 groups (Scan_00012, Scan_00013, Scan_00014, Scan_00015, …)" in words
    fixed = SplitSpec(0.15, 0.15, 1, "filename", r"^([^_]+_[^_]+)_", False, None)
    split, info = prepare_split(summary, fixed)
    assert "grouping_warning" not in info and not info["leaking_groups"]
    preview = split_preview(str(data), fixed)
    assert "12 groups" in preview.table()


def test_image_hashes_are_cached_per_file_outside_the_dataset(tmp_path, monkeypatch):
    import os

    from foveal.core.split import hashes

    data = factory.make_class_folder(tmp_path / "data", {"a": 4, "b": 4}, size=32)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in data.rglob("*"))
    summary = scan_dataset(data)
    calls: list[str] = []
    real = hashes.image_signature
    monkeypatch.setattr(hashes, "image_signature", lambda p: calls.append(p) or real(p))
    first = hashes.image_signatures(summary.images, summary.root)
    assert len(calls) == 8 and all(h is not None for h in first)
    cache = hashes.cache_file(summary.root)
    assert cache.is_file() and not str(cache).startswith(str(data))
    assert hashes.image_signatures(summary.images, summary.root) == first and len(calls) == 8  # all from the cache
    changed = data / "a" / "a_000.png"
    Image.fromarray(factory.gradient(32, 32)).save(changed)
    os.utime(changed, ns=(1, 1))
    again = hashes.image_signatures(scan_dataset(data).images, summary.root)
    assert len(calls) == 9 and calls[-1].endswith("a_000.png") and again != first  # only the changed file
    cache.write_text("{damaged")
    assert hashes.image_signatures(summary.images, summary.root)[1:] == first[1:]  # a damaged cache: hashed again
    assert sorted((p.name, p.stat().st_mtime_ns) for p in data.rglob("*") if p.name != "a_000.png") == \
        [x for x in before if x[0] != "a_000.png"]


def test_copies_are_kept_together_by_default_and_reported_when_they_are_not(tmp_path):
    from foveal.core.split.plan import prepare_split
    from foveal.core.training.config import TrainConfig

    data = factory.make_class_folder(tmp_path / "data", {"a": 12, "b": 12}, size=48, seed=4)
    for i in range(6):  # six training images re-saved as JPEG copies beside them
        with Image.open(data / "a" / f"a_{i:03d}.png") as im:
            im.convert("RGB").save(data / "a" / f"copy_{i}.jpg", quality=80)
    summary = scan_dataset(data)
    default = TrainConfig(str(data))
    assert default.keep_duplicates_together
    split, info = prepare_split(summary, default.split_spec)
    assert info["n_duplicate_sets"] == 6 and info["duplicates_across_splits"] == [] and info["seed"] == default.seed
    where = {r.rel: name for name in ("train", "val", "test") for r in split.of(name)}
    assert all(where[f"a/a_{i:03d}.png"] == where[f"a/copy_{i}.jpg"] for i in range(6))
    _, apart = prepare_split(summary, TrainConfig(str(data), keep_duplicates_together=False, seed=1).split_spec)
    assert apart["n_duplicate_sets"] == 6 and apart["duplicates_across_splits"]  # found and said, though not kept


def test_a_backtracking_pattern_gives_the_right_groups_at_once():
    # Python's engine took 70 s over 12 such names with (a+)+$, doubling with each 'a'; RE2 never backtracks.
    hostile = [_Rec(f"c{i % 2}/{'a' * 30}!{i}", f"c{i % 2}") for i in range(12)]
    plain = [_Rec(f"c0/{'a' * k}", "c0") for k in (3, 5)]
    groups = find_groups([*hostile, *plain], GroupRule("filename", r"(a+)+$"))
    assert all(groups[r.rel] == f"file:{r.rel}" for r in hostile)  # no match: each a group of its own
    assert [groups[r.rel] for r in plain] == ["name:aaa", "name:aaaaa"]  # what Python's engine says too


@pytest.mark.parametrize("pattern, words", [
    (r"^(P\d+)_\1", "backreferences"),
    (r"^(\w+)(?=_left)", "lookahead and lookbehind"),
    (r"(?<=_)(\d+)", "lookahead and lookbehind"),
    ("x" * 1001, "at most 1000 characters long. Received: a pattern of 1001 characters"),
    ("([unclosed", "not a valid regular expression"),
])
def test_group_patterns_that_cannot_be_used_are_explained(pattern, words):
    with pytest.raises(ConfigError, match=words):
        GroupRule("filename", pattern).validate()


def test_file_names_with_undecodable_bytes_are_grouped_by_pattern():
    # os.listdir gives bytes that are not UTF-8 as lone surrogates, which RE2 cannot take as they are.
    records = [_Rec("c/P\udcff1_left.png", "c"), _Rec("c/P\udcff1_right.png", "c"), _Rec("c/P\udcfe1_x.png", "c")]
    groups = find_groups(records, GroupRule("filename", r"^([^_]+)_"))
    assert groups["c/P\udcff1_left.png"] == groups["c/P\udcff1_right.png"] == "name:P\udcff1"
    assert groups["c/P\udcfe1_x.png"] == "name:P\udcfe1"
