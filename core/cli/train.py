"""``foveal train`` (one run or k-fold cross-validation), ``foveal backbones`` and ``foveal demo``."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from foveal.core.cli.options import FOLDS, IMAGE_SIZE, checked
from foveal.core.cli.scan import cmd_scan
from foveal.core.cli.split import add_split_options
from foveal.core.errors import WeightsError
from foveal.core.models.registry import Weights
from foveal.core.resources import samples_dir
from foveal.core.training.config import LIMITS, TrainConfig
from foveal.core.training.passes import SEARCHES

SAMPLES = samples_dir()


def _progress(args: argparse.Namespace):
    """Where a run's events go: JSON lines, or the terminal's progress (technical terms with --verbose)."""
    from foveal.core.training.events import PhaseChanged, RunEstimated
    from foveal.core.training.progress import TerminalProgress, json_lines

    if getattr(args, "json_events", False):
        return json_lines()
    shown = TerminalProgress(verbose=getattr(args, "verbose", False))
    scanned = getattr(args, "scanned", False)

    def on_event(event) -> None:
        if isinstance(event, RunEstimated):  # before any image is read: how long, and how to shorten it
            print(textwrap.fill(event.words, 80), file=shown.stream, flush=True)
        elif not (scanned and isinstance(event, PhaseChanged) and event.description.startswith("Scanning ")):
            shown(event)  # (the demo said "Scanning…" and showed the folder already)

    return on_event


def _run_training(config, args: argparse.Namespace) -> int:
    """Run ``train`` in the foreground: Ctrl-C or SIGTERM cancels cleanly, keeping the best model (exit code 130
    or 143; the same signal again aborts); temporary files go to a private folder removed at the end."""
    from foveal.core.cli.foreground import SignalStop, private_temp_folder
    from foveal.core.training import CancelToken, train
    from foveal.core.training.estimate import remember_run
    from foveal.core.training.events import Outcome

    stop = SignalStop(CancelToken())
    with private_temp_folder(), stop.installed():
        # The run's duration counts from when the command began: the time the person waited.
        result = train(config, on_event=_progress(args), cancel=stop.token, started=getattr(args, "started", None))
    if result.run_dir:  # this machine's speed, for the next run's estimate
        remember_run(result.run_dir)
    return 0 if result.outcome != Outcome.CANCELLED else stop.exit_code()


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    from foveal.core.config_file import load_config_file

    devices = {k: getattr(args, k) for k in ("distribute", "devices", "mixed_precision", "xla", "search")
               if getattr(args, k, None) is not None}
    if args.config:
        return load_config_file(args.config, data_dir=args.folder, out_dir=args.out, overrides=devices)
    return TrainConfig(
        data_dir=args.folder, backbone=args.backbone, fine_tune=args.fine_tune, epochs=args.epochs,
        fine_tune_epochs=args.fine_tune_epochs, weights=args.weights, out_dir=args.out, seed=args.seed,
        batch_size=args.batch_size, learning_rate=args.learning_rate, augment=args.augment,
        image_size=args.image_size, recipe=args.recipe, group_by=args.group_by, group_pattern=args.group_pattern,
        keep_duplicates_together=args.keep_duplicates_together, balance_over_copies=args.balance_over_copies,
        split_file=args.split_file, **devices,
    )


def cmd_train(args: argparse.Namespace) -> int:
    if not args.folder and not args.config:
        print("error: give a dataset folder (or --config run_config.json)", file=sys.stderr)
        return 2
    config = _config_from_args(args)
    _check_weights_file(config)
    if args.folds is not None:  # --folds 0 is refused (3 to 10), never an ordinary run
        return _run_crossval(config, args.folds, args)
    return _run_training(config, args)


def _check_weights_file(config: TrainConfig) -> None:
    """A weights file that does not fit the backbone ends the command before any data is read (exit code 2), with
    what is wrong and which file would fit. The settings' own checks (a missing file among them) come first."""
    source = config.weights_source
    if isinstance(source, Weights) or config.distribute == "multi-worker":
        # Several machines: TensorFlow must start with the workers' strategy, before any model is built here; the
        # backbone's build in the run says the same words about a file that does not fit.
        return
    config.validate()
    from foveal.core.models.registry import get_backbone
    from foveal.core.models.weights_check import check_weights_file

    spec = get_backbone(config.backbone)
    problem = check_weights_file(spec, source)
    if problem:
        raise WeightsError(f"The weights file {source} does not fit {spec.name}. {problem}")


