"""Screenshots of the Label view with REAL images and the real labelling core, and the seconds per labelled image
of a keyboard walk through it.

    QT_QPA_PLATFORM=offscreen python docs/make_walkthrough_label.py \\
        --weights mobilenet_v2_1.0_224_imagenet_no_top.h5 [--busi ../shared/data/busi] [--foreign FOLDER]

(or under ``xvfb-run -s "-screen 0 1366x768x24"``); the window is 1366×768 (``--size``).

Copies a few labelled BUSI images per class and a batch of others without their labels (named scan-0001.png …),
plus a few images of another kind (MedNIST hands: unfamiliar), into a temporary folder; opens the window at the
screen's size, chooses them in the Label view and answers by keyboard as a truthful person would (the number key
of the true class), every key timed until the next image is on screen. A run trained on the labelled images then
opens a second session to show a heatmap (H). Saves docs/walkthrough/label-*.png and prints the timings.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "walkthrough"
SHARED = ROOT.parent / "shared" / "data"


def make_folders(tmp: Path, busi: Path, foreign: Path, per_class: int, unlabelled: int) -> dict[str, str]:
    """The labelled and unlabelled folders; returns each unlabelled image's true class by its path."""
    truth: dict[str, str] = {}
    n = 0
    for c in sorted(p for p in busi.iterdir() if p.is_dir()):
        files = sorted(f for f in c.iterdir() if f.is_file())
        (tmp / "labelled" / c.name).mkdir(parents=True)
        for f in files[:per_class]:
            shutil.copy(f, tmp / "labelled" / c.name / f.name)
        (tmp / "unlabelled" / "batch-1").mkdir(parents=True, exist_ok=True)
        for f in files[per_class: per_class + unlabelled]:
            n += 1
            target = tmp / "unlabelled" / "batch-1" / f"scan-{n:04d}.png"
            shutil.copy(f, target)
            truth[str(target)] = c.name
    for f in sorted(p for p in foreign.iterdir() if p.is_file())[:4]:
        n += 1
        shutil.copy(f, tmp / "unlabelled" / "batch-1" / f"scan-{n:04d}{f.suffix}")
    return truth


def train_run(tmp: Path, weights: str) -> str:
    """A frozen MobileNetV2 run on the labelled images (for the heatmap)."""
    from foveal.core.training import train
    from foveal.core.training.config import TrainConfig

    result = train(TrainConfig(str(tmp / "labelled"), weights=weights, image_size=128, epochs=5,
                               out_dir=str(tmp / "run")), on_event=lambda e: None)
    return result.run_dir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True, help="MobileNetV2's ImageNet weights file (no top)")
    parser.add_argument("--busi", default=str(SHARED / "busi"))
    parser.add_argument("--foreign", default=str(SHARED / "mednist_small" / "Hand"))
    parser.add_argument("--per-class", type=int, default=8)
    parser.add_argument("--unlabelled", type=int, default=30, help="unlabelled images per class")
    parser.add_argument("--size", default="1366x768", help="the window's size, WIDTHxHEIGHT")
    parser.add_argument("--answers", type=int, default=45, help="images answered in the timed walk")
    args = parser.parse_args()
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from foveal.gui.main_window import MainWindow

    app = QApplication(sys.argv)
    app.setStyle("Fusion")
    tmp = Path(tempfile.mkdtemp())
    truth = make_folders(tmp, Path(args.busi), Path(args.foreign), args.per_class, args.unlabelled)
    window = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), runs_dir=tmp / "runs")
    window.show()
    window.resize(*(int(v) for v in args.size.split("x")))
    OUT.mkdir(exist_ok=True)

    def pump(seconds: float, until: Callable[[], bool] | None = None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
            if until is not None and until():
                return True
        return False

    def shot(step: str) -> None:
        pump(0.5)
        path = OUT / f"label-{step}.png"
        window.grab().save(str(path))
        print("saved", path, window.size().toTuple(), flush=True)

    panel = window.labelling.panel
    window.model_panel.apply_settings({"weights": args.weights})
    window.right_tabs.setCurrentWidget(panel)
    panel.setup.choose(source=str(tmp / "labelled"), unlabelled=str(tmp / "unlabelled"))
    shot("1-choose")
    started = time.monotonic()
    panel.setup.start_button.click()
    pump(3, lambda: "(" in panel.setup.words.text())
    shot("2-sorting")
    pump(900, lambda: panel.ask.current is not None)
    print(f"sorted {len(truth) + 4} images in {time.monotonic() - started:.1f} s", flush=True)
    shot("3-ask")
    ask, classes = panel.ask, panel.ask.classes
    latencies, synchronous = [], 0
    walk = time.monotonic()
    for _ in range(args.answers):
        s = ask.current
        if s is None:
            break
        label = truth.get(s.path)
        key = Qt.Key.Key_S if label is None else Qt.Key(Qt.Key.Key_1 + classes.index(label))
        before = time.perf_counter()
        QTest.keyClick(ask, key)
        nxt = ask.current
        if nxt is None:
            break
        synchronous += ask.shown_path == nxt.path
        pump(10, lambda n=nxt: ask.shown_path == n.path)
        latencies.append(ask.shown_at - before)
        pump(0.05)  # the person reads the next image (kept short: the machinery is what is timed)
    pump(600, lambda: panel.jobs.idle and not panel.jobs.refitting)
    took = time.monotonic() - walk
    ms = sorted(x * 1000 for x in latencies)
    print(f"answered {len(ms)} images by keyboard in {took:.1f} s ({took / max(len(ms), 1):.2f} s per image with "
          f"0.05 s of reading each); key to next image shown: median {statistics.median(ms):.1f} ms, "
          f"95th percentile {ms[int(0.95 * (len(ms) - 1))]:.1f} ms, max {ms[-1]:.1f} ms; "
          f"{synchronous} of {len(ms)} shown before the key returned", flush=True)
    shot("4-learned")
    panel.tabs.setCurrentWidget(panel.grid)
    shot("5-grid")
    panel.grid.bar.setCurrentIndex(panel.grid.bar.count() - 1)
    shot("6-unfamiliar")
    panel.tabs.setCurrentWidget(panel.ask)
    print("training a run for the heatmap…", flush=True)
    run = train_run(tmp, args.weights)
    panel.change_button.click()
    panel.setup.choose(source=run, unlabelled=str(tmp / "unlabelled"), out=str(tmp / "from-run"))
    panel.setup.start_button.click()
    pump(900, lambda: panel.jobs.session is not None and panel.ask.current is not None)
    QTest.keyClick(ask, Qt.Key.Key_H)
    pump(300, lambda: "Heatmap:" in ask.note.text() or "No heatmap" in ask.note.text())
    shot("7-heatmap")
    window.runner.shutdown(60_000)
    window.close()


if __name__ == "__main__":
    main()
