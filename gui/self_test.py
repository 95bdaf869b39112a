"""``foveal --self-test``: checks, in the running program (a source tree, a wheel or the desktop bundle), that
everything a user needs works on this machine, one line per check; it exits 1 when any check fails.

The checks are real: Qt starts and shows the main window, TensorFlow loads, the bundled sample decodes, a small
backbone builds and trains one step, the model saves and loads again in Keras safe mode, and a TFLite export is
written and checked against Foveal's own prediction.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


class Skipped(Exception):
    """A check that cannot run here (said as SKIP, and the self-test does not pass)."""


def no_display() -> str | None:
    """Why the window cannot be shown here, in a sentence (None: it can be tried). On Linux and other X11/Wayland
    systems without DISPLAY or WAYLAND_DISPLAY, Qt aborts the whole program; this says so instead."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("there is no display here (DISPLAY and WAYLAND_DISPLAY are not set), so the window was not checked; "
            "run the self-test on the desktop, or under `xvfb-run foveal --self-test`")


#: Set in the child process that runs the window check alone.
WINDOW_ONLY = "FOVEAL_SELF_TEST_WINDOW_ONLY"

#: What Debian and Ubuntu need for Qt's X11 platform (the README's list).
QT_LIBRARIES = ("libxkbcommon0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libxcb-cursor0 "
                "libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1 libxcb-shape0 "
                "libxcb-randr0 libxcb-xinerama0")


def _qt_window() -> str:
    """The window check in a child process: where Qt aborts (a missing system library, a display it cannot
    open), its last words and the exit are reported here, and the other checks still run."""
    why = no_display()
    if why:
        raise Skipped(why)
    command = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "foveal.core.cli"]
    done = subprocess.run([*command, "--self-test"], env={**os.environ, WINDOW_ONLY: "1"}, capture_output=True,
                          text=True, timeout=600)
    said = done.stdout.strip().splitlines()
    if done.returncode == 0 and said:
        return said[-1]
    last = " / ".join(line.strip() for line in (done.stderr or "").strip().splitlines()[-4:] if line.strip())
    ended = ("it aborted" if done.returncode in (-6, 134) else f"it was stopped by signal {-done.returncode}"
             if done.returncode < 0 else f"it exited with code {done.returncode}")
    last = last.rstrip(".")
    fix = (f" On Debian or Ubuntu install Qt's system libraries: sudo apt-get install {QT_LIBRARIES}."
           if "xcb" in last or "platform plugin" in last else "")
    raise RuntimeError(f"Qt could not show the window ({ended}). Qt said: {last or '(nothing)'}.{fix}")


def _qt_window_here() -> str:
    """Qt starts in this process and shows the main window (the child's half of :func:`_qt_window`)."""
    from foveal.gui.app import application
    from foveal.gui.main_window import MainWindow

    app = application(sys.argv[:1])
    window = MainWindow()
    window.show()
    for _ in range(20):
        app.processEvents()
    shot = window.grab()
    visible, size = window.isVisible(), (shot.width(), shot.height())
    window.close()
    if not visible or min(size) < 100:
        raise RuntimeError(f"the window did not show (visible={visible}, size={size})")
    return f"{app.platformName()} platform, {size[0]}×{size[1]} window"


def _tensorflow() -> str:
    from foveal.core.training import preload_backend

    preload_backend()  # the window reaches TensorFlow only through core
    from foveal.core.about import library_version

    return f"TensorFlow {library_version('tensorflow')}, Keras {library_version('keras')}"


def _sample(state: dict) -> str:
    from foveal.core.data.decode import decode_image
    from foveal.core.data.scan import scan_dataset
    from foveal.core.resources import samples_dir

    summary = scan_dataset(samples_dir())
    summary.require_trainable()
    image = decode_image(summary.images[0].path, size=64)
    state["samples"] = samples_dir()
    return f"{summary.total} sample images in {len(summary.classes)} classes; {summary.images[0].rel} {image.shape}"


def _train(state: dict) -> str:
    from foveal.core.training import TrainConfig, train

    out = state["tmp"] / "run"
    result = train(TrainConfig(str(state["samples"]), weights="none", fine_tune="all", epochs=1,
                               fine_tune_epochs=1, image_size=32, out_dir=str(out)))
    if not result.model_path:
        raise RuntimeError(f"training ended '{result.outcome}' without a model")
    state["run"] = out
    return f"MobileNetV2 (random weights, every layer learning, 32 px), 2 epochs: {result.outcome}"


def _load(state: dict) -> str:
    from foveal.core.models.saved import load_classifier

    clf = load_classifier(state["run"])
    return f"model.keras loaded in safe mode: {len(clf.classes)} classes"


def _export(state: dict) -> str:
    from foveal.core.export.export import export_model

    result = export_model(state["run"], "tflite", state["tmp"] / "tflite", n_check=4)
    if not result.passed:
        raise RuntimeError(f"the TFLite export disagrees with Foveal by {result.max_abs_diff:.2g}")
    return f"TFLite export checked on {result.n_images} images (largest difference {result.max_abs_diff:.1g})"


def run_checks(say: Callable[[str], None] = print,
               checks: list[tuple[str, Callable[[dict], str]]] | None = None) -> int:
    """Run every check in order (each given the state the earlier ones left), saying each result; returns the
    number that failed or could not run here."""
    state: dict = {"tmp": Path(tempfile.mkdtemp(prefix="foveal-self-test-"))}
    checks = checks if checks is not None else CHECKS
    failed = 0
    try:
        for name, check in checks:
            t0 = time.monotonic()
            try:
                detail = check(state)
            except Skipped as why:
                failed += 1
                say(f"SKIP  {name}: {why}")
            except Exception as exc:  # each check reports, and the next still runs where it can
                failed += 1
                say(f"FAIL  {name}: {type(exc).__name__}: {exc}")
            else:
                say(f"ok    {name} ({time.monotonic() - t0:.1f} s): {detail}")
    finally:
        shutil.rmtree(state["tmp"], ignore_errors=True)
    say("Self-test passed." if not failed else
        f"Self-test not passed: {failed} of {len(checks)} checks failed or could not run here.")
    return failed


#: The checks, in order: each is given the state the earlier ones left (the sample folder, the run).
CHECKS: list[tuple[str, Callable[[dict], str]]] = [
    ("Qt shows the window", lambda state: _qt_window()), ("TensorFlow loads", lambda state: _tensorflow()),
    ("the bundled sample decodes", _sample), ("a small backbone trains one step", _train),
    ("the model saves and loads in safe mode", _load), ("a TFLite export runs and agrees", _export)]


def main() -> int:
    if os.environ.get(WINDOW_ONLY):
        print(_qt_window_here())  # a failure is a traceback and exit 1, an abort is Qt's own: the parent says both
        return 0
    return 1 if run_checks() else 0
