"""How long a run will take, said before it starts: the run's own pass over the images, each extra pass of the
automatic recipe (core.training.passes), choosing the head, fine-tuning, and the whole run under each search.

The speed (seconds per image through the backbone at the run's own input size) is what this machine measured in
earlier runs (:class:`SpeedBook`, kept in Foveal's user data folder after each finished run), else a conservative
default: MobileNetV2's speed on a 2-core CPU (``benchmarks/bench_estimate.py``) scaled by each backbone's published
CPU time relative to it and by the pixels of the input size. A GPU is faster than the default says; once a run
has been made there, its own speed is used. Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import logging
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from foveal.core.errors import FovealError
from foveal.core.models.registry import CPU_MS, BackboneSpec, Weights, get_backbone
from foveal.core.training.config import TrainConfig
from foveal.core.training.passes import SEARCHES, WHY_LEFT, Pass, PassPlan, plan_passes

log = logging.getLogger(__name__)

#: Seconds per image of MobileNetV2 at 224 px on a 2-core CPU, decoding included (BUSI, about 500×500 PNGs):
#: measured by benchmarks/bench_estimate.py (0.032 s on 780 images; rounded up: a first run should not run late).
MOBILENET_V2_SECONDS = 0.035
#: Decoding and resizing alone, per image: the part of the speed that does not grow with the input size.
DECODE_SECONDS = 0.008
#: Each fine-tuning epoch, per training image, in passes of the frozen backbone: the top blocks learn (forward
#: and backward, "last:N" and "auto"); every layer learning costs about three passes.
FINE_TUNE_FACTOR = {"last": 1.5, "all": 3.0}
#: Choosing the head by cross-validation: some seconds, then this much per image (and half again per extra pass
#: whose features it also compares): measured 17 s on 120 images, 29 s on 780 (benchmarks/bench_estimate.py).
HEAD_SECONDS, HEAD_PER_IMAGE = 15.0, 0.02
#: Starting (the scan, TensorFlow, the backbone) and finishing (calibrating on the validation images, the
#: familiarity statistics and the test images through the saved model, the mislabel check): some seconds, then
#: about this many passes of the backbone per image (measured: 26 s on 120 BUSI images, 89 s on 780).
FIXED_SECONDS, FINISH_PASSES = 15.0, 3.0
#: A run's speed is remembered only from at least this many images: on fewer, starting up dominates.
MIN_IMAGES_REMEMBERED = 100
#: How many of a backbone's latest speeds are kept; their median is used.
KEPT_SPEEDS = 5
#: How each search is offered in words (the window's choice, the terminal's hint).
SEARCH_WORDS = {"quick": "quick", "auto": "thorough", "full": "everything"}


@dataclass(frozen=True)
class RunEstimate:
    """A run's time before it starts, in seconds: its own pass over every image (``extraction``), each extra pass
    (``passes``: its words and seconds), choosing the head, fine-tuning, starting and finishing (the scan,
    calibrating, measuring and saving), and the whole (``total``). ``searches`` holds each search's total (quick,
    auto, full); ``left_out`` the passes ``search`` leaves out to stay within the time budget, with their seconds.
    ``remembered``: the speed is this machine's own."""

    total: float
    extraction: float
    passes: tuple[tuple[str, float], ...]
    head: float
    fine_tune: float
    finishing: float
    search: str
    searches: tuple[tuple[str, float], ...]
    left_out: tuple[tuple[str, float], ...] = ()
    remembered: bool = False
    why_left: str = "budget"  # why ``left_out`` were (core.training.passes.WHY_LEFT)

    @property
    def parts(self) -> tuple[tuple[str, float], ...]:
        """Each part that takes time, in words, with its seconds: the run's own pass, each extra pass, choosing the
        head, fine-tuning (0 when the run does not fine-tune), starting and finishing."""
        return (("reading every image once", self.extraction), *self.passes, ("choosing how to learn", self.head),
                ("fine-tuning", self.fine_tune), ("starting, measuring and saving", self.finishing))

    def of(self, search: str) -> float:
        """The whole run's seconds under ``search``."""
        return dict(self.searches)[search]

    def plain(self, *, hints: bool = True) -> str:
        """The estimate in words, the parts that take time in brackets; ``hints``: name the ``--search`` option
        that shortens or lengthens it (the command line; the window offers its own choice)."""
        shown = ", ".join(f"{words} ({about(s)})" for words, s in self.parts if s >= 1)
        out = f"{about(self.total, start=True)} in all: {shown}."
        quick = self.of("quick")
        if self.search != "quick" and self.total - quick >= 30:
            out += f" A quick search takes {about(quick)}{' (--search quick)' if hints else ''}."
        if self.left_out:
            names = ", ".join(w for w, _ in self.left_out)
            more = about(sum(s for _, s in self.left_out))
            add = "--search full adds them" if hints else "everything adds them"
            out += f" {WHY_LEFT.get(self.why_left, WHY_LEFT['budget'])}: {names} ({add}, {more} more)."
        return out

    def to_dict(self) -> dict:
        """The estimate as run.json or a JSON event keeps it (seconds)."""
        return {"total": self.total, "extract_features": self.extraction, "passes": dict(self.passes),
                "head": self.head, "fine_tune": self.fine_tune, "finishing": self.finishing, "search": self.search,
                "searches": dict(self.searches), "remembered": self.remembered}


