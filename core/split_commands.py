"""``foveal split``: preview how a folder would be split (groups, class balance, duplicates) and export it."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys

from core.io import check_target, open_atomic
from core.paths import protect


def split_preview(config) -> dict:
    """The split ``train`` would make for ``config``, and what it achieves: for the window and the CLI."""
    from core.data.groups import GroupRule, describe_groups, find_groups
    from core.data.scan import scan_dataset
    from core.training.splitting import prepare_split

    config.validate()
    summary = scan_dataset(config.data_dir)
    summary.require_trainable()
    split, info = prepare_split(summary, config)
    labels = {r.rel: r.label for r in summary.images}
    groups = describe_groups(find_groups(summary.images, GroupRule(config.group_by, config.group_pattern)), labels)
    return {"split": split, "info": info, "groups": groups, "classes": summary.classes}


def write_split_csv(split, path_or_stream) -> None:
    """``file,class,split`` for every image."""
    from core.training.split import SPLITS

    if isinstance(path_or_stream, str | os.PathLike):
        with open_atomic(path_or_stream, "w", newline="") as fh:
            write_split_csv(split, fh)
        return
    w = csv.writer(path_or_stream, lineterminator="\n")
    w.writerow(["file", "class", "split"])
    for name in SPLITS:
        for r in split.of(name):
            w.writerow([r.rel, r.label, name])


def format_preview(preview: dict) -> str:
    info, groups, classes = preview["info"], preview["groups"], preview["classes"]
    lines = []
    if info["group_by"] != "none":
        lines.append(f"{groups['n_groups']} groups ({info['group_by']}) in {groups['n_images']} images; "
                     f"{groups['singletons']} images are a group of their own; largest: "
                     + ", ".join(f"{g.split(':', 1)[-1]} ({n})" for g, n in groups["largest"]))
        if groups["n_mixed_class_groups"]:
            lines.append(f"warning: {groups['n_mixed_class_groups']} group(s) hold images of several classes")
    lines.append(f"{'split':<7}{'images':>8}  " + "  ".join(f"{c[:12]:>12}" for c in classes))
    for name, row in info["balance"].items():
        lines.append(f"{name:<7}{row['n']:>8}  " + "  ".join(f"{row[c]:>12.1%}" for c in classes))
    leaks = info.get("leaking_groups") or []
    lines.append(f"groups in more than one split: {len(leaks)}" if info["group_by"] != "none" else
                 "no grouping: images of one patient may be in several splits (use --group-by)")
    dups = info["duplicates_across_splits"]
    lines.append(f"duplicate sets across splits: {len(dups)}"
                 + ("" if not dups else " (use --keep-duplicates-together): "
                    + "; ".join(", ".join(f"{f} [{s}]" for f, s in d.items()) for d in dups[:5])))
    return "\n".join(lines)


def _cmd_split(args: argparse.Namespace) -> int:
    from core.training.config import TrainConfig

    config = TrainConfig(args.folder, seed=args.seed, val_fraction=args.val, test_fraction=args.test,
                         group_by=args.group_by, group_pattern=args.group_pattern,
                         keep_duplicates_together=args.keep_duplicates_together)
    if args.csv and args.csv != "-":
        protect(args.folder)
        check_target(args.csv)  # before the scan, not after it
    preview = split_preview(config)
    if args.json:
        print(json.dumps({"info": preview["info"], "groups": preview["groups"],
                          "split": preview["split"].to_dict()}, indent=2, ensure_ascii=False))
    else:
        print(format_preview(preview))
    if args.csv:
        write_split_csv(preview["split"], sys.stdout if args.csv == "-" else args.csv)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("split", help="preview the train/validation/test split: groups, balance, duplicates")
    s.add_argument("folder")
    s.add_argument("--val", type=float, default=0.15, help="validation fraction (default 0.15)")
    s.add_argument("--test", type=float, default=0.15, help="test fraction (default 0.15)")
    s.add_argument("--seed", type=int, default=1234)
    s.add_argument("--group-by", default="none", choices=["none", "dicom", "filename"])
    s.add_argument("--group-pattern", default=None, metavar="REGEX")
    s.add_argument("--keep-duplicates-together", action="store_true")
    s.add_argument("--csv", default=None, metavar="OUT", help="write file,class,split for every image (- for stdout)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_split)
