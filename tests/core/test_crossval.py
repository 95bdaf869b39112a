"""k-fold cross-validation and the split preview command."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from foveal.core.cli import main
from foveal.core.crossval import cross_validate
from foveal.core.errors import ConfigError
from foveal.core.training.config import TrainConfig
from foveal.core.training.events import FoldFinished, FoldStarted, Outcome, TrainingStarted
from tests.factory import real_weights


@pytest.fixture
def patients(tmp_path) -> Path:
    """Two classes, 6 patients each, 2 views per patient."""
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    for k, cls in enumerate(("red", "blue")):
        (data / cls).mkdir(parents=True)
        for p in range(6):
            for v in range(2):
                arr = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
                arr[..., 2 * k] += 150
                Image.fromarray(arr).save(data / cls / f"P{k}{p}_{v}.png")
    return data


def test_group_aware_three_fold_cross_validation(patients, tmp_path):
    # The fixed head: the folds and their events are tested here, not the recipe (tests/core/test_recipe.py).
    config = TrainConfig(str(patients), epochs=1, weights=real_weights(), image_size=32, group_by="filename",
                         recipe="manual", out_dir=str(tmp_path / "cv"))
    events = []
    result = cross_validate(config, 3, on_event=events.append)
    assert result.outcome == Outcome.COMPLETED and result.folds_done == 3 and len(result.folds) == 3
    # each fold's run is reported between its FoldStarted and FoldFinished, folds in order
    marks = [(type(e).__name__, e.fold) for e in events if isinstance(e, FoldStarted | FoldFinished)]
    assert marks == [(kind, i) for i in (1, 2, 3) for kind in ("FoldStarted", "FoldFinished")]
    bounds = [i for i, e in enumerate(events) if isinstance(e, FoldStarted | FoldFinished)]
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        assert sum(isinstance(e, TrainingStarted) for e in events[start:end]) == 1
    finished = [e for e in events if isinstance(e, FoldFinished)]
    assert [e.metrics["accuracy"] for e in finished] == [f["accuracy"] for f in result.folds]
    tested = []
    for fold in result.folds:
        run = json.loads((Path(fold["run_dir"]) / "run.json").read_text())
        tested += [row["file"] for row in run["split"]["test"]]
        assert run["split_info"]["split_file"].endswith(f"fold-{fold['fold']}.json")
        assert (Path(fold["run_dir"]) / "evaluation.json").exists()
    assert sorted(tested) == sorted(str(p.relative_to(patients)) for p in patients.rglob("*.png"))
    patient_folds = {}
    for fold in result.folds:
        run = json.loads((Path(fold["run_dir"]) / "run.json").read_text())
        for row in run["split"]["test"]:
            patient_folds.setdefault(row["file"].split("/")[1].split("_")[0], set()).add(fold["fold"])
    assert all(len(f) == 1 for f in patient_folds.values())  # each patient is tested in exactly one fold
    acc = result.summary["accuracy"]
    values = [f["accuracy"] for f in result.folds]
    assert acc["mean"] == pytest.approx(np.mean(values)) and acc["sd"] == pytest.approx(np.std(values, ddof=1))
    # the majority-class baseline each fold's headline gives, over the folds, in the summary beside the accuracy
    baselines = [json.loads((Path(f["run_dir"]) / "evaluation.json").read_text())["metrics"]["baseline"]
                 for f in result.folds]
    assert result.summary["majority"]["mean"] == pytest.approx(np.mean(baselines))
    assert re.search(r"majority class +0\.\d{3} ± 0\.\d{3} +\(always answering '\w+'", result.text())
    saved = json.loads((tmp_path / "cv" / "crossval.json").read_text())
    assert saved["summary"] == json.loads(json.dumps(result.summary)) and saved["outcome"] == "completed"


def test_fold_count_is_checked(patients):
    with pytest.raises(ConfigError, match="3 to 10"):
        cross_validate(TrainConfig(str(patients), weights=real_weights()), 2)


def test_split_command_previews_and_exports(patients, capsys):
    assert main(["split", str(patients), "--group-by", "filename", "--csv", "-"]) == 0
    out, err = capsys.readouterr()
    assert "12 groups (filename) in 24 images" in err and "groups in more than one split: 0" in err
    rows = list(csv.DictReader(io.StringIO(out)))  # standard output is the CSV alone
    assert len(rows) == 24 and {r["split"] for r in rows} == {"train", "val", "test"}
    where = {}
    for r in rows:
        where.setdefault(r["file"].split("/")[1].split("_")[0], set()).add(r["split"])
    assert all(len(s) == 1 for s in where.values())