def about(seconds: float, *, start: bool = False) -> str:
    """``seconds`` rounded as a person says it: "a few seconds", "about 40 s", "about 6 min", "about 1.5 h" (never a
    precise count of seconds for minutes). ``start``: capitalised, to begin a sentence."""
    if seconds < 10:
        words = "a few seconds"
    elif seconds < 50:
        words = f"about {round(seconds / 10) * 10} s"
    elif seconds < 90:
        words = "about 1 min"
    elif seconds < 3600:
        words = f"about {round(seconds / 60)} min"
    elif seconds < 10 * 3600:
        words = f"about {round(seconds / 1800) / 2:g} h"
    else:
        words = f"about {round(seconds / 3600)} h"
    return words[0].upper() + words[1:] if start else words


def estimate_run(config: TrainConfig, sides: Sequence[int], n_train_val_test: int, *, n_train: int | None = None,
                 book: SpeedBook | None = None) -> RunEstimate:
    """How long the run ``config`` asks for should take on images of shorter sides ``sides`` (every usable image:
    they decide which extra passes the images support) of which ``n_train_val_test`` are in the split
    (``n_train`` of them training images; default: the usual 70%). ``book``: the speeds remembered (default:
    this machine's, from the user data folder)."""
    spec = get_backbone(config.backbone)
    size = config.image_size or spec.input_size
    book = SpeedBook.load() if book is None else book
    known = book.seconds_per_image(spec.name, size, config.devices)
    per_image = known if known is not None else default_speed(spec, size)
    n = max(0, n_train_val_test)
    n_train = round(0.7 * n) if n_train is None else n_train
    depth = config.depth
    frozen = depth.kind == "frozen"
    copies = config.augment_copies * n_train if config.augment and frozen else 0
    extraction = per_image * (n + copies)
    fine_tunes = not frozen and config.total_fine_tune_epochs > 0
    auto = config.recipe == "auto" and config.weights_source != Weights.NONE
    plans = {s: plan_passes(sides, size, search=s, fine_tunes=fine_tunes) if auto else PassPlan((), (), n, size)
             for s in SEARCHES}
    factor = FINE_TUNE_FACTOR["all" if depth.kind == "all" else "last"]
    fine = config.total_fine_tune_epochs * n_train * per_image * factor if fine_tunes else 0.0

    def seconds_of(p: Pass) -> float:  # every image, and a frozen run's augmented copies, through the pass
        return p.cost(size) * per_image * (n + copies)

    finishing = FIXED_SECONDS + FINISH_PASSES * per_image * n

    def total(plan: PassPlan) -> float:
        extra = sum(seconds_of(p) for p in plan.kept)
        return extraction + extra + head_seconds(config, n, n_train, len(plan.kept), auto) + fine + finishing

    chosen = plans[config.search]
    return RunEstimate(
        total=total(chosen), extraction=extraction, passes=tuple((p.plain(), seconds_of(p)) for p in chosen.kept),
        head=head_seconds(config, n, n_train, len(chosen.kept), auto), fine_tune=fine, finishing=finishing,
        search=config.search,
        searches=tuple((s, total(plans[s])) for s in SEARCHES),
        left_out=tuple((p.plain(), seconds_of(p)) for p in chosen.left_out), remembered=known is not None,
        why_left=chosen.why)


def head_seconds(config: TrainConfig, n: int, n_train: int, extra_passes: int, auto: bool) -> float:
    """Choosing the head by cross-validation on the features (each extra pass adds its own candidates), or
    training the dense head for its epochs on them (the manual recipe)."""
    if auto:
        return HEAD_SECONDS + HEAD_PER_IMAGE * n * (1 + 0.5 * extra_passes)
    return 2.0 + config.epochs * n_train * 2e-4


