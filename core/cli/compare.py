"""``foveal compare``: which backbone suits my images (a ranked table, and a recommendation)."""

from __future__ import annotations

import argparse
import json
import sys

from foveal.core.cli.options import checked
from foveal.core.cli.split import add_split_options
from foveal.core.io import check_target
from foveal.core.paths import protect
from foveal.core.training.config import LIMITS, TrainConfig


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare backbones on a folder; the table (or JSON) on stdout, progress on stderr."""
    from foveal.core.compare import (
        CandidateDone,
        CandidateProgress,
        CompareStarted,
        compare_backbones,
        parse_candidates,
    )

    candidates = parse_candidates(args.backbones) if args.backbones else None
    config = TrainConfig(args.folder, seed=args.seed, group_by=args.group_by, group_pattern=args.group_pattern,
                         keep_duplicates_together=args.keep_duplicates_together)
    config.split_spec.validate()
    if args.out:
        protect(args.folder)
        check_target(args.out, "file")  # a device, a folder or the dataset is refused before the work, not after
    said: set[tuple[int, str]] = set()

    def on_event(e) -> None:
        if isinstance(e, CompareStarted):
            print(f"Comparing {len(e.candidates)} backbone(s) on {e.n_images} training and validation images "
                  f"({e.folds}-fold cross-validation)", file=sys.stderr)
        elif isinstance(e, CandidateProgress) and (e.index, e.stage) not in said:
            said.add((e.index, e.stage))
            what = "extracting features" if e.stage == "features" else "choosing and scoring the head"
            print(f"  {e.index}/{e.total} {e.label}: {what}", file=sys.stderr, flush=True)
        elif isinstance(e, CandidateDone):
            r = e.row
            done = f"{r.accuracy:.1%} accuracy" if r.scored else f"{r.status}: {r.reason}"
            print(f"  {e.index}/{e.total} {r.label}: {done}", file=sys.stderr, flush=True)

    result = compare_backbones(config.data_dir, candidates, args.weights, split=config.split_spec, seed=args.seed,
                               out=args.out, on_event=on_event)
    if args.json:
        print(json.dumps({**result.to_dict(), "path": result.path}, indent=2, ensure_ascii=False))
    else:
        print(result.table())
    print(f"Saved: {result.path}", file=sys.stderr)
    return 0 if any(r.scored for r in result.rows) else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``compare`` to the ``foveal`` parser."""
    d = TrainConfig.default
    c = sub.add_parser("compare", help="which backbone suits these images: a ranked table by cross-validation")
    c.add_argument("folder")
    c.add_argument("--backbones", default=None, metavar="NAME[@SIZE],…",
                   help="candidates, e.g. MobileNetV2,MobileNetV2@320,ResNet50 (default: the fast ones, and "
                        "MobileNetV2 at 320 px too; those without weights are skipped)")
    c.add_argument("--weights", default=d("weights"),
                   help="imagenet (default: from Keras's cache, never downloaded here) or a weights file path")
    c.add_argument("--seed", type=int, default=d("seed"),
                   help=f"fixes the folds, {LIMITS['seed'].words()} (default {d('seed')})")
    add_split_options(c)
    c.add_argument("--out", default=None, metavar="FILE",
                   help="where to save the comparison (default: in Foveal's user data folder)")
    c.add_argument("--json", action="store_true", help="print the comparison as JSON")
    c.set_defaults(func=checked(cmd_compare, seed=LIMITS["seed"]))
