"""Fine-tuning judged fairly: the judge prefers the more accurate model even when it is overconfident and the raw
validation loss prefers a less accurate one (real images, real Keras models); and ``--fine-tune auto`` starts
fine-tuning at the loss its head ended with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foveal.core.training.head_fit import fit_linear
from foveal.core.training.judge import judge, wins

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
PNEUMONIA = DATA / "pneumoniamnist"
BUSI = DATA / "busi"
WEIGHTS = Path(__file__).resolve().parents[3] / "shared" / "weights" / "mobilenet_v2_1.0_224_imagenet_no_top.h5"


def _pixels(n_per_class: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Real chest X-rays (PneumoniaMNIST), ``side`` px grayscale, flattened to 0–1 pixel vectors, labels."""
    from PIL import Image

    x, y = [], []
    for label, name in enumerate(("normal", "pneumonia")):
        for path in sorted((PNEUMONIA / name).glob("*.png"))[:n_per_class]:
            with Image.open(path) as im:
                x.append(np.asarray(im.convert("L").resize((side, side)), np.float32).ravel() / 255)
            y.append(label)
    order = np.random.default_rng(0).permutation(len(y))
    return np.array(x)[order], np.array(y)[order]


def _keras_head(kernel: np.ndarray, bias: np.ndarray):
    import keras

    model = keras.Sequential([keras.Input((kernel.shape[0],)), keras.layers.Dense(2, activation="softmax")])
    model.layers[-1].set_weights([kernel, bias])
    return model


@pytest.mark.skipif(not PNEUMONIA.is_dir(), reason="the shared PneumoniaMNIST images are not here")
def test_judge_prefers_accuracy_over_an_overconfident_heads_raw_loss():
    x, y = _pixels(150, 14)
    fit, val = slice(0, 200), slice(200, 300)
    # The accurate head, made overconfident as a weakly regularised head on few images is (its logits × 40).
    kernel, bias = fit_linear(x[fit], y[fit], 2, 1.0, False)
    sure = _keras_head(kernel * 40, bias * 40)
    # A weaker model, honest about it: strongly regularised on a tenth of the images.
    kernel_b, bias_b = fit_linear(x[:20], y[:20], 2, 0.001, False)
    honest = _keras_head(kernel_b, bias_b)
    a = judge(sure.predict(x[val], verbose=0), y[val], "accuracy")
    b = judge(honest.predict(x[val], verbose=0), y[val], "accuracy")
    assert a.score > b.score + 0.02  # the overconfident head is the more accurate one
    assert a.loss > b.loss  # and raw validation loss would keep the other
    assert a.temperature > 5  # the judge divides the overconfidence out
    assert wins(a, b) and not wins(b, a)


@pytest.mark.skipif(not PNEUMONIA.is_dir(), reason="the shared PneumoniaMNIST images are not here")
def test_judge_breaks_a_tie_on_the_calibrated_loss_and_uses_balanced_accuracy_when_asked():
    x, y = _pixels(100, 14)
    kernel, bias = fit_linear(x[:150], y[:150], 2, 1.0, False)
    good = _keras_head(kernel, bias).predict(x[150:], verbose=0)
    flat = np.full_like(good, 0.5)
    flat[np.arange(len(flat)), good.argmax(axis=1)] = 0.51  # the same answers, knowing nothing more
    a, b = judge(good, y[150:], "balanced_accuracy"), judge(flat, y[150:], "balanced_accuracy")
    assert a.score == b.score and a.metric == "balanced_accuracy"
    assert a.calibrated_loss < b.calibrated_loss
    assert wins(a, b) and not wins(b, a)
    assert not wins(a, a)  # a tie stays with the incumbent


@pytest.mark.skipif(not (BUSI.is_dir() and WEIGHTS.is_file()), reason="BUSI or the MobileNetV2 weights are absent")
def test_fine_tune_auto_starts_at_the_heads_loss(tmp_path):
    from foveal.core.training import TrainConfig, train
    from foveal.core.training.events import BatchesEnded, EpochEnded, Phase

    data = tmp_path / "busi"
    for name in ("benign", "malignant"):
        (data / name).mkdir(parents=True)
        for path in sorted((BUSI / name).glob("*.png"))[:16]:
            (data / name / path.name).write_bytes(path.read_bytes())
    head_losses: list[float] = []
    first_tuned: list[float] = []

    def on_event(event) -> None:
        if isinstance(event, EpochEnded) and event.phase == Phase.HEAD:
            head_losses.append(event.loss)
        if isinstance(event, BatchesEnded) and head_losses and not first_tuned and event.epoch > len(head_losses):
            first_tuned.append(event.batch_losses[0])

    train(TrainConfig(str(data), weights=str(WEIGHTS), fine_tune="auto", epochs=2, fine_tune_epochs=1,
                      image_size=64, batch_size=16, out_dir=str(tmp_path / "run"), seed=1), on_event=on_event)
    assert head_losses and first_tuned
    assert first_tuned[0] < 2 * head_losses[-1] + 0.05, (head_losses, first_tuned)


def test_a_run_keeps_the_head_when_the_judge_says_so_though_the_raw_loss_fell():
    from foveal.core.training.tracker import RunTracker

    t = RunTracker()  # the history the issue recorded on white-blood-cell smears: an overconfident linear head
    t.history = [{"epoch": 1, "phase": "head", "loss": 0.15, "accuracy": 1.0, "val_loss": 2.46, "val_accuracy": 0.696},
                 {"epoch": 2, "phase": "fine-tune", "loss": 0.9, "accuracy": 0.7, "val_loss": 1.1,
                  "val_accuracy": 0.625}]
    t.fitted_head = True
    assert t.phase_comparison().improved  # raw validation loss alone keeps fine-tuning
    t.verdict = (False, "judged on the validation images by accuracy 62.5% against the head's accuracy 69.6%")
    comparison = t.phase_comparison()
    assert not comparison.improved and comparison.kept_epoch == 1
    assert "did not beat the head" in comparison.words and "69.6%" in comparison.words
