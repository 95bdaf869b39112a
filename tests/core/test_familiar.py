"""Honest answers on real medical images: the *unfamiliar* flag (nearest-neighbour scores on pooled features, a
threshold set leave-one-out on the training and validation images, kept in the run folder) against foreign images,
no answer shown for an unfamiliar image, and suspected mislabels (confident learning) in a copy with images moved
to a wrong class folder on purpose."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foveal.core.models.familiar import (
    FAMILIARITY_FILE,
    LEAVE_ONE_OUT,
    NO_ANSWER_WORDS,
    PASS_RATE,
    VALIDATION,
    Familiarity,
    fit_familiarity,
    normalise,
)
from tests.core.conftest import MEDNIST, SHARED
from tests.factory import real_weights


def _brute_leave_one_out(features: np.ndarray, k: int) -> np.ndarray:
    """Each row's distance to its k-th nearest other row, the slow way (every distance, sorted)."""
    f = normalise(normalise(features).astype(np.float16).astype(np.float32))
    distances = 1.0 - f @ f.T
    np.fill_diagonal(distances, np.inf)
    return np.sort(distances, axis=1)[:, k - 1]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 60), dim=st.integers(1, 12), k=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_the_threshold_passes_95_percent_of_the_images_each_scored_against_the_others(n, dim, k, seed):
    features = np.random.default_rng(seed).normal(size=(n, dim))
    fam = fit_familiarity(features, k=k)
    assert fam.k == min(k, n - 1) and fam.n_threshold == n and fam.threshold_on == LEAVE_ONE_OUT
    own = _brute_leave_one_out(features, fam.k)
    assert fam.threshold == pytest.approx(float(np.quantile(own, PASS_RATE)), abs=1e-4)
    assert np.mean(own <= fam.threshold + 1e-6) >= PASS_RATE - 1 / n


def test_about_5_percent_of_new_images_like_the_reference_are_flagged_and_foreign_ones_all(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 64)) * 2
    def like(n):  # three clusters, as classes are
        return centres[rng.integers(0, 3, n)] + rng.normal(scale=0.6, size=(n, 64))
    fam = fit_familiarity(like(400))
    assert len(fam.reference) == 400
    new = fam.flags(like(2000))[0]
    assert 0.03 <= np.mean(new) <= 0.07
    foreign = rng.normal(size=(50, 64)) * 3
    flagged, scores = fam.flags(foreign)
    assert flagged.all() and (scores > fam.threshold).all()
    nearest = Familiarity(fam.reference, fam.threshold, k=1)
    assert nearest.scores(fam.reference[:3]).max() < 1e-2  # a reference image is its own nearest neighbour
    summary = fam.summary()
    assert summary["n_threshold"] == summary["n_reference"] == 400
    assert "leave-one-out" in summary["threshold_on"] and "validation" in summary["reference"]
    assert fit_familiarity(like(1)) is None


def test_the_file_round_trip_and_files_saved_before(tmp_path):
    fam = fit_familiarity(np.random.default_rng(1).normal(size=(30, 8)))
    fam.save(tmp_path)
    again = Familiarity.load(tmp_path)
    assert again is not None and again.threshold == pytest.approx(fam.threshold) and again.k == fam.k
    assert again.threshold_on == LEAVE_ONE_OUT and again.n_threshold == 30
    probe = np.random.default_rng(2).normal(size=(5, 8))
    np.testing.assert_allclose(again.scores(probe), fam.scores(probe), atol=1e-3)
    # A file saved before the threshold was set leave-one-out: the same three arrays, and it says how it was made.
    with (tmp_path / FAMILIARITY_FILE).open("wb") as fh:
        np.savez(fh, reference=fam.reference.astype(np.float16), threshold=np.float32(0.2), k=np.int32(5))
    old = Familiarity.load(tmp_path)
    assert old is not None and old.threshold == pytest.approx(0.2) and old.k == 5
    assert old.threshold_on == VALIDATION and old.n_threshold is None
    assert "validation images" in old.summary()["threshold_on"] and old.summary()["reference"] == "training images"
    (tmp_path / FAMILIARITY_FILE).write_bytes(b"not numpy")
    assert Familiarity.load(tmp_path) is None and Familiarity.load(None) is None


def test_an_unfamiliar_image_gets_no_answer_said_and_its_guess_kept_in_the_csv():
    from foveal.core.evaluation.predict_table import prediction_rows, print_rows, ranks_in, write_rows_csv
    from foveal.core.models.predict import ImageFile, Predictions

    files = [ImageFile("cat.png", "cat.png"), ImageFile("mri.png", "mri.png"), ImageFile("x.txt", "x.txt")]
    result = Predictions(np.array([[0.155, 0.845], [0.97, 0.03]], np.float32), [0, 1], [(2, "not an image"), ],
                         np.array([0.9, 0.1], np.float32), 0.3)
    rows = prediction_rows(files, result, ("no", "yes"), top_k=3)
    assert ranks_in(rows) == 2  # two classes: two ranks, never an empty third
    out = io.StringIO()
    print_rows(rows, out)
    cat, mri, bad = out.getvalue().splitlines()
    assert cat.startswith(f"cat.png: {NO_ANSWER_WORDS}") and "the model's guess, not an answer: yes 84.5%" in cat
    assert mri == "mri.png: no 97.0%, yes 3.0%" and "not read" in bad
    out = io.StringIO()
    write_rows_csv(rows, out, ranks_in(rows))
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert "top3_class" not in table[0]
    assert [(r["predicted_class"], r["unfamiliar"], r["low_confidence"]) for r in table] == [
        ("yes", "true", "false"), ("no", "false", "false"), ("", "", "")]


