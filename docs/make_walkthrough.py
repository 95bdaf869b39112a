"""Screenshots of each step of the window, for looking at what a person sees (scripted training: no TensorFlow).

    xvfb-run -s "-screen 0 1366x768x24" python docs/make_walkthrough.py --name 1366x768
    QT_SCALE_FACTOR=2 xvfb-run -s "-screen 0 1920x1080x24" python docs/make_walkthrough.py --name 1920x1080-2x
    xvfb-run -s "-screen 0 1366x768x24" python docs/make_walkthrough.py --name dark --dark

Saves docs/walkthrough/NAME-1-data.png … NAME-5-predict.png: the window as it opens on that screen (no size is
forced), after loading the bundled samples, training (scripted), evaluating and classifying the samples.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def dark_palette():
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    r = QPalette.ColorRole
    light, dark, mid = (235, 235, 235), (30, 30, 32), (45, 45, 48)
    for role, colour in ((r.Window, mid), (r.WindowText, light), (r.Base, dark), (r.AlternateBase, mid),
                         (r.Text, light), (r.Button, (55, 55, 60)), (r.ButtonText, light),
                         (r.Highlight, (42, 130, 218)), (r.HighlightedText, (255, 255, 255)),
                         (r.ToolTipBase, (60, 60, 60)), (r.ToolTipText, light)):
        p.setColor(role, QColor(*colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(130, 130, 130))
    return p


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--dark", action="store_true")
    args = parser.parse_args()
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from foveal.gui.main_window import MainWindow
    from foveal.gui.resources import SAMPLES
    from tests.gui import fakes

    app = QApplication(sys.argv)
    app.setStyle("Fusion")
    if args.dark:
        app.setPalette(dark_palette())
    tmp = Path(tempfile.mkdtemp())
    window = MainWindow(train_fn=functools.partial(fakes.scripted_train, delay=0.05),
                        settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), runs_dir=tmp / "runs",
                        weights_status_fn=lambda b: (b, "x.h5", "/cache/x.h5", False),
                        evaluate_fn=functools.partial(fakes.fake_evaluate, folder=SAMPLES),
                        explain_fn=fakes.fake_explain, report_fn=fakes.fake_report, predict_fns=fakes.FAKE_PREDICT)
    window.show()
    out = ROOT / "docs" / "walkthrough"
    out.mkdir(exist_ok=True)
    steps = iter([
        (lambda: window.open_folder(str(SAMPLES)), 2500, "1-data", lambda: window.tabs.setCurrentIndex(0)),
        (lambda: window.tabs.setCurrentIndex(1), 800, "2-model", lambda: window.model_panel.advanced.setChecked(True)),
        (window.start_training, 6000, "3-train", lambda: window.right_tabs.setCurrentIndex(0)),
        (lambda: window.right_tabs.setCurrentWidget(window.evaluate_panel), 1500, "4-evaluate", None),
        (lambda: (window.right_tabs.setCurrentWidget(window.predict_panel),
                  window.predict_panel.add_paths([str(p) for p in sorted(SAMPLES.glob("*/*"))[:8]])), 2500,
         "5-predict", None),
    ])

    def next_step() -> None:
        try:
            act, wait, name, before = next(steps)
        except StopIteration:
            window.close()
            app.quit()
            return
        if before is not None:
            before()
        act()

        def shoot() -> None:
            path = out / f"{args.name}-{name}.png"
            window.grab().save(str(path))
            print("saved", path, window.size().toTuple())
            next_step()

        QTimer.singleShot(wait, shoot)

    QTimer.singleShot(1500, next_step)
    app.exec()


if __name__ == "__main__":
    main()
