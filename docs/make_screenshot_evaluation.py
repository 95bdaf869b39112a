"""Take the README's screenshots of the Evaluate view: a real run on the bundled sample, then its evaluation,
the gallery of one confusion cell and one image with its Grad-CAM.

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_screenshot_evaluation.py [--weights FILE]

Saves docs/screenshot-evaluation.png (the window), docs/screenshot-gradcam.png (the image dialog) and
docs/screenshot-predict.png (the Predict view after dropping one class folder of the sample).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default=str(ROOT.parent / "shared" / "weights" /
                                                 "mobilenet_v2_1.0_224_imagenet_no_top.h5"))
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--data", default=None, help="dataset folder (default: the bundled sample)")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from foveal.gui.main_window import MainWindow
    from foveal.gui.resources import SAMPLES

    app = QApplication(sys.argv)
    tmp = Path(tempfile.mkdtemp())
    window = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), runs_dir=tmp)
    window.resize(1360, 860)
    window.show()
    window.open_folder(args.data or str(SAMPLES))
    window.model_panel.set_weights_file(args.weights)
    window.model_panel.advanced.setChecked(True)
    window.model_panel.epochs.setValue(args.epochs)
    panel = window.evaluate_panel
    state = {"step": "train"}

    def poll() -> None:
        if state["step"] == "train" and window.session.summary is not None and window.runner.worker("training") is None:
            window.start_training()
        elif state["step"] == "train" and panel.evaluation is not None:
            window.right_tabs.setCurrentWidget(panel)
            m = panel.evaluation.metrics["confusion"]
            cells = [(m[i][j], i, j) for i in range(len(m)) for j in range(len(m)) if i != j and m[i][j]]
            _, i, j = max(cells) if cells else (0, 0, 0)
            panel.confusion.cellClicked.emit(i, j)
            panel.gallery.itemClicked.emit(panel.gallery.item(0))
            state["step"] = "explain"
        elif state["step"] == "explain":
            pixmap = panel.detail.picture.pixmap()
            if pixmap is not None and not pixmap.isNull():
                window.grab().save(str(Path(args.out) / "screenshot-evaluation.png"))
                panel.detail.grab().save(str(Path(args.out) / "screenshot-gradcam.png"))
                panel.detail.close()
                window.right_tabs.setCurrentWidget(window.predict_panel)
                folder = Path(args.data or str(SAMPLES))
                window.predict_panel.add_paths([str(next(p for p in sorted(folder.iterdir()) if p.is_dir()))])
                state["step"] = "predict"
        elif state["step"] == "predict" and window.predict_panel.rows:
            state["step"] = "thumbs"
            QTimer.singleShot(1500, finish)

    def finish() -> None:
        window.grab().save(str(Path(args.out) / "screenshot-predict.png"))
        print("saved", args.out)
        app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(300)
    app.exec()
    window.close()


if __name__ == "__main__":
    main()