# ---- real images: features of a small subset of each shared set, computed once ------------------------------

REAL_SETS = {"busi": 40, "mednist_small": 14, "pneumoniamnist": 60}  # images per class: 120ish per set
REAL_SIZE = 160  # at 96 px a small sample of BUSI is too varied: foreign images pass


@pytest.fixture(scope="module")
def real_features() -> dict[str, np.ndarray]:
    """Pooled features (frozen MobileNetV2, real ImageNet weights, Foveal's prediction path at 160 px) of a spread
    sample of each shared set, shuffled."""
    from foveal.core.models.build import assemble_classifier, build_backbone, build_head
    from foveal.core.models.predict import ImageFile, pooled_features
    from foveal.core.models.registry import get_backbone
    from foveal.core.models.saved import Classifier

    weights = real_weights()
    spec = get_backbone("MobileNetV2")
    model = assemble_classifier(build_backbone(spec, REAL_SIZE, weights), build_head(spec.feature_dim, 2), spec,
                                REAL_SIZE)
    clf, out = Classifier(model, ("a", "b"), REAL_SIZE, ""), {}
    for name, per_class in REAL_SETS.items():
        if not (SHARED / "data" / name).is_dir():
            pytest.skip(f"real images not found at {SHARED / 'data' / name} (shared/data/README.md)")
        files = []
        for folder in sorted(p for p in (SHARED / "data" / name).iterdir() if p.is_dir()):
            names = sorted(folder.iterdir())
            files += names[:: max(1, len(names) // per_class)][:per_class]
        features, _ = pooled_features(clf, [ImageFile(str(f), f.name) for f in files], batch_size=64)
        out[name] = features[np.random.default_rng(0).permutation(len(features))]
    return out


def test_on_real_images_few_own_held_out_images_are_flagged_and_nearly_all_foreign_ones(real_features):
    for name, features in real_features.items():
        thirds = np.arange(len(features)) % 3
        own, foreign = [], []
        for held_out in range(3):  # each image held out once; the other two thirds are the training images
            fam = fit_familiarity(features[thirds != held_out])
            own += list(fam.flags(features[thirds == held_out])[0])
            foreign += list(fam.flags(np.concatenate([f for n, f in real_features.items() if n != name]))[0])
        print(f"{name}: own held-out images flagged {np.mean(own):.1%}, foreign {np.mean(foreign):.1%}")
        assert np.mean(own) <= 0.10 and np.mean(foreign) >= 0.97, (name, np.mean(own), np.mean(foreign))


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
    result = train(TrainConfig(str(data), weights=real_weights(), seed=3, out_dir=str(tmp / "run"), search="quick"))
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
    summary = run["familiarity"]  # the reference: every training and validation image; the threshold: each of them
    assert summary["n_reference"] == summary["n_threshold"] == len(run["split"]["train"]) + len(run["split"]["val"])
    assert "leave-one-out" in summary["threshold_on"] and summary["reference"] == "training and validation images"
    assert summary["test_unfamiliar"] <= 0.15
    foreign = [*sorted((SHARED / "data" / "pneumoniamnist").rglob("*.png"))[:20],
               *sorted(samples_dir().rglob("*.jpg"))[:20], *sorted((MEDNIST / "HeadCT").iterdir())[:20]]
    own = [data / f["file"] for f in run["split"]["test"]]
    out = tmp_path / "pred.csv"
    assert cli_main(["predict", result.run_dir, *map(str, own + foreign), "--csv", str(out)]) == 0
    with out.open() as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    flagged_foreign = np.mean([rows[str(p)]["unfamiliar"] == "true" for p in foreign])
    flagged_own = np.mean([rows[str(p)]["unfamiliar"] == "true" for p in own])
    print(f"own test images flagged {flagged_own:.1%}, foreign {flagged_foreign:.1%}")
    assert flagged_foreign >= 0.9 and flagged_own <= 0.15, (flagged_foreign, flagged_own)
    assert {rows[str(p)]["low_confidence"] for p in own + foreign} <= {"true", "false"}
    assert all(float(r["unfamiliar_score"]) >= 0 for r in rows.values())
    assert "do not look like the images the model learned from" in capsys.readouterr().err
    ev = evaluate(result.run_dir)  # the test split, as in the window and the report
    assert all(isinstance(p.unfamiliar, bool) for p in ev.predictions)
    assert ev.metrics["n_unfamiliar"] == sum(p.unfamiliar for p in ev.predictions) <= 0.15 * ev.metrics["n"]
    assert "do not look like the images the model learned from" in unfamiliar_sentence(ev.metrics)
    # A run made before Foveal kept the statistics still predicts, with the flag left empty and said so.
    (Path(result.run_dir) / FAMILIARITY_FILE).unlink()
    assert "n_unfamiliar" not in evaluate(result.run_dir).metrics
    assert cli_main(["predict", result.run_dir, str(foreign[0]), "--csv", str(out)]) == 0
    with out.open() as fh:
        row = next(csv.DictReader(fh))
    assert row["unfamiliar"] == "" and row["predicted_class"] in run["classes"]
    assert "made before Foveal kept the statistics" in capsys.readouterr().err
