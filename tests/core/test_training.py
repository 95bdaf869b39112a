"""train(): events, cancel, the frozen fast path, the saved model, run folder, bad configs."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from foveal.core.data import decode_image
from foveal.core.errors import ConfigError, DatasetError
from foveal.core.training import CancelToken, TrainConfig, train
from foveal.core.training.events import (
    BatchesEnded,
    EpochEnded,
    FeaturesExtracting,
    PhaseChanged,
    TrainingFinished,
    TrainingStarted,
)
from tests import factory
from tests.factory import real_weights


def _config(data, tmp_path, **kw) -> TrainConfig:
    base = dict(backbone="MobileNetV2", weights=real_weights(), image_size=32, epochs=2, batch_size=4,
                out_dir=str(tmp_path / "run"), early_stopping_patience=0)
    base.update(kw)
    return TrainConfig(str(data), **base)


def _ticking_clock(step: float = 1.0):
    counter = itertools.count()
    return lambda: next(counter) * step  # every call is `step` seconds later: every batch gets its own event


def test_events_arrive_in_order_with_every_batch(tiny_dataset, tmp_path):
    events = []
    result = train(_config(tiny_dataset, tmp_path, epochs=3, recipe="manual"), on_event=events.append,
                   clock=_ticking_clock())
    kinds = [type(e) for e in events]
    assert kinds[0] is PhaseChanged and TrainingStarted in kinds and kinds[-1] is TrainingFinished
    started = next(e for e in events if isinstance(e, TrainingStarted))
    assert started.classes == ("blue", "green", "red") and started.phases == ("head",)
    assert (started.n_train, started.n_val, started.n_test) == (18, 6, 6)
    order = [kinds.index(k) for k in (TrainingStarted, FeaturesExtracting, EpochEnded, TrainingFinished)]
    assert order == sorted(order)
    extracting = [e for e in events if isinstance(e, FeaturesExtracting)]
    assert extracting[-1].done == extracting[-1].total == 30
    steps = [s for e in events if isinstance(e, BatchesEnded) for s in e.steps]
    assert steps == list(range(1, 3 * started.steps_per_epoch + 1))  # no batch lost, none repeated
    batches = [e for e in events if isinstance(e, BatchesEnded)]
    assert all(len(e.batch_losses) == len(e.running_loss) == len(e.steps) for e in batches)
    first_epoch = [e for e in batches if e.epoch == 1]
    # the running mean of the per-batch losses (weighted by batch size) is what Keras reports
    losses = [x for e in first_epoch for x in e.batch_losses]
    sizes = [4] * (len(losses) - 1) + [18 - 4 * (len(losses) - 1)]
    assert np.average(losses, weights=sizes) == pytest.approx(first_epoch[-1].running_loss[-1], rel=1e-4)
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert result.outcome == "completed" and events[-1].model_path == result.model_path


def test_a_frozen_backbone_without_pretrained_weights_is_refused_before_any_work(tiny_dataset, tmp_path, capsys):
    from foveal.core.cli import main as cli_main

    for kw in ({}, {"fine_tune": "all", "fine_tune_epochs": 0}, {"fine_tune": "last:2"}):
        with pytest.raises(ConfigError, match="random features") as caught:
            train(_config(tiny_dataset, tmp_path, weights="none", **kw))
        assert "--weights PATH" in str(caught.value) and "--fine-tune all" in str(caught.value)
    assert not (tmp_path / "run").exists()
    assert cli_main(["train", str(tiny_dataset), "--weights", "none", "--out", str(tmp_path / "cli")]) != 0
    assert "random features" in capsys.readouterr().err and not (tmp_path / "cli").exists()
    # Training everything from scratch is allowed.
    TrainConfig(str(tiny_dataset), weights="none", fine_tune="all").validate()


def test_batches_are_coalesced_without_loss(tiny_dataset, tmp_path):
    events = []
    train(_config(tiny_dataset, tmp_path, epochs=2, recipe="manual"), on_event=events.append, clock=lambda: 0.0)
    batches = [e for e in events if isinstance(e, BatchesEnded)]
    assert len(batches) == 2  # a frozen clock never reaches 100 ms: one flush per epoch end
    assert [s for e in batches for s in e.steps] == list(range(1, 2 * 5 + 1))


def test_cancel_stops_within_one_batch_and_keeps_the_best(tiny_dataset, tmp_path):
    token = CancelToken()
    events = []

    def on_event(e):
        events.append(e)
        if isinstance(e, BatchesEnded) and e.epoch == 2 and e.steps[-1] == 8:
            token.cancel()

    result = train(_config(tiny_dataset, tmp_path, epochs=5, recipe="manual"), on_event=on_event, cancel=token,
                   clock=_ticking_clock())
    steps = [s for e in events if isinstance(e, BatchesEnded) for s in e.steps]
    assert steps[-1] == 8  # the batch during which cancel was asked is the last one
    # the interrupted epoch 2 is validated as it stands; the best of the two epochs is kept
    assert result.outcome == "cancelled" and len(result.history) == 2
    best = 1 + min(range(2), key=lambda i: result.history[i]["val_loss"])
    assert result.best_epoch == best
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["outcome"] == "cancelled" and run["best_epoch"] == best
    assert (tmp_path / "run" / "model.keras").exists()


def test_cancel_during_feature_extraction(tiny_dataset, tmp_path):
    token = CancelToken()

    def on_event(e):
        if isinstance(e, FeaturesExtracting):
            token.cancel()

    result = train(_config(tiny_dataset, tmp_path), on_event=on_event, cancel=token)
    assert result.outcome == "cancelled" and result.model_path is None and result.best_epoch is None


def test_run_folder_and_saved_model_predicts_like_the_run(tiny_dataset, tmp_path, mobilenet_v2_weights):
    import keras

    config = _config(tiny_dataset, tmp_path, weights=str(mobilenet_v2_weights), image_size=64, epochs=8,
                     batch_size=8, learning_rate=3e-3, recipe="manual")  # the dense head's epochs are checked
    result = train(config)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["classes"] == ["blue", "green", "red"] and run["seed"] == 1234
    assert {k: len(v) for k, v in run["split"].items()} == {"train": 18, "val": 6, "test": 6}
    assert run["versions"]["tensorflow"] and run["history"][0]["epoch"] == 1
    assert run["test"]["accuracy"] == pytest.approx(result.test_accuracy)
    model = keras.saving.load_model(result.model_path, safe_mode=True)
    files = [tiny_dataset / item["file"] for item in run["split"]["test"]]
    truth = np.array([run["classes"].index(item["class"]) for item in run["split"]["test"]])
    # Foveal's own path: decode at the model's size; the saved model must reproduce the run's test accuracy
    at_size = np.stack([decode_image(f, size=64) for f in files]).astype(np.float32)
    probs = model.predict(at_size, verbose=0)
    assert float(np.mean(probs.argmax(1) == truth)) == pytest.approx(result.test_accuracy)
    assert result.test_accuracy >= 0.8  # real ImageNet features separate these colours easily
    # raw images at their own size are resized inside the model and classified the same way
    raw = np.stack([decode_image(f) for f in files]).astype(np.float32)
    assert raw.shape[1:3] == (40, 40)
    assert np.mean(model.predict(raw, verbose=0).argmax(1) == probs.argmax(1)) >= 5 / 6


def test_saved_model_equals_in_memory_model(tmp_path, mobilenet_v2_weights):
    import keras

    from foveal.core.models import get_backbone
    from foveal.core.models.build import assemble_classifier, build_backbone, build_head

    spec = get_backbone("MobileNetV2")
    model = assemble_classifier(build_backbone(spec, 64, str(mobilenet_v2_weights)), build_head(1280, 3), spec, 64)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    rng = np.random.default_rng(1)
    for shape in [(2, 64, 64, 3), (1, 120, 90, 3), (3, 30, 50, 3)]:
        x = rng.integers(0, 255, shape).astype(np.float32)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_same_seed_same_split(tiny_dataset, tmp_path):
    from foveal.core.data import scan_dataset
    from foveal.core.split.make import make_split

    s = scan_dataset(tiny_dataset)
    a, b = make_split(s, 0.2, 0.2, 7), make_split(s, 0.2, 0.2, 7)
    assert a.to_dict() == b.to_dict()
    assert make_split(s, 0.2, 0.2, 8).to_dict() != a.to_dict()
    for split in (a.train, a.val, a.test):
        assert {r.label for r in split} == {"red", "green", "blue"}  # stratified
    names = [r.rel for r in a.train + a.val + a.test]
    assert len(names) == len(set(names)) == 30


@pytest.mark.parametrize("kw, error, match", [
    (dict(backbone="ResNet5O"), ConfigError, "Unknown backbone"),
    (dict(epochs=0), ConfigError, "epochs must be between 1 and 10000"),
    (dict(backbone="InceptionV3", image_size=40), ConfigError, "at least 75×75"),
    (dict(fine_tune="last:99", image_size=32), ConfigError, "has 16 blocks"),
])
def test_bad_configs_are_clear_errors(tiny_dataset, tmp_path, kw, error, match):
    with pytest.raises(error, match=match):
        train(_config(tiny_dataset, tmp_path, **kw))


def test_one_class_and_run_dir_inside_dataset_are_refused(tmp_path, tiny_dataset):
    lonely = factory.make_class_folder(tmp_path / "lonely", {"only": 5})
    with pytest.raises(DatasetError, match="at least two class folders"):
        train(_config(lonely, tmp_path))
    with pytest.raises(ConfigError, match="never writes there"):
        train(_config(tiny_dataset, tmp_path, out_dir=str(tiny_dataset / "runs")))


def test_fine_tune_runs_both_phases(tiny_dataset, tmp_path):
    events = []
    result = train(_config(tiny_dataset, tmp_path, fine_tune="last:2", epochs=1, fine_tune_epochs=1),
                   on_event=events.append)
    phases = [e.phase for e in events if isinstance(e, PhaseChanged)]
    assert phases.index("head") < phases.index("fine-tune") < phases.index("evaluating")
    assert [e.phase for e in events if isinstance(e, EpochEnded)] == ["head", "fine-tune"]
    assert result.model_path and result.test_accuracy is not None


def test_frozen_fast_path_equals_plain_fit(mobilenet_v2_weights):
    """Training the head on cached features gives the same head as fitting the whole frozen model on images."""
    import keras

    from foveal.core.models import get_backbone
    from foveal.core.models.build import assemble_classifier, build_backbone, build_head
    from foveal.core.training.forward import forward_fn

    spec, size = get_backbone("MobileNetV2"), 64
    backbone = build_backbone(spec, size, str(mobilenet_v2_weights))
    backbone.trainable = False
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (12, size, size, 3), dtype=np.uint8)
    labels = np.arange(12) % 3
    fast, plain = build_head(spec.feature_dim, 3, dropout=0.0), build_head(spec.feature_dim, 3, dropout=0.0)
    plain.set_weights(fast.get_weights())
    start = [w.copy() for w in fast.get_weights()]
    fast.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    fast.fit(forward_fn(backbone, spec, size)(images), labels, batch_size=4, epochs=3, shuffle=False, verbose=0)
    full = assemble_classifier(backbone, plain, spec, size, fixed_size=True)
    full.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    full.fit(images.astype(np.float32), labels, batch_size=4, epochs=3, shuffle=False, verbose=0)
    for a, b, s in zip(fast.get_weights(), plain.get_weights(), start, strict=True):
        assert not np.allclose(a, s)  # it learned something
        np.testing.assert_allclose(a, b, atol=2e-4)


def test_top_blocks_train_the_same_on_cached_boundary_activations(mobilenet_v2_weights):
    """last:N fine-tuning on cached activations at the freeze boundary equals fine-tuning the whole model."""
    import keras

    from foveal.core.models import get_backbone
    from foveal.core.models.build import (
        FineTune,
        apply_fine_tune,
        assemble_classifier,
        blocks_of,
        build_backbone,
        build_head,
        preprocess_layer,
    )

    spec, size = get_backbone("MobileNetV2"), 64
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (8, size, size, 3)).astype(np.float32)
    labels = np.arange(8) % 2
    head_init = build_head(spec.feature_dim, 2, dropout=0.0).get_weights()
    trained = []
    for cached in (False, True):
        backbone = build_backbone(spec, size, str(mobilenet_v2_weights))
        apply_fine_tune(backbone, spec, FineTune("last", 1))
        head = build_head(spec.feature_dim, 2, dropout=0.0)
        head.set_weights(head_init)
        if cached:
            cut = blocks_of(backbone, spec)[-2].last
            boundary = backbone.layers[cut].output
            bottom = keras.Model(backbone.input, boundary)
            top = keras.Model(boundary, backbone.output)
            x = np.asarray(bottom(preprocess_layer(spec)(images), training=False))
            inp = keras.Input(x.shape[1:])
            out = keras.layers.GlobalAveragePooling2D()(top(inp, training=False))
            model = keras.Model(inp, head.layers[-1](head.layers[1](out)))
        else:
            model, x = assemble_classifier(backbone, head, spec, size, fixed_size=True), images
        before = [w.copy() for w in backbone.get_weights()[-6:]] + head.get_weights()
        model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
        model.fit(x, labels, batch_size=4, epochs=2, shuffle=False, verbose=0)
        after = [w.copy() for w in backbone.get_weights()[-6:]] + head.get_weights()
        trained.append([a - b for a, b in zip(after, before, strict=True)])
    # The claim is about what training does to the weights: compare the updates, not the weights. oneDNN sums in
    # an order that depends on what ran before in the process, so the two paths differ by float32 rounding: about
    # 1e-7 relative per operation, a few 1e-4 of an update after 4 steps through 17 blocks. 1% of the update's norm
    # is far above that and far below a wrong update (a layer that does not learn misses by 100%). A bias whose
    # gradient nearly cancels (balanced classes) moves by ~1e-6 and its update is mostly that rounding: 1e-7
    # absolute, still far below its own update.
    for i, (full, cached) in enumerate(zip(*trained, strict=True)):
        scale = np.linalg.norm(full)
        assert scale > 0, f"weight tensor {i} did not change in full fine-tuning"
        assert np.linalg.norm(full - cached) <= 1e-2 * scale + 1e-7, f"weight tensor {i} updated differently"


def test_fine_tune_last_blocks_caches_the_frozen_part(tiny_dataset, tmp_path, mobilenet_v2_weights):
    events = []
    result = train(_config(tiny_dataset, tmp_path, weights=str(mobilenet_v2_weights), image_size=64,
                           fine_tune="last:2", epochs=2, fine_tune_epochs=2), on_event=events.append)
    descriptions = [e.description for e in events if isinstance(e, PhaseChanged)]
    assert any("Preparing fine-tuning" in d and "all but the last 2 blocks" in d for d in descriptions)
    assert [e.phase for e in events if isinstance(e, EpochEnded)] == ["head", "head", "fine-tune", "fine-tune"]
    assert result.outcome == "completed" and result.test_accuracy is not None
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["timings"]["fine_tune"] > 0 and run["fine_tune"] == "last:2"
