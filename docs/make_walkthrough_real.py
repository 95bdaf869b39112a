"""Screenshots of the window with REAL training, evaluation and prediction (TensorFlow on this computer), as a person
meets them: the recipe comparison as it happens, the result, the mistakes with a heatmap, the report, and answers
for new images, an unfamiliar one included.

    xvfb-run -s "-screen 0 1366x768x24" python docs/make_walkthrough_real.py --name real-1366x768 \\
        --data FOLDER --weights mobilenet_v2_1.0_224_imagenet_no_top.h5 --foreign IMAGE
    QT_SCALE_FACTOR=2 xvfb-run -s "-screen 0 1920x1080x24" python docs/make_walkthrough_real.py ...

(``QT_QPA_PLATFORM=offscreen`` works too.) Saves docs/walkthrough/NAME-*.png. The dataset folder is only read; the
run goes to a temporary folder. Each step waits for what the person would wait for, never a fixed time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "walkthrough"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--data", required=True, help="a dataset folder (class sub-folders)")
    parser.add_argument("--weights", required=True, help="the backbone's ImageNet weights file (no top)")
    parser.add_argument("--backbone", default="MobileNetV2")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--foreign", nargs="*", default=[], help="images unlike the dataset's, for Predict")
    args = parser.parse_args()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from foveal.gui.main_window import MainWindow

    app = QApplication(sys.argv)
    app.setStyle("Fusion")
    tmp = Path(tempfile.mkdtemp())
    window = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), runs_dir=tmp / "runs")
    window.show()
    OUT.mkdir(exist_ok=True)

    def pump(seconds: float, until: Callable[[], bool] | None = None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)
            if until is not None and until():
                return True
        return False

    def shot(step: str, widget=None) -> None:
        pump(0.5)
        path = OUT / f"{args.name}-{step}.png"
        (widget or window).grab().save(str(path))
        print("saved", path, window.size().toTuple(), flush=True)

    # 1. Data: the folder, its classes, the split and its copies.
    window.open_folder(args.data)
    preview = window.dataset_panel.split_preview
    pump(300, lambda: window.session.summary is not None and bool(preview.text())
         and "Working out" not in preview.text())
    shot("1-data")
    # 2. Model: the backbone and the weights file the person has (offline).
    window.tabs.setCurrentWidget(window.model_panel)
    window.model_panel.select_backbone(args.backbone)
    window.model_panel.apply_settings({"weights": args.weights, "fine_tune": "frozen", "recipe": "auto",
                                       "image_size": args.image_size})
    pump(20, lambda: "fits" in window.model_panel.weights_label.text())
    shot("2-model")
    # 3. Train: the comparison as it happens, then the result.
    panel = window.train_panel
    window.start_training()
    pump(900, lambda: len(panel.recipe_chart.rows) >= 6)
    shot("3-comparing")
    pump(1800, lambda: panel.start_button.isEnabled())
    shot("3-train")
    # 4. Evaluate: what it got wrong and why (a heatmap), and the report, said done inside the view.
    ev = window.evaluate_panel
    pump(600, lambda: ev.evaluation is not None)
    window.right_tabs.setCurrentWidget(ev)
    ev.errors_button.click()
    pump(2)
    if ev.gallery.count():
        ev.gallery.itemClicked.emit(ev.gallery.item(0))
        pump(120, lambda: ev.detail is not None and getattr(ev.detail, "shown_picture", None) is not None)
        if ev.detail is not None:
            shot("4-heatmap", ev.detail)
    ev.report_button.click()
    pump(600, lambda: not ev.done.isHidden())
    shot("4-evaluate")
    # 5. Predict: test images and an unfamiliar one.
    window.right_tabs.setCurrentWidget(window.predict_panel)
    files = sorted(p for p in Path(args.data).rglob("*") if p.is_file())
    images = files[:: max(1, len(files) // 6)][:6]
    window.predict_panel.add_paths([str(p) for p in images] + list(args.foreign))
    pump(300, lambda: len(window.predict_panel.rows) >= len(images) + len(args.foreign)
         and not window.predict_panel.runner.is_running("predict"))
    shot("5-predict")
    window.runner.shutdown(30_000)
    window.close()


if __name__ == "__main__":
    main()
