"""``train(config, *, on_event, cancel)``: the one blocking entry point the CLI and the window both call.

The recipe is the Keras transfer-learning guide's: train a new head on the frozen backbone, then (if asked)
unfreeze the chosen top blocks and continue at a lower learning rate, BatchNormalization in inference mode.
The frozen phase never runs the backbone more than once per image: features are extracted once and the head
trains on them for every epoch (plus a fixed number of augmented copies when augmentation is on).
"""

from __future__ import annotations

import functools
import logging
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.data.scan import DatasetSummary, scan_dataset
from foveal.core.errors import listing
from foveal.core.io import atomic_path, check_target, make_dirs, temp_dir, write_json
from foveal.core.models.build import (
    FineTune,
    assemble_classifier,
    blocks_of,
    build_backbone,
    build_head,
    check_depth,
    pooling_width,
)
from foveal.core.models.familiar import Familiarity
from foveal.core.models.registry import BackboneSpec, Weights, get_backbone
from foveal.core.runs import end_run_folder
from foveal.core.split.make import SPLITS, Split
from foveal.core.split.plan import prepare_split
from foveal.core.split.preview import class_gaps
from foveal.core.training.auto_head import (
    candidate_poolings,
    choose_head,
    kept_frozen_head,
    larger_size,
    record_fitted_head,
)
from foveal.core.training.calibrate import Calibration
from foveal.core.training.config import TrainConfig
from foveal.core.training.devices import DevicePlan, precision, setup
from foveal.core.training.events import (
    Event,
    FeaturesExtracting,
    Phase,
    PhaseChanged,
    TrainingFinished,
    TrainingStarted,
    WeightsDownloading,
)
from foveal.core.training.features import DECODE_BATCH, extract_features
from foveal.core.training.feed import array_dataset, class_weights, multi_worker_fixes
from foveal.core.training.fine_tune import extract_cached, fine_tune_phase
from foveal.core.training.forward import augmenter, float32_copy, forward_fn
from foveal.core.training.heldout import measure_and_save, result_notes, test_result
from foveal.core.training.lost import stop_if_lost
from foveal.core.training.mislabels import MISLABELS_FILE, run_suspects, write_suspects
from foveal.core.training.recipe import RecipeChoice
from foveal.core.training.runfolder import prepare_run_dir, run_record, scan_skip_words
from foveal.core.training.tracker import RunTracker

log = logging.getLogger(__name__)


#: What ``train`` returns: its last event, the same object the ``on_event`` callback received.
TrainResult = TrainingFinished


def train(config: TrainConfig, *, on_event: Callable[[Event], None] | None = None,
          cancel: CancelToken | None = None, clock: Callable[[], float] = time.monotonic) -> TrainResult:
    """Train a classifier as ``config`` says and write its run folder.

    Blocks until done; call it on a worker thread from a GUI. ``on_event`` receives every event of
    :mod:`core.training.events` in order, on the calling thread. ``cancel`` stops the run within one batch;
    the best weights so far are kept and saved, and the outcome is ``cancelled``.

    Raises
    ------
    FovealError
        For problems with the data, the settings or the weights, before or during the run.
    """
    run = _Run(config, on_event or (lambda e: None), cancel or CancelToken(), clock)
    try:
        return run.execute()
    finally:
        run.cleanup()



Arrays = tuple[np.ndarray, np.ndarray]  # (inputs, labels) of one split


