"""Comparing backbones: candidates parsed from the command line, a real comparison on real weights that skips
what has no weights, cancels within a batch, saves what it found and never touches the dataset."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from foveal.core.cancel import CancelToken
from foveal.core.compare import (
    CandidateProgress,
    Comparison,
    Row,
    compare_backbones,
    default_candidates,
    parse_candidates,
)
from foveal.core.data.scan import scan_dataset
from foveal.core.errors import ConfigError
from foveal.core.split.make import fold_indices
from foveal.core.split.plan import prepare_split
from foveal.core.training import TrainConfig
from tests import factory
from tests.factory import real_weights
from tests.reliability.hostile import snapshot


def test_candidates_are_parsed_with_their_sizes_and_bad_ones_are_named():
    got = parse_candidates("mobilenetv2, MobileNetV2@320,ResNet50@224,MobileNetV2")
    assert [c.key for c in got] == ["MobileNetV2@224", "MobileNetV2@320", "ResNet50@224"]
    assert got[1].label == "MobileNetV2 at 320 px"
    for text, words in (("NoSuchNet", "Unknown backbone"), ("MobileNetV2@big", "not a whole number"),
                        ("InceptionV3@64", "from 75 to 1024"), (" , ", "No backbones to compare")):
        with pytest.raises(ConfigError, match=words):
            parse_candidates(text)
    defaults = default_candidates()
    assert all(c.spec.speed == "fast" for c in defaults) and "MobileNetV2@320" in [c.key for c in defaults]


def test_folds_keep_groups_whole_and_hold_every_image_out_once(tmp_path):
    data = factory.make_class_folder(tmp_path / "d", {"a": 12, "b": 12}, size=24)
    records = scan_dataset(data).images
    groups = {r.rel: r.rel.split("/")[-1][:5] for r in records}  # a few files share each name prefix
    folds = fold_indices(records, ("a", "b"), 3, seed=1, groups=groups)
    held = sorted(i for _, out in folds for i in out)
    assert held == list(range(len(records)))
    for kept, out in folds:
        assert not {groups[records[i].rel] for i in kept} & {groups[records[i].rel] for i in out}


def _row(name, acc, lo, ms, **kw) -> Row:
    return Row(name, 224, "scored", accuracy=acc, accuracy_interval=(lo, acc + 0.03), balanced_accuracy=acc,
               ms_per_image=ms, **kw)


def test_the_recommendation_prefers_the_fastest_within_the_best_ones_interval():
    rows = (_row("ResNet50", 0.86, 0.82, 80.0), _row("MobileNetV2", 0.84, 0.80, 20.0), _row("VGG16", 0.70, 0.65, 5.0),
            Row("Xception", 299, "skipped", "no weights"))
    c = Comparison("d", "imagenet", 300, 5, 0.55, "benign", rows)
    assert [r.backbone for r in c.ranked] == ["ResNet50", "MobileNetV2", "VGG16", "Xception"]
    assert c.recommended.backbone == "MobileNetV2"
    assert ("as good as the best (ResNet50 at 224 px, 86.0% accuracy) within its interval, 4.0× faster"
            in c.recommendation())
    assert "Careful" not in c.recommendation()
    table = c.table()
    assert "skipped: no weights" in table and "--backbone MobileNetV2 --image-size 224" in table
    near_guessing = Comparison("d", "imagenet", 300, 5, 0.83, "benign", rows)
    assert "Careful: always answering 'benign' would score 83.0%" in near_guessing.recommendation()
    assert Comparison.from_dict(c.to_dict()).table() == table
    none = Comparison("d", "imagenet", 300, 5, 0.5, "a", (Row("Xception", 299, "skipped", "no weights"),))
    assert none.recommended is None and "No backbone could be scored" in none.recommendation()


def test_the_table_keeps_its_columns_apart_and_ranks_as_training_does():
    from foveal.core.training.recipe import Ranking

    long = Row("MobileNetV3Small", 224, "skipped", "its ImageNet weights are not on this computer")
    rows = (replace(_row("MobileNetV2", 0.80, 0.76, 20.0, balanced_interval=(0.55, 0.65), larger_size=336),
                    balanced_accuracy=0.60),
            replace(_row("EfficientNetB0", 0.78, 0.74, 30.0, balanced_interval=(0.66, 0.74)), balanced_accuracy=0.70),
            long)
    by_accuracy = Comparison("d", "imagenet", 300, 5, 0.55, "a", rows)
    assert [r.backbone for r in by_accuracy.ranked][:2] == ["MobileNetV2", "EfficientNetB0"]
    assert "also tries MobileNetV2 at 336 px, since these images are large" in by_accuracy.recommendation()
    table = by_accuracy.table()
    assert "MobileNetV3Small at 224 px  skipped: its ImageNet" in table  # never "… pxskipped:"
    header = next(line for line in table.splitlines() if "backbone" in line and "ms/image" in line)
    assert "backbone" in header and "  accuracy (95% interval)" in header
    # imbalanced classes: ranked by balanced accuracy, the ranking training's recipe uses on the same images
    imbalanced = Comparison("d", "imagenet", 300, 5, 0.7, "a", rows, ranking=Ranking("balanced_accuracy", 3.0))
    assert [r.backbone for r in imbalanced.ranked][:2] == ["EfficientNetB0", "MobileNetV2"]
    assert imbalanced.recommended.backbone == "EfficientNetB0"
    assert "Ranked by balanced accuracy" in imbalanced.table() and "3.0× the images" in imbalanced.recommendation()
    assert Comparison.from_dict(imbalanced.to_dict()).ranked == imbalanced.ranked


def test_real_comparison_scores_skips_saves_and_leaves_the_dataset_alone(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras"))  # no ImageNet weights cached here
    before = snapshot(tiny_dataset)
    out = tmp_path / "cmp" / "compare.json"
    events = []
    result = compare_backbones(str(tiny_dataset), parse_candidates("MobileNetV2@32,MobileNetV2@48,MobileNet@32"),
                               real_weights(), out=str(out), on_event=events.append)
    split, _ = prepare_split(scan_dataset(tiny_dataset), TrainConfig(str(tiny_dataset)).split_spec)
    assert result.n_images == len(split.train) + len(split.val) < 30  # the test split is not used
    scored = [r for r in result.rows if r.scored]
    assert [r.size for r in scored] == [32, 48]
    for r in scored:
        lo, hi = r.accuracy_interval
        assert lo <= r.accuracy <= hi and r.accuracy >= 0.8 > result.majority  # red, green and blue are easy
        assert r.ms_per_image > 0 and 8.5 < r.size_mb < 9.5 and "head" in r.recipe
        assert len(r.fold_accuracies) == result.folds
    skipped = next(r for r in result.rows if not r.scored)
    assert skipped.backbone == "MobileNet" and "is not for MobileNet" in skipped.reason
    saved = json.loads(out.read_text())
    assert saved["format"] == "foveal-compare" and saved["recommendation"] == result.recommendation()
    assert [r["backbone"] for r in saved["rows"]][-1] == "MobileNet"
    stages = {(e.index, e.stage) for e in events if isinstance(e, CandidateProgress)}
    assert {(1, "features"), (1, "scoring"), (2, "features"), (2, "scoring")} <= stages
    # ImageNet weights that are not on this computer are skipped with the reason, never downloaded.
    imagenet = compare_backbones(str(tiny_dataset), parse_candidates("MobileNetV2@32"), "imagenet",
                                 out=str(tmp_path / "imagenet.json"))
    assert imagenet.rows[0].status == "skipped" and "not on this computer" in imagenet.rows[0].reason
    assert snapshot(tiny_dataset) == before


def test_refusals_and_cancel_within_a_batch(tiny_dataset, tmp_path):
    with pytest.raises(ConfigError, match="random features"):
        compare_backbones(str(tiny_dataset), weights="none", out=str(tmp_path / "x.json"))
    with pytest.raises(ConfigError, match="inside the dataset folder"):
        compare_backbones(str(tiny_dataset), weights=real_weights(), out=str(tiny_dataset / "compare.json"))
    assert not (tiny_dataset / "compare.json").exists()
    token = CancelToken()

    def on_event(e):
        if isinstance(e, CandidateProgress) and e.stage == "features":
            token.cancel()

    result = compare_backbones(str(tiny_dataset), parse_candidates("MobileNetV2@32,MobileNetV2@48"), real_weights(),
                               out=str(tmp_path / "c.json"), on_event=on_event, cancel=token)
    assert result.outcome == "cancelled" and result.rows == ()
    assert json.loads((tmp_path / "c.json").read_text())["outcome"] == "cancelled"


def test_compare_command_prints_json_and_a_table(tiny_dataset, tmp_path, capsys):
    from foveal.core.cli import main as cli_main

    out = tmp_path / "cli.json"
    assert cli_main(["compare", str(tiny_dataset), "--backbones", "MobileNetV2@32", "--weights", real_weights(),
                     "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["rows"][0]["status"] == "scored" and printed["path"] == str(out)
    table = Comparison.from_dict(json.loads(out.read_text())).table()
    assert "MobileNetV2 at 32 px" in table and "Recommendation: MobileNetV2 at 32 px" in table
    assert cli_main(["compare", str(tiny_dataset), "--backbones", "Nope"]) == 2
    assert "Unknown backbone" in capsys.readouterr().err
