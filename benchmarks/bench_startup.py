"""Time from starting Foveal to a painted window (target under 2 s), and proof that TensorFlow is not loaded.

    python benchmarks/bench_startup.py [--runs 5]

Each run starts a fresh Python process that opens the main window offscreen, waits until it has painted,
and reports whether TensorFlow was imported; the wall time of the whole process is measured from outside.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from foveal.gui.main_window import MainWindow
w = MainWindow()
w.show()
w.grab()  # forces a full paint of the window
app.processEvents()
print("tensorflow" in sys.modules)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        tf_loaded = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "?"
    times.sort()
    print(f"start to painted window: median {times[len(times) // 2]:.2f} s, worst {times[-1]:.2f} s over "
          f"{args.runs} runs (target < 2 s); TensorFlow imported at that point: {tf_loaded}")


if __name__ == "__main__":
    main()
