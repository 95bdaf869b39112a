"""``foveal suggest`` and ``foveal label-import``: labelling from the command line.

``foveal suggest RUN UNLABELLED [--n N] --csv OUT`` writes the N unlabelled images to label next (best first) with
the model's suggestion, its calibrated confidence, whether the image is unfamiliar and why it was chosen.
``foveal label-import DATASET LABELS.csv --out NEW`` builds a new dataset folder from DATASET's images and the
rows of a labels file (a labelling session's, or one written by hand: columns ``source,label`` at least). Neither
writes anything into the folders it reads.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys

from foveal.core.cli.options import checked
from foveal.core.errors import ConfigError, DatasetError
from foveal.core.training.config import Limit

#: ``suggest --n``: images listed.
N_IMAGES = Limit(1, 100_000)
#: ``suggest --csv``: its columns.
SUGGEST_COLUMNS = ("rank", "path", "suggested", "confidence", "unfamiliar", "why")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``suggest`` and ``label-import`` to the ``foveal`` parser."""
    p = sub.add_parser("suggest", help="list the unlabelled images to label next, with the model's suggestion")
    p.add_argument("source", metavar="RUN",
                   help="a run folder (its backbone, classes and dataset), or a dataset folder with a few labelled "
                        "images per class")
    p.add_argument("unlabelled", metavar="UNLABELLED", help="the folder of unlabelled images (searched recursively)")
    p.add_argument("--n", type=int, default=20, metavar="N", help="how many images to list (default 20)")
    p.add_argument("--csv", required=True, metavar="OUT",
                   help="the CSV file to write: " + ", ".join(SUGGEST_COLUMNS))
    p.add_argument("--weights", default=None, metavar="FILE",
                   help="backbone weights when RUN is a dataset folder: a weights file, or imagenet (default)")
    p.set_defaults(func=checked(_cmd_suggest, n=N_IMAGES))
    q = sub.add_parser("label-import", help="build a new dataset folder from a dataset and a labels file")
    q.add_argument("dataset", metavar="DATASET", help="the dataset folder (one sub-folder per class) labels add to")
    q.add_argument("labels", metavar="LABELS.csv",
                   help="columns source,label at least (source: absolute, or relative to the file's folder)")
    q.add_argument("--out", required=True, metavar="NEW",
                   help="the new dataset folder (new or empty; outside DATASET and the images' folders)")
    q.set_defaults(func=checked(_cmd_import))


def _cmd_suggest(args: argparse.Namespace) -> int:
    from foveal.core.io import check_target, write_text
    from foveal.core.labelling import suggest
    from foveal.core.paths import is_inside, printable
    from foveal.core.training.progress import TerminalProgress

    target = check_target(args.csv, "file")
    for folder in (args.source, args.unlabelled):
        if is_inside(target, folder):
            raise ConfigError(f"--csv {printable(target)} is inside {printable(folder)}, which Foveal only reads. "
                              "Choose a file outside it.")
    if target.is_dir():
        raise ConfigError(f"--csv {printable(target)} is a folder. Give a file name, for example "
                          f"{printable(target / 'suggestions.csv')}.")
    bar = TerminalProgress()
    found = suggest(args.source, args.unlabelled, args.n, weights=args.weights,
                    on_progress=lambda done, total, _what: bar.count(done, total))
    if not found:
        raise DatasetError(f"{printable(args.unlabelled)} holds no image Foveal can read (searched with its "
                           "sub-folders). Choose the folder of unlabelled images (JPEG, PNG, TIFF, DICOM…); "
                           "`foveal scan FOLDER` lists what it skips and why.")
    check_target(target, "file")  # again: the folders read are protected now
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SUGGEST_COLUMNS)
    for rank, s in enumerate(found, 1):
        writer.writerow([rank, printable(s.path), s.suggested, f"{s.confidence:.4f}",
                         "yes" if s.unfamiliar else "no", s.why])
    write_text(target, buf.getvalue())
    print(f"{len(found)} image(s) to label next written to {printable(target)}.", file=sys.stderr)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from foveal.core.labelling import import_labels
    from foveal.core.paths import printable

    done = import_labels(args.dataset, args.labels, args.out)
    counts = ", ".join(f"{c} {n}" for c, n in done.counts.items())
    print(f"{printable(done.out)}: {done.total} images ({counts}); {done.from_dataset} from the dataset, "
          f"{done.from_labels} from the labels file" +
          (f", {done.without_label} row(s) without a label left out" if done.without_label else "") +
          ". labels.csv there lists each image and where it came from.", file=sys.stderr)
    return 0
