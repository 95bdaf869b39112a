"""``foveal explain``: where in each image the evidence for a class lies, as pictures and one JSON line per image.

``foveal explain RUN IMAGE… --out DIR [--class NAME]`` writes, into DIR, each image's heatmap over the image with
its legend (``NAME.heatmap.png``, named after the image) and ``explain.jsonl``: one line per image, in the order
the images were found (folders are walked as ``foveal predict`` walks them), saying what was explained::

    {"file": "scans/a.png", "heatmap": "scans_a.heatmap.png", "class": "tumour", "predicted": "tumour",
     "probabilities": {"normal": 0.08, "tumour": 0.92}, "peak_x": 141, "peak_y": 88, "layer": "out_relu"}

``peak_x``/``peak_y`` are the strongest evidence's position in the image file's own pixels (null when no place in
the image holds evidence for the class); an image that cannot be read has a line with ``file`` and ``error``.
DIR must lie outside every folder images are read from and outside the run's dataset.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from foveal.core.cli.options import checked
from foveal.core.errors import ConfigError, DatasetError, ImageDecodeError
from foveal.core.io import check_target, make_dirs, write_bytes, write_text
from foveal.core.paths import portable_file_name, printable

#: The file in DIR that lists every image explained.
LISTING = "explain.jsonl"
#: The longest picture name made from an image's name (characters; at most 4 bytes each in UTF-8, well within the
#: 255 bytes a file name may take).
MAX_NAME = 48


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``explain`` to the ``foveal`` parser."""
    p = sub.add_parser("explain", help="show where in each image the evidence for a class lies (heatmaps)")
    p.add_argument("model", metavar="RUN", help="a run folder or a model.keras file")
    p.add_argument("paths", nargs="+", metavar="IMAGE", help="image files and folders (searched recursively)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help=f"folder for the heatmap pictures (PNG) and {LISTING}, one JSON line per image")
    p.add_argument("--class", dest="class_name", default=None, metavar="NAME",
                   help="the class whose evidence is shown (default: each image's predicted class)")
    p.add_argument("--allow-unsafe-model", action="store_true",
                   help="load a model file that contains Python code (only for files you trust)")
    p.set_defaults(func=checked(_cmd_explain))


def _cmd_explain(args: argparse.Namespace) -> int:
    from foveal.core.evaluation.gradcam import GradCamExplainer
    from foveal.core.models.predict import files_under
    from foveal.core.models.saved import load_classifier
    from foveal.core.training.progress import TerminalProgress

    files = files_under(args.paths)  # every folder read from is protected from writes from here on
    check_target(args.out, "folder")  # refused before any work: inside a folder of images, or a file
    if not files:
        raise DatasetError("No files found in " + ", ".join(printable(p) for p in args.paths) + ". Give image "
                           "files, or folders that hold images.")
    clf = load_classifier(args.model, allow_unsafe=args.allow_unsafe_model)
    class_index = _class_index(args.class_name, clf.classes)
    out = make_dirs(args.out)  # checked again: the run's dataset is protected now too
    explainer, bar, names = GradCamExplainer(clf), TerminalProgress(), PictureNames()
    lines = []
    for k, f in enumerate(files):
        lines.append(_explain_one(explainer, f, class_index, out, names))
        bar.count(k + 1, len(files))
    write_text(out / LISTING, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    failed = [line for line in lines if "error" in line]
    if len(failed) == len(lines):
        print(f"error: none of the {len(lines)} file(s) could be explained ({failed[0]['file']}: "
              f"{failed[0]['error']}). Give image files Foveal can read; {out / LISTING} lists each reason.",
              file=sys.stderr)
        return 2
    print(f"{len(lines) - len(failed)} heatmap(s) written to {printable(out)}; {LISTING} there lists each image, "
          "the class explained and where its evidence is strongest.", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(lines)} file(s) could not be read (see the error in {LISTING}).",
              file=sys.stderr)
    return 0


def _class_index(name: str | None, classes: tuple[str, ...]) -> int | None:
    """The index of ``--class NAME`` (None: each image's predicted class); an unknown name is a ConfigError."""
    if name is None:
        return None
    if name not in classes:
        raise ConfigError(f"The model has no class {printable(name)!r}. Choose one of: "
                          + ", ".join(printable(c) for c in classes) + f". Received: --class={printable(name)!r}")
    return classes.index(name)


def _explain_one(explainer: Any, f: Any, class_index: int | None, out: Path, names: PictureNames) -> dict:
    """One image's heatmap written into ``out``, and its line for the listing (with ``error`` when unreadable)."""
    from PIL import Image

    from foveal.core.evaluation.gradcam import with_legend

    shown = printable(f.rel)
    if f.problem:
        return {"file": shown, "error": f.problem}
    try:
        cam = explainer.explain_file(f.path, class_index)
    except ImageDecodeError as exc:
        return {"file": shown, "error": exc.reason}
    classes = explainer.classifier.classes
    explained, predicted = classes[cam.class_index], classes[int(cam.probs.argmax())]
    buf = io.BytesIO()
    Image.fromarray(with_legend(cam.overlay(), f"evidence for '{explained}'")).save(buf, "PNG")
    name = names.new(f.rel)
    write_bytes(out / name, buf.getvalue())
    peak = cam.peak()
    return {"file": shown, "heatmap": name, "class": explained, "predicted": predicted,
            "probabilities": {c: round(float(p), 6) for c, p in zip(classes, cam.probs, strict=True)},
            "peak_x": None if peak is None else peak[0], "peak_y": None if peak is None else peak[1],
            "layer": cam.layer}


class PictureNames:
    """Picture names made from image names: letters, digits, ``.``, ``-`` and ``_`` only (a name of any bytes
    becomes a portable one), unique even where the file system ignores case."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def new(self, rel: str) -> str:
        parts = [p for p in Path(os.path.splitext(rel)[0]).parts[-2:] if p not in ("/", "\\", ".", "..")]
        stem = re.sub(r"[^\w.-]+", "_", "_".join(parts)).strip("._")[-MAX_NAME:].lstrip("._") or "image"
        stem = portable_file_name(stem)  # a name Windows reserves (CON, NUL…) gets a leading _
        name, k = f"{stem}.heatmap.png", 1
        while name.lower() in self.taken:
            k += 1
            name = f"{stem}-{k}.heatmap.png"
        self.taken.add(name.lower())
        return name
