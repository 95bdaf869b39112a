"""Take the README's screenshot: the real window, mid-training on the bundled sample, under Xvfb.

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_screenshot.py [--weights FILE]

Starts a real fine-tuning run (MobileNetV2, last 2 blocks) from the window and saves a screenshot of the
window to docs/screenshot-training.png once fine-tuning has started.
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
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot-training.png"))
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
    window.open_folder(str(SAMPLES))
    window.model_panel.set_weights_file(args.weights)
    window.model_panel.depth_slider.setValue(2)
    window.model_panel.advanced.setChecked(True)
    window.model_panel.epochs.setValue(8)

    def start() -> None:
        window.tabs.setCurrentIndex(1)
        window.start_training()

    def poll() -> None:
        data = window.train_panel.plot.data
        if len(data["epoch_x"]) >= 11:
            window.grab().save(args.out)
            print("saved", args.out)
            window.runner.shutdown()
            app.quit()
        elif not window.runner.worker("training").is_running() and window.train_panel.start_button.isEnabled():
            window.grab().save(args.out)
            app.quit()

    QTimer.singleShot(1500, start)
    timer = QTimer()
    timer.timeout.connect(poll)
    QTimer.singleShot(3000, timer.start)
    timer.setInterval(200)
    app.exec()


if __name__ == "__main__":
    main()
