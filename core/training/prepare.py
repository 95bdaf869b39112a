"""The first phase of a run and the plan it leads to: the dataset scanned and split (its problems said before
any device is set up), then the devices, batch, learning rate and what the run will do, decided once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from foveal.core.data.scan import DatasetSummary, scan_dataset
from foveal.core.models.build import FineTune
from foveal.core.models.registry import BackboneSpec, Weights, get_backbone
from foveal.core.split.make import Split
from foveal.core.split.plan import prepare_split
from foveal.core.split.preview import class_gaps
from foveal.core.training.context import RunContext
from foveal.core.training.devices import DevicePlan, setup
from foveal.core.training.estimate import RunEstimate, estimate_run
from foveal.core.training.events import DataWarning, Phase, PhaseChanged, RunEstimated
from foveal.core.training.passes import PassPlan, plan_passes
from foveal.core.training.runfolder import scan_skip_words

#: Images whose median shorter side is at least this many times the input size are also tried at this many times
#: the input size: small structures (cells in a smear, a lesion's edge) are lost when a large image is shrunk.
LARGER = 1.5


@dataclass(frozen=True)
class Prepared:
    """The dataset as the run uses it: what the scan found, the split and how it was made, the classes."""

    summary: DatasetSummary
    split: Split
    split_info: dict[str, Any]
    classes: tuple[str, ...]

    @cached_property
    def class_index(self) -> dict[str, int]:
        """Each class's label number (its place in ``classes``)."""
        return {name: i for i, name in enumerate(self.classes)}


def prepare(ctx: RunContext) -> Prepared:
    """Scan and split the dataset, saying each problem with the data as a :class:`DataWarning` (never silently
    left out: run.json lists each again)."""
    c = ctx.config
    ctx.emit(PhaseChanged(Phase.PREPARING, f"Scanning {c.data_dir}"))
    summary = scan_dataset(c.data_dir)
    summary.require_trainable()
    for words in scan_skip_words(summary):
        ctx.emit(DataWarning(Phase.PREPARING, f"{words}."))
    split, split_info = prepare_split(summary, c.split_spec)
    if split_info.get("grouping_warning"):
        ctx.emit(DataWarning(Phase.PREPARING, str(split_info["grouping_warning"])))
    classes = tuple(summary.classes)
    for words in class_gaps(split, classes):  # said again with the result
        ctx.emit(DataWarning(Phase.PREPARING, f"{words}."))
    return Prepared(summary, split, split_info, classes)


@dataclass(frozen=True)
class RunPlan:
    """How the run goes, decided once: the backbone at its input size, the devices with the batch size and
    learning rate scaled to them, whether fine-tuning follows the head and whether the automatic recipe chooses
    the head (and at which larger input size it also looks)."""

    spec: BackboneSpec
    depth: FineTune
    size: int
    devices: DevicePlan
    strategy: Any  # a tf.distribute.Strategy (TensorFlow has no type information)
    batch: int
    learning_rate: float
    #: The automatic recipe chooses the head (any run with pretrained weights, unless the recipe is manual).
    auto: bool
    #: Fine-tuning follows the head: a depth other than frozen, with fine-tuning epochs.
    fine_tunes: bool
    #: The extra passes the automatic recipe makes (larger sizes, rotations and flips, tiles), and those it
    #: leaves out to stay within its budget (core.training.passes).
    passes: PassPlan = PassPlan((), (), 0, 0)
    #: How long the run was expected to take, said before it started (core.training.estimate).
    estimate: RunEstimate | None = None

    @property
    def frozen(self) -> bool:
        """The backbone never learns: features stream through it once; no decoded images are kept."""
        return self.depth.kind == "frozen"


def larger_size(summary: DatasetSummary, size: int) -> int | None:
    """The larger input size the automatic recipe also tries on these images (None: they are not large)."""
    sides = sorted(min(r.info.width, r.info.height) for r in summary.images)
    if not sides or sides[len(sides) // 2] < LARGER * size:
        return None
    return min(1024, int(LARGER * size) // 8 * 8)  # e.g. 224 → 336 px


def plan_run(ctx: RunContext, prepared: Prepared) -> RunPlan:
    """Set up the devices (after the dataset: its problems come first) and decide the run's plan."""
    c = ctx.config
    ctx.emit(PhaseChanged(Phase.PREPARING, "Finding the devices to train on"))
    devices, strategy = setup(c)
    batch, learning_rate = devices.scaled(c.batch_size, c.learning_rate)
    ctx.emit(PhaseChanged(Phase.PREPARING, "; ".join((f"Training on {devices.describe()}",) + devices.notes)))
    spec, depth = get_backbone(c.backbone), c.depth
    size = c.image_size or spec.input_size
    auto = c.recipe == "auto" and c.weights_source != Weights.NONE
    fine_tunes = depth.kind != "frozen" and c.total_fine_tune_epochs > 0
    passes = run_passes(prepared, size, c.search, fine_tunes=fine_tunes) if auto else PassPlan((), (), 0, size)
    estimate = say_estimate(ctx, prepared)
    return RunPlan(spec, depth, size, devices, strategy, batch, learning_rate, auto, fine_tunes, passes, estimate)


def say_estimate(ctx: RunContext, prepared: Prepared) -> RunEstimate:
    """How long the run should take, said before any image is read (core.training.estimate)."""
    sides = [min(r.info.width, r.info.height) for r in prepared.summary.images]
    split = prepared.split
    estimate = estimate_run(ctx.config, sides, len(split.train) + len(split.val) + len(split.test),
                            n_train=len(split.train))
    ctx.emit(RunEstimated(estimate.total, estimate.plain(), estimate.search, estimate.parts, estimate.searches))
    return estimate


def run_passes(prepared: Prepared, size: int, search: str, *, fine_tunes: bool) -> PassPlan:
    """The automatic recipe's extra passes over the training and validation images (core.training.passes); a
    run that fine-tunes starts from the same candidates, larger sizes included."""
    sides = [min(r.info.width, r.info.height) for r in prepared.summary.images]
    plan = plan_passes(sides, size, search=search, fine_tunes=fine_tunes)
    n = len(prepared.split.train) + len(prepared.split.val) + len(prepared.split.test)
    return PassPlan(plan.kept, plan.left_out, n, size, plan.why)
