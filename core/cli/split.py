"""``foveal split``: preview how a folder would be split (groups, class balance, duplicates) and export it."""

from __future__ import annotations

import argparse
import json
import sys

from foveal.core.cli.options import FRACTION, FRACTION_OF_VAL, checked
from foveal.core.io import check_target, standard_output
from foveal.core.paths import protect
from foveal.core.training.config import LIMITS, TrainConfig


def cmd_split(args: argparse.Namespace) -> int:
    """Print the preview of the split ``train`` would make; optionally write it as CSV."""
    from foveal.core.split.files import write_split_csv
    from foveal.core.split.preview import split_preview

    config = TrainConfig(args.folder, seed=args.seed, val_fraction=args.val, test_fraction=args.test,
                         group_by=args.group_by, group_pattern=args.group_pattern,
                         keep_duplicates_together=args.keep_duplicates_together,
                         balance_over_copies=args.balance_over_copies)
    if args.csv and args.csv != "-":
        protect(args.folder)
        check_target(args.csv, "file")  # before the scan, not after it
    preview = split_preview(config.data_dir, config.split_spec)
    # With --csv -, standard output is the CSV alone (a file a program reads); the preview goes to the terminal.
    words = sys.stderr if args.csv == "-" else sys.stdout
    if args.json:
        print(json.dumps(preview.to_dict(), indent=2, ensure_ascii=False), file=words)
    else:
        print(preview.table(), file=words)
    if args.csv:
        if args.csv == "-":
            with standard_output() as out:
                write_split_csv(preview.split, out)
        else:
            write_split_csv(preview.split, args.csv)
    return 0


def add_split_options(parser: argparse.ArgumentParser, *, balance: bool = False) -> None:
    """``--group-by``, ``--group-pattern`` and ``--[no-]keep-duplicates-together`` (``split``, ``train``, …); with
    ``balance``, also ``--balance-over-copies`` (commands that make a train/validation/test split)."""
    parser.add_argument("--group-by", default=TrainConfig.default("group_by"), choices=["none", "dicom", "filename"],
                        help="keep images of one patient/specimen in one split: DICOM PatientID, or a file-name "
                             "pattern")
    parser.add_argument("--group-pattern", default=None, metavar="REGEX",
                        help="with --group-by filename: the group is the regex's first group (default: text before _)")
    parser.add_argument("--keep-duplicates-together", action=argparse.BooleanOptionalAction,
                        default=TrainConfig.default("keep_duplicates_together"),
                        help="keep each set of near-duplicate images (perceptual hashes) in one split, so copies "
                             "cannot inflate the test accuracy (default: on; copies across splits are reported "
                             "either way)")
    if balance:
        parser.add_argument("--balance-over-copies", action="store_true",
                            default=TrainConfig.default("balance_over_copies"),
                            help="when keeping copies together would leave a class more than 5 points off its share "
                                 "in a split (or out of it), split those sets of copies apart so every split keeps "
                                 "the class balance; the copies then in two splits are reported (default: off; the "
                                 "split preview says when it is needed)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``split`` to the ``foveal`` parser."""
    d = TrainConfig.default
    s = sub.add_parser("split", help="preview the train/validation/test split: groups, balance, duplicates")
    s.add_argument("folder")
    s.add_argument("--val", type=float, default=d("val_fraction"),
                   help=f"validation fraction, {FRACTION_OF_VAL.words()}, less than 0.9 with --test (default "
                        f"{d('val_fraction')})")
    s.add_argument("--test", type=float, default=d("test_fraction"),
                   help=f"test fraction, {FRACTION.words()} (default {d('test_fraction')})")
    s.add_argument("--seed", type=int, default=d("seed"),
                   help=f"fixes the split, {LIMITS['seed'].words()} (default {d('seed')})")
    add_split_options(s, balance=True)
    s.add_argument("--csv", default=None, metavar="OUT", help="write file,class,split for every image (- for stdout)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=checked(cmd_split, val=FRACTION_OF_VAL, test=FRACTION, seed=LIMITS["seed"]))
