"""Does the window stay responsive while it trains? Timer lateness during a real run, and the run's slowdown.

    python benchmarks/bench_gui_responsiveness.py [--images 300] [--fine-tune frozen|last:N|all]

Runs the same real training twice on one generated folder: once headless (``core.training.train`` on the
main thread, no Qt), once from the real window through the real worker thread while a 16 ms QTimer on the GUI
thread records how late each of its ticks is. Prints p50/p99/max lateness and the slowdown of the run.
Targets: p99 < 50 ms, max < 250 ms, slowdown < 10 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
WEIGHTS = ROOT.parent / "shared" / "weights" / "mobilenet_v2_1.0_224_imagenet_no_top.h5"


def config_for(data: Path, out: Path, args):
    from foveal.core.training import TrainConfig

    weights = str(WEIGHTS) if WEIGHTS.exists() else "none"
    return TrainConfig(str(data), backbone="MobileNetV2", weights=weights, fine_tune=args.fine_tune,
                       epochs=args.epochs, fine_tune_epochs=args.epochs, out_dir=str(out),
                       early_stopping_patience=0)


def headless(data: Path, out: Path, args) -> float:
    from foveal.core.training import train

    t0 = time.perf_counter()
    train(config_for(data, out, args))
    return time.perf_counter() - t0


def with_window(data: Path, out: Path, args) -> tuple[float, np.ndarray]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from foveal.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(out.parent / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, runs_dir=out.parent)
    window.resize(1280, 800)
    window.show()
    window.open_folder(str(data))
    while window.session.summary is None:
        app.processEvents()
        time.sleep(0.01)
    window.make_config = lambda: config_for(data, out, args)  # same settings as the headless run
    lateness: list[float] = []
    expected = [0.0]
    timer = QTimer()
    timer.setInterval(16)

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, now - expected[0]))
        expected[0] = now + 0.016

    timer.timeout.connect(tick)
    t0 = time.perf_counter()
    window.start_training()
    expected[0] = time.perf_counter() + 0.016
    timer.start()
    while window.runner.worker("training").is_running() or not window.train_panel.start_button.isEnabled():
        app.processEvents()
        time.sleep(0.001)
    seconds = time.perf_counter() - t0
    timer.stop()
    window.close()
    return seconds, np.array(lateness[1:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--fine-tune", default="frozen")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bench_train import generate

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        generate(data, args.images)
        print(f"{args.images} images, MobileNetV2 ({'ImageNet file' if WEIGHTS.exists() else 'random'}), "
              f"{args.fine_tune}, {args.epochs} epochs")
        headless(data, Path(tmp) / "warm", args)  # first run pays TensorFlow's one-off start-up costs
        base = headless(data, Path(tmp) / "headless", args)
        gui_s, late = with_window(data, Path(tmp) / "gui", args)
    print(f"headless run: {base:.1f} s; run from the window: {gui_s:.1f} s; slowdown {100 * (gui_s / base - 1):+.1f} %"
          " (target < 10 %)")
    print(f"GUI timer lateness over {len(late)} ticks: p50 {np.percentile(late, 50):.1f} ms, "
          f"p99 {np.percentile(late, 99):.1f} ms (target < 50), max {late.max():.1f} ms (target < 250)")


if __name__ == "__main__":
    main()