def default_speed(spec: BackboneSpec, size: int) -> float:
    """Seconds per image for a backbone this machine has not measured: MobileNetV2's on a 2-core CPU, scaled by the
    backbone's published CPU time (at its own input size) and by the pixels at ``size``."""
    ms = CPU_MS.get(spec.name, CPU_MS["MobileNetV2"] * max(1.0, spec.params_m / 3.5))
    relative = ms / CPU_MS["MobileNetV2"]
    forward = (MOBILENET_V2_SECONDS - DECODE_SECONDS) * relative * (size / spec.input_size) ** 2
    return DECODE_SECONDS + forward


def scaled_speed(seconds: float, measured_at: int, size: int) -> float:
    """A speed measured at one input size, at another: the backbone's part grows with the pixels, decoding not."""
    forward = max(0.0, seconds - DECODE_SECONDS)
    return min(seconds, DECODE_SECONDS) + forward * (size / measured_at) ** 2


def speeds_file() -> Path:
    """Where this machine's measured speeds are kept (Foveal's user data folder)."""
    from foveal.core.paths import user_data_dir

    return user_data_dir() / "speeds.json"


@dataclass
class SpeedBook:
    """The speeds this machine measured: per backbone, input size and devices setting, the seconds per image of
    the latest runs' own pass (at most :data:`KEPT_SPEEDS` each)."""

    path: Path
    speeds: dict[str, list[float]]

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> SpeedBook:
        """The speeds kept in ``path`` (default :func:`speeds_file`); none when it is missing or damaged."""
        import json

        p = Path(path) if path is not None else speeds_file()
        try:
            data = json.loads(p.read_bytes()[:1_000_000]) if p.is_file() else {}
            raw = data.get("speeds", {}) if isinstance(data, dict) else {}
            speeds = {str(k): [float(x) for x in v if isinstance(x, int | float) and 0 < x < 1e3][-KEPT_SPEEDS:]
                      for k, v in raw.items() if isinstance(v, list)}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.info("remembered speeds not read from %s: %s", p, exc)
            speeds = {}
        return cls(p, {k: v for k, v in speeds.items() if v})

    @staticmethod
    def key(backbone: str, size: int, devices: str) -> str:
        return f"{backbone}@{size}/{devices}"

    def seconds_per_image(self, backbone: str, size: int, devices: str) -> float | None:
        """The speed remembered for ``backbone`` at ``size`` (else at the nearest size measured, scaled), or None."""
        exact = self.speeds.get(self.key(backbone, size, devices))
        if exact:
            return statistics.median(exact)
        others = [(int(k.split("@")[1].split("/")[0]), v) for k, v in self.speeds.items()
                  if k.startswith(f"{backbone}@") and k.endswith(f"/{devices}") and k.split("@")[1].split("/")[0]
                  .isdigit()]
        if not others:
            return None
        measured_at, values = min(others, key=lambda o: abs(o[0] - size))
        return scaled_speed(statistics.median(values), measured_at, size)

    def remember(self, backbone: str, size: int, devices: str, seconds_per_image: float) -> None:
        """Keep one more measured speed (a folder that cannot be written costs the next estimate, nothing else)."""
        from foveal.core.errors import WriteError
        from foveal.core.io import make_dirs, write_json

        key = self.key(backbone, size, devices)
        self.speeds[key] = (self.speeds.get(key, []) + [seconds_per_image])[-KEPT_SPEEDS:]
        try:
            make_dirs(self.path.parent)
            write_json(self.path, {"format": "foveal-speeds", "version": 1, "speeds": self.speeds})
        except (WriteError, OSError) as exc:
            log.info("measured speed not remembered in %s: %s", self.path, exc)


def remember_run(run_dir: str | os.PathLike[str], book: SpeedBook | None = None) -> float | None:
    """Remember the speed of the finished run in ``run_dir`` (its own pass's seconds per image, from run.json's
    timings) for the next estimate; the speed, or None when the run says none (too few images, no pass made)."""
    from foveal.core.runs import read_run

    try:
        record = read_run(run_dir)
    except FovealError as exc:
        log.info("no speed remembered from %s: %s", run_dir, exc)
        return None
    seconds = record.timings.steps.get("extract_features")
    n = sum(len(record.split.of(s)) for s in ("train", "val", "test"))
    settings = record.config.extra
    if not isinstance(seconds, int | float) or seconds <= 0 or n < MIN_IMAGES_REMEMBERED:
        return None
    if settings.get("augment") and record.fine_tune == "frozen":  # augmented copies went through the same pass
        return None
    try:
        spec = get_backbone(record.backbone.name)
    except FovealError:
        return None
    size = settings.get("image_size") or spec.input_size
    per_image = float(seconds) / n
    (book or SpeedBook.load()).remember(spec.name, int(size), str(settings.get("devices", "auto")), per_image)
    return per_image