class _Run:
    """One run's state. Each phase's outputs are named here, ``None`` or empty until the phase made them."""

    def __init__(self, config: TrainConfig, emit: Callable[[Event], None], cancel: CancelToken,
                 clock: Callable[[], float]) -> None:
        self.config, self.emit, self.cancel, self.clock = config, emit, cancel, clock
        self.timings: dict[str, float] = {}
        self.failed: list[tuple[str, str]] = []
        self.blank: list[str] = []
        self.tracker = RunTracker()
        # _prepare: the backbone chosen, the dataset and its split.
        self.spec: BackboneSpec = get_backbone(config.backbone)
        self.depth: FineTune = config.depth
        self.size: int = config.image_size or self.spec.input_size
        self.summary: DatasetSummary
        self.split: Split = Split((), (), ())
        self.split_info: dict[str, Any] = {}
        self.classes: tuple[str, ...] = ()
        self.class_index: dict[str, int] = {}
        # setup: devices, and the batch size and learning rate scaled to them.
        self.plan: DevicePlan
        self.strategy: Any = None  # a tf.distribute.Strategy
        self.batch, self.learning_rate = config.batch_size, config.learning_rate
        # _make_run_dir: the run folder, its cache and the checkpoint of the best weights so far.
        self.run_dir: Path
        self.cache_dir: Path
        self.checkpoint: Path
        self.folder_made: Path | None = None  # what cleanup() ends, once made
        self.is_chief = True
        # _build: the Keras models (typed Any: Keras has no type information).
        self.backbone: Any = None
        self.head: Any = None
        self.augmenter: Any = None
        self.n_blocks = 0
        # The automatic recipe (any run with pretrained weights): what was tried, and what won.
        self.auto = config.recipe == "auto" and config.weights_source != Weights.NONE
        self.recipe: RecipeChoice | None = None
        self.larger: tuple[int, Any, dict[str, Arrays]] | None = None  # (size, backbone, features) also tried
        self.pooling = "avg"
        self.class_weight_mode = config.class_weights
        self.head_fitted = False  # a linear head fitted directly (no epochs)
        # A frozen linear head fitted on training and validation images: out-of-fold logits and labels of those
        # images, which its calibration and two-class threshold are set on instead of the validation images.
        self.out_of_fold: tuple[np.ndarray, np.ndarray] | None = None
        # _finish: how familiar an image looks to the model (core.models.familiar), and the test split's share
        # flagged unfamiliar.
        self.familiarity: Familiarity | None = None
        self.test_unfamiliar: float | None = None
        self.suspects: list | None = None  # suspected mislabels (core.training.mislabels)
        self.calibration: Calibration | None = None  # the temperature (core.training.calibrate)
        self.operating: dict | None = None  # two classes: the threshold chosen on the validation images
        # _head_phase: pooled features per split; fine-tuning also keeps the decoded images.
        self.features: dict[str, Arrays] = {}
        self.images: dict[str, Arrays] = {}
        # _fine_tune_phase: the model that fine-tuned and its inputs per split (images or cached activations).
        self.trained_model: Any = None
        self.trained_inputs: dict[str, Arrays] = {}

    # ---- the run ---------------------------------------------------------------------------------------
    def execute(self) -> TrainResult:
        start = self.clock()
        self.config.validate()
        self._prepare()  # the dataset first: its problems are reported before any device is set up
        self.emit(PhaseChanged(Phase.PREPARING, "Finding the devices to train on"))
        self.plan, self.strategy = setup(self.config)
        self.batch, self.learning_rate = self.plan.scaled(self.config.batch_size, self.config.learning_rate)
        self.emit(PhaseChanged(Phase.PREPARING, "; ".join((f"Training on {self.plan.describe()}",) + self.plan.notes)))
        self._make_run_dir()
        self.timings["prepare"] = self.clock() - start
        with precision(self.plan.mixed_precision):
            with self.strategy.scope():
                self._build()
                self.timings["build"] = self.clock() - start - self.timings["prepare"]
                try:
                    self._head_phase()
                    if self.depth.kind != "frozen" and self.config.total_fine_tune_epochs > 0 and not self._stopped():
                        fine_tune_phase(self)
                        kept_frozen_head(self)
                except Cancelled:
                    self.tracker.cancelled = True
            # Outside the strategy: the test pass still runs on every replica (the models keep their strategy),
            # and saving creates no variable that the workers would have to agree on.
            return self._finish(self.clock() - start)

    def cleanup(self) -> None:
        """A worker that is not the chief leaves nothing behind, even when the run failed; a chief's failed run
        keeps only what says what it was (run_config.json), without caches or checkpoints."""
        if self.folder_made is not None:
            end_run_folder(self.folder_made, chief=self.is_chief)

    def _stopped(self) -> bool:
        return self.tracker.cancelled or self.cancel.cancelled

    def _prepare(self) -> None:
        c = self.config
        self.emit(PhaseChanged(Phase.PREPARING, f"Scanning {c.data_dir}"))
        self.summary = scan_dataset(c.data_dir)
        self.summary.require_trainable()
        for words in scan_skip_words(self.summary):  # never silently left out: run.json lists each
            self.emit(PhaseChanged(Phase.PREPARING, f"Warning: {words}."))
        self.split, self.split_info = prepare_split(self.summary, c.split_spec)
        if self.split_info.get("grouping_warning"):
            self.emit(PhaseChanged(Phase.PREPARING, f"Warning: {self.split_info['grouping_warning']}"))
        self.classes = tuple(self.summary.classes)
        for words in class_gaps(self.split, self.classes):  # said again with the result
            self.emit(PhaseChanged(Phase.PREPARING, f"Warning: {words}."))
        self.class_index = {name: i for i, name in enumerate(self.classes)}

    def _make_run_dir(self) -> None:
        c = self.config
        # Only the chief writes the run folder; other workers of a multi-worker job keep theirs in a temp folder.
        self.is_chief = self.plan.is_chief
        self.run_dir = self.folder_made = prepare_run_dir(c) if self.is_chief else temp_dir("foveal-worker-")
        self.cache_dir = self.run_dir / ".cache"
        make_dirs(self.cache_dir)
        # The best weights so far, until model.keras exists.
        self.checkpoint = check_target(self.run_dir / "checkpoint.weights.h5")

    def _build(self) -> None:
        import keras

        c = self.config
        keras.utils.set_random_seed(c.seed)
        weights = c.weights_source
        what: dict[Weights | str, str] = {Weights.IMAGENET: "ImageNet weights",
                                          Weights.NONE: "random initialisation (no pretrained weights)"}
        self.emit(PhaseChanged(Phase.PREPARING, f"Loading {self.spec.name} with {what.get(weights, str(weights))}"))
        self.backbone = build_backbone(self.spec, self.size, weights,
                                       on_download=lambda done, total: self.emit(WeightsDownloading(done, total)))
        self.backbone.trainable = False
        self.n_blocks = len(blocks_of(self.backbone, self.spec))
        check_depth(self.spec, self.depth, self.n_blocks)  # before any image is decoded
        self.head = build_head(self.spec.feature_dim, len(self.classes), c.dropout)
        self.augmenter = augmenter(c.seed) if c.augment else None
        n_train = len(self.split.train) * (1 + (c.augment_copies if c.augment else 0))
        fine_tunes = self.depth.kind != "frozen" and c.total_fine_tune_epochs > 0
        phases = (Phase.HEAD,) + ((Phase.FINE_TUNE,) if fine_tunes else ())
        self.emit(TrainingStarted(
            run_dir=str(self.run_dir), backbone=self.spec.name, fine_tune=str(self.depth), classes=self.classes,
            n_train=len(self.split.train), n_val=len(self.split.val), n_test=len(self.split.test),
            epochs=c.epochs + (c.total_fine_tune_epochs if len(phases) > 1 else 0),
            steps_per_epoch=math.ceil(n_train / self.batch), phases=phases, weights=str(weights),
            device=self.plan.describe(), head_epochs=c.epochs))

    # ---- phase 1: features once, then the head ---------------------------------------------------------
    def _head_phase(self) -> None:
        c = self.config
        t0 = self.clock()
        total = sum(len(self.split.of(s)) for s in SPLITS)
        desc = f"Extracting features: one pass of {self.spec.name} over {total} images"
        self.emit(PhaseChanged(Phase.EXTRACTING, desc))
        poolings = candidate_poolings(self.backbone) if self.auto else "avg"
        if self.depth.kind == "frozen":
            self.features = self._extract_streaming(total, poolings)
            larger = larger_size(self.summary, self.size) if self.auto else None
            if larger is not None and not self._stopped():
                self._extract_larger(larger, total, poolings)
        else:
            self.features = extract_cached(self, total, poolings)
        if self.blank:
            self.emit(PhaseChanged(Phase.EXTRACTING, f"Warning: {len(self.blank)} image(s) are blank, every pixel the "
                                   f"same value (empty, constant or not-a-number data): {listing(self.blank)}. They "
                                   "are used as they are; check them, or move them out of the dataset."))
        stop_if_lost(self.split, self.failed)  # before any learning: a class gone from a split ends the run here
        self.timings["extract_features"] = self.clock() - t0
        t0 = self.clock()
        if self.auto and choose_head(self):
            if self.depth.kind != "frozen":
                record_fitted_head(self)  # fine-tuning must beat it to be kept
            self.timings["head"] = self.clock() - t0
            return
        self.emit(PhaseChanged(Phase.HEAD, f"Training the new head ({c.epochs} epochs)"
                               f"{self.plan.scaling_note(c.batch_size)}", first_epoch=1))
        train_x, train_y = self.features["train"]
        # No checkpoint file for the head: it retrains in seconds, and writing one each epoch costs as much.
        self._fit(self.head, train_x, train_y, self.features["val"], self.learning_rate, c.epochs, Phase.HEAD,
                  on_best=None)
        self.timings["head"] = self.clock() - t0

    def _extract_larger(self, size: int, total: int, poolings: str) -> None:
        """The automatic recipe on large images: the same features at a larger input size, to compare."""
        self.emit(PhaseChanged(Phase.EXTRACTING, f"Extracting features at {size} px too: the images are large, and "
                               f"small structures may show better than at {self.size} px"))
        backbone = build_backbone(self.spec, size, self.config.weights_source)
        backbone.trainable = False
        failed, blank = len(self.failed), len(self.blank)
        self.larger = (size, backbone, self._extract_streaming(total, poolings, backbone, size))
        del self.failed[failed:], self.blank[blank:]  # the same files again: said once

    def _extract_streaming(self, total: int, pooling: str = "avg", backbone: Any = None,
                           size: int | None = None) -> dict:
        c = self.config
        backbone, size = backbone or self.backbone, size or self.size
        forward = forward_fn(backbone, self.spec, size, pooling=pooling)
        aug_forward = (forward_fn(backbone, self.spec, size, self.augmenter, pooling=pooling)
                       if self.augmenter else None)
        out, offset = {}, 0
        for split in SPLITS:
            records = self.split.of(split)
            copies = c.augment_copies if (split == "train" and c.augment) else 0
            fs = extract_features(
                forward, records, self.class_index, size=size, batch_size=max(c.batch_size, DECODE_BATCH),
                feature_dim=sum(pooling_width(p, self.spec.feature_dim) for p in pooling.split("+")), copies=copies,
                augmented_forward=aug_forward,
                on_progress=functools.partial(self._on_features, offset, total, split),
                cancel=self.cancel, spill_dir=self.cache_dir, name=f"features_{split}")
            self.failed += fs.failed
            self.blank += fs.blank
            out[split] = (fs.features, fs.labels)
            offset += len(records)
        return out

    def _on_features(self, offset: int, total: int, split: str, done: int, _total: int) -> None:
        self.emit(FeaturesExtracting(offset + done, total, split))

    def _fit(self, model, x, y, val, learning_rate: float, epochs: int, phase: str, on_best,
             trial_epochs: int = 0) -> None:
        import keras

        from foveal.core.training.callback import EventCallback

        c, batch = self.config, self.batch
        steps = math.ceil(len(x) / batch)
        rate: Any = learning_rate
        if phase == Phase.FINE_TUNE:  # warm up over the first epoch (fresh Adam moments), then cosine decay
            rate = keras.optimizers.schedules.CosineDecay(0.0, max(1, steps * (epochs - 1)), alpha=0.1,
                                                          warmup_target=learning_rate, warmup_steps=steps)
        model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile="auto" if self.plan.xla is None else self.plan.xla)
        callback = EventCallback(phase=phase, tracker=self.tracker, emit=self.emit, cancel=self.cancel,
                                 steps_per_epoch=steps, n_samples=len(x),
                                 batch_size=batch, patience=c.early_stopping_patience, on_best=on_best,
                                 clock=self.clock, trial_epochs=trial_epochs)
        weights = class_weights(y, len(self.classes), self.class_weight_mode)
        train = array_dataset(x, y, batch, shuffle=True, seed=c.seed, class_weight=weights)
        val_data = array_dataset(val[0], val[1], batch, shuffle=False, seed=c.seed) if len(val[0]) else None
        if self.plan.strategy == "multi-worker":
            multi_worker_fixes(model, train)
        model.fit(train, epochs=epochs, validation_data=val_data, shuffle=False, verbose=0, callbacks=[callback])

    # ---- the end -----------------------------------------------------------------------------------------
    def _finish(self, seconds: float) -> TrainResult:
        t = self.tracker
        outcome = t.outcome
        model_path = acc = loss = None
        labels: list[str] = []  # the true class of each test image measured
        trained = t.best_epoch is not None or self.head_fitted
        if trained and self.plan.strategy == "multi-worker":
            acc, loss, labels = self._evaluate_collectively()  # every worker takes part; the chief keeps it
        if trained and self.plan.is_chief:
            t0 = self.clock()
            self.emit(PhaseChanged(Phase.SAVING, "Calibrating the confidence and saving the model"))
            model = self._assemble()
            model_path = str(self.run_dir / "model.keras")
            if self.plan.strategy != "multi-worker":
                measured = measure_and_save(self, model, self._save)
                acc, loss, labels = measured.accuracy, measured.loss, [self.classes[i] for i in measured.y]
            else:
                self._save(model)
            self.timings["save_and_measure"] = self.clock() - t0
        if trained and self.plan.is_chief:
            self.suspects = run_suspects(self)
            if self.suspects is not None:
                write_suspects(self.run_dir / MISLABELS_FILE, self.suspects)
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        test = test_result(self, acc, loss, labels)
        if self.plan.is_chief:  # run.json last: it marks the folder complete (without it, cleanup removes the model)
            write_json(self.run_dir / "run.json", run_record(self, outcome, model_path, test, seconds))
        run_dir = str(self.run_dir) if self.plan.is_chief else ""
        result = TrainingFinished(outcome, run_dir, model_path, acc, loss, t.best_epoch, self.classes,
                                  tuple(t.history), seconds, result_notes(self, test), test["headline"])
        self.emit(result)
        return result

    def _evaluate_collectively(self) -> tuple[float | None, float | None, list[str]]:
        """Multi-worker runs: the test pass is a collective step on the cached inputs (all workers at once)."""
        if self.depth.kind == "frozen" or self.trained_model is None:
            x, y = self.features["test"]
            model = self.head
        else:
            (x, y), model = self.trained_inputs["test"], self.trained_model
        if len(x) == 0:
            return None, None, []
        data = array_dataset(x, y, self.batch, shuffle=False, seed=0)
        if not model.compiled:  # a linear head is fitted, not trained: it has never been compiled
            with self.strategy.scope():
                model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        multi_worker_fixes(model, data)
        result = model.evaluate(data, verbose=0, return_dict=True)
        return float(result["accuracy"]), float(result["loss"]), [self.classes[int(i)] for i in y]

    def _assemble(self) -> Any:
        """The whole classifier as it is saved (the test pass runs the very same model)."""
        if self.plan.mixed_precision:  # the saved model is float32: it runs anywhere, CPUs included
            return float32_copy(self.backbone, self.head, self.spec, self.size, len(self.classes), self.config.dropout,
                                self.pooling)
        return assemble_classifier(self.backbone, self.head, self.spec, self.size, pooling=self.pooling)

    def _save(self, model: Any) -> None:
        self.backbone.trainable = False
        with atomic_path(self.run_dir / "model.keras") as tmp:
            model.save(tmp)
        self.checkpoint.unlink(missing_ok=True)
