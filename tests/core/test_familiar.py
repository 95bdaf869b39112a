"""Honest answers on real medical images: the *unfamiliar* flag (nearest-neighbour scores on pooled features, a
threshold from the validation images, kept in the run folder) against foreign images, and suspected mislabels
(confident learning) in a copy with images moved to a wrong class folder on purpose."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from foveal.core.models.familiar import FAMILIARITY_FILE, PASS_RATE, Familiarity, fit_familiarity
from tests.core.conftest import MEDNIST, SHARED
from tests.factory import real_weights


def test_scores_threshold_and_the_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    centre = rng.normal(size=64)
    own = centre + rng.normal(scale=0.3, size=(400, 64))
    fam = fit_familiarity(own[:300], own[300:])
    assert np.mean(fam.scores(own[300:]) <= fam.threshold) == pytest.approx(PASS_RATE, abs=0.02)
    nearest = Familiarity(fam.reference, fam.threshold, k=1)
    assert nearest.scores(own[:3]).max() < 1e-2  # a training image is its own nearest neighbour (float16 kept)
    foreign = rng.normal(size=(50, 64)) * 3
    flagged, scores = fam.flags(foreign)
    assert flagged.all() and (scores > fam.threshold).all()
    fam.save(tmp_path)
    again = Familiarity.load(tmp_path)
    assert again.threshold == pytest.approx(fam.threshold) and again.k == fam.k
    np.testing.assert_allclose(again.scores(foreign), scores, atol=1e-3)
    (tmp_path / FAMILIARITY_FILE).write_bytes(b"not numpy")
    assert Familiarity.load(tmp_path) is None and Familiarity.load(None) is None
    assert fit_familiarity(own[:0], own) is None


CLASSES = ("AbdomenCT", "CXR", "Hand")
MOVED = 6  # 5% of 120 images, each moved into the next class's folder


@pytest.fixture(scope="module")
def mednist_run(tmp_path_factory):
    """A frozen run on 40 images of each of three MedNIST classes, 5% of them in a wrong class folder."""
    from foveal.core.training import TrainConfig, train

    if not MEDNIST.exists():
        pytest.skip(f"real images not found at {MEDNIST} (shared/data/README.md)")
    tmp = tmp_path_factory.mktemp("mednist")
    data, moved = tmp / "mednist", {}
    for c, name in enumerate(CLASSES):
        (data / name).mkdir(parents=True, exist_ok=True)
        files = sorted((MEDNIST / name).iterdir())[:40]
        for k, f in enumerate(files):
            wrong = CLASSES[(c + 1) % len(CLASSES)] if k % 20 == 7 else name
            (data / wrong).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, data / wrong / f.name)
            if wrong != name:
                moved[f"{wrong}/{f.name}"] = name
    assert len(moved) == MOVED
    result = train(TrainConfig(str(data), weights=real_weights(), seed=3, out_dir=str(tmp / "run")))
    return data, result, moved


def test_suspected_mislabels_find_the_moved_images(mednist_run):
    from foveal.core.training.mislabels import read_suspects

    _, result, moved = mednist_run
    suspects = read_suspects(result.run_dir)
    found = {s.file for s in suspects}
    precision = len(found & set(moved)) / max(len(found), 1)
    recall = len(found & set(moved)) / len(moved)
    assert precision >= 0.6 and recall >= 0.8, (precision, recall, sorted(found))
    for s in suspects:
        if s.file in moved:
            assert s.suggested == moved[s.file] and s.given == s.file.split("/")[0] and s.score > 0
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    assert run["suspected_mislabels"]["n"] == len(suspects)


def test_foreign_images_are_flagged_and_the_own_test_images_pass(mednist_run, tmp_path, capsys):
    from foveal.core.cli import main as cli_main
    from foveal.core.cli.model import unfamiliar_sentence
    from foveal.core.evaluation.evaluate import evaluate
    from foveal.core.resources import samples_dir

    data, result, _ = mednist_run
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    assert run["familiarity"]["n_reference"] == len(run["split"]["train"])
    assert run["familiarity"]["test_unfamiliar"] <= 0.25
    foreign = [*sorted((SHARED / "data" / "pneumoniamnist").rglob("*.png"))[:20],
               *sorted(samples_dir().rglob("*.jpg"))[:20], *sorted((MEDNIST / "HeadCT").iterdir())[:20]]
    own = [data / f["file"] for f in run["split"]["test"]]
    out = tmp_path / "pred.csv"
    assert cli_main(["predict", result.run_dir, *map(str, own + foreign), "--csv", str(out)]) == 0
    with out.open() as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    flagged_foreign = np.mean([rows[str(p)]["unfamiliar"] == "true" for p in foreign])
    flagged_own = np.mean([rows[str(p)]["unfamiliar"] == "true" for p in own])
    assert flagged_foreign >= 0.85 and flagged_own <= 0.25, (flagged_foreign, flagged_own)
    assert all(float(r["unfamiliar_score"]) >= 0 for r in rows.values())
    assert "do not look like the images the model learned from" in capsys.readouterr().err
    ev = evaluate(result.run_dir)  # the test split, as in the window and the report
    assert all(isinstance(p.unfamiliar, bool) for p in ev.predictions)
    assert ev.metrics["n_unfamiliar"] == sum(p.unfamiliar for p in ev.predictions) <= 0.25 * ev.metrics["n"]
    assert "do not look like the images the model learned from" in unfamiliar_sentence(ev.metrics)
    # A run made before Foveal kept the statistics still predicts, with the flag left empty and said so.
    (Path(result.run_dir) / FAMILIARITY_FILE).unlink()
    assert "n_unfamiliar" not in evaluate(result.run_dir).metrics
    assert cli_main(["predict", result.run_dir, str(foreign[0]), "--csv", str(out)]) == 0
    with out.open() as fh:
        row = next(csv.DictReader(fh))
    assert row["unfamiliar"] == "" and row["predicted_class"] in run["classes"]
    assert "made before Foveal kept the statistics" in capsys.readouterr().err
