"""Puts the recommended backbone's ImageNet weights where a desktop bundle carries them.

    python packaging/bundle_weights.py [FILE] [--download] [--into resources/weights]

FILE is a MobileNetV2 weights file without its top (Keras's own, or one converted to its layer names); without it
the file is taken from Keras's cache (~/.keras/models), and with --download Keras fetches it there first (on a
build machine that is online). The file is checked by building the backbone with it, then copied into the folder
under Keras's own file name with its license notice; packaging/foveal.spec carries that folder into the bundle,
and Foveal uses it wherever Keras's cache lacks the file. Exit 0 with the file copied; exit 1 when no file could be
found or it does not fit (the bundle would then train the demo only after the user gives weights).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKBONE = "MobileNetV2"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", help="the weights file (default: Keras's cache)")
    parser.add_argument("--download", action="store_true", help="let Keras download the file when it is not cached")
    parser.add_argument("--into", default=str(HERE.parent / "resources" / "weights"),
                        help="the folder the bundle carries (default: resources/weights)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from foveal.core.models.build import build_backbone, imagenet_weights_status
    from foveal.core.models.registry import get_backbone

    spec = get_backbone(BACKBONE)
    name, cached, found = imagenet_weights_status(spec)
    source = args.file or cached
    if args.file is None and not found and args.download:
        build_backbone(spec, spec.input_size, "imagenet")  # Keras downloads into its cache and checks the hash
        source, found = cached, os.path.isfile(cached)
    if not os.path.isfile(source):
        print(f"No {BACKBONE} weights file at {source}: give one (python packaging/bundle_weights.py FILE) or run "
              "with --download on a machine that is online. The bundle is built without weights.", file=sys.stderr)
        return 1
    build_backbone(spec, spec.input_size, source)  # raises WeightsError, in words, when the file does not fit
    into = Path(args.into)
    into.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, into / name)
    shutil.copyfile(HERE / "weights" / "NOTICE-MobileNetV2.txt", into / "NOTICE-MobileNetV2.txt")
    digest = hashlib.sha256((into / name).read_bytes()).hexdigest()
    print(f"{BACKBONE} weights: {source} -> {into / name} ({(into / name).stat().st_size / 1e6:.1f} MB, "
          f"sha256 {digest[:16]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
