"""The automatic recipe's extra passes end to end on small real pictures: real BUSI lesions pasted small on enlarged
real MedNIST pictures (benchmarks/small_in_large.py), the real MobileNetV2 weights. Whatever pass wins is what the
run saves: the model reads images as its candidate did, predicts what the run measured and explains itself with a
heatmap of the whole picture (its exports agree with Foveal: tests/core/test_tiles.py, test_orientation.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tests.factory import real_weights

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.skipif(not (DATA / "busi").is_dir() or not (DATA / "mednist_small").is_dir(),
                                reason="the shared BUSI and MedNIST images are not here")


def _small_in_large(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("small_in_large", ROOT / "benchmarks" / "small_in_large.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(out, 30, size=(96, 72), small=28, source=DATA / "busi", backgrounds=DATA / "mednist_small")
    return out


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> Path:
    return _small_in_large(tmp_path_factory.mktemp("small-in-large") / "data")


def _train_preferring(tmp_path: Path, pictures: Path, monkeypatch, wins) -> dict:
    """A run that makes only the extra pass under test, whose ranking puts the candidates ``wins`` accepts first
    (the pass wins), as a person's data might; returns its run.json."""
    from foveal.core.training import TrainConfig, passes, train
    from foveal.core.training.ranking import Ranking

    plain_key, every = Ranking.key, passes.supported
    monkeypatch.setattr(Ranking, "key", lambda self, c: (not wins(c), *plain_key(self, c)))
    monkeypatch.setattr(passes, "supported", lambda *a, **k: [p for p in every(*a, **k) if wins(p)])
    result = train(TrainConfig(str(pictures), epochs=2, weights=real_weights(), image_size=32, search="full",
                               out_dir=str(tmp_path / "run")))
    monkeypatch.undo()
    return json.loads((Path(result.run_dir) / "run.json").read_text()) | {"_dir": result.run_dir,
                                                                          "_accuracy": result.test_accuracy}


# A minute each on 2 cores (a tiled model traces nine backbones): with `pytest -m slow`; every pass is made, and
# the winner saved and evaluated, in every run by tests/core/test_recipe.py's large-images test.
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tiles", "orientations"])
def test_the_pass_that_wins_is_what_the_run_saves_predicts_and_explains(tmp_path, pictures, monkeypatch,
                                                                                kind):
    from foveal.core.evaluation.evaluate import evaluate
    from foveal.core.evaluation.gradcam import GradCamExplainer
    from foveal.core.models.saved import load_classifier

    wins = (lambda c: getattr(c, "tiles", 0) == 2) if kind == "tiles" else (lambda c: getattr(c, "orientations",
                                                                                               1) == 8)
    run = _train_preferring(tmp_path, pictures, monkeypatch, wins)
    # 72-px pictures for a 32-px input support tiles on a 64-px canvas (every pass: tests/core/test_recipe.py)
    assert [p["key"] for p in run["recipe"]["passes"]["made"]] == (["@32#2"] if kind == "tiles" else ["~8"])
    winner = run["recipe"]["winner"]
    words = "over tiles of 32 px at full resolution" if kind == "tiles" else "averaged over rotations and flips"
    assert words in winner["description"]
    clf = load_classifier(run["_dir"])
    assert run["image_size"] == 32
    if kind == "tiles":
        assert run["tiles"] == 2 and clf.image_size == 64  # the canvas the tiles are read from
    else:
        assert run["orientations"] == 8 and clf.image_size == 32
    assert evaluate(run["_dir"]).metrics["accuracy"] == pytest.approx(run["_accuracy"], abs=1e-9)
    picture = next(pictures.glob("malignant/*.jpg"))
    cam = GradCamExplainer(clf).explain_file(picture)
    assert cam.heatmap.shape[:2] == (72, 96) and np.isfinite(cam.heatmap).all()


def test_a_stop_during_an_extra_pass_keeps_the_head_chosen_so_far(tmp_path, pictures):
    from foveal.core.cancel import CancelToken
    from foveal.core.models.saved import load_classifier
    from foveal.core.training import TrainConfig, train
    from foveal.core.training.events import PhaseChanged

    cancel = CancelToken()

    def on_event(event):
        if isinstance(event, PhaseChanged) and "rotations and flips" in event.description:
            cancel.cancel()  # the person stops the run as the 8×-costly pass starts

    result = train(TrainConfig(str(pictures), epochs=2, weights=real_weights(), image_size=32, search="full",
                               out_dir=str(tmp_path / "run")), on_event=on_event, cancel=cancel)
    assert result.outcome == "cancelled"
    run = json.loads((Path(result.run_dir) / "run.json").read_text())
    made = [p["key"] for p in run["recipe"]["passes"]["made"]]
    assert made == ["@48", "@64"]  # the passes compared before the stop; the one stopped is not said made
    assert {c["orientations"] for c in run["recipe"]["candidates"]} == {1}
    assert load_classifier(result.run_dir).classes == tuple(run["classes"])  # the head chosen so far is saved