def _run_crossval(config: TrainConfig, k: int, args: argparse.Namespace) -> int:
    from foveal.core.cli.foreground import SignalStop, private_temp_folder
    from foveal.core.crossval import cross_validate
    from foveal.core.training import CancelToken
    from foveal.core.training.events import Outcome

    stop = SignalStop(CancelToken())
    with private_temp_folder(), stop.installed():
        result = cross_validate(config, k, on_event=_progress(args),
                                cancel=stop.token)
    print(result.text())
    return 0 if result.outcome == Outcome.COMPLETED else stop.exit_code()


def cmd_backbones(args: argparse.Namespace) -> int:
    from foveal.core.models.registry import BACKBONES

    rows = [spec.to_dict() for spec in BACKBONES.values()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'backbone':<19}{'input':>6}{'top-1':>7}{'MB':>6}{'params':>9}  {'speed':<10}good for")
    for r in rows:
        mark = " *" if r["recommended"] else ""
        print(f"{r['name'] + mark:<19}{r['input_size']:>6}{r['top1']:>6.1f}%{r['size_mb']:>6.0f}"
              f"{r['params_m']:>8.1f}M  {r['speed']:<10}{r['good_for']}")
    print("* recommended default: fast on a CPU. top-1: ImageNet accuracy; MB/params: the full Keras model.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    print(f"Foveal demo: training on the bundled sample in {SAMPLES}\n")
    print(f"Scanning {SAMPLES}…")
    cmd_scan(argparse.Namespace(folder=str(SAMPLES), json=False))
    print(flush=True)  # before training's progress on standard error, also where output goes to a file
    args.scanned = True
    out = args.out or str(_demo_run_dir())
    # a first look: the candidates at the run's own size only (a dataset of one's own gets the thorough search)
    config = TrainConfig(str(SAMPLES), epochs=args.epochs, weights=args.weights, out_dir=out, search="quick")
    why = None
    if config.weights_source == Weights.NONE:
        why = "No pretrained weights (--weights none)."
    else:
        try:
            from foveal.core.models.build import build_backbone
            from foveal.core.models.registry import get_backbone

            # Check the weights first, so that the fallback is announced before training.
            spec = get_backbone(config.backbone)
            build_backbone(spec, spec.input_size, config.weights)
        except WeightsError as exc:
            why = str(exc)
    if why:
        # From random weights, 120 images teach nothing: two minutes of training to show a guess looks broken.
        print(f"The demo needs {config.backbone}'s pretrained ImageNet weights and could not load them here: "
              "trained from random weights on 120 images its result would be a meaningless guess. Connect to the "
              "internet once and run `foveal demo` again, or give the weights file you have: `foveal demo "
              f"--weights mobilenet_v2_1.0_224_imagenet_no_top.h5`.\n({why})", file=sys.stderr)
        return 2
    return _run_training(config, args)


def _demo_run_dir() -> Path:
    import time

    from foveal.core.paths import user_runs_dir

    return user_runs_dir() / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"


TRAIN_DESCRIPTION = """Train an image classifier on a folder of images sorted into one sub-folder per class. Foveal
starts from a network pretrained on millions of photographs and teaches it your classes; it keeps some images apart
to measure the result honestly and writes everything into a run folder (the model, its settings, its accuracy)."""

TRAIN_EXAMPLES = """examples:
  foveal train ~/data/cells
      the defaults: MobileNetV2, frozen, the best head chosen by cross-validation; needs the ImageNet weights
      (downloaded once), or, offline, --weights with the file you have:
  foveal train ~/data/cells --weights ~/Downloads/mobilenet_v2_1.0_224_imagenet_no_top.h5 --out ~/runs/cells-1
  foveal train ~/data/xrays --group-by filename --group-pattern '^(P\\d+)_' --fine-tune auto
      images of one patient (P0012_…) never in two splits; fine-tuning kept only if it helps
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train``, ``backbones`` and ``demo`` to the ``foveal`` parser (defaults: :class:`TrainConfig`'s)."""
    d = TrainConfig.default
    t = sub.add_parser("train", help="train a classifier on a dataset folder", description=TRAIN_DESCRIPTION,
                       epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("folder", nargs="?", help="folder with one sub-folder per class (or train/val/test)")
    first = t.add_argument_group("what most runs need")
    split = t.add_argument_group("how the images are split (train / validation / test)")
    advanced = t.add_argument_group("advanced training settings (the defaults suit most datasets)")
    devices = t.add_argument_group("devices (GPUs, several machines)")
    first.add_argument("--backbone", default=d("backbone"), help=f"see `foveal backbones` (default {d('backbone')})")
    first.add_argument("--fine-tune", default=d("fine_tune"), metavar="frozen|last:N|all|auto",
                   help=f"how much of the backbone learns (default {d('fine_tune')}: only the new head; auto: "
                        "try the last blocks, and keep them only while they improve on the head)")
    first.add_argument("--epochs", type=int, default=d("epochs"),
                   help=f"epochs training the head, {_range('epochs')} (default {d('epochs')})")
    advanced.add_argument("--fine-tune-epochs", type=int, default=d("fine_tune_epochs"),
                   help=f"epochs fine-tuning, {_range('fine_tune_epochs')} (default: --epochs)")
    first.add_argument("--weights", default=d("weights"), help="imagenet (default), none, or a weights file path")
    first.add_argument("--out", default=None, help="run folder (default ./foveal-runs/DATE-BACKBONE; in the user data "
                   "folder when the current folder is inside the dataset)")
    split.add_argument("--seed", type=int, default=d("seed"),
                   help=f"fixes the split and the initialisation, {_range('seed')} (default {d('seed')})")
    advanced.add_argument("--batch-size", type=int, default=d("batch_size"),
                   help=f"{_range('batch_size')}, and what fits in memory (default {d('batch_size')})")
    advanced.add_argument("--learning-rate", type=float, default=d("learning_rate"),
                   help=f"head learning rate, {_range('learning_rate')} (default {d('learning_rate')}); fine-tuning "
                        f"uses {d('fine_tune_lr_factor')}× of it")
    advanced.add_argument("--image-size", type=int, default=d("image_size"),
                   help=f"square input size, from the backbone's minimum to {IMAGE_SIZE.high:g} px, and what fits in "
                        "memory (default: the backbone's)")
    advanced.add_argument("--augment", action="store_true", help="flip, small rotation, zoom and contrast changes")
    advanced.add_argument("--recipe", default=d("recipe"), choices=["auto", "manual"],
                   help="auto (default): with a frozen backbone, choose the head, pooling and class weighting by "
                        "cross-validation on the training and validation images; manual: the dense head as set")
    # Default None, not TrainConfig's: given, it replaces a --config file's value.
    first.add_argument("--search", default=None, choices=list(SEARCHES),
                   help="how far the automatic recipe looks: auto (default): larger sizes, rotations and tiles "
                        "as the images allow, within a time budget; full: all of them, whatever they cost; quick: "
                        "none. The run says its time estimate before it starts")
    add_split_options(split, balance=True)
    split.add_argument("--split-file", default=d("split_file"), help="a JSON split to reuse (e.g. a run's run.json)")
    first.add_argument("--folds", type=int, default=None, metavar="K",
                   help="k-fold cross-validation (3-10, group-aware): K runs, mean and spread of each metric")
    # Device options default to None, not to TrainConfig's: given, they replace a --config file's values.
    devices.add_argument("--distribute", default=None, choices=["auto", "none", "mirrored", "multi-worker"],
                   help="auto (default): all GPUs when several; multi-worker: several machines, set up by TF_CONFIG")
    devices.add_argument("--devices", default=None, metavar="auto|cpu|gpu|gpu:0,1", help="which devices train")
    devices.add_argument("--mixed-precision", default=None, choices=["auto", "on", "off"],
                   help="float16 compute (auto: on for GPUs of compute capability 7.0 or newer)")
    devices.add_argument("--xla", default=None, choices=["auto", "on", "off"], help="XLA compilation (auto: on GPUs)")
    advanced.add_argument("--json-events", action="store_true", help="print one JSON event per line on stdout")
    first.add_argument("--config", default=None, metavar="FILE",
                   help="settings from a run folder's run_config.json, a run.json or a project.json (a folder, "
                        "--out and the device options given here replace the file's)")
    t.set_defaults(func=checked(cmd_train, epochs=LIMITS["epochs"], fine_tune_epochs=LIMITS["fine_tune_epochs"],
                                seed=LIMITS["seed"], batch_size=LIMITS["batch_size"],
                                learning_rate=LIMITS["learning_rate"], image_size=IMAGE_SIZE, folds=FOLDS))
    b = sub.add_parser("backbones", help="list the pretrained backbones")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=checked(cmd_backbones))
    demo = sub.add_parser("demo", help="train on the sample images that ship with Foveal")
    demo.add_argument("--weights", default=d("weights"), help="imagenet (default), none, or a weights file path")
    demo.add_argument("--epochs", type=int, default=d("epochs"), help=f"{_range('epochs')} (default {d('epochs')})")
    demo.add_argument("--out", default=None, help="run folder (default: in Foveal's user data folder)")
    demo.set_defaults(func=checked(cmd_demo, epochs=LIMITS["epochs"]))


def _range(name: str) -> str:
    """A setting's range for a help line: "between 1 and 10000"."""
    return LIMITS[name].words()
