"""run.json as one typed record (core.run_record): what training writes reads back whole, each part by attribute;
what an older run lacks is None or empty; what is malformed is refused naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foveal.core.errors import RunFolderError
from foveal.core.records import Record, ShapeError
from foveal.core.run_record import Epoch, RunRecord, SplitInfo
from foveal.core.runs import read_run
from tests import factory
from tests.factory import real_weights


@pytest.fixture(scope="module", params=["auto recipe", "manual head, then fine-tuning"])
def written(request, tmp_path_factory) -> tuple[Path, dict]:
    """A real run folder and the run.json training wrote: the automatic recipe (candidates, calibration,
    operating point, familiarity), or a dense head fine-tuned after (epochs of two phases, their comparison)."""
    from foveal.core.training import TrainConfig, train

    base = tmp_path_factory.mktemp("run")
    data = factory.make_class_folder(base / "data", {"benign": 12, "malignant": 12}, size=40)
    more = {} if request.param == "auto recipe" else {"recipe": "manual", "fine_tune": "last:1",
                                                       "fine_tune_epochs": 1}
    result = train(TrainConfig(str(data), weights=real_weights(), epochs=1, image_size=32, out_dir=str(base / "run"),
                               **more))
    return Path(result.run_dir), json.loads((Path(result.run_dir) / "run.json").read_text(encoding="utf-8"))


def test_the_record_gives_back_what_training_wrote(written):
    run_dir, data = written
    record = RunRecord.from_dict(data, run_dir / "run.json")
    assert record.to_dict() == data
    assert json.loads(json.dumps(record.to_dict())) == data  # plain JSON data, nothing of the record's own
    assert read_run(run_dir).to_dict() == data
    # the parts readers use, by attribute
    assert record.classes == ("benign", "malignant") and record.dataset.root == data["dataset"]["root"]
    assert [r.file for r in record.split.test] == [r["file"] for r in data["split"]["test"]]
    assert {r.label for r in record.split.train} == set(record.classes)
    assert record.test.accuracy == data["test"]["accuracy"] and record.test.n == len(record.split.test)
    assert record.timings.total == data["timings"]["total"] and "total" not in record.timings.steps
    assert record.config.to_dict() == data["config"]  # every setting, for the report's table
    assert record.operating_point is not None and record.operating_point.positive_class in record.classes


def test_each_kind_of_run_fills_its_own_parts(written):
    _, data = written
    record = RunRecord.from_dict(data)
    if data["config"]["recipe"] == "auto":
        assert record.recipe.candidates and record.recipe.reason and record.recipe.winner is not None
        assert record.familiarity is not None and record.familiarity.file == "familiarity.npz"
    else:
        assert {e.phase for e in record.history} == {"head", "fine-tune"}
        assert all(isinstance(e, Epoch) and e.val_loss is not None for e in record.history)
        assert record.phases is not None and record.phases.words and record.best_epoch is not None


def _older_run(root: Path) -> dict:
    """What a run.json of older days holds, and no more."""
    return {"format": "foveal-run", "classes": ["a", "b"], "dataset": {"root": str(root), "layout": "folders"},
            "split": {"train": [{"file": "a/1.png", "class": "a"}], "val": [],
                      "test": [{"file": "b/1.png", "class": "b"}]},
            "image_size": 32, "model": None, "outcome": "completed", "fine_tune": "frozen", "seed": 1234,
            "backbone": {"name": "MobileNetV2", "family": "mobilenet_v2", "top1": 71.3},
            "config": {"weights": "imagenet", "dropout": 0.2, "val_fraction": 0.15, "test_fraction": 0.15}}


def test_an_older_run_lacks_parts_and_they_are_empty(tmp_path):
    """Every part added since is None or empty, and the record writes back no key that was not there."""
    data = _older_run(tmp_path)
    record = RunRecord.from_dict(data)
    assert record.to_dict() == data
    assert record.split_info is None and record.calibration is None and record.operating_point is None
    assert record.history == () and record.recipe.candidates is None and record.test.accuracy is None
    assert record.timings.total is None and record.created is None and record.versions == {}
    assert SplitInfo().duplicates_across_splits == ()


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d.pop("seed"), "'seed' is missing"),
    (lambda d: d["backbone"].update(top1="many"), "'backbone.top1' should be a number, not \"many\""),
    (lambda d: d["split"]["test"][0].pop("class"), "'split.test[0].class' is missing"),
    (lambda d: d["split"]["test"][0].update({"class": "c"}), "'split.test[0].class' (\"c\") is not one of"),
    (lambda d: d["split"]["train"][0].update(file="../../etc/passwd"), "'split.train[0].file'"),
    (lambda d: d.update(history=[{"epoch": 1}, {"epoch": "two"}]), "'history[1].epoch' should be a whole number"),
    (lambda d: d.update(history=None), "'history' is null; it should be a list"),
    (lambda d: d.update(calibration={"temperature": -1}), "'calibration.temperature' is -1"),
    (lambda d: d.update(recipe={"candidates": []}), "'recipe.reason'"),
    (lambda d: d.update(recipe={"winner": {"head": "linear"}}), "'recipe.winner.strength'"),
    (lambda d: d.update(image_size=10**6), "'image_size'"),
    (lambda d: d.update(classes=["a", "a"]), "names a class twice"),
    (lambda d: d.update(format="other"), "not a Foveal run.json"),
    (lambda d: d.update(note=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]), "nested"),
])
def test_a_malformed_record_is_refused_naming_the_file_and_the_key(tmp_path, change, words):
    data = _older_run(tmp_path)
    change(data)
    with pytest.raises(RunFolderError) as caught:
        RunRecord.from_dict(data, tmp_path / "run.json")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'run.json'} is not a complete Foveal run record: ") and words in message
    assert "Copy the run folder again" in message


def test_a_shape_error_names_its_key_only_when_it_is_raised():
    class Row(Record):
        pass

    with pytest.raises(ShapeError, match="'the file' should be an object, not a list"):
        SplitInfo.parse([])
    with pytest.raises(ShapeError, match=r"'duplicates_across_splits\[0\]\.x' should be text, not 1"):
        SplitInfo.parse({"duplicates_across_splits": [{"x": 1}]})
    assert SplitInfo.parse({"seed": 3, "balance": {"n": 1}}).to_dict() == {"seed": 3, "balance": {"n": 1}}
    assert Row.parse({"anything": [1]}).extra == {"anything": [1]}
